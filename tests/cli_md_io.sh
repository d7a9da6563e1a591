#!/bin/sh
# hamrf import / export / convert (docs/cli.md, docs/formats.md "Molecular-dynamics files"):
#   * round trips: a data set -> LAMMPS dump -> import -> dump again gives the same text
#     and the same arrays (positions, velocities, forces bit for bit); data set -> extxyz
#     -> import gives every array bit for bit (17 significant digits); wrapped x y z with
#     image flags, or alone (continuity), unwrap to the same positions; unsorted ids sort;
#   * every bad input of import and export: exit status, a message naming the file, frame
#     and line or the option, nothing on stdout, no output file, no temporary file.
# Usage (ctest):  sh tests/cli_md_io.sh /path/to/hamrf      (a few seconds; needs NumPy)
set -u
B=${1:?usage: sh tests/cli_md_io.sh /path/to/hamrf}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/hamrf_mdio.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

npass=0
nfail=0
fail() {
    nfail=$((nfail + 1))
    echo "FAIL: $*" >&2
}
run() {
    "$B" "$@" >out.txt 2>err.txt
    rc=$?
}
# bad NAME RC OUTPUT PATTERN... -- ARGS...: exit RC, empty stdout, no OUTPUT, no *.tmp.*,
# every PATTERN (extended regex) in stderr.
bad() {
    name=$1 want=$2 output=$3
    shift 3
    pats=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        pats="$pats
$1"
        shift
    done
    shift
    rm -f "$output"
    run "$@"
    msg=""
    [ "$rc" = "$want" ] || msg="$msg; exit status $rc, expected $want"
    [ -s out.txt ] && msg="$msg; stdout not empty"
    [ -e "$output" ] && msg="$msg; $output was written"
    [ -n "$(find . -name '*.tmp.*')" ] && msg="$msg; temporary file left"
    echo "$pats" | while IFS= read -r p; do
        [ -z "$p" ] && continue
        grep -Eq -e "$p" err.txt || echo "stderr lacks /$p/"
    done >missing.txt
    [ -s missing.txt ] && msg="$msg; $(tr '\n' ' ' <missing.txt)"
    if [ -z "$msg" ]; then
        npass=$((npass + 1))
    else
        fail "$name:${msg#;}"
        sed 's/^/      | /' err.txt >&2
    fi
}
good() {
    name=$1
    shift
    run "$@"
    if [ "$rc" = 0 ]; then npass=$((npass + 1)); else
        fail "$name: exit $rc"
        sed 's/^/      | /' err.txt >&2
    fi
}
# same NAME A.npz B.npz KEYS...: arrays equal bit for bit (NumPy)
same() {
    name=$1 a=$2 b=$3
    shift 3
    if "$PY" - "$a" "$b" "$@" 2>err.txt <<'EOF'; then npass=$((npass + 1)); else fail "$name"; sed 's/^/      | /' err.txt >&2; fi
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
for k in sys.argv[3:]:
    x, y = a[k], b[k]
    if x.shape != y.shape or not np.array_equal(x.view(np.uint64), y.view(np.uint64)):
        sys.exit(f"{k}: not bit-identical (max diff {np.max(np.abs(x - y)) if x.shape == y.shape else 'shape'})")
EOF
}

# ---- a data set: 108 LJ particles, 3 snapshots ----
good generate generate --system lj --particles 108 --snapshots 3 --every 20 -o lj.npz
good "convert to dump" convert lj.npz --to lammps-dump -o lj_t.dump
# the same without the ITEM: TIME blocks (generate records times): line numbers below
sed '/^ITEM: TIME$/,+1d' lj_t.dump >lj.dump
good "import dump" import --lammps-dump lj_t.dump --mass 1 --cutoff 2.5 -o back.npz
same "dump round trip: arrays" lj.npz back.npz q p dqdt dpdt mass box cutoff
good "convert again" convert back.npz --to lammps-dump -o again.dump
if cmp -s lj_t.dump again.dump; then npass=$((npass + 1)); else fail "dump -> import -> dump changed the text"; fi
good "convert to extxyz" convert lj.npz --to extxyz -o lj.extxyz
good "import extxyz" import --extxyz lj.extxyz --cutoff 2.5 -o backx.npz
same "extxyz round trip: arrays" lj.npz backx.npz q p dqdt dpdt H mass box cutoff
good "import extxyz with --mass" import --extxyz lj.extxyz --cutoff 2.5 --mass X=1 -o backm.npz
same "extxyz by species mass" lj.npz backm.npz q p dqdt dpdt

