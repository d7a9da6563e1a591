#!/bin/sh
# Command-line contract of hamrf on bad input, plus the success path it guards.
#
# Usage (ctest runs it so):  sh tests/cli_bad_input.sh /path/to/hamrf
#
# For every failure case it checks the exit status (2 = usage error: unknown
# option / system / parameter / sampler / solver, missing required option,
# malformed number, width <= 0; 1 = any other failure), that stderr names the
# file, the entry or option and what was expected (grep for key words), that
# stdout stays empty, and that neither the output file nor a leftover
# "*.tmp.*" file appears. It also checks generate -> train -> eval with --json,
# `systems --json`, reproducibility of model files, and --help.
# Everything is small (n <= 200, width <= 60): the script runs in a few seconds.
# Needs /usr/bin/python3 with NumPy to craft the damaged files.

set -u

B=${1:?usage: sh tests/cli_bad_input.sh /path/to/hamrf}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
PY=/usr/bin/python3
[ -x "$B" ] || { echo "cli_bad_input: $B is not an executable" >&2; exit 1; }
"$PY" -c 'import numpy' 2>/dev/null || { echo "cli_bad_input: $PY with NumPy is required" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/hamrf_cli.XXXXXX") || exit 1
trap 'chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP
cd "$T" || exit 1

# One core, and fixed thread counts so model files are reproducible.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

npass=0
nfail=0
pass() { npass=$((npass + 1)); }
fail() {
    nfail=$((nfail + 1))
    echo "FAIL: $1" >&2
    shift
    for line in "$@"; do echo "    $line" >&2; done
}
skip() { echo "SKIP: $*" >&2; }

# run ARGS...: runs the tool; sets $rc, stdout in out.txt, stderr in err.txt.
run() {
    "$B" "$@" >out.txt 2>err.txt
    rc=$?
}

show() { sed 's/^/        | /' "$1" >&2; }

# bad NAME RC OUTPUT PATTERN... -- ARGS...
#   Runs the tool with ARGS and expects exit status RC, empty stdout, no file
#   OUTPUT ("-" when there is none), no "*.tmp.*" file, and every PATTERN
#   (extended regex, case-sensitive) somewhere in stderr.
bad() {
    name=$1 want=$2 output=$3
    shift 3
    pats=""
    npats=0
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        npats=$((npats + 1))
        eval "pat_$npats=\$1"
        shift
    done
    [ $# -gt 0 ] && shift
    if [ "$output" != "-" ] && [ -e "$output" ]; then
        echo "cli_bad_input: test bug: $output exists before case '$name'" >&2
        rm -f "$output"
    fi
    run "$@"
    ok=1
    msgs=""
    if [ "$rc" != "$want" ]; then
        ok=0
        msgs="exit status $rc, expected $want"
    fi
    if [ -s out.txt ]; then
        ok=0
        msgs="$msgs; stdout is not empty: $(head -c 200 out.txt)"
    fi
    if [ ! -s err.txt ]; then
        ok=0
        msgs="$msgs; nothing on stderr"
    fi
    i=1
    while [ $i -le $npats ]; do
        eval "p=\$pat_$i"
        if ! grep -Eq -e "$p" err.txt; then
            ok=0
            msgs="$msgs; stderr lacks /$p/"
        fi
        i=$((i + 1))
    done
    if [ "$output" != "-" ] && [ -e "$output" ]; then
        ok=0
        msgs="$msgs; output file '$output' was created"
        rm -f "$output"
    fi
    leftovers=$(find . -name '*.tmp.*' 2>/dev/null)
    if [ -n "$leftovers" ]; then
        ok=0
        msgs="$msgs; temporary file(s) left behind: $leftovers"
        rm -f $leftovers
    fi
    if [ $ok = 1 ]; then
        pass
    else
        fail "$name: ${msgs#; }" "command: hamrf $*" "stderr:"
        show err.txt
    fi
}

# good NAME ARGS...: expects exit 0.
good() {
    name=$1
    shift
    run "$@"
    if [ "$rc" = 0 ]; then
        pass
    else
        fail "$name: exit status $rc, expected 0" "command: hamrf $*" "stderr:"
        show err.txt
    fi
}

# ----------------------------------------------------------------------------
# Fixtures: small data sets and a model.
good "generate pendulum" generate --system pendulum --n 200 --seed 1 -o pend.npz
good "generate pendulum test set" generate --system pendulum --n 100 --seed 2 -o pend_test.npz
good "generate double pendulum" generate --system double_pendulum --n 60 --seed 1 -o dpend.npz
good "train pendulum" train --data pend.npz --width 40 --seed 1 --threads 1 -o pend_model.npz
good "generate one point" generate --system pendulum --n 1 --seed 1 -o one.npz
if [ ! -s pend.npz ] || [ ! -s pend_model.npz ] || [ ! -s dpend.npz ] || [ ! -s one.npz ]; then
    echo "cli_bad_input: cannot build the fixtures; stopping" >&2
    exit 1
fi

# craft.py SRC DST CASE: rewrites an hamrf file with one defect. Arrays are
# written with numpy.lib.format.write_array into "<name>.npy" entries and the
# meta bytes are copied into a raw "meta" entry, as hamrf itself stores them.
cat >craft.py <<'EOF'
import io, json, sys, zipfile
import numpy as np
from numpy.lib import format as npf

src, dst, case = sys.argv[1:4]
z = np.load(src)
meta = bytes(z["meta"])
arrs = {k: np.array(z[k]) for k in z.files if k != "meta"}
m = json.loads(meta)
if case == "float32_x":
    arrs["x"] = arrs["x"].astype(np.float32)
elif case == "x_three_columns":
    arrs["x"] = np.zeros((arrs["x"].shape[0], 3))
elif case == "dxdt_short":
    arrs["dxdt"] = arrs["dxdt"][:-1]
elif case == "no_dxdt":
    del arrs["dxdt"]
elif case == "no_H":
    del arrs["H"]
elif case.startswith(("nan_", "inf_")):
    kind, key = case.split("_", 1)
    arrs[key].reshape(-1)[3] = np.nan if kind == "nan" else np.inf
elif case == "version_2":
    m["version"] = 2
    meta = json.dumps(m).encode()
elif case == "no_meta":
    pass
elif case == "no_system":
    m.pop("system", None)
    m.pop("params", None)
    meta = json.dumps(m).encode()
elif case == "no_h":
    m.pop("h", None)
    meta = json.dumps(m).encode()
elif case == "model_nope":
    m["model"] = "nope"
    meta = json.dumps(m).encode()
else:
    raise SystemExit("craft.py: unknown case " + case)
with zipfile.ZipFile(dst, "w") as zf:
    for k, a in arrs.items():
        buf = io.BytesIO()
        npf.write_array(buf, a, allow_pickle=False)
        zf.writestr(k + ".npy", buf.getvalue())
    if case != "no_meta":
        zf.writestr("meta", meta)
EOF
craft() { "$PY" craft.py "$1" "$2" "$3" || fail "craft.py $3 failed (test bug)"; }

# ----------------------------------------------------------------------------
# Files that cannot be read.
bad "missing data file" 1 out.npz 'absent\.npz' 'cannot open|[Nn]o such file|not found|does not exist' -- \
    train --data absent.npz -o out.npz
bad "missing model file" 1 - 'absent_model\.npz' 'cannot open|[Nn]o such file|not found|does not exist' -- \
    eval --model absent_model.npz --data pend.npz

cp pend.npz locked.npz
chmod 000 locked.npz
if [ "$(id -u)" != 0 ]; then
    bad "unreadable file" 1 out.npz 'locked\.npz' '[Pp]ermission|cannot (open|read)' -- \
        train --data locked.npz -o out.npz
else
    # root reads anything; try as 'nobody' when setpriv can drop privileges.
    chmod 755 "$T"
    if command -v setpriv >/dev/null 2>&1 &&
        setpriv --reuid=65534 --regid=65534 --clear-groups "$B" --version >/dev/null 2>&1; then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$B" train --data locked.npz -o out.npz >out.txt 2>err.txt
        rc=$?
        if [ "$rc" = 1 ] && [ ! -s out.txt ] && [ ! -e out.npz ] &&
            grep -Eq 'locked\.npz' err.txt && grep -Eq '[Pp]ermission|cannot (open|read)' err.txt; then
            pass
        else
            fail "unreadable file (as nobody): exit $rc" "stderr:"
            show err.txt
        fi
        rm -f out.npz
        chmod 700 "$T"
    else
        skip "unreadable file: running as root and cannot drop privileges"
    fi
fi

echo "this is not a zip archive" >not_zip.npz
bad "not a zip" 1 out.npz 'not_zip\.npz' 'zip|npz' -- train --data not_zip.npz -o out.npz
: >empty_file.npz
bad "empty file" 1 out.npz 'empty_file\.npz' 'zip|npz|empty' -- train --data empty_file.npz -o out.npz
head -c 2000 pend.npz >truncated.npz
bad "truncated zip" 1 out.npz 'truncated\.npz' 'zip|npz|truncated|corrupt' -- train --data truncated.npz -o out.npz
"$PY" -c 'import numpy as np; np.savez("plain_numpy.npz", x=np.zeros((3, 2)), dxdt=np.zeros((3, 2)))'
bad "zip without meta (plain numpy savez)" 1 out.npz 'plain_numpy\.npz' 'meta' 'hamrf' -- \
    train --data plain_numpy.npz -o out.npz
craft pend.npz no_meta.npz no_meta
bad "hamrf arrays without meta" 1 out.npz 'no_meta\.npz' 'meta' -- train --data no_meta.npz -o out.npz
mkdir a_folder.npz
bad "folder as data" 1 out.npz 'a_folder\.npz' 'folder|directory' -- train --data a_folder.npz -o out.npz
rmdir a_folder.npz

# Kind mismatch.
bad "model passed as data (train)" 1 out.npz 'pend_model\.npz' 'dataset|data set' 'model' -- \
    train --data pend_model.npz -o out.npz
bad "model passed as data (eval)" 1 - 'pend_model\.npz' 'dataset|data set' 'model' -- \
    eval --model pend_model.npz --data pend_model.npz
bad "data passed as model" 1 - 'pend\.npz' 'model' 'dataset|data set' -- \
    eval --model pend.npz --data pend.npz

# Wrong dtype, shape, missing entry.
craft pend.npz bad_dtype.npz float32_x
bad "float32 x" 1 out.npz 'bad_dtype\.npz' "[^[:alnum:]_]x[^[:alnum:]_]" 'float64|f8' 'float32|f4' -- \
    train --data bad_dtype.npz -o out.npz
craft pend.npz bad_cols.npz x_three_columns
bad "x of shape (n,3)" 1 out.npz 'bad_cols\.npz' "[^[:alnum:]_]x[^[:alnum:]_]" '3' 'shape|even|2d' -- \
    train --data bad_cols.npz -o out.npz
craft pend.npz short_dxdt.npz dxdt_short
bad "dxdt shape mismatch" 1 out.npz 'short_dxdt\.npz' 'dxdt' '199' '200' -- \
    train --data short_dxdt.npz -o out.npz
craft pend.npz lacks_dxdt.npz no_dxdt
bad "missing dxdt" 1 out.npz 'lacks_dxdt\.npz' 'dxdt' 'not found|missing|no ' -- \
    train --data lacks_dxdt.npz -o out.npz
bad "missing dxdt (eval)" 1 - 'lacks_dxdt\.npz' 'dxdt' 'not found|missing|no ' -- \
    eval --model pend_model.npz --data lacks_dxdt.npz

# Non-finite values in every entry a reader needs.
for key in x dxdt H; do
    for v in nan inf; do
        craft pend.npz "${v}_in_$key.npz" "${v}_$key"
        case $v in nan) vp='NaN|nan|finite' ;; *) vp='[Ii]nf|finite' ;; esac
        bad "$v in $key (train)" 1 out.npz "${v}_in_$key\\.npz" "[^[:alnum:]_]$key[^[:alnum:]_]" "$vp" -- \
            train --data "${v}_in_$key.npz" -o out.npz
        bad "$v in $key (eval)" 1 - "${v}_in_$key\\.npz" "[^[:alnum:]_]$key[^[:alnum:]_]" "$vp" -- \
            eval --model pend_model.npz --data "${v}_in_$key.npz"
    done
