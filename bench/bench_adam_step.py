#!/usr/bin/python3
"""Honesty check of the gradient-descent baseline: one Adam step of hamrf's C
code against one Adam step of PyTorch on the same problem.

Problem: single pendulum, width-1000 shallow HNN
H(x) = sum_k c_k tanh(w_k . x + b_k), batch 2048, float64, loss = mean squared
error of grad H against J^-1 dx/dt, Adam with PyTorch's defaults, 2 threads.

* hamrf: `hamrf train --optimizer adam --width 1000 --batch 2048 --steps N
  --threads 2 --json`; time per step = train_seconds / steps (the loop only:
  batch selection, forward, analytic gradient, Adam update).
* PyTorch (Debian's python3-torch, CPU, torch.set_num_threads(2), float64):
  the same network as nn.Parameters; grad H by autograd with create_graph=True
  (how HNNs are trained in PyTorch, including the papers' code), loss.backward(),
  torch.optim.Adam.step(). Time per step = median over N timed steps after
  warm-up, on a fixed batch (no data loading counted).

Prints one JSON object and a verdict: PASS when ours / PyTorch <= 1.0.
PyTorch is a benchmark-only dependency: `make test` never needs it.

Usage: bench_adam_step.py --hamrf build/hamrf [--steps N] [--width M] [--batch B]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def torch_step_seconds(x, g, width, steps, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    dtype = torch.float64
    X = torch.tensor(x, dtype=dtype)
    G = torch.tensor(g, dtype=dtype)
    dim = X.shape[1]
    hidden = torch.nn.Linear(dim, width).to(dtype)
    out = torch.nn.Linear(width, 1).to(dtype)
    opt = torch.optim.Adam(list(hidden.parameters()) + list(out.parameters()))

    def step():
        Xr = X.clone().requires_grad_(True)
        H = out(torch.tanh(hidden(Xr))).sum()
        (gradH,) = torch.autograd.grad(H, Xr, create_graph=True)
        loss = torch.mean((gradH - G) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hamrf", default="build/hamrf")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    try:
        import numpy as np
        import torch  # noqa: F401
    except ImportError as e:
        print(f"bench_adam_step: SKIP: {e} (install Debian's python3-torch to run it)")
        return 0
    work = tempfile.mkdtemp(prefix="hamrf_adam_")
    data = os.path.join(work, "pend.npz")
    subprocess.run([a.hamrf, "generate", "--system", "pendulum", "--n", str(a.batch), "--seed", "1",
                    "-o", data, "--quiet"], check=True)
    z = np.load(data)
    x, dxdt = z["x"], z["dxdt"]
    g = np.concatenate([-dxdt[:, 1:], dxdt[:, :1]], axis=1)   # J^-1 dx/dt
    # Ours: the data set is exactly one batch, so every step uses all of it.
    r = subprocess.run([a.hamrf, "train", "--optimizer", "adam", "--data", data, "--width",
                        str(a.width), "--batch", str(a.batch), "--steps", str(a.steps + 5),
                        "--threads", str(a.threads), "-o", os.path.join(work, "m.npz"), "--json",
                        "--quiet"], capture_output=True, text=True, check=True)
    info = json.loads(r.stdout)
    ours = info["train_seconds"] / info["steps"]
    theirs, version = torch_step_seconds(x, g, a.width, a.steps, a.threads)
    ratio = ours / theirs
    res = {"width": a.width, "batch": a.batch, "threads": a.threads, "steps": a.steps,
           "hamrf_step_seconds": ours, "torch_step_seconds": theirs, "ratio": ratio,
           "torch_version": version, "verdict": "PASS" if ratio <= 1.0 else "FAIL"}
    print(json.dumps(res))
    print(f"one Adam step, width {a.width}, batch {a.batch}, {a.threads} threads, float64: "
          f"hamrf {ours * 1e3:.2f} ms, PyTorch {version} {theirs * 1e3:.2f} ms, "
          f"ratio {ratio:.2f} -> {res['verdict']}", file=sys.stderr)
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