# wrapped x y z with image flags; without flags (continuity); ids shuffled; other
# columns and order: the same positions as the unwrapped dump
"$PY" - <<'EOF' || fail "crafting wrapped dumps"
import numpy as np
text = open("lj.dump").read().split("ITEM: TIMESTEP")[1:]
rng = np.random.default_rng(1)
img, cont = [], []
for fr in text:
    lines = fr.strip().split("\n")
    k = next(i for i, l in enumerate(lines) if l.startswith("ITEM: ATOMS"))
    lo, hi = map(float, lines[k - 3].split())
    L = hi - lo
    head = "ITEM: TIMESTEP\n" + "\n".join(lines[:k]) + "\n"
    a = [l.split() for l in lines[k + 1:]]
    perm = rng.permutation(len(a))
    ri, rc = [], []
    for j in perm:
        r = a[j]
        x = np.array([float(v) for v in r[3:6]])
        n = np.floor((x - lo) / L)
        w = x - n * L
        # x + n L must give back x exactly for the test to be exact: keep atoms whose
        # wrapped value reproduces it (others stay unwrapped with n = 0)
        ok = (w + n * L) == x
        n = np.where(ok, n, 0)
        w = np.where(ok, w, x)
        ws = " ".join(repr(float(v)) for v in w)
        ri.append(f"{r[6]} {r[7]} {r[8]} {ws} {int(n[0])} {int(n[1])} {int(n[2])} {r[0]} {r[1]} {r[9]} {r[10]} {r[11]}")
        rc.append(f"{r[0]} {r[1]} {ws} {r[6]} {r[7]} {r[8]} {r[9]} {r[10]} {r[11]}")
    img.append(head + "ITEM: ATOMS vx vy vz x y z ix iy iz id type fx fy fz\n" + "\n".join(ri) + "\n")
    cont.append(head + "ITEM: ATOMS id type x y z vx vy vz fx fy fz\n" + "\n".join(rc) + "\n")
open("img.dump", "w").write("".join(img))
open("cont.dump", "w").write("".join(cont))
EOF
good "import image flags" import --lammps-dump img.dump --mass 1 --cutoff 2.5 -o img.npz
same "image flags unwrap" lj.npz img.npz q p dqdt dpdt
good "import continuity" import --lammps-dump cont.dump --mass 1 --cutoff 2.5 -o cont.npz
"$PY" - <<'EOF' 2>err.txt && npass=$((npass + 1)) || { fail "continuity unwrap"; cat err.txt >&2; }
import numpy as np
a, b = np.load("lj.npz"), np.load("cont.npz")
# x_wrapped + n L differs from x by at most a rounding of L-sized numbers
d = np.max(np.abs(a["q"] - b["q"]))
assert d <= 4 * np.finfo(float).eps * float(a["box"]) * 4, d
EOF

# a trajectory file converts too (no forces)
good "train hgn" train --model hgn --data lj.npz --edge-width 30 --kinetic-width 10 -o hgn.npz
good rollout rollout --model hgn.npz --data lj.npz --count 1 --dt 0.005 --steps 4 -o traj.npz
good "convert rollout" convert traj.npz --data lj.npz --to extxyz -o traj.extxyz
if [ "$(head -1 traj.extxyz)" = 108 ] && [ "$(grep -c Lattice traj.extxyz)" = 5 ] &&
    ! grep -q forces traj.extxyz; then npass=$((npass + 1)); else fail "rollout extxyz: 5 frames of 108 atoms, no forces"; fi
# rollout -o FILE.extxyz writes the same file as rollout -o .npz then convert
good "rollout to extxyz" rollout --model hgn.npz --data lj.npz --count 1 --dt 0.005 --steps 4 -o direct.extxyz
if cmp -s traj.extxyz direct.extxyz; then npass=$((npass + 1)); else fail "rollout -o .extxyz differs from convert"; fi
bad "rollout extxyz two starts" 2 o.extxyz "holds one trajectory" "--count 1" -- rollout --model hgn.npz --data lj.npz --count 2 --dt 0.005 --steps 4 -o o.extxyz