done

# A future format version must not be read as version 1.
craft pend.npz future_version.npz version_2
bad "meta version 2 (data)" 1 out.npz 'future_version\.npz' 'version' -- \
    train --data future_version.npz -o out.npz
craft pend_model.npz future_model.npz version_2
bad "meta version 2 (model)" 1 - 'future_model\.npz' 'version' -- \
    eval --model future_model.npz --data pend.npz

# ----------------------------------------------------------------------------
# Usage errors (exit 2).
bad "width 0" 2 out.npz 'width' 'positive|at least 1|>= ?1' -- train --data pend.npz --width 0 -o out.npz
bad "negative width" 2 out.npz 'width' '-3' 'positive|at least 1|>= ?1' -- \
    train --data pend.npz --width -3 -o out.npz
bad "malformed width" 2 out.npz 'width' 'abc' -- train --data pend.npz --width abc -o out.npz
bad "width with trailing junk" 2 out.npz 'width' '10x' -- train --data pend.npz --width 10x -o out.npz
bad "malformed seed" 2 out.npz 'seed' -- train --data pend.npz --seed one -o out.npz
bad "malformed rcond" 2 out.npz 'rcond' -- train --data pend.npz --rcond 1e-1e -o out.npz
bad "malformed --n" 2 out.npz '\<n\>' '1e3' -- generate --system pendulum --n 1e3 -o out.npz
# strtoull alone would skip the blank and wrap the sign: 2^64 - 5 points.
bad "--n with a blank and a sign" 2 out.npz '\<n\>' ' -5' 'positive integer' -- \
    generate --system pendulum --n ' -5' -o out.npz
