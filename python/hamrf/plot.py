"""Figures of `hamrf reproduce --out DIR` results, and of the package's own
models, as PNG files (matplotlib, Agg backend).

    PYTHONPATH=python /usr/bin/python3 -m hamrf.plot DIR [--out FIGDIR] [--no-models]

reads DIR/paper1.csv, DIR/paper2.csv (or .json), DIR/paper2_curves.csv,
DIR/benchmark.csv and DIR/benchmark_curves.csv (whichever exist) and writes into FIGDIR (default
DIR/figures):

    width.png          paper1 pendulum_width: test error against width per sampler
    time.png           paper1: test error against training time, samplers and Adam
    zero_shot.png      paper2 / benchmark: zero-shot error against particle count
    optimizers.png     paper2 lattice_3d_optimizers: time against test MSE
    curves.png         benchmark: Zerr and Herr over rollout time
    lj_displacement.png  paper2 lennard_jones: displacement error over the rollout
    phase.png          a learned (HNN) vs the true pendulum flow (fitted here)
    energy.png         energy error over time, HNN vs ODE-net (fitted here)

Each figure function takes the data it needs and returns the path written, or
None (with a printed note) when its input is absent.
"""
import argparse
import csv
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["read_rows", "read_curves", "plot_width", "plot_time", "plot_zero_shot",
           "plot_optimizers", "plot_curves", "plot_lj_displacement", "plot_phase", "plot_energy",
           "main"]

SAMPLER_STYLE = {"elm": ("C0", "o"), "uswim": ("C1", "s"), "aswim": ("C2", "^"),
                 "swim": ("C3", "D"), "adam": ("k", "x"), "pair": ("C2", "^"),
                 "mp": ("C4", "v"), "adam_pair": ("k", "x"), "adam_mp": ("0.4", "+")}


def _style(method, i=0):
    return SAMPLER_STYLE.get(method, ("C%d" % (5 + i % 5), "o"))


def _num(s):
    if s is None or s == "":
        return math.nan
    try:
        return float(s)
    except (TypeError, ValueError):
        return s


def read_rows(path):
    """The rows of a `hamrf reproduce --out` CSV as dicts (numbers as floats,
    empty cells NaN); None when the file does not exist."""
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("value", "paper", "seconds", "adam_seconds", "speedup_vs_adam"):
            if k in r:
                r[k] = _num(r[k])
    return rows


def read_json_rows(path):
    """The rows of DIR/PAPER.json (they carry more fields than the CSV, e.g.
    the optimizer table's thresholds); None when absent."""
    import json
    if not os.path.exists(path):
        return None
    with open(path) as f:
        rows = json.load(f).get("rows", [])
    for r in rows:
        for k, v in list(r.items()):
            if v is None:
                r[k] = math.nan
    return rows


def read_curves(path):
    """DIR/PAPER_curves.csv as {(experiment, config, method, metric): (t, value)}."""
    if not os.path.exists(path):
        return None
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["experiment"], r["config"], r["method"], r["metric"])
            out.setdefault(key, ([], []))
            out[key][0].append(float(r["t"]))
            out[key][1].append(float(r["value"]))
    return {k: (np.array(t), np.array(v)) for k, (t, v) in out.items()}


def _skip(name, why):
    print("hamrf.plot: %s skipped: %s" % (name, why))
    return None


def _save(fig, out_dir, name):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("hamrf.plot: wrote %s" % path)
    return path


def _finite(*xs):
    return all(isinstance(x, float) and math.isfinite(x) and x > 0 for x in xs)


