"""Compares two `hamrf ... --json` outputs (tests/cli_mpi.sh): every key of A
but the timings and the MPI keys (seconds, ranks, reduce_*) must be in B with
the same value, numbers within TOL relative.

    mpi_compare_json.py A.json B.json TOL

Exit 0 when they agree, 1 (printing the first difference) else."""
import json
import sys

a, b = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
tol = float(sys.argv[3])
for k, va in a.items():
    if k in ("seconds", "ranks") or k.startswith("reduce_"):
        continue
    vb = b.get(k, "(missing)")
    if isinstance(va, float) and isinstance(vb, (int, float)):
        same = abs(va - vb) <= tol * max(abs(va), 1e-300)
    else:
        same = va == vb
    if not same:
        print("mpi_compare_json: %s: %r against %r (tolerance %g)" % (k, vb, va, tol))
        sys.exit(1)
sys.exit(0)