bad "--seed with a blank and a sign" 2 out.npz 'seed' ' -1' 'non-negative integer' -- \
    generate --system pendulum --n 5 --seed ' -1' -o out.npz
bad "--n with a plus sign" 2 out.npz '\<n\>' '\+5' -- generate --system pendulum --n +5 -o out.npz
bad "--n 0" 2 out.npz '\<n\>' 'positive|at least 1' -- generate --system pendulum --n 0 -o out.npz
bad "malformed q-range" 2 out.npz 'q-range' 'LO,HI|LO < HI' -- generate --system pendulum --n 5 --q-range=1 -o out.npz
bad "empty q-range" 2 out.npz 'q-range' -- generate --system pendulum --n 5 --q-range=1,1 -o out.npz
bad "negative noise" 2 out.npz 'noise' -- generate --system pendulum --n 5 --noise -1 -o out.npz
bad "unknown sampler" 2 out.npz 'sampler' 'swimm' 'elm' -- train --data pend.npz --sampler swimm -o out.npz
bad "unknown solver" 2 out.npz 'solver' 'cholesky' 'svd' -- train --data pend.npz --solver cholesky -o out.npz
bad "unknown model" 2 out.npz 'model' 'nope' 'hnn' 'odenet' -- train --data pend.npz --model nope -o out.npz
bad "odenet width 0" 2 out.npz 'width' -- train --data pend.npz --model odenet --width 0 -o out.npz
bad "unknown option (train)" 2 out.npz '--bogus' -- train --data pend.npz --bogus -o out.npz
bad "unknown option (generate)" 2 out.npz '--colour' -- generate --system pendulum --n 5 --colour -o out.npz
bad "unknown option (eval)" 2 - '--verbose' -- eval --model pend_model.npz --data pend.npz --verbose
bad "unknown option (systems)" 2 - '--all' -- systems --all
bad "unknown command" 2 - 'fly' -- fly
bad "stray argument" 2 out.npz 'extra' -- generate --system pendulum --n 5 -o out.npz extra
bad "missing --data" 2 out.npz 'data' 'required' -- train --width 10 -o out.npz
bad "missing -o (train)" 2 - '-o|output' 'required' -- train --data pend.npz
bad "missing --system" 2 out.npz 'system' 'required' -- generate --n 5 -o out.npz
bad "missing --n" 2 out.npz '\<n\>' 'required' -- generate --system pendulum -o out.npz
bad "missing -o (generate)" 2 - '-o|output' 'required' -- generate --system pendulum --n 5
bad "missing --model" 2 - 'model' 'required' -- eval --data pend.npz
bad "-o without value" 2 - "'-o'|-o" -- train --data pend.npz -o
bad "unknown system" 2 out.npz 'pendulu\>' 'pendulum|spring' -- generate --system pendulu --n 5 -o out.npz
bad "unknown --set parameter" 2 out.npz 'mass' 'pendulum' 'm, l|parameters' -- \
    generate --system pendulum --set mass=2 --n 5 -o out.npz
bad "--set without =" 2 out.npz 'KEY=VALUE' -- generate --system pendulum --set m --n 5 -o out.npz
bad "--set NaN" 2 out.npz "'?nan'?|NaN" 'finite|number' -- generate --system pendulum --set m=nan --n 5 -o out.npz
bad "--set inf" 2 out.npz 'inf' 'finite|number' -- generate --system pendulum --set g=inf --n 5 -o out.npz
bad "negative mass" 2 out.npz '\<m\>' '-1' '> ?0|positive' -- generate --system pendulum --set m=-1 --n 5 -o out.npz
bad "negative mass (double pendulum)" 2 out.npz 'm2' '> ?0|positive' -- \
    generate --system double_pendulum --set m2=-0.5 --n 5 -o out.npz
bad "--threads 0" 2 out.npz 'threads' -- train --data pend.npz --threads 0 -o out.npz

