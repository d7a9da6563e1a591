"""`hamrf generate --pairs`, `hamrf train --correct` and `hamrf rollout`
checked against NumPy alone.

Trajectories are recomputed here with independent NumPy integrators (RK4 and a
fixed-point symplectic Euler written from docs/math.md §8) on the model evaluated by
the NumPy reader of docs/formats.md; the true flow is a NumPy RK4 with a tiny
step; the rollout metrics are recomputed from the arrays in the file with the
formulas of docs/math.md §7. Bad input: separable-only integrators on a learned
model, wrong x0 length, non-positive dt, absurd sizes, a rollout that
overflows (it must stop, say where, and keep what it computed), an implicit
solve that cannot converge.
"""

import io
import json
import math
import os
import pathlib
import subprocess
import zipfile

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
HAMRF = os.environ.get("HAMRF_BIN") or (
    str(REPO / "build" / "hamrf") if (REPO / "build" / "hamrf").is_file() else None)
pytestmark = pytest.mark.skipif(HAMRF is None, reason="HAMRF_BIN unset and build/hamrf absent")
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

# Tolerances, each with its reason.
# The same explicit scheme on the same float64 model, evaluated by BLAS in C
# and by NumPy here: per-step rounding ~1e-16 relative, amplified over at most
# 40 steps of a Lipschitz-1 field.
TOL_SAME_SCHEME = 1e-11
# Implicit symplectic Euler: both solve to ~1e-14 (C: |dq| <= 1e-14 (1+|x|);
# NumPy: 60 fixed-point iterations with contraction h |H_pq| < 0.1).
TOL_IMPLICIT = 1e-11
# The true flow: hamrf's rk45 at rtol 1e-12 (pairs 1e-13) against NumPy RK4 with
# h = 1e-3: RK4's global error ~h^4 = 1e-12 times modest constants.
TOL_FLOW = 1e-9
# Metrics recomputed from the saved arrays: same formulas, different
# summation order.
TOL_METRIC = 1e-10


def hamrf(*args, check=True):
    r = subprocess.run([HAMRF, *map(str, args)], capture_output=True, text=True, env=ENV,
                       timeout=300)
    if check and r.returncode != 0:
        raise AssertionError("hamrf %s failed with %d:\n%s" % (" ".join(map(str, args)),
                                                             r.returncode, r.stderr))
    return r


def hamrf_json(*args):
    return json.loads(hamrf(*args, "--json").stdout)


def load_hnn(path):
    """docs/formats.md's reader, with the correction of docs/math.md §6.2."""
    z = np.load(path)
    meta = json.loads(z["meta"])
    W, b, c, c0 = z["W"], z["b"], z["c"], float(z["c0"])
    h = meta.get("correction_h", 0.0)
    d = W.shape[1] // 2

    def H0(x):
        return np.tanh(x @ W.T + b) @ c + c0

    def grad0(x):
        return ((1.0 - np.tanh(x @ W.T + b) ** 2) * c) @ W

    def H(x):
        g = grad0(x)
        return H0(x) + 0.5 * h * np.sum(g[:, :d] * g[:, d:], axis=1)

    return H, grad0, h


def pendulum_H(x):
    return x[:, 1] ** 2 / 2 + (1 - np.cos(x[:, 0]))


def pendulum_field(x):
    return np.stack([x[:, 1], -np.sin(x[:, 0])], axis=1)


