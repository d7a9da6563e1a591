"""hamrf: Hamiltonian neural networks trained without gradient descent.

A NumPy interface to libhamrf (ctypes, standard library only). Arrays cross
without copies when they are C-contiguous float64 and are converted otherwise;
the GIL is released during library calls. Errors raise hamrf.Error subclasses
(also ValueError, MemoryError, OSError, LookupError as fits) with the
library's message.

    import numpy as np, hamrf
    d = hamrf.systems.generate("pendulum", n=10000, seed=1)
    m = hamrf.HNN(width=500, seed=1).fit(d)          # or .fit(x, dxdt, H=None)
    m.H(x), m.grad(x), m.vector_field(x)            # (n,), (n, 2d), (n, 2d)
    m.errors(d)                                     # dict: rel_l2_H, rel_l2_grad, mse_dxdt
    m.save("model.npz"); hamrf.load("model.npz")    # any model file hamrf writes
"""
import ctypes
import json
import sys

import numpy as np

from . import _lib
from ._lib import (DataError, Error, FormatError, InvalidArgument, IOFailure, NotFound,
                   NumericError, OutOfMemory, TooBig, check, lib)

__all__ = ["HNN", "ODENet", "HGN", "Dataset", "ParticleData", "ParticleSystem", "Model", "load",
           "load_dataset", "load_particles", "particle_states", "systems", "rollout", "metrics", "version",
           "Error", "InvalidArgument", "DataError", "FormatError", "NumericError", "TooBig",
           "OutOfMemory", "NotFound", "IOFailure"]


def version():
    """The version of the loaded libhamrf ("0.1.0")."""
    return lib.hrf_version().decode()


class Dataset(_lib.LibraryData):
    """A data set of states x (n, 2d), derivatives dxdt (n, 2d), optionally
    energies H (n), held by the library (hrf_dataset). Build it from arrays
    (`Dataset(x, dxdt, H=None, x0=None, H0=0.0)`), from a file
    (`load_dataset(path)`) or from a system (`systems.generate`)."""

    def __init__(self, x=None, dxdt=None, H=None, x0=None, H0=0.0, _handle=None):
        if _handle is not None:
            self._h = _handle
            return
        if x is None or dxdt is None:
            raise ValueError("Dataset(x, dxdt): both arrays are required")
        X = _lib.as_matrix(x, "x")
        F = _lib.as_matrix(dxdt, "dxdt", X.shape[1])
        if F.shape[0] != X.shape[0]:
            raise ValueError("dxdt: expected %d rows (as x), got %d" % (X.shape[0], F.shape[0]))
        Hv = None if H is None else _lib.as_vector(H, "H", X.shape[0])
        X0 = None if x0 is None else _lib.as_vector(x0, "x0", X.shape[1])
        h = ctypes.POINTER(_lib.Dataset)()
        check(lib.hrf_dataset_from_arrays(X.shape[0], X.shape[1], _lib.ptr(X), _lib.ptr(F),
                                          _lib.ptr(Hv), _lib.ptr(X0), float(H0),
                                          ctypes.byref(h)))
        self._h = h

    _free = staticmethod(lib.hrf_dataset_free)

    @property
    def n(self):
        return self._handle().contents.n

    @property
    def dim(self):
        return self._handle().contents.dim

    @property
    def x(self):
        return self._array("x", (self.n, self.dim))

    @property
    def dxdt(self):
        return self._array("dxdt", (self.n, self.dim))

    @property
    def H(self):
        return self._array("H", (self.n,))

    @property
    def x0(self):
        """The anchor state (2d,): fits pin Ĥ(x0) = H0."""
        return self._array("x0", (self.dim,))

    @property
    def H0(self):
        return self._handle().contents.H0

    @property
    def x1(self):
        """Trajectory pairs' end states Φ_h(x) (n, 2d), or None."""
        return self._array("x1", (self.n, self.dim))

    @property
    def h(self):
        """Trajectory pairs' time step (0 for a set without pairs)."""
        return self._handle().contents.h

    def pairs_targets(self):
        """The gradient-regression view of trajectory pairs (docs/math.md §6.1):
        x = (q1, p0), dxdt = (x1 − x)/h, so that one symplectic Euler step
        (q first) of the fitted Ĥ reproduces each pair. A new Dataset."""
        out = ctypes.POINTER(_lib.Dataset)()
        check(lib.hrf_dataset_pairs_targets(self._handle(), ctypes.byref(out)))
        return Dataset(_handle=out)

    def save(self, path):
        check(lib.hrf_dataset_save(self._handle(), str(path).encode()))


