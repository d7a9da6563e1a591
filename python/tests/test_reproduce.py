"""`hamrf reproduce` on tiny configurations: the rows it reports are checked
against the published numbers it claims to quote (Rahma et al. 2024 and
arXiv 2506.06558, typed in here independently), against the files it writes
(--out CSV and JSON), and for internal consistency (speed-up = Adam time /
fit time). The full quick run takes minutes and is not part of the tests
(docs/cli.md)."""

import csv
import json
import math
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
HAMRF = os.environ.get("HAMRF_BIN") or (
    str(REPO / "build" / "hamrf") if (REPO / "build" / "hamrf").is_file() else None)
pytestmark = pytest.mark.skipif(HAMRF is None, reason="HAMRF_BIN unset and build/hamrf absent")
ENV = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")

# RF-HNN (Rahma et al. 2024), single pendulum width sweep (ELM, U-SWIM, A-SWIM, SWIM).
PAPER_PENDULUM = {100: [1.61e-3, 1.70e-5, 4.67e-4, 4.97e-4],
                  500: [1.66e-8, 4.23e-9, 2.40e-9, 2.40e-9],
                  1000: [1.49e-11, 8.74e-10, 3.62e-10, 3.62e-10]}
SAMPLERS = ["elm", "uswim", "aswim", "swim"]


def run(*args, check=True):
    r = subprocess.run([HAMRF, "reproduce", *map(str, args)], capture_output=True, text=True,
                       env=ENV, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"reproduce {args} failed {r.returncode}:\n{r.stderr}")
    return r


