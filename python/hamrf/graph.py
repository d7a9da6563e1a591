"""The sampled Hamiltonian graph network from Python (docs/math.md §10):
particle data sets and hamrf.HGN."""
import contextlib
import ctypes
import json

import numpy as np

from . import _lib
from ._lib import Error, InvalidArgument, check, lib


@contextlib.contextmanager
def _one_blas_thread():
    """OpenBLAS on one thread for the graph network's fit, as `hamrf train
    --model hgn` runs it (same bits; its snapshot groups then go to the OpenMP
    threads, docs/math.md §10), restored afterwards. OpenBLAS's count is
    process-wide: numpy calls from other threads during the fit run on one
    thread too."""
    get = getattr(lib, "openblas_get_num_threads", None)
    put = getattr(lib, "openblas_set_num_threads", None)
    if get is None or put is None:  # not linked to OpenBLAS: nothing to set
        yield
        return
    get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
    saved = get()
    put(1)
    try:
        yield
    finally:
        put(saved)


def _states(a, name, shape=None):
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError("%s: expected (snapshots, particles, D) or (particles, D), got shape %s"
                         % (name, arr.shape))
    if shape is not None and arr.shape != shape:
        raise ValueError("%s: expected shape %s (as q), got %s" % (name, shape, arr.shape))
    return arr


def _bonds(bonds):
    if bonds is None:
        return None
    b = np.ascontiguousarray(bonds)
    if b.ndim != 2 or b.shape[1] != 2:
        raise ValueError("bonds: expected shape (n_bonds, 2), got %s" % (b.shape,))
    if b.size and (b.min() < 0 or b.max() >= 2**32):
        raise ValueError("bonds: particle indices must be in 0 .. 2^32 - 1")
    return np.ascontiguousarray(b, dtype=np.uint32)


class ParticleData(_lib.LibraryData):
    """Snapshots of a particle system held by the library (hrf_pdata): from a
    file (`load_particles`) or from arrays q, p, dqdt, dpdt (S, N, D) with
    mass (N), and bonds (E, 2) or a periodic box and cutoff."""

    def __init__(self, q=None, p=None, dqdt=None, dpdt=None, mass=None, bonds=None, box=0.0,
                 cutoff=0.0, H=None, _handle=None):
        if _handle is not None:
            self._h = _handle
            return
        Q = _states(q, "q")
        P, DQ, DP = (_states(a, n, Q.shape) for a, n in ((p, "p"), (dqdt, "dqdt"), (dpdt, "dpdt")))
        S, N, D = Q.shape
        M = None if mass is None else _lib.as_vector(mass, "mass", N)
        Hv = None if H is None else _lib.as_vector(H, "H", S)
        B = _bonds(bonds)
        h = ctypes.POINTER(_lib.Pdata)()
        check(lib.hrf_pdata_from_arrays(
            S, N, D, _lib.ptr(Q), _lib.ptr(P), _lib.ptr(DQ), _lib.ptr(DP), _lib.ptr(Hv),
            _lib.ptr(M), B.ctypes.data_as(_lib.c_uint32_p) if B is not None else None,
            0 if B is None else B.shape[0], float(box), float(cutoff), ctypes.byref(h)))
        self._h = h

    _free = staticmethod(lib.hrf_pdata_free)

    @property
    def shape(self):
        c = self._handle().contents
        return (c.S, c.N, c.D)

    q = property(lambda self: self._array("q", self.shape))
    p = property(lambda self: self._array("p", self.shape))
    dqdt = property(lambda self: self._array("dqdt", self.shape))
    dpdt = property(lambda self: self._array("dpdt", self.shape))
    mass = property(lambda self: self._array("mass", (self.shape[1],)))

    def save(self, path):
        check(lib.hrf_pdata_save(self._handle(), str(path).encode()))

    def system(self):
        """The exact particle system this data set describes (its masses, bonds or
        box and cutoff, and the pair potential its meta records), for reference
        rollouts: `hamrf.rollout(data.system(), data, dt, steps)`. Raises
        hamrf.DataError when the data set records no potential (e.g. imported)."""
        return ParticleSystem(self)

    def states(self):
        """The snapshots as flat states (S, 2·N·D): q then p, each (particle,
        coordinate) row-major, the layout rollouts use (hamrf/pfield.h)."""
        S, N, D = self.shape
        x = np.empty((S, 2 * N * D))
        lib.hrf_pdata_states(self._handle(), 0, S, _lib.ptr(x))
        return x


