#!/usr/bin/python3
"""Independent NumPy reference for hamrf's training: the RF-HNN procedure (docs/math.md §2–4).

This file is the peer that bench_train.py times hamrf against, and a second opinion on
its accuracy. It is written from the papers' procedure alone, in the style of the papers' own
Python code (dense matrices, numpy.linalg.lstsq with rcond = 1e-13), and shares no code
or random numbers with hamrf: the same seed gives a different (equally valid) network.

    Ĥ(x) = Σ_{k=1..M} c_k tanh(w_k · x + b_k) + c_0            (docs/math.md §2)
    ∇Ĥ(x) = Σ_k c_k tanh'(z_k) w_k ,  z_k = w_k · x + b_k

Usage (Debian's python3 with numpy; nothing else):

    ref_numpy.py --train T.npz --test T2.npz --width M --sampler aswim --seed S [--json]

Data files are hamrf's .npz data sets: x (K, 2d), dxdt (K, 2d), H (K,), x0 (2d,),
H0 (), and a raw-JSON member `meta` with box_lo / box_hi (used for the ELM biases).
"""

import argparse
import json
import math
import resource
import sys
import time

import numpy as np

# SWIM constants for tanh (docs/math.md §3.2): the neuron reads -1/2 at x1, +1/2 at x2.
S2 = math.atanh(0.5)  # = ln(3)/2 ≈ 0.5493
S1 = 2.0 * S2  # = ln 3
# Candidate pair distances are clipped below at this value (docs/math.md §3.2).
DIST_FLOOR = 1e-10
# The papers' least-squares cutoff: numpy.linalg.lstsq(A, u, rcond=1e-13) (docs/math.md §4.4).
RCOND = 1e-13
SAMPLERS = ("elm", "uswim", "swim", "aswim")


# ----------------------------------------------------------------------------- data


def load_dataset(path):
    """Read one hamrf data set; returns a dict of float64 arrays plus `meta` (a dict)."""
    with np.load(path, allow_pickle=False) as f:
        data = {k: np.asarray(f[k], dtype=np.float64) for k in ("x", "dxdt", "H", "x0", "H0")}
        meta = {}
        if "meta" in f.files:
            raw = f["meta"]  # a non-.npy member: numpy hands back the raw bytes
            if isinstance(raw, np.ndarray):  # tolerate a meta stored as a .npy string
                raw = raw.tobytes() if raw.dtype.kind == "S" else str(raw.item())
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8")
            meta = json.loads(raw)
    data["x0"] = data["x0"].reshape(-1)  # (2d,)
    data["H0"] = float(data["H0"].reshape(()))  # ()
    data["H"] = data["H"].reshape(-1)  # (K,)
    data["meta"] = meta
    K, n = data["x"].shape
    if n % 2 or data["dxdt"].shape != (K, n) or data["H"].shape != (K,) or data["x0"].shape != (n,):
        raise ValueError(f"{path}: inconsistent shapes in data set")
    return data


def gradient_target(dxdt):
    """g = J^{-1} dx/dt = (-dp/dt, dq/dt) = ∇H (docs/math.md §1). dxdt: (K, 2d) -> (K, 2d)."""
    d = dxdt.shape[1] // 2
    return np.concatenate([-dxdt[:, d:], dxdt[:, :d]], axis=1)


def _flatten_numbers(v):
    if isinstance(v, (list, tuple)):
        out = []
        for e in v:
            out.extend(_flatten_numbers(e))
        return out
    return [float(v)]


def elm_bias_range(meta, x):
    """[b_lo, b_hi] = [smallest, largest] of all the domain's box bounds (docs/math.md §3.1, ELM).

    hamrf's data sets carry box_lo / box_hi (one bound per coordinate); q_range /
    p_range ([lo, hi] or one per degree of freedom) are also accepted. Every number in
    them is a box bound. Without any, fall back to the data's extent.
    """
    bounds = []
    for key in ("box_lo", "box_hi", "q_range", "p_range"):
        if key in meta and meta[key] is not None:
            bounds.extend(_flatten_numbers(meta[key]))
    if not bounds:
        print("ref_numpy: meta has no box bounds; ELM biases use the data's extent",
              file=sys.stderr)
        bounds = [float(x.min()), float(x.max())]
    return min(bounds), max(bounds)


# ------------------------------------------------------------------------- network


def hidden(x, W, b):
    """Pre-activations z = x Wᵀ + b. x: (N, 2d), W: (M, 2d), b: (M,) -> (N, M)."""
    z = x @ W.T
    z += b
    return z


def predict_H(x, W, b, c, c0):
    """Ĥ(x) = Σ_k c_k tanh(z_k) + c_0 (docs/math.md §2). -> (N,)"""
    return np.tanh(hidden(x, W, b)) @ c + c0


