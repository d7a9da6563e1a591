#!/usr/bin/python3
"""RF-HNN's energy demonstration: in a long rollout a sampled HNN conserves
energy, a sampled ODE-net (S-MLP) of the same width drifts.

Single pendulum, q in [-2pi, 2pi], p in [-6, 6]; both models fitted with ELM
features on the same data, both rolled out from (q, p) = (pi/2, 0) with the
same integrator (symplectic Euler, implicit since learned fields are not
separable). The energy is the true pendulum H along each predicted trajectory.
Full: 10 000 points, width 500, t in [0, 100] with h = 5e-4 (200 000 steps);
--small: 3000 points, width 300, t in [0, 100] with h = 1e-3.

Usage: PYTHONPATH=python examples/energy_demo.py [--small]
Exit status 1 if the HNN's energy error is not bounded or the ODE-net's does
not grow past it.
"""
import math
import sys

import numpy as np

import hamrf

small = "--small" in sys.argv
n, width, dt, steps = (3000, 300, 1e-3, 100000) if small else (10000, 500, 5e-4, 200000)
data = hamrf.systems.generate("pendulum", n=n, seed=1, q_range=(-2 * math.pi, 2 * math.pi),
                              p_range=(-6, 6))
print(f"pendulum from (pi/2, 0), t in [0, {dt * steps:g}], h = {dt:g}, symplectic Euler, "
      f"ELM width {width}, {n} points")
print(f"{'model':<7} {'drift first 10%':>16} {'drift last 10%':>15} {'max drift':>10}")
drift = {}
for Model in (hamrf.HNN, hamrf.ODENet):
    model = Model(width=width, sampler="elm", seed=1).fit(data)
    t, x, _ = hamrf.rollout(model, [math.pi / 2, 0], dt, steps, integrator="symplectic_euler",
                            every=steps // 200)
    H = hamrf.systems.H("pendulum", x[:, 0, :])           # true energy along the rollout
    rel = np.abs(H - H[0]) / abs(H[0])
    tenth = len(rel) // 10
    first, last = rel[:tenth + 1].max(), rel[-tenth:].max()
    drift[Model.__name__] = (first, last, rel.max())
    print(f"{Model.__name__:<7} {first:16.2e} {last:15.2e} {rel.max():10.2e}")
h, o = drift["HNN"], drift["ODENet"]
bounded = h[1] <= 1.2 * h[0]                 # HNN: no larger at the end than at the start
grows = o[1] > 1.5 * o[0] and o[1] > h[1]    # ODE-net: grows, and ends above the HNN
print(f"HNN energy error bounded: {'yes' if bounded else 'NO'}; ODE-net energy error grows "
      f"{o[1] / o[0]:.1f}x and ends {o[1] / h[1]:.1f}x above the HNN's: "
      f"{'yes' if grows else 'NO'}")
sys.exit(0 if bounded and grows else 1)
