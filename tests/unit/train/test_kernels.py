"""The C kernel loader: compiled once into the cache, keyed by source, compiler, flags and CPU;
a missing compiler or GANBENCH_KERNELS=off gives None (the callers' fallbacks), never an error."""

from __future__ import annotations

import os
import shutil

import pytest

from ganbench.components import kernels


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty per-process table and an empty cache folder."""
    monkeypatch.setattr(kernels, "_loaded", {})
    monkeypatch.setattr(kernels, "_info", {})
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    return tmp_path


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler")
def test_compiles_once_into_the_cache_and_records_how(fresh):
    lib = kernels.load("critic_kernel")
    assert lib is not None and hasattr(lib, "ganbench_critic_forward")
    (so,) = (fresh / "kernels").glob("critic_kernel-*.so")
    info = kernels.info("critic_kernel")
    assert info["library"] == str(so) and "-ffp-contract=fast" in info["flags"]
    mtime = so.stat().st_mtime_ns
    kernels._loaded.clear()
    assert kernels.load("critic_kernel") is not None
    assert so.stat().st_mtime_ns == mtime  # reused, not rebuilt
    # the noise kernel keeps one IEEE operation per float operation
    assert kernels.load("noise_kernel") is not None
    assert "-ffp-contract=off" in kernels.info("noise_kernel")["flags"]


def test_off_switch_gives_none(fresh, monkeypatch):
    monkeypatch.setenv("GANBENCH_KERNELS", "off")
    assert kernels.load("noise_kernel") is None
    assert kernels.info("noise_kernel") == {}
    assert not (fresh / "kernels").exists()


def test_missing_compiler_warns_and_gives_none(fresh, monkeypatch):
    monkeypatch.setenv("CC", str(fresh / "no-such-compiler"))
    kernels._flags.cache_clear()
    try:
        with pytest.warns(UserWarning, match="could not compile critic_kernel.c"):
            assert kernels.load("critic_kernel") is None
    finally:
        kernels._flags.cache_clear()
