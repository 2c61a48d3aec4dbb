"""Settings for the processes that train: applied there only, recorded, and switchable.

Importing ganbench changes nothing in the importing process. The settings below apply only in
the processes that run trials (Ray's trial workers), set up by :func:`ganbench.run.runner.init_ray`
and :func:`ganbench.run.runner.trainable`; ``make bench`` applies them to its own process. They
change timings, never results; the manifest records them (``machine.runtime``).

* ``GOMP_SPINCOUNT=30000`` (an environment variable of the trial workers, set when Ray starts
  them, so before torch loads libgomp; a value the user exported wins). With libgomp's default
  (300 000 spins) an idle OpenMP worker keeps its core busy for milliseconds after every
  parallel region, and the noise threads of a CPU trial share that core with it. Much lower
  values cost more in wake-ups than they save (at 100–300 the plain PyTorch reference loop of
  ``make bench`` ran about 2× slower); 30 000 left that loop at its default speed.
* **glibc's mmap and trim thresholds** (``mallopt``, in the trial process). Toy GAN steps
  allocate and free many same-sized activation tensors (2 MiB each for the Metz-size ring at
  S = 8); glibc serves blocks that large with ``mmap`` and unmaps them on ``free``, so every
  step paid page faults to map and zero fresh pages (a step went from 15.6 to 12.9 ms at S = 8
  on 2 cores with the thresholds raised). The cost: freed memory stays with the process up to
  its peak use, as with a caching allocator.
* **The accelerator switch** (``GANBENCH_KERNELS``, :mod:`ganbench.components.accel`), passed to
  every trial.

``ganbench run --no-process-settings`` (or ``GANBENCH_PROCESS_SETTINGS=off``) leaves the trial
processes at torch's and glibc's defaults; ``--kernels off`` switches the accelerators off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

from ganbench.components import accel

#: OpenMP spin count given to the trial workers (see module).
GOMP_SPINCOUNT = "30000"
#: Blocks up to this size come from the heap instead of fresh ``mmap`` calls (bytes).
MMAP_THRESHOLD = 256 << 20
#: Free memory at the top of the heap is returned to the OS only beyond this (bytes).
TRIM_THRESHOLD = 1 << 30
#: ``off`` leaves trial processes at the defaults (same as ``--no-process-settings``).
ENV = "GANBENCH_PROCESS_SETTINGS"

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: What :func:`tune_allocator` reports (and :func:`record` describes) when the thresholds are set.
GLIBC_STATE: dict[str, object] = {"allocator": "glibc", "mmap_threshold": MMAP_THRESHOLD,
                                  "trim_threshold": TRIM_THRESHOLD}
_allocator_state: dict[str, object] = {}


@dataclass(frozen=True)
class ProcessSettings:
    """What the trial processes get: ``tune`` (the OpenMP and allocator settings) and the
    accelerator switch ``kernels`` (``auto`` or ``off``)."""

    tune: bool = True
    kernels: str = "auto"

    @classmethod
    def from_env(cls, tune: bool | None = None, kernels: str | None = None) -> "ProcessSettings":
        """The settings for this run: explicit arguments, else the environment, else defaults."""
        if tune is None:
            tune = os.environ.get(ENV, "on").strip().lower() not in ("off", "0", "false", "no")
        if kernels is None:
            kernels = accel.switch()
        if kernels not in accel.SWITCH_VALUES:
            raise ValueError(f"kernels must be one of {accel.SWITCH_VALUES}, not {kernels!r}")
        return cls(tune=bool(tune), kernels=kernels)

    def worker_env(self) -> dict[str, str]:
        """Environment variables for the trial worker processes (set when they start)."""
        env = {accel.ENV: self.kernels}
        if self.tune and "GOMP_SPINCOUNT" not in os.environ:
            env["GOMP_SPINCOUNT"] = GOMP_SPINCOUNT
        return env

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_in_trial(settings: ProcessSettings) -> dict[str, Any]:
    """Apply ``settings`` inside a trial process; returns what is in force (for the trial's
    record): the accelerator switch, ``GOMP_SPINCOUNT`` and the allocator."""
    os.environ[accel.ENV] = settings.kernels
    alloc = tune_allocator() if settings.tune else dict(_allocator_state or {"allocator": "default"})
    return {"kernels": settings.kernels, "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"), **alloc}


def tune_allocator() -> dict[str, object]:
    """Set glibc's mmap/trim thresholds once per process; a no-op elsewhere. Call it only in a
    process that trains (a trial worker, the bench), never on import.

    Returns what was done: ``{"allocator": "glibc", "mmap_threshold": ..., "trim_threshold":
    ...}`` or ``{"allocator": "default"}``.
    """
    if _allocator_state:
        return dict(_allocator_state)
    state: dict[str, object] = {"allocator": "default"}
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = getattr(libc, "mallopt", None)
            if mallopt is not None and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 \
                    and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1:
                state = dict(GLIBC_STATE)
        except OSError:
            pass
    _allocator_state.update(state)
    return dict(state)


def record(settings: ProcessSettings) -> dict[str, Any]:
    """What the manifest records about the trial processes (``machine.runtime``), without
    changing this process: the settings, the environment the workers get and, for the
    accelerators, what this machine would run (:func:`ganbench.components.accel.status`)."""
    allocator = (GLIBC_STATE if settings.tune and sys.platform.startswith("linux")
                 else {"allocator": "default"})
    with accel.override(settings.kernels != "off"):
        kernels = accel.status()
    return {"process_settings": "on" if settings.tune else "off",
            "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT") or settings.worker_env().get("GOMP_SPINCOUNT"),
            **allocator, "kernels": kernels}