# ---- bad dumps ----
mk() { # mk OUT SCRIPT: lj.dump edited by the sed script
    sed "$2" lj.dump >"$1"
}
mk tri.dump '5s/.*/ITEM: BOX BOUNDS xy xz yz pp pp pp/'
bad "dump triclinic" 1 o.npz "tri.dump" "frame 0, line 5" "triclinic" -- import --lammps-dump tri.dump --mass 1 --cutoff 2.5 -o o.npz
mk nofz.dump '9s/ fz$//'
bad "dump missing column" 1 o.npz "nofz.dump" "line 9" "lacks column.*fz" -- import --lammps-dump nofz.dump --mass 1 --cutoff 2.5 -o o.npz
# (the two column-name errors below once read freed memory: fuzz_md's first find)
mk dupcol.dump '9s/ fz$/ fz vx/'
bad "dump column twice" 1 o.npz "dupcol.dump" "line 9" "column 'vx' appears twice" -- import --lammps-dump dupcol.dump --mass 1 --cutoff 2.5 -o o.npz
mk scaled.dump '9s/ xu / xs /'
bad "dump scaled coordinates" 1 o.npz "scaled.dump" "line 9" "column 'xs': scaled coordinates" -- import --lammps-dump scaled.dump --mass 1 --cutoff 2.5 -o o.npz
"$PY" -c "
t=open('lj.dump').read().split('ITEM: TIMESTEP')
f=t[2].replace('\n108\n','\n107\n',1); f=f[:f.rstrip().rfind('\n')]+'\n'
open('count.dump','w').write('ITEM: TIMESTEP'.join([t[0],t[1],f]))
f=t[2].replace('\n1 1 ','\n999 1 ',1)
open('ids.dump','w').write('ITEM: TIMESTEP'.join([t[0],t[1],f]))
f=t[2].replace('\n2 1 ','\n1 1 ',1)
open('dup.dump','w').write('ITEM: TIMESTEP'.join([t[0],t[1],f]))
"
bad "dump atom count changes" 1 o.npz "count.dump" "frame 1, line" "107 atoms, but frame 0 has 108" -- import --lammps-dump count.dump --mass 1 --cutoff 2.5 -o o.npz
bad "dump ids change" 1 o.npz "ids.dump" "frame 1" "atom ids changed" -- import --lammps-dump ids.dump --mass 1 --cutoff 2.5 -o o.npz
bad "dump duplicate id" 1 o.npz "dup.dump" "frame 1, line [0-9]+" "id 1 appears twice" -- import --lammps-dump dup.dump --mass 1 --cutoff 2.5 -o o.npz
mk text.dump '12s/^\([0-9]* [0-9]* [^ ]* [^ ]* [^ ]* [^ ]*\) [^ ]*/\1 abc/'
bad "dump non-numeric" 1 o.npz "text.dump" "frame 0, line 12" "column 'vx'" "expected a finite number, found 'abc'" -- import --lammps-dump text.dump --mass 1 --cutoff 2.5 -o o.npz
mk nan.dump '13s/ [^ ]*$/ nan/'
bad "dump NaN" 1 o.npz "nan.dump" "frame 0, line 13" "column 'fz'" "found 'nan'" -- import --lammps-dump nan.dump --mass 1 --cutoff 2.5 -o o.npz
head -c 20000 lj.dump >trunc.dump
bad "dump truncated" 1 o.npz "trunc.dump" "frame 0" "the file ends here|expected" -- import --lammps-dump trunc.dump --mass 1 --cutoff 2.5 -o o.npz
mk huge.dump '4s/.*/999999999999/'
bad "dump absurd size" 1 o.npz "huge.dump" "frame 0, line 4" "999999999999 atoms" -- import --lammps-dump huge.dump --mass 1 --cutoff 2.5 -o o.npz
mk ff.dump '5s/.*/ITEM: BOX BOUNDS pp pp ff/'
bad "dump non-periodic" 1 o.npz "ff.dump" "line 5" "periodic 'pp pp pp'" -- import --lammps-dump ff.dump --mass 1 --cutoff 2.5 -o o.npz
mk rect.dump '8s/ .*/ 9.5/'
bad "dump not cubic" 1 o.npz "rect.dump" "frame 0, line 8" "cubic" -- import --lammps-dump rect.dump --mass 1 --cutoff 2.5 -o o.npz
bad "dump cutoff too large" 1 o.npz "lj.dump" "exceeds half the box" -- import --lammps-dump lj.dump --mass 1 --cutoff 3 -o o.npz
sed 's/ITEM: ATOMS id type mass /ITEM: ATOMS id type m /' lj.dump >nomass.dump
bad "dump no masses" 1 o.npz "nomass.dump" "masses are unknown" "--mass" -- import --lammps-dump nomass.dump --cutoff 2.5 -o o.npz
bad "dump mass of a missing type" 1 o.npz "no mass for type '1'" -- import --lammps-dump lj.dump --mass 2=1.0 --cutoff 2.5 -o o.npz
printf 'ITEM: UNITS\nreal\n' | cat - lj.dump >real.dump
bad "dump units real" 1 o.npz "real.dump" "line 2" "units 'real'" -- import --lammps-dump real.dump --mass 1 --cutoff 2.5 -o o.npz
"$PY" -c "
t=open('lj.dump').read().split('ITEM: TIMESTEP')
f=t[2].replace('BOX BOUNDS pp pp pp\n','BOX BOUNDS pp pp pp\n',1).split('\n'); f[5]=f[6]=f[7]='0 6'
open('boxchg.dump','w').write('ITEM: TIMESTEP'.join([t[0],t[1],'\n'.join(f)]))
"
bad "dump box changes" 1 o.npz "boxchg.dump" "frame 1" "box changed" -- import --lammps-dump boxchg.dump --mass 1 --cutoff 2.5 -o o.npz
bad "dump energy column absent" 1 o.npz "lj.dump" "lacks the energy column 'c_pe'" -- import --lammps-dump lj.dump --mass 1 --cutoff 2.5 --energy-column c_pe -o o.npz
bad "import no cutoff" 2 o.npz "--cutoff RC is required" -- import --lammps-dump lj.dump --mass 1 -o o.npz
bad "import bad mass" 2 o.npz "--mass" -- import --lammps-dump lj.dump --mass 1=-2 --cutoff 2.5 -o o.npz
bad "import two inputs" 2 o.npz "one input" -- import --lammps-dump lj.dump --extxyz lj.extxyz --cutoff 2.5 -o o.npz
bad "import missing file" 1 o.npz "nothere.dump: cannot open" -- import --lammps-dump nothere.dump --mass 1 --cutoff 2.5 -o o.npz

