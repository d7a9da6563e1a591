#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
from small files that the tool itself writes (docs/reliability.md, "Fuzzing").

    /usr/bin/python3 tests/fuzz/make_corpus.py build/hamrf

Every file kind the library reads is made once, as small as the tool allows,
and converted into the input format of each target: the raw file
(fuzz_npz), each .npy entry with a rank byte (fuzz_npy_header), the split
format of fuzz_util.h with a loader byte (fuzz_load), a few option values
(fuzz_cli_parsers), and an LJ snapshot as LAMMPS dump and extended XYZ text
with a reader byte (fuzz_md). Existing files in the corpora (crash regressions
among them) are kept; a seed is named by its content's hash."""
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\n--\n"
# The loader bytes of fuzz_load.c (enum L_*).
L_DATASET, L_PDATA, L_HNN, L_ODENET, L_HGN, L_MODEL = range(6)
# The parser bytes of fuzz_cli_parsers.c (enum P_*).
P_DOUBLE, P_SIZE, P_U64, P_RANGE, P_SHAPE, P_LIST, P_KEY_VALUE = range(7)


def put(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def run(tool, *args):
    subprocess.run([tool, *args, "--quiet"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})


def main():
    tool = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/hamrf")
    with tempfile.TemporaryDirectory() as t:
        p = lambda name: os.path.join(t, name)
        run(tool, "generate", "--system", "pendulum", "--n", "6", "-o", p("box.npz"))
        run(tool, "generate", "--system", "henon_heiles", "--n", "4", "--pairs", "--h", "0.1",
            "-o", p("pairs.npz"))
        run(tool, "generate", "--system", "springs", "--shape", "3", "--snapshots", "3",
            "-o", p("chain.npz"))
        run(tool, "generate", "--system", "lj", "--particles", "108", "--snapshots", "1",
            "--every", "1", "-o", p("lj.npz"))
        run(tool, "train", "--data", p("box.npz"), "--width", "3", "-o", p("hnn.npz"))
        run(tool, "train", "--data", p("box.npz"), "--model", "odenet", "--width", "3",
            "-o", p("odenet.npz"))
        run(tool, "train", "--data", p("chain.npz"), "--edge-width", "3", "--kinetic-width",
            "2", "-o", p("hgn_pair.npz"))
        run(tool, "train", "--data", p("chain.npz"), "--mode", "mp", "--edge-width", "3",
            "--node-width", "2", "--kinetic-width", "2", "-o", p("hgn_mp.npz"))
        files = {"box.npz": [L_DATASET], "pairs.npz": [L_DATASET], "chain.npz": [L_PDATA],
                 "lj.npz": [L_PDATA], "hnn.npz": [L_HNN, L_MODEL],
                 "odenet.npz": [L_ODENET, L_MODEL], "hgn_pair.npz": [L_HGN, L_MODEL],
                 "hgn_mp.npz": [L_HGN, L_MODEL]}
        for name, loaders in files.items():
            raw = open(p(name), "rb").read()
            if name != "lj.npz":  # the one larger file; its entries are seeds below
                put("fuzz_npz", raw)
            with zipfile.ZipFile(p(name)) as z:
                parts = [z.read("meta")]
                for info in z.infolist():
                    if info.filename == "meta":
                        continue
                    data = z.read(info.filename)
                    parts.append(info.filename.encode() + b"\n" + data)
                    if name in ("box.npz", "chain.npz", "hgn_mp.npz"):
                        put("fuzz_npy_header", bytes([len(_shape(data))]) + data)
            for l in loaders:
                put("fuzz_load", bytes([l]) + SEP.join(parts))
        # fuzz_md: the LJ snapshot as a LAMMPS dump (reader byte 0; 2: --mass 1) and as
        # extended XYZ (1; 3)
        run(tool, "convert", p("lj.npz"), "--to", "lammps-dump", "-o", p("lj.dump"))
        run(tool, "convert", p("lj.npz"), "--to", "extxyz", "-o", p("lj.extxyz"))
        for name, code in (("lj.dump", 0), ("lj.extxyz", 1)):
            text = open(p(name), "rb").read()
            put("fuzz_md", bytes([code]) + text)
            put("fuzz_md", bytes([code | 2]) + text)
    for code, values in {P_DOUBLE: [b"1e-3", b"-0.5", b"inf"], P_SIZE: [b"1000", b"0"],
                         P_U64: [b"9007199254740991", b"-1"],
                         P_RANGE: [b"-1,1", b"2,1"], P_SHAPE: [b"8", b"3x3", b"4x4x4x"],
                         P_LIST: [b"1.5707963,0", b",,"], P_KEY_VALUE: [b"k=2", b"=1"]}.items():
        for v in values:
            put("fuzz_cli_parsers", bytes([code]) + v)


def _shape(npy):
    """The shape tuple of an .npy entry's header (version 1.0, as hamrf writes)."""
    hlen = npy[8] | npy[9] << 8
    header = npy[10:10 + hlen].decode("latin1")
    inside = header.split("'shape': (")[1].split(")")[0]
    return [int(v) for v in inside.split(",") if v.strip()]


if __name__ == "__main__":
    main()
