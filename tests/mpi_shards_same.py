"""The union of the shards of `hamrf generate --shards` (tests/cli_mpi.sh):
the files of A, concatenated in order, hold the same rows as those of B, bit
for bit, in every per-row entry (x, dxdt, H, x1; or q, p, dqdt, dpdt, H, t).

    mpi_shards_same.py 'A.*.npz' 'B.*.npz'

Exit 0 when they agree, 1 (naming the entry) else."""
import glob
import sys

import numpy as np

ROWS = ("x", "dxdt", "H", "x1", "q", "p", "dqdt", "dpdt", "t")


def union(pattern):
    files = sorted(glob.glob(pattern))
    if not files:
        sys.exit("mpi_shards_same: no file matches %s" % pattern)
    zs = [np.load(f) for f in files]
    return {k: np.concatenate([z[k] for z in zs]) for k in ROWS if k in zs[0].files}


a, b = union(sys.argv[1]), union(sys.argv[2])
if sorted(a) != sorted(b):
    sys.exit("mpi_shards_same: entries %s against %s" % (sorted(a), sorted(b)))
for k in a:
    if a[k].shape != b[k].shape or a[k].tobytes() != b[k].tobytes():
        print("mpi_shards_same: %s differs (%s against %s)" % (k, a[k].shape, b[k].shape))
        sys.exit(1)
sys.exit(0)
