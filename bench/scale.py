#!/usr/bin/python3
"""Scale table: A-SWIM fits beyond the papers' sizes (widths up to 10 000, 200 000 points).

    /usr/bin/python3 bench/scale.py --hamrf build/hamrf [--json-out FILE] [--plot FILE.png]
    /usr/bin/python3 bench/scale.py --hamrf build/hamrf --quick      # smoke run, seconds
    /usr/bin/python3 bench/scale.py --widths 2000,5000 --points 20000 --systems henon_heiles
    /usr/bin/python3 bench/scale.py --from-json FILE [--plot FILE.png] # a saved run again

hamrf's fit needs O(M^2) memory (the M x M Gram matrix and its Cholesky factor; the
K x M features are kept when they fit the cache budget, else streamed in row blocks),
where the papers' NumPy procedure forms the full 4K x (M+1) matrix for lstsq (at width
10 000: 6.4 GB on 20 000 points, 64 GB on 200 000, before lstsq's copies). For each
system (double_pendulum with q in [-pi, pi], p in [-1, 1]; henon_heiles with q, p in
[-5, 5]: the boxes of bench_train.py), each number of training points (seed 1) and each
width it runs `hamrf train --sampler aswim --json` (default solver) and `hamrf eval --json` on
20 000 test points (seed 2), and prints per row:

    system, width, points, test relative L2 error of H and of grad H, fit seconds (train's
    fit_seconds), wall seconds of the train process, its peak resident memory (MiB, from
    os.wait4), solver, whether the features were cached or streamed (train's
    features_cached, when it says), and fit_seconds / (K*M^2) in ns,

then two verdicts:

    (1) "width W on K double-pendulum points fits on this machine" for the largest width
        and point count: the fit completed with peak RSS below --rss-limit-gib (24);
    (2) "error keeps falling with width" per system at its largest point count: the test
        error of H falls strictly from each width to the next larger one.

Combinations with width > points are skipped. Defaults: widths 2000, 5000, 10 000;
points 20 000, 50 000, 200 000; the full table takes 35-65 min on 2 cores (one fit, the
QR route at width 10 000, 19-26 min). --quick: widths 100, 300, 900 on 500 and 5000
points, 2000 test points (seconds). The tool is copied into the work directory first, so
that a rebuild of the build tree during the run cannot mix two builds in one table.

Exit status: 0 every verdict PASS, 1 some FAIL, 2 a tool failed (or a fit ran past
--timeout), or is missing. Uses only Debian's /usr/bin/python3 and its standard library;
--plot imports matplotlib (Debian's python3-matplotlib) only when given.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The training benchmark's boxes (RF-HNN's, docs/math.md §5) and its helpers.
from bench_train import (SYSTEMS, ToolError, add_tool_options, bench_parser, fmt,  # noqa: E402
                         generate, log, parse_json, run_child)
LABEL = {"double_pendulum": "double pendulum", "henon_heiles": "Hénon–Heiles"}

RSS_LIMIT_GIB = 24.0  # the development machine's memory


def fit_row(args, env, system, width, points, train, test, model):
    """One row: hamrf train --json then hamrf eval --json. A failure of either is kept
    in the row ("error") so that the rest of the table still runs."""
    row = {"system": system, "width": width, "points": points, "n_test": args.n_test,
           "sampler": args.sampler, "seed": args.seed}
    cmd = [args.hamrf, "train", "--data", train, "--width", str(width),
           "--sampler", args.sampler, "--seed", str(args.seed), "-o", model, "--json"]
    try:
        r = run_child(cmd, env, args.timeout)
        tr = parse_json(r["stdout"], "hamrf train")
        row.update({
            "fit_seconds": tr.get("fit_seconds"), "sample_seconds": tr.get("sample_seconds"),
            "solve_seconds": tr.get("solve_seconds"), "solve_gflops": tr.get("solve_gflops"),
            "solver": tr.get("solver"), "solver_reason": tr.get("solver_reason"),
            "features_cached": tr.get("features_cached"), "passes": tr.get("passes"),
            "refine_iterations": tr.get("refine_iterations"),
            "rel_residual": tr.get("rel_residual"),
            "wall_seconds": r["wall_seconds"], "peak_rss_mib": r["peak_rss_mib"],
            "train": tr})
        e = run_child([args.hamrf, "eval", "--model", model, "--data", test, "--json"], env,
                      args.timeout)
        ev = parse_json(e["stdout"], "hamrf eval")
        row.update({"rel_l2_H": ev.get("rel_l2_H"), "rel_l2_grad": ev.get("rel_l2_grad"),
                    "mse_dxdt": ev.get("mse_dxdt"), "eval": ev})
    except ToolError as ex:
        row["error"] = str(ex)
        log("  error: %s" % ex)
    finally:
        if os.path.exists(model):
            os.unlink(model)
    fs = row.get("fit_seconds")
    row["ns_per_KM2"] = None if fs is None else 1e9 * fs / (points * float(width) ** 2)
    return row


def features_word(row):
    fc = row.get("features_cached")
    return "-" if fc is None else ("cached" if fc else "streamed")


def print_table(rows):
    head = ("system", "width", "points", "test relH", "test rel∇H", "fit s", "wall s",
            "peak MiB", "solver", "features", "fit/(K·M²) ns")
    table = [head]
    for r in rows:
        if r.get("error"):
            table.append((r["system"], str(r["width"]), str(r["points"]), "ERROR", "", "",
                          "", "", "", "", ""))
            continue
        table.append((r["system"], str(r["width"]), str(r["points"]),
                      fmt(r.get("rel_l2_H"), ".3e"), fmt(r.get("rel_l2_grad"), ".3e"),
                      fmt(r.get("fit_seconds"), ".1f"), fmt(r.get("wall_seconds"), ".1f"),
                      fmt(r.get("peak_rss_mib"), ".0f"), r.get("solver") or "-",
                      features_word(r), fmt(r.get("ns_per_KM2"), ".3f")))
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    for i, t in enumerate(table):
        print("  ".join(s.ljust(w) if j == 0 else s.rjust(w)
                        for j, (s, w) in enumerate(zip(t, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for r in rows:
        if r.get("error"):
            print("%s width %d, %d points: %s" % (r["system"], r["width"], r["points"],
                                                  r["error"].splitlines()[0]))


def verdicts(args, rows):
    """[(text, True/False/None)]; None: not applicable to the rows that were run."""
    out = []
    find = {(r["system"], r["width"], r["points"]): r for r in rows}
    if "double_pendulum" in args.systems:
        w, k = max(args.widths), max(args.points)
        text = ("width %s on %s double-pendulum points fits on this machine (completed, "
                "peak RSS < %g GiB)" % (format(w, ",").replace(",", " "),
                                        format(k, ",").replace(",", " "), args.rss_limit_gib))
        r = find.get(("double_pendulum", w, k))
        if r is None:
            out.append((text, None))
        else:
            ok = (not r.get("error") and r.get("peak_rss_mib") is not None and
                  r["peak_rss_mib"] < args.rss_limit_gib * 1024.0)
            out.append((text, ok))
    for system in args.systems:
        k = max(args.points)
        series = [find.get((system, w, k)) for w in sorted(args.widths)]
        series = [r for r in series if r is not None]
        text = "error keeps falling with width: %s, %d points (%s)" % (
            system, k, " > ".join(fmt(r.get("rel_l2_H"), ".2e") for r in series))
        if len(series) < 2:
            out.append((text, None))
            continue
        errs = [r.get("rel_l2_H") for r in series]
        ok = all(e is not None for e in errs) and all(b < a for a, b in zip(errs, errs[1:]))
        out.append((text, ok))
    return out


def machine_note():
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) / 1024.0 ** 2  # KiB -> GiB
    except OSError:
        pass
    return "%d cores, %s GiB, %s" % (os.cpu_count() or 0, fmt(mem, ".0f"),
                                     time.strftime("%Y-%m-%d")), mem


def plot(path, rows, args, note):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.2))
    colors = {"double_pendulum": "tab:blue", "henon_heiles": "tab:red"}
    markers = ["o", "s", "^", "D", "v", "P"]
    styles = ["-", "--", ":", "-."]
    qr_points = []
    for system in args.systems:
        for i, k in enumerate(sorted(args.points)):
            pts = sorted((r["width"], r["rel_l2_H"]) for r in rows
                         if r["system"] == system and r["points"] == k and
                         not r.get("error") and r.get("rel_l2_H"))
            if not pts:
                continue
            qr = [(r["width"], r["rel_l2_H"]) for r in rows
                  if r["system"] == system and r["points"] == k and r.get("solver") == "qr"
                  and not r.get("error") and r.get("rel_l2_H")]
            qr_points.extend(qr)
            ax.plot([p[0] for p in pts], [p[1] for p in pts],
                    color=colors.get(system), marker=markers[i % len(markers)],
                    linestyle=styles[i % len(styles)],
                    label="%s, %s points" % (LABEL.get(system, system),
                                             format(k, ",").replace(",", " ")))
    if qr_points:  # where auto left the Gram route for the QR of the reduced matrix
        ax.plot([p[0] for p in qr_points], [p[1] for p in qr_points], linestyle="none",
                marker="o", markersize=14, markerfacecolor="none", markeredgecolor="black",
                label="solver qr (auto left the\nGram route); others normal")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden width M")
    ax.set_ylabel("test relative L2 error of H")
    ws = sorted(args.widths)
    ax.set_xticks(ws)
    ax.set_xticklabels([format(w, ",").replace(",", " ") for w in ws])
    ax.minorticks_off()
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title("hamrf A-SWIM, default solver (auto), %s test points\n%s"
                 % (format(args.n_test, ",").replace(",", " "), note))
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
              title="system, training points")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    log("plot saved to %s" % path)


def report(args, rows, note, total):
    """Print the table and the verdicts; return the verdicts."""
    print("\nScale table: %s, default solver, seed %d; %d test points (seed 2); %s" %
          ("A-SWIM" if args.sampler == "aswim" else args.sampler, args.seed, args.n_test, note))
    print_table(rows)
    vs = verdicts(args, rows)
    print()
    for text, ok in vs:
        print("%s: %s" % (text, "n/a" if ok is None else ("PASS" if ok else "FAIL")))
    print("total %.0f s" % total)
    return vs


def replay(args):
    with open(args.from_json) as fh:
        result = json.load(fh)
    for key in ("systems", "widths", "points", "n_test", "sampler", "seed"):
        setattr(args, key, result[key])
    m = result.get("machine", {})
    note = "%s cores, %s GiB, %s" % (m.get("cpus"), fmt(m.get("mem_total_gib"), ".0f"),
                                     result.get("started", "")[:10])
    rows = result["rows"]
    vs = report(args, rows, note, result.get("total_seconds") or 0.0)
    status = 2 if any(r.get("error") for r in rows) or result.get("error") else \
        (1 if any(ok is False for _, ok in vs) else 0)
    if args.plot:
        plot(args.plot, rows, args, note)
    return status


def int_list(text):
    try:
        vals = [int(float(s)) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, got %r" % text)
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError("expected positive integers, got %r" % text)
    return sorted(set(vals))


def main(argv=None):
    ap = bench_parser(__doc__, "smoke run: widths 100,300,900 on 500 and 5000 points, 2000 test")
    ap.add_argument("--widths", type=int_list, default=None,
                    help="comma-separated widths (default 2000,5000,10000)")
    ap.add_argument("--points", type=int_list, default=None,
                    help="comma-separated training-point counts (default 20000,50000,200000)")
    ap.add_argument("--n-test", type=int, default=None, help="test points (default 20000)")
    ap.add_argument("--seed", type=int, default=1, help="sampler seed of every fit")
    ap.add_argument("--rss-limit-gib", type=float, default=RSS_LIMIT_GIB,
                    help="verdict (1): peak RSS must stay below this")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds after which a train or eval process is killed (tool error)")
    add_tool_options(ap, "write the data sets here and keep them (default: temp)",
                     "save the results (rewritten after every row)")
    ap.add_argument("--plot", default=None, metavar="FILE.png",
                    help="test error of H against width, log-log (needs matplotlib)")
    ap.add_argument("--from-json", default=None, metavar="FILE",
                    help="fit nothing: print the table and verdicts (and --plot) of a run "
                         "saved by --json-out")
    args = ap.parse_args(argv)
    if args.from_json:
        return replay(args)

    args.systems = [s for s in args.systems.split(",") if s]
    for s in args.systems:
        if s not in SYSTEMS:
            ap.error("unknown system %r (known: %s)" % (s, ", ".join(SYSTEMS)))
    if args.widths is None:
        args.widths = [100, 300, 900] if args.quick else [2000, 5000, 10000]
    if args.points is None:
        args.points = [500, 5000] if args.quick else [20000, 50000, 200000]
    if args.n_test is None:
        args.n_test = 2000 if args.quick else 20000
    if not os.access(args.hamrf, os.X_OK):
        log("error: hamrf tool %r not found or not executable (build it: make)" % args.hamrf)
        return 2
    args.hamrf = os.path.abspath(args.hamrf)

    env = dict(os.environ)
    if args.threads is not None:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(args.threads)
    note, mem_gib = machine_note()
    result = {
        "machine": {"host": platform.node(), "cpus": os.cpu_count(),
                    "processor": platform.processor(), "mem_total_gib": mem_gib,
                    "OPENBLAS_NUM_THREADS": env.get("OPENBLAS_NUM_THREADS"),
                    "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS"),
                    "nice": os.nice(0)},
        "hamrf": args.hamrf, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "systems": args.systems, "widths": args.widths, "points": args.points,
        "n_test": args.n_test, "sampler": args.sampler, "seed": args.seed, "rows": [],
    }

    def save():
        if args.json_out:
            with open(args.json_out, "w") as fh:
                json.dump(result, fh, indent=1)

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="hamrf_scale_")
    workdir = args.keep or tmp.name
    # Run a private copy of the tool (it links libhamrf statically): a rebuild of the
    # build tree during this long run must not mix two builds in one table.
    tool = os.path.join(workdir, "hamrf")
    shutil.copy2(args.hamrf, tool)
    with open(tool, "rb") as fh:
        result["hamrf_sha256"] = hashlib.sha256(fh.read()).hexdigest()
    args.hamrf = tool
    t_start = time.perf_counter()
    rows = result["rows"]
    tool_error = False
    try:
        for system in args.systems:
            log("%s:" % system)
            test = os.path.join(workdir, "%s_test_%d.npz" % (system, args.n_test))
            generate(args, env, system, args.n_test, 2, test)
            for k in args.points:
                train = os.path.join(workdir, "%s_train_%d.npz" % (system, k))
                generate(args, env, system, k, 1, train)
                for w in args.widths:
                    if w > k:
                        log("  skip width %d > %d points" % (w, k))
                        continue
                    model = os.path.join(workdir, "model.npz")
                    row = fit_row(args, env, system, w, k, train, test, model)
                    rows.append(row)
                    tool_error |= bool(row.get("error"))
                    if not row.get("error"):
                        log("  width %d, %d points: fit %.1f s (wall %.1f s), peak %.0f MiB, "
                            "%s, features %s, test relH %.3e" %
                            (w, k, row["fit_seconds"], row["wall_seconds"],
                             row["peak_rss_mib"], row.get("solver"), features_word(row),
                             row["rel_l2_H"]))
                    save()
                if not args.keep:
                    os.unlink(train)
    except ToolError as e:  # generate failed: nothing more to run
        log("error: %s" % e)
        result["error"] = str(e)
        tool_error = True
    finally:
        if tmp is not None:
            tmp.cleanup()
    total = time.perf_counter() - t_start
    result["total_seconds"] = total

    vs = report(args, rows, note, total)
    result["verdicts"] = [{"text": t, "pass": ok} for t, ok in vs]
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    status = 2 if tool_error else (1 if any(ok is False for _, ok in vs) else 0)
    result["exit_status"] = status
    save()
    if args.json_out:
        log("results saved to %s" % args.json_out)
    if args.plot:
        try:
            plot(args.plot, rows, args, note)
        except ImportError as e:
            log("error: --plot needs matplotlib (Debian: python3-matplotlib): %s" % e)
            status = max(status, 2)
    return status


if __name__ == "__main__":
    sys.exit(main())
