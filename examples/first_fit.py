#!/usr/bin/python3
"""A first fit: pendulum data, a sampled HNN (no gradient descent), its errors,
and the learned Hamiltonian and vector field at a few states.

Usage: PYTHONPATH=python examples/first_fit.py [--small]
"""
import sys

import hamrf

n, width = (2000, 200) if "--small" in sys.argv else (10000, 500)
train = hamrf.systems.generate("pendulum", n=n, seed=1)        # x (n, 2) = (q, p), dxdt, H
test = hamrf.systems.generate("pendulum", n=2000, seed=2)
model = hamrf.HNN(width=width, sampler="aswim", seed=1).fit(train)
print(f"fit in {model.report_['fit_seconds']:.3f} s (width {width}, {n} points)")
err = model.errors(test)                                        # as `hamrf eval` reports
print(f"test errors: rel_l2_H {err['rel_l2_H']:.2e}  rel_l2_grad {err['rel_l2_grad']:.2e}  "
      f"mse_dxdt {err['mse_dxdt']:.2e}")
x = test.x[:3]                                                  # three states (q, p)
print("H learned ", model.H(x).round(6), " true", hamrf.systems.H("pendulum", x).round(6))
print("dx/dt     ", model.vector_field(x).round(4).tolist())
print("dx/dt true", test.dxdt[:3].round(4).tolist())
