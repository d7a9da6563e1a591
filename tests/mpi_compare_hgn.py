"""Compares two graph-network models' predictions (tests/cli_mpi.sh): Ĥ and
the forces dp/dt = −∂Ĥ/∂q (and dq/dt = ∂Ĥ/∂p) of model B against model A
at every snapshot of a particle data set, relative to A's largest value.

    mpi_compare_hgn.py A.npz B.npz PARTICLES.npz TOL

Exit 0 when every relative difference is ≤ TOL, 1 (printing them) else.
The library is found through HAMRF_LIB (set by the shell test)."""
import ctypes
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import numpy as np  # noqa: E402
from hamrf import _lib  # noqa: E402

L = _lib.lib
L.hrf_hgn_graph_of.restype = None
L.hrf_hgn_graph_of.argtypes = [ctypes.POINTER(_lib.Pdata), ctypes.POINTER(_lib.HgnGraph)]
a, b, data, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])


def check(rc):
    if rc != 0:
        sys.exit("mpi_compare_hgn: library call failed (%d)" % rc)


def load_model(path):
    m = ctypes.c_void_p()
    check(L.hrf_model_load(path.encode(), ctypes.byref(m)))
    return m, L.hrf_model_hgn(m)


dp = ctypes.POINTER(_lib.Pdata)()
check(L.hrf_pdata_load(data.encode(), ctypes.byref(dp)))
d = dp.contents
g = _lib.HgnGraph()
L.hrf_hgn_graph_of(dp, ctypes.byref(g))
S, N, D = d.S, d.N, d.D
nd = N * D


def predict(h):
    H = np.zeros(S)
    dq = np.zeros((S, nd))
    dpp = np.zeros((S, nd))
    for s in range(S):
        q = ctypes.cast(ctypes.addressof(d.q.contents) + 8 * s * nd, _lib.c_double_p)
        p = ctypes.cast(ctypes.addressof(d.p.contents) + 8 * s * nd, _lib.c_double_p)
        Hs = ctypes.c_double()
        check(L.hrf_hgn_eval(h, N, D, q, p, d.mass, ctypes.byref(g), ctypes.byref(Hs),
                             dq[s].ctypes.data_as(_lib.c_double_p),
                             dpp[s].ctypes.data_as(_lib.c_double_p)))
        H[s] = Hs.value
    return H, dq, dpp


ma, ha = load_model(a)
mb, hb = load_model(b)
A, B = predict(ha), predict(hb)
rel = [np.max(np.abs(x - y)) / max(np.max(np.abs(x)), 1e-300) for x, y in zip(A, B)]
ok = all(r <= tol for r in rel)
print("%s vs %s: rel diff H %.3g, dq/dt %.3g, forces %.3g (tolerance %.3g) %s"
      % (os.path.basename(a), os.path.basename(b), rel[0], rel[1], rel[2], tol,
         "ok" if ok else "FAILED"))
sys.exit(0 if ok else 1)
