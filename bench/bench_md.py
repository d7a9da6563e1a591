#!/usr/bin/python3
"""Molecular-dynamics throughput, serial, one run: Lennard-Jones liquids (fcc, density
0.8442, T = 1, rc = 2.5, dt 0.005, leapfrog / velocity Verlet) of 4 000 and 32 000
atoms, from the same start (hamrf's generated snapshot, written as a LAMMPS data file):

  analytic   hamrf's own LJ system (hamrf.rollout(data.system(), ...))
  tabulated  the learned pair-mode graph network, tabulated (hamrf rollout --tabulate 4096)
  direct     the same network evaluated directly (few steps: it is ~100x slower)
  lammps     LAMMPS lj/cut 2.5, neighbor 0.3 bin, every 1 check yes (Debian's `lmp`)
  lammps_opt the same with the OPT package's lj/cut/opt (where the build has it)

in atom-steps per second (the best of --repeat runs, interleaved), and the ratio of
each to LAMMPS. One thread everywhere
(OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1). Also the learned model's force error on the
start against the true forces, so the speed is of a model that is right.

Usage: PYTHONPATH=python /usr/bin/python3 bench/bench_md.py [--hamrf build/hamrf]
       [--sizes 4000,32000] [--json-out FILE]
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


def run_lammps(lmp, work, data, steps, style="lj/cut"):
    inp = os.path.join(work, "in.lj")
    with open(inp, "w") as f:
        f.write("units lj\natom_style atomic\nboundary p p p\nread_data %s\n"
                "pair_style %s 2.5\npair_coeff 1 1 1.0 1.0 2.5\n"
                "neighbor 0.3 bin\nneigh_modify every 1 delay 0 check yes\n"
                "fix 1 all nve\ntimestep 0.005\nthermo %d\nrun %d\n" % (data, style, steps, steps))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([lmp, "-in", inp, "-log", "none", "-echo", "none"], cwd=work,
                       capture_output=True, text=True, env=env, check=True)
    m = re.search(r"Loop time of (\S+) on 1 procs for (\d+) steps with (\d+) atoms", r.stdout)
    secs, n, N = float(m.group(1)), int(m.group(2)), int(m.group(3))
    return N * n / secs


def best(rates, key, value):
    rates[key] = max(rates.get(key, 0.0), value)


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
    opt = bool(lmp) and "lj/cut/opt" in subprocess.run([lmp, "-h"], capture_output=True,
                                                         text=True).stdout
    work = tempfile.mkdtemp(prefix="bench_md.")
    out = {"threads": 1, "rows": []}
    print("%-8s %-10s %14s %10s  %s" % ("atoms", "method", "atom-steps/s", "vs lammps", "note"))
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
        one = hamrf.ParticleData(d.q[:1], d.p[:1], d.dqdt[:1], d.dpdt[:1], mass=d.mass,
                                 box=d._handle().contents.box, cutoff=2.5)
        steps = max(50, int(2e6 / N))
        rates = {}
        if lmp:
            data = os.path.join(work, "lj%d.data" % N)
            lammps_data(data, d.q[0], d.p[0], d.mass, float(d._handle().contents.box))
        # every measurement a.repeat times, interleaved, the best kept: on a shared
        # machine the load changes between runs, and the best is the least disturbed
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            hamrf.rollout(d.system(), one, 0.005, steps, every=steps)
            best(rates, "analytic", N * steps / (time.perf_counter() - t0))
            for method, extra, n in (("tabulated", ["--tabulate", "4096"], steps),
                                     ("direct", [], max(2, steps // 100))):
                r = subprocess.run([a.hamrf, "rollout", "--model", m_path, "--data", d_path,
                                    "--count", "1", "--dt", "0.005", "--steps", str(n),
                                    "--every", str(n), "--threads", "1", "-o",
                                    os.path.join(work, "t.npz"), "--json"] + extra,
                                   capture_output=True, text=True, check=True)
                best(rates, method, N * json.loads(r.stdout)["state_steps_per_second"])
            if lmp:
                best(rates, "lammps", run_lammps(lmp, work, data, steps))
                if opt:  # the OPT package's lj/cut/opt: LAMMPS at its fastest, serial
                    best(rates, "lammps_opt", run_lammps(lmp, work, data, steps, "lj/cut/opt"))
        ref = rates.get("lammps")
        for method, rate in rates.items():
            ratio = rate / ref if ref else float("nan")
            note = "model force error %.2e" % err if method in ("tabulated", "direct") else ""
            print("%-8d %-10s %14.4g %10.3f  %s" % (N, method, rate, ratio, note))
            out["rows"].append({"atoms": N, "method": method, "atom_steps_per_second": rate,
                                "ratio_to_lammps": ratio, "steps": steps,
                                "model_force_rel_err": err})
    shutil.rmtree(work, ignore_errors=True)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
