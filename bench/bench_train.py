#!/usr/bin/python3
"""Training benchmark: hamrf against the independent NumPy reference (ref_numpy.py).

For each of double_pendulum and henon_heiles (RF-HNN's hardest cases, docs/math.md §5) it
generates 20 000 training points (seed 1) and 20 000 test points (seed 2) with
`hamrf generate`, then, in the same run and on the same machine, fits an A-SWIM network
of width 2000 with `hamrf train` (default solver) and with ref_numpy.py, and evaluates
both on the test set. It reports, per system:

    hamrf fit_seconds, ref fit_seconds, speed-up (ref / hamrf),
    hamrf rel_l2_H, ref rel_l2_H, error ratio (hamrf / ref),
    hamrf solve GFLOP/s next to the machine's DGEMM GFLOP/s (bench/dgemm_rate),

and one PASS/FAIL line per criterion and system: speed-up >= 25, error ratio <= 1.2, and
the fit's flop rate (the solves' model flop count over the whole fit's seconds, sampling
and features included) >= 80% of the DGEMM rate measured in the same run. With several
seeds the times are medians and the errors means (RF-HNN reports the mean error over
runs). The first seed's fit also prints where its time goes (hamrf's HAMRF_DEBUG lines:
features, Gram, Cholesky, PCG, LSQR per pass).

`--memory` instead checks the memory bound: 1 000 000 pendulum points, `hamrf train
--solver normal --width 2000`, peak resident memory of that process against 1 GiB.

Peak memory of each child process comes from os.wait4 (the kernel's ru_maxrss of that
one process; the per-process form of getrusage(RUSAGE_CHILDREN)), so no /usr/bin/time
is needed. Exit status: 0 all PASS, 1 some FAIL, 2 a tool failed or is missing.

Uses only Debian's /usr/bin/python3 and its numpy (the data sets are read by
ref_numpy.py only).
"""

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's interpreter, the one with numpy

# Pass thresholds of the training benchmark (the project's targets).
MIN_SPEEDUP = 25.0  # hamrf must fit at least 25x faster than the NumPy reference ...
MAX_ERROR_RATIO = 1.2  # ... with a test error at most 1.2x the reference's ...
MIN_RATE_FRACTION = 0.8  # ... at a flop rate of at least 80% of the machine's DGEMM
MEMORY_LIMIT_MIB = 1024.0  # 1 000 000 points, width 2000, solver normal: peak RSS <= 1 GiB