def plot_width(rows, out_dir):
    """paper1 pendulum_width: relative L2 error of H against the hidden-layer
    width, one line per sampler (and Adam), the published values dashed."""
    name = "width.png"
    if not rows:
        return _skip(name, "no paper1 results")
    sel = [r for r in rows if r["experiment"] == "pendulum_width" and r["metric"] == "rel_l2_H"]
    if not sel:
        return _skip(name, "no pendulum_width rows in paper1")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    methods = list(dict.fromkeys(r["method"] for r in sel))
    for i, m in enumerate(methods):
        pts = sorted((int(re.search(r"\d+", r["config"]).group()), r["value"], r["paper"])
                     for r in sel if r["method"] == m and re.search(r"\d+", r["config"]))
        c, mk = _style(m, i)
        ours = [(w, v) for w, v, _ in pts if _finite(v)]
        if ours:
            ax.plot(*zip(*ours), color=c, marker=mk, label="%s (ours)" % m)
        paper = [(w, p) for w, _, p in pts if _finite(p)]
        if paper:
            ax.plot(*zip(*paper), color=c, marker=mk, ls="--", mfc="none", alpha=0.6,
                    label="%s (paper)" % m)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden-layer width (neurons)")
    ax.set_ylabel("test error: relative L2 of H (dimensionless)")
    ax.set_title("Single pendulum: test error against width")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def plot_time(rows, out_dir):
    """paper1: test error against training (fit) time, every experiment's
    rel_l2_H rows, colours by method (the samplers and Adam)."""
    name = "time.png"
    if not rows:
        return _skip(name, "no paper1 results")
    sel = [r for r in rows if r["metric"] == "rel_l2_H" and _finite(r["value"], r["seconds"])
           and r["method"] in ("elm", "uswim", "aswim", "swim", "adam")]
    if not sel:
        return _skip(name, "no paper1 rows with an error and a fit time")
    exps = list(dict.fromkeys(r["experiment"] for r in sel))
    # many experiments: the legend goes beside the axes, not over the points
    fig, ax = plt.subplots(figsize=(9.6 if len(exps) > 1 else 6.4, 4.6))
    fills = ["full", "none", "left", "bottom", "right", "top", "full"]
    for i, m in enumerate(dict.fromkeys(r["method"] for r in sel)):
        c, mk = _style(m, i)
        for j, e in enumerate(exps):
            pts = [(r["seconds"], r["value"]) for r in sel if r["method"] == m
                   and r["experiment"] == e]
            if pts:
                ax.plot(*zip(*pts), ls="none", color=c, marker=mk, ms=7,
                        fillstyle=fills[j % len(fills)],
                        label=m if len(exps) == 1 else "%s, %s" % (m, e))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("test error: relative L2 of H (dimensionless)")
    ax.set_title("Paper 1: test error against training time")
    ax.grid(True, which="both", alpha=0.3)
    if len(exps) > 1:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    else:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def _particles(config):
    m = re.match(r"^(?:ring\s+)?(\d+)\s*(?:particles|springs|,|$)", config)
    return int(m.group(1)) if m else None


