"""Process settings: nothing changes on import; the OpenMP spin, the allocator thresholds and
the accelerator switch reach the trial processes only, are recorded, and can be turned off."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ganbench.components import accel
from ganbench.run import process
from ganbench.run.process import ProcessSettings

IMPORTS = ("ganbench", "ganbench.cli", "ganbench.pipeline", "ganbench.train.training",
           "ganbench.run.runner", "ganbench.report.build", "ganbench.components.noise")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("GOMP_SPINCOUNT", accel.ENV, process.ENV) and not k.startswith("RAY_")}


def test_importing_and_training_in_a_library_process_changes_nothing():
    """Import every entry module and train a few steps in a fresh process, as a notebook would:
    the environment is unchanged and the allocator was never tuned. (Third-party imports set
    variables of their own, e.g. Ray sets RAY_CLIENT_MODE; they are imported first, so only
    ganbench's own changes count.)"""
    code = f"""
import json, os
import torch, ray, ray.tune, torch_fidelity, matplotlib, pandas
before = dict(os.environ)
for m in {IMPORTS!r}:
    __import__(m)
from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import Trainer
from ganbench.run import process
spec = expand(parse_suite('''name: t
seeds: 2
budget: {{steps: 4}}
datasets: {{ring: {{}}}}
model: {{generator: {{hidden: [16], z_dim: 8}}, discriminator: {{hidden: [16]}}}}
combos: {{plain: {{loss: non_saturating}}}}
'''))[0]
tr = Trainer(spec)
for _ in range(3):
    tr.step()
after = dict(os.environ)
print(json.dumps({{"changed": sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)),
                  "allocator": process._allocator_state}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=_clean_env(), capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"changed": [], "allocator": {}}


def test_allocator_tuning_is_idempotent_and_reported():
    first = process.tune_allocator()
    assert first == process.tune_allocator()
    if sys.platform.startswith("linux"):
        assert first == {"allocator": "glibc", "mmap_threshold": process.MMAP_THRESHOLD,
                         "trim_threshold": process.TRIM_THRESHOLD}


def test_worker_env_sets_the_spin_count_unless_off_or_the_user_chose(monkeypatch):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert ProcessSettings().worker_env() == {"GANBENCH_KERNELS": "auto", "GOMP_SPINCOUNT": "30000"}
    assert ProcessSettings(tune=False, kernels="off").worker_env() == {"GANBENCH_KERNELS": "off"}
    monkeypatch.setenv("GOMP_SPINCOUNT", "12345")  # the user's value reaches workers unchanged
    assert "GOMP_SPINCOUNT" not in ProcessSettings().worker_env()


def test_settings_from_the_environment_and_bad_values(monkeypatch):
    monkeypatch.setenv(process.ENV, "off")
    monkeypatch.setenv(accel.ENV, "off")
    assert ProcessSettings.from_env() == ProcessSettings(tune=False, kernels="off")
    assert ProcessSettings.from_env(tune=True, kernels="auto") == ProcessSettings(True, "auto")
    with pytest.raises(ValueError, match="kernels must be one of"):
        ProcessSettings.from_env(kernels="fast")


def test_record_describes_without_applying(monkeypatch):
    monkeypatch.setattr(process, "_allocator_state", {})
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    rec = process.record(ProcessSettings(tune=True, kernels="off"))
    assert process._allocator_state == {}  # described, not applied in this process
    assert rec["process_settings"] == "on" and rec["GOMP_SPINCOUNT"] == "30000"
    assert rec["kernels"]["switch"] == "off" and rec["kernels"]["critic"] == "torch ops (switched off)"
    off = process.record(ProcessSettings(tune=False))
    assert off["process_settings"] == "off" and off["allocator"] == "default" and off["GOMP_SPINCOUNT"] is None


def test_apply_in_trial_sets_the_switch_and_reports(monkeypatch):
    monkeypatch.setenv(accel.ENV, "auto")
    got = process.apply_in_trial(ProcessSettings(tune=False, kernels="off"))
    assert os.environ[accel.ENV] == "off" and not accel.enabled()
    assert got["kernels"] == "off"