class ParticleSystem:
    """A particle system rebuilt from a data set (ParticleData.system()): the
    exact vector field of `hamrf rollout --truth`."""

    def __init__(self, data):
        h = ctypes.c_void_p()
        check(lib.hrf_psystem_from_pdata(data._handle(), ctypes.byref(h)))
        self._h, self.data = h, data

    @property
    def name(self):
        return lib.hrf_psystem_name(self._h).decode()

    def __repr__(self):
        S, N, D = self.data.shape
        return "ParticleSystem(%r, N=%d, D=%d)" % (self.name, N, D)

    def __del__(self):
        if getattr(self, "_h", None):
            lib.hrf_psystem_free(self._h)
            self._h = None


def particle_states(x, N, D):
    """Splits flat particle states x (..., 2·N·D) (a rollout's x) into positions
    and momenta, each (..., N, D)."""
    X = np.asarray(x)
    if X.shape[-1] != 2 * N * D:
        raise ValueError("particle_states: the last axis has %d values, expected 2·N·D = %d"
                         % (X.shape[-1], 2 * N * D))
    lead = X.shape[:-1]
    return X[..., :N * D].reshape(lead + (N, D)), X[..., N * D:].reshape(lead + (N, D))


def load_particles(path):
    """A particle data set written by `hamrf generate --system springs|benchmark_ring|lj`."""
    h = ctypes.POINTER(_lib.Pdata)()
    check(lib.hrf_pdata_load(str(path).encode(), ctypes.byref(h)))
    return ParticleData(_handle=h)