def plot_zero_shot(paper2_rows, bench_rows, out_dir):
    """Zero-shot error against the particle count: paper2's zero_shot_* test
    MSE of dx/dt (left), the benchmark's zero_shot rollout Zerr (right)."""
    name = "zero_shot.png"
    p2 = [r for r in (paper2_rows or []) if r["experiment"].startswith("zero_shot")
          and r["metric"] == "mse_dxdt" and _particles(r["config"]) and _finite(r["value"])]
    bz = [r for r in (bench_rows or []) if r["experiment"] in ("zero_shot", "per_state")
          and r["metric"] in ("zerr", "herr") and _particles(r["config"])
          and _finite(r["value"])]
    if not p2 and not bz:
        return _skip(name, "no zero-shot rows in paper2 or benchmark")
    panels = [p for p in (p2 and "p2", bz and "bz") if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "p2":
            for i, key in enumerate(dict.fromkeys((r["experiment"], r["method"]) for r in p2)):
                pts = sorted((_particles(r["config"]), r["value"]) for r in p2
                             if (r["experiment"], r["method"]) == key)
                c, mk = _style(key[1], i)
                ax.plot(*zip(*pts), marker=mk, color="C%d" % i, label="%s, %s" % key)
            ax.set_ylabel("test MSE of dx/dt (state units² / time²)")
            ax.set_title("Paper 2: zero shot, trained on few particles")
        else:
            for i, key in enumerate(dict.fromkeys((r["method"], r["metric"]) for r in bz)):
                pts = sorted((_particles(r["config"]), r["value"]) for r in bz
                             if (r["method"], r["metric"]) == key)
                c, mk = _style(key[0], i)
                ax.plot(*zip(*pts), marker=mk, color=c, ls="-" if key[1] == "zerr" else ":",
                        label="%s, %s" % key)
            ax.set_ylabel("rollout error, geometric mean (dimensionless)")
            ax.set_title("Benchmark: spring ring, trained on 5")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("particles (count)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def plot_optimizers(rows, out_dir):
    """paper2 lattice_3d_optimizers as time against error: each optimizer's test
    MSE at the end of its budget (filled) and the time it first reached the
    published sampled MSE (open, on the threshold line), the sampled fit as a
    star, the published threshold as a horizontal line. Needs paper2.json."""
    name = "optimizers.png"
    sel = [r for r in (rows or []) if r.get("experiment") == "lattice_3d_optimizers"]
    if not sel:
        return _skip(name, "no lattice_3d_optimizers rows (paper2.json)")
    fig, ax = plt.subplots(figsize=(7.2, 5.0))
    target = next((r.get("target_mse") for r in sel if _finite(r.get("target_mse"))), None)
    opt = [r for r in sel if r["method"] != "sampled"]
    for i, r in enumerate(opt):
        c = plt.cm.tab20(i % 20)
        if _finite(r["value"], r["seconds"]):
            ax.plot(r["seconds"], r["value"], "o", color=c, ms=7, label=r["method"])
            ax.annotate(r["method"], (r["seconds"], r["value"]), fontsize=6,
                        xytext=(4, 2), textcoords="offset points")
        rt = r.get("reach_target_seconds")
        if target and _finite(rt):
            ax.plot(rt, target, "o", mfc="none", color=c, ms=8)
            ax.plot([rt, r["seconds"]], [target, r["value"]], color=c, lw=0.6, alpha=0.5)
    for r in sel:
        if r["method"] == "sampled" and _finite(r["value"], r["seconds"]):
            ax.plot(r["seconds"], r["value"], "*", color="C3", ms=15, mec="k",
                    label="sampled fit (ours)")
    if target:
        ax.axhline(target, color="C3", ls="--", lw=1,
                   label="published sampled MSE %.3g" % target)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("test MSE of dx/dt (state units² / time²)")
    ax.set_title("Paper 2, 3D lattice: optimizers vs the sampled fit\n"
                 "filled: MSE at the budget; open: time to reach the published MSE",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=3, loc="best")
    fig.tight_layout()
    return _save(fig, out_dir, name)


def plot_curves(curves, out_dir):
    """The benchmark's Zerr and Herr over rollout time (benchmark_curves.csv),
    one line per experiment, configuration and model."""
    name = "curves.png"
    if not curves:
        return _skip(name, "no benchmark_curves.csv")
    metrics = [m for m in ("zerr", "herr") if any(k[3] == m for k in curves)]
    if not metrics:
        return _skip(name, "no zerr/herr curves")
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.0 * len(metrics), 4.6), squeeze=False)
    label = {"zerr": "Zerr: relative state error", "herr": "Herr: relative energy error"}
    # colour by model (as everywhere: pair green, mp purple, Adam black), line
    # style by experiment and configuration
    configs = list(dict.fromkeys((k[0], k[1]) for k in curves))
    styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2))]
    for ax, m in zip(axes[0], metrics):
        for i, k in enumerate(k for k in curves if k[3] == m):
            t, v = curves[k]
            ok = (t > 0) & np.isfinite(v) & (v > 1e-29)
            c, _ = _style(k[2], i)
            ls = styles[configs.index((k[0], k[1])) % len(styles)]
            ax.plot(t[ok], v[ok], color=c, ls=ls, lw=1.2,
                    label="%s: %s, %s" % (k[0], k[1], k[2]))
        ax.set_yscale("log")
        ax.set_xlabel("rollout time (time units)")
        ax.set_ylabel("%s (dimensionless)" % label[m])
        ax.set_title("Benchmark: %s over time" % m.capitalize())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def plot_lj_displacement(curves, out_dir):
    """paper2 lennard_jones: the displacement error ‖Δx̂ − Δx‖/‖Δx‖ of the learned
    (tabulated) rollout against the true system (leapfrog with 10 substeps) at every
    step (paper2_curves.csv), the same for the true V(r) with the model's step (the
    integrator's error), the model against that (the model's own error), the paper's
    "about 10%" and predicting no motion (1)."""
    name = "lj_displacement.png"
    key = [k for k in (curves or {}) if k[0] == "lennard_jones" and k[3] == "displacement_err"]
    if not key:
        return _skip(name, "no lennard_jones displacement curve (paper2_curves.csv)")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for i, k in enumerate(key):
        t, v = curves[k]
        ok = np.isfinite(v) & (v > 0)
        if k[2] == "true_V":  # the integrator's own error at the model's step
            ax.plot(t[ok], v[ok], color="0.2", lw=1.2,
                    label="true V(r), same leapfrog step (the integrator's error)")
        elif k[2] == "pair_same_step":  # the model's own error, the integrator's taken out
            ax.plot(t[ok], v[ok], color="C1", marker="s", ms=3, lw=1.2,
                    label="hamrf vs true V(r), both with the same step (the model's error)")
        else:
            ax.plot(t[ok], v[ok], color="C2", marker="^", ms=3, lw=1.2,
                    label="hamrf, %s mode, tabulated V(r), vs the reference" % k[2])
    ax.axhline(0.1, color="0.3", ls="--", lw=1, label="paper: about 10% (RF-HGN)")
    ax.axhline(1.0, color="0.6", ls=":", lw=1, label="predicting no motion")
    ax.set_yscale("log")
    ax.set_ylim(top=1e4)  # room for the legend above the lines
    ax.set_xlabel("rollout time (LJ units, τ)")
    ax.set_ylabel("displacement error ‖Δx̂ − Δx‖ / ‖Δx‖")
    ax.set_title("Lennard-Jones, 10 976 particles: learned vs true dynamics")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def _pendulum_models(n, width, seed, ode=True):
    import hamrf
    d = hamrf.systems.generate("pendulum", n=n, seed=seed, p_range=(-2.5, 2.5))
    hnn = hamrf.HNN(width=width, sampler="aswim", seed=seed).fit(d)
    odn = hamrf.ODENet(width=width, sampler="aswim", seed=seed).fit(d) if ode else None
    return hnn, odn


