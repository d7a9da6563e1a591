"""Compares two HNN models' predictions (tests/cli_mpi.sh): Ĥ and ∇Ĥ of
model B against model A at the points of a data set, relative to A's
largest value.

    mpi_compare.py A.npz B.npz DATA.npz TOL

Exit 0 when both relative differences are ≤ TOL, 1 (printing them) else.
The library is found through HAMRF_LIB (set by the shell test)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import numpy as np  # noqa: E402
import hamrf  # noqa: E402

a, b, data, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
x = np.load(data)["x"]
ma, mb = hamrf.load(a), hamrf.load(b)
dH = np.max(np.abs(ma.H(x) - mb.H(x))) / np.max(np.abs(ma.H(x)))
ga, gb = ma.grad(x), mb.grad(x)
dG = np.max(np.abs(ga - gb)) / np.max(np.abs(ga))
ok = dH <= tol and dG <= tol
print("%s vs %s: rel diff H %.3g, grad H %.3g (tolerance %.3g) %s"
      % (os.path.basename(a), os.path.basename(b), dH, dG, tol, "ok" if ok else "FAILED"))
sys.exit(0 if ok else 1)