class HGN(_lib.FittedModel):
    """The sampled Hamiltonian graph network (pair or mp mode), for any number
    of particles: `.fit(data)` with a ParticleData, then `.H`, `.forces`,
    `.vector_field` at states of any size and `.errors(data)`."""

    def __init__(self, mode="pair", edge_width=200, kinetic_width=50, node_width=100,
                 sampler="aswim", solver="auto", seed=1, kinetic_linear=True, optimizer=None,
                 lr=None, steps=1000, batch=None, weight_decay=None, shuffle=False,
                 time_limit=0.0, progress=None):
        # progress: None; True (a progress line on stderr when it is a terminal); or a
        # callable(stage, fraction) the sampled fit calls as it goes
        self.progress = progress
        self.mode, self.edge_width, self.kinetic_width = mode, edge_width, kinetic_width
        self.node_width, self.sampler, self.solver, self.seed = node_width, sampler, solver, seed
        self.kinetic_linear = kinetic_linear
        # optimizer=NAME: every parameter trained by gradient descent (batch = snapshots)
        self.optimizer, self.lr, self.steps, self.batch = optimizer, lr, steps, batch
        self.weight_decay, self.shuffle, self.time_limit = weight_decay, shuffle, time_limit
        self.report_ = None

    def get_params(self):
        return {k: getattr(self, k) for k in ("mode", "edge_width", "kinetic_width",
                                               "node_width", "sampler", "solver", "seed",
                                               "kinetic_linear", "progress")}

    def _params(self):
        p = _lib.HgnParams()
        lib.hrf_hgn_params_default(ctypes.byref(p))
        mode = ctypes.c_int()
        check(lib.hrf_hgn_mode_find(str(self.mode).encode(), ctypes.byref(mode)))
        p.mode = mode.value
        p.edge_width, p.kinetic_width = int(self.edge_width), int(self.kinetic_width)
        p.node_width = int(self.node_width)
        sampler = ctypes.c_void_p()
        check(lib.hrf_sampler_find(str(self.sampler).encode(), ctypes.byref(sampler)))
        p.sampler = sampler
        solver = ctypes.c_int()
        check(lib.hrf_solver_find(str(self.solver).encode(), ctypes.byref(solver)))
        p.lstsq.solver = solver.value
        p.seed, p.kinetic_linear = int(self.seed), 1 if self.kinetic_linear else 0
        msg = lib.hrf_hgn_params_check(ctypes.byref(p))
        if msg:
            raise InvalidArgument(msg.decode())
        return p

    def fit(self, data, p=None, dqdt=None, dpdt=None, mass=None, bonds=None, box=0.0,
            cutoff=0.0, H=None):
        """Samples the encoders and solves the read-out; returns self. `data` is a
        ParticleData, or the positions q (S, N, D) followed by p, dqdt, dpdt and the
        graph: bonds (E, 2), or a periodic box side and cutoff (as ParticleData)."""
        if not isinstance(data, ParticleData):
            if p is None or dqdt is None or dpdt is None:
                raise TypeError("HGN.fit takes a ParticleData, or q, p, dqdt, dpdt with "
                                "bonds= or box= and cutoff=")
            data = ParticleData(data, p, dqdt, dpdt, mass=mass, bonds=bonds, box=box,
                                cutoff=cutoff, H=H)
        if self.optimizer is not None:
            return self._fit_gradient(data)
        p = self._params()
        from . import _Progress
        rep = _lib.HgnFitReport()
        m = ctypes.c_void_p()
        with _Progress(self.progress, p), _one_blas_thread():
            check(lib.hrf_hgn_fit(ctypes.byref(p), data._handle(), ctypes.byref(m),
                                  ctypes.byref(rep)))
        return self._adopt(m, {"fit_seconds": rep.fit_seconds, "solve_seconds": rep.solve_seconds,
                               "edges": rep.edges, "passes": rep.passes})

    def _fit_gradient(self, data):
        p = _lib.gd_params(self.optimizer, self.lr, self.weight_decay, self.steps, self.batch,
                           self.shuffle, self.time_limit, self.seed, 1)
        a = _lib.GdHgnArch()
        lib.hrf_gd_hgn_arch_default(ctypes.byref(a))
        mode = ctypes.c_int()
        check(lib.hrf_hgn_mode_find(str(self.mode).encode(), ctypes.byref(mode)))
        a.mode, a.edge_width, a.kinetic_width = mode.value, int(self.edge_width), int(
            self.kinetic_width)
        a.node_width, a.kinetic_linear = int(self.node_width), 1 if self.kinetic_linear else 0
        msg = lib.hrf_gd_hgn_arch_check(ctypes.byref(a))
        if msg:
            raise InvalidArgument(msg.decode())
        rep = _lib.GdReport()
        m = ctypes.c_void_p()
        check(lib.hrf_gd_train_hgn(ctypes.byref(p), ctypes.byref(a), data._handle(),
                                   ctypes.byref(m), ctypes.byref(rep)))
        return self._adopt(m, _lib.gd_report(rep))

    def _free_model(self, m):
        lib.hrf_hgn_free(m)

    def _eval(self, q, p, mass, bonds, box, cutoff):
        Q = _states(q, "q")
        P = _states(p, "p", Q.shape)
        S, N, D = Q.shape
        M = None if mass is None else _lib.as_vector(mass, "mass", N)
        B = _bonds(bonds)
        if (B is None) == (not box):
            raise ValueError("give either bonds= or box= and cutoff=")
        g = _lib.HgnGraph(B.ctypes.data_as(_lib.c_uint32_p) if B is not None else None,
                          0 if B is None else B.shape[0], float(box), float(cutoff))
        H, DQ, DP = np.empty(S), np.empty_like(Q), np.empty_like(Q)
        h = ctypes.c_double()
        for s in range(S):
            check(lib.hrf_hgn_eval(self._handle(), N, D, _lib.ptr(Q[s]), _lib.ptr(P[s]),
                                   _lib.ptr(M), ctypes.byref(g), ctypes.byref(h),
                                   _lib.ptr(DQ[s]), _lib.ptr(DP[s])))
            H[s] = h.value
        return H, DQ, DP

    def H(self, q, p, mass=None, bonds=None, box=0.0, cutoff=0.0):
        """Ĥ at states q, p ((S, N, D) or (N, D)): (S,)."""
        return self._eval(q, p, mass, bonds, box, cutoff)[0]

    def forces(self, q, p, mass=None, bonds=None, box=0.0, cutoff=0.0):
        """dp/dt = −∂Ĥ/∂q at the states: the shape of q."""
        return self._eval(q, p, mass, bonds, box, cutoff)[2]

    def vector_field(self, q, p, mass=None, bonds=None, box=0.0, cutoff=0.0):
        """(dq/dt, dp/dt) = (∂Ĥ/∂p, −∂Ĥ/∂q) at the states."""
        return self._eval(q, p, mass, bonds, box, cutoff)[1:]

    def errors(self, data):
        """What `hamrf eval` reports on a particle data set."""
        e = _lib.HgnErrors()
        check(lib.hrf_hgn_errors_on(self._handle(), data._handle(), ctypes.byref(e)))
        return {"rel_l2_H": e.rel_l2_H if e.has_H else None, "rel_l2_grad": e.rel_l2_grad,
                "mse_dxdt": e.mse_dxdt, "n_snapshots": e.snapshots, "n_particles": e.particles,
                "dim": e.dim}

    def save(self, path, meta=None):
        extra = None if meta is None else json.dumps(meta).encode()
        check(lib.hrf_hgn_save(self._handle(), str(path).encode(), extra))

