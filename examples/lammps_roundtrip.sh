#!/bin/sh
# Learn from LAMMPS, run what was learned in LAMMPS (docs/cli.md "with LAMMPS").
#
#   sh examples/lammps_roundtrip.sh [--size N] [--hamrf PATH] [--points P] [--keep DIR]
#
# 1. LAMMPS (lj/cut 2.5 with pair_modify shift yes, fcc at density 0.8442, T = 1,
#    N = 4 n^3 atoms, default 256) equilibrates 200 steps, writes the start state
#    (write_data) and dumps positions, velocities, forces and per-atom energies every
#    10 steps for 200 steps (dt 0.005, %.17g).
# 2. hamrf import -> train --model hgn (pair mode) -> export --lammps-table.
# 3. LAMMPS runs 100 steps from the same start twice, with lj/cut and with the table.
# 4. Checks, each against a named tolerance (exit 1 when one fails):
#    TOL_F_MODEL  forces of the two LAMMPS runs at the start, relative L2: the learned
#                 potential against the true one. The sampled fit reaches ~1e-7 on LJ
#                 (docs/math.md §10); 1e-5 leaves two decades for other sizes and
#                 seeds, while a wrong table (sign, shift, grid, units) is off by >= 1e-3.
#    TOL_F_TABLE  LAMMPS's table forces against hamrf's own evaluation of the model
#                 (hamrf eval on the imported table run; the bound sqrt(6 N mse_dxdt)
#                 over |F| includes the dq/dt error, so it can only overstate): the
#                 table's interpolation error, 1e-6 relative.
#    TOL_E_TABLE  the same for the energy per atom, |H_hat - H_lammps| / N <= 1e-6
#                 (with V(rc) = V_hat(rc) - shift, the model's own energy includes the
#                 shift times the pairs: the anchor makes V_hat(rc) ~ 0).
#    TOL_DISP     displacements after 100 steps, |d_table - d_ljcut| / |d_ljcut| <= 1%.
# Needs lmp (Debian package lammps) and /usr/bin/python3 with NumPy. 256 atoms take a
# few seconds; --size 4000 gives the numbers of docs/benchmarks.md.
set -eu

SIZE=256
HAMRF=""
POINTS=100000
KEEP=""
while [ $# -gt 0 ]; do
    case $1 in
    --size) SIZE=$2; shift 2 ;;
    --hamrf) HAMRF=$2; shift 2 ;;
    --points) POINTS=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "lammps_roundtrip: unknown option $1" >&2; exit 2 ;;
    esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