# ----------------------------------------------------------------------------
# Sizes refused before allocating, with an estimate, quickly.
t0=$(date +%s)
bad "absurd width" 1 out.npz 'width' 'GiB' -- train --data pend.npz --width 100000000000 -o out.npz
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] && pass || fail "absurd width took $((t1 - t0)) s to be refused"
est_small=$(sed -n 's/.*needs about \([0-9.e+]*\) GiB.*/\1/p' err.txt)
bad "width 2^64-1" 1 out.npz 'width' 'GiB' -- train --data pend.npz --width 18446744073709551615 -o out.npz
est_big=$(sed -n 's/.*needs about \([0-9.e+]*\) GiB.*/\1/p' err.txt)
# The estimate must grow with the width (a smaller number means it overflowed).
if [ -n "$est_small" ] && [ -n "$est_big" ] &&
    "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[2]) >= float(sys.argv[1]) else 1)' "$est_small" "$est_big"; then
    pass
else
    fail "memory estimate not monotonic in width: width 1e11 -> '$est_small' GiB, width 2^64-1 -> '$est_big' GiB"
fi
bad "width beyond 2^64" 2 out.npz 'width' -- train --data pend.npz --width 18446744073709551616 -o out.npz
t0=$(date +%s)
bad "absurd --n" 1 out.npz 'GiB' '10000000000000|1e\+?13' -- \
    generate --system pendulum --n 10000000000000 -o out.npz
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] && pass || fail "absurd --n took $((t1 - t0)) s to be refused"

# ----------------------------------------------------------------------------
# Data that a sampler cannot use.
for s in swim uswim aswim; do
    bad "one point, sampler $s" 1 out.npz "$s" '2' 'point|has 1' -- train --data one.npz --sampler $s -o out.npz
done
good "one point, sampler elm" train --data one.npz --sampler elm --width 5 -o one_elm.npz
craft pend.npz without_H.npz no_H
bad "swim without H" 1 out.npz 'swim' "[^[:alnum:]_]H[^[:alnum:]_]" -- \
    train --data without_H.npz --sampler swim -o out.npz
good "aswim without H" train --data without_H.npz --sampler aswim --width 20 -o no_h_model.npz

# A model and a data set of different dimension.
bad "dimension mismatch" 1 - 'pend_model\.npz' 'dpend\.npz' 'dimension|dim' -- \
    eval --model pend_model.npz --data dpend.npz

# Output in a folder that does not exist.
bad "generate into missing folder" 1 no_such_dir/out.npz 'no_such_dir' 'folder|directory|[Nn]o such' -- \
    generate --system pendulum --n 5 -o no_such_dir/out.npz
bad "train into missing folder" 1 no_such_dir/out.npz 'no_such_dir' 'folder|directory|[Nn]o such' -- \
    train --data pend.npz --width 10 -o no_such_dir/out.npz
[ -e no_such_dir ] && fail "a failed write created the folder no_such_dir"
mkdir out_folder
bad "output is a folder" 1 - 'out_folder' 'folder|directory' -- train --data pend.npz --width 10 -o out_folder
rmdir out_folder 2>/dev/null || fail "output folder out_folder was modified"

# An existing output file is left intact when the command fails.
cp pend_model.npz keep_model.npz
cp pend_model.npz keep_model.orig
cp pend.npz keep_data.npz
cp pend.npz keep_data.orig
for args in "train --data pend.npz --width 0 -o keep_model.npz" \
    "train --data pend.npz --width 100000000000 -o keep_model.npz" \
    "train --data nan_in_x.npz --width 10 -o keep_model.npz" \
    "train --data one.npz --sampler swim -o keep_model.npz" \
    "train --data without_H.npz --sampler swim -o keep_model.npz"; do
    # shellcheck disable=SC2086
    run $args
    if [ "$rc" != 0 ] && cmp -s keep_model.npz keep_model.orig && [ -z "$(find . -name '*.tmp.*')" ]; then
        pass
    else
        fail "existing output after failure: hamrf $args (exit $rc; file changed or temp left)"
        cp keep_model.orig keep_model.npz
    fi
done
for args in "generate --system pendulum --set m=-1 --n 5 -o keep_data.npz" \
    "generate --system pendulum --n 10000000000000 -o keep_data.npz" \
    "generate --system nope --n 5 -o keep_data.npz"; do
    # shellcheck disable=SC2086
    run $args
    if [ "$rc" != 0 ] && cmp -s keep_data.npz keep_data.orig; then
        pass
    else
        fail "existing output after failure: hamrf $args (exit $rc; file changed)"
        cp keep_data.orig keep_data.npz
    fi
done

# ----------------------------------------------------------------------------
# Success: generate -> train -> eval with --json.
has_keys='import json, sys
o = json.load(sys.stdin)
missing = [k for k in sys.argv[1:] if k not in o]
if missing:
    sys.exit("missing keys %s in %s" % (missing, o))'
good "generate --json" generate --system pendulum --n 150 --seed 5 -o flow.npz --json
"$PY" -c "$has_keys" <out.txt && pass || fail "generate --json output: $(cat out.txt)"
[ -s flow.npz ] && pass || fail "generate --json wrote no file"
for s in elm uswim swim aswim; do
    run train --data flow.npz --width 30 --sampler $s --seed 2 -o flow_$s.npz --json
    if [ "$rc" = 0 ] && SAMPLER=$s "$PY" -c "$has_keys"'
import os
if o["width"] != 30 or o["sampler"] != os.environ["SAMPLER"]: sys.exit("width/sampler wrong: %s" % o)
if not (isinstance(o["fit_seconds"], (int, float)) and o["fit_seconds"] >= 0): sys.exit("fit_seconds")
if o["solver"] not in ("svd", "qr", "normal"): sys.exit("solver %r" % o["solver"])' \
        fit_seconds solver width sampler <out.txt; then
        pass
    else
        fail "train --json ($s) output: $(cat out.txt)"
    fi
    run eval --model flow_$s.npz --data pend_test.npz --json
    if [ "$rc" = 0 ] && "$PY" -c "$has_keys"'
