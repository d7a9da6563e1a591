#!/usr/bin/python3
"""RF-HNN's error-correction study: an HNN fitted from trajectory pairs
(x, Phi_h(x)) of the true flow, through one symplectic Euler step, learns H
with an error of order h; the backward-error correction
H~ = H^ + (h/2) grad_q H^ . grad_p H^ makes it order h^2.

Single pendulum, q in [-pi, pi], p in [-1, 1]; for each h in
{0.05, 0.1, 0.2, 0.4, 0.8}: 2500 pairs (--small: 1000), an A-SWIM width-200
HNN, with and without the correction, relative L2 error of H on 5000 box
points. Prints the errors beside the paper's and the fitted log-log slopes.

Usage: PYTHONPATH=python examples/error_correction.py [--small]
Exit status 1 if a slope is more than 0.3 from its order (1 and 2).
"""
import math
import sys

import numpy as np

import hamrf

HS = [0.05, 0.1, 0.2, 0.4, 0.8]
PAPER = {0.05: (7.4e-3, 1.0e-4), 0.8: (1.27e-1, 3.0e-2)}  # RF-HNN (Rahma et al. 2024)
box = dict(q_range=(-math.pi, math.pi), p_range=(-1, 1))
n = 1000 if "--small" in sys.argv else 2500

test = hamrf.systems.generate("pendulum", n=5000, seed=99, **box)
print(f"Error correction (RF-HNN): pendulum, {n} pairs, A-SWIM width 200, rel. L2 error of H")
print(f"{'h':>5} {'uncorrected':>12} {'paper':>9} {'corrected':>10} {'paper':>9}")
eu, ec = [], []
for h in HS:
    pairs = hamrf.systems.generate_pairs("pendulum", n=n, h=h, seed=7, **box)  # .x, .x1, .h
    model = hamrf.HNN(width=200, seed=3).fit(pairs)   # through one symplectic Euler step
    eu.append(model.errors(test)["rel_l2_H"])
    model.set_correction(h).pin(pairs.x0, pairs.H0)   # = `hamrf train --correct`
    ec.append(model.errors(test)["rel_l2_H"])
    pu, pc = (f"{v:9.2e}" for v in PAPER[h]) if h in PAPER else (f"{'-':>9}",) * 2
    print(f"{h:5.2f} {eu[-1]:12.2e} {pu} {ec[-1]:10.2e} {pc}")
su = np.polyfit(np.log(HS), np.log(eu), 1)[0]
sc = np.polyfit(np.log(HS), np.log(ec), 1)[0]
print(f"slopes: uncorrected {su:.2f} (order 1), corrected {sc:.2f} (order 2)")
sys.exit(0 if abs(su - 1) <= 0.3 and abs(sc - 2) <= 0.3 else 1)