[ -n "$HAMRF" ] || HAMRF=$HERE/../build/hamrf
case $HAMRF in /*) ;; *) HAMRF=$(pwd)/$HAMRF ;; esac
PY=/usr/bin/python3
LMP=${LMP:-lmp}
# 77: skipped (ctest SKIP_RETURN_CODE); scripts/bootstrap.sh installs lammps for make test
command -v "$LMP" >/dev/null 2>&1 || { echo "lammps_roundtrip: SKIP: $LMP not found (apt-get install lammps)" >&2; exit 77; }
[ -x "$HAMRF" ] || { echo "lammps_roundtrip: $HAMRF is not built (make)" >&2; exit 1; }
# fcc: N = 4 n^3
n=$("$PY" -c "import sys; N=int(sys.argv[1]); n=round((N/4)**(1/3)); print(n if 4*n**3==N else 0)" "$SIZE")
[ "$n" -gt 0 ] || { echo "lammps_roundtrip: --size must be 4 n^3 (256, 500, 4000, ...)" >&2; exit 2; }

TOL_F_MODEL=1e-5
TOL_F_TABLE=1e-6
TOL_E_TABLE=1e-6
TOL_DISP=0.01

if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP" && W=$(cd "$KEEP" && pwd)
else
    W=$(mktemp -d "${TMPDIR:-/tmp}/hamrf_lammps.XXXXXX")
    trap 'rm -rf "$W"' EXIT
fi
cd "$W"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

lmp_run() { # input-file log [vars...]
    in=$1 log=$2
    shift 2
    if ! "$LMP" -nocite -screen none -log "$log" "$@" -in "$in"; then
        echo "lammps_roundtrip: LAMMPS failed ($in):" >&2
        tail -5 "$log" >&2
        exit 1
    fi
}

cat >in.train <<EOF
units lj
atom_style atomic
lattice fcc 0.8442
region box block 0 $n 0 $n 0 $n
create_box 1 box
create_atoms 1 box
mass 1 1.0
velocity all create 1.0 87287 loop geom
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
pair_modify shift yes
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
fix 1 all nve
timestep 0.005
run 200
reset_timestep 0
write_data start.data nocoeff
compute pe all pe/atom
dump d all custom 10 train.dump id type xu yu zu vx vy vz fx fy fz c_pe
dump_modify d format float %.17g sort id
run 200
EOF
cat >in.run <<EOF
units lj
atom_style atomic
read_data start.data
include pair.in
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
fix 1 all nve
timestep 0.005
compute pe all pe/atom
thermo_style custom step pe ke etotal
thermo_modify format float %.17g
thermo 100
dump d all custom 100 \${out} id type xu yu zu vx vy vz fx fy fz c_pe
dump_modify d format float %.17g sort id
run 100
EOF

t0=$(date +%s)
lmp_run in.train train.log
"$HAMRF" import --lammps-dump train.dump --mass 1 --cutoff 2.5 --energy-column c_pe -o train.npz
"$HAMRF" train --model hgn --data train.npz -o hgn.npz --quiet >train.txt
"$HAMRF" export --model hgn.npz --lammps-table hgn.table --points "$POINTS" --rmin 0.6 \
    --units lj >pair_tab.in
printf 'pair_style lj/cut 2.5\npair_coeff 1 1 1.0 1.0 2.5\npair_modify shift yes\n' >pair_ref.in
cp pair_ref.in pair.in
lmp_run in.run ref.log -var out ref.dump
cp pair_tab.in pair.in
lmp_run in.run tab.log -var out tab.dump
# hamrf's own evaluation on the table run's first frame (--every 2 keeps frame 0)
"$HAMRF" import --lammps-dump tab.dump --mass 1 --cutoff 2.5 --energy-column c_pe --every 2 \
    -o tab0.npz --quiet
"$HAMRF" eval --model hgn.npz --data tab0.npz --json >eval.json
t1=$(date +%s)

"$PY" - "$TOL_F_MODEL" "$TOL_F_TABLE" "$TOL_E_TABLE" "$TOL_DISP" "$SIZE" "$((t1 - t0))" <<'EOF'
import json, sys
import numpy as np

tol_fm, tol_ft, tol_et, tol_d = map(float, sys.argv[1:5])
N, secs = int(sys.argv[5]), int(sys.argv[6])

def frames(path):
    out = []
    for fr in open(path).read().split("ITEM: TIMESTEP")[1:]:
        lines = fr.strip().split("\n")
        k = next(i for i, l in enumerate(lines) if l.startswith("ITEM: ATOMS"))
        cols = lines[k].split()[2:]
        a = np.array([[float(x) for x in l.split()] for l in lines[k + 1:]])
        out.append({c: a[:, i] for i, c in enumerate(cols)})
    return out

ref, tab = frames("ref.dump"), frames("tab.dump")
F = lambda f: np.stack([f["fx"], f["fy"], f["fz"]], 1)
X = lambda f: np.stack([f["xu"], f["yu"], f["zu"]], 1)
f_model = np.linalg.norm(F(tab[0]) - F(ref[0])) / np.linalg.norm(F(ref[0]))
d_ref, d_tab = X(ref[1]) - X(ref[0]), X(tab[1]) - X(tab[0])
disp = np.linalg.norm(d_tab - d_ref) / np.linalg.norm(d_ref)
ev = json.load(open("eval.json"))
f_table = np.sqrt(6 * N * ev["mse_dxdt"]) / np.linalg.norm(F(tab[0]))
v = np.stack([tab[0]["vx"], tab[0]["vy"], tab[0]["vz"]], 1)
H = tab[0]["c_pe"].sum() + 0.5 * (v * v).sum()
e_table = ev["rel_l2_H"] * abs(H) / N
pe_ref, pe_tab = ref[0]["c_pe"].sum() / N, tab[0]["c_pe"].sum() / N
rows = [
    ("forces, table vs lj/cut (relative L2)", f_model, tol_fm),
    ("forces, LAMMPS table vs hamrf model (relative L2, bound)", f_table, tol_ft),
    ("energy per atom, LAMMPS table vs hamrf model", e_table, tol_et),
    ("displacement after 100 steps, table vs lj/cut (relative)", disp, tol_d),
]
print(f"lammps_roundtrip: {N} atoms, {secs} s; pe/atom lj/cut {pe_ref:.12f}, table {pe_tab:.12f}")
bad = 0
for name, val, tol in rows:
    ok = np.isfinite(val) and val <= tol
    bad += not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: {val:.3e} (tolerance {tol:g})")
sys.exit(1 if bad else 0)
EOF