def load_dataset(path):
    """Loads and validates a data set file written by `hamrf generate` (or one of
    your own in docs/formats.md's layout)."""
    h = ctypes.POINTER(_lib.Dataset)()
    check(lib.hrf_dataset_load(str(path).encode(), ctypes.byref(h)))
    return Dataset(_handle=h)


def _progress_callback(progress):
    """A ctypes progress function for progress=True (a line on stderr, terminals only)
    or a callable(stage, fraction); None for no progress."""
    if progress is None or progress is False:
        return None
    if progress is True:
        if not sys.stderr.isatty():
            return None

        def show(stage, fraction):
            bar = "#" * int(30 * fraction)
            sys.stderr.write("\r[%-30s] %3d%% %-30s" % (bar, int(100 * fraction), stage))
            sys.stderr.flush()
        user = show
    elif callable(progress):
        user = progress
    else:
        raise TypeError("progress: None, True or a callable(stage, fraction)")

    def call(_ctx, stage, fraction):
        try:
            user(stage.decode("utf-8", "replace"), fraction)
        except Exception:  # an exception cannot cross the C library; report, go on
            import traceback
            traceback.print_exc()
    return _lib.PROGRESS_FN(call)


class _Progress:
    """A sampled fit's progress= (see _progress_callback): sets the callback on the
    parameter struct `params` and keeps it alive for the `with` block, then ends the
    terminal line of progress=True, also when the fit raises."""

    def __init__(self, progress, params):
        self.progress, self.cb = progress, _progress_callback(progress)
        if self.cb is not None:
            params.progress = self.cb

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.progress is True and sys.stderr.isatty():
            sys.stderr.write("\n")
        return False


def _as_dataset(data, dxdt=None, H=None):
    if isinstance(data, Dataset):
        if dxdt is not None or H is not None:
            raise ValueError("fit(dataset) takes no further arrays")
        return data
    return Dataset(data, dxdt, H=H)


