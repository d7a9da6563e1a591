#!/bin/sh
# LAMMPS with hamrf's learned pair table against lj/cut: accuracy and throughput.
#
#   sh bench/bench_lammps_table.sh [build/hamrf] [--size N] [--steps S]
#
# 1. examples/lammps_roundtrip.sh --size N (default 4000) --keep DIR: LAMMPS lj/cut data
#    -> hamrf import/train/export -> LAMMPS with the table; prints the force and energy
#    agreement (table vs lj/cut, table vs hamrf's own evaluation) and the 100-step
#    displacement difference, and fails beyond its named tolerances.
# 2. Throughput: S steps (default 2000, dt 0.005) from the same start with lj/cut and
#    with the table (pair_style table linear), serial and, when mpirun exists, with
#    `mpirun -np 2`; atom-steps per second from LAMMPS's "Loop time" line, and the
#    table/lj-cut ratio. Results also in BUILD/bench_lammps_table.json.
# Run it alone (no build in parallel): timings on 2 shared cores are noisy.
set -eu
HAMRF=${1:-build/hamrf}
[ $# -gt 0 ] && shift
SIZE=4000
STEPS=2000
while [ $# -gt 0 ]; do
    case $1 in
    --size) SIZE=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    *) echo "bench_lammps_table: unknown option $1" >&2; exit 2 ;;
    esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
case $HAMRF in /*) ;; *) HAMRF=$(pwd)/$HAMRF ;; esac
BUILD=$(dirname "$HAMRF")
W=$(mktemp -d "${TMPDIR:-/tmp}/hamrf_lmpbench.XXXXXX")
trap 'rm -rf "$W"' EXIT
command -v lmp >/dev/null 2>&1 || { echo "bench_lammps_table: lmp not found (apt-get install lammps)" >&2; exit 1; }

echo "== accuracy: examples/lammps_roundtrip.sh --size $SIZE"
sh "$HERE/../examples/lammps_roundtrip.sh" --size "$SIZE" --hamrf "$HAMRF" --keep "$W"
cd "$W"
cat >in.speed <<EOF
units lj
atom_style atomic
read_data start.data
include pair.in
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
fix 1 all nve
timestep 0.005
thermo $STEPS
run $STEPS
EOF
MPI=""
if command -v mpirun >/dev/null 2>&1; then
    MPI="mpirun -np 2"
    [ "$(id -u)" = 0 ] && MPI="mpirun --allow-run-as-root --oversubscribe -np 2"
fi
# loop_time PAIRFILE LAUNCHER...: seconds of LAMMPS's main loop
loop_time() {
    cp "$1" pair.in
    shift
    "$@" lmp -nocite -screen none -log speed.log -in in.speed >/dev/null 2>&1 ||
        { echo "bench_lammps_table: LAMMPS failed" >&2; tail -3 speed.log >&2; exit 1; }
    awk '/^Loop time of/ {print $4}' speed.log
}
echo "== throughput: $SIZE atoms, $STEPS steps"
json="{\"atoms\":$SIZE,\"steps\":$STEPS"
for mode in serial mpi2; do
    if [ $mode = serial ]; then L=""; else
        [ -n "$MPI" ] || continue
        L=$MPI
    fi
    tr=$(loop_time pair_ref.in $L)
    tt=$(loop_time pair_tab.in $L)
    line=$(awk -v n="$SIZE" -v s="$STEPS" -v a="$tr" -v b="$tt" -v m="$mode" 'BEGIN {
        printf "%-6s lj/cut %.3g atom-steps/s (%.2f s), table %.3g atom-steps/s (%.2f s), table/lj-cut %.2f", m, n*s/a, a, n*s/b, b, a/b }')
    echo "  $line"
    json="$json,\"${mode}_ljcut_s\":$tr,\"${mode}_table_s\":$tt"
done
echo "$json}" >"$BUILD/bench_lammps_table.json"
