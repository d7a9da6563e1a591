#!/bin/sh
# The HNN's fit across MPI ranks (docs/mpi.md, docs/benchmarks.md "Fit
# across ranks"): strong scaling (fixed data, P = 1, 2, and oversubscribed 3,
# 4 to show correctness, not speed) and weak scaling (n = N_PER_RANK · P),
# one OpenMP/BLAS thread per rank. Prints one line per run: P, points,
# fit and solve seconds, the time rank 0 spent in MPI_Allreduce (waiting for
# slower ranks included), the doubles it reduced, and the fit's seconds per
# point and rank (compute per row); the lines also go to bench_mpi.jsonl next
# to the tool. Then the graph network (strong scaling, P = 1..4): Lennard-Jones,
# 256 particles, 40 snapshots, U-SWIM edge width 100, auto (the tall route:
# each rank's streamed QR of its snapshots, stacked), distributed by snapshot.
#
#   sh bench/bench_mpi.sh build/hamrf [N] [WIDTH] [SOLVER]
#
# Defaults: N = 40000 points of the double pendulum, width 400, solver
# normal (Gram + allreduce + Cholesky + LSQR: the route large fits take).
# Exit 0 when every run succeeded (skipped, exit 0, without MPI).
set -u
HAMRF=${1:-build/hamrf}
N=${2:-40000}
WIDTH=${3:-400}
SOLVER=${4:-normal}
OUT=$(dirname "$HAMRF")/bench_mpi.jsonl
if ! "$HAMRF" --version | grep -q '^mpi: yes' || ! command -v mpirun >/dev/null 2>&1; then
    echo "bench_mpi: skipped: hamrf built without MPI, or no mpirun"
    exit 0
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
: >"$OUT"
status=0
fit() { # P N label
    P=$1 n=$2 label=$3
    [ -e "$W/d$n.npz" ] || "$HAMRF" generate --system double_pendulum --n "$n" --seed 1 \
        -o "$W/d$n.npz" 2>/dev/null
    if [ "$P" = 1 ]; then
        j=$("$HAMRF" train --data "$W/d$n.npz" --width "$WIDTH" --sampler uswim --solver "$SOLVER" \
            -o "$W/m.npz" --json)
    else
        j=$(mpirun --oversubscribe -np "$P" "$HAMRF" train --data "$W/d$n.npz" --width "$WIDTH" \
            --sampler uswim --solver "$SOLVER" -o "$W/m.npz" --json)
    fi || {
        echo "bench_mpi: P=$P n=$n failed"
        status=1
        return
    }
    echo "$j" | /usr/bin/python3 -c "
import json, sys
j = json.load(sys.stdin)
r = dict(scaling='$label', ranks=j['ranks'], n=j['n_train'], width=j['width'],
         fit_seconds=j['fit_seconds'], solve_seconds=j['solve_seconds'],
         reduce_seconds=j.get('reduce_seconds', 0.0), reduce_words=j.get('reduce_words', 0),
         reduce_calls=j.get('reduce_calls', 0), refine_iterations=j.get('refine_iterations'),
         rel_residual=j['rel_residual'],
         us_per_point_rank=1e6 * j['fit_seconds'] * j['ranks'] / j['n_train'])
print('%-6s P=%d n=%-7d fit %.3f s solve %.3f s allreduce %.3f s (%d calls, %.3g doubles) '
      '%.2f us per point and rank, residual %.4g' % (r['scaling'], r['ranks'], r['n'],
      r['fit_seconds'], r['solve_seconds'], r['reduce_seconds'], r['reduce_calls'],
      r['reduce_words'], r['us_per_point_rank'], r['rel_residual']))
open('$OUT', 'a').write(json.dumps(r) + '\n')
"
}
echo "bench_mpi: double_pendulum, width $WIDTH, solver $SOLVER, 1 thread per rank, $(nproc) cores"
for P in 1 2 3 4; do fit "$P" "$N" strong; done
for P in 1 2 3 4; do fit "$P" $((N / 2 * P)) weak; done
fit_hgn() { # P
    P=$1
    [ -e "$W/lj.npz" ] || "$HAMRF" generate --system lj --particles 256 --trajectories 4 \
        --snapshots 10 --seed 1 -o "$W/lj.npz" 2>/dev/null
    j=$(mpirun --oversubscribe -np "$P" "$HAMRF" train --model hgn --data "$W/lj.npz" \
        --sampler uswim --edge-width 100 -o "$W/g.npz" --json) || {
        echo "bench_mpi: hgn P=$P failed"
        status=1
        return
    }
    echo "$j" | /usr/bin/python3 -c "
import json, sys
j = json.load(sys.stdin)
r = dict(scaling='hgn', ranks=j['ranks'], n_snapshots=j['n_snapshots'],
         n_particles=j['n_particles'], edge_width=j['edge_width'],
         fit_seconds=j['fit_seconds'], solve_seconds=j['solve_seconds'],
         reduce_seconds=j.get('reduce_seconds', 0.0), reduce_words=j.get('reduce_words', 0),
         reduce_calls=j.get('reduce_calls', 0), rel_residual=j['potential']['rel_residual'])
print('hgn    P=%d S=%d N=%d fit %.3f s solve %.3f s allreduce %.3f s (%d calls, %.3g doubles) '
      'residual %.4g' % (r['ranks'], r['n_snapshots'], r['n_particles'], r['fit_seconds'],
      r['solve_seconds'], r['reduce_seconds'], r['reduce_calls'], r['reduce_words'],
      r['rel_residual']))
open('$OUT', 'a').write(json.dumps(r) + '\n')
"
}
for P in 1 2 3 4; do fit_hgn "$P"; done
echo "bench_mpi: wrote $OUT"
exit $status
