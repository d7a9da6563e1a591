#!/bin/sh
# Run every hamrf benchmark: sh bench/run_all.sh build/hamrf [bench_train.py options]
#
# Builds the helper tools (target bench_tools: dgemm_rate, bench_rollout, bench_forces), then runs the training
# benchmark (hamrf against bench/ref_numpy.py on double_pendulum and henon_heiles) and
# the memory check (1 000 000 pendulum points, solver normal, peak RSS <= 1 GiB), on all
# cores: OPENBLAS_NUM_THREADS and OMP_NUM_THREADS are unset. Extra arguments (e.g.
# --quick, --seeds 1, --openblas-coretype SkylakeX) go to both bench_train.py runs (the training run
# defaults to --seeds 3 here).
# Then one Adam step of hamrf against PyTorch (bench_adam_step.py, needs Debian's
# python3-torch, which `make bench` installs), and last the rollout throughput
# benchmark (bench_rollout: 1, 100, 10 000 states batched against the unbatched loop).
# bench_neurips_hgnn.py trains the NeurIPS 2022 spring benchmark's HGNN in PyTorch
# for 120 s and prints its Zerr/Herr beside hamrf's (bench_neurips_hgnn.json).
# Results are saved next to the tool as bench_train.json, bench_memory.json,
# bench_adam_step.json and bench_rollout.jsonl.
# bench_lammps_table.sh: LAMMPS with hamrf's pair table vs lj/cut (bench_lammps_table.json).
# bench_md.py: MD throughput of hamrf (analytic LJ, learned tabulated and direct) and
# LAMMPS lj/cut, serial, loop and whole-process rates, PASS/FAIL per line (bench_md.json;
# exits 1 on a FAIL, which becomes this script's status).
# bench_lj_fit.py: the graph network's Lennard-Jones fit, seconds and force error
# (bench_lj_fit.json).
# Last, bench/scale.py: A-SWIM beyond the papers' sizes (double pendulum and Hénon–Heiles,
# widths 2000/5000/10 000 on 20 000/50 000/200 000 points; 35-65 min on 2 cores; only
# --quick of the extra arguments goes to it): scale.json and scale.png next to the tool.
# Exit status: 0 when everything passes, else the worst status of the runs.
set -u

HAMRF=${1:-build/hamrf}
[ $# -gt 0 ] && shift
BUILD=$(dirname "$HAMRF")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # Debian's interpreter, the one with numpy

unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS

if [ ! -x "$HAMRF" ]; then
  echo "run_all.sh: $HAMRF not found; build it first (make)" >&2
  exit 2
fi
cmake --build "$BUILD" --target bench_tools ||
  echo "run_all.sh: could not build bench_tools; continuing without dgemm_rate" >&2

status=0
# Three seeds: A-SWIM's resampling turns last-bit differences into another draw,
# so one seed's error ratio varies by ~1.5x (docs/benchmarks.md).
"$PY" "$HERE/bench_train.py" --hamrf "$HAMRF" --seeds 3 --json-out "$BUILD/bench_train.json" "$@"
rc=$?
[ $rc -gt $status ] && status=$rc

"$PY" "$HERE/bench_train.py" --hamrf "$HAMRF" --memory --json-out "$BUILD/bench_memory.json" "$@"
rc=$?
[ $rc -gt $status ] && status=$rc

# The gradient baseline's honesty: one Adam step of ours vs PyTorch's (skips
# without python3-torch).
"$PY" "$HERE/bench_adam_step.py" --hamrf "$HAMRF" >"$BUILD/bench_adam_step.json"
rc=$?
[ $rc -gt $status ] && status=$rc

# The same for the gradient-trained graph network: one Adam step of ours vs
# PyTorch's on a 4x4x4 anharmonic lattice, pair and mp modes.
for mode in pair mp; do
  "$PY" "$HERE/bench_hgn_step.py" --hamrf "$HAMRF" --mode $mode >"$BUILD/bench_hgn_step_$mode.json"
  rc=$?
  [ $rc -gt $status ] && status=$rc
done

# The NeurIPS 2022 spring benchmark's own network (their decoupled HGNN, in
# PyTorch) trained for 120 s on the 5-spring data, beside `hamrf reproduce
# benchmark --quick --only per_state` (about 4 minutes; a comparison, exits 0).
"$PY" "$HERE/bench_neurips_hgnn.py" --hamrf "$HAMRF" --budget 120 >"$BUILD/bench_neurips_hgnn.json"
rc=$?
[ $rc -gt $status ] && status=$rc

# The Python package's overhead over the library's own calls.
PYTHONPATH="$HERE/../python" HAMRF_LIB="$BUILD/libhamrf.so" "$PY" "$HERE/bench_python.py" >"$BUILD/bench_python.json"
rc=$?
[ $rc -gt $status ] && status=$rc

# Rollout throughput: batched vs unbatched, width-1000 HNN.
if [ -x "$BUILD/bench/bench_rollout" ]; then
  "$BUILD/bench/bench_rollout" >"$BUILD/bench_rollout.jsonl"
  rc=$?
  [ $rc -gt $status ] && status=$rc
fi

# Force evaluations per particle: analytic LJ, learned, tabulated.
if [ -x "$BUILD/bench/bench_forces" ]; then
  # One thread: the time per particle across 10^3..10^5 particles then shows
  # the cell lists' O(N) scaling, not the particle code's threading threshold.
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$BUILD/bench/bench_forces" >"$BUILD/bench_forces.jsonl"
  rc=$?
  [ $rc -gt $status ] && status=$rc
fi

# LAMMPS with the learned pair table against lj/cut (4000 atoms): accuracy, throughput.
if command -v lmp >/dev/null 2>&1; then
  sh "$HERE/bench_lammps_table.sh" "$HAMRF"
  rc=$?
  [ $rc -gt $status ] && status=$rc
fi

# Molecular-dynamics throughput, serial: hamrf's LJ, the learned model tabulated and
# direct, LAMMPS lj/cut, 4000 and 32 000 atoms (bench_md.json; docs/benchmarks.md);
# status 1 when the analytic LJ is below 1x lj/cut or the tabulated model below 0.8x.
PYTHONPATH="$HERE/../python" "$PY" "$HERE/bench_md.py" --hamrf "$HAMRF" --json-out "$BUILD/bench_md.json"
rc=$?
[ $rc -gt $status ] && status=$rc

# The graph network's Lennard-Jones fit (10 976 particles, 10 snapshots): seconds and
# held-out force error against the targets (bench_lj_fit.json).
PYTHONPATH="$HERE/../python" "$PY" "$HERE/bench_lj_fit.py" --hamrf "$HAMRF" --json-out "$BUILD/bench_lj_fit.json"
rc=$?
[ $rc -gt $status ] && status=$rc

# The fit across MPI ranks (strong and weak scaling, 1-4 ranks; skipped
# without MPI): bench_mpi.jsonl next to the tool (docs/benchmarks.md).
sh "$HERE/bench_mpi.sh" "$HAMRF"
rc=$?
[ $rc -gt $status ] && status=$rc

# Last (the longest): the scale table, widths up to 10 000 on up to 200 000 points
# (docs/benchmarks.md "Beyond the papers' sizes"). Of the extra arguments only --quick
# applies to it.
scale_quick=
for a in "$@"; do [ "$a" = "--quick" ] && scale_quick=--quick; done
"$PY" "$HERE/scale.py" --hamrf "$HAMRF" $scale_quick --json-out "$BUILD/scale.json" \
  --plot "$BUILD/scale.png"
rc=$?
[ $rc -gt $status ] && status=$rc
exit $status