def predict_grad(x, W, b, c):
    """∇Ĥ(x) = Σ_k c_k tanh'(z_k) w_k, tanh' = 1 - tanh² (docs/math.md §2). -> (N, 2d)"""
    t = np.tanh(hidden(x, W, b))
    D = 1.0 - t * t  # (N, M) σ'(z)
    return (D * c) @ W


# ------------------------------------------------------------------------ samplers


def sample_elm(rng, M, n, b_lo, b_hi):
    """ELM: W_kj ~ N(0, 1) i.i.d., b_k ~ U[b_lo, b_hi] (docs/math.md §3.1). -> W (M, n), b (M,)"""
    W = rng.standard_normal((M, n))
    b = rng.uniform(b_lo, b_hi, size=M)
    return W, b


def candidate_pairs(rng, K, M):
    """The candidate pool of docs/math.md §3.3: P = K·max(1, ⌈M/K⌉) pairs (i, j),
    i ~ U{0..K-1}, j = (i + δ) mod K with δ ~ U{1..K-1} (never a point with itself)."""
    P = K * max(1, -(-M // K))
    i = rng.integers(0, K, size=P)
    delta = rng.integers(1, K, size=P)  # high is exclusive: δ in {1..K-1}
    j = (i + delta) % K
    return i, j


def swim_sample(rng, x, M, f=None, resample_duplicates=True):
    """SWIM weights from pairs (docs/math.md §3.2–3.5).

    f is None: U-SWIM (uniform over the pool). Otherwise f: (K,) function values and the
    pair density is p(i, j) ∝ |f(x_j) - f(x_i)| / ‖x_j - x_i‖ (SWIM; A-SWIM with f = Ĥ),
    falling back to uniform if all weights vanish. M pairs are drawn with replacement;
    duplicates are redrawn until the M chosen pool entries are distinct.
    Returns W (M, 2d), b (M,).
    """
    K = x.shape[0]
    if K < 2:
        raise ValueError("SWIM needs at least two training points")
    i, j = candidate_pairs(rng, K, M)
    dx = x[j] - x[i]  # (P, 2d)
    dist = np.maximum(np.linalg.norm(dx, axis=1), DIST_FLOOR)  # (P,) clipped distances

    prob = None
    if f is not None:
        dens = np.abs(f[j] - f[i]) / dist
        total = dens.sum()
        if np.isfinite(total) and total > 0.0:
            prob = dens / total
    P = dist.shape[0]

    sel = rng.choice(P, size=M, replace=True, p=prob)
    if resample_duplicates:
        available = P if prob is None else int(np.count_nonzero(prob))
        if available < M:
            raise ValueError(f"only {available} candidate pairs carry weight; "
                             f"cannot pick {M} distinct ones")
        sel = np.unique(sel)
        while sel.size < M:  # redraw the missing ones until M distinct pool entries
            extra = rng.choice(P, size=M - sel.size, replace=True, p=prob)
            sel = np.unique(np.concatenate([sel, extra]))
        rng.shuffle(sel)  # unique() sorts; the order of neurons is immaterial anyway

    x1 = x[i[sel]]  # (M, 2d) first point of each pair
    dsel = dx[sel]
    W = S1 * dsel / (dist[sel] ** 2)[:, None]  # w = s1 (x2 - x1) / ‖x2 - x1‖²
    b = -np.einsum("kj,kj->k", W, x1) - S2  # b = -w·x1 - s2
    return W, b


# ------------------------------------------------------------------- least squares


def assemble(x, g, x0, H0, W, b):
    """The (2dK + 1) x (M + 1) system A θ = u of docs/math.md §4.1.

    Gradient rows, for every point i and coordinate a:  Σ_k c_k σ'(z_ik) W_ka = g_ia,
    with zero in the c_0 column. Rows are stored coordinate-major (row a·K + i); the row
    order does not change the least-squares solution. Anchor row (last):
    [σ(W x0 + b), 1] θ = H0.
    """
    K, n = x.shape
    M = W.shape[0]
    t = np.tanh(hidden(x, W, b))
    D = np.subtract(1.0, np.square(t, out=t), out=t)  # (K, M) σ'(z_ik), in place
    A = np.empty((n * K + 1, M + 1))
    u = np.empty(n * K + 1)
    for a in range(n):
        np.multiply(D, W[:, a], out=A[a * K:(a + 1) * K, :M])  # σ'(z_ik) W_ka
        u[a * K:(a + 1) * K] = g[:, a]
    del D, t
    A[:n * K, M] = 0.0  # c_0 does not enter the gradient
    A[n * K, :M] = np.tanh(x0 @ W.T + b)  # anchor row
    A[n * K, M] = 1.0
    u[n * K] = H0
    return A, u


def solve(A, u, rcond):
    """numpy.linalg.lstsq (LAPACK dgelsd), exactly as the papers. -> θ, rank, seconds."""
    t0 = time.perf_counter()
    theta, _, rank, _ = np.linalg.lstsq(A, u, rcond=rcond)
    return theta, int(rank), time.perf_counter() - t0


def fit(data, M, sampler, seed, rcond=RCOND, bias_range=None):
    """Sample the hidden layer and solve for the outer one (docs/math.md §3–4).

    Returns (W, b, c, c0, info) with info = {"solve_seconds", "rank", "passes"}.
    """
    rng = np.random.default_rng(seed)  # one generator drives everything
    x, x0, H0 = data["x"], data["x0"], data["H0"]
    g = gradient_target(data["dxdt"])
    n = x.shape[1]
    solve_seconds = 0.0

    def sample_solve(W, b):
        nonlocal solve_seconds
        A, u = assemble(x, g, x0, H0, W, b)
        theta, rank, secs = solve(A, u, rcond)
        solve_seconds += secs
        return theta[:-1].copy(), float(theta[-1]), rank

    if sampler == "elm":
        lo, hi = bias_range if bias_range else elm_bias_range(data["meta"], x)
        W, b = sample_elm(rng, M, n, lo, hi)
        passes = 1
    elif sampler == "uswim":
        W, b = swim_sample(rng, x, M, f=None)
        passes = 1
    elif sampler == "swim":
        W, b = swim_sample(rng, x, M, f=data["H"])  # oracle: the true H at the points
        passes = 1
    elif sampler == "aswim":
        # (1) fit with U-SWIM; (2) evaluate Ĥ on the training inputs; (3) resample with
        # the SWIM density using Ĥ in place of H; (4) solve again (docs/math.md §3.6, A-SWIM).
        W, b = swim_sample(rng, x, M, f=None)
        c, c0, _ = sample_solve(W, b)
        H_hat = predict_H(x, W, b, c, c0)
        W, b = swim_sample(rng, x, M, f=H_hat)
        passes = 2
    else:
        raise ValueError(f"unknown sampler {sampler!r}")
    c, c0, rank = sample_solve(W, b)
    return W, b, c, c0, {"solve_seconds": solve_seconds, "rank": rank, "passes": passes}


# ------------------------------------------------------------------------- metrics


def evaluate(data, W, b, c, c0):
    """docs/math.md §7: relative L2 errors of H and of ∇H, MSE of dx/dt, on one data set."""
    x, H = data["x"], data["H"]
    H_hat = predict_H(x, W, b, c, c0)
    grad = predict_grad(x, W, b, c)
    g = gradient_target(data["dxdt"])
    d = x.shape[1] // 2
    dxdt_hat = np.concatenate([grad[:, d:], -grad[:, :d]], axis=1)  # J ∇Ĥ
    return {
        "rel_l2_H": float(np.linalg.norm(H_hat - H) / np.linalg.norm(H)),
        "rel_l2_grad": float(np.linalg.norm(grad - g) / np.linalg.norm(g)),
        "mse_dxdt": float(np.mean((dxdt_hat - data["dxdt"]) ** 2)),
        "n": int(x.shape[0]),
    }


def loaded_blas():
    """Which BLAS/LAPACK libraries this process mapped (Linux), for the record."""
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                name = path.rsplit("/", 1)[-1]
                if "blas" in name or "lapack" in name:
                    libs.add(path)
    except OSError:
        pass
    return sorted(libs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--train", required=True, help="training data set (.npz)")
    ap.add_argument("--test", required=True, help="test data set (.npz)")
    ap.add_argument("--width", type=int, default=1000, help="hidden width M")
    ap.add_argument("--sampler", choices=SAMPLERS, default="aswim")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rcond", type=float, default=RCOND, help="lstsq cutoff")
    ap.add_argument("--bias-range", default=None, metavar="LO,HI",
                    help="ELM bias interval (default: from the data set's box)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    bias_range = tuple(float(v) for v in args.bias_range.split(",")) if args.bias_range else None

    train = load_dataset(args.train)
    test = load_dataset(args.test)

    t0 = time.perf_counter()
    W, b, c, c0, info = fit(train, args.width, args.sampler, args.seed, args.rcond, bias_range)
    fit_seconds = time.perf_counter() - t0

    metrics = evaluate(test, W, b, c, c0)
    train_metrics = evaluate(train, W, b, c, c0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = {
        "impl": "ref_numpy",
        "sampler": args.sampler,
        "width": args.width,
        "seed": args.seed,
        "n_train": int(train["x"].shape[0]),
        "rows": int(train["x"].size + 1),
        "cols": args.width + 1,
        "solver": "numpy.linalg.lstsq",
        "rcond": args.rcond,
        "rank": info["rank"],
        "passes": info["passes"],
        "fit_seconds": fit_seconds,
        "solve_seconds": info["solve_seconds"],
        **metrics,
        "train_rel_l2_H": train_metrics["rel_l2_H"],
        "train_rel_l2_grad": train_metrics["rel_l2_grad"],
        "peak_rss_mib": peak_kib / 1024.0,
        "numpy": np.__version__,
        "blas": loaded_blas(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:18s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
