"""End to end through Ray Tune: the run folder, determinism, divergence and report rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import TINY_SUITE

SUITE = TINY_SUITE + """\
  boom: {loss: least_squares, optimizer: {name: sgd, lr: 5.0}}
"""

RUN_FILES = ["report.html", "suite.yaml", "manifest.json", "trials.parquet", "trials.csv",
             "history.parquet", "summary.csv", "summary.tex", "citation.bib"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RAY_TMPDIR=tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    return subprocess.run([sys.executable, "-m", "ganbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    suite = root / "tiny.yaml"
    suite.write_text(SUITE)
    outs = []
    for name in ("a", "b"):
        proc = _run(["run", str(suite), "--out", str(root / name), "--quiet"], root)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outs.append((root / name, proc))
    return outs


def test_run_folder_is_complete(two_runs):
    run_dir, proc = two_runs[0]
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert (run_dir / "ray").is_dir()
    assert "report:" in proc.stdout and "summary" in proc.stdout
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["seeds"] == [0, 1]
    assert manifest["versions"]["torch_fidelity"].startswith("0.4")
    assert len(manifest["suite_sha256"]) == 64
    assert (run_dir / "suite.yaml").read_text() == SUITE
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert len(trials) == 2 * 3 * 2  # datasets × combos × seeds
    for col in ["dataset", "combo", "seed", "status", "steps", "modes_covered", "modes_total",
                "hq_fraction", "reverse_kl", "frechet_distance", "d_loss_final", "g_loss_final",
                "g_grad_norm_final", "wall_s"]:
        assert col in trials.columns, col
    ok = trials[(trials.dataset == "ring") & (trials.combo == "vanilla")]
    assert (ok.status == "ok").all() and (ok.steps == 60).all()
    assert ok.modes_total.eq(8).all() and ok.frechet_distance.notna().all()
    history = pd.read_parquet(run_dir / "history.parquet")
    ring_hist = history[(history.dataset == "ring") & (history.combo == "vanilla") & (history.seed == 0)]
    assert list(ring_hist.step) == [10, 20, 30, 40, 50, 60]
    dirac_hist = history[(history.dataset == "dirac") & (history.combo == "vanilla") & (history.seed == 0)]
    assert len(dirac_hist) == 60 and dirac_hist.theta.notna().all()
    for ds, dim in (("ring", 2), ("dirac", 1)):
        arr = np.load(run_dir / "samples" / f"{ds}__vanilla__seed1.npy")
        assert arr.dtype == np.float32 and arr.shape[1] == dim
    assert np.load(run_dir / "samples" / "ring__vanilla__seed1.npy").shape == (400, 2)
    # the samples at every evaluation (all 400 of each draw: fewer than 512), the last of them
    # the final samples in float16; none for the Dirac-GAN
    with np.load(run_dir / "evolution" / "ring__vanilla.npz") as evo:
        assert sorted(evo.files) == ["seed0", "seed1", "steps"] and list(evo["steps"]) == [30, 60]
        assert evo["seed1"].dtype == np.float16 and evo["seed1"].shape == (2, 400, 2)
        final = np.load(run_dir / "samples" / "ring__vanilla__seed1.npy")
        np.testing.assert_array_equal(evo["seed1"][-1], final.astype(np.float16))
    names = {p.name for p in (run_dir / "evolution").iterdir()}
    assert {"ring__minimax.npz", "ring__vanilla.npz"} <= names  # (boom: if it lived to step 30)
    assert all(n.startswith("ring__") for n in names)
    summary = pd.read_csv(run_dir / "summary.csv")
    assert {"modes_covered_mean", "modes_covered_ci_lo", "modes_covered_ci_hi"} <= set(summary.columns)
    assert len(summary) == 6


def test_diverged_trial_is_recorded_and_suite_goes_on(two_runs):
    run_dir, _ = two_runs[0]
    trials = pd.read_parquet(run_dir / "trials.parquet")
    boom = trials[(trials.dataset == "ring") & (trials.combo == "boom")]
    assert (boom.status == "diverged").all()
    assert (boom.diverged_step < 60).all()
    assert (trials[trials.combo != "boom"].status == "ok").all()
    html = (run_dir / "report.html").read_text()
    assert "diverged" in html


def test_two_identical_runs_match(two_runs):
    (a, _), (b, _) = two_runs
    ta, tb = pd.read_parquet(a / "trials.parquet"), pd.read_parquet(b / "trials.parquet")
    drop = ["wall_s", "trial_wall_s"]
    pd.testing.assert_frame_equal(ta.drop(columns=drop), tb.drop(columns=drop))
    ha, hb = pd.read_parquet(a / "history.parquet"), pd.read_parquet(b / "history.parquet")
    pd.testing.assert_frame_equal(ha, hb)
    sa = pd.read_csv(a / "summary.csv")
    sb = pd.read_csv(b / "summary.csv")
    cols = [c for c in sa.columns if "wall" not in c]
    pd.testing.assert_frame_equal(sa[cols], sb[cols])


def test_report_rebuilds_from_run_folder(two_runs, tmp_path):
    import shutil

    src, _ = two_runs[0]
    copy = tmp_path / "copy"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("ray"))
    before = (copy / "summary.csv").read_text()
    for name in ("report.html", "summary.csv", "summary.tex", "citation.bib"):
        (copy / name).unlink()
    proc = _run(["report", str(copy)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (copy / "report.html").stat().st_size > 10_000
    assert (copy / "summary.csv").read_text() == before


def test_run_refuses_unwritable_out_before_training(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(SUITE)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _run(["run", str(suite), "--out", str(blocker / "sub"), "--quiet"], tmp_path)
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr


def test_failing_trial_is_recorded_and_suite_goes_on(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    env_extra = {"GANBENCH_INJECT_FAILURE": "ring__minimax@30"}
    env = dict(os.environ, RAY_TMPDIR=tempfile.mkdtemp(prefix="rt", dir="/tmp"), **env_extra)
    proc = subprocess.run([sys.executable, "-m", "ganbench", "run", str(suite), "--out",
                           str(tmp_path / "out"), "--quiet"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trials = pd.read_parquet(tmp_path / "out" / "trials.parquet")
    bad = trials[(trials.dataset == "ring") & (trials.combo == "minimax")]
    assert (bad.status == "failed").all()
    assert bad.error.str.contains("injected failure at step 30").all()
    assert (trials.drop(bad.index).status == "ok").all()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "injected failure at step 30" in html
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
