"""Optional compiled accelerators for the CPU hot loop: everything compiled lives here.

What is in it: ``critic.c`` with :mod:`.critic`, the fused one-hidden-layer (leaky) ReLU MLP
critic of the toy suites. Nothing else in ganbench compiles code, and every accelerated
computation has a pure-torch path that gives the same results to float rounding (a test trains
both ways and compares). ganbench is fully usable without a C compiler; the accelerator only
makes toy CPU trials faster (``make bench`` prints the rows with and without it side by side).

**The switch** is the environment variable ``GANBENCH_KERNELS``: ``auto`` (default: compile
where a C compiler is found, else run the torch path silently) or ``off``. ``ganbench run
--kernels off`` sets it for the trials (:func:`ganbench.run.process.trial_env`), and the
manifest records the switch and what ran (``machine.runtime.kernels``); each trial row records
its critic (``critic``: ``fused`` or ``torch``). :func:`override` switches it inside one process
(the bench and the tests).

Build: :func:`load` compiles a source the first time a process needs it, into
``<$GANBENCH_CACHE or ~/.cache/ganbench>/kernels`` under a name that hashes the source, the
compiler, the flags and the CPU's feature flags, so a changed source or a different machine
never reuses a stale library. Compilation is atomic (concurrent trials may compile at once).
``-O3 -march=native`` vectorises for the machine at hand; kernels in :data:`CONTRACT` use
fused multiply-adds (``-ffp-contract=fast``, 1.3× faster for the critic): their numbers are the
same run to run and at every vector width, and equal the torch path's to float rounding.

Threads: kernels that split work across threads use OpenMP (``-fopenmp``). torch's own
``libgomp.so.1`` is already loaded when a kernel loads, and the dynamic loader binds the
kernel to that copy (same soname), so kernels run on torch's thread pool, with its thread
count (``torch.set_num_threads``): no second pool competes for the cores. Each unit (a seed)
is computed by one thread in a fixed order, so the thread count never changes a result. Where
torch was built against another OpenMP runtime (Intel's ``libiomp5``) the kernels load the
system ``libgomp`` instead: a second pool, the same results, possibly slower.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ganbench import io

HERE = Path(__file__).parent
#: The compiled accelerators (``<name>.c`` here).
KERNELS = ("critic",)
CFLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-fno-math-errno", "-shared", "-fPIC"]
#: Kernels built with fused multiply-adds (no bit-exact reference to match); all others get
#: ``-ffp-contract=off``.
CONTRACT = frozenset({"critic"})
#: The environment variable that switches the accelerators (``auto`` or ``off``).
ENV = "GANBENCH_KERNELS"
SWITCH_VALUES = ("auto", "off")

_lock = threading.Lock()
_loaded: dict[str, Any] = {}
_info: dict[str, dict[str, str]] = {}
_override: list[bool] = []


def switch() -> str:
    """The switch in force in this process: ``auto`` or ``off`` (see module)."""
    if _override:
        return "auto" if _override[-1] else "off"
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    return "off" if value in ("off", "0", "false", "no") else "auto"


def enabled() -> bool:
    """Whether accelerators may be used in this process (the switch is not ``off``)."""
    return switch() != "off"


@contextmanager
def override(on: bool) -> Iterator[None]:
    """Switch the accelerators on (``auto``) or off inside this process for the ``with`` block.
    Objects built inside the block keep their choice afterwards (a Trainer decides once)."""
    _override.append(bool(on))
    try:
        yield
    finally:
        _override.pop()


def _cpu_key() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return platform.machine() + flags


def _accepts(cc: str, flag: str) -> bool:
    try:
        with tempfile.TemporaryDirectory() as tmp:
            probe = subprocess.run([cc, flag, "-shared", "-fPIC", "-x", "c", "-o", f"{tmp}/probe.so", "-"],
                                   input=b"int x(void) { return 0; }", capture_output=True, timeout=30)
        return probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=None)
def _flags(cc: str) -> tuple[str, ...]:
    """CFLAGS plus ``-fopenmp``, each only where the compiler takes it."""
    flags = [f for f in CFLAGS if not f.startswith("-mprefer-vector-width") or _accepts(cc, f)]
    return tuple(flags + (["-fopenmp"] if _accepts(cc, "-fopenmp") else []))


def _compile(name: str) -> ctypes.CDLL:
    cc = os.environ.get("CC", "cc")
    source = HERE / f"{name}.c"
    src = source.read_bytes()
    flags = [*_flags(cc), "-ffp-contract=fast" if name in CONTRACT else "-ffp-contract=off"]
    tag = hashlib.sha256(src + " ".join([cc, *flags, _cpu_key()]).encode()).hexdigest()[:16]
    lib = io.cache_dir() / "kernels" / f"{name}-{tag}.so"
    if not lib.exists():
        with io.atomic_path(lib) as tmp:
            subprocess.run([cc, *flags, "-o", str(tmp), str(source)], check=True, capture_output=True,
                           timeout=120)
    _info[name] = {"implementation": "compiled C kernel", "compiler": cc, "flags": " ".join(flags),
                   "library": str(lib)}
    return ctypes.CDLL(str(lib))  # calls through ctypes release the GIL


def load(name: str, *, respect_switch: bool = True) -> ctypes.CDLL | None:
    """The compiled library for ``accel/<name>.c``, or None where the switch is ``off`` or it
    cannot be built (no compiler: the torch path runs, see :func:`status`). Cached per process
    and on disk. ``respect_switch=False`` is for objects that chose the kernel while the switch
    was on and run it later."""
    if respect_switch and not enabled():
        return None
    with _lock:
        if name not in _loaded:
            try:
                _loaded[name] = _compile(name)
            except (OSError, subprocess.SubprocessError) as exc:
                _info[name] = {"implementation": "torch ops", "why": f"could not compile {name}.c: {exc}"}
                _loaded[name] = None
        return _loaded[name]


def info(name: str) -> dict[str, str]:
    """How kernel ``name`` was built in this process (empty if it was not)."""
    return dict(_info.get(name, {})) if load(name) is not None else {}


def status() -> dict[str, Any]:
    """The switch and what each accelerator runs as in this process (for the manifest)."""
    out: dict[str, Any] = {"switch": switch(), "env": ENV}
    for name in KERNELS:
        if not enabled():
            out[name] = "torch ops (switched off)"
        elif load(name) is not None:
            out[name] = "compiled C kernel"
        else:
            out[name] = "torch ops (" + _info.get(name, {}).get("why", "not built") + ")"
    return out
