"""Rollouts and metrics from Python: `hamrf.rollout` integrates a model or a
built-in system with any of the library's integrators (docs/math.md §8);
`hamrf.metrics` computes the errors `hamrf eval` and `hamrf rollout` report
(docs/math.md §7)."""
import ctypes

import numpy as np

from . import _lib
from ._lib import InvalidArgument, check, lib


def _particle_start(x0, params):
    """The ParticleData a graph-network rollout starts from: x0 itself, or one
    built from x0 = (q, p) ((N, D) or (S, N, D)) and mass=, bonds= or box=,
    cutoff= in params."""
    from .graph import ParticleData
    if isinstance(x0, ParticleData):
        if params:
            raise TypeError("rollout from a ParticleData takes no system keywords (got %s)"
                            % ", ".join(sorted(params)))
        return x0
    if not (isinstance(x0, (tuple, list)) and len(x0) == 2):
        raise TypeError("a particle rollout starts from a ParticleData, or from x0 = (q, p) "
                        "with mass=, and bonds= or box= and cutoff=")
    unknown = set(params) - {"mass", "bonds", "box", "cutoff"}
    if unknown:
        raise TypeError("unknown keywords for a particle rollout: %s" % ", ".join(sorted(unknown)))
    q = np.asarray(x0[0], dtype=np.float64)
    zero = np.zeros(q.shape)
    return ParticleData(q, x0[1], zero, zero, **params)


def _particle_field(model_or_system, x0, tabulate, params):
    """The field of a graph network or a particle system from its start: (field,
    the starting ParticleData, what must stay alive)."""
    from .graph import HGN, ParticleSystem
    data = _particle_start(x0, params)
    f = _lib.Field()
    if isinstance(model_or_system, ParticleSystem):
        if tabulate:
            raise InvalidArgument("tabulate: only for a graph network")
        lib.hrf_psystem_field(model_or_system._h, ctypes.byref(f))
        return f, data, (model_or_system,)
    ctx = _lib.HgnFieldCtx()
    lib.hrf_hgn_field_ctx_of(ctypes.byref(ctx), model_or_system._handle(), data._handle())
    table = ctypes.c_void_p()
    if tabulate:
        X0 = data.states()
        check(lib.hrf_hgn_field_table(ctypes.byref(ctx), X0.shape[0], _lib.ptr(X0),
                                      int(tabulate), ctypes.byref(table)))
        ctx.table = table
    lib.hrf_hgn_field(ctypes.byref(ctx), ctypes.byref(f))
    # the context's Verlet lists and the table are freed once the rollout is done
    keep = (model_or_system, data, _Owned(ctx, lambda c: lib.hrf_hgn_field_ctx_release(
        ctypes.byref(c))), _Owned(table, lib.hrf_hgn_table_free))
    return f, data, keep


class _Owned:
    """Frees a library object when the rollout is done with it."""

    def __init__(self, h, free):
        self.h, self.free = h, free

    def __del__(self):
        if self.h:  # a NULL c_void_p is false; a Structure is true
            self.free(self.h)
            self.h = None


def _field(model_or_system, params):
    """The library's vector field of an HNN, an ODE-net or a built-in system
    (a name with its parameters), and what must stay alive while it is used."""
    from . import HNN, ODENet
    from .systems import _system
    f = _lib.Field()
    if isinstance(model_or_system, HNN):
        lib.hrf_hnn_field(model_or_system._handle(), ctypes.byref(f))
        return f, model_or_system
    if isinstance(model_or_system, ODENet):
        lib.hrf_odenet_field(model_or_system._handle(), ctypes.byref(f))
        return f, model_or_system
    if isinstance(model_or_system, str):
        s = _system(model_or_system, params)
        lib.hrf_field_from_system(ctypes.byref(f), ctypes.byref(s))
        return f, s
    raise TypeError("rollout takes an HNN, an ODENet, an HGN, a ParticleSystem "
                    "(ParticleData.system()) or the name of a built-in system")


