"""The built-in systems (docs/math.md §5): names, parameters, the exact H and
∇H, and data sets drawn in a box (`hamrf generate` from Python)."""
import ctypes
import math

import numpy as np

from . import _lib
from ._lib import check, lib


def _types():
    arr = lib.hrf_system_types()
    i = 0
    while arr[i]:
        yield arr[i].contents
        i += 1


def list():  # noqa: A001  (the natural name here)
    """The built-in systems: [{"name", "dof", "hamiltonian", "params", "q_range",
    "p_range"}, ...]."""
    out = []
    for t in _types():
        out.append({"name": t.name.decode(), "dof": t.dof,
                    "hamiltonian": t.description.decode(),
                    "params": {t.param_names[k].decode(): t.param_defaults[k]
                               for k in range(t.nparams)},
                    "q_range": (t.q_lo, t.q_hi), "p_range": (t.p_lo, t.p_hi)})
    return out


def _system(name, params):
    t = ctypes.POINTER(_lib.SystemType)()
    check(lib.hrf_system_find(str(name).encode(), ctypes.byref(t)))
    s = _lib.System()
    lib.hrf_system_init(ctypes.byref(s), t)
    for key, value in (params or {}).items():
        check(lib.hrf_system_set(ctypes.byref(s), str(key).encode(), float(value)))
    return s


def _eval(name, x, params, want_H, want_grad):
    s = _system(name, params)
    X = _lib.as_matrix(x, "x", 2 * s.type.contents.dof)
    Hv = np.empty(X.shape[0]) if want_H else None
    G = np.empty_like(X) if want_grad else None
    lib.hrf_system_eval(ctypes.byref(s), X.shape[0], _lib.ptr(X), _lib.ptr(Hv), _lib.ptr(G))
    return Hv, G


def H(name, x, **params):
    """The exact Hamiltonian of system `name` at the states x (n, 2d)."""
    return _eval(name, x, params, True, False)[0]


def grad(name, x, **params):
    """∇H = (∂H/∂q, ∂H/∂p) at the states x (n, 2d)."""
    return _eval(name, x, params, False, True)[1]


def generate(name, n, seed=1, q_range=None, p_range=None, noise=0.0, **params):
    """A data set of n states drawn uniformly in the box (default: the system's),
    with exact dx/dt = J ∇H (plus Gaussian noise of std `noise`) and H; the
    same as `hamrf generate --system NAME --n N --seed S` (same bits)."""
    from . import Dataset
    s, gp = _system(name, params), _generate_params(n, seed, q_range, p_range, noise)
    h = ctypes.POINTER(_lib.Dataset)()
    check(lib.hrf_dataset_generate(ctypes.byref(s), ctypes.byref(gp), ctypes.byref(h)))
    return Dataset(_handle=h)


def generate_pairs(name, n, h, seed=1, q_range=None, p_range=None, tol=0.0, **params):
    """n trajectory pairs (x, Φ_h(x)) of the true flow, x uniform in the box,
    Φ_h by adaptive Dormand–Prince with rtol = atol = `tol` (0: 1e-13); the
    same as `hamrf generate --pairs --h H`. The Dataset has `.x1` (n, 2d) and
    `.h`; `HNN().fit(pairs)` fits through one symplectic Euler step
    (`.pairs_targets()`), as `hamrf train` does."""
    from . import Dataset
    s, gp = _system(name, params), _generate_params(n, seed, q_range, p_range, 0.0)
    out = ctypes.POINTER(_lib.Dataset)()
    check(lib.hrf_dataset_generate_pairs(ctypes.byref(s), ctypes.byref(gp), float(h), float(tol),
                                         ctypes.byref(out)))
    return Dataset(_handle=out)


def _generate_params(n, seed, q_range, p_range, noise):
    gp = _lib.GenerateParams()
    lib.hrf_generate_params_default(ctypes.byref(gp))
    gp.n, gp.seed, gp.noise = int(n), int(seed), float(noise)
    gp.q_lo, gp.q_hi = q_range if q_range is not None else (math.nan, math.nan)
    gp.p_lo, gp.p_hi = p_range if p_range is not None else (math.nan, math.nan)
    msg = lib.hrf_generate_params_check(ctypes.byref(gp))
    if msg:
        raise _lib.InvalidArgument(msg.decode())
    return gp