def rk4(f, x, h, n):
    for _ in range(n):
        k1 = f(x)
        k2 = f(x + h / 2 * k1)
        k3 = f(x + h / 2 * k2)
        k4 = f(x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def J(grad):
    d = grad.shape[1] // 2
    return np.concatenate([grad[:, d:], -grad[:, :d]], axis=1)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("rollout")


@pytest.fixture(scope="module")
def pend_model(work):
    data = work / "pend.npz"
    hamrf("generate", "--system", "pendulum", "--q-range=-3.2,3.2", "--p-range=-2,2",
          "--n", 2000, "-o", data)
    model = work / "pend_hnn.npz"
    hamrf("train", "--data", data, "--width", 100, "--sampler", "elm", "-o", model)
    return model


def test_pairs_are_the_true_flow(work):
    out = work / "pairs.npz"
    info = hamrf_json("generate", "--system", "pendulum", "--n", 20, "--pairs", "--h", 0.3,
                      "-o", out)
    assert info["h"] == 0.3
    z = np.load(out)
    meta = json.loads(z["meta"])
    assert meta["pairs"] is True and meta["h"] == 0.3
    x, x1 = z["x"], z["x1"]
    ref = rk4(pendulum_field, x, 1e-3, 300)
    assert np.max(np.abs(x1 - ref)) < TOL_FLOW


def test_rollout_rk4_matches_numpy(work, pend_model):
    H, grad, _ = load_hnn(pend_model)
    x0 = np.array([[0.5, 0.0], [1.0, -0.3], [-2.0, 0.7]])
    traj = work / "rk4.npz"
    info = hamrf_json("rollout", "--model", pend_model, "--x0=" + ",".join(map(repr, x0.ravel())),
                      "--dt", 0.05, "--steps", 40, "--every", 10, "--integrator", "rk4",
                      "-o", traj)
    assert info["complete"] and info["steps_done"] == 40 and info["n_states"] == 3
    z = np.load(traj)
    meta = json.loads(z["meta"])
    assert meta["kind"] == "trajectory" and meta["integrator"] == "rk4"
    assert z["x"].shape == (5, 3, 2) and z["H"].shape == (5, 3)
    assert np.allclose(z["t"], [0, 0.5, 1.0, 1.5, 2.0], rtol=0, atol=1e-15)
    x = x0.copy()
    for j in range(5):
        assert np.max(np.abs(z["x"][j] - x)) < TOL_SAME_SCHEME
        assert np.max(np.abs(z["H"][j] - H(z["x"][j]))) < TOL_SAME_SCHEME
        x = rk4(lambda y: J(grad(y)), x, 0.05, 10)


def test_rollout_implicit_symplectic_euler_matches_numpy(work, pend_model):
    _, grad, _ = load_hnn(pend_model)
    x0 = np.array([[1.0, 0.2]])
    traj = work / "se.npz"
    hamrf("rollout", "--model", pend_model, "--x0=1.0,0.2", "--dt", 0.1, "--steps", 20,
          "--integrator", "symplectic_euler", "-o", traj, "--quiet")
    z = np.load(traj)
    x = x0.copy()
    for j in range(21):
        assert np.max(np.abs(z["x"][j] - x)) < TOL_IMPLICIT
        q0, p0 = x[:, :1], x[:, 1:]
        q1 = q0.copy()
        for _ in range(60):            # q1 = q0 + h dH/dp(q1, p0)
            q1 = q0 + 0.1 * grad(np.hstack([q1, p0]))[:, 1:]
        p1 = p0 - 0.1 * grad(np.hstack([q1, p0]))[:, :1]
        x = np.hstack([q1, p1])


def test_truth_and_metrics(work, pend_model):
    traj = work / "truth.npz"
    info = hamrf_json("rollout", "--model", pend_model, "--x0=0.5,0,1.5,0.5", "--dt", 0.01,
                      "--steps", 300, "--every", 30, "--truth", "-o", traj)
    z = np.load(traj)
    xt, xp = z["x_true"], z["x"]
    # The truth is the true flow.
    ref = rk4(pendulum_field, xt[0], 1e-3, 3000)
    assert np.max(np.abs(xt[-1] - ref)) < TOL_FLOW
    assert np.allclose(z["H_true"], pendulum_H(xt.reshape(-1, 2)).reshape(xt.shape[:2]),
                       rtol=0, atol=1e-14)
    assert np.allclose(z["H_sys"], pendulum_H(xp.reshape(-1, 2)).reshape(xp.shape[:2]),
                       rtol=0, atol=1e-14)
    # docs/math.md §7, recomputed.
    def relerr(a, b, axis):
        return np.linalg.norm(a - b, axis=axis) / (np.linalg.norm(a, axis=axis)
                                                   + np.linalg.norm(b, axis=axis))
    zerr = relerr(xt[:, :, :1], xp[:, :, :1], 2)                 # (T, K), positions only
    herr = np.abs(z["H_true"] - z["H_sys"]) / (np.abs(z["H_true"]) + np.abs(z["H_sys"]))
    g = lambda e: np.exp(np.mean(np.log(np.maximum(e, 1e-300)), axis=1))
    assert abs(info["zerr_gmean"] - g(zerr)[1:].mean()) <= TOL_METRIC * info["zerr_gmean"]
    assert abs(info["herr_gmean"] - g(herr)[1:].mean()) <= TOL_METRIC * info["herr_gmean"]
    fse = np.linalg.norm(xp[-1] - xt[-1]) / np.linalg.norm(xt[-1])
    assert abs(info["final_state_error"] - fse) <= TOL_METRIC * fse
    Hm = z["H"]
    drift = np.max(np.abs(Hm - Hm[0]) / np.abs(Hm[0]))
    assert abs(info["energy_drift"] - drift) <= TOL_METRIC * drift
    assert info["energy_drift_of"] == "model"
    # A width-100 ELM model (gradient error ~1e-3) stays close over t = 3; a
    # wrong sign or a broken integrator gives errors of order 1.
    assert info["zerr_gmean"] < 1e-2


def test_correct_matches_numpy_and_halves_the_error(work):
    pairs = work / "pairs_corr.npz"
    test = work / "pend_box_test.npz"
    hamrf("generate", "--system", "pendulum", "--q-range=-3.14159,3.14159", "--p-range=-1,1",
          "--n", 1500, "--pairs", "--h", 0.2, "-o", pairs)
    hamrf("generate", "--system", "pendulum", "--q-range=-3.14159,3.14159", "--p-range=-1,1",
          "--n", 2000, "--seed", 5, "-o", test)
    plain, corr = work / "plain.npz", work / "corr.npz"
    hamrf("train", "--data", pairs, "--width", 150, "-o", plain)
    info = hamrf_json("train", "--data", pairs, "--width", 150, "--correct", "-o", corr)
    assert info["pairs"] and info["corrected"] and info["h"] == 0.2
    d = np.load(test)
    errs = []
    for m in (plain, corr):
        H, _, h = load_hnn(m)
        e_np = np.linalg.norm(H(d["x"]) - d["H"]) / np.linalg.norm(d["H"])
        e = hamrf_json("eval", "--model", m, "--data", test)["rel_l2_H"]
        assert abs(e - e_np) <= 1e-8 * e_np
        errs.append(e)
    assert load_hnn(corr)[2] == 0.2
    # Uncorrected O(h) ≈ 3e-2, corrected O(h²) ≈ 2e-3 at h = 0.2 (tests/test_correction.c).
    assert errs[1] < 0.2 * errs[0]
    # The anchor: H~(0) = H(0) = 0, to the rounding of sum_k c_k tanh(b_k),
    # whose terms cancel massively (|c_k| reaches 1e3 and more).
    zc = np.load(corr)
    scale = np.sum(np.abs(zc["c"] * np.tanh(zc["b"]))) + abs(float(zc["c0"]))
    assert abs(load_hnn(corr)[0](np.zeros((1, 2)))[0]) <= 100 * np.finfo(float).eps * scale


def save_npz(path, arrays, meta):
    with zipfile.ZipFile(path, "w") as zf:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.require(a, dtype="<f8", requirements="C"))
            zf.writestr(name + ".npy", buf.getvalue())
        zf.writestr("meta", json.dumps(meta))


