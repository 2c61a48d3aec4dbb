"""Load: a suite of 200 tiny trials through Ray on 2 cores completes, and the driver's memory
stays bounded. Prints the wall time and the driver's RSS as trials finish (run with ``-s``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.integration.test_cluster import kill_ray, ray_env, ray_tmpdir  # noqa: F401 (fixture)

N_TRIALS = 200
SUITE = """\
name: load
description: Two hundred tiny trials.
seeds: 1
budget: {steps: 20, eval_every: 20, eval_samples: 50, log_every: 10}
datasets:
  ring: {}
model: {generator: {hidden: [4], z_dim: 2}, discriminator: {hidden: [4]}, activation: relu}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 8}
baseline: c000
combos:
""" + "".join(f"  c{i:03d}: {{loss: {('non_saturating', 'least_squares')[i % 2]}}}\n"
              for i in range(N_TRIALS))


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


@pytest.mark.slow
def test_200_tiny_trials(tmp_path, ray_tmpdir):
    (tmp_path / "load.yaml").write_text(SUITE)
    run = tmp_path / "run"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ganbench", "run", "load.yaml", "--out", "run",
                             "--max-concurrent", "2", "--quiet"], cwd=tmp_path,
                            env=ray_env(ray_tmpdir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak_kb, samples = 0, []  # (seconds, trials finished, driver RSS MiB)
    try:
        while proc.poll() is None:
            kb = _status_kb(proc.pid)
            peak_kb = max(peak_kb, kb.get("VmHWM", 0), kb.get("VmRSS", 0))
            if kb:
                done = len(list((run / "ray").glob("tune/*/checkpoint_*")))
                samples.append((time.perf_counter() - t0, done, kb.get("VmRSS", 0) / 1024))
            time.sleep(0.5)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_ray(ray_tmpdir)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, out + err

    trials = pd.read_parquet(run / "trials.parquet")
    assert len(trials) == N_TRIALS * 1
    assert (trials.status == "ok").all(), trials.status.value_counts()
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
    assert (run / "report.html").stat().st_size > 10_000
    assert len(pd.read_csv(run / "summary.csv")) == N_TRIALS

    # the driver's RSS after every ~25% of the trials (flat once Ray is up)
    marks = []
    for q in (1, N_TRIALS // 4, N_TRIALS // 2, 3 * N_TRIALS // 4, N_TRIALS):
        hit = next((s for s in samples if s[1] >= q), None)
        if hit:
            marks.append(f"{hit[1]} done: {hit[2]:.0f} MiB")
    print(f"\n{N_TRIALS} trials: wall {wall:.1f} s; driver peak RSS {peak_kb / 1024:.0f} MiB; "
          + "; ".join(marks))
    assert peak_kb < 4 * 1024 * 1024, f"driver peak RSS {peak_kb / 1024:.0f} MiB"
