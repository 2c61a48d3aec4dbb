"""Small C kernels for the CPU hot loop, compiled once with the system C compiler and cached.

ganbench ships C sources next to its Python modules (``noise_kernel.c``: the training noise;
``critic_kernel.c``: the fused one-hidden-layer MLP critic). :func:`load` compiles a source
the first time a process needs it, into ``<$GANBENCH_CACHE or ~/.cache/ganbench>/kernels``
under a name that hashes the source, the compiler, the flags and the CPU's feature flags, so
a changed source or a different machine never reuses a stale library. Compilation is atomic
(concurrent trials may compile at once). Where no compiler is available :func:`load` returns
None and the caller falls back to its pure Python/torch path; which one ran is recorded in
``manifest.json`` (``machine.runtime``).

Flags: ``-O3 -march=native`` vectorises for the machine at hand. ``-ffp-contract=off`` (the
default) keeps every float operation one IEEE-754 operation, so a kernel gives the same numbers
at every vector width and on every machine, and equals its reference implementation bit for
bit (the noise). A kernel without a bit-exact reference may be listed in :data:`CONTRACT`
(``-ffp-contract=fast``: fused multiply-adds, 1.3× faster for the critic); its numbers are
still the same run to run and at every vector width, and the same on every CPU with FMA.
Threads: kernels that split work across threads use OpenMP (``-fopenmp``). torch's own
``libgomp.so.1`` is already loaded when a kernel loads, and the dynamic loader binds the
kernel to that copy (same soname), so kernels run on torch's thread pool, with its thread
count (``torch.set_num_threads``) and ``GOMP_SPINCOUNT``: no second pool competes for the
cores. (Helper Python threads were measured worse: a woken helper waits for the core that
torch's spinning OpenMP worker holds; the critic's forward took 0.93 ms on two such threads
against 0.35 ms on one.) Where a kernel splits work, each unit (a seed) is computed by one
thread in a fixed order, so the thread count never changes a result. Where torch was built
against another OpenMP runtime (Intel's ``libiomp5``, some conda builds) the kernels load the
system ``libgomp`` instead: a second pool, the same results, possibly slower.

``GANBENCH_KERNELS=off`` disables all kernels (the tests use it to exercise the fallbacks).
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
import warnings
from pathlib import Path
from typing import Any

from ganbench import io

HERE = Path(__file__).parent
CFLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-fno-math-errno", "-shared", "-fPIC"]
#: Kernels built with fused multiply-adds (no bit-exact reference to match); all others get
#: ``-ffp-contract=off``.
CONTRACT = frozenset({"critic_kernel"})

_lock = threading.Lock()
_loaded: dict[str, Any] = {}
_info: dict[str, dict[str, str]] = {}


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


def load(name: str) -> ctypes.CDLL | None:
    """The compiled library for ``ganbench/<name>.c``, or None where it cannot be built (a
    warning says why) or ``GANBENCH_KERNELS=off``. Cached per process and on disk."""
    with _lock:
        if name not in _loaded:
            if os.environ.get("GANBENCH_KERNELS") == "off":
                _loaded[name] = None
            else:
                try:
                    _loaded[name] = _compile(name)
                except (OSError, subprocess.SubprocessError) as exc:
                    warnings.warn(f"ganbench: could not compile {name}.c ({exc}); using the slower "
                                  "fallback", stacklevel=3)
                    _loaded[name] = None
        return _loaded[name]


def info(name: str) -> dict[str, str]:
    """How kernel ``name`` was built in this process (empty if it was not)."""
    return dict(_info.get(name, {})) if load(name) is not None else {}
