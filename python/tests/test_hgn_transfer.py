"""Small versions of the graph-network results of RF-HGN (Rahma et al.,
arXiv 2506.06558) and of our targets for them, through the command line:
the 3D lattice with harmonic, anharmonic and Morse bonds (RF-HGN's SWIM
column as the bar), and zero-shot transfer across sizes and topologies in
pair mode (lattice 3x3 -> 20x20, chain -> lattice).

References: the data sets' exact derivatives (hamrf generate integrates the
true system with velocity Verlet and stores dq/dt = p/m, dp/dt = -dU/dq,
checked against finite differences of H in tests/test_particles_systems.c)."""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
HAMRF = os.environ.get("HAMRF_BIN") or (
    str(REPO / "build" / "hamrf") if (REPO / "build" / "hamrf").is_file() else None)
pytestmark = pytest.mark.skipif(HAMRF is None, reason="HAMRF_BIN unset and build/hamrf absent")
ENV = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")

# RF-HGN's SWIM column (test MSE of the time derivatives, 3D lattice):
# harmonic 3.4e-5, anharmonic 5.2e-4, Morse 1.2e-3 (Rahma et al., arXiv 2506.06558).
PAPER_MSE = {"harmonic": 3.4e-5, "anharmonic": 5.2e-4, "morse": 1.2e-3}
# Our bar on the scale-free error (the target `hamrf reproduce paper2` states).
REL_GRAD_MAX = 1e-3
# Zero-shot: mse_dxdt per coordinate on the big system within 10x of the
# held-out set of the training size (the zero-shot target).
ZERO_SHOT_FACTOR = 10.0


def hamrf(*args):
    r = subprocess.run([HAMRF, *map(str, args)], capture_output=True, text=True, env=ENV,
                       timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"hamrf {args} failed {r.returncode}:\n{r.stderr}")
    return r


def js(*args):
    return json.loads(hamrf(*args, "--json").stdout)


def springs(path, topo, shape, dim, pot="harmonic", traj=5, snaps=10, seed=1):
    hamrf("generate", "--system", "springs", "--topology", topo, "--shape", shape, "--dim", dim,
          "--potential", pot, "--trajectories", traj, "--snapshots", snaps, "--seed", seed,
          "-o", path, "--quiet")


@pytest.mark.parametrize("pot", ["harmonic", "anharmonic", "morse"])
def test_3d_lattice_beats_the_paper(tmp_path, pot):
    tr, te, m = tmp_path / "tr.npz", tmp_path / "te.npz", tmp_path / "m.npz"
    springs(tr, "lattice", "3x3x3", 3, pot, seed=1)
    springs(te, "lattice", "3x3x3", 3, pot, seed=2)
    hamrf("train", "--model", "hgn", "--data", tr, "-o", m, "--quiet")
    e = js("eval", "--model", m, "--data", te)
    assert e["mse_dxdt"] <= PAPER_MSE[pot], e
    assert e["rel_l2_grad"] <= REL_GRAD_MAX, e


def test_zero_shot_lattice_and_chain_to_lattice(tmp_path):
    l3, l3te, big = tmp_path / "l3.npz", tmp_path / "l3te.npz", tmp_path / "l20.npz"
    chain = tmp_path / "c8.npz"
    springs(l3, "lattice", "3x3", 2, traj=10, seed=1)
    springs(l3te, "lattice", "3x3", 2, traj=10, seed=2)
    springs(big, "lattice", "20x20", 2, traj=1, snaps=3, seed=3)
    springs(chain, "chain", "8", 2, traj=10, seed=4)
    for src in (l3, chain):
        m = tmp_path / (src.stem + "_m.npz")
        hamrf("train", "--model", "hgn", "--mode", "pair", "--data", src, "-o", m, "--quiet")
        small = js("eval", "--model", m, "--data", l3te)
        large = js("eval", "--model", m, "--data", big)
        assert large["n_particles"] == 400
        # Pair mode is pairwise-additive, so it transfers across sizes and
        # topologies (the chain model has never seen a degree-4 node).
        assert large["mse_dxdt"] <= ZERO_SHOT_FACTOR * max(small["mse_dxdt"], 1e-30), (src, small, large)
        assert large["rel_l2_grad"] <= REL_GRAD_MAX, (src, large)