if o["n"] != 100: sys.exit("n = %r, expected 100" % o["n"])
for k in ("rel_l2_H", "rel_l2_grad", "mse_dxdt"):
    if not (isinstance(o[k], float) and 0 <= o[k] < 1): sys.exit("%s = %r" % (k, o[k]))' \
        rel_l2_H rel_l2_grad mse_dxdt n <out.txt; then
        pass
    else
        fail "eval --json ($s): exit $rc, output: $(cat out.txt)"
        show err.txt
    fi
done
run eval --model flow_elm.npz --data pend_test.npz
[ "$rc" = 0 ] && grep -q rel_l2_grad out.txt && pass || fail "eval text output: $(cat out.txt)"

# The ODE-net baseline: train --model odenet -> eval (no H: nulls), NumPy
# evaluation of the file as docs/formats.md describes it, kind checks.
for s in elm uswim swim aswim; do
    run train --data flow.npz --model odenet --width 30 --sampler $s --seed 2 -o ode_$s.npz --json
    if [ "$rc" = 0 ] && SAMPLER=$s "$PY" -c "$has_keys"'
import os
if o["model"] != "odenet" or o["width"] != 30 or o["sampler"] != os.environ["SAMPLER"]:
    sys.exit("model/width/sampler wrong: %s" % o)
if o["solver"] not in ("svd", "qr", "normal"): sys.exit("solver %r" % o["solver"])' \
        fit_seconds solver width sampler model rel_residual <out.txt; then
        pass
    else
        fail "train --model odenet --json ($s): exit $rc, output: $(cat out.txt)"
        show err.txt
    fi
    run eval --model ode_$s.npz --data pend_test.npz --json
    if [ "$rc" = 0 ] && "$PY" -c "$has_keys"'
if o["model"] != "odenet" or o["n"] != 100: sys.exit("model/n: %s" % o)
if o["rel_l2_H"] is not None or o["rel_l2_grad"] is not None: sys.exit("H/grad not null: %s" % o)
for k in ("rel_l2_dxdt", "mse_dxdt"):
    if not (isinstance(o[k], float) and 0 <= o[k] < 1): sys.exit("%s = %r" % (k, o[k]))' \
        rel_l2_H rel_l2_grad rel_l2_dxdt mse_dxdt n dim <out.txt; then
        pass
    else
        fail "eval --json (odenet $s): exit $rc, output: $(cat out.txt)"
        show err.txt
    fi
done
# NumPy evaluates the aswim file (entries and meta as docs/formats.md says)
# to the rel_l2_dxdt that hamrf eval printed last.
cat >ode_numpy.py <<'EOF'
import json, sys
import numpy as np
z, t = np.load(sys.argv[1]), np.load(sys.argv[2])
meta = json.loads(z["meta"])
assert meta["kind"] == "model" and meta["model"] == "odenet" and meta["activation"] == "tanh", meta
assert meta["sampler"] == "aswim" and meta["width"] == 30 and meta["dim"] == 2, meta
W, b, C, C0 = z["W"], z["b"], z["C"], z["C0"]
assert W.shape == (30, 2) and b.shape == (30,) and C.shape == (30, 2) and C0.shape == (2,)
f = np.tanh(t["x"] @ W.T + b) @ C + C0
rel = np.linalg.norm(f - t["dxdt"]) / np.linalg.norm(t["dxdt"])
ev = json.load(open(sys.argv[3]))
# Both are float64 evaluations of the same formula: they differ by rounding only.
ok = abs(rel - ev["rel_l2_dxdt"]) <= 1e-9 * rel + 1e-15
sys.exit(0 if ok else "numpy %r, hamrf %r" % (rel, ev["rel_l2_dxdt"]))
EOF
"$PY" ode_numpy.py ode_aswim.npz pend_test.npz out.txt && pass ||
    fail "odenet: NumPy evaluation of the model file differs from hamrf eval"
run eval --model ode_elm.npz --data pend_test.npz
[ "$rc" = 0 ] && grep -q 'rel_l2_dxdt' out.txt && grep -q 'rel_l2_H *n/a' out.txt && pass ||
    fail "eval text output (odenet): $(cat out.txt)"
good "odenet swim without H (weighs pairs by dx/dt)" \
    train --data without_H.npz --model odenet --sampler swim --width 20 -o ode_noh.npz
bad "odenet: dimension mismatch" 1 - 'ode_elm\.npz' 'dpend\.npz' 'dimension|dim' -- \
    eval --model ode_elm.npz --data dpend.npz
craft pend_model.npz nope_model.npz model_nope
bad "eval: unknown model kind" 1 - 'nope_model\.npz' 'nope' 'hnn' 'odenet' -- \
    eval --model nope_model.npz --data pend.npz
t0=$(date +%s)
bad "odenet: absurd width" 1 out.npz 'width' 'GiB' -- \
    train --data pend.npz --model odenet --width 100000000000 -o out.npz
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] && pass || fail "odenet absurd width took $((t1 - t0)) s to be refused"
for s in aswim elm; do
    good "odenet repro a ($s)" train --data flow.npz --model odenet --width 60 --sampler $s --seed 7 --threads 1 -o orep_a_$s.npz
    good "odenet repro b ($s)" train --data flow.npz --model odenet --width 60 --sampler $s --seed 7 --threads 1 -o orep_b_$s.npz
    cmp -s orep_a_$s.npz orep_b_$s.npz && pass || fail "odenet $s: same seed and threads gave different model files"
done

# systems --json lists the five systems.
good "systems --json" systems --json
"$PY" -c 'import json, sys
o = json.load(sys.stdin)
names = sorted(s["name"] for s in o["systems"])
want = sorted(["spring", "pendulum", "lotka_volterra", "double_pendulum", "henon_heiles"])
sys.exit(0 if names == want else "systems: %s" % names)' <out.txt && pass || fail "systems --json: $(cat out.txt)"
good "systems" systems
grep -q double_pendulum out.txt && pass || fail "systems text lacks double_pendulum"

