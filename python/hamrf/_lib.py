"""The shared library libhamrf.so through ctypes: finding it, the status codes
as Python exceptions, and ctypes mirrors of the public structs the package
uses (checked against the library's own sizes at import, hamrf/abi.h).

ctypes releases the GIL around every foreign call (CDLL), so long fits and
evaluations let other Python threads run.
"""
import ctypes
import ctypes.util
import os

import numpy as np

c_double_p = ctypes.POINTER(ctypes.c_double)
c_size_t = ctypes.c_size_t


def _candidates():
    env = os.environ.get("HAMRF_LIB")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    # the build tree: python/hamrf/ beside build/ (make), then an install prefix
    for rel in ("../../build/libhamrf.so", "../../../../lib/libhamrf.so",
                "../../../../lib/x86_64-linux-gnu/libhamrf.so"):
        yield os.path.normpath(os.path.join(here, rel))
    found = ctypes.util.find_library("hamrf")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if path and (os.path.exists(path) or not os.path.isabs(path)):
            try:
                return ctypes.CDLL(path), path
            except OSError as e:
                tried.append("%s (%s)" % (path, e))
        else:
            tried.append("%s (missing)" % path)
    raise ImportError("hamrf: libhamrf.so not found; build it with `make` or set HAMRF_LIB "
                      "to its path. Tried: " + "; ".join(tried))


lib, lib_path = _load()


# ---- errors ----------------------------------------------------------------

class Error(Exception):
    """A failure reported by libhamrf; `status` is the library's code."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class InvalidArgument(Error, ValueError):
    """HRF_EINVAL: an argument the library refuses."""


class DataError(Error, ValueError):
    """HRF_EDATA: invalid data (NaN or Inf, wrong shape, empty)."""


class FormatError(Error, ValueError):
    """HRF_EFORMAT: a file that is not in the expected format."""


class NumericError(Error, ArithmeticError):
    """HRF_ENUMERIC: a numerical failure."""


class TooBig(Error, MemoryError):
    """HRF_ETOOBIG: refused before allocating (the message has the estimate)."""


class OutOfMemory(Error, MemoryError):
    """HRF_ENOMEM."""


class NotFound(Error, LookupError):
    """HRF_ENOTFOUND: an unknown name (system, sampler, solver ...)."""


class IOFailure(Error, OSError):
    """HRF_EIO: a file that cannot be read or written."""


_CLASSES = {-1: InvalidArgument, -2: OutOfMemory, -3: IOFailure, -4: FormatError,
            -5: DataError, -6: NumericError, -7: TooBig, -8: NotFound}

lib.hrf_last_error.restype = ctypes.c_char_p
lib.hrf_strerror.restype = ctypes.c_char_p
lib.hrf_strerror.argtypes = [ctypes.c_int]
lib.hrf_version.restype = ctypes.c_char_p
lib.hrf_abi_sizeof.restype = c_size_t
lib.hrf_abi_sizeof.argtypes = [ctypes.c_char_p]
lib.hrf_free.argtypes = [ctypes.c_void_p]


def check(rc):
    """Raises the exception of a non-zero status with the library's message."""
    if rc == 0:
        return
    msg = lib.hrf_last_error().decode("utf-8", "replace") or lib.hrf_strerror(rc).decode()
    raise _CLASSES.get(rc, Error)(msg, rc)


def take_text(ptr):
    """A library-allocated C string as str, released with hrf_free."""
    if not ptr:
        return None
    try:
        return ctypes.cast(ptr, ctypes.c_char_p).value.decode("utf-8")
    finally:
        lib.hrf_free(ptr)


class LibraryData:
    """A data set the library holds (`_h`, released by `_free`): access after
    close() raises Error; close() is idempotent; arrays are read as copies."""
    _free = None

    def _handle(self):
        if not getattr(self, "_h", None):
            raise Error("the data set has been closed")
        return self._h

    def close(self):
        """Releases the library's copy (idempotent)."""
        if getattr(self, "_h", None):
            type(self)._free(self._h)
            self._h = None

    def __del__(self):
        self.close()

    def _array(self, field, shape):
        p = getattr(self._handle().contents, field)
        return None if not p else np.ctypeslib.as_array(p, shape=shape).copy()

    @property
    def meta(self):
        """The data set's metadata (a dict; {} when it has none)."""
        import json
        text = take_text(lib.hrf_meta_json(self._handle().contents.meta))
        return json.loads(text) if text else {}


