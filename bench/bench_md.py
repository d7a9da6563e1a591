#!/usr/bin/python3
"""Molecular-dynamics throughput against LAMMPS, serial, with a verdict: Lennard-Jones
liquids (fcc, density 0.8442, T = 1, rc = 2.5, dt 0.005, leapfrog / velocity Verlet) of
4 000 and 32 000 atoms, from the same start (hamrf's generated snapshot, written as a
LAMMPS data file):

  analytic   hamrf's own LJ system (hamrf rollout --true-system: Verlet lists, skin 0.3)
  tabulated  the learned pair-mode graph network, tabulated (hamrf rollout --tabulate 4096)
  direct     the same network evaluated directly (few steps: it is ~100x slower)
  lammps     LAMMPS lj/cut 2.5, neighbor 0.3 bin, every 1 check yes (Debian's `lmp`)
  lammps_opt the same with the OPT package's lj/cut/opt (where the build has it)

Steps: max(50, 4e6 / atoms), so 1 000 at 4 000 atoms. Two rates of each run, in
atom-steps per second:

  loop     the time stepping alone: hamrf's integration seconds (--json `seconds`),
           LAMMPS's "Loop time"
  process  atoms x steps / the wall clock of the whole process (start-up, reading the
           data, writing the result included): `hamrf rollout ...` against `lmp -in ...`

each the best of --repeat runs, interleaved (the machine is shared: the best is the
least disturbed), and their ratio to LAMMPS lj/cut. One thread everywhere
(OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1, --threads 1). Also the learned model's force
error on the start against the true forces, so the speed is of a model that is right.

Verdict (PASS/FAIL per line): analytic >= 1x LAMMPS lj/cut, learned tabulated >= 0.8x,
judged on the whole-process rates at 4 000 atoms (the 1 000-step run) and on the loop
rates at every other size. Exit status 1 when any line FAILs (or LAMMPS is missing),
else 0.

Usage: PYTHONPATH=python /usr/bin/python3 bench/bench_md.py [--hamrf build/hamrf]
       [--sizes 4000,32000] [--repeat 3] [--json-out FILE]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

# The criteria: the least ratio to LAMMPS lj/cut of each judged method.
CRITERIA = {"analytic": 1.0, "tabulated": 0.8}
# The size whose verdict is on whole processes (its run is 1 000 steps).
PROCESS_ATOMS = 4000


def lammps_data(path, q, p, mass, L):
    """A LAMMPS data file (atom_style atomic) of one snapshot: positions wrapped into
    [0, L), velocities p/m."""
    N = q.shape[0]
    x = q - L * np.floor(q / L)
    v = p / mass[:, None]
    with open(path, "w") as f:
        f.write("hamrf snapshot\n\n%d atoms\n1 atom types\n\n" % N)
        for a in "xyz":
            f.write("0 %.17g %slo %shi\n" % (L, a, a))
        f.write("\nMasses\n\n1 %.17g\n\nAtoms # atomic\n\n" % mass[0])
        for i in range(N):
            f.write("%d 1 %.17g %.17g %.17g\n" % (i + 1, x[i, 0], x[i, 1], x[i, 2]))
        f.write("\nVelocities\n\n")
        for i in range(N):
            f.write("%d %.17g %.17g %.17g\n" % (i + 1, v[i, 0], v[i, 1], v[i, 2]))


def timed(cmd, **kw):
    """Runs cmd to completion; (the CompletedProcess, its wall-clock seconds)."""
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, **kw)
    return r, time.perf_counter() - t0


def run_lammps(lmp, work, data, steps, style="lj/cut"):
    """One whole LAMMPS process: (atoms, loop seconds, process seconds)."""
    inp = os.path.join(work, "in.lj")
    with open(inp, "w") as f:
        f.write("units lj\natom_style atomic\nboundary p p p\nread_data %s\n"
                "pair_style %s 2.5\npair_coeff 1 1 1.0 1.0 2.5\n"
                "neighbor 0.3 bin\nneigh_modify every 1 delay 0 check yes\n"
                "fix 1 all nve\ntimestep 0.005\nthermo %d\nrun %d\n" % (data, style, steps, steps))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r, wall = timed([lmp, "-in", inp, "-log", "none", "-echo", "none"], cwd=work, env=env)
    m = re.search(r"Loop time of (\S+) on 1 procs for (\d+) steps with (\d+) atoms", r.stdout)
    assert int(m.group(2)) == steps
    return int(m.group(3)), float(m.group(1)), wall


def run_hamrf(hamrf, args, steps):
    """One whole `hamrf rollout` process: (loop seconds, process seconds)."""
    r, wall = timed([hamrf, "rollout", "--count", "1", "--dt", "0.005", "--steps", str(steps),
                     "--every", str(steps), "--threads", "1", "--json"] + args)
    j = json.loads(r.stdout)
    assert j["complete"] and j["steps_done"] == steps
    return j["seconds"], wall


def keep_best(rates, key, atom_steps, loop_s, proc_s):
    """rates[key] = {'loop': best loop rate, 'process': best whole-process rate}."""
    r = rates.setdefault(key, {"loop": 0.0, "process": None})
    r["loop"] = max(r["loop"], atom_steps / loop_s)
    if proc_s is not None:
        r["process"] = max(r["process"] or 0.0, atom_steps / proc_s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hamrf", default=os.path.join(HERE, "..", "build", "hamrf"))
    ap.add_argument("--sizes", default="4000,32000")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, the best kept")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    import hamrf
    lmp = shutil.which("lmp")
    if not lmp:
        print("bench_md: no `lmp` (LAMMPS) on PATH: nothing to compare with (FAIL)")
    opt = bool(lmp) and "lj/cut/opt" in subprocess.run([lmp, "-h"], capture_output=True,
                                                         text=True).stdout
    work = tempfile.mkdtemp(prefix="bench_md.")
    out = {"threads": 1, "criteria": CRITERIA, "process_atoms": PROCESS_ATOMS, "rows": []}
    head = "%-6s %-10s %6s %12s %8s %12s %8s  %s" % (
        "atoms", "method", "steps", "loop a-s/s", "x lj/cut", "proc a-s/s", "x lj/cut",
        "verdict (criterion, rate judged)")
    print(head)
    print("-" * len(head))
    failed = not lmp
    for N in (int(s) for s in a.sizes.split(",")):
        d_path, m_path = os.path.join(work, "lj%d.npz" % N), os.path.join(work, "m%d.npz" % N)
        subprocess.run([a.hamrf, "generate", "--system", "lj", "--particles", str(N),
                        "--snapshots", "3", "-o", d_path, "--quiet"], check=True)
        subprocess.run([a.hamrf, "train", "--model", "hgn", "--data", d_path, "-o", m_path,
                        "--quiet"], check=True)
        d, m = hamrf.load_particles(d_path), hamrf.load(m_path)
        err = hamrf.metrics.rel_l2(m.forces(d.q[:1], d.p[:1], mass=d.mass,
                                            box=d._handle().contents.box, cutoff=2.5),
                                   d.dpdt[:1])
        steps = max(50, int(4e6 / N))
        direct_steps = max(2, steps // 200)
        t_path = os.path.join(work, "t.npz")
        runs = (("analytic", ["--true-system", "--data", d_path], steps),
                ("tabulated", ["--model", m_path, "--data", d_path, "--tabulate", "4096"], steps),
                ("direct", ["--model", m_path, "--data", d_path], direct_steps))
        rates = {}
        if lmp:
            data = os.path.join(work, "lj%d.data" % N)
            lammps_data(data, d.q[0], d.p[0], d.mass, float(d._handle().contents.box))
        for _ in range(a.repeat):
            for method, args, n in runs:
                loop_s, proc_s = run_hamrf(a.hamrf, args + ["-o", t_path], n)
                # the direct network runs a few steps only: its process time would be
                # mostly start-up, so only its loop rate is kept
                keep_best(rates, method, N * n, loop_s, proc_s if method != "direct" else None)
            if lmp:
                for key, style in (("lammps", "lj/cut"), ("lammps_opt", "lj/cut/opt")):
                    if key == "lammps_opt" and not opt:
                        continue
                    atoms, loop_s, proc_s = run_lammps(lmp, work, data, steps, style)
                    assert atoms == N
                    keep_best(rates, key, N * steps, loop_s, proc_s)
        ref = rates.get("lammps", {"loop": float("nan"), "process": float("nan")})
        for method, r in rates.items():
            loop_x = r["loop"] / ref["loop"]
            proc_x = r["process"] / ref["process"] if r["process"] else float("nan")
            verdict, basis = "", None
            if method in CRITERIA:
                basis = "process" if N == PROCESS_ATOMS else "loop"
                x = proc_x if basis == "process" else loop_x
                ok = x >= CRITERIA[method]
                failed |= not ok
                verdict = "%s (>= %.1fx lj/cut, %s%s)" % (
                    "PASS" if ok else "FAIL", CRITERIA[method],
                    "whole process" if basis == "process" else "loop",
                    ", %d steps" % steps if basis == "process" else "")
            if method in ("tabulated", "direct"):
                verdict += ("; " if verdict else "") + "model force error %.2e" % err
            n = direct_steps if method == "direct" else steps
            proc = "%12.4g %8.3f" % (r["process"], proc_x) if r["process"] else "%12s %8s" % (
                "-", "-")
            print("%-6d %-10s %6d %12.4g %8.3f %s  %s" % (N, method, n, r["loop"], loop_x, proc,
                                                         verdict))
            out["rows"].append({"atoms": N, "method": method, "steps": n,
                                "loop_atom_steps_per_second": r["loop"],
                                "loop_ratio_to_lammps": loop_x,
                                "process_atom_steps_per_second": r["process"],
                                "process_ratio_to_lammps": proc_x if r["process"] else None,
                                "verdict": verdict.split(" ")[0] if basis else None,
                                "verdict_on": basis, "model_force_rel_err": err})
    shutil.rmtree(work, ignore_errors=True)
    out["failed"] = bool(failed)
    print("verdict: %s (whole-process rates at %d atoms, loop rates elsewhere; a-s/s = "
          "atom-steps per second, the best of %d)" % ("FAIL" if failed else "PASS",
                                                       PROCESS_ATOMS, a.repeat))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(out, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