# Same seed + same --threads -> byte-identical model; different seed -> different.
for s in aswim elm; do
    good "repro a ($s)" train --data flow.npz --width 60 --sampler $s --seed 7 --threads 1 -o rep_a_$s.npz
    good "repro b ($s)" train --data flow.npz --width 60 --sampler $s --seed 7 --threads 1 -o rep_b_$s.npz
    good "repro c ($s)" train --data flow.npz --width 60 --sampler $s --seed 8 --threads 1 -o rep_c_$s.npz
    cmp -s rep_a_$s.npz rep_b_$s.npz && pass || fail "$s: same seed and threads gave different model files"
    cmp -s rep_a_$s.npz rep_c_$s.npz && fail "$s: seeds 7 and 8 gave identical model files" || pass
done
good "generate repro a" generate --system henon_heiles --n 50 --seed 3 -o gen_a.npz
good "generate repro b" generate --system henon_heiles --n 50 --seed 3 -o gen_b.npz
cmp -s gen_a.npz gen_b.npz && pass || fail "generate: same seed gave different files"

# Trajectory pairs, the correction, rollouts.
bad "pairs without --h" 2 pairs.npz 'needs --h' -- generate --system pendulum --n 10 --pairs -o pairs.npz
bad "--h without --pairs" 2 pairs.npz 'only meaningful with --pairs' -- generate --system pendulum --n 10 --h 0.1 -o pairs.npz
bad "--h zero" 2 pairs.npz '--h must be > 0' -- generate --system pendulum --n 10 --pairs --h 0 -o pairs.npz
bad "--h negative" 2 pairs.npz '--h must be > 0' -- generate --system pendulum --n 10 --pairs --h -0.5 -o pairs.npz
bad "--h nan" 2 pairs.npz 'h' -- generate --system pendulum --n 10 --pairs --h nan -o pairs.npz
bad "--flow-tol too loose" 2 pairs.npz 'flow-tol' -- generate --system pendulum --n 10 --pairs --h 0.1 --flow-tol 0.1 -o pairs.npz
good "generate pairs" generate --system pendulum --n 200 --pairs --h 0.1 -o pairs.npz
bad "--correct on box data" 2 corr.npz '--correct needs trajectory pairs' 'flow\.npz' -- train --data flow.npz --correct -o corr.npz
bad "odenet on pairs" 2 corr.npz 'pairs' '--model hnn' -- train --data pairs.npz --model odenet -o corr.npz
bad "swim on pairs" 1 corr.npz 'swim' 'aswim' -- train --data pairs.npz --sampler swim --width 20 -o corr.npz
good "train pairs --correct" train --data pairs.npz --width 30 --correct -o corr.npz
good "rollout corrected" rollout --model corr.npz --x0=0.5,0 --dt 0.05 --steps 20 -o traj.npz
bad "rollout no model" 2 traj2.npz '--model' -- rollout --x0=1,0 --dt 0.1 --steps 3 -o traj2.npz
bad "rollout both x0 and data" 2 traj2.npz 'exactly one of --x0 and --data' -- rollout --model corr.npz --x0=1,0 --data flow.npz --dt 0.1 --steps 3 -o traj2.npz
bad "rollout x0 not a number" 2 traj2.npz 'x0' -- rollout --model corr.npz --x0=1,abc --dt 0.1 --steps 3 -o traj2.npz
bad "rollout x0 inf" 2 traj2.npz 'x0' -- rollout --model corr.npz --x0=1,inf --dt 0.1 --steps 3 -o traj2.npz
bad "rollout count without data" 2 traj2.npz '--count only applies to --data' -- rollout --model corr.npz --x0=1,0 --count 3 --dt 0.1 --steps 3 -o traj2.npz
bad "rollout dim mismatch" 1 traj2.npz 'dimension 4' 'dimension 2' -- rollout --model corr.npz --data gen_a.npz --dt 0.1 --steps 3 -o traj2.npz
craft corr.npz nosys_model.npz no_system
craft pairs.npz pairs_no_h.npz no_h
craft pairs.npz pairs_nan_x1.npz nan_x1
bad "pairs without meta h" 1 corr2.npz 'pairs_no_h\.npz' '"h"' -- train --data pairs_no_h.npz -o corr2.npz
bad "pairs NaN in x1" 1 corr2.npz 'pairs_nan_x1\.npz' 'x1' -- train --data pairs_nan_x1.npz -o corr2.npz
bad "rollout truth without system" 1 traj2.npz 'does not name' -- rollout --model nosys_model.npz --x0=1,0 --dt 0.1 --steps 3 --truth -o traj2.npz
bad "rollout every 0" 2 traj2.npz 'every' -- rollout --model corr.npz --x0=1,0 --dt 0.1 --steps 3 --every 0 -o traj2.npz
bad "rollout solve-max 0" 2 traj2.npz 'solve-max' -- rollout --model corr.npz --x0=1,0 --dt 0.1 --steps 3 --solve-max 0 -o traj2.npz
bad "rollout rtol negative" 2 traj2.npz 'rtol' -- rollout --model corr.npz --x0=1,0 --dt 0.1 --steps 3 --rtol -1 -o traj2.npz
bad "rollout model is a data set" 1 traj2.npz 'flow\.npz' 'model' -- rollout --model flow.npz --x0=1,0 --dt 0.1 --steps 3 -o traj2.npz