class _Shallow(_lib.FittedModel):
    """What the HNN and the ODE-net share: parameters, fit, save, close."""
    _kind = None

    def __init__(self, width=1000, sampler="aswim", solver="auto", seed=1, rcond=1e-13,
                 ridge=1e-13, elm_range=None, resample_duplicates=True, optimizer=None, lr=None,
                 steps=1000, batch=None, weight_decay=None, shuffle=False, time_limit=0.0,
                 progress=None):
        # progress: None; True (a progress line on stderr when it is a terminal); or a
        # callable(stage, fraction) the sampled fit calls as it goes
        self.progress = progress
        self.width, self.sampler, self.solver, self.seed = width, sampler, solver, seed
        self.rcond, self.ridge, self.elm_range = rcond, ridge, elm_range
        self.resample_duplicates = resample_duplicates
        # optimizer=NAME: every parameter trained by gradient descent instead (the
        # papers' baseline; `hamrf train --optimizer`): lr, steps, batch, ...
        self.optimizer, self.lr, self.steps, self.batch = optimizer, lr, steps, batch
        self.weight_decay, self.shuffle, self.time_limit = weight_decay, shuffle, time_limit
        self.report_ = None

    def get_params(self):
        return {k: getattr(self, k) for k in ("width", "sampler", "solver", "seed", "rcond",
                                               "ridge", "elm_range", "resample_duplicates",
                                               "optimizer", "lr", "steps", "batch",
                                               "weight_decay", "shuffle", "time_limit",
                                               "progress")}

    def _params(self):
        p = _lib.HnnParams()
        lib.hrf_hnn_params_default(ctypes.byref(p))
        p.width = int(self.width)
        sampler = ctypes.c_void_p()
        check(lib.hrf_sampler_find(str(self.sampler).encode(), ctypes.byref(sampler)))
        p.sampler = sampler
        solver = ctypes.c_int()
        check(lib.hrf_solver_find(str(self.solver).encode(), ctypes.byref(solver)))
        p.lstsq.solver = solver.value
        p.seed = int(self.seed)
        p.lstsq.rcond, p.lstsq.ridge = float(self.rcond), float(self.ridge)
        if self.elm_range is not None:
            p.elm_lo, p.elm_hi = (float(v) for v in self.elm_range)
        p.resample_duplicates = 1 if self.resample_duplicates else 0
        msg = lib.hrf_hnn_params_check(ctypes.byref(p))
        if msg:
            raise InvalidArgument(msg.decode())
        return p

    def fit(self, data, dxdt=None, H=None):
        """Samples the hidden layer and solves for the outer layer; returns self.
        `data` is a Dataset, or the states x (n, 2d) with dxdt (n, 2d) and
        optionally H (n)."""
        d = _as_dataset(data, dxdt, H)
        if d._handle().contents.x1:   # trajectory pairs: as `hamrf train` does
            if self._kind != "hnn":
                raise InvalidArgument("trajectory pairs: fitting through a symplectic Euler "
                                      "step needs an HNN")
            d = d.pairs_targets()
        if self.optimizer is not None:
            return self._fit_gradient(d)
        p = self._params()
        rep = _lib.HnnFitReport()
        m = ctypes.c_void_p()
        fit = lib.hrf_hnn_fit if self._kind == "hnn" else lib.hrf_odenet_fit
        with _Progress(self.progress, p):
            check(fit(ctypes.byref(p), d._handle(), ctypes.byref(m), ctypes.byref(rep)))
        return self._adopt(m, {"fit_seconds": rep.fit_seconds,
                               "solve_seconds": rep.solve_seconds,
                               "solver": lib.hrf_solver_name(rep.lstsq.used).decode(),
                               "solver_reason": rep.lstsq.reason.decode(),
                               "rel_residual": rep.lstsq.rel_residual, "passes": rep.passes})

    def _fit_gradient(self, d):
        p = _lib.gd_params(self.optimizer, self.lr, self.weight_decay, self.steps, self.batch,
                           self.shuffle, self.time_limit, self.seed, self.width)
        rep = _lib.GdReport()
        m = ctypes.c_void_p()
        train = lib.hrf_gd_train_hnn if self._kind == "hnn" else lib.hrf_gd_train_odenet
        check(train(ctypes.byref(p), d._handle(), ctypes.byref(m), ctypes.byref(rep)))
        return self._adopt(m, _lib.gd_report(rep))

    def _free_model(self, m):
        getattr(lib, "hrf_%s_free" % self._kind)(m)

    @property
    def dim(self):
        return getattr(lib, "hrf_%s_dim" % self._kind)(self._handle())

    def save(self, path, meta=None):
        """Writes the model file atomically; `meta`: extra members (a dict)."""
        extra = None if meta is None else json.dumps(meta).encode()
        check(getattr(lib, "hrf_%s_save" % self._kind)(self._handle(), str(path).encode(),
                                                       extra))

    def _x(self, x):
        return _lib.as_matrix(x, "x", self.dim)


class HNN(_Shallow):
    """A shallow Hamiltonian network Ĥ(x) = Σ_k c_k tanh(w_k·x + b_k) + c_0,
    dx/dt = J ∇Ĥ, fitted without gradient descent (docs/math.md §2–4)."""
    _kind = "hnn"

    def _eval(self, x, want_H, want_grad):
        X = self._x(x)
        n = X.shape[0]
        Hv = np.empty(n) if want_H else None
        G = np.empty_like(X) if want_grad else None
        check(lib.hrf_hnn_eval(self._handle(), n, _lib.ptr(X), _lib.ptr(Hv), _lib.ptr(G)))
        return Hv, G

    def H(self, x):
        """Ĥ at the states x (n, 2d): (n,)."""
        return self._eval(x, True, False)[0]

    def grad(self, x):
        """∇Ĥ at the states x (n, 2d): (n, 2d), (∂Ĥ/∂q, ∂Ĥ/∂p)."""
        return self._eval(x, False, True)[1]

    def vector_field(self, x):
        """dx/dt = J ∇Ĥ at the states x (n, 2d): (n, 2d)."""
        X = self._x(x)
        out = np.empty_like(X)
        check(lib.hrf_hnn_vector_field(self._handle(), X.shape[0], _lib.ptr(X), _lib.ptr(out)))
        return out

    def set_correction(self, h):
        """Backward-error correction (docs/math.md §6.2): the model's Hamiltonian
        becomes Ĥ + (h/2) ∇_qĤ·∇_pĤ for a fit through symplectic Euler steps of
        size h (h = 0 removes it); re-anchor with .pin afterwards. Returns self."""
        check(lib.hrf_hnn_set_correction(self._handle(), float(h)))
        return self

    @property
    def correction(self):
        """The correction's h (0 when uncorrected)."""
        return lib.hrf_hnn_correction(self._handle())

    def pin(self, x0, H0):
        """Shifts the constant so that the model's Hamiltonian equals H0 at x0 (2d,).
        Returns self."""
        X0 = _lib.as_vector(x0, "x0", self.dim)
        check(lib.hrf_hnn_pin(self._handle(), _lib.ptr(X0), float(H0)))
        return self

    def errors(self, data, dxdt=None, H=None):
        """What `hamrf eval` reports: rel_l2_H (None without H), rel_l2_grad, mse_dxdt."""
        d = _as_dataset(data, dxdt, H)
        e = _lib.HnnErrors()
        check(lib.hrf_hnn_errors_on(self._handle(), d._handle(), ctypes.byref(e)))
        return {"rel_l2_H": e.rel_l2_H if e.has_H else None, "rel_l2_grad": e.rel_l2_grad,
                "mse_dxdt": e.mse_dxdt, "n": e.n, "dim": e.dim}


