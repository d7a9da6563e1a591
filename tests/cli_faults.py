#!/usr/bin/python3
"""Fault injection for hamrf's writes (docs/reliability.md, "Atomic writes and faults").

Usage (ctest runs it so):  /usr/bin/python3 tests/cli_faults.py /path/to/hamrf

1. Kills: `hamrf generate | train (hnn, odenet, hgn) | rollout -o FILE`, FILE an
   existing complete older output, is SIGKILLed at a random moment, again and again
   (HAMRF_FAULT_KILLS per command, default 45: 225 kills). After every kill FILE must
   be byte for byte the old file or the new one (references written beforehand by
   uninterrupted runs), and after the next successful write no FILE.tmp.* may be left.
   Every other kill uses the named temporary instead of O_TMPFILE (HAMRF_NO_TMPFILE).
   A third of the kills come as soon as the new file is seen open (/proc/PID/fd), a
   third at a time uniform over the run, a third over its last 40 % (where the file is
   written), run length measured first.
2. Stale temporaries: a successful write removes FILE.tmp.<pid>.<6 letters> whose pid
   does not run and whose lock is free; it keeps those of a running pid, a locked one,
   and names it did not make.
3. Failing writes, for generate, train and rollout: a size limit (ulimit -f; the tool
   ignores SIGXFSZ), a read-only folder, a path that is a folder, a missing folder:
   exit 1, a message naming the path, the old file intact, no temporary left.
4. Memory limits (ulimit -v) at values where the fit, generate or rollout cannot
   allocate: exit 0, or exit 1 with an out-of-memory / too-large message; never a
   signal, never a hang (each run has a 60 s timeout).
Exit 0 when every check passes; prints the counts.
"""
import fcntl
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

B = os.path.abspath(sys.argv[1])
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
ENV_NAMED = dict(ENV, HAMRF_NO_TMPFILE="1")
KILLS = int(os.environ.get("HAMRF_FAULT_KILLS", "45"))
rng = random.Random(int(os.environ.get("HAMRF_FAULT_SEED", "1")))
# A run that takes longer than this is hung (the slowest run here takes about 1 s).
TIMEOUT_S = 60

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return ok


def run(args, limit=None, user=None, env=ENV, **kw):
    def pre():
        if limit:
            resource.setrlimit(limit[0], (limit[1], limit[1]))
    cmd = [B] + args
    if user:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
    return subprocess.run(cmd, env=env, capture_output=True, text=True, preexec_fn=pre,
                          timeout=TIMEOUT_S, **kw)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def temps(path):
    d, base = os.path.split(os.path.abspath(path))
    return sorted(n for n in os.listdir(d) if n.startswith(base + ".tmp."))


