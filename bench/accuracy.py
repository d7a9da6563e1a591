#!/usr/bin/python3
"""Accuracy acceptance check against RF-HNN's published errors (Rahma et al. 2024),
mean of 3 seeds.

For each configuration it generates train (seed 1) and test (seed 2) sets of the
paper's size, fits with `--solver svd` (the papers' lstsq, rcond 1e-13) and with the
default solver, for seeds 1..S, and prints the mean relative L2 error of H beside
the paper's value, with two verdicts:
  svd:  mean error <= 3x the paper's value (or <= the stated absolute bound);
  auto: mean error <= 3x the svd mean error, and mean fit time below svd's.
Slow (tens of minutes: the svd fits of the double pendulum dominate); not a test.
Usage: accuracy.py [--hamrf build/hamrf] [--seeds 3] [--only NAME] [--json-out FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

LV8 = ["--set", "alpha=3.5", "--set", "beta=0.025", "--set", "gamma=10", "--set", "delta=0.07",
       "--q-range=0,8", "--p-range=0,8"]
# name, system, generate args, n, width, sampler, paper mean error, absolute bound (or None)
CONFIGS = []
for w, paper in ((500, (1.66e-8, 4.23e-9, 2.40e-9, 2.40e-9)),
                 (1000, (1.49e-11, 8.74e-10, 3.62e-10, 3.62e-10))):
    for s, p in zip(("elm", "uswim", "aswim", "swim"), paper):
        CONFIGS.append((f"pendulum-{w}-{s}", "pendulum", [], 10000, w, s, p, None))
for s, p in zip(("elm", "uswim", "aswim", "swim"), (1.55e-2, 1.10e-2, 1.14e-2, 1.17e-2)):
    CONFIGS.append((f"double_pendulum-2000-{s}", "double_pendulum", [], 20000, 2000, s, p, None))
for s, p in (("aswim", 2.79e-9), ("swim", 2.79e-9)):
    CONFIGS.append((f"lotka_volterra8-2000-{s}", "lotka_volterra", LV8, 10000, 2000, s, p, None))
CONFIGS.append(("henon_heiles-2000-aswim", "henon_heiles", [], 20000, 2000, "aswim", None, 1e-5))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"accuracy.py: failed: {' '.join(cmd)}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hamrf", default="build/hamrf")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default=None, help="substring of configuration names")
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hamrf_acc_")
    data, rows, ok = {}, [], True
    print(f"{'configuration':<28} {'paper':>9} {'svd mean':>9} {'auto mean':>9} {'svd s':>7} "
          f"{'auto s':>7}  verdict", flush=True)
    for name, system, gen, n, width, sampler, paper, bound in CONFIGS:
        if a.only and a.only not in name:
            continue
        key = (system, tuple(gen), n)
        if key not in data:
            tr, te = (os.path.join(work, f"{len(data)}_{s}.npz") for s in ("train", "test"))
            run([a.hamrf, "generate", "--system", system, *gen, "--n", str(n), "--seed", "1",
                 "--quiet", "-o", tr])
            run([a.hamrf, "generate", "--system", system, *gen, "--n", str(n), "--seed", "2",
                 "--quiet", "-o", te])
            data[key] = (tr, te)
        tr, te = data[key]
        res = {}
        for solver in ("svd", "auto"):
            errs, secs = [], []
            for seed in range(1, a.seeds + 1):
                m = os.path.join(work, "model.npz")
                t = json.loads(run([a.hamrf, "train", "--data", tr, "--width", str(width),
                                    "--sampler", sampler, "--solver", solver, "--seed", str(seed),
                                    "--quiet", "--json", "-o", m]))
                e = json.loads(run([a.hamrf, "eval", "--model", m, "--data", te, "--json"]))
                errs.append(e["rel_l2_H"])
                secs.append(t["fit_seconds"])
            res[solver] = (sum(errs) / len(errs), sum(secs) / len(secs), errs)
        svd, auto = res["svd"], res["auto"]
        limit = 3 * paper if paper else bound
        v_svd = svd[0] <= limit
        v_auto = auto[0] <= 3 * svd[0] and auto[1] < svd[1]
        verdict = ("PASS" if v_svd else "FAIL(svd)") + " " + ("PASS" if v_auto else "FAIL(auto)")
        ok = ok and v_svd and v_auto
        ps = f"{paper:9.2e}" if paper else f"<={bound:7.0e}"
        print(f"{name:<28} {ps:>9} {svd[0]:9.2e} {auto[0]:9.2e} {svd[1]:7.2f} {auto[1]:7.2f}  "
              f"{verdict}", flush=True)
        rows.append({"name": name, "paper": paper, "bound": bound, "svd": svd, "auto": auto,
                     "verdict": verdict})
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