# Gradient training (train --optimizer, hamrf/baseline.h): names, conflicts
# with the sampling options, and a tiny run whose model eval and rollout read.
bad "optimizer unknown" 2 gd.npz 'nope' 'adam' -- train --data pend.npz --optimizer nope -o gd.npz
bad "lr without optimizer" 2 gd.npz '--lr' '--optimizer' -- train --data pend.npz --lr 1e-3 -o gd.npz
bad "steps without optimizer" 2 gd.npz '--steps' '--optimizer' -- train --data pend.npz --steps 5 -o gd.npz
bad "optimizer with sampler" 2 gd.npz '--sampler' '--optimizer' -- train --data pend.npz --optimizer adam --sampler swim -o gd.npz
bad "optimizer with solver" 2 gd.npz '--solver' -- train --data pend.npz --optimizer sgd --solver qr -o gd.npz
bad "optimizer lr negative" 2 gd.npz 'lr' -- train --data pend.npz --optimizer adam --lr -1 -o gd.npz
bad "optimizer steps 0" 2 gd.npz 'steps' -- train --data pend.npz --optimizer adam --steps 0 -o gd.npz
good "train --optimizer adam" train --data pend.npz --optimizer adam --steps 20 --width 20 --batch 64 -o gd.npz
good "eval gradient-trained hnn" eval --model gd.npz --data pend_test.npz
good "rollout gradient-trained hnn" rollout --model gd.npz --x0=0.5,0 --dt 0.05 --steps 10 -o gd_traj.npz
good "train --optimizer odenet" train --data pend.npz --model odenet --optimizer adam --steps 10 --width 20 --shuffle -o gd_ode.npz
good "eval gradient-trained odenet" eval --model gd_ode.npz --data pend_test.npz
"$PY" - <<'PYEOF' && pass || fail "gradient-trained model: meta lacks trained_by or optimizer"
import sys, zipfile
meta = zipfile.ZipFile("gd.npz").read("meta").decode()
sys.exit(0 if '"trained_by":"gradient"' in meta and '"optimizer":"adam"' in meta else 1)
PYEOF

# Particle systems (hamrf/particles.h, docs/formats.md "particles"): a small
# chain data set checked from NumPy, LJ and the benchmark ring, bad options.
good "generate springs chain" generate --system springs --topology chain --shape 8 --dim 2 \
    --trajectories 2 --snapshots 3 --every 5 --seed 3 -o part_chain.npz
"$PY" - <<'PYEOF' && pass || fail "springs chain file: wrong entries or meta"
import json, sys
import numpy as np
z = np.load("part_chain.npz")
m = json.loads(bytes(z["meta"]))
ok = (z["q"].shape == (6, 8, 2) and z["p"].shape == (6, 8, 2) and z["dpdt"].shape == (6, 8, 2)
      and z["H"].shape == (6,) and z["t"].shape == (6,) and z["bonds"].shape == (7, 2)
      and m["kind"] == "particles" and m["system"] == "springs" and m["topology"] == "chain"
      and m["trajectories"] == 2 and "box" not in z.files
      and np.array_equal(z["dqdt"], z["p"] / z["mass"][None, :, None])
      and abs(z["dpdt"].sum(axis=1)).max() < 1e-12)
sys.exit(0 if ok else 1)
PYEOF
good "generate lj" generate --system lj --particles 108 --snapshots 2 --every 2 -o part_lj.npz
good "generate benchmark_ring" generate --system benchmark_ring --trajectories 2 --snapshots 3 -o part_ring.npz
bad "generate bad topology" 2 part.npz 'star' 'chain, ring, lattice' -- \
    generate --system springs --topology star --shape 8 -o part.npz
bad "generate chain with a 3x3 shape" 2 part.npz '--topology chain' '3x3' -- \
    generate --system springs --topology chain --shape 3x3 -o part.npz
bad "generate lattice shape/dim mismatch" 2 part.npz '3x3' '--dim' -- \
    generate --system springs --topology lattice --shape 3x3 --dim 3 -o part.npz
bad "generate bad potential" 2 part.npz 'nope' 'morse' -- \
    generate --system springs --shape 8 --potential nope -o part.npz
bad "generate lj bad density" 2 part.npz '--density' -- \
    generate --system lj --particles 108 --density -1 -o part.npz
bad "generate lj not 4n^3" 2 part.npz '4 n\^3' '108' -- generate --system lj --particles 100 -o part.npz
bad "generate lj box below 2 rc" 2 part.npz 'cutoff' -- generate --system lj --particles 32 -o part.npz
bad "generate lj absurd size" 1 part.npz 'GiB|2\^32' -- generate --system lj --particles 4000000000000 -o part.npz
bad "generate --n for particles" 2 part.npz '--n' -- generate --system lj --particles 108 --n 10 -o part.npz
bad "generate --shape for lj" 2 part.npz '--shape' 'lj' -- generate --system lj --particles 108 --shape 8 -o part.npz
bad "generate --topology for pendulum" 2 part.npz '--topology' -- generate --system pendulum --n 10 --topology chain -o part.npz

# The graph network on the command line (--model hgn): particle data sets
# only; box models refuse particle data sets. Kind mismatches are usage errors.
good "hgn: generate chain" generate --system springs --topology chain --shape 6 \
    --trajectories 2 --snapshots 5 --seed 4 -o hgn_chain.npz
good "hgn: train" train --model hgn --data hgn_chain.npz --edge-width 20 --kinetic-width 10 \
    --seed 1 -o hgn_model.npz
good "hgn: eval" eval --model hgn_model.npz --data hgn_chain.npz
good "hgn: rollout with truth" rollout --model hgn_model.npz --data hgn_chain.npz --count 2 \
    --dt 0.01 --steps 5 --truth -o hgn_traj.npz
bad "hgn: train hgn on box data" 2 hgn_x.npz 'hgn' 'particle' 'pend.npz' -- \
    train --model hgn --data pend.npz -o hgn_x.npz
bad "hgn: train hnn on particle data" 2 hgn_x.npz 'particle' '--model hgn' -- \
    train --model hnn --data hgn_chain.npz -o hgn_x.npz
bad "hgn: train odenet on particle data" 2 hgn_x.npz 'particle' '--model hgn' -- \
    train --model odenet --data hgn_chain.npz -o hgn_x.npz
bad "hgn: --edge-width for an hnn" 2 hgn_x.npz '--edge-width' -- \
    train --data pend.npz --edge-width 10 -o hgn_x.npz