# ---- bad extended XYZ ----
mx() { sed "$2" lj.extxyz >"$1"; }
mx tri.extxyz '2s/Lattice="\([^ ]*\) 0 /Lattice="\1 0.5 /'
bad "extxyz triclinic" 1 o.npz "tri.extxyz" "frame 0, line 2" "triclinic" -- import --extxyz tri.extxyz --cutoff 2.5 -o o.npz
mx nof.extxyz '2s/:forces:R:3//'
bad "extxyz missing forces" 1 o.npz "nof.extxyz" "line 2" "lacks forces:R:3" -- import --extxyz nof.extxyz --cutoff 2.5 -o o.npz
mx pbc.extxyz '2s/pbc="T T T"/pbc="T T F"/'
bad "extxyz non-periodic" 1 o.npz "pbc.extxyz" "line 2" 'expected "T T T"' -- import --extxyz pbc.extxyz --cutoff 2.5 -o o.npz
mx text.extxyz '5s/^X [^ ]*/X zz/'
bad "extxyz non-numeric" 1 o.npz "text.extxyz" "frame 0, line 5" "'pos' component 0" "found 'zz'" -- import --extxyz text.extxyz --cutoff 2.5 -o o.npz
mx inf.extxyz '5s/ [^ ]* \([^ ]*\)$/ inf \1/'
bad "extxyz non-finite mass" 1 o.npz "inf.extxyz" "line 5" "masses" "found 'inf'" -- import --extxyz inf.extxyz --cutoff 2.5 -o o.npz
head -c 30000 lj.extxyz >trunc.extxyz
bad "extxyz truncated" 1 o.npz "trunc.extxyz" "the file ends here" -- import --extxyz trunc.extxyz --cutoff 2.5 -o o.npz
mx count.extxyz '111s/.*/107/'
bad "extxyz count changes" 1 o.npz "count.extxyz" "frame 1, line 111" "107 atoms, but frame 0 has 108" -- import --extxyz count.extxyz --cutoff 2.5 -o o.npz
mx huge.extxyz '1s/.*/99999999999/'
bad "extxyz absurd size" 1 o.npz "huge.extxyz" "line 1" "99999999999 atoms" -- import --extxyz huge.extxyz --cutoff 2.5 -o o.npz