def plot_phase(out_dir, hnn=None, n=2000, width=200, seed=1, dt=0.05, steps=200):
    """Phase portrait of the pendulum: trajectories of a sampled HNN (fitted
    here on n states unless given) over the true flow, and the learned field."""
    import hamrf
    name = "phase.png"
    if hnn is None:
        hnn, _ = _pendulum_models(n, width, seed, ode=False)
    x0 = np.array([[0.5, 0.0], [1.5, 0.0], [2.5, 0.0], [-np.pi, 0.8], [np.pi, -0.8]])
    _, xt, _ = hamrf.rollout("pendulum", x0, dt, steps, integrator="rk4")
    _, xm, _ = hamrf.rollout(hnn, x0, dt, steps, integrator="rk4")
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    q, p = np.meshgrid(np.linspace(-2 * np.pi, 2 * np.pi, 25), np.linspace(-2.5, 2.5, 19))
    grid = np.stack([q.ravel(), p.ravel()], axis=1)
    f = hnn.vector_field(grid)
    ax.quiver(q, p, f[:, 0].reshape(q.shape), f[:, 1].reshape(q.shape), color="0.75",
              angles="xy", width=0.002)
    for i in range(x0.shape[0]):
        out = np.nonzero(np.abs(xt[:, i, 0]) > 2 * np.pi)[0]  # the data's box ends there
        J = out[0] if out.size else xt.shape[0]
        xt, xm = xt.copy(), xm.copy()
        xt[J:, i], xm[J:, i] = np.nan, np.nan
        ax.plot(xt[:, i, 0], xt[:, i, 1], color="k", lw=2.5, alpha=0.35,
                label="true flow" if i == 0 else None)
        ax.plot(xm[:, i, 0], xm[:, i, 1], color="C1", lw=1.0, ls="--",
                label="learned HNN (width %d)" % hnn.width if i == 0 else None)
    ax.set_xlabel("angle q (rad)")
    ax.set_ylabel("momentum p (kg m² / s, unit mass and length)")
    ax.set_title("Pendulum phase portrait: learned vs true flow\n"
                 "(arrows: learned vector field; RK4, %d steps of dt %g)" % (steps, dt),
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return _save(fig, out_dir, name)


def plot_energy(out_dir, hnn=None, odenet=None, n=2000, width=200, seed=1, dt=0.05,
                steps=4000):
    """Relative error of the true energy along rollouts of an HNN and an
    ODE-net (both fitted here on n pendulum states unless given), log scale."""
    import hamrf
    name = "energy.png"
    if hnn is None or odenet is None:
        hnn, odenet = _pendulum_models(n, width, seed)
    x0 = np.array([[1.0, 0.0], [2.0, 0.5]])
    H0 = hamrf.systems.H("pendulum", x0)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for label, model, c in (("true system", "pendulum", "k"), ("HNN", hnn, "C1"),
                            ("ODE-net", odenet, "C0")):
        t, x, _ = hamrf.rollout(model, x0, dt, steps, integrator="rk4", every=10)
        H = hamrf.systems.H("pendulum", x.reshape(-1, 2)).reshape(x.shape[0], x.shape[1])
        err = np.abs(H - H0) / np.abs(H0)
        for i in range(x0.shape[0]):
            ax.plot(t[1:], np.maximum(err[1:, i], 1e-16), color=c, ls=["-", "--"][i],
                    label="%s, x0 = (%g, %g)" % (label, x0[i, 0], x0[i, 1]))
    ax.set_yscale("log")
    ax.set_xlabel("time t (s, unit pendulum)")
    ax.set_ylabel("relative energy error |H(t) − H(0)| / |H(0)|")
    ax.set_title("Pendulum energy over time, RK4 dt %g: HNN vs ODE-net "
                 "(width %d)"
                 % (dt, hnn.width), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m hamrf.plot",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="the directory `hamrf reproduce --out DIR` wrote")
    ap.add_argument("--out", help="where the PNG files go (default DIR/figures)")
    ap.add_argument("--no-models", action="store_true",
                    help="skip phase.png and energy.png (which fit models here)")
    a = ap.parse_args(argv)
    out = a.out or os.path.join(a.dir, "figures")
    j = lambda f: os.path.join(a.dir, f)  # noqa: E731
    p1 = read_rows(j("paper1.csv"))
    p2 = read_json_rows(j("paper2.json")) or read_rows(j("paper2.csv"))
    bench = read_rows(j("benchmark.csv"))
    written = [plot_width(p1, out), plot_time(p1, out), plot_zero_shot(p2, bench, out),
               plot_optimizers(p2, out), plot_curves(read_curves(j("benchmark_curves.csv")), out),
               plot_lj_displacement(read_curves(j("paper2_curves.csv")), out)]
    if not a.no_models:
        hnn, odn = _pendulum_models(2000, 200, 1)
        written += [plot_phase(out, hnn=hnn), plot_energy(out, hnn=hnn, odenet=odn)]
    n = sum(1 for w in written if w)
    print("hamrf.plot: %d figure(s) in %s" % (n, out))
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