PI = repr(math.pi)
# RF-HNN's boxes (docs/math.md §5), passed explicitly so the benchmark does not depend on
# the CLI's defaults.
SYSTEMS = {
    "double_pendulum": ["--q-range=-%s,%s" % (PI, PI), "--p-range=-1,1"],
    "henon_heiles": ["--q-range=-5,5", "--p-range=-5,5"],  # α = 1, the default
    "pendulum": ["--q-range=-%s,%s" % (repr(2 * math.pi), repr(2 * math.pi)), "--p-range=-1,1"],
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class ToolError(RuntimeError):
    pass


def run_child(cmd, env, timeout=None):
    """Run cmd; return stdout, stderr, wall seconds and the child's own peak RSS (MiB).
    A child still running after `timeout` seconds is killed (ToolError)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        except OSError as e:
            raise ToolError("cannot start %s: %s" % (cmd[0], e))
        killed = []

        def kill():
            killed.append(True)
            proc.kill()  # this child only, by its own handle

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves to get its rusage
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if killed:
        raise ToolError("killed after %.0f s (--timeout %g): %s" % (wall, timeout, " ".join(cmd)))
    if proc.returncode != 0:
        raise ToolError("command failed (exit %d): %s\n%s" %
                        (proc.returncode, " ".join(cmd), (stderr or stdout)[-2000:]))
    return {"stdout": stdout, "stderr": stderr, "wall_seconds": wall,
            "peak_rss_mib": usage.ru_maxrss / 1024.0}  # ru_maxrss is in KiB on Linux


def parse_json(text, what):
    """The JSON object a tool printed: all of stdout, else its last line that parses."""
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise ToolError("%s printed no JSON object; stdout was:\n%s" % (what, text[-2000:]))


def generate(args, env, system, n, seed, path):
    cmd = [args.hamrf, "generate", "--system", system] + SYSTEMS[system] + \
          ["--n", str(n), "--seed", str(seed), "-o", path]
    r = run_child(cmd, env)
    log("  generated %s: %d points, seed %d (%.1f s)" % (os.path.basename(path), n, seed,
                                                        r["wall_seconds"]))


def hamrf_fit(args, env, train, test, width, seed, model, extra=(), breakdown=False):
    """hamrf train --json, then hamrf eval --json; merged into one record. With
    breakdown, the fit runs with HAMRF_DEBUG=1 and rec["breakdown"] holds its timing lines."""
    cmd = [args.hamrf, "train", "--data", train, "--width", str(width),
           "--sampler", args.sampler, "--seed", str(seed), "-o", model, "--json"] + list(extra)
    r = run_child(cmd, dict(env, HAMRF_DEBUG="1") if breakdown else env)
    rec = parse_json(r["stdout"], "hamrf train")
    if breakdown:
        rec["breakdown"] = [l[len("[hamrf debug] "):] for l in r["stderr"].splitlines()
                            if l.startswith("[hamrf debug]") and
                            not re.match(r"lsqr \d+:", l[len("[hamrf debug] "):])]
    rec["wall_seconds"] = r["wall_seconds"]
    rec["peak_rss_mib"] = r["peak_rss_mib"]
    # Solve rate: as reported, else from the reported flop count and solve time.
    if rec.get("solve_gflops") is None and rec.get("solve_flops") and rec.get("solve_seconds"):
        rec["solve_gflops"] = 1e-9 * rec["solve_flops"] / rec["solve_seconds"]
    if test is not None:
        e = run_child([args.hamrf, "eval", "--model", model, "--data", test, "--json"], env)
        ev = parse_json(e["stdout"], "hamrf eval")
        for k, v in ev.items():  # the test-set metrics win; clashing train ones are kept
            if k in rec:
                rec["train_" + k] = rec[k]
            rec[k] = v
    return rec


def ref_fit(args, env, train, test, width, seed):
    cmd = [PY, args.ref, "--train", train, "--test", test, "--width", str(width),
           "--sampler", args.sampler, "--seed", str(seed), "--json"]
    r = run_child(cmd, env)
    rec = parse_json(r["stdout"], "ref_numpy.py")
    rec["wall_seconds"] = r["wall_seconds"]
    rec["peak_rss_mib"] = r["peak_rss_mib"]
    return rec


def machine_rate(args, env):
    """bench/dgemm_rate's JSON, or None (with a note) when it is not built."""
    if not os.access(args.dgemm_rate, os.X_OK):
        log("note: %s not found; build it with `cmake --build build --target bench_tools`"
            % args.dgemm_rate)
        return None
    try:
        rate = parse_json(run_child([args.dgemm_rate], env)["stdout"], "dgemm_rate")
    except ToolError as e:
        log("note: dgemm_rate failed: %s" % e)
        return None
    log("machine: DGEMM %.1f GFLOP/s, DSYRK %.1f GFLOP/s, %s threads (%s)" %
        (rate["dgemm_gflops"], rate["dsyrk_gflops"], rate.get("threads"),
         rate.get("openblas_config", "?")))
    warn_coretype(rate)
    return rate


def warn_coretype(rate):
    """OpenBLAS 0.3.21's DYNAMIC_ARCH does not know recent Xeons and falls back to its
    Prescott (SSE3) kernels, several times slower than the CPU allows. Both hamrf and
    NumPy load the same libopenblas, so the comparison stays fair, but say so."""
    cfg = rate.get("openblas_config", "")
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((l for l in fh if l.startswith("flags")), "")
    except OSError:
        flags = ""
    if "Prescott" in cfg and " avx2" in flags:
        better = "SkylakeX" if " avx512f" in flags else "Haswell"
        log("WARNING: OpenBLAS runs its Prescott kernels on a CPU with AVX2%s; rerun with "
            "--openblas-coretype %s for the machine's real rate (applies to every tool)."
            % ("/AVX-512" if better == "SkylakeX" else "", better))


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def mean(xs):
    xs = [x for x in xs if x is not None]
    return statistics.fmean(xs) if xs else None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def bench_train(args, env, workdir, rate):
    rows = []
    for system in args.systems:
        log("%s:" % system)
        train = os.path.join(workdir, system + "_train.npz")
        test = os.path.join(workdir, system + "_test.npz")
        generate(args, env, system, args.n, 1, train)
        generate(args, env, system, args.n, 2, test)
        runs = []
        for seed in range(1, args.seeds + 1):
            model = os.path.join(workdir, "%s_model_%d.npz" % (system, seed))
            h = hamrf_fit(args, env, train, test, args.width, seed, model, breakdown=seed == 1)
            log("  seed %d hamrf: fit %.2f s (solver %s), rel_l2_H %.3e, peak %.0f MiB" %
                (seed, h["fit_seconds"], h.get("solver"), h["rel_l2_H"], h["peak_rss_mib"]))
            r = ref_fit(args, env, train, test, args.width, seed)
            log("  seed %d ref  : fit %.2f s (lstsq), rel_l2_H %.3e, peak %.0f MiB" %
                (seed, r["fit_seconds"], r["rel_l2_H"], r["peak_rss_mib"]))
            runs.append({"seed": seed, "hamrf": h, "ref": r})

        hfit = median([x["hamrf"]["fit_seconds"] for x in runs])
        rfit = median([x["ref"]["fit_seconds"] for x in runs])
        herr = mean([x["hamrf"]["rel_l2_H"] for x in runs])
        rerr = mean([x["ref"]["rel_l2_H"] for x in runs])
        speedup, err_ratio = ratio(rfit, hfit), ratio(herr, rerr)
        # the fit's rate: all solves' model flops over the whole fit (sampling, features,
        # both passes), against the DGEMM rate of this run
        fit_gflops = median([1e-9 * x["hamrf"]["solve_flops"] / x["hamrf"]["fit_seconds"]
                             for x in runs if x["hamrf"].get("solve_flops")])
        rate_fraction = ratio(fit_gflops, rate["dgemm_gflops"] if rate else None)
        checks = {
            "speed-up": (speedup is not None and speedup >= args.min_speedup,
                         "%sx >= %gx" % (fmt(speedup, ".1f"), args.min_speedup)),
            "error ratio": (err_ratio is not None and err_ratio <= args.max_error_ratio,
                            "%s <= %g (mean of %d seeds)" % (fmt(err_ratio, ".2f"),
                                                            args.max_error_ratio, args.seeds)),
            "fit flop rate": (rate_fraction is not None and
                              rate_fraction >= args.min_rate_fraction,
                              "%s GFLOP/s = %s%% of DGEMM %s GFLOP/s, >= %g%%" %
                              (fmt(fit_gflops, ".1f"),
                               fmt(None if rate_fraction is None else 100 * rate_fraction, ".0f"),
                               fmt(rate["dgemm_gflops"] if rate else None, ".1f"),
                               100 * args.min_rate_fraction)),
        }
        ok = all(v[0] for v in checks.values())
        rows.append({
            "system": system, "n_train": args.n, "n_test": args.n, "width": args.width,
            "sampler": args.sampler, "seeds": args.seeds,
            "solver": runs[0]["hamrf"].get("solver"),
            "hamrf_fit_seconds": hfit, "ref_fit_seconds": rfit, "speedup": speedup,
            "hamrf_rel_l2_H": herr, "ref_rel_l2_H": rerr, "error_ratio": err_ratio,
            "hamrf_rel_l2_grad": mean([x["hamrf"].get("rel_l2_grad") for x in runs]),
            "ref_rel_l2_grad": mean([x["ref"].get("rel_l2_grad") for x in runs]),
            "hamrf_solve_seconds": median([x["hamrf"].get("solve_seconds") for x in runs]),
            "ref_solve_seconds": median([x["ref"].get("solve_seconds") for x in runs]),
            "hamrf_solve_gflops": median([x["hamrf"].get("solve_gflops") for x in runs]),
            "hamrf_fit_gflops": fit_gflops, "fit_rate_fraction": rate_fraction,
            "checks": {k: {"pass": v[0], "detail": v[1]} for k, v in checks.items()},
            "breakdown_seed1": runs[0]["hamrf"].get("breakdown"),
            "dgemm_gflops": rate["dgemm_gflops"] if rate else None,
            "hamrf_peak_rss_mib": max(x["hamrf"]["peak_rss_mib"] for x in runs),
            "ref_peak_rss_mib": max(x["ref"]["peak_rss_mib"] for x in runs),
            "pass": ok, "runs": runs,
        })

    head = ("system", "hamrf fit s", "ref fit s", "speed-up", "hamrf relH", "ref relH",
            "err ratio", "fit GF/s", "DGEMM GF/s", "verdict")
    table = [head]
    for r in rows:
        table.append((r["system"], fmt(r["hamrf_fit_seconds"], ".3f"),
                      fmt(r["ref_fit_seconds"], ".3f"), fmt(r["speedup"], ".1f") + "x",
                      fmt(r["hamrf_rel_l2_H"], ".3e"), fmt(r["ref_rel_l2_H"], ".3e"),
                      fmt(r["error_ratio"], ".2f"), fmt(r["hamrf_fit_gflops"], ".1f"),
                      fmt(r["dgemm_gflops"], ".1f"), "PASS" if r["pass"] else "FAIL"))
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    print("\nA-SWIM" if args.sampler == "aswim" else "\n" + args.sampler,
          "width %d, %d train / %d test points, %d seed(s); PASS: speed-up >= %g, "
          "error ratio <= %g, fit flop rate >= %g%% of DGEMM" %
          (args.width, args.n, args.n, args.seeds, args.min_speedup, args.max_error_ratio,
           100 * args.min_rate_fraction))
    for i, t in enumerate(table):
        print("  ".join(s.ljust(w) if j == 0 else s.rjust(w)
                        for j, (s, w) in enumerate(zip(t, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for r in rows:
        for name, c in r["checks"].items():
            print("%-5s %s %s: %s" % ("PASS" if c["pass"] else "FAIL", r["system"], name,
                                      c["detail"]))
    for r in rows:
        if r.get("breakdown_seed1"):
            print("%s, seed 1, where the fit's time goes: %s" %
                  (r["system"], "; ".join(r["breakdown_seed1"])))
    for r in rows:
        print("%s: hamrf solver %s, solve %s s vs ref lstsq %s s; rel_l2_grad %s vs %s; "
              "peak RSS %.0f vs %.0f MiB" %
              (r["system"], r["solver"], fmt(r["hamrf_solve_seconds"], ".3f"),
               fmt(r["ref_solve_seconds"], ".3f"), fmt(r["hamrf_rel_l2_grad"], ".3e"),
               fmt(r["ref_rel_l2_grad"], ".3e"), r["hamrf_peak_rss_mib"],
               r["ref_peak_rss_mib"]))
    return rows, all(r["pass"] for r in rows)


def bench_memory(args, env, workdir):
    n, n_test = args.memory_n, 20000
    log("memory check: pendulum, %d points, width %d, solver normal" % (n, args.width))
    train = os.path.join(workdir, "pendulum_big_train.npz")
    test = os.path.join(workdir, "pendulum_big_test.npz")
    generate(args, env, "pendulum", n, 1, train)
    generate(args, env, "pendulum", n_test, 2, test)
    model = os.path.join(workdir, "pendulum_big_model.npz")
    h = hamrf_fit(args, env, train, test, args.width, 1, model, extra=["--solver", "normal"])
    peak = h["peak_rss_mib"]
    ok = peak <= args.memory_limit_mib
    print("\nmemory: pendulum %d points, width %d, sampler %s, solver normal: peak RSS "
          "%.1f MiB (limit %.0f MiB) %s; fit %.2f s, test rel_l2_H %s" %
          (n, args.width, args.sampler, peak, args.memory_limit_mib, "PASS" if ok else "FAIL",
           h["fit_seconds"], fmt(h.get("rel_l2_H"), ".3e")))
    return {"system": "pendulum", "n_train": n, "width": args.width, "solver": "normal",
            "sampler": args.sampler, "peak_rss_mib": peak,
            "limit_mib": args.memory_limit_mib, "pass": ok, "hamrf": h}, ok


def bench_parser(doc, quick_help):
    """The option parser the training benchmarks share (this one and scale.py): --hamrf,
    --quick, --systems and --sampler; add_tool_options adds the process options."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--hamrf", default="build/hamrf", help="the built hamrf tool")
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--systems", default="double_pendulum,henon_heiles",
                    help="comma-separated systems")
    ap.add_argument("--sampler", default="aswim", choices=("elm", "uswim", "swim", "aswim"))
    return ap


def add_tool_options(ap, keep_help, json_help):
    """--threads, --keep and --json-out, shared by the training benchmarks."""
    ap.add_argument("--threads", type=int, default=None,
                    help="set OPENBLAS_NUM_THREADS and OMP_NUM_THREADS for every tool "
                         "(default: leave the environment alone)")
    ap.add_argument("--keep", default=None, metavar="DIR", help=keep_help)
    ap.add_argument("--json-out", default=None, metavar="FILE", help=json_help)


def main(argv=None):
    ap = bench_parser(__doc__, "smoke run: 2000 points, width 300 (memory: 100 000 points)")
    ap.add_argument("--seeds", type=int, default=1, help="fits per system (seeds 1..N)")
    ap.add_argument("--width", type=int, default=None, help="hidden width (default 2000)")
    ap.add_argument("--n", type=int, default=None, help="train and test points (default 20000)")
    ap.add_argument("--memory", action="store_true", help="run the memory check instead")
    ap.add_argument("--memory-n", type=int, default=None,
                    help="points for --memory (default 1 000 000)")
    ap.add_argument("--memory-limit-mib", type=float, default=MEMORY_LIMIT_MIB)
    ap.add_argument("--min-speedup", type=float, default=MIN_SPEEDUP)
    ap.add_argument("--max-error-ratio", type=float, default=MAX_ERROR_RATIO)
    ap.add_argument("--min-rate-fraction", type=float, default=MIN_RATE_FRACTION,
                    help="fit flop rate / DGEMM rate")
    ap.add_argument("--ref", default=os.path.join(HERE, "ref_numpy.py"),
                    help="the NumPy reference")
    ap.add_argument("--dgemm-rate", default=None,
                    help="dgemm_rate tool (default: bench/dgemm_rate next to --hamrf)")
    ap.add_argument("--openblas-coretype", default=None, metavar="NAME",
                    help="set OPENBLAS_CORETYPE for every tool (e.g. SkylakeX, Haswell)")
    add_tool_options(ap, "write data sets and models here and keep them (default: temp)",
                     "save the results")
    args = ap.parse_args(argv)

    args.systems = [s for s in args.systems.split(",") if s]
    for s in args.systems:
        if s not in SYSTEMS:
            ap.error("unknown system %r (known: %s)" % (s, ", ".join(SYSTEMS)))
    if args.width is None:
        args.width = 300 if args.quick else 2000
    if args.n is None:
        args.n = 2000 if args.quick else 20000
    if args.memory_n is None:
        args.memory_n = 100000 if args.quick else 1000000
    if args.seeds < 1:
        ap.error("--seeds must be at least 1")
    if not os.access(args.hamrf, os.X_OK):
        log("error: hamrf tool %r not found or not executable (build it: make)" % args.hamrf)
        return 2
    args.hamrf = os.path.abspath(args.hamrf)
    if args.dgemm_rate is None:
        args.dgemm_rate = os.path.join(os.path.dirname(args.hamrf), "bench", "dgemm_rate")

    env = dict(os.environ)
    if args.threads is not None:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(args.threads)
    if not args.openblas_coretype:
        # Give the NumPy reference and dgemm_rate the same OpenBLAS kernels
        # hamrf runs with (it selects them itself: docs/architecture.md), so
        # the comparison measures the algorithms, not the kernel choice.
        try:
            out = subprocess.run([args.hamrf, "--version"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                if line.startswith("openblas kernels:"):
                    args.openblas_coretype = line.split(":", 1)[1].strip()
        except OSError:
            pass
    if args.openblas_coretype:
        env["OPENBLAS_CORETYPE"] = args.openblas_coretype
        print(f"OpenBLAS kernels for every tool: {args.openblas_coretype}")

    result = {
        "machine": {"host": platform.node(), "cpus": os.cpu_count(),
                    "processor": platform.processor(),
                    "OPENBLAS_NUM_THREADS": env.get("OPENBLAS_NUM_THREADS"),
                    "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS"),
                    "OPENBLAS_CORETYPE": env.get("OPENBLAS_CORETYPE")},
        "hamrf": args.hamrf, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="hamrf_bench_")
    workdir = args.keep or tmp.name
    try:
        if args.memory:
            result["memory"], ok = bench_memory(args, env, workdir)
        else:
            rate = machine_rate(args, env)
            result["dgemm_rate"] = rate
            result["train"], ok = bench_train(args, env, workdir, rate)
    except ToolError as e:
        log("error: %s" % e)
        result["error"] = str(e)
        ok = None
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(result, fh, indent=1)
        log("results saved to %s" % args.json_out)
    return 2 if ok is None else (0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
