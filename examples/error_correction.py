#!/usr/bin/python3
"""RF-HNN's error-correction study with the hamrf command line.

Single pendulum, q in [-pi, pi], p in [-1, 1]: for each step h in
{0.05, 0.1, 0.2, 0.4, 0.8}, 2500 trajectory pairs (x, Phi_h(x)) of the true
flow (`hamrf generate --pairs`), an A-SWIM width-200 HNN fitted through one
symplectic Euler step (`hamrf train`), with and without the backward-error
correction (`--correct`), evaluated on 5000 box points (`hamrf eval`).
Prints the relative L2 errors of H beside the paper's and the fitted slopes
(expected: 1 uncorrected, 2 corrected).

Usage: error_correction.py PATH/TO/hamrf [--out DIR]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HS = [0.05, 0.1, 0.2, 0.4, 0.8]
PAPER = {0.05: (7.4e-3, 1.0e-4), 0.8: (1.27e-1, 3.0e-2)}   # RF-HNN (Rahma et al. 2024)


def run(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"error_correction: command failed: {' '.join(map(str, cmd))}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hamrf")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="hamrf_corr_")
    os.makedirs(out, exist_ok=True)
    box = [f"--q-range={-math.pi},{math.pi}", "--p-range=-1,1"]
    test = os.path.join(out, "test.npz")
    run([a.hamrf, "generate", "--system", "pendulum", *box, "--n", 5000, "--seed", 99, "-o", test,
         "--quiet"])
    print("Error correction (RF-HNN): pendulum, 2500 pairs, A-SWIM width 200, rel. L2 error of H")
    head = f"{'h':>5} {'uncorrected':>12} {'paper':>9} {'corrected':>10} {'paper':>9}"
    print(head)
    print("-" * len(head))
    eu, ec = [], []
    for h in HS:
        pairs = os.path.join(out, f"pairs_{h}.npz")
        run([a.hamrf, "generate", "--system", "pendulum", *box, "--n", 2500, "--seed", 7,
             "--pairs", "--h", h, "-o", pairs, "--quiet"])
        row = []
        for corr in ([], ["--correct"]):
            model = os.path.join(out, f"model_{h}{'_c' if corr else ''}.npz")
            run([a.hamrf, "train", "--data", pairs, "--width", 200, "--seed", 3, *corr, "-o", model,
                 "--quiet"])
            row.append(json.loads(run([a.hamrf, "eval", "--model", model, "--data", test,
                                       "--json"]))["rel_l2_H"])
        eu.append(row[0])
        ec.append(row[1])
        pu, pc = (f"{v:9.2e}" for v in PAPER[h]) if h in PAPER else (f"{'-':>9}",) * 2
        print(f"{h:5.2f} {row[0]:12.2e} {pu} {row[1]:10.2e} {pc}")
    lh = np.log(HS)
    su = np.polyfit(lh, np.log(eu), 1)[0]
    sc = np.polyfit(lh, np.log(ec), 1)[0]
    print(f"slopes: uncorrected {su:.2f} (order 1), corrected {sc:.2f} (order 2)")
    return 0 if abs(su - 1) <= 0.3 and abs(sc - 2) <= 0.3 else 1


if __name__ == "__main__":
    sys.exit(main())
