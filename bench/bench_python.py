#!/usr/bin/python3
"""The Python package's overhead: hamrf.HNN.H and .grad on 10^6 points against
the library's own call on the same model, points and output buffers (ctypes
straight into hrf_hnn_eval, no conversion or allocation: the C time plus one
foreign call), and what a ten-state .vector_field call adds to the C call.
PASS when the package's H and grad are within 10 % of the C call and the
ten-state overhead is < 20 µs (the C work itself, ~40 µs at width 1000 here,
is the library's: tanh of 10 x 1000 pre-activations).

Usage: PYTHONPATH=python bench_python.py [--width 1000] [--points 1000000] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def best(f, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--points", type=int, default=1000000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import hamrf
    from hamrf import _lib
    m = hamrf.HNN(width=a.width, seed=1).fit(hamrf.systems.generate("double_pendulum", n=20000))
    x = np.random.default_rng(1).uniform(-1, 1, size=(a.points, 4))
    H = np.empty(a.points)
    G = np.empty_like(x)
    h = m._handle()

    def c_H():
        _lib.check(_lib.lib.hrf_hnn_eval(h, a.points, _lib.ptr(x), _lib.ptr(H), None))

    def c_grad():
        _lib.check(_lib.lib.hrf_hnn_eval(h, a.points, _lib.ptr(x), None, _lib.ptr(G)))

    out = {"width": a.width, "points": a.points, "threads": a.threads}
    for name, c, py in (("H", c_H, lambda: m.H(x)), ("grad", c_grad, lambda: m.grad(x))):
        c(), py()  # warm-up
        tc, tp = best(c, a.reps), best(py, a.reps)
        out[name + "_c_seconds"], out[name + "_python_seconds"] = tc, tp
        out[name + "_ratio"] = tp / tc
    # Ten states: the package's call against the bare C call into a preallocated
    # buffer; the difference is what the package adds (conversion checks, the
    # output array, the foreign call).
    x10, o10 = x[:10].copy(), np.empty((10, 4))

    def c_vf():
        _lib.lib.hrf_hnn_vector_field(h, 10, _lib.ptr(x10), _lib.ptr(o10))

    n = 20000
    for name, f in (("c", c_vf), ("python", lambda: m.vector_field(x10))):
        f()
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        out["vector_field_10_states_%s_us" % name] = (time.perf_counter() - t0) / n * 1e6
    out["vector_field_10_states_overhead_us"] = (out["vector_field_10_states_python_us"] -
                                                 out["vector_field_10_states_c_us"])
    ok = out["H_ratio"] <= 1.1 and out["grad_ratio"] <= 1.1 and \
        out["vector_field_10_states_overhead_us"] < 20.0
    out["verdict"] = "PASS" if ok else "FAIL"
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
