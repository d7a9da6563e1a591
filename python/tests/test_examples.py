"""The examples (examples/*.py) run with --small: exit 0 and print the
numbers they claim; and the package's trajectory-pair wrappers equal the CLI."""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.normpath(os.path.join(HERE, ".."))
EXAMPLES = os.path.join(PYDIR, "..", "examples")
sys.path.insert(0, PYDIR)
HAMRF = os.environ.get("HAMRF_BIN", os.path.join(PYDIR, "..", "build", "hamrf"))

import hamrf  # noqa: E402


def run_example(name):
    env = dict(os.environ, HAMRF_BIN=HAMRF,
               PYTHONPATH=PYDIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # the timeout guards against a hang only (performance is measured in bench/,
    # never asserted by a test): --small runs in seconds on an idle machine
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), "--small"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def number(pattern, text):
    m = re.search(pattern, text)
    assert m, "no match for %r in:\n%s" % (pattern, text)
    return float(m.group(1))


def test_first_fit():
    out = run_example("first_fit.py")
    assert number(r"rel_l2_H (\S+)", out) < 1e-4
    assert number(r"rel_l2_grad (\S+)", out) < 1e-3


def test_energy_demo():
    out = run_example("energy_demo.py")
    hnn = number(r"HNN\s+\S+\s+\S+\s+(\S+)", out)
    ode = number(r"ODENet\s+\S+\s+\S+\s+(\S+)", out)
    assert hnn < ode and hnn < 1e-2
    assert "bounded: yes" in out


def test_error_correction():
    out = run_example("error_correction.py")
    assert abs(number(r"uncorrected (\S+) \(order 1\)", out) - 1) < 0.3
    assert abs(number(r"corrected (\S+) \(order 2\)", out) - 2) < 0.3


def test_zero_shot():
    out = run_example("zero_shot.py")
    assert number(r"force error on \d+ particles: (\S+)", out) < 1e-3


def test_pairs_and_correction_equal_cli(tmp_path):
    """systems.generate_pairs = `hamrf generate --pairs`; HNN.fit(pairs) then
    set_correction + pin = `hamrf train --correct`, byte for byte."""
    from test_package import env_one_thread
    env = env_one_thread()
    data, cli, py = tmp_path / "pairs.npz", tmp_path / "cli.npz", tmp_path / "py.npz"
    box = ["--q-range=-1,1", "--p-range=-1,1"]
    subprocess.run([HAMRF, "generate", "--system", "pendulum", *box, "--n", "300", "--seed", "7",
                    "--pairs", "--h", "0.2", "-o", str(data), "--quiet"], check=True, env=env)
    pairs = hamrf.systems.generate_pairs("pendulum", n=300, h=0.2, seed=7, q_range=(-1, 1),
                                         p_range=(-1, 1))
    loaded = hamrf.load_dataset(data)
    assert pairs.h == loaded.h == 0.2
    assert (pairs.x == loaded.x).all() and (pairs.x1 == loaded.x1).all()
    assert hamrf.load_dataset(data).pairs_targets().x1 is None
    subprocess.run([HAMRF, "train", "--data", str(data), "--width", "50", "--seed", "3",
                    "--correct", "-o", str(cli), "--quiet"], check=True, env=env)
    code = ("import hamrf; d = hamrf.load_dataset(%r); m = hamrf.HNN(width=50, seed=3).fit(d); "
            "m.set_correction(d.h).pin(d.x0, d.H0); assert m.correction == 0.2; m.save(%r)"
            % (str(data), str(py)))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert cli.read_bytes() == py.read_bytes()
    with pytest.raises(hamrf.InvalidArgument):
        hamrf.ODENet(width=50).fit(pairs)