def test_pendulum_rows_quote_the_paper_and_files_agree(tmp_path):
    out = tmp_path / "res"
    r = run("--only", "pendulum_width", "--scale-down", 20, "--adam-seconds", 1, "--json",
            "--out", out)
    res = json.loads(r.stdout)
    assert res["paper"] == "paper1" and res["mode"] == "quick"
    rows = res["rows"]
    assert {row["experiment"] for row in rows} == {"pendulum_width"}
    by = {(row["config"], row["method"]): row for row in rows}
    for width, paper in PAPER_PENDULUM.items():
        for s, pv in zip(SAMPLERS, paper):
            row = by[(f"width {width}", s)]
            assert row["metric"] == "rel_l2_H"
            assert row["paper"] == pytest.approx(pv, rel=1e-12)
            assert 0 < row["value"] < 1 and row["seconds"] > 0
    adam = by[("width 1000", "adam")]
    assert adam["paper"] == pytest.approx(2.17e-3) and "time budget" in adam["note"]
    # The budget is a time limit checked after each step (a step takes milliseconds; the
    # upper bound only has to tell "stopped at the budget" from "ran its step count" on a
    # loaded machine).
    assert 1.0 <= adam["seconds"] < 20.0
    for s in SAMPLERS:
        row = by[("width 1000", s)]
        assert row["adam_seconds"] == adam["seconds"]
        assert row["speedup_vs_adam"] == pytest.approx(adam["seconds"] / row["seconds"], rel=1e-12)
    # No Adam at the other widths: no speed-up claimed there.
    assert by[("width 100", "elm")]["speedup_vs_adam"] is None
    # --out: the same rows as CSV and JSON.
    assert json.loads((out / "paper1.json").read_text())["rows"] == rows
    with open(out / "paper1.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == len(rows)
    for c, j in zip(csv_rows, rows):
        assert c["method"] == j["method"] and c["config"] == j["config"]
        # The CSV has 17 significant digits; cJSON prints JSON numbers with 15
        # when its (epsilon-based) round-trip check passes, so the two agree
        # to ~1e-15 relative, not bit for bit.
        assert float(c["value"]) == pytest.approx(j["value"], rel=1e-14)
        assert (c["speedup_vs_adam"] == "") == (j["speedup_vs_adam"] is None)
    assert not list(out.glob("*.tmp.*"))


def test_error_correction_and_tables(tmp_path):
    r = run("--only", "error_correction", "--scale-down", 5)
    text = r.stdout
    assert "== error_correction" in text and "slope" in text
    r = run("--only", "error_correction", "--scale-down", 5, "--json")
    rows = json.loads(r.stdout)["rows"]
    slopes = {row["method"]: row["value"] for row in rows if row["metric"] == "slope"}
    # 500 pairs instead of 2500: the orders still show (1 and 2 within 0.35).
    assert abs(slopes["uncorrected"] - 1) < 0.35 and abs(slopes["corrected"] - 2) < 0.35
    papers = {(row["config"], row["method"]): row["paper"] for row in rows
              if row["metric"] == "rel_l2_H"}
    assert papers[("h = 0.05", "uncorrected")] == pytest.approx(7.4e-3)
    assert papers[("h = 0.8", "corrected")] == pytest.approx(3.0e-2)
    assert papers[("h = 0.2", "corrected")] is None


def test_energy_rows():
    rows = json.loads(run("--only", "energy", "--scale-down", 20, "--json").stdout)["rows"]
    drift = {row["method"]: row["value"] for row in rows if row["metric"] == "energy_drift"}
    assert set(drift) == {"hnn", "odenet"}
    assert drift["hnn"] < 1e-2


@pytest.mark.parametrize("args, msg", [
    (["paper9"], "unknown paper"),
    (["--quick", "--full"], "exclude"),
    (["--only", "nope"], "unknown experiment"),
    (["--adam-seconds", "0"], "adam-seconds"),
    (["--bogus"], "--bogus"),
])
def test_bad_input(args, msg):
    r = run(*args, check=False)
    assert r.returncode == 2 and msg in r.stderr and r.stdout == ""


def test_out_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = run("--only", "error_correction", "--scale-down", 10, "--out", f, check=False)
    assert r.returncode == 1 and "not a folder" in r.stderr


def test_paper2_lattice_3d_rows():
    """paper2's 3D lattice rows quote the paper's SWIM column and meet the
    target on the scale-free error (rel_l2_grad <= 1e-3)."""
    res = json.loads(run("paper2", "--only", "lattice_3d", "--json").stdout)
    assert res["paper"] == "paper2"
    rows = {row["config"]: row for row in res["rows"]}
    papers = {"harmonic": 3.4e-5, "anharmonic": 5.2e-4, "morse": 1.2e-3}
    assert set(rows) == set(papers)
    for pot, pv in papers.items():
        assert rows[pot]["paper"] == pytest.approx(pv)
        assert rows[pot]["value"] <= pv          # at least as good as the paper's SWIM
        rel = float(rows[pot]["note"].split()[1])
        assert rel <= 1e-3


def test_only_selects_the_paper():
    r = run("paper1", "--only", "lattice_3d", check=False)
    assert r.returncode == 2 and "unknown experiment" in r.stderr


# RF-HGN (arXiv 2506.06558), 3D lattice: the sampled row and the optimizers
# with a published row (test MSE, training seconds).
PAPER2_SAMPLED = (8.95e-5, 0.16)
PAPER2_OPTIM = {"lbfgs": (3.56e-5, 23.9), "adam": (2.90e-3, 91.6), "adamw": (2.91e-3, 92.2),
                "adafactor": (2.41e-3, 96.4), "sgd": (2.36e-2, 91.8)}
OPTIMIZERS = {"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw",
              "adamax", "nadam", "radam", "amsgrad", "adafactor", "rprop", "lbfgs"}


@pytest.mark.parametrize("mode", ["--quick", "--full"])
def test_paper2_optimizer_table(mode):
    """The optimizer table on a tiny budget (--full also runs the lr grid):
    16 rows (the sampled fit and the fifteen optimizers), the published rows
    quoted, threshold times within the training time or null, speed-up =
    optimizer time / sampled time."""
    budget = 0.03
    res = json.loads(run("paper2", "--only", "lattice_3d_optimizers", mode, "--scale-down", 10,
                         "--adam-seconds", budget, "--threads", 1, "--json").stdout)
    rows = res["rows"]
    assert {row["experiment"] for row in rows} == {"lattice_3d_optimizers"}
    by = {row["method"]: row for row in rows}
    assert len(rows) == 16 and set(by) == OPTIMIZERS | {"sampled"}
    s = by["sampled"]
    assert (s["paper"], s["paper_seconds"]) == pytest.approx(PAPER2_SAMPLED)
    assert s["value"] == s["sampled_mse"] and s["seconds"] == s["sampled_seconds"] > 0
    for name in OPTIMIZERS:
        row = by[name]
        assert row["metric"] == "mse_dxdt" and row["value"] > 0
        assert row["target_mse"] == pytest.approx(PAPER2_SAMPLED[0])
        assert row["sampled_mse"] == s["value"] and row["sampled_seconds"] == s["seconds"]
        assert row["budget_seconds"] == budget and row["lr"] > 0
        assert row["eval_every"] == 10 and row["steps"] >= 1
        # A time limit checked after each step: at least the budget unless
        # a step was not finite.
        assert row["seconds"] >= budget or "not finite" in row["note"]
        for k in ("reach_target_seconds", "reach_sampled_seconds"):
            assert row[k] is None or 0 <= row[k] <= row["seconds"]
        if row["reach_target_seconds"] is not None and row["reach_sampled_seconds"] is not None \
                and s["value"] <= PAPER2_SAMPLED[0]:
            assert row["reach_target_seconds"] <= row["reach_sampled_seconds"]
        assert row["speedup_vs_adam"] == pytest.approx(row["seconds"] / s["seconds"], rel=1e-12)
        pv = PAPER2_OPTIM.get(name)
        if pv:
            assert (row["paper"], row["paper_seconds"]) == pytest.approx(pv)
        else:
            assert row["paper"] is None and row["paper_seconds"] is None
        assert ("(grid)" in row["note"]) == (mode == "--full")


def test_paper2_optimizer_table_text_and_no_adam():
    r = run("paper2", "--only", "lattice_3d_optimizers", "--scale-down", 10, "--adam-seconds",
            0.02, "--threads", 1)
    assert "t(target)" in r.stdout and "(b) tgt x" in r.stdout
    assert sum(line.split()[0] in OPTIMIZERS for line in r.stdout.splitlines() if line) == 15
    res = json.loads(run("paper2", "--only", "lattice_3d_optimizers", "--scale-down", 10,
                         "--no-adam", "--json").stdout)
    assert [row["method"] for row in res["rows"]] == ["sampled"]
