"""Interrupting ``ganbench run`` and finishing with ``--resume``.

The driver is interrupted once a trial has finished, in two ways: SIGKILL of its whole
process group (nothing gets to clean up; the orphaned local Ray is then killed by id), and
SIGINT to the driver alone (it stops cleanly, writes a partial report and prints the resume
command). Each time ``--resume`` must finish the suite without rerunning a finished trial, and
the final tables must equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.test_cluster import ganbench, kill_ray, ray_env, ray_pids, ray_tmpdir  # noqa: F401 (fixture)

# 4 trials of 2 seeds on 2 cores: when the first trial finishes, at least two have not.
SUITE = """\
name: resume
description: Interrupted and resumed.
seeds: 2
budget: {steps: 600, eval_every: 300, eval_samples: 200, log_every: 100}
datasets:
  ring: {}
model: {generator: {hidden: [16], z_dim: 8}, discriminator: {hidden: [16]}, activation: relu}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 32}
baseline: ns
combos:
  ns: {loss: non_saturating}
  mm: {loss: minimax}
  ls: {loss: least_squares}
  hinge: {loss: hinge}
"""
WALL = ["wall_s", "trial_wall_s"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the suite."""
    root = tmp_path_factory.mktemp("resume-ref")
    (root / "resume.yaml").write_text(SUITE)
    rt = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    try:
        proc = ganbench(["run", "resume.yaml", "--out", "ref", "--quiet"], root, ray_env(rt))
    finally:
        kill_ray(rt)
        shutil.rmtree(rt, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "ref"


def _finished(run_dir: Path) -> dict[str, bytes]:
    """Trials whose final checkpoint is complete: trial folder -> bytes of its rows.json."""
    done = {}
    for ckpt in (run_dir / "ray").glob("tune/*/checkpoint_*"):
        try:
            rows = (ckpt / "rows.json").read_bytes()
            json.loads(rows)
            pd.read_parquet(ckpt / "history.parquet")
            with np.load(ckpt / "samples.npz") as npz:
                [npz[k] for k in npz.files]
        except Exception:  # not there yet, or still being written
            continue
        done[ckpt.parent.name] = rows
    return done


def _start_and_wait(tmp: Path, rt: Path) -> tuple[subprocess.Popen, dict[str, bytes]]:
    (tmp / "resume.yaml").write_text(SUITE)
    proc = subprocess.Popen([sys.executable, "-m", "ganbench", "run", "resume.yaml", "--out", "run",
                             "--quiet"], cwd=tmp, env=ray_env(rt), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not _finished(tmp / "run"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"no trial finished (rc {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.2)
    return proc, _finished(tmp / "run")


def _resume_and_compare(tmp: Path, rt: Path, reference: Path, finished: dict[str, bytes],
                        label: str) -> None:
    run = tmp / "run"
    t0 = time.perf_counter()
    proc = ganbench(["run", "--resume", "run", "--quiet"], tmp, ray_env(rt))
    took = time.perf_counter() - t0
    kill_ray(rt)
    print(f"\nresume after {label}: {took:.1f} s ({len(finished)} of 4 trials had finished)")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    # the trials finished before the interruption were not run again
    after = _finished(run)
    assert len(after) == 4
    for trial, rows in finished.items():
        assert after[trial] == rows, f"{trial} was rerun"
    assert len(list((run / "ray" / "tune").glob("*/checkpoint_*"))) == 4
    # and the results equal those of the uninterrupted run
    for name in ("trials.parquet", "history.parquet"):
        a, b = pd.read_parquet(run / name), pd.read_parquet(reference / name)
        pd.testing.assert_frame_equal(a.drop(columns=WALL, errors="ignore"),
                                      b.drop(columns=WALL, errors="ignore"))
    assert sorted(p.name for p in (run / "samples").iterdir()) == \
        sorted(p.name for p in (reference / "samples").iterdir())
    assert (run / "report.html").is_file()


def test_resume_after_sigkill(tmp_path, ray_tmpdir, reference):
    proc, finished = _start_and_wait(tmp_path, ray_tmpdir)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    kill_ray(ray_tmpdir)  # the orphaned local Ray (its workers are not in the driver's group)
    assert ray_pids(ray_tmpdir) == []
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "running"
    finished = _finished(tmp_path / "run")  # as left on disk by the kill
    assert 1 <= len(finished) < 4
    _resume_and_compare(tmp_path, ray_tmpdir, reference, finished, "SIGKILL")


def test_resume_after_sigint(tmp_path, ray_tmpdir, reference):
    proc, _ = _start_and_wait(tmp_path, ray_tmpdir)
    t0 = time.perf_counter()
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C reaches the driver
    out, err = proc.communicate(timeout=300)
    print(f"\nSIGINT: driver exited after {time.perf_counter() - t0:.1f} s with {proc.returncode}")
    kill_ray(ray_tmpdir)
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "partial", out + err
    assert (run / "report.html").is_file()
    assert "partial" in (run / "report.html").read_text().lower()
    assert f"ganbench run --resume {run.name}" in out or f"--resume {run}" in out, out
    finished = _finished(run)
    trials = pd.read_parquet(run / "trials.parquet")
    # every trial the partial report calls ok has its checkpoint on disk; a trial may also
    # complete its checkpoint in the moment between the driver's collection and its exit
    # (the report then calls it interrupted, and the resume below reuses it)
    ok = {f"{d}__{c}" for d, c in trials.loc[trials.status == "ok", ["dataset", "combo"]].itertuples(index=False)}
    on_disk = {json.loads(rows)["trial_id"] for rows in finished.values()}
    assert ok <= on_disk, (ok, on_disk)
    assert (trials.status == "ok").sum() == 2 * len(ok)
    assert set(trials.status) - {"ok"} <= {"missing", "interrupted"}
    assert 1 <= len(finished) < 4
    _resume_and_compare(tmp_path, ray_tmpdir, reference, finished, "SIGINT")