class FittedModel:
    """A model held by the library: its own handle `_m`, or one owned by an
    hrf_model (`_owner`, models from hamrf.load). Use after close() raises Error;
    close() is idempotent."""
    _m = None
    _owner = None

    def _free_model(self, m):
        raise NotImplementedError

    def _handle(self):
        if not self._m:
            raise Error("the model is not fitted (or has been closed)")
        return self._m

    def _adopt(self, m, report):
        self.close()
        self._m, self.report_ = m, report
        return self

    def close(self):
        """Releases the model (idempotent; later calls raise hamrf.Error)."""
        if self._owner:
            lib.hrf_model_free(self._owner)
        elif self._m:
            self._free_model(self._m)
        self._m = self._owner = None

    def __del__(self):
        self.close()


# ---- arrays ----------------------------------------------------------------

def as_matrix(a, name, cols=None):
    """A C-contiguous float64 2-D array (a view when `a` already is one,
    else a converted copy); ValueError naming `name` for a wrong shape."""
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.ndim == 1 and cols is not None and arr.size == cols:
        arr = arr.reshape(1, cols)
    if arr.ndim != 2:
        raise ValueError("%s: expected a 2-D array (points, dimension), got shape %s"
                         % (name, arr.shape))
    if cols is not None and arr.shape[1] != cols:
        raise ValueError("%s: expected %d columns (the model's dimension), got %d"
                         % (name, cols, arr.shape[1]))
    return arr


def as_vector(a, name, n):
    arr = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    if arr.size != n:
        raise ValueError("%s: expected %d values, got %d" % (name, n, arr.size))
    return arr


def ptr(arr):
    return arr.ctypes.data_as(c_double_p) if arr is not None else None


# ---- struct mirrors (checked against hrf_abi_sizeof below) -----------------

class LstsqParams(ctypes.Structure):
    _fields_ = [("solver", ctypes.c_int), ("rcond", ctypes.c_double),
                ("ridge", ctypes.c_double), ("gram_refine_max", ctypes.c_int),
                ("refine_max", ctypes.c_int), ("refine_tol", ctypes.c_double),
                ("refine_stall", ctypes.c_double), ("auto_dense_max", c_size_t),
                ("stream_refine_max", ctypes.c_int), ("auto_refine_max", ctypes.c_int),
                ("auto_direct_flops", ctypes.c_double), ("auto_probe", ctypes.c_int),
                ("use_reduce", ctypes.c_int), ("equilibrate", ctypes.c_int),
                ("skip_residual", ctypes.c_int), ("mem_limit", c_size_t)]


