#!/bin/sh
# Two builds side by side, alternating runs on the same machine and data:
#   sh bench/compare_builds.sh OLD_BUILD_DIR NEW_BUILD_DIR [ROUNDS]
# (each a CMake build folder with `hamrf` and, built by `cmake --build DIR
# --target bench_tools`, bench/bench_forces and bench/bench_rollout).
# Prints, per measurement, the best of ROUNDS (default 3) for each build and
# new/old; a ratio near 1 means unchanged. Measurements: the training fit
# (double pendulum, 20 000 points, A-SWIM width 2000, 2 threads), one Adam
# step (width 1000, batch 2048), the graph network's fit (LJ, 500 particles),
# the force evaluations of bench_forces and the rollout rates of
# bench_rollout (1 thread).
set -eu
OLD=$1
NEW=$2
ROUNDS=${3:-3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
PY=/usr/bin/python3
"$NEW/hamrf" generate --system double_pendulum --n 20000 --seed 1 -o "$W/dp.npz" --quiet
"$NEW/hamrf" generate --system lj --particles 500 --snapshots 10 --burn-in 50 -o "$W/lj.npz" --quiet
json_key() { "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
: >"$W/results"
for r in $(seq "$ROUNDS"); do
    for side in old new; do
        B=$OLD
        [ "$side" = new ] && B=$NEW
        export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
        t=$("$B/hamrf" train --data "$W/dp.npz" --width 2000 -o "$W/m.npz" --json | json_key fit_seconds)
        echo "$side fit_dp_aswim2000_s $t" >>"$W/results"
        t=$("$B/hamrf" train --data "$W/dp.npz" --width 1000 --optimizer adam --steps 30 -o "$W/a.npz" --json | json_key step_seconds)
        echo "$side adam_step_s $t" >>"$W/results"
        t=$("$B/hamrf" train --model hgn --data "$W/lj.npz" -o "$W/h.npz" --json | json_key fit_seconds)
        echo "$side fit_hgn_lj500_s $t" >>"$W/results"
        export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
        "$B/bench/bench_forces" --max 10976 --reps 5 2>/dev/null | "$PY" -c "
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if 'particles' in d and 'us_per_particle' in d:
        print('$side forces_%s_%d_us %g' % (d['method'], d['particles'], d['us_per_particle']))
" >>"$W/results"
        "$B/bench/bench_rollout" --integrators rk4,midpoint 2>/dev/null | "$PY" -c "
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if 'batched_state_steps_per_s' in d:
        print('$side rollout_%s_b%d_inv_rate %g' % (d['integrator'], d['batch'], 1.0 / d['batched_state_steps_per_s']))
" >>"$W/results"
    done
done
"$PY" - "$W/results" <<'PYEOF'
import collections, sys
best = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    side, key, v = line.split()
    v = float(v)
    best[key][side] = min(v, best[key].get(side, float('inf')))
print('%-34s %12s %12s %8s' % ('measurement (lower is better)', 'old', 'new', 'new/old'))
for key, d in best.items():
    print('%-34s %12.4g %12.4g %8.3f' % (key, d['old'], d['new'], d['new'] / d['old']))
PYEOF
