#!/usr/bin/python3
"""RF-HNN's energy demonstration: a sampled HNN conserves energy in a long
rollout, a sampled ODE-net (S-MLP) drifts.

Single pendulum, q in [-2pi, 2pi], p in [-6, 6], 10 000 training points, ELM
width 500 for both models; both are rolled out from (q, p) = (pi/2, 0) over
t in [0, 100] with h = 5e-4 (200 000 steps of symplectic Euler, implicit
because learned models are not separable). Energy is the true pendulum H
along each predicted trajectory (H_sys in the trajectory file).

Usage: energy_demo.py PATH/TO/hamrf [--out DIR] [--steps N]
Prints one table; exit status 1 if the HNN's drift is not bounded (< 1e-2,
and no larger in the last tenth of the run than in the first) or the
ODE-net's is not clearly larger at the end.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

DT = 5e-4


def run(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"energy_demo: command failed ({r.returncode}): {' '.join(map(str, cmd))}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hamrf")
    ap.add_argument("--out", default=None, help="folder for the files (default: a temporary one)")
    ap.add_argument("--steps", type=int, default=200000, help="steps of h = 5e-4 (default 200000)")
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="hamrf_energy_")
    os.makedirs(out, exist_ok=True)
    data = os.path.join(out, "pendulum_train.npz")
    run([a.hamrf, "generate", "--system", "pendulum", f"--q-range={-2 * math.pi},{2 * math.pi}",
         "--p-range=-6,6", "--n", 10000, "--seed", 1, "-o", data, "--quiet"])
    every = max(1, a.steps // 200)
    rows = {}
    for kind in ("hnn", "odenet"):
        model = os.path.join(out, f"pendulum_{kind}.npz")
        traj = os.path.join(out, f"pendulum_{kind}_rollout.npz")
        fit = json.loads(run([a.hamrf, "train", "--model", kind, "--data", data, "--sampler", "elm",
                              "--width", 500, "--seed", 1, "-o", model, "--json", "--quiet"]))
        ro = json.loads(run([a.hamrf, "rollout", "--model", model, f"--x0={math.pi / 2},0",
                             "--dt", DT, "--steps", a.steps, "--every", every,
                             "--integrator", "symplectic_euler", "--fixed-point", "--truth",
                             "-o", traj, "--json"]))
        z = np.load(traj)
        H = z["H_sys"][:, 0]
        rel = np.abs(H - H[0]) / abs(H[0])
        tenth = max(1, len(rel) // 10)
        rows[kind] = dict(fit=fit["fit_seconds"], roll=ro["seconds"], first=rel[:tenth + 1].max(),
                          last=rel[-tenth:].max(), drift=ro["energy_drift_true"],
                          zerr=ro["zerr_gmean"])
    T = a.steps * DT
    print(f"Energy demonstration (RF-HNN): pendulum from (pi/2, 0), t in [0, {T:g}], "
          f"h = {DT:g}, symplectic Euler, ELM width 500")
    head = (f"{'model':<8} {'fit s':>6} {'rollout s':>9} {'drift first 10%':>16} "
            f"{'drift last 10%':>15} {'max drift':>10} {'zerr_gmean':>11}")
    print(head)
    print("-" * len(head))
    for kind, r in rows.items():
        print(f"{kind:<8} {r['fit']:6.2f} {r['roll']:9.2f} {r['first']:16.2e} {r['last']:15.2e} "
              f"{r['drift']:10.2e} {r['zerr']:11.2e}")
    h, o = rows["hnn"], rows["odenet"]
    bounded = h["drift"] < 1e-2 and h["last"] <= 1.2 * h["first"]
    grows = o["last"] > 1.5 * o["first"] and o["last"] > 1.5 * h["last"]
    print(f"HNN energy error bounded: {'yes' if bounded else 'NO'}; "
          f"ODE-net energy error grows ({o['last'] / o['first']:.1f}x from the first to the last "
          f"tenth): {'yes' if grows else 'NO'}")
    print("(The HNN's drift is the O(h) energy oscillation of symplectic Euler itself, "
          "about h |H_p H_q| / |H|.)")
    return 0 if bounded and grows else 1


if __name__ == "__main__":
    sys.exit(main())