def mid_write(pid):
    """1 if process pid has the new output open: an unnamed O_TMPFILE file in the
    working folder (shown as "/folder/#inode (deleted)") or a named temporary."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return 0
    for fd in fds:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith(T + "/") and ("(deleted)" in target or ".tmp." in target):
            return 1
    return 0


T = os.path.realpath(tempfile.mkdtemp(prefix="hamrf_faults."))
os.chdir(T)
try:
    def setup(args):
        r = run(args)
        if r.returncode != 0:
            sys.exit("cli_faults: setup failed: hamrf %s\n%s" % (" ".join(args), r.stderr))

    setup(["generate", "--system", "pendulum", "--n", "2000", "--seed", "1", "-o", "d.npz"])
    setup(["generate", "--system", "springs", "--topology", "chain", "--shape", "6", "--dim",
           "2", "--trajectories", "3", "--snapshots", "10", "-o", "c.npz"])
    setup(["train", "--data", "d.npz", "--width", "100", "-o", "m.npz"])

    # name: (arguments of the old file, arguments of the new one); both write -o FILE.
    CASES = {
        "generate": (["generate", "--system", "pendulum", "--n", "100000", "--seed", "1"],
                     ["generate", "--system", "pendulum", "--n", "100000", "--seed", "2"]),
        "train hnn": (["train", "--data", "d.npz", "--width", "300", "--seed", "1"],
                      ["train", "--data", "d.npz", "--width", "300", "--seed", "2"]),
        "train odenet": (["train", "--model", "odenet", "--data", "d.npz", "--width", "200",
                          "--seed", "1"],
                         ["train", "--model", "odenet", "--data", "d.npz", "--width", "200",
                          "--seed", "2"]),
        "train hgn": (["train", "--model", "hgn", "--data", "c.npz", "--seed", "1"],
                      ["train", "--model", "hgn", "--data", "c.npz", "--seed", "2"]),
        "rollout": (["rollout", "--model", "m.npz", "--x0=1,0", "--dt", "0.01", "--steps",
                     "20000", "--every", "1"],
                    ["rollout", "--model", "m.npz", "--x0=1.2,0", "--dt", "0.01", "--steps",
                     "20000", "--every", "1"]),
    }

    # ---- 1. kills ----
    total = {"old": 0, "new": 0, "finished": 0, "left_temp": 0, "mid_write": 0}
    for name, (old_args, new_args) in CASES.items():
        out = name.replace(" ", "_") + ".npz"
        setup(old_args + ["-o", "ref_old.npz"])
        setup(new_args + ["-o", "ref_new.npz"])
        old, new = read("ref_old.npz"), read("ref_new.npz")
        check(old != new, "%s: the old and new references are the same file" % name)
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            setup(new_args + ["-o", "timing.npz"])
            times.append(time.monotonic() - t0)
        t_full = min(times)
        shutil.copyfile("ref_old.npz", out)
        counts = {"old": 0, "new": 0, "finished": 0, "left_temp": 0, "mid_write": 0}
        seen = []
        for k in range(KILLS):
            delay = rng.uniform(0, 1.1 * t_full) if k % 3 == 1 else rng.uniform(0.6, 1.1) * t_full
            # Every other kill takes the named-temporary route (HAMRF_NO_TMPFILE), the
            # one file systems without O_TMPFILE get, which can leave a temporary.
            env = ENV_NAMED if k % 2 else ENV
            p = subprocess.Popen([B] + new_args + ["-o", out], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if k % 3 == 0:
                # Aimed at the write: kill as soon as the new file is seen open.
                t0 = time.monotonic()
                while p.poll() is None and not mid_write(p.pid) and \
                        time.monotonic() - t0 < 2 * t_full + 1:
                    pass
                delay = time.monotonic() - t0
            else:
                time.sleep(delay)
            finished = p.poll() is not None
            if not finished:
                writing = mid_write(p.pid)
                p.send_signal(signal.SIGKILL)
                counts["mid_write"] += writing
            p.wait()
            got = read(out) if os.path.exists(out) else None
            if got == old:
                counts["old"] += 1
            elif got == new:
                counts["new"] += 1
                shutil.copyfile("ref_old.npz", out)  # start the next kill from the old file again
            else:
                check(False, "%s: after a kill at %.4f s FILE is %s" %
                      (name, delay, "missing" if got is None else "neither old nor new (%d bytes)"
                       % len(got)))
                shutil.copyfile("ref_old.npz", out)
            counts["finished"] += finished
            now = temps(out)
            if set(now) - set(seen):
                counts["left_temp"] += 1
                print("  kill at %.4f s left %s" % (delay, sorted(set(now) - set(seen))))
            seen = now
        # The next successful write removes what the killed writers left.
        left = temps(out)
        r = run(new_args + ["-o", out])
        check(r.returncode == 0 and read(out) == new, "%s: the write after the kills failed" % name)
        check(not temps(out), "%s: temporaries left after the next successful write: %s (before: %s)"
              % (name, temps(out), left))
        print("%-13s %3d kills: %3d old file, %3d new file (%d of them finished before the "
              "kill), %d left a temporary, %d hit while the new file was open; run %.3f s" %
              (name, KILLS, counts["old"], counts["new"], counts["finished"],
               counts["left_temp"], counts["mid_write"], t_full))
        for key in total:
            total[key] += counts[key]
    print("kills: %d in all: %d old file, %d new file, %d other; %d left a temporary "
          "(each checked to be gone after the next write); %d hit while the new file was open" %
          (len(CASES) * KILLS, total["old"], total["new"],
           len(CASES) * KILLS - total["old"] - total["new"], total["left_temp"],
           total["mid_write"]))

    # ---- 2. stale temporaries ----
    out = "stale.npz"
    gen = CASES["generate"][0][:3] + ["--n", "100", "-o", out]
    setup(gen)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = "%s.tmp.%d.abcdef" % (out, dead.pid)
    live = "%s.tmp.%d.live01" % (out, os.getpid())
    locked = "%s.tmp.%d.lockd1" % (out, dead.pid)
    foreign = "%s.tmp.XYZ123" % out
    for n in (stale, live, locked, foreign):
        with open(n, "wb") as f:
            f.write(b"partial")
    lk = open(locked, "rb")
    fcntl.flock(lk, fcntl.LOCK_EX)
    setup(gen)
    check(not os.path.exists(stale), "stale temporary of a dead writer not removed")
    check(os.path.exists(live), "temporary of a running pid removed")
    check(os.path.exists(locked), "locked temporary removed")
    check(os.path.exists(foreign), "a name hamrf does not make was removed")
    lk.close()
    for n in (live, locked, foreign):
        os.unlink(n)
    print("stale temporaries: dead and unlocked removed; running pid, locked, foreign kept")

    # The new file's mode is 0666 less the umask on both routes, as before (and as
    # for any new file), also when it replaces a file of another mode.
    umask = os.umask(0o022)
    os.umask(umask)
    for route, env in (("O_TMPFILE", ENV), ("named", ENV_NAMED)):
        os.chmod(out, 0o600)
        r = run(gen, env=env)
        mode = os.stat(out).st_mode & 0o777
        check(r.returncode == 0 and mode == 0o666 & ~umask,
              "%s route: mode %o, expected %o" % (route, mode, 0o666 & ~umask))
    print("file mode: 0666 less the umask on both routes")

    # ---- 3. failing writes ----
    root = os.geteuid() == 0
    as_nobody = False
    if root and shutil.which("setpriv"):
        os.chmod(T, 0o755)
        as_nobody = run(["--version"], user=True).returncode == 0
    nfail = 0
    for name in ("generate", "train hnn", "rollout"):
        old_args, new_args = CASES[name]
        setup(old_args + ["-o", "ref_old.npz"])
        old = read("ref_old.npz")
        size = len(old)

        def bad(label, target, result, pats, keep=None):
            global nfail
            nfail += 1
            ok = check(result.returncode == 1, "%s, %s: exit %d, expected 1 (stderr: %s)" %
                       (name, label, result.returncode, result.stderr.strip()))
            ok &= check(target in result.stderr, "%s, %s: message does not name %s: %s" %
                        (name, label, target, result.stderr.strip()))
            ok &= check(any(p in result.stderr for p in pats), "%s, %s: message lacks %s: %s" %
                        (name, label, " or ".join(pats), result.stderr.strip()))
            if keep is not None:
                check(os.path.exists(keep) and read(keep) == old, "%s, %s: old file damaged" %
                      (name, label))
                check(not temps(keep), "%s, %s: temporary left: %s" % (name, label, temps(keep)))

        # A size limit of half the file: write fails with EFBIG, the tool survives SIGXFSZ.
        shutil.copyfile("ref_old.npz", "lim.npz")
        r = run(new_args + ["-o", "lim.npz"], limit=(resource.RLIMIT_FSIZE, size // 2))
        bad("ulimit -f", "lim.npz", r, ["File too large"], keep="lim.npz")
        # A read-only folder (as root: as the user nobody, who cannot write there).
        os.makedirs("ro", exist_ok=True)
        shutil.copyfile("ref_old.npz", "ro/x.npz")
        if root and not as_nobody:
            print("SKIP: read-only folder: running as root and cannot drop privileges")
        else:
            os.chmod("ro", 0o555)
            r = run(new_args + ["-o", "ro/x.npz"], user=root)
            os.chmod("ro", 0o755)
            bad("read-only folder", "ro/x.npz", r, ["Permission denied", "Read-only"],
                keep="ro/x.npz")
        # A path that is a folder; a missing folder.
        os.makedirs("isdir.npz", exist_ok=True)
        r = run(new_args + ["-o", "isdir.npz"])
        bad("path is a folder", "isdir.npz", r, ["folder", "directory"])
        check(os.path.isdir("isdir.npz") and not os.listdir("isdir.npz"),
              "%s: the folder was changed" % name)
        r = run(new_args + ["-o", "missing/x.npz"])
        bad("missing folder", "missing/x.npz", r, ["No such file", "missing"])
        check(not os.path.exists("missing"), "%s: the missing folder appeared" % name)
    # Without CAP_DAC_READ_SEARCH (as nobody) the unnamed file is linked through
    # /proc/self/fd: a replacement still works and leaves nothing behind.
    if as_nobody:
        os.makedirs("nb", exist_ok=True)
        os.chown("nb", 65534, 65534)
        old_args, new_args = CASES["train hnn"]
        r = run(old_args + ["-o", "nb/x.npz"], user=True)
        r2 = run(new_args + ["-o", "nb/x.npz"], user=True)
        setup(new_args + ["-o", "ref_new.npz"])
        check(r.returncode == 0 and r2.returncode == 0 and read("nb/x.npz") == read("ref_new.npz")
              and not temps("nb/x.npz"), "replacing a file as nobody: %s %s" %
              (r.stderr.strip(), r2.stderr.strip()))
    print("failing writes: %d cases (size limit, read-only folder, path a folder, missing "
          "folder) x generate, train, rollout: exit 1, message, old file kept" % nfail)

    # ---- 4. memory limits ----
    MEM_CASES = [
        ["generate", "--system", "pendulum", "--n", "2000000", "-o", "g.npz"],
        ["train", "--data", "d.npz", "--width", "3000", "-o", "t.npz"],
        ["train", "--model", "odenet", "--data", "d.npz", "--width", "3000", "-o", "t.npz"],
        ["train", "--model", "hgn", "--data", "c.npz", "--edge-width", "3000", "-o", "t.npz"],
        ["train", "--data", "d.npz", "--width", "2000", "--optimizer", "adam", "--steps", "3",
         "-o", "t.npz"],
        ["rollout", "--model", "m.npz", "--data", "d.npz", "--count", "500", "--dt", "0.01",
         "--steps", "1000", "--integrator", "rk4", "--every", "1", "-o", "r.npz"],
    ]
    # Address-space limits in KiB: below, around and above what the runs need (the
    # dynamic loader alone needs about 70 MB for the tool and its libraries); with
    # one thread, and with two (an OpenBLAS worker thread that cannot map its buffer
    # would spin for ever: the tool restarts itself with one BLAS thread).
    LIMITS = [(100000, 1), (150000, 1), (250000, 1), (400000, 1), (150000, 2), (300000, 2)]
    ENV2 = dict(ENV, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    nmem = nrefused = 0
    for args in MEM_CASES:
        for kib, threads in LIMITS:
            nmem += 1
            try:
                r = run(args, limit=(resource.RLIMIT_AS, kib * 1024),
                        env=ENV2 if threads == 2 else ENV)
            except subprocess.TimeoutExpired:
                check(False, "ulimit -v %d, %d threads: hamrf %s hung" % (kib, threads,
                                                                        " ".join(args)))
                continue
            label = "ulimit -v %d, %d threads: hamrf %s" % (kib, threads, " ".join(args))
            if r.returncode == 1:
                nrefused += 1
                check(any(p in r.stderr for p in ("memory", "too large", "available", "allowed", "allocate")),
                      "%s: exit 1 without a memory message: %s" % (label, r.stderr.strip()))
            else:
                check(r.returncode == 0, "%s: exit %d (%s)" % (label, r.returncode,
                                                               r.stderr.strip()[-300:]))
    print("memory limits: %d runs, %d refused with a memory message, %d completed, 0 crashed"
          % (nmem, nrefused, nmem - nrefused))
finally:
    os.chdir("/")
    for d, _, _ in os.walk(T):
        os.chmod(d, 0o755)
    shutil.rmtree(T, ignore_errors=True)

if failures:
    print("cli_faults: %d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
print("cli_faults: all checks passed")