bad "hgn: --width for an hgn" 2 hgn_x.npz '--width' '--edge-width' -- \
    train --data hgn_chain.npz --width 10 -o hgn_x.npz
bad "hgn: unknown mode" 2 hgn_x.npz 'star' 'pair' -- \
    train --data hgn_chain.npz --mode star -o hgn_x.npz
bad "hgn: --edge-width 0" 2 hgn_x.npz 'edge' -- \
    train --data hgn_chain.npz --edge-width 0 -o hgn_x.npz
bad "hgn: eval on box data" 2 - 'hgn' 'particle' -- eval --model hgn_model.npz --data pend_test.npz
bad "hgn: eval an hnn on particle data" 2 - 'particle' -- \
    eval --model pend_model.npz --data hgn_chain.npz
bad "hgn: rollout without --data" 2 hgn_x.npz '--data' 'hgn' -- \
    rollout --model hgn_model.npz --x0=0,0 --dt 0.01 --steps 2 -o hgn_x.npz
bad "hgn: rollout without initial states" 2 hgn_x.npz '--data' -- \
    rollout --model hgn_model.npz --dt 0.01 --steps 2 -o hgn_x.npz
bad "hgn: rollout on box data" 2 hgn_x.npz 'particle' -- \
    rollout --model hgn_model.npz --data pend.npz --dt 0.01 --steps 2 -o hgn_x.npz
bad "hgn: rollout an hnn on particle data" 2 hgn_x.npz 'particle' -- \
    rollout --model pend_model.npz --data hgn_chain.npz --dt 0.01 --steps 2 -o hgn_x.npz

# The graph network trained by gradient descent (--model hgn --optimizer):
# a tiny run in each mode whose file eval and rollout read, the meta, and
# the options that conflict or do not apply.
good "hgn gd: train adam" train --model hgn --data hgn_chain.npz --optimizer adam --steps 20 \
    --edge-width 12 --kinetic-width 6 --batch 4 --shuffle -o hgn_gd.npz
good "hgn gd: eval" eval --model hgn_gd.npz --data hgn_chain.npz
good "hgn gd: rollout with truth" rollout --model hgn_gd.npz --data hgn_chain.npz --count 2 \
    --dt 0.01 --steps 5 --truth -o hgn_gd_traj.npz
good "hgn gd: train mp lbfgs" train --data hgn_chain.npz --optimizer lbfgs --steps 2 --mode mp \
    --edge-width 8 --kinetic-width 4 --node-width 5 -o hgn_gd_mp.npz --json
"$PY" - <<'PYEOF' && pass || fail "hgn gd: meta or JSON lacks trained_by, optimizer, mode or widths"
import json, sys, zipfile
m = json.loads(zipfile.ZipFile("hgn_gd.npz").read("meta"))
mp = json.loads(zipfile.ZipFile("hgn_gd_mp.npz").read("meta"))
j = json.load(open("out.txt"))
ok = (m["trained_by"] == "gradient" and m["optimizer"] == "adam" and m["steps"] == 20
      and m["batch"] == 4 and m["shuffle"] is True and m["model"] == "hgn" and m["mode"] == "pair"
      and m["edge_width"] == 12 and m["n_snapshots"] == 10 and m["system"] == "springs"
      and mp["trained_by"] == "gradient" and mp["mode"] == "mp" and mp["node_width"] == 5
      and j["model"] == "hgn" and j["trained_by"] == "gradient" and j["mode"] == "mp"
      and j["full_loss"] <= j["initial_loss"] and j["parameters"] == 3*8 + 4*4 + 5*8 + 2*5 + 1)
sys.exit(0 if ok else 1)
PYEOF
bad "hgn gd: --sampler with --optimizer" 2 hgn_x.npz '--sampler' '--optimizer' -- \
    train --data hgn_chain.npz --optimizer adam --sampler elm -o hgn_x.npz
bad "hgn gd: --steps without --optimizer" 2 hgn_x.npz '--steps' '--optimizer' -- \
    train --data hgn_chain.npz --steps 5 -o hgn_x.npz
bad "hgn gd: --width" 2 hgn_x.npz '--width' '--edge-width' -- \
    train --data hgn_chain.npz --optimizer adam --width 5 -o hgn_x.npz
bad "hgn gd: --node-width in pair mode" 2 hgn_x.npz '--node-width' 'mp' -- \
    train --data hgn_chain.npz --optimizer adam --node-width 5 -o hgn_x.npz
bad "hgn gd: --kinetic-width 0" 2 hgn_x.npz 'kinetic-width' -- \
    train --data hgn_chain.npz --optimizer adam --kinetic-width 0 -o hgn_x.npz
bad "hgn gd: --steps 0" 2 hgn_x.npz 'steps' -- \
    train --data hgn_chain.npz --optimizer adam --steps 0 -o hgn_x.npz
bad "hgn gd: lr 1e300 diverges" 1 hgn_x.npz 'not finite' 'smaller lr' -- \
    train --data hgn_chain.npz --optimizer sgd --lr 1e300 --steps 3 -o hgn_x.npz

# --help of each command: exit 0, text on stdout, nothing on stderr.
for c in systems generate train eval rollout reproduce; do
    run $c --help
    if [ "$rc" = 0 ] && grep -q "usage: hamrf $c" out.txt && [ ! -s err.txt ]; then
        pass
    else
        fail "hamrf $c --help: exit $rc"
    fi
done
run --help
[ "$rc" = 0 ] && [ -s out.txt ] && pass || fail "hamrf --help: exit $rc"
run
[ "$rc" = 2 ] && [ ! -s out.txt ] && pass || fail "hamrf without command: exit $rc, expected 2"

[ -z "$(find . -name '*.tmp.*')" ] && pass || fail "temporary files left: $(find . -name '*.tmp.*')"

echo "cli_bad_input: $npass passed, $nfail failed" >&2
[ "$nfail" = 0 ]