def rollout(model_or_system, x0, dt, steps, integrator=None, every=1, tabulate=0,
            fixed_point=False, **params):
    """Integrates from the states x0 ((n, 2d) or (2d,)) for `steps` steps of
    `dt`, saving every `every` steps; `integrator`: symplectic_euler,
    symplectic_euler_p, leapfrog, yoshida4, midpoint, rk4, rk45 (default:
    leapfrog for a separable field, else implicit midpoint). Returns (t, x, H):
    t (J,), x (J, n, 2d), H (J, n) the field's energy (None for an ODE-net).
    A rollout that becomes non-finite raises hamrf.NumericError.

    Graph networks (HGN) and particle systems (ParticleData.system()): x0 is a
    ParticleData (every snapshot a start; its graph and masses define the
    system), or (q, p) with mass=, and bonds= or box= and cutoff=; x is then
    (J, S, 2·N·D), q then p (hamrf.graph.particle_states splits it) and H is
    Ĥ (or the true H). tabulate=K: the HGN's pair forces from a K-interval table
    of its V(r) (pair mode; `hamrf rollout --tabulate`).
    fixed_point=True: implicit schemes iterate without the Jacobian."""
    from .graph import HGN, ParticleSystem
    if tabulate and not (isinstance(tabulate, (int, np.integer)) and 16 <= tabulate <= 10**8):
        raise InvalidArgument("tabulate: 16 .. 1e8 intervals (as `hamrf rollout --tabulate`), "
                              "got %r" % (tabulate,))
    if isinstance(model_or_system, (HGN, ParticleSystem)):
        field, data, keep = _particle_field(model_or_system, x0, tabulate, params)
        X0 = data.states()
    else:
        if tabulate:
            raise InvalidArgument("tabulate: only for a graph network")
        field, keep = _field(model_or_system, params)
        X0 = _lib.as_matrix(x0, "x0", field.dim)
    p = _lib.RolloutParams()
    lib.hrf_rollout_params_default(ctypes.byref(p))
    if integrator is not None:
        t = ctypes.c_void_p()
        check(lib.hrf_integrator_find(str(integrator).encode(), ctypes.byref(t)))
        p.integrator = t
    p.dt, p.steps, p.every = float(dt), int(steps), int(every)
    if fixed_point:
        p.ip.fixed_point = 1
    msg = lib.hrf_rollout_params_check(ctypes.byref(p))
    if msg:
        raise InvalidArgument(msg.decode())
    tr = ctypes.POINTER(_lib.TrajectoryHead)()
    rc = lib.hrf_rollout_run(ctypes.byref(field), ctypes.byref(p), X0.shape[0], _lib.ptr(X0),
                             ctypes.byref(tr))
    try:
        check(rc)
        h = tr.contents
        J, n, d = h.valid, h.n, h.dim
        t = np.ctypeslib.as_array(h.t, shape=(J,)).copy()
        x = np.ctypeslib.as_array(h.x, shape=(J, n, d)).copy()
        H = np.ctypeslib.as_array(h.H, shape=(J, n)).copy() if h.H else None
    finally:
        lib.hrf_trajectory_free(tr)
    del keep
    return t, x, H


def _two_flat(a, b, what):
    A = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    B = np.ascontiguousarray(b, dtype=np.float64).reshape(-1)
    if A.size != B.size:
        raise ValueError("%s: arrays of %d and %d values" % (what, A.size, B.size))
    return A, B


class metrics:
    """The library's error measures (docs/math.md §7)."""

    @staticmethod
    def rel_l2(a, b):
        """‖a − b‖₂ / ‖b‖₂ over all entries (scaled, overflow-free sums)."""
        A, B = _two_flat(a, b, "rel_l2")
        return lib.hrf_rel_l2(A.size, _lib.ptr(A), _lib.ptr(B))

    @staticmethod
    def mse(a, b):
        """The mean of (a − b)² over all entries."""
        A, B = _two_flat(a, b, "mse")
        return lib.hrf_mse(A.size, _lib.ptr(A), _lib.ptr(B))

    @staticmethod
    def rollout_errors(x_pred, x_true, H_pred=None, H_true=None):
        """The NeurIPS 2022 rollout errors of trajectories x (J, n, 2d) (docs/math.md §7):
        {"zerr_gmean", "herr_gmean" (None without energies), "final_state_error",
        "zerr_t", "herr_t"}: RelErr = ‖a − b‖/(‖a‖ + ‖b‖) of positions (Zerr) and of the
        true energies along both (Herr), the geometric mean over trajectories per time
        (the *_t arrays, (J,)) and its time average over t ≥ 1."""
        P = np.ascontiguousarray(x_pred, dtype=np.float64)
        T = np.ascontiguousarray(x_true, dtype=np.float64)
        if P.ndim != 3 or P.shape != T.shape:
            raise ValueError("rollout_errors: x_pred and x_true must both be (times, "
                             "trajectories, 2d), got %s and %s" % (P.shape, T.shape))
        J, n, d = P.shape
        if (H_pred is None) != (H_true is None):
            raise ValueError("rollout_errors: give both H_pred and H_true, or neither")
        Hp = None if H_pred is None else _lib.as_vector(H_pred, "H_pred", J * n)
        Ht = None if H_true is None else _lib.as_vector(H_true, "H_true", J * n)
        zt, ht = np.empty(J), np.empty(J)
        e = _lib.RolloutErrors()
        lib.hrf_rollout_errors_compute(J, n, d, _lib.ptr(P), _lib.ptr(T), _lib.ptr(Hp),
                                       _lib.ptr(Ht), _lib.ptr(zt), _lib.ptr(ht),
                                       ctypes.byref(e))
        return {"zerr_gmean": e.zerr_gmean,
                "herr_gmean": None if Hp is None else e.herr_gmean,
                "final_state_error": e.final_state_error, "zerr_t": zt,
                "herr_t": None if Hp is None else ht}

    @staticmethod
    def energy_drift(H):
        """max over times and trajectories of |H(t) − H(0)| / |H(0)| for H (J, n)."""
        Hm = np.ascontiguousarray(H, dtype=np.float64)
        if Hm.ndim != 2:
            raise ValueError("energy_drift: expected H of shape (times, trajectories)")
        return lib.hrf_energy_drift(Hm.shape[0], Hm.shape[1], _lib.ptr(Hm))
