"""The optional accelerators: compiled once into the cache, keyed by source, compiler, flags
and CPU; one switch (GANBENCH_KERNELS, or override() in-process); a missing compiler or the
switch off gives the pure-torch path, silently, with the same results to float rounding."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from ganbench.components import accel
from ganbench.components.accel import critic
from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import Trainer, train_trial

HAS_CC = shutil.which(os.environ.get("CC", "cc")) is not None


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty per-process table, an empty cache folder and no loaded critic."""
    monkeypatch.setattr(accel, "_loaded", {})
    monkeypatch.setattr(accel, "_info", {})
    monkeypatch.setattr(critic, "_fns", None)
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    monkeypatch.delenv(accel.ENV, raising=False)
    return tmp_path


@pytest.mark.skipif(not HAS_CC, reason="no C compiler")
def test_compiles_once_into_the_cache_and_records_how(fresh):
    lib = accel.load("critic")
    assert lib is not None and hasattr(lib, "ganbench_critic_forward")
    (so,) = (fresh / "kernels").glob("critic-*.so")
    info = accel.info("critic")
    assert info["library"] == str(so) and "-ffp-contract=fast" in info["flags"]
    mtime = so.stat().st_mtime_ns
    accel._loaded.clear()
    assert accel.load("critic") is not None
    assert so.stat().st_mtime_ns == mtime  # reused, not rebuilt
    assert accel.status() == {"switch": "auto", "env": accel.ENV, "critic": "compiled C kernel"}


def test_every_compiled_source_is_listed_and_lives_in_accel():
    assert sorted(p.stem for p in accel.HERE.glob("*.c")) == sorted(accel.KERNELS)
    pkg = accel.HERE.parent.parent
    assert [p.relative_to(pkg).as_posix() for p in pkg.rglob("*.c")] == ["components/accel/critic.c"]


@pytest.mark.parametrize("value", ["off", "OFF", "0"])
def test_off_switch_gives_none_and_compiles_nothing(fresh, monkeypatch, value):
    monkeypatch.setenv(accel.ENV, value)
    assert accel.switch() == "off" and not accel.enabled()
    assert accel.load("critic") is None and not critic.available()
    assert accel.status()["critic"] == "torch ops (switched off)"
    assert not (fresh / "kernels").exists()


def test_override_switches_inside_the_process_and_nests(fresh, monkeypatch):
    monkeypatch.setenv(accel.ENV, "off")
    with accel.override(True):
        assert accel.switch() == "auto"
        with accel.override(False):
            assert accel.switch() == "off"
        assert accel.switch() == "auto"
    assert accel.switch() == "off"


def test_missing_compiler_gives_none_silently_and_says_why(fresh, monkeypatch, recwarn):
    monkeypatch.setenv("CC", str(fresh / "no-such-compiler"))
    accel._flags.cache_clear()
    try:
        assert accel.load("critic") is None
        assert not critic.available()
        assert accel.status()["critic"].startswith("torch ops (could not compile critic.c")
    finally:
        accel._flags.cache_clear()
    assert not [w for w in recwarn if "compile" in str(w.message)]


RING = """\
name: t
seeds: 2
budget: {steps: 30, eval_every: 15, eval_samples: 500, log_every: 5}
datasets: {ring: {}}
model: {generator: {hidden: [32, 32], z_dim: 16}, discriminator: {hidden: [32]}}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 64}
combos:
  plain: {loss: non_saturating}
"""


@pytest.mark.skipif(not HAS_CC, reason="no C compiler")
def test_a_run_without_a_compiler_gives_the_same_numbers_to_float_rounding(fresh, monkeypatch):
    """The same trial where the critic kernel compiles and where no compiler exists: the noise
    is identical (it never touches compiled code) and every number agrees to float rounding."""
    (spec,) = expand(parse_suite(RING))
    compiled = train_trial(spec)
    monkeypatch.setattr(accel, "_loaded", {})
    monkeypatch.setattr(critic, "_fns", None)
    monkeypatch.setenv("CC", str(fresh / "no-such-compiler"))
    monkeypatch.setenv("GANBENCH_CACHE", str(fresh / "empty"))
    accel._flags.cache_clear()
    try:
        bare = train_trial(spec)
    finally:
        accel._flags.cache_clear()
    assert [r["critic"] for r in compiled.rows] == ["fused"] * 2
    assert [r["critic"] for r in bare.rows] == ["torch"] * 2
    a, b = pd.DataFrame(compiled.history), pd.DataFrame(bare.history)
    assert len(a) == len(b) and list(a.columns) == list(b.columns)
    num = [c for c in a.columns if a[c].dtype.kind == "f"]
    assert {"d_loss", "g_loss", "frechet_distance"} <= set(num)
    np.testing.assert_allclose(a[num].to_numpy(), b[num].to_numpy(), rtol=2e-3, atol=2e-4)
    for s in compiled.samples:
        np.testing.assert_allclose(compiled.samples[s], bare.samples[s], rtol=2e-3, atol=2e-4)


@pytest.mark.skipif(not HAS_CC, reason="no C compiler")
def test_trainer_keeps_its_choice_after_the_override_ends():
    (spec,) = expand(parse_suite(RING))
    with accel.override(False):
        off = Trainer(spec)
    on = Trainer(spec)
    assert not off.fused_critic and on.fused_critic
    for tr in (off, on):
        tr.step()
    spec2 = dataclasses.replace(spec)
    with accel.override(True):
        assert Trainer(spec2).fused_critic
