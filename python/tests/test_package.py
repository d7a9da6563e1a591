"""The Python package (python/hamrf) over libhamrf: it reproduces the command
line bit for bit, reads every model kind the CLI writes, and turns bad input
into Python exceptions with the library's message."""
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, PYDIR)
HAMRF = os.environ.get("HAMRF_BIN", os.path.join(PYDIR, "..", "build", "hamrf"))

import hamrf  # noqa: E402


def coretype():
    """The OpenBLAS kernel set the tool runs with (it re-executes itself with
    OPENBLAS_CORETYPE set): the Python side must use the same for equal bits."""
    out = subprocess.run([HAMRF, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split("openblas kernels:")[1].strip()


def env_one_thread():
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OPENBLAS_CORETYPE=coretype(), HAMRF_NO_REEXEC="1",
               PYTHONPATH=PYDIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def test_fit_equals_cli_byte_for_byte(tmp_path):
    env = env_one_thread()
    data, cli, py = tmp_path / "d.npz", tmp_path / "cli.npz", tmp_path / "py.npz"
    subprocess.run([HAMRF, "generate", "--system", "double_pendulum", "--n", "1500", "--seed",
                    "4", "-o", str(data), "--quiet"], check=True, env=env)
    for kind in ("hnn", "odenet"):
        subprocess.run([HAMRF, "train", "--data", str(data), "--model", kind, "--width", "150",
                        "--sampler", "aswim", "--seed", "7", "-o", str(cli), "--quiet"],
                       check=True, env=env)
        code = ("import hamrf; d = hamrf.load_dataset(%r); "
                "hamrf.%s(width=150, sampler='aswim', seed=7).fit(d).save(%r)"
                % (str(data), "HNN" if kind == "hnn" else "ODENet", str(py)))
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        assert cli.read_bytes() == py.read_bytes(), kind
    # The data set too: hamrf.systems.generate writes what hamrf generate writes.
    code = ("import hamrf; hamrf.systems.generate('double_pendulum', n=1500, seed=4).save(%r)"
            % str(py))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert data.read_bytes() == py.read_bytes()


def test_load_every_kind(tmp_path):
    d = tmp_path / "d.npz"
    chain = tmp_path / "chain.npz"
    subprocess.run([HAMRF, "generate", "--system", "pendulum", "--n", "500", "-o", str(d),
                    "--quiet"], check=True)
    subprocess.run([HAMRF, "generate", "--system", "springs", "--topology", "chain", "--shape",
                    "6", "--snapshots", "5", "-o", str(chain), "--quiet"], check=True)
    runs = {"hnn": ["--data", str(d), "--width", "40"],
            "odenet": ["--data", str(d), "--width", "40", "--model", "odenet"],
            "hgn": ["--data", str(chain), "--edge-width", "30", "--kinetic-width", "10"],
            "adam": ["--data", str(d), "--width", "20", "--optimizer", "adam", "--steps", "5"]}
    for name, args in runs.items():
        path = tmp_path / (name + ".npz")
        subprocess.run([HAMRF, "train"] + args + ["-o", str(path), "--quiet"], check=True)
        m = hamrf.load(path)
        kind = "hnn" if name == "adam" else name
        assert m.meta["model"] == kind
        if kind == "hgn":
            assert isinstance(m, hamrf.HGN) and m.meta["mode"] == "pair"
        else:
            assert isinstance(m, hamrf.HNN if kind == "hnn" else hamrf.ODENet)
            x = np.array([[0.3, -0.2]])
            assert m.vector_field(x).shape == (1, 2)
        if name == "adam":
            assert m.meta["trained_by"] == "gradient"
        m.close()


def test_hnn_numbers_and_field():
    d = hamrf.systems.generate("pendulum", n=2000, seed=1)
    m = hamrf.HNN(width=300, seed=2).fit(d)
    e = m.errors(d)
    # width 300 on 2000 pendulum points: measured 1.0e-7 (docs: the C++ API test);
    # 1e-5 leaves two orders of margin while a wrong wiring gives O(1).
    assert e["rel_l2_grad"] < 1e-5 and e["n"] == 2000
    x = d.x[:50]
    g = m.grad(x)
    # J ∇Ĥ: dq/dt = ∂Ĥ/∂p, dp/dt = −∂Ĥ/∂q, exactly what vector_field returns
    np.testing.assert_array_equal(m.vector_field(x), np.column_stack([g[:, 1], -g[:, 0]]))
    # Ĥ by the exact system at the same states (the fit pins Ĥ(0) = H(0))
    Hx = hamrf.systems.H("pendulum", x)
    assert np.max(np.abs(m.H(x) - Hx)) < 1e-4 * np.max(np.abs(Hx))
    # arrays from Python: the same fit as from the library's data set
    m2 = hamrf.HNN(width=300, seed=2).fit(d.x, d.dxdt, H=d.H)
    assert m2.errors(d)["rel_l2_grad"] < 1e-5


def test_layouts_that_are_not_c_contiguous_float64():
    d = hamrf.systems.generate("spring", n=400, seed=3)
    m = hamrf.HNN(width=50, seed=1).fit(d)
    x = np.asfortranarray(d.x[:20])            # Fortran order: converted
    xs = d.x[:40:2]                            # strided view: converted
    xi = np.round(d.x[:20] * 4).astype(np.int64)  # integers: converted
    xr = d.x[:20].copy()
    xr.setflags(write=False)                   # read-only: read as is
    ref = m.H(np.ascontiguousarray(d.x[:20]))
    np.testing.assert_array_equal(m.H(x), ref)
    np.testing.assert_array_equal(m.H(xr), ref)
    np.testing.assert_array_equal(m.H(xs), m.H(np.ascontiguousarray(xs)))
    assert m.H(xi).shape == (20,)


def test_bad_input_raises_with_the_librarys_message(tmp_path):
    d = hamrf.systems.generate("pendulum", n=300, seed=1)
    m = hamrf.HNN(width=20).fit(d)
    with pytest.raises(ValueError, match="expected 2 columns"):
        m.H(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        m.H(np.zeros((2, 2, 2)))
    x = d.x.copy()
    x[7, 1] = np.nan
    with pytest.raises(hamrf.DataError, match="entry 'x': value at index 15 is NaN") as e:
        hamrf.HNN(width=20).fit(x, d.dxdt)
    assert isinstance(e.value, ValueError)
    f = d.dxdt.copy()
    f[0, 0] = np.inf
    with pytest.raises(ValueError, match="dxdt"):
        hamrf.Dataset(d.x, f)
    with pytest.raises(ValueError, match="even"):
        hamrf.Dataset(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="empty"):
        hamrf.Dataset(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(LookupError, match="sampler"):
        hamrf.HNN(sampler="nope").fit(d)
    with pytest.raises(hamrf.InvalidArgument, match="width"):
        hamrf.HNN(width=0).fit(d)
    with pytest.raises(OSError):
        hamrf.load(tmp_path / "missing.npz")
    with pytest.raises(OSError):
        hamrf.load_dataset(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(hamrf.FormatError):
        hamrf.load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="JSON object"):
        m.save(tmp_path / "m.npz", meta=[1, 2])
    assert not (tmp_path / "m.npz").exists()
    m.close()
    m.close()  # twice: harmless
    with pytest.raises(hamrf.Error, match="closed"):
        m.H(d.x[:2])
    with pytest.raises(hamrf.Error, match="not fitted"):
        hamrf.HNN().grad(d.x[:2])
    d.close()
    with pytest.raises(hamrf.Error, match="closed"):
        d.x


def test_graph_network_equals_cli_and_transfers(tmp_path):
    env = env_one_thread()
    chain8, chain64 = tmp_path / "c8.npz", tmp_path / "c64.npz"
    cli, py = tmp_path / "cli.npz", tmp_path / "py.npz"
    subprocess.run([HAMRF, "generate", "--system", "springs", "--topology", "chain", "--shape",
                    "8", "--dim", "2", "--trajectories", "4", "--snapshots", "10", "-o",
                    str(chain8), "--quiet"], check=True, env=env)
    subprocess.run([HAMRF, "generate", "--system", "springs", "--topology", "chain", "--shape",
                    "64", "--dim", "2", "--snapshots", "3", "--seed", "2", "-o", str(chain64),
                    "--quiet"], check=True, env=env)
    for mode in ("pair", "mp"):
        subprocess.run([HAMRF, "train", "--model", "hgn", "--mode", mode, "--data", str(chain8),
                        "--seed", "5", "-o", str(cli), "--quiet"], check=True, env=env)
        code = ("import hamrf; hamrf.HGN(mode=%r, seed=5).fit(hamrf.load_particles(%r))"
                ".save(%r)" % (mode, str(chain8), str(py)))
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        assert cli.read_bytes() == py.read_bytes(), mode
    m = hamrf.load(py)
    assert isinstance(m, hamrf.HGN) and m.meta["model"] == "hgn"
    big = hamrf.load_particles(chain64)
    bonds = np.array([[i, i + 1] for i in range(63)])
    # Zero shot 8 -> 64 particles: the forces the package computes are the
    # ones `hamrf eval` scores (its mse_dxdt over dp/dt and dq/dt).
    dq, dp = m.vector_field(big.q, big.p, mass=big.mass, bonds=bonds)
    e = m.errors(big)
    mse = (np.sum((dq - big.dqdt) ** 2) + np.sum((dp - big.dpdt) ** 2)) / (2 * dq.size)
    assert abs(mse - e["mse_dxdt"]) <= 1e-12 * max(mse, 1e-300) + 1e-300
    assert e["n_particles"] == 64 and e["rel_l2_grad"] < 1e-3


def test_graph_network_equals_cli_two_threads(tmp_path):
    """At 2 OpenMP and 2 OpenBLAS threads the package fits the graph network as
    the tool does (one OpenBLAS thread for the fit, its snapshot groups one per
    OpenMP thread: Lennard-Jones with 500 particles gives 1500 rows per
    snapshot, one snapshot per group), byte for byte, and gives OpenBLAS its
    2 threads back."""
    env = dict(env_one_thread(), OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    data, cli, py = tmp_path / "lj.npz", tmp_path / "cli.npz", tmp_path / "py.npz"
    subprocess.run([HAMRF, "generate", "--system", "lj", "--particles", "500", "--snapshots",
                    "6", "--every", "10", "-o", str(data), "--quiet"], check=True, env=env)
    subprocess.run([HAMRF, "train", "--model", "hgn", "--data", str(data), "--seed", "5", "-o",
                    str(cli), "--quiet"], check=True, env=env)
    code = ("import hamrf, hamrf._lib as L; hamrf.HGN(seed=5).fit(hamrf.load_particles(%r))"
            ".save(%r); print(L.lib.openblas_get_num_threads())" % (str(data), str(py)))
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True,
                         text=True).stdout
    assert cli.read_bytes() == py.read_bytes()
    assert out.strip() == "2"


def test_particle_arrays_bad_input():
    q = np.zeros((2, 3, 2))
    q[:, :, 0] = [0.0, 1.0, 2.0]
    z = np.zeros_like(q)
    ok = dict(bonds=[[0, 1], [1, 2]])
    hamrf.ParticleData(q, z, z, z, **ok).close()
    with pytest.raises(ValueError, match="bond 1 is"):
        hamrf.ParticleData(q, z, z, z, bonds=[[0, 1], [1, 3]])
    with pytest.raises(ValueError, match="either bonds"):
        hamrf.ParticleData(q, z, z, z, bonds=[[0, 1]], box=10.0, cutoff=2.0)
    with pytest.raises(ValueError, match="twice the cutoff"):
        hamrf.ParticleData(q, z, z, z, box=3.0, cutoff=2.0)
    bad = z.copy()
    bad[1, 2, 1] = np.inf
    with pytest.raises(hamrf.DataError, match="entry 'dpdt'"):
        hamrf.ParticleData(q, z, z, bad, **ok)
    with pytest.raises(ValueError, match="mass 0"):
        hamrf.ParticleData(q, z, z, z, mass=[0.0, 1.0, 1.0], **ok)
    with pytest.raises(ValueError, match="expected shape"):
        hamrf.ParticleData(q, z[:, :2], z, z, **ok)
    with pytest.raises(TypeError):
        hamrf.HGN().fit(q)
    # arrays straight into fit: the same model as through a ParticleData
    rng = np.random.default_rng(0)
    qs = q[:1] + 0.01 * rng.normal(size=(8, 3, 2))
    ps = 0.1 * rng.normal(size=qs.shape)
    dd = hamrf.ParticleData(qs, ps, ps, -ps, bonds=[[0, 1], [1, 2]])
    a = hamrf.HGN(edge_width=20, kinetic_width=8, sampler="elm").fit(dd)
    b = hamrf.HGN(edge_width=20, kinetic_width=8, sampler="elm").fit(qs, ps, ps, -ps,
                                                                    bonds=[[0, 1], [1, 2]])
    np.testing.assert_array_equal(a.H(qs, ps, bonds=[[0, 1], [1, 2]]),
                                  b.H(qs, ps, bonds=[[0, 1], [1, 2]]))


def test_rollout_and_metrics():
    # The harmonic spring (m = k = 1) from (1, 0): q = cos t, p = -sin t. RK4's global
    # error at h = 0.01 over t = 6.28 is ~h^4 t / 120 ~ 5e-10; 1e-8 bounds it.
    t, x, H = hamrf.rollout("spring", [1.0, 0.0], dt=0.01, steps=628, every=4, integrator="rk4")
    assert x.shape == (len(t), 1, 2) and H.shape == (len(t), 1)
    np.testing.assert_allclose(x[:, 0, 0], np.cos(t), atol=1e-8)
    np.testing.assert_allclose(x[:, 0, 1], -np.sin(t), atol=1e-8)
    # metrics against NumPy's formulas
    drift = np.max(np.abs(H - H[0]) / np.abs(H[0]))
    assert abs(hamrf.metrics.energy_drift(H) - drift) <= 1e-15 + 1e-12 * drift
    a, b = x[:, 0, 0], np.cos(t)
    rel = np.linalg.norm(a - b) / np.linalg.norm(b)
    assert abs(hamrf.metrics.rel_l2(a, b) - rel) <= 1e-12 * rel + 1e-300
    assert abs(hamrf.metrics.mse(a, b) - np.mean((a - b) ** 2)) <= 1e-12 * np.mean((a - b) ** 2)
    # a fitted HNN follows the true flow (pendulum, width 300: field error ~1e-6)
    d = hamrf.systems.generate("pendulum", n=3000, seed=1)
    m = hamrf.HNN(width=300).fit(d)
    _, xs, _ = hamrf.rollout("pendulum", [[1.0, 0.0], [0.5, 0.5]], 0.01, 500, integrator="rk4")
    _, xm, Hm = hamrf.rollout(m, [[1.0, 0.0], [0.5, 0.5]], 0.01, 500, integrator="rk4")
    assert hamrf.metrics.rel_l2(xm, xs) < 1e-4 and Hm.shape == (501, 2)
    with pytest.raises(hamrf.InvalidArgument, match="dt"):
        hamrf.rollout("pendulum", [1.0, 0.0], dt=-1.0, steps=10)
    with pytest.raises(LookupError):
        hamrf.rollout("pendulum", [1.0, 0.0], dt=0.1, steps=10, integrator="euler")
    with pytest.raises(ValueError, match="columns"):
        hamrf.rollout(m, [[1.0, 0.0, 2.0]], dt=0.1, steps=10)


def test_gradient_training_equals_cli(tmp_path):
    env = env_one_thread()
    data, chain = tmp_path / "d.npz", tmp_path / "c.npz"
    cli, py = tmp_path / "cli.npz", tmp_path / "py.npz"
    subprocess.run([HAMRF, "generate", "--system", "pendulum", "--n", "600", "-o", str(data),
                    "--quiet"], check=True, env=env)
    subprocess.run([HAMRF, "generate", "--system", "springs", "--topology", "chain", "--shape",
                    "6", "--snapshots", "6", "-o", str(chain), "--quiet"], check=True, env=env)
    runs = [(["train", "--data", str(data), "--width", "40", "--optimizer", "adam", "--steps",
              "25", "--lr", "3e-3"],
             "hamrf.HNN(width=40, optimizer='adam', steps=25, lr=3e-3).fit("
             "hamrf.load_dataset(%r))" % str(data)),
            (["train", "--data", str(data), "--model", "odenet", "--width", "30", "--optimizer",
              "lbfgs", "--steps", "5"],
             "hamrf.ODENet(width=30, optimizer='lbfgs', steps=5).fit(hamrf.load_dataset(%r))"
             % str(data)),
            (["train", "--model", "hgn", "--data", str(chain), "--edge-width", "30",
              "--kinetic-width", "10", "--optimizer", "rmsprop", "--steps", "15"],
             "hamrf.HGN(edge_width=30, kinetic_width=10, optimizer='rmsprop', steps=15).fit("
             "hamrf.load_particles(%r))" % str(chain))]
    for args, expr in runs:
        subprocess.run([HAMRF] + args + ["-o", str(cli), "--quiet"], check=True, env=env)
        code = "import hamrf; m = %s; m.save(%r); assert m.report_['steps'] > 0" % (expr, str(py))
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        assert cli.read_bytes() == py.read_bytes(), args
    assert hamrf.load(py).meta["trained_by"] == "gradient"
    with pytest.raises(LookupError, match="optimizer"):
        hamrf.HNN(optimizer="sgdx").fit(hamrf.load_dataset(data))
    with pytest.raises(ValueError):
        hamrf.HNN(optimizer="adam", lr=-1.0).fit(hamrf.load_dataset(data))


def test_rollout_errors_match_numpy():
    rng = np.random.default_rng(3)
    xt = rng.normal(size=(6, 4, 2))
    xp = xt + 1e-3 * rng.normal(size=xt.shape)
    xp[0] = xt[0]  # the shared start
    Ht, Hp = rng.uniform(1, 2, size=(6, 4)), None
    Hp = Ht * (1 + 1e-4 * rng.normal(size=Ht.shape))
    e = hamrf.metrics.rollout_errors(xp, xt, Hp, Ht)

    def relerr(a, b):
        return np.linalg.norm(a - b, axis=-1) / (np.linalg.norm(a, axis=-1) + np.linalg.norm(b, axis=-1))
    z = np.exp(np.mean(np.log(np.maximum(relerr(xt[:, :, :1], xp[:, :, :1]), 1e-300)), axis=1))
    h = np.exp(np.mean(np.log(np.maximum(np.abs(Ht - Hp) / (np.abs(Ht) + np.abs(Hp)), 1e-300)),
                       axis=1))
    np.testing.assert_allclose(e["zerr_t"][1:], z[1:], rtol=1e-12)
    np.testing.assert_allclose(e["herr_t"][1:], h[1:], rtol=1e-12)
    assert abs(e["zerr_gmean"] - np.mean(z[1:])) <= 1e-12 * np.mean(z[1:])
    assert abs(e["herr_gmean"] - np.mean(h[1:])) <= 1e-12 * np.mean(h[1:])
    with pytest.raises(ValueError, match="both"):
        hamrf.metrics.rollout_errors(xp, xt, Hp, None)


def test_progress_callback():
    seen = []
    d = hamrf.systems.generate("pendulum", n=500, seed=1)
    hamrf.HNN(width=30, progress=lambda stage, f: seen.append((stage, f))).fit(d)
    stages = [s for s, _ in seen]
    fractions = [f for _, f in seen]
    # the sampled fit reports sampling, solving, A-SWIM's second pass and done, in order
    assert stages[0] == "sampling" and stages[-1] == "done" and fractions[-1] == 1.0
    assert "resampling (A-SWIM)" in stages
    assert all(0.0 <= f <= 1.0 for f in fractions)
    hamrf.HNN(width=30, progress=True).fit(d)  # not a terminal here: silent, no error
    with pytest.raises(TypeError):
        hamrf.HNN(width=30, progress="yes").fit(d)


def test_graph_network_rollout_equals_cli(tmp_path):
    """hamrf.rollout on an HGN advances the same states as `hamrf rollout`: the
    same field, integrator and steps give the same numbers (bit for bit, one
    thread), direct and tabulated; the true system's rollout equals the CLI's
    --truth reference (its leapfrog with 10 substeps)."""
    env = env_one_thread()
    lj, model, traj = tmp_path / "lj.npz", tmp_path / "m.npz", tmp_path / "t.npz"
    subprocess.run([HAMRF, "generate", "--system", "lj", "--particles", "108", "--snapshots",
                    "4", "-o", str(lj), "--quiet"], check=True, env=env)
    subprocess.run([HAMRF, "train", "--model", "hgn", "--data", str(lj), "-o", str(model),
                    "--quiet"], check=True, env=env)
    for tab in ([], ["--tabulate", "2048"]):
        subprocess.run([HAMRF, "rollout", "--model", str(model), "--data", str(lj), "--count",
                        "2", "--dt", "0.005", "--steps", "20", "--every", "5", "--truth",
                        "-o", str(traj), "--quiet"] + tab, check=True, env=env)
        code = ("import hamrf, numpy as np\n"
                "d = hamrf.load_particles(%r)\n"
                "two = hamrf.ParticleData(d.q[:2], d.p[:2], d.dqdt[:2], d.dpdt[:2], mass=d.mass,"
                " box=d._handle().contents.box, cutoff=d._handle().contents.cutoff)\n"
                "t, x, H = hamrf.rollout(hamrf.load(%r), two, 0.005, 20, every=5, tabulate=%d)\n"
                "tt, xt, Ht = hamrf.rollout(d.system(), two, 0.0005, 200, every=50,"
                " integrator='leapfrog')\n"
                "np.savez(%r, t=t, x=x, H=H, xt=xt)\n"
                % (str(lj), str(model), 2048 if tab else 0, str(tmp_path / "py.npz")))
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        c, p = np.load(traj), np.load(tmp_path / "py.npz")
        assert c["x"].shape == p["x"].shape == (5, 2, 2 * 108 * 3)
        assert np.array_equal(c["t"], p["t"])
        assert np.array_equal(c["x"], p["x"]), tab
        assert np.array_equal(c["H"], p["H"]), tab
        assert np.array_equal(c["x_true"], p["xt"])
    q, p = hamrf.particle_states(np.load(tmp_path / "py.npz")["x"], 108, 3)
    assert q.shape == p.shape == (5, 2, 108, 3)


def test_graph_network_rollout_from_arrays_and_bad_input(tmp_path):
    """A rollout from (q, p) arrays with bonds is the rollout from the same
    ParticleData; energy Ĥ is conserved by leapfrog to O(dt²); bad starts raise."""
    chain = tmp_path / "c.npz"
    subprocess.run([HAMRF, "generate", "--system", "springs", "--topology", "chain", "--shape",
                    "8", "--dim", "2", "--snapshots", "6", "-o", str(chain), "--quiet"],
                   check=True)
    d = hamrf.load_particles(chain)
    m = hamrf.HGN(seed=3).fit(d)
    bonds = np.array([[i, i + 1] for i in range(7)])
    t1, x1, H1 = hamrf.rollout(m, d, 0.01, 50, every=10)
    t2, x2, H2 = hamrf.rollout(m, (d.q, d.p), 0.01, 50, every=10, mass=d.mass, bonds=bonds)
    assert np.array_equal(x1, x2) and np.array_equal(H1, H2)
    assert x1.shape == (6, 6, 2 * 8 * 2)
    # leapfrog on Ĥ: energy error O(dt²) ≈ 1e-4 relative at dt 0.01 for these
    # unit springs; 1e-3 allows an order of magnitude in the constant
    assert np.max(np.abs(H1 - H1[0]) / np.abs(H1[0])) < 1e-3
    with pytest.raises(TypeError, match="ParticleData"):
        hamrf.rollout(m, d.q, 0.01, 5)
    with pytest.raises(TypeError, match="unknown keywords"):
        hamrf.rollout(m, (d.q, d.p), 0.01, 5, bonds=bonds, masses=d.mass)
    with pytest.raises(hamrf.InvalidArgument, match="pair-mode"):
        hamrf.rollout(hamrf.HGN(mode="mp", seed=3).fit(d), d, 0.01, 5, tabulate=64)
    with pytest.raises(hamrf.InvalidArgument, match="tabulate"):
        hamrf.rollout("pendulum", np.zeros(2), 0.01, 5, tabulate=64)
    with pytest.raises(ValueError, match="dt"):
        hamrf.rollout(m, d, -1.0, 5)
    for bad in (3, -5, 2.5, 10**9):
        with pytest.raises(hamrf.InvalidArgument, match="16 .. 1e8"):
            hamrf.rollout(m, d, 0.01, 5, tabulate=bad)


def test_graph_network_progress_callback():
    """The graph network's fit reports its stages in order (A-SWIM: two solves)."""
    seen = []
    q = np.random.default_rng(1).uniform(-1, 1, (4, 8, 2))
    d = hamrf.ParticleData(q, q, q, -q, bonds=[[i, i + 1] for i in range(7)])
    hamrf.HGN(seed=1, progress=lambda s, f: seen.append((s, f))).fit(d)
    stages = [s for s, _ in seen]
    fractions = [f for _, f in seen]
    assert stages[0] == "sampling" and stages[-1] == "done" and fractions[-1] == 1.0
    assert stages.index("solving") < stages.index("resampling (A-SWIM)") < stages.index(
        "solving (A-SWIM)")
    # fractions never go back
    assert all(b >= a for a, b in zip(fractions, fractions[1:])), fractions


def test_rollout_fixed_point():
    """fixed_point=True solves implicit midpoint without the Jacobian: the same
    trajectory as Newton to the solves' tolerance (1e-14·(1+|x|) per step, so
    1e-11 after 200 steps leaves room for accumulation), and it is really used:
    the CLI's --fixed-point equivalent differs from Newton in the last bits."""
    x0 = np.array([[1.0, 0.5], [-2.0, 0.1]])
    _, xn, _ = hamrf.rollout("pendulum", x0, 0.05, 200, integrator="midpoint")
    _, xf, _ = hamrf.rollout("pendulum", x0, 0.05, 200, integrator="midpoint", fixed_point=True)
    assert np.max(np.abs(xn - xf)) < 1e-11
    assert not np.array_equal(xn, xf)