class LstsqReport(ctypes.Structure):
    _fields_ = [("used", ctypes.c_int), ("reason", ctypes.c_char * 256),
                ("rank", ctypes.c_int), ("ridge_used", ctypes.c_double),
                ("gram_iterations", ctypes.c_int), ("iterations", ctypes.c_int),
                ("converged", ctypes.c_int), ("rel_residual", ctypes.c_double),
                ("seconds", ctypes.c_double), ("flops", ctypes.c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_double)


class HnnParams(ctypes.Structure):
    _fields_ = [("width", c_size_t), ("sampler", ctypes.c_void_p), ("act", ctypes.c_void_p),
                ("elm_lo", ctypes.c_double), ("elm_hi", ctypes.c_double),
                ("resample_duplicates", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("lstsq", LstsqParams), ("cache_bytes", c_size_t), ("block_rows", c_size_t),
                ("progress", PROGRESS_FN), ("progress_user", ctypes.c_void_p),
                ("comm", ctypes.c_void_p)]


class HnnFitReport(ctypes.Structure):
    _fields_ = [("fit_seconds", ctypes.c_double), ("sample_seconds", ctypes.c_double),
                ("solve_seconds", ctypes.c_double), ("solve_flops", ctypes.c_double),
                ("passes", ctypes.c_int), ("repeated_pairs", c_size_t),
                ("cached", ctypes.c_int), ("lstsq", LstsqReport)]


class HnnErrors(ctypes.Structure):
    _fields_ = [("n", c_size_t), ("dim", c_size_t), ("has_H", ctypes.c_int),
                ("rel_l2_H", ctypes.c_double), ("rel_l2_grad", ctypes.c_double),
                ("mse_dxdt", ctypes.c_double)]


class OdenetErrors(ctypes.Structure):
    _fields_ = [("n", c_size_t), ("dim", c_size_t), ("rel_l2_dxdt", ctypes.c_double),
                ("mse_dxdt", ctypes.c_double)]


class GenerateParams(ctypes.Structure):
    _fields_ = [("n", c_size_t), ("seed", ctypes.c_uint64), ("q_lo", ctypes.c_double),
                ("q_hi", ctypes.c_double), ("p_lo", ctypes.c_double),
                ("p_hi", ctypes.c_double), ("noise", ctypes.c_double)]


class Dataset(ctypes.Structure):
    _fields_ = [("n", c_size_t), ("dim", c_size_t), ("x", c_double_p), ("dxdt", c_double_p),
                ("H", c_double_p), ("x0", c_double_p), ("H0", ctypes.c_double),
                ("box_lo", c_double_p), ("box_hi", c_double_p), ("x1", c_double_p),
                ("h", ctypes.c_double), ("meta", ctypes.c_void_p)]


class HgnParams(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("edge_width", c_size_t), ("kinetic_width", c_size_t),
                ("node_width", c_size_t), ("sampler", ctypes.c_void_p), ("act", ctypes.c_void_p),
                ("resample_duplicates", ctypes.c_int), ("sample_points", c_size_t),
                ("potential", ctypes.c_void_p), ("joint", ctypes.c_int),
                ("kinetic_linear", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("lstsq", LstsqParams), ("progress", PROGRESS_FN),
                ("progress_user", ctypes.c_void_p), ("comm", ctypes.c_void_p)]


class HgnFitReport(ctypes.Structure):
    _fields_ = [("fit_seconds", ctypes.c_double), ("sample_seconds", ctypes.c_double),
                ("solve_seconds", ctypes.c_double), ("passes", ctypes.c_int),
                ("first_pass_snapshots", c_size_t), ("edges", c_size_t),
                ("repeated_pairs", c_size_t), ("lstsq_E", LstsqReport),
                ("lstsq_K", LstsqReport)]


class HgnErrors(ctypes.Structure):
    _fields_ = [("snapshots", c_size_t), ("particles", c_size_t), ("dim", ctypes.c_int),
                ("has_H", ctypes.c_int), ("rel_l2_H", ctypes.c_double),
                ("rel_l2_grad", ctypes.c_double), ("mse_dxdt", ctypes.c_double)]


c_uint32_p = ctypes.POINTER(ctypes.c_uint32)


class Pdata(ctypes.Structure):
    _fields_ = [("S", c_size_t), ("N", c_size_t), ("D", ctypes.c_int), ("q", c_double_p),
                ("p", c_double_p), ("dqdt", c_double_p), ("dpdt", c_double_p),
                ("H", c_double_p), ("mass", c_double_p), ("bonds", c_uint32_p),
                ("n_bonds", c_size_t), ("box", ctypes.c_double), ("cutoff", ctypes.c_double),
                ("meta", ctypes.c_void_p), ("trajectories", c_size_t), ("t", c_double_p)]


class HgnGraph(ctypes.Structure):
    _fields_ = [("pairs", c_uint32_p), ("n_pairs", c_size_t), ("box", ctypes.c_double),
                ("cutoff", ctypes.c_double)]


class HgnFieldCtx(ctypes.Structure):
    _fields_ = [("model", ctypes.c_void_p), ("graph", HgnGraph), ("N", c_size_t),
                ("D", ctypes.c_int), ("mass", c_double_p), ("table", ctypes.c_void_p),
                ("skin", ctypes.c_double), ("cache", ctypes.c_void_p)]


class Field(ctypes.Structure):
    _fields_ = [("dim", c_size_t), ("separable", ctypes.c_int), ("hamiltonian", ctypes.c_int),
                ("ctx", ctypes.c_void_p), ("rhs", ctypes.c_void_p), ("jac", ctypes.c_void_p),
                ("energy", ctypes.c_void_p), ("rhs_q", ctypes.c_void_p),
                ("rhs_p", ctypes.c_void_p)]


class IntegratorParams(ctypes.Structure):
    _fields_ = [("solve_tol", ctypes.c_double), ("solve_max", ctypes.c_int),
                ("fixed_point", ctypes.c_int), ("rtol", ctypes.c_double),
                ("atol", ctypes.c_double), ("max_substeps", c_size_t)]


class RolloutParams(ctypes.Structure):
    _fields_ = [("integrator", ctypes.c_void_p), ("ip", IntegratorParams),
                ("dt", ctypes.c_double), ("steps", c_size_t), ("every", c_size_t),
                ("mem_limit", c_size_t)]


class TrajectoryHead(ctypes.Structure):
    """The leading fields of hrf_trajectory (allocated by the library; only read)."""
    _fields_ = [("nt", c_size_t), ("valid", c_size_t), ("n", c_size_t), ("dim", c_size_t),
                ("t", c_double_p), ("x", c_double_p), ("H", c_double_p),
                ("steps_done", c_size_t), ("integrator", ctypes.c_void_p)]


class OptimParams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_double) for n in (
        "lr", "weight_decay", "momentum", "beta1", "beta2", "eps", "dampening", "lr_decay",
        "initial_accumulator", "beta2_decay", "eps2", "clip_d", "eta_minus", "eta_plus",
        "step_min", "step_max")] + [
        ("max_iter", ctypes.c_int), ("max_eval", ctypes.c_int), ("history", ctypes.c_int),
        ("tolerance_grad", ctypes.c_double), ("tolerance_change", ctypes.c_double),
        ("line_search", ctypes.c_int)]


class GdParams(ctypes.Structure):
    _fields_ = [("optimizer", ctypes.c_void_p), ("optim", OptimParams), ("steps", c_size_t),
                ("batch", c_size_t), ("shuffle", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("width", c_size_t), ("act", ctypes.c_void_p), ("init", ctypes.c_int),
                ("time_limit_seconds", ctypes.c_double), ("progress", ctypes.c_void_p),
                ("progress_user", ctypes.c_void_p)]


class GdReport(ctypes.Structure):
    _fields_ = [("train_seconds", ctypes.c_double), ("total_seconds", ctypes.c_double),
                ("steps", c_size_t), ("batch", c_size_t), ("evals", c_size_t),
                ("initial_loss", ctypes.c_double), ("final_loss", ctypes.c_double),
                ("full_loss", ctypes.c_double), ("stopped_early", ctypes.c_int)]


class GdHgnArch(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("edge_width", c_size_t), ("kinetic_width", c_size_t),
                ("node_width", c_size_t), ("kinetic_linear", ctypes.c_int)]


class OptimizerType(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("description", ctypes.c_char_p),
                ("full_batch", ctypes.c_int)]


class RolloutErrors(ctypes.Structure):
    _fields_ = [("zerr_gmean", ctypes.c_double), ("herr_gmean", ctypes.c_double),
                ("final_state_error", ctypes.c_double)]


MAX_PARAMS = 8


class SystemType(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("description", ctypes.c_char_p),
                ("dof", ctypes.c_int), ("separable", ctypes.c_int), ("nparams", ctypes.c_int),
                ("param_names", ctypes.c_char_p * MAX_PARAMS),
                ("param_defaults", ctypes.c_double * MAX_PARAMS),
                ("q_lo", ctypes.c_double), ("q_hi", ctypes.c_double),
                ("p_lo", ctypes.c_double), ("p_hi", ctypes.c_double),
                ("H", ctypes.c_void_p), ("grad", ctypes.c_void_p), ("check", ctypes.c_void_p)]


class System(ctypes.Structure):
    _fields_ = [("type", ctypes.POINTER(SystemType)),
                ("params", ctypes.c_double * MAX_PARAMS)]


for _name, _cls in (("hrf_lstsq_params", LstsqParams), ("hrf_lstsq_report", LstsqReport),
                    ("hrf_hnn_params", HnnParams), ("hrf_hnn_fit_report", HnnFitReport),
                    ("hrf_hnn_errors", HnnErrors), ("hrf_odenet_errors", OdenetErrors),
                    ("hrf_generate_params", GenerateParams), ("hrf_dataset", Dataset),
                    ("hrf_system_type", SystemType), ("hrf_system", System),
                    ("hrf_hgn_params", HgnParams), ("hrf_hgn_fit_report", HgnFitReport),
                    ("hrf_hgn_errors", HgnErrors), ("hrf_pdata", Pdata),
                    ("hrf_hgn_graph", HgnGraph), ("hrf_hgn_field_ctx", HgnFieldCtx),
                    ("hrf_field", Field),
                    ("hrf_integrator_params", IntegratorParams),
                    ("hrf_rollout_params", RolloutParams), ("hrf_optim_params", OptimParams),
                    ("hrf_gd_params", GdParams), ("hrf_gd_report", GdReport),
                    ("hrf_gd_hgn_arch", GdHgnArch), ("hrf_optimizer_type", OptimizerType),
                    ("hrf_rollout_errors", RolloutErrors)):
    _c = lib.hrf_abi_sizeof(_name.encode())
    if _c != ctypes.sizeof(_cls):
        raise ImportError("hamrf: %s is %d bytes in %s but %d in this package: the library "
                          "and the package are from different versions"
                          % (_name, _c, lib_path, ctypes.sizeof(_cls)))


# ---- prototypes --------------------------------------------------------------

def _proto(name, res, *args):
    f = getattr(lib, name)
    f.restype = res
    f.argtypes = list(args)


_vp, _cp, _i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
_proto("hrf_system_find", _i, _cp, ctypes.POINTER(ctypes.POINTER(SystemType)))
_proto("hrf_system_types", ctypes.POINTER(ctypes.POINTER(SystemType)))
_proto("hrf_system_init", None, ctypes.POINTER(System), ctypes.POINTER(SystemType))
_proto("hrf_system_set", _i, ctypes.POINTER(System), _cp, ctypes.c_double)
_proto("hrf_system_eval", None, ctypes.POINTER(System), c_size_t, c_double_p, c_double_p,
       c_double_p)
_proto("hrf_generate_params_default", None, ctypes.POINTER(GenerateParams))
_proto("hrf_generate_params_check", _cp, ctypes.POINTER(GenerateParams))
_proto("hrf_dataset_generate", _i, ctypes.POINTER(System), ctypes.POINTER(GenerateParams),
       ctypes.POINTER(ctypes.POINTER(Dataset)))
_proto("hrf_dataset_generate_pairs", _i, ctypes.POINTER(System), ctypes.POINTER(GenerateParams),
       ctypes.c_double, ctypes.c_double, ctypes.POINTER(ctypes.POINTER(Dataset)))
_proto("hrf_dataset_pairs_targets", _i, ctypes.POINTER(Dataset),
       ctypes.POINTER(ctypes.POINTER(Dataset)))
_proto("hrf_dataset_from_arrays", _i, c_size_t, c_size_t, c_double_p, c_double_p, c_double_p,
       c_double_p, ctypes.c_double, ctypes.POINTER(ctypes.POINTER(Dataset)))
_proto("hrf_dataset_load", _i, _cp, ctypes.POINTER(ctypes.POINTER(Dataset)))
_proto("hrf_dataset_save", _i, ctypes.POINTER(Dataset), _cp)
_proto("hrf_dataset_free", None, ctypes.POINTER(Dataset))
_proto("hrf_meta_json", _vp, _vp)
_proto("hrf_sampler_find", _i, _cp, ctypes.POINTER(_vp))
_proto("hrf_solver_find", _i, _cp, ctypes.POINTER(_i))
_proto("hrf_solver_name", _cp, _i)
_proto("hrf_hnn_params_default", None, ctypes.POINTER(HnnParams))
_proto("hrf_hnn_params_check", _cp, ctypes.POINTER(HnnParams))
_proto("hrf_hnn_fit", _i, ctypes.POINTER(HnnParams), ctypes.POINTER(Dataset),
       ctypes.POINTER(_vp), ctypes.POINTER(HnnFitReport))
_proto("hrf_odenet_fit", _i, ctypes.POINTER(HnnParams), ctypes.POINTER(Dataset),
       ctypes.POINTER(_vp), ctypes.POINTER(HnnFitReport))
_proto("hrf_hnn_eval", _i, _vp, c_size_t, c_double_p, c_double_p, c_double_p)
_proto("hrf_hnn_vector_field", _i, _vp, c_size_t, c_double_p, c_double_p)
_proto("hrf_hnn_errors_on", _i, _vp, ctypes.POINTER(Dataset), ctypes.POINTER(HnnErrors))
_proto("hrf_hnn_dim", c_size_t, _vp)
_proto("hrf_hnn_width", c_size_t, _vp)
_proto("hrf_hnn_save", _i, _vp, _cp, _cp)
_proto("hrf_hnn_free", None, _vp)
_proto("hrf_hnn_set_correction", _i, _vp, ctypes.c_double)
_proto("hrf_hnn_correction", ctypes.c_double, _vp)
_proto("hrf_hnn_pin", _i, _vp, c_double_p, ctypes.c_double)
_proto("hrf_odenet_eval", _i, _vp, c_size_t, c_double_p, c_double_p)
_proto("hrf_odenet_errors_on", _i, _vp, ctypes.POINTER(Dataset), ctypes.POINTER(OdenetErrors))
_proto("hrf_odenet_dim", c_size_t, _vp)
_proto("hrf_odenet_width", c_size_t, _vp)
_proto("hrf_odenet_save", _i, _vp, _cp, _cp)
_proto("hrf_odenet_free", None, _vp)
_proto("hrf_model_load", _i, _cp, ctypes.POINTER(_vp))
_proto("hrf_model_free", None, _vp)
_proto("hrf_model_kind", _cp, _vp)
_proto("hrf_model_meta_json", _cp, _vp)
_proto("hrf_model_hnn", _vp, _vp)
_proto("hrf_model_odenet", _vp, _vp)
_proto("hrf_model_save", _i, _vp, _cp, _cp)
_proto("hrf_model_dim", c_size_t, _vp)
_proto("hrf_model_hgn", _vp, _vp)
_proto("hrf_pdata_from_arrays", _i, c_size_t, c_size_t, _i, c_double_p, c_double_p, c_double_p,
       c_double_p, c_double_p, c_double_p, c_uint32_p, c_size_t, ctypes.c_double,
       ctypes.c_double, ctypes.POINTER(ctypes.POINTER(Pdata)))
_proto("hrf_pdata_load", _i, _cp, ctypes.POINTER(ctypes.POINTER(Pdata)))
_proto("hrf_pdata_save", _i, ctypes.POINTER(Pdata), _cp)
_proto("hrf_pdata_free", None, ctypes.POINTER(Pdata))
_proto("hrf_hgn_params_default", None, ctypes.POINTER(HgnParams))
_proto("hrf_hgn_params_check", _cp, ctypes.POINTER(HgnParams))
_proto("hrf_hgn_mode_find", _i, _cp, ctypes.POINTER(_i))
_proto("hrf_hgn_mode_name", _cp, _i)
_proto("hrf_hgn_fit", _i, ctypes.POINTER(HgnParams), ctypes.POINTER(Pdata), ctypes.POINTER(_vp),
       ctypes.POINTER(HgnFitReport))
_proto("hrf_hgn_eval", _i, _vp, c_size_t, _i, c_double_p, c_double_p, c_double_p,
       ctypes.POINTER(HgnGraph), c_double_p, c_double_p, c_double_p)
_proto("hrf_hgn_errors_on", _i, _vp, ctypes.POINTER(Pdata), ctypes.POINTER(HgnErrors))
_proto("hrf_hgn_save", _i, _vp, _cp, _cp)
_proto("hrf_hgn_free", None, _vp)
_proto("hrf_hgn_mode_of", _i, _vp)
_proto("hrf_hnn_field", None, _vp, ctypes.POINTER(Field))
_proto("hrf_odenet_field", None, _vp, ctypes.POINTER(Field))
_proto("hrf_field_from_system", None, ctypes.POINTER(Field), ctypes.POINTER(System))
_proto("hrf_hgn_field_ctx_of", None, ctypes.POINTER(HgnFieldCtx), _vp, ctypes.POINTER(Pdata))
_proto("hrf_hgn_field_table", _i, ctypes.POINTER(HgnFieldCtx), c_size_t, c_double_p, c_size_t,
       ctypes.POINTER(_vp))
_proto("hrf_hgn_table_free", None, _vp)
_proto("hrf_hgn_field", None, ctypes.POINTER(HgnFieldCtx), ctypes.POINTER(Field))
_proto("hrf_hgn_field_ctx_release", None, ctypes.POINTER(HgnFieldCtx))
_proto("hrf_psystem_from_pdata", _i, ctypes.POINTER(Pdata), ctypes.POINTER(_vp))
_proto("hrf_psystem_free", None, _vp)
_proto("hrf_psystem_name", _cp, _vp)
_proto("hrf_psystem_field", None, _vp, ctypes.POINTER(Field))
_proto("hrf_pdata_states", None, ctypes.POINTER(Pdata), c_size_t, c_size_t, c_double_p)
_proto("hrf_integrator_find", _i, _cp, ctypes.POINTER(_vp))
_proto("hrf_rollout_params_default", None, ctypes.POINTER(RolloutParams))
_proto("hrf_rollout_params_check", _cp, ctypes.POINTER(RolloutParams))
_proto("hrf_rollout_run", _i, ctypes.POINTER(Field), ctypes.POINTER(RolloutParams), c_size_t,
       c_double_p, ctypes.POINTER(ctypes.POINTER(TrajectoryHead)))
_proto("hrf_trajectory_free", None, ctypes.POINTER(TrajectoryHead))
_proto("hrf_rel_l2", ctypes.c_double, c_size_t, c_double_p, c_double_p)
_proto("hrf_mse", ctypes.c_double, c_size_t, c_double_p, c_double_p)
_proto("hrf_energy_drift", ctypes.c_double, c_size_t, c_size_t, c_double_p)
_proto("hrf_optimizer_find", _i, _cp, ctypes.POINTER(ctypes.POINTER(OptimizerType)))
_proto("hrf_optim_params_default", None, ctypes.POINTER(OptimizerType),
       ctypes.POINTER(OptimParams))
_proto("hrf_gd_params_default", None, ctypes.POINTER(GdParams))
_proto("hrf_gd_params_check", _cp, ctypes.POINTER(GdParams))
_proto("hrf_gd_train_hnn", _i, ctypes.POINTER(GdParams), ctypes.POINTER(Dataset),
       ctypes.POINTER(_vp), ctypes.POINTER(GdReport))
_proto("hrf_gd_train_odenet", _i, ctypes.POINTER(GdParams), ctypes.POINTER(Dataset),
       ctypes.POINTER(_vp), ctypes.POINTER(GdReport))
_proto("hrf_gd_hgn_arch_default", None, ctypes.POINTER(GdHgnArch))
_proto("hrf_gd_hgn_arch_check", _cp, ctypes.POINTER(GdHgnArch))
_proto("hrf_gd_train_hgn", _i, ctypes.POINTER(GdParams), ctypes.POINTER(GdHgnArch),
       ctypes.POINTER(Pdata), ctypes.POINTER(_vp), ctypes.POINTER(GdReport))


def gd_params(optimizer, lr, weight_decay, steps, batch, shuffle, time_limit, seed, width):
    """hrf_gd_params as `hamrf train --optimizer` fills them (PyTorch's defaults for the
    optimizer; batch 2048, or the full set for Rprop and L-BFGS, unless given)."""
    t = ctypes.POINTER(OptimizerType)()
    check(lib.hrf_optimizer_find(str(optimizer).encode(), ctypes.byref(t)))
    p = GdParams()
    lib.hrf_gd_params_default(ctypes.byref(p))
    p.optimizer = ctypes.cast(t, ctypes.c_void_p)
    lib.hrf_optim_params_default(t, ctypes.byref(p.optim))
    if lr is not None:
        p.optim.lr = float(lr)
    if weight_decay is not None:
        p.optim.weight_decay = float(weight_decay)
    p.steps = int(steps)
    p.batch = int(batch) if batch is not None else (0 if t.contents.full_batch else 2048)
    p.shuffle, p.time_limit_seconds = 1 if shuffle else 0, float(time_limit)
    p.seed, p.width = int(seed), int(width)
    msg = lib.hrf_gd_params_check(ctypes.byref(p))
    if msg:
        raise InvalidArgument(msg.decode())
    return p


def gd_report(r):
    return {"train_seconds": r.train_seconds, "steps": r.steps, "batch": r.batch,
            "initial_loss": r.initial_loss, "full_loss": r.full_loss,
            "stopped_early": bool(r.stopped_early)}
_proto("hrf_rollout_errors_compute", None, c_size_t, c_size_t, c_size_t, c_double_p, c_double_p,
       c_double_p, c_double_p, c_double_p, c_double_p, ctypes.POINTER(RolloutErrors))