def test_overflow_stops_and_keeps_the_computed_part(work):
    # An ODE-net whose field is the constant (1e306, 0): q passes DBL_MAX
    # (1.8e308) after 179 steps of dt = 1.
    model = work / "blowup.npz"
    save_npz(model, {"W": np.zeros((1, 2)), "b": np.zeros(1), "C": np.zeros((1, 2)),
                     "C0": np.array([1e306, 0.0])},
             {"format": "hamrf", "kind": "model", "version": 1, "model": "odenet",
              "activation": "tanh", "width": 1, "dim": 2})
    traj = work / "blowup_traj.npz"
    r = hamrf("rollout", "--model", model, "--x0=0,0", "--dt", 1, "--steps", 400, "--every", 50,
              "--integrator", "rk4", "-o", traj, check=False)
    assert r.returncode == 1
    assert "non-finite" in r.stderr and "179" in r.stderr, r.stderr
    z = np.load(traj)
    meta = json.loads(z["meta"])
    assert meta["complete"] is False and meta["steps_done"] == 179
    assert z["x"].shape[0] == 4                 # t = 0, 50, 100, 150
    assert np.all(np.isfinite(z["x"]))
    assert z["x"][-1, 0, 0] == pytest.approx(150e306, rel=1e-12)


def test_bad_rollout_input(work, pend_model):
    base = ["rollout", "--model", pend_model, "-o", work / "bad.npz"]
    # A learned model is not separable: leapfrog/yoshida4 are refused.
    for integ in ("leapfrog", "yoshida4"):
        r = hamrf(*base, "--x0=1,0", "--dt", 0.1, "--steps", 5, "--integrator", integ, check=False)
        assert r.returncode == 2 and "separable" in r.stderr
    r = hamrf(*base, "--x0=1,0,3", "--dt", 0.1, "--steps", 5, check=False)
    assert r.returncode == 2 and "multiple of 2" in r.stderr
    for dt in ("0", "-0.1", "nan", "inf"):
        r = hamrf(*base, "--x0=1,0", "--dt", dt, "--steps", 5, check=False)
        assert r.returncode == 2 and "dt" in r.stderr
    r = hamrf(*base, "--x0=1,0", "--dt", 0.1, "--steps", 0, check=False)
    assert r.returncode == 2
    r = hamrf(*base, "--x0=1,0", "--dt", 0.1, "--steps", 10, "--integrator", "nope", check=False)
    assert r.returncode == 2 and "midpoint" in r.stderr
    # Output that cannot fit: refused before allocating.
    r = hamrf(*base, "--x0=1,0", "--dt", 1e-9, "--steps", 10**15, check=False)
    assert r.returncode == 1 and "GiB" in r.stderr and "--every" in r.stderr
    assert not (work / "bad.npz").exists()
    # An implicit solve allowed one iteration cannot converge.
    r = hamrf(*base, "--x0=1,0", "--dt", 0.5, "--steps", 5, "--integrator", "midpoint",
              "--solve-max", 1, check=False)
    assert r.returncode == 1 and "step 1" in r.stderr, r.stderr
    r = hamrf(*base, "--dt", 0.1, "--steps", 5, check=False)
    assert r.returncode == 2 and "--x0" in r.stderr
    r = hamrf(*base, "--x0=1,0", "--dt", 0.1, "--steps", 5, "--truth", "--bogus", check=False)
    assert r.returncode == 2