# ---- export ----
good "export" export --model hgn.npz --lammps-table t.table --points 1000 --rmin 0.8
grep -q '^pair_style table linear 1000$' out.txt && grep -q '^pair_coeff 1 1 t.table HAMRF 2.5$' out.txt &&
    npass=$((npass + 1)) || fail "export prints the two LAMMPS lines"
"$PY" - <<'EOF' 2>err.txt && npass=$((npass + 1)) || { fail "table file"; cat err.txt >&2; }
import numpy as np
lines = open("t.table").read().split("\n")
k = lines.index("HAMRF")
assert lines[k + 1].startswith("N 1000 R 0.80000000000000004 2.5 FPRIME "), lines[k + 1]
t = np.loadtxt(lines[k + 3:])
assert t.shape == (1000, 4) and t[-1, 2] == 0.0
# r column: LAMMPS's grid rlo + (rhi - rlo) i / (n - 1)
i = np.arange(1000)
assert np.array_equal(t[:, 1], 0.8 + (2.5 - 0.8) * i / 999)
# F = -dV/dr: central differences of the tabulated V agree to O(h^2)
h = t[1, 1] - t[0, 1]
fd = -(t[2:, 2] - t[:-2, 2]) / (2 * h)
assert np.max(np.abs(fd - t[1:-1, 3])) <= 1e-4 * np.max(np.abs(t[:, 3])), np.max(np.abs(fd - t[1:-1, 3]))
EOF
good "train mp" train --model hgn --mode mp --data lj.npz --edge-width 20 --node-width 10 --kinetic-width 10 -o mp.npz
bad "export mp model" 1 t2.table "mp.npz" "mp-mode" "not a sum of pair terms" -- export --model mp.npz --lammps-table t2.table
"$PY" - <<'EOF' || fail "crafting a two-type dump"
t = open("lj.dump").read().replace("\n1 1 1 ", "\n1 2 1 ")
open("two.dump", "w").write(t)
EOF
good "import two types" import --lammps-dump two.dump --mass 1=1,2=1 --cutoff 2.5 -o two.npz
good "train two types" train --model hgn --data two.npz --edge-width 20 --kinetic-width 10 -o two_hgn.npz
bad "export two types" 1 t2.table "two_hgn.npz" "2 particle types" -- export --model two_hgn.npz --lammps-table t2.table
good "hnn for export" generate --system spring --n 50 -o s.npz
good "train hnn" train --data s.npz --width 10 -o hnn.npz
bad "export hnn" 2 t2.table "hnn.npz is an hnn model" "graph network" -- export --model hnn.npz --lammps-table t2.table
bad "export one point" 2 t2.table "--points" -- export --model hgn.npz --lammps-table t2.table --points 1
bad "export rmin above cutoff" 2 t2.table "larger than its inner radius" -- export --model hgn.npz --lammps-table t2.table --rmin 3
bad "export keyword blank" 2 t2.table "keyword" -- export --model hgn.npz --lammps-table t2.table --keyword "A B"
bad "export missing model" 1 t2.table "nothere.npz" -- export --model nothere.npz --lammps-table t2.table
bad "export into a folder" 1 - "is a folder" -- export --model hgn.npz --lammps-table . --points 10
bad "convert box data set" 2 o.xyz "convert takes particle data sets" -- convert s.npz --to extxyz -o o.xyz
bad "rollout hnn to extxyz" 2 o.extxyz "extended XYZ holds particle rollouts" -- rollout --model hnn.npz --x0=0.5,0 --dt 0.1 --steps 2 -o o.extxyz
bad "convert bad format" 2 o.xyz "--to expects extxyz or lammps-dump" -- convert lj.npz --to pdb -o o.xyz

echo "cli_md_io: $npass passed, $nfail failed"
[ "$nfail" = 0 ]
