#!/usr/bin/python3
"""Zero shot: a graph network (HGN) fitted on an 8-particle spring chain
predicts the forces of a much longer chain it never saw.

H = sum_i |p_i|^2 / 2 + sum_bonds (|q_i - q_j| - 1)^2 / 2 in the plane; states
are the chain's lattice positions with random displacements and momenta; the
data are built here with NumPy (ParticleData from arrays). Files from
`hamrf generate --system springs --topology chain --shape 8 ...` work as well:
hamrf.load_particles(path).

Usage: PYTHONPATH=python examples/zero_shot.py [--small]
Exit status 1 if the large chain's relative force error exceeds 1e-3.
"""
import sys

import numpy as np

import hamrf

rng = np.random.default_rng(0)


def chain(n, snapshots):
    """Snapshots (S, n, 2) of a spring chain with exact derivatives and H."""
    q = np.stack([np.arange(n), np.zeros(n)], -1) + rng.uniform(-0.3, 0.3, (snapshots, n, 2))
    p = rng.normal(0, 0.5, (snapshots, n, 2))
    d = q[:, 1:] - q[:, :-1]                                  # bond vectors (S, n-1, 2)
    r = np.linalg.norm(d, axis=-1, keepdims=True)
    f = (r - 1) * d / r                                       # -dV/dq_i on the bond's left end
    dpdt = np.zeros_like(q)
    dpdt[:, :-1] += f
    dpdt[:, 1:] -= f
    H = 0.5 * (p ** 2).sum((1, 2)) + 0.5 * ((r - 1) ** 2).sum((1, 2))
    bonds = np.array([[i, i + 1] for i in range(n - 1)])
    return hamrf.ParticleData(q, p, p, dpdt, mass=np.ones(n), bonds=bonds, H=H), bonds


big_n = 512 if "--small" in sys.argv else 4096
train, _ = chain(8, 50)
model = hamrf.HGN(mode="pair", sampler="aswim", seed=5).fit(train)
print(f"HGN (pair) fitted on 8 particles x 50 snapshots in {model.report_['fit_seconds']:.2f} s")
print(f"{'particles':>9} {'rel_l2_grad':>12} {'rel_l2_H':>9}")
for n in (8, 64, big_n):
    test, bonds = chain(n, 5)
    e = model.errors(test)                                    # as `hamrf eval` reports
    print(f"{n:9d} {e['rel_l2_grad']:12.2e} {e['rel_l2_H']:9.2e}")
dqdt, dpdt = model.vector_field(test.q, test.p, mass=test.mass, bonds=bonds)
print(f"zero-shot force error on {big_n} particles: "
      f"{hamrf.metrics.rel_l2(dpdt, test.dpdt):.2e}")
sys.exit(0 if e["rel_l2_grad"] < 1e-3 else 1)
