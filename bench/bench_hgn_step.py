#!/usr/bin/python3
"""Honesty check of the gradient-trained graph network: one Adam step of
hamrf's C code against one Adam step of the same network in PyTorch, on the
same data, float64, the same number of threads.

Network (docs/math.md §10, every parameter trainable), per snapshot of N
particles with bonds (i, j):
  H = sum_bonds [theta_E . tanh(w_E r_ij + b_E)]
      (mp: + sum_i theta_N . tanh(W_N a_i + b_N), a_i = sum_{j in N(i)} tanh(w_E r_ij + b_E))
      + sum_i [theta_K . tanh(W_K [|p_i|^2, 1/m_i] + b_K)] + theta_T sum_i |p_i|^2 / (2 m_i)
loss = mean over snapshots, particles and the 2D coordinates of
  (dH/dp - dq/dt)^2 and (-dH/dq - dp/dt)^2.
(Constants do not enter the loss.)

* hamrf: `hamrf train --model hgn --optimizer adam --steps N --batch B --json`,
  time per step = train_seconds / steps (the training loop only).
* PyTorch (Debian's python3-torch, CPU, torch.set_num_threads(T), float64): the
  network as nn.Parameters, dH/dq and dH/dp by autograd with create_graph=True
  (how Hamiltonian graph networks are trained in PyTorch), loss.backward(),
  torch.optim.Adam.step(); time per step = median over N timed steps after
  warm-up, on a fixed batch of B snapshots (no data loading counted).

Prints one JSON object and a verdict: PASS when ours / PyTorch <= 1.0.
PyTorch is a benchmark-only dependency (`make bench` installs it).

Usage: bench_hgn_step.py --hamrf build/hamrf [--mode pair|mp] [--shape 4x4x4]
                         [--snapshots 100] [--batch 10] [--steps 20] [--threads 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def load(path):
    z = np.load(path)
    return {k: z[k] for k in z.files if k != "meta"}, json.loads(z["meta"])


def torch_step_seconds(d, mode, edge_width, kinetic_width, node_width, batch, steps, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    f64 = torch.float64
    q = torch.tensor(d["q"][:batch], dtype=f64)
    p = torch.tensor(d["p"][:batch], dtype=f64)
    dq = torch.tensor(d["dqdt"][:batch], dtype=f64)
    dp = torch.tensor(d["dpdt"][:batch], dtype=f64)
    m = torch.tensor(d["mass"], dtype=f64)
    bonds = torch.tensor(d["bonds"].astype(np.int64))
    i, j = bonds[:, 0], bonds[:, 1]
    N = q.shape[1]

    def lin(n_in, n_out):
        return torch.nn.Linear(n_in, n_out).to(f64)

    edge = lin(1, edge_width)
    theta_E = torch.nn.Parameter(torch.zeros(edge_width, dtype=f64).uniform_(-0.1, 0.1))
    kin = lin(2, kinetic_width)
    theta_K = torch.nn.Parameter(torch.zeros(kinetic_width, dtype=f64).uniform_(-0.1, 0.1))
    theta_T = torch.nn.Parameter(torch.tensor(1.0, dtype=f64))
    params = list(edge.parameters()) + [theta_E] + list(kin.parameters()) + [theta_K, theta_T]
    if mode == "mp":
        node = lin(edge_width, node_width)
        theta_N = torch.nn.Parameter(torch.zeros(node_width, dtype=f64).uniform_(-0.1, 0.1))
        params += list(node.parameters()) + [theta_N]
    opt = torch.optim.Adam(params, lr=1e-3)
    inv_m = (1.0 / m).expand(q.shape[0], N).unsqueeze(-1)

    def step():
        qq = q.clone().requires_grad_(True)
        pp = p.clone().requires_grad_(True)
        r = torch.linalg.vector_norm(qq[:, i] - qq[:, j], dim=-1, keepdim=True)  # (B, E, 1)
        e = torch.tanh(edge(r))  # (B, E, M_E)
        H = (e @ theta_E).sum(dim=1)
        if mode == "mp":
            a = torch.zeros(q.shape[0], N, edge_width, dtype=f64)
            a = a.index_add(1, i, e).index_add(1, j, e)
            H = H + (torch.tanh(node(a)) @ theta_N).sum(dim=1)
        p2 = (pp * pp).sum(dim=-1, keepdim=True)  # (B, N, 1)
        k = torch.tanh(kin(torch.cat([p2, inv_m], dim=-1)))
        H = H + (k @ theta_K).sum(dim=1) + theta_T * (p2 * inv_m).sum(dim=(1, 2)) / 2
        gq, gp = torch.autograd.grad(H.sum(), (qq, pp), create_graph=True)
        loss = (((gp - dq) ** 2).sum() + ((-gq - dp) ** 2).sum()) / (2 * dq.numel())
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):  # warm-up
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hamrf", default="build/hamrf")
    ap.add_argument("--mode", default="pair", choices=["pair", "mp"])
    ap.add_argument("--shape", default="4x4x4")
    ap.add_argument("--snapshots", type=int, default=100)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--edge-width", type=int, default=200)
    ap.add_argument("--kinetic-width", type=int, default=50)
    ap.add_argument("--node-width", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "lat.npz")
        subprocess.run([a.hamrf, "generate", "--system", "springs", "--topology", "lattice",
                        "--shape", a.shape, "--potential", "anharmonic", "--snapshots",
                        str(a.snapshots), "-o", data, "--quiet"], check=True)
        cmd = [a.hamrf, "train", "--model", "hgn", "--data", data, "--mode", a.mode,
               "--edge-width", str(a.edge_width), "--kinetic-width", str(a.kinetic_width),
               "--optimizer", "adam", "--steps", str(a.steps), "--batch", str(a.batch),
               "--threads", str(a.threads), "-o", os.path.join(tmp, "m.npz"), "--json",
               "--quiet"]
        if a.mode == "mp":
            cmd[cmd.index("--optimizer"):cmd.index("--optimizer")] = ["--node-width",
                                                                      str(a.node_width)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(json.dumps({"error": "hamrf: " + r.stderr.strip()}))
            return 2
        ours = json.loads(r.stdout)
        ours_step = ours["train_seconds"] / ours["steps"]
        d, meta = load(data)
        try:
            import torch  # noqa: F401
        except ImportError:
            print(json.dumps({"hamrf_step_seconds": ours_step, "torch": None,
                              "verdict": "SKIP (no python3-torch; make bench installs it)"}))
            return 0
        theirs = torch_step_seconds(d, a.mode, a.edge_width, a.kinetic_width, a.node_width,
                                    a.batch, a.steps, a.threads)
    ratio = ours_step / theirs
    out = {"mode": a.mode, "shape": a.shape, "particles": int(d["q"].shape[1]),
           "batch_snapshots": a.batch, "edge_width": a.edge_width,
           "kinetic_width": a.kinetic_width, "threads": a.threads,
           "hamrf_step_seconds": ours_step, "torch_step_seconds": theirs,
           "ratio_ours_over_torch": ratio, "verdict": "PASS" if ratio <= 1.0 else "FAIL"}
    print(json.dumps(out))
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