def test_every_model_kind_and_integrator(work, pend_model):
    """hamrf rollout runs every integrator that applies on every model kind:
    a 20-step rollout from (1, 0) completes and stays within a model-error
    distance of the true pendulum (rtol-level agreement is checked above)."""
    data = work / "pend_k.npz"
    hamrf("generate", "--system", "pendulum", "--q-range=-3.2,3.2", "--p-range=-2,2",
          "--n", 2000, "-o", data)
    ode = work / "pend_ode.npz"
    hamrf("train", "--model", "odenet", "--data", data, "--width", 100, "--sampler", "elm",
          "-o", ode)
    pairs = work / "pend_pairs_k.npz"
    hamrf("generate", "--system", "pendulum", "--q-range=-3.2,3.2", "--p-range=-2,2",
          "--n", 2000, "--pairs", "--h", 0.05, "-o", pairs)
    corr = work / "pend_corr_k.npz"
    hamrf("train", "--data", pairs, "--width", 100, "--correct", "-o", corr)
    for model in (pend_model, ode, corr):
        for integ in ("symplectic_euler", "symplectic_euler_p", "midpoint", "rk4", "rk45"):
            info = hamrf_json("rollout", "--model", model, "--x0=1,0", "--dt", 0.05,
                              "--steps", 20, "--integrator", integ, "--truth",
                              "-o", work / "k.npz")
            assert info["complete"] and info["integrator"] == integ, (model, integ)
            # Model error (~1e-3) plus the first-order schemes' O(h) = 5e-2 error.
            assert info["final_state_error"] < 0.1, (model, integ, info)
