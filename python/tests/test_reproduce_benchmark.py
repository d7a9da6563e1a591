"""`hamrf reproduce benchmark` (the NeurIPS 2022 5-spring protocol of
Thangamuthu et al.) on a tiny configuration: the table's structure, its
files (--out CSV, JSON and the curves), the time averages against the
curves, and the benchmark's error formulas (docs/math.md §7) recomputed in
NumPy against the library's hrf_bench_rollout_errors (through ctypes). The
quick run takes minutes and is not part of the tests (docs/benchmarks.md)."""

import csv
import ctypes
import json
import math
import os
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
HAMRF = os.environ.get("HAMRF_BIN") or (
    str(REPO / "build" / "hamrf") if (REPO / "build" / "hamrf").is_file() else None)
pytestmark = pytest.mark.skipif(HAMRF is None, reason="HAMRF_BIN unset and build/hamrf absent")
ENV = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
METHODS = {"pair", "mp", "adam_pair"}
ROLL_METRICS = ["zerr", "herr", "perr"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    r = subprocess.run([HAMRF, "reproduce", "benchmark", "--scale-down", "10", "--adam-seconds",
                        "1", "--json", "--out", str(out)], capture_output=True, text=True,
                       env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), out


def test_table_structure(tiny):
    res, _ = tiny
    assert res["paper"] == "benchmark" and res["mode"] == "quick"
    rows = res["rows"]
    assert {r["experiment"] for r in rows} == {"per_state", "per_trajectory", "zero_shot"}
    for exp in ("per_state", "per_trajectory"):
        by = {(r["method"], r["metric"]): r for r in rows if r["experiment"] == exp}
        assert {m for m, _ in by} == METHODS
        for m in METHODS:
            for metric in ["train_seconds", "mse_dxdt"] + ROLL_METRICS:
                assert (m, metric) in by, (exp, m, metric)
            t = by[(m, "train_seconds")]
            assert t["value"] == t["seconds"] > 0
            # The only published numbers: RF-HGN's 2-5 s for the sampled fit.
            assert t["paper"] == (5.0 if m != "adam_pair" else None)
            assert "failed (counted" in by[(m, "zerr")]["note"]
        adam = by[("adam_pair", "train_seconds")]["seconds"]
        for m in ("pair", "mp"):
            for metric in ["train_seconds", "mse_dxdt"] + ROLL_METRICS:
                r = by[(m, metric)]
                assert r["adam_seconds"] == adam
                assert r["speedup_vs_adam"] == pytest.approx(adam / r["seconds"], rel=1e-12)
    # Zero-shot: rings of 50, 500, 5000 divided by the scale-down (10).
    zs = {r["config"].split(",")[0] for r in rows if r["experiment"] == "zero_shot"}
    assert zs == {"ring 5", "ring 50", "ring 500"}


def test_time_averages_match_the_curves_and_files(tiny):
    res, out = tiny
    curves = {(c["experiment"], c["config"], c["method"], c["metric"]): c
              for c in res["curves"]}
    n_roll = 0
    for r in res["rows"]:
        if r["metric"] not in ROLL_METRICS:
            continue
        n_roll += 1
        c = curves[(r["experiment"], r["config"], r["method"], r["metric"])]
        v = np.array(c["value"], dtype=float)
        t = np.array(c["t"])
        assert t[0] == 0 and np.allclose(np.diff(t), 0.1)
        # t = 0 is the shared start (error 0, so the gmean is the 1e-30 offset);
        # the time average runs over the saved steps after it.
        if r["metric"] != "perr":
            assert v[0] == pytest.approx(1e-30, rel=1e-9)
        assert r["value"] == pytest.approx(v[1:].mean(), rel=1e-12)
    assert n_roll == len(curves)
    # --out: rows and curves as CSV, the paper object as JSON.
    assert json.loads((out / "benchmark.json").read_text())["rows"] == res["rows"]
    with open(out / "benchmark.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(res["rows"])
    with open(out / "benchmark_curves.csv", newline="") as f:
        pts = list(csv.DictReader(f))
    assert len(pts) == sum(len(c["t"]) for c in res["curves"])
    for p in pts[:50]:
        c = curves[(p["experiment"], p["config"], p["method"], p["metric"])]
        j = int(round(float(p["t"]) / 0.1))
        assert float(p["value"]) == pytest.approx(c["value"][j], rel=1e-14)


def test_sampled_beats_adam_on_rollouts(tiny):
    """Not a target here (Adam had 1 s): a sanity check that the rows are
    not swapped. The sampled fit reaches ~1e-10 on this noise-free data."""
    res, _ = tiny
    by = {(r["experiment"], r["method"], r["metric"]): r["value"] for r in res["rows"]}
    for exp in ("per_state", "per_trajectory"):
        for m in ("pair", "mp"):
            assert by[(exp, m, "zerr")] < by[(exp, "adam_pair", "zerr")]


class BenchErrors(ctypes.Structure):
    _fields_ = [("zerr", ctypes.c_double), ("herr", ctypes.c_double),
                ("perr", ctypes.c_double), ("failed", ctypes.c_size_t)]


def numpy_bench_errors(xp, xt, Hp, Ht, N, D):
    """Thangamuthu et al.'s formulas (docs/math.md §7), with their 1e-30."""
    q = N * D
    rel = lambda a, b: np.linalg.norm(a - b, axis=-1) / (
        np.linalg.norm(a, axis=-1) + np.linalg.norm(b, axis=-1))
    z = rel(xt[..., :q], xp[..., :q])
    h = np.abs(Ht - Hp) / (np.abs(Ht) + np.abs(Hp))
    mom = lambda x: (x[..., q:].reshape(*x.shape[:-1], N, D).sum(axis=-2) ** 2).sum(-1)
    pe = np.abs(mom(xt) - mom(xp))
    fail = ~np.isfinite(xp).all(axis=-1) | ~np.isfinite(Hp)
    z[fail], h[fail], pe[fail] = 1.0, 1.0, np.inf
    g = lambda e: np.exp(np.log(e + 1e-30).mean(axis=1))
    return g(z), g(h), g(pe), int(fail.any(axis=0).sum())


def test_metric_formulas_against_numpy():
    lib_path = pathlib.Path(HAMRF).parent / "libhamrf.so"
    if not lib_path.is_file():
        pytest.skip("no libhamrf.so beside the tool")
    lib = ctypes.CDLL(str(lib_path))
    f = lib.hrf_bench_rollout_errors
    dp = ctypes.POINTER(ctypes.c_double)
    f.argtypes = [ctypes.c_size_t] * 4 + [dp] * 7 + [ctypes.POINTER(BenchErrors)]
    f.restype = None
    rng = np.random.default_rng(3)
    nt, n, N, D = 7, 5, 4, 2
    dim = 2 * N * D
    xt = rng.normal(size=(nt, n, dim))
    xp = xt + 1e-3 * rng.normal(size=xt.shape) * np.arange(nt)[:, None, None]
    Ht, Hp = rng.normal(size=(nt, n)), None
    Hp = Ht + 1e-4 * rng.normal(size=(nt, n))
    xp[4:, 2, 3] = np.nan  # trajectory 2 fails at t = 4: counted, not dropped
    Hp[4:, 2] = np.nan
    c = lambda a: np.ascontiguousarray(a, dtype=float).ctypes.data_as(dp)
    zt, ht, pt = (np.empty(nt) for _ in range(3))
    out = BenchErrors()
    f(nt, n, N, D, c(xp), c(xt), c(Hp), c(Ht), c(zt), c(ht), c(pt), ctypes.byref(out))
    z, h, pe, failed = numpy_bench_errors(xp, xt, Hp, Ht, N, D)
    np.testing.assert_allclose(zt, z, rtol=1e-12)
    np.testing.assert_allclose(ht, h, rtol=1e-12)
    assert np.isinf(pt[4:]).all() and np.isinf(pe[4:]).all()
    np.testing.assert_allclose(pt[:4], pe[:4], rtol=1e-10)
    assert out.failed == failed == 1
    assert out.zerr == pytest.approx(z[1:].mean(), rel=1e-12)
    assert out.herr == pytest.approx(h[1:].mean(), rel=1e-12)
    assert math.isinf(out.perr)