class ODENet(_Shallow):
    """The ODE-net baseline: dx/dt regressed directly by a shallow network."""
    _kind = "odenet"

    def vector_field(self, x):
        X = self._x(x)
        out = np.empty_like(X)
        check(lib.hrf_odenet_eval(self._handle(), X.shape[0], _lib.ptr(X), _lib.ptr(out)))
        return out

    def errors(self, data, dxdt=None, H=None):
        d = _as_dataset(data, dxdt, H)
        e = _lib.OdenetErrors()
        check(lib.hrf_odenet_errors_on(self._handle(), d._handle(), ctypes.byref(e)))
        return {"rel_l2_dxdt": e.rel_l2_dxdt, "mse_dxdt": e.mse_dxdt, "n": e.n, "dim": e.dim}


class Model:
    """A loaded model of a kind the package has no class for yet (the graph
    network): its kind, meta, and save."""

    def __init__(self, handle):
        self._owner = handle

    @property
    def kind(self):
        return lib.hrf_model_kind(self._handle()).decode()

    def _handle(self):
        if not self._owner:
            raise Error("the model has been closed")
        return self._owner

    def save(self, path, meta=None):
        extra = None if meta is None else json.dumps(meta).encode()
        check(lib.hrf_model_save(self._handle(), str(path).encode(), extra))

    def close(self):
        if getattr(self, "_owner", None):
            lib.hrf_model_free(self._owner)
        self._owner = None

    __del__ = close


def load(path):
    """Any model file hamrf writes: an HNN, an ODENet or an HGN (a Model for a
    kind this package does not know). Its meta (how it was made) is in `.meta`."""
    h = ctypes.c_void_p()
    check(lib.hrf_model_load(str(path).encode(), ctypes.byref(h)))
    kind = lib.hrf_model_kind(h).decode()
    meta = json.loads(lib.hrf_model_meta_json(h).decode())
    if kind == "hgn":
        m = HGN(mode=meta.get("mode", "pair"))
        m._owner = h
        m._m = ctypes.c_void_p(lib.hrf_model_hgn(h))
        for key in ("edge_width", "kinetic_width", "node_width", "sampler", "seed"):
            if key in meta:
                setattr(m, key, meta[key])
    elif kind in ("hnn", "odenet"):
        m = HNN() if kind == "hnn" else ODENet()
        m._owner = h
        m._m = ctypes.c_void_p(getattr(lib, "hrf_model_" + kind)(h))
        for key in ("sampler", "solver_requested", "seed", "rcond", "ridge"):
            if key in meta:
                setattr(m, "solver" if key == "solver_requested" else key, meta[key])
        m.width = meta.get("width", m.width)
    else:
        m = Model(h)
    m.meta = meta
    return m


from . import systems  # noqa: E402,F401  (uses Dataset)
from .graph import HGN, ParticleData, ParticleSystem, load_particles, particle_states  # noqa: E402,E501
from .dynamics import metrics, rollout  # noqa: E402
