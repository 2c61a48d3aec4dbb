#!/usr/bin/env python
"""ganbench speed benchmark (``make bench``): the seed axis against a plain PyTorch loop.

The configuration is the 8-Gaussian ring at the size of Metz et al. (2016): z_dim 256,
G 256→128→128→2 (ReLU), D 2→128→1, batch 512, non-saturating loss, Adam(1e-4, (0.5, 0.999)),
alternating updates with one critic step. It measures, with a fixed number of torch threads:

1. seed-steps/s of ``Trainer.step()`` for S seeds in lockstep (S × steps / seconds), twice:
   with the optional compiled accelerators (``ganbench.components.accel``) and with pure torch
   (what a machine without a C compiler runs), side by side in the same run;
2. the same for a plain PyTorch reference written like the DCGAN tutorial (one
   ``nn.Sequential`` and one ``torch.optim.Adam`` per seed, S models trained one after
   another inside each step), interleaved with (1) so that machine load hits both alike;
3. the fp32 matmul ceiling at the ring networks' shapes and the utilisation it implies;
4. the cost of probes (``train_trial`` with and without them) and of unrolling (if the
   ``unrolled`` remedy exists);
5. where one ``Trainer.step()`` spends its time (each op timed in place, grouped).

It prints a table and writes ``BENCHMARKS.md`` plus ``benchmarks/seed_scaling.png`` beside it.
Timings are reported, never asserted. ``--quick`` is a smoke run (S in {1, 8}, few steps).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

if not os.environ.get("MPLCONFIGDIR"):
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="ganbench-mpl-")

# the trial processes' OpenMP setting, before torch loads libgomp (importing ganbench sets
# nothing; ganbench.run.process imports no torch)
from ganbench.run import process  # noqa: E402

os.environ.setdefault("GOMP_SPINCOUNT", process.GOMP_SPINCOUNT)
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ganbench import io  # noqa: E402
from ganbench.config.suite import TrialSpec, expand, parse_suite  # noqa: E402
from ganbench.components import accel  # noqa: E402
from ganbench.train.training import Trainer, train_trial  # noqa: E402
from common import RING_MODEL_YAML, cpu_name, loadavg  # noqa: E402  (benchmarks/ is on sys.path)

REPO = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- configuration
Z_DIM, G_HIDDEN, D_HIDDEN, BATCH, DIM = 256, [128, 128], [128], 512, 2
LR, BETAS = 1.0e-4, (0.5, 0.999)
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.02

SUITE_TEMPLATE = """\
name: bench
seeds: {seeds}
budget: {{steps: {steps}, eval_every: {eval_every}, eval_samples: 2500, log_every: {log_every}}}
datasets: {{ring: {{}}}}
""" + RING_MODEL_YAML + """\
combos:
  {combo}: {{loss: non_saturating, update: alternating, n_critic: 1{remedies}}}
resources: {{cpus_per_trial: {threads}, gpus_per_trial: 0}}
device: cpu
"""


def bench_spec(seeds: int, threads: int, steps: int = 1000, eval_every: int | None = None,
               log_every: int = 50, remedies: str = "") -> TrialSpec:
    """The bench trial, built from suite text exactly as a user's suite would be."""
    text = SUITE_TEMPLATE.format(seeds=seeds, steps=steps, eval_every=eval_every or steps,
                                 log_every=log_every, threads=threads,
                                 combo="unrolled" if remedies else "vanilla",
                                 remedies=f", remedies: {remedies}" if remedies else "")
    specs = expand(parse_suite(text))
    assert len(specs) == 1
    return specs[0]


# ----------------------------------------------------------------------------- reference loop
class ReferenceGAN:
    """One seed's plain PyTorch GAN, trained the way the PyTorch DCGAN tutorial trains.

    Global RNG, ``nn.Sequential`` networks, one default ``torch.optim.Adam`` per network,
    ``BCEWithLogitsLoss``; the fake batch of the D step is reused for the G step.
    """

    def __init__(self, seed: int):
        torch.manual_seed(seed)
        g_sizes = [Z_DIM, *G_HIDDEN, DIM]
        d_sizes = [DIM, *D_HIDDEN, 1]
        self.netG = self._mlp(g_sizes)
        self.netD = self._mlp(d_sizes)
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=LR, betas=BETAS)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=LR, betas=BETAS)
        self.criterion = nn.BCEWithLogitsLoss()
        self.G_losses: list[float] = []
        self.D_losses: list[float] = []
        angles = 2 * math.pi * torch.arange(RING_MODES) / RING_MODES
        self.centres = RING_RADIUS * torch.stack([angles.cos(), angles.sin()], 1)

    @staticmethod
    def _mlp(sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def sample_real(self) -> torch.Tensor:
        idx = torch.randint(RING_MODES, (BATCH,))
        return self.centres[idx] + RING_STD * torch.randn(BATCH, DIM)

    def step(self) -> None:
        netD, netG, criterion = self.netD, self.netG, self.criterion
        # (1) update D: maximise log D(x) + log(1 - D(G(z)))
        netD.zero_grad()
        real = self.sample_real()
        label = torch.full((BATCH,), 1.0)
        output = netD(real).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(BATCH, Z_DIM)
        fake = netG(noise)
        label.fill_(0.0)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optD.step()
        # (2) update G: maximise log D(G(z)) (non-saturating), reusing the fake batch
        netG.zero_grad()
        label.fill_(1.0)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optG.step()
        # the tutorial's per-iteration bookkeeping (it prints these every 50 iterations)
        self.stats = (D_x, D_G_z1, D_G_z2)
        self.G_losses.append(errG.item())
        self.D_losses.append(errD.item())


class ReferenceLoop:
    """S independent reference GANs, stepped one after another."""

    def __init__(self, S: int):
        self.models = [ReferenceGAN(seed) for seed in range(S)]

    def step(self) -> None:
        for m in self.models:
            m.step()


# ----------------------------------------------------------------------------- FLOPs
def _layer_macs(sizes: list[int]) -> list[int]:
    return [a * b for a, b in zip(sizes[:-1], sizes[1:])]


def flops_per_seed_step() -> dict[str, float]:
    """Analytic matmul FLOPs of one seed-step (alternating, n_critic 1, fake batch reused).

    F_G = 2·B·Σ fan_in·fan_out over G's layers (one forward), F_D likewise for D.
    Nominal (forward + backward ≈ 3 × forward): G runs forward and backward once → 3·F_G;
    D runs forward on real, on fake (D step) and on fake again (G step), each followed by a
    backward pass → 3 × 3·F_D. Total = 3·F_G + 9·F_D.
    """
    f_g = 2 * BATCH * sum(_layer_macs([Z_DIM, *G_HIDDEN, DIM]))
    f_d = 2 * BATCH * sum(_layer_macs([DIM, *D_HIDDEN, 1]))
    # what autograd actually computes in ganbench's step: no gradient w.r.t. z (G's first
    # layer input), no D weight gradients in the G step, no input gradients through D's first
    # layer for the real batch / detached fake batch.
    g_in_macs = _layer_macs([Z_DIM, *G_HIDDEN, DIM])
    d_in_macs = _layer_macs([DIM, *D_HIDDEN, 1])
    g_exact = f_g + f_g + 2 * BATCH * sum(g_in_macs[1:])  # fwd + weight grads + input grads
    d_exact = (2 * f_d + 2 * f_d + 2 * 2 * BATCH * sum(d_in_macs[1:])  # D step: 2 fwd, 2 wgrad
               + f_d + f_d)  # G step: fwd + input grads through every D layer
    return {"F_G": f_g, "F_D": f_d, "nominal": 3 * f_g + 9 * f_d, "exact": g_exact + d_exact}


# ----------------------------------------------------------------------------- matmul ceiling
def matmul_shapes() -> list[tuple[str, int, int, int, bool, bool]]:
    """(name, m, k, n, transpose A, transpose B) of G's big per-seed matmuls in one step."""
    b, z, h = BATCH, Z_DIM, G_HIDDEN[0]
    return [
        ("fwd  x·W1   [512×256]·[256×128]", b, z, h, False, False),
        ("fwd  h·W2   [512×128]·[128×128]", b, h, h, False, False),
        ("wgrad xᵀ·g  [256×512]·[512×128]", z, b, h, True, False),
        ("wgrad hᵀ·g  [128×512]·[512×128]", h, b, h, True, False),
        ("igrad g·W2ᵀ [512×128]·[128×128]", b, h, h, False, True),
        ("igrad g·W1ᵀ [512×128]·[128×256]", b, h, z, False, True),
    ]


def time_matmul(S: int, m: int, k: int, n: int, ta: bool, tb: bool, repeats: int,
                min_time: float) -> float:
    """Median GFLOP/s of ``S`` fp32 ``[m×k]·[k×n]`` products (mm for S=1, else bmm)."""
    a = torch.randn(S, k, m).transpose(1, 2) if ta else torch.randn(S, m, k)
    bm = torch.randn(S, n, k).transpose(1, 2) if tb else torch.randn(S, k, n)
    out = torch.empty(S, m, n)
    if S == 1:
        a, bm, out = a[0], bm[0], out[0]
        fn: Callable[[], Any] = lambda: torch.mm(a, bm, out=out)  # noqa: E731
    else:
        fn = lambda: torch.bmm(a, bm, out=out)  # noqa: E731
    for _ in range(3):
        fn()
    # calibrate the inner count so one timing lasts about min_time
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-6)
    inner = max(1, int(min_time / one))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        dt = time.perf_counter() - t0
        rates.append(2.0 * S * m * k * n * inner / dt / 1e9)
    return statistics.median(rates)


@dataclass
class Ceiling:
    rows: list[dict[str, Any]]
    composite: dict[int, float]  # S -> GFLOP/s of the whole matmul mix
    value: float                  # the ceiling used for utilisation
    at: int


def measure_ceiling(repeats: int, min_time: float) -> Ceiling:
    rows = []
    composite = {}
    for S in (1, 8):
        total_flop, total_time = 0.0, 0.0
        for name, m, k, n, ta, tb in matmul_shapes():
            g = time_matmul(S, m, k, n, ta, tb, repeats, min_time)
            rows.append({"S": S, "shape": name, "gflops": g})
            flop = 2.0 * m * k * n
            total_flop += flop
            total_time += flop / (g * 1e9)
        composite[S] = total_flop / total_time / 1e9
    at = max(composite, key=composite.get)
    return Ceiling(rows, composite, composite[at], at)


# ----------------------------------------------------------------------------- step timing
def steps_for(S: int, quick: bool) -> int:
    """Planned timed steps per repeat: 200 for small S, fewer for large S (400-960 seed-steps).

    :func:`measure_scaling` lowers this when one timed block would last longer than
    ``block_s`` (a slow or busy machine), so the whole bench stays within a few minutes.
    """
    if quick:
        return 20 if S == 1 else 5
    return 200 if S <= 2 else max(30, 400 // S)


def warmup_for(S: int, quick: bool) -> int:
    if quick:
        return 3
    return 20 if S <= 8 else 10


def timed(fn: Callable[[], None], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t0


def timed_block(fn: Callable[[], None], n: int, max_s: float, min_n: int = 3) -> tuple[int, float]:
    """Call ``fn`` ``n`` times, stopping early (after at least ``min_n`` calls) once ``max_s``
    seconds have passed; return (calls, seconds). Keeps the bench short on a busy machine."""
    t0 = time.perf_counter()
    done = 0
    while done < n:
        fn()
        done += 1
        if done >= min_n and time.perf_counter() - t0 > max_s:
            break
    return done, time.perf_counter() - t0


def warm_up(fn: Callable[[], None], n: int, max_s: float) -> tuple[int, float]:
    """Run ``fn`` up to ``n`` times or ``max_s`` seconds; return (calls, seconds of the last call)."""
    t_end = time.perf_counter() + max_s
    last, done = 0.0, 0
    while done < n:
        t0 = time.perf_counter()
        fn()
        last = time.perf_counter() - t0
        done += 1
        if time.perf_counter() > t_end and done >= 2:
            break
    return done, last


@dataclass
class ScalingRow:
    S: int
    steps: int
    warmup: int
    planned: int = 0
    gb: list[float] = field(default_factory=list)   # seed-steps/s per repeat (accelerators auto)
    ref: list[float] = field(default_factory=list)
    gbt: list[float] = field(default_factory=list)  # pure torch (accelerators off)
    compiled: bool = True  # whether the accelerated trainer really ran a compiled kernel
    done: list[int] = field(default_factory=list)   # steps actually timed per block
    others: float = float("nan")  # share of the machine other processes used meanwhile

    @property
    def gb_med(self) -> float:
        return statistics.median(self.gb)

    @property
    def ref_med(self) -> float:
        return statistics.median(self.ref)

    @property
    def steps_text(self) -> str:
        lo, hi = min(self.done, default=self.steps), max(self.done, default=self.steps)
        return str(hi) if lo == hi else f"{lo}–{hi}"

    @property
    def gb_best(self) -> float:
        return max(self.gb)

    @property
    def ref_best(self) -> float:
        return max(self.ref)

    @property
    def ratio(self) -> float:
        """Median over repeats of the paired ratio ganbench / reference."""
        return statistics.median(g / r for g, r in zip(self.gb, self.ref))

    @property
    def gbt_med(self) -> float:
        return statistics.median(self.gbt)

    @property
    def ratio_t(self) -> float:
        """Median paired ratio pure-torch ganbench / reference."""
        return statistics.median(g / r for g, r in zip(self.gbt, self.ref))

    @property
    def speedup(self) -> float:
        """Median paired ratio accelerated / pure-torch ganbench (the accelerators' gain)."""
        return statistics.median(g / t for g, t in zip(self.gb, self.gbt))


def measure_scaling(S: int, threads: int, repeats: int, quick: bool, block_s: float) -> ScalingRow:
    planned, warm = steps_for(S, quick), warmup_for(S, quick)
    tr = Trainer(bench_spec(S, threads), device=torch.device("cpu"))
    with accel.override(False):  # what a machine without a C compiler runs
        tr_torch = Trainer(bench_spec(S, threads), device=torch.device("cpu"))
    ref = ReferenceLoop(S)
    w1, t_gb = warm_up(tr.step, warm, 2 * block_s)
    w3, t_gbt = warm_up(tr_torch.step, warm, 2 * block_s)
    w2, t_ref = warm_up(ref.step, warm, 2 * block_s)
    # timed steps: as planned, unless one block would outlast block_s (slow or busy machine)
    steps = max(3, min(planned, int(block_s / max(t_gb, t_gbt, t_ref, 1e-6))))
    row = ScalingRow(S, steps, min(w1, w2, w3), planned, compiled=bool(tr.fused_critic))
    a = METER.snapshot()
    for _ in range(repeats):  # interleaved, so bursts of machine load hit all three alike
        for fn, out in ((tr.step, row.gb), (tr_torch.step, row.gbt), (ref.step, row.ref)):
            n, sec = timed_block(fn, steps, 2 * block_s)  # hard stop if load grows meanwhile
            out.append(S * n / sec)
            row.done.append(n)
    row.others = METER.others(a, METER.snapshot())
    return row


def measure_plain_reference(S: int, threads: int, repeats: int, steps: int) -> dict[str, Any]:
    """Each loop in a fresh process of its own, as it ships: the reference under PyTorch's
    defaults (libgomp's own spin count, 300 000; glibc's default allocator thresholds),
    ganbench under its own process settings. The processes alternate, ``repeats`` rounds of
    (reference process, ganbench process); each process warms up and reports the median of 3
    blocks of ``steps`` steps. The ratio is the median of the per-round ratios. This checks
    that the in-process comparison, where the reference shares ganbench's settings, is not
    flattered by them."""
    import json
    import subprocess

    def one(kind: str, env: dict[str, str]) -> float:
        cmd = [sys.executable, str(Path(__file__).resolve()), f"--{kind}-only", str(S),
               "--threads", str(threads), "--repeats", "3", "--ref-steps", str(steps)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=True)
        return float(json.loads(out.stdout.strip().splitlines()[-1])["median"])

    plain_env = {**os.environ, "GOMP_SPINCOUNT": "300000"}
    shipped_env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    refs, gbs = [], []
    try:
        for _ in range(repeats):
            refs.append(one("reference", plain_env))
            gbs.append(one("ganbench", shipped_env))
    except Exception as exc:  # report, never crash the bench
        return {"available": False, "why": f"{type(exc).__name__}: {exc}"}
    return {"available": True, "S": S, "median": statistics.median(refs), "all": refs,
            "gb_median": statistics.median(gbs), "gb_all": gbs,
            "ratio": statistics.median(g / r for g, r in zip(gbs, refs))}


def _loop_only(kind: str, S: int, threads: int, repeats: int, steps: int) -> int:
    """``--reference-only`` / ``--ganbench-only``: time one loop in this fresh process."""
    import json

    torch.set_num_threads(threads)
    loop: Any = ReferenceLoop(S) if kind == "reference" else Trainer(bench_spec(S, threads),
                                                                      device=torch.device("cpu"))
    warm_up(loop.step, warmup_for(S, False), 5.0)
    rates = []
    for _ in range(repeats):
        n, sec = timed_block(loop.step, steps, 5.0)
        rates.append(S * n / sec)
    print(json.dumps({"kind": kind, "S": S, "median": statistics.median(rates), "all": rates,
                      "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT")}))
    return 0


# ----------------------------------------------------------------------------- probe / unroll
def measure_probes(S: int, steps: int, threads: int, repeats: int) -> dict[str, Any]:
    spec = bench_spec(S, threads, steps=steps, eval_every=steps, log_every=50)
    with_p, without = [], []
    for _ in range(repeats):
        without.append(S * steps / train_trial(spec, probes=False).wall_s)
        with_p.append(S * steps / train_trial(spec, probes=True).wall_s)
    a, b = statistics.median(with_p), statistics.median(without)
    return {"S": S, "steps": steps, "repeats": repeats, "with": a, "without": b,
            "gap_pct": 100.0 * (b - a) / b, "with_all": with_p, "without_all": without}


def measure_unroll(S: int, threads: int, steps: int, repeats: int) -> dict[str, Any]:
    from ganbench.components.remedies import REMEDIES

    if "unrolled" not in REMEDIES:
        return {"available": False, "why": "not in ganbench.components.remedies.REMEDIES"}
    try:
        spec_u = bench_spec(S, threads, remedies="{unrolled: {steps: 5}}")
        tu = Trainer(spec_u, device=torch.device("cpu"))
    except Exception as exc:  # report, never crash the bench
        return {"available": False, "why": f"{type(exc).__name__}: {exc}"}
    tp = Trainer(bench_spec(S, threads), device=torch.device("cpu"))
    timed(tp.step, 3)
    timed(tu.step, 2)
    plain, unrolled = [], []
    for _ in range(repeats):  # interleaved; plain blocks take 11× the steps so both last alike
        n, sec = timed_block(tp.step, 11 * steps, 4.0)
        plain.append(sec / n)
        n, sec = timed_block(tu.step, steps, 8.0, min_n=1)
        unrolled.append(sec / n)
    ratio = statistics.median(u / p for u, p in zip(unrolled, plain))
    return {"available": True, "S": S, "steps": steps, "repeats": repeats,
            "plain_ms": 1e3 * statistics.median(plain), "unrolled_ms": 1e3 * statistics.median(unrolled),
            "ratio": ratio, "guide": 2 * 5 + 1}


# ----------------------------------------------------------------------------- optimiser
def measure_optimizer(S: int, threads: int, repeats: int) -> dict[str, Any]:
    """Adam's step on the bench trial's G and D parameters (S seeds) in its three CPU forms,
    with fixed gradients: ``fused=True`` (what ganbench uses), ``foreach=True`` and the
    single-tensor loop (PyTorch's CPU default). Median µs per G+D step over interleaved blocks."""
    tr = Trainer(bench_spec(S, threads), device=torch.device("cpu"))
    params = [p for p in tr.g_params + tr.d_params]
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(p.shape, generator=gen) * 1e-3 for p in params]
    forms = {"fused": dict(fused=True), "foreach": dict(foreach=True), "for-loop": dict(foreach=False)}
    opts = {}
    for name, kw in forms.items():
        ps = [p.detach().clone().requires_grad_(True) for p in params]
        for p, g in zip(ps, grads):
            p.grad = g
        opts[name] = torch.optim.Adam(ps, lr=LR, betas=BETAS, **kw)
        opts[name].step()  # state initialised outside the timing
    times: dict[str, list[float]] = {k: [] for k in forms}
    for _ in range(repeats):
        for name, opt in opts.items():
            n, sec = timed_block(opt.step, 200, 1.0)
            times[name].append(1e6 * sec / n)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"S": S, "params": sum(p.numel() for p in params), "us": med, "all": times,
            "fastest": min(med, key=med.get)}


def measure_noise(repeats: int, threads: int) -> dict[str, Any]:
    """The training noise (``ganbench.components.noise``): one seed's batch (512 × 256 values)
    with ``torch.randn`` on one thread, and a whole S = 8 draw of ``NoiseStream`` on one thread
    and on ``threads`` threads. Median ms per draw over interleaved blocks."""
    from ganbench.components import noise

    out = torch.empty(BATCH, Z_DIM)
    gen = torch.Generator().manual_seed(0)
    one = noise.NoiseStream(range(8), BATCH, Z_DIM, torch.device("cpu"), threads=1)
    many = noise.NoiseStream(range(8), BATCH, Z_DIM, torch.device("cpu"), threads=threads)
    forms = {"one seed, torch.randn, 1 thread": lambda: torch.randn(out.shape, generator=gen, out=out),
             "S=8 NoiseStream, 1 thread": one.next,
             f"S=8 NoiseStream, {many.threads} threads": many.next}
    times: dict[str, list[float]] = {k: [] for k in forms}
    for _ in range(repeats):
        for name, fn in forms.items():
            n, sec = timed_block(fn, 50, 0.3)
            times[name].append(1e3 * sec / n)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"values": out.numel(), "ms": med, "all": times, "implementation": noise.describe()}


# ----------------------------------------------------------------------------- profile
MATMUL_OPS = ("aten.bmm", "aten.baddbmm", "aten.mm", "aten.addmm")


def profile_step(S: int, threads: int, steps: int) -> dict[str, Any]:
    """Where a ``Trainer.step()`` spends its time, timed op by op in place.

    torch.profiler distorted this loop badly (elementwise ops ran up to 10× slower under it
    than without it), so each ATen op on the training thread is timed with ``perf_counter``
    through a ``TorchDispatchMode`` instead; the noise draw and the fused critic's kernel calls
    (no ATen ops; both run on all of the trial's threads) are timed as a whole in the plain
    blocks (the op-timing blocks time the ops they make as ATen ops, a few µs each). "Python, autograd, dispatch" is the plain step's wall time
    minus all of that, so it is approximate.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    tr = Trainer(bench_spec(S, threads), device=torch.device("cpu"))
    timed(tr.step, 5)
    plain_blocks: list[float] = []
    acc: dict[str, float] = {}
    state = {"ops": False, "timing": False}

    class OpTimer(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            t0 = time.perf_counter()
            out = func(*args, **(kwargs or {}))
            if state["ops"]:
                name = str(func.overloadpacket)
                acc[name] = acc.get(name, 0.0) + time.perf_counter() - t0
            return out

    draw = tr.draw_noise
    from ganbench.components.accel import critic as fused_critic

    critic_fwd, critic_bwd = fused_critic.FusedCritic.forward, fused_critic.FusedCritic.backward

    def timed_critic(fn, *args):  # the fused critic's kernel calls are no ATen ops
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            if state["timing"]:
                acc["fused critic"] = acc.get("fused critic", 0.0) + time.perf_counter() - t0

    fused_critic.FusedCritic.forward = staticmethod(lambda *a: timed_critic(critic_fwd, *a))  # type: ignore[method-assign]
    fused_critic.FusedCritic.backward = staticmethod(lambda *a: timed_critic(critic_bwd, *a))  # type: ignore[method-assign]

    def timed_draw():
        t0 = time.perf_counter()
        try:
            return draw()
        finally:
            acc["noise draw"] = acc.get("noise draw", 0.0) + time.perf_counter() - t0

    # three rounds of (plain block, timed block), so a burst of load hits both; the op times
    # are summed over the rounds and the plain wall time is the median block. The noise draw
    # and the fused critic are timed in the plain blocks: inside the op-timing mode every
    # small torch call they make (empty, contiguous) would carry the mode's Python overhead.
    try:
        for _ in range(3):
            tr.draw_noise = timed_draw  # type: ignore[method-assign]
            state["timing"] = True
            t0 = time.perf_counter()
            for _ in range(steps):
                tr.step()
            plain_blocks.append((time.perf_counter() - t0) / steps)
            state["timing"] = False
            tr.draw_noise = draw  # type: ignore[method-assign]
            state["ops"] = True
            with OpTimer():
                timed(tr.step, steps)
            state["ops"] = False
    finally:
        fused_critic.FusedCritic.forward, fused_critic.FusedCritic.backward = critic_fwd, critic_bwd  # type: ignore[method-assign]
    plain = statistics.median(plain_blocks)
    per = 1e3 / (3 * steps)
    noise = acc.pop("noise draw", 0.0) * per
    critic = acc.pop("fused critic", 0.0) * per
    ops = {k: v * per for k, v in acc.items()}
    mat = sum(v for k, v in ops.items() if k in MATMUL_OPS)
    adam = sum(v for k, v in ops.items() if "adam" in k or "foreach" in k)
    other = sum(ops.values()) - mat - adam
    wall = plain * 1e3
    cats = {"matmul (bmm/baddbmm/mm)": mat, "noise draw (torch generators, all threads)": noise,
            "critic D (fused kernel, forward and backward)": critic,
            "optimizer (fused Adam)": adam, "other ops (activations, losses, data, copies)": other,
            "Python, autograd, dispatch (rest of the wall time)":
                max(0.0, wall - mat - noise - critic - adam - other)}
    top = sorted(((k.replace("aten.", "aten::"), v) for k, v in ops.items()), key=lambda kv: -kv[1])[:int(os.environ.get("BENCH_TOP", 6))]
    return {"S": S, "steps": steps, "ms_per_step": wall, "categories": cats, "top": top}


# ----------------------------------------------------------------------------- machine
def machine_info(threads: int) -> dict[str, str]:
    cpu = cpu_name()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas = m.group(1) if m else "?"
    return {
        "cpu": cpu, "cores": f"{os.cpu_count()} logical ({usable} usable)",
        "torch": torch.__version__, "blas": blas, "threads": str(threads),
        "python": platform.python_version(),
        "runtime": _runtime_text(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _runtime_text() -> str:
    alloc = process.tune_allocator()
    a = (f"glibc mmap threshold {alloc['mmap_threshold'] >> 20} MiB, trim threshold "
         f"{alloc['trim_threshold'] >> 20} MiB" if alloc.get("allocator") == "glibc" else "default allocator")
    return f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')}; {a} (both loops run in this process)"


class CpuMeter:
    """How much of the machine *other* processes used between ``start()`` and ``stop()``.

    others = (Δ busy jiffies of the whole machine − Δ CPU time of this process and its
    finished child processes) ÷
    (Δ wall × cores). This process's CPU time includes its OpenMP threads' spin-waits, so the
    figure is a lower bound on contention; anything well above 0 means the timings are depressed.
    """

    def __init__(self) -> None:
        self.ncpu = os.cpu_count() or 1
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._t0: tuple[float, float, float] | None = None

    @staticmethod
    def _busy_s(hz: int) -> float | None:
        try:
            f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except OSError:
            return None
        v = [int(x) for x in f]
        idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
        busy = sum(v[:8]) - idle  # user nice system idle iowait irq softirq steal
        return busy / hz

    def snapshot(self) -> tuple[float, float, float] | None:
        b = self._busy_s(self.hz)
        if b is None:
            return None
        t = os.times()  # waited-for children (the plain-defaults reference) count as this process
        return (b, time.process_time() + t.children_user + t.children_system, time.perf_counter())

    def others(self, a: tuple[float, float, float] | None, b: tuple[float, float, float] | None) -> float:
        """Fraction (0..1) of all cores used by other processes between two snapshots."""
        if a is None or b is None or b[2] <= a[2]:
            return float("nan")
        frac = ((b[0] - a[0]) - (b[1] - a[1])) / ((b[2] - a[2]) * self.ncpu)
        return min(1.0, max(0.0, frac))


METER = CpuMeter()


# ----------------------------------------------------------------------------- output
def fmt(x: float, nd: int = 1) -> str:
    return f"{x:,.{nd}f}"


def pct(x: float) -> str:
    return "?" if math.isnan(x) else f"{100 * x:.0f}%"


def scaling_table(rows: list[ScalingRow], fl: dict[str, float], ceiling: Ceiling | None
                  ) -> tuple[list[str], list[list[str]]]:
    """Seed-scaling rows: compiled accelerators and pure torch side by side, both against the
    reference (paired ratios), the accelerators' speed-up, and utilisation of the ceiling."""
    head = ["S", "steps × repeats", "compiled seed-steps/s", "torch-only seed-steps/s",
            "reference seed-steps/s", "compiled / ref", "torch-only / ref", "compiled / torch-only"]
    if ceiling is not None:
        head += ["utilisation compiled", "utilisation torch-only"]
    head += ["other load"]
    body = []
    for r in rows:
        comp = fmt(r.gb_med) if r.compiled else "(no compiler)"
        line = [str(r.S), f"{r.steps_text} × {len(r.gb)}", comp, fmt(r.gbt_med), fmt(r.ref_med),
                f"{r.ratio:.2f}×" if r.compiled else "–", f"{r.ratio_t:.2f}×",
                f"{r.speedup:.2f}×" if r.compiled else "–"]
        if ceiling is not None:
            util = [100 * m * fl["nominal"] / 1e9 / ceiling.value for m in (r.gb_med, r.gbt_med)]
            line += [f"{util[0]:.0f}%" if r.compiled else "–", f"{util[1]:.0f}%"]
        body.append(line + [pct(r.others)])
    return head, body


def md_table(head: list[str], body: list[list[str]]) -> str:
    align = [":---"] + ["---:"] * (len(head) - 1)  # first column is a label
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


class Printer:
    """rich when available, else plain text."""

    def __init__(self) -> None:
        try:
            from rich.console import Console

            self.console: Any = Console(width=None if sys.stdout.isatty() else 150)
        except ImportError:  # pragma: no cover
            self.console = None

    def line(self, text: str = "") -> None:
        if self.console is not None:
            self.console.print(text, highlight=False)
        else:
            print(re.sub(r"\[/?bold( red)?\]", "", text).replace("\\[", "["))
        sys.stdout.flush()

    def table(self, title: str, head: list[str], body: list[list[str]]) -> None:
        if self.console is not None:
            from rich.table import Table

            t = Table(title=title, title_justify="left")
            for h in head:
                t.add_column(h, justify="right")
            for row in body:
                t.add_row(*row)
            self.console.print(t)
        else:
            print(title)
            widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)]
            print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
            for row in body:
                print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        sys.stdout.flush()


def plot(rows: list[ScalingRow], path: Path, info: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    S = [r.S for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for label, get, marker in (("ganbench (seed axis, lockstep)", lambda r: r.gb, "o"),
                               ("reference (DCGAN-tutorial loop, one model per seed)", lambda r: r.ref, "s")):
        med = [statistics.median(get(r)) for r in rows]
        lo = [min(get(r)) for r in rows]
        hi = [max(get(r)) for r in rows]
        ax.plot(S, med, marker=marker, label=label)
        ax.fill_between(S, lo, hi, alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_xticks(S)
    ax.set_xticklabels([str(s) for s in S])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("seeds S")
    ax.set_ylabel("seed-steps / s (median; band = min–max of repeats)")
    ax.set_title(f"Ring, Metz et al. size, {info['threads']} threads — {info['cpu']}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


# ----------------------------------------------------------------------------- GPU
GPU_NOTES = [
    "## GPU",
    "",
    "`make bench-gpu` (`benchmarks/bench_gpu.py`) measures the CUDA path on a machine with a CUDA "
    "GPU (seed scaling S = 1…64, suite throughput at `gpus_per_trial` 1, 0.5 and 0.25, the image "
    "suite's step time and the share of time the GPU is busy) and replaces this section with its figures. "
    "No GPU machine was lent to the session that wrote this file, so **the GPU figures are "
    "unmeasured**. On CUDA the noise is drawn on the device (one Philox `torch.Generator` per "
    "seed); the compiled accelerators and the glibc allocator settings apply to CPU trials only.",
    "",
]


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: S in {1, 8}, few steps and repeats")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (default 3)")
    ap.add_argument("--seeds", type=str, default=None, help="comma-separated S values (default 1,2,4,8,16,32)")
    ap.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md",
                    help="markdown output; the figure goes to <out dir>/benchmarks/seed_scaling.png")
    ap.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                    help="wait up to this long for other processes to use < 10%% of the machine "
                         "before starting (default 120, quick 0)")
    ap.add_argument("--no-profile", action="store_true", help="skip the per-op time breakdown")
    ap.add_argument("--no-suite", action="store_true",
                    help="skip the suite-level part (Ray overhead, cpus_per_trial, torch.compile)")
    ap.add_argument("--reference-only", type=int, default=None, metavar="S", help=argparse.SUPPRESS)
    ap.add_argument("--ganbench-only", type=int, default=None, metavar="S", help=argparse.SUPPRESS)
    ap.add_argument("--ref-steps", type=int, default=50, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    for kind in ("reference", "ganbench"):
        only = getattr(args, f"{kind}_only")
        if only is not None:
            return _loop_only(kind, only, args.threads, args.repeats or 3, args.ref_steps)

    quick = args.quick
    threads = args.threads
    torch.set_num_threads(threads)
    repeats = args.repeats or 3
    s_values = ([int(s) for s in args.seeds.split(",")] if args.seeds
                else ([1, 8] if quick else [1, 2, 4, 8, 16, 32]))
    info = machine_info(threads)
    p = Printer()
    wait = args.wait_quiet if args.wait_quiet is not None else (0.0 if quick else 120.0)
    waited = 0.0
    while True:
        m0 = METER.snapshot()
        time.sleep(1.0)
        idle_others = METER.others(m0, METER.snapshot())
        if not (idle_others > 0.1) or waited >= wait:
            break
        if waited == 0:
            p.line(f"other processes use {pct(idle_others)} of the machine; waiting up to {wait:.0f} s "
                   "for it to be quiet (--wait-quiet)")
        time.sleep(4.0)
        waited += 5.0
    load_start = loadavg()
    t_start = time.perf_counter()
    m0 = METER.snapshot()
    p.line(f"[bold]ganbench bench[/bold]{' (quick)' if quick else ''} — {info['cpu']}, {info['cores']}, "
           f"torch {info['torch']} ({info['blas']}), {threads} threads, {info['date']}, load {load_start}")
    p.line(f"other processes used {pct(idle_others)} of the machine in the second before the bench"
           + (" — [bold red]the machine is busy: timings will be depressed and noisy[/bold red]"
              if idle_others > 0.1 else ""))
    fl = flops_per_seed_step()

    # 1. matmul ceiling ---------------------------------------------------------------------
    ceiling = measure_ceiling(repeats=repeats, min_time=0.05 if quick else 0.25)
    p.table("fp32 matmul at the ring G shapes (GFLOP/s, median)",
            ["shape (per seed)", "S=1 torch.mm", "S=8 torch.bmm"],
            [[name, fmt(next(r["gflops"] for r in ceiling.rows if r["S"] == 1 and r["shape"] == name)),
              fmt(next(r["gflops"] for r in ceiling.rows if r["S"] == 8 and r["shape"] == name))]
             for name, *_ in matmul_shapes()]
            + [["whole mix (FLOP-weighted)", fmt(ceiling.composite[1]), fmt(ceiling.composite[8])]])
    p.line(f"ceiling used for utilisation: {fmt(ceiling.value)} GFLOP/s (the mix at S={ceiling.at})")
    p.line(f"FLOPs per seed-step: nominal 3·F_G + 9·F_D = {fl['nominal'] / 1e6:.1f} MFLOP "
           f"(F_G = {fl['F_G'] / 1e6:.2f} M, F_D = {fl['F_D'] / 1e6:.3f} M); "
           f"what autograd actually computes: {fl['exact'] / 1e6:.1f} MFLOP")

    # 2-3. scaling --------------------------------------------------------------------------
    rows: list[ScalingRow] = []
    for S in s_values:
        r = measure_scaling(S, threads, repeats, quick, block_s=0.5 if quick else 2.5)
        rows.append(r)
        p.line(f"  S={S:>2}: compiled {fmt(r.gb_med) if r.compiled else '–'}, torch-only {fmt(r.gbt_med)}, "
               f"reference {fmt(r.ref_med)} seed-steps/s; torch-only/ref {r.ratio_t:.2f}×"
               + (f", compiled/ref {r.ratio:.2f}×, compiled/torch-only {r.speedup:.2f}×" if r.compiled else "")
               + f"  ({r.steps_text} steps × {repeats}"
               f"{f', cut from {r.planned} to fit the time budget' if min(r.done) < r.planned else ''}; "
               f"other load {pct(r.others)})")
    head, body = scaling_table(rows, fl, ceiling)
    p.table("seed-steps/s (median of repeats; ratio = median of paired ratios)", head, body)
    for S in (1, 8):
        r = next((x for x in rows if x.S == S), None)
        if r is not None:
            p.line(f"[bold]S={S}: torch-only {r.ratio_t:.2f}× the reference"
                   + (f", compiled {r.ratio:.2f}× (accelerator speed-up {r.speedup:.2f}×)" if r.compiled else "")
                   + "[/bold]")

    # 3b. one thread per trial: what a suite runs with the default cpus_per_trial 1 ----------
    one_rows: list[ScalingRow] = []
    torch.set_num_threads(1)
    try:
        for S in ((5,) if quick else (1, 5)):  # 5 = the seeds of suites/mode_collapse.yaml
            one_rows.append(measure_scaling(S, 1, repeats, quick, block_s=0.5 if quick else 2.5))
    finally:
        torch.set_num_threads(threads)
    for r in one_rows:
        p.line(f"  1 thread, S={r.S}: compiled {fmt(r.gb_med)}, torch-only {fmt(r.gbt_med)}, reference "
               f"{fmt(r.ref_med)} seed-steps/s; torch-only/ref {r.ratio_t:.2f}×, compiled/ref {r.ratio:.2f}× "
               f"(other load {pct(r.others)})")

    r8 = next((x for x in rows if x.S == 8), None)
    plain_ref: dict[str, Any] = {"available": False, "why": "no S=8 row"}
    if r8 is not None:
        plain_ref = measure_plain_reference(8, threads, repeats, r8.steps)
        if plain_ref["available"]:
            p.line(f"S=8, each loop in its own fresh process as shipped (reference: GOMP_SPINCOUNT 300000, "
                   f"default allocator), alternating: reference {fmt(plain_ref['median'])}, ganbench "
                   f"{fmt(plain_ref['gb_median'])} seed-steps/s → paired ratio {plain_ref['ratio']:.2f}×")
        else:
            p.line(f"plain-defaults reference: not measured ({plain_ref['why']})")

    # 4. probes -----------------------------------------------------------------------------
    probe_S = 8
    # seconds per seed-step as measured above (S=8 row, else the closest S)
    near = min(rows, key=lambda x: abs(x.S - probe_S))
    sec_per_seed_step = 1.0 / near.gb_med
    probe_steps = 100 if quick else 400
    while probe_steps > 50 and probe_S * probe_steps * sec_per_seed_step > 12.0:
        probe_steps -= 50  # a slow or busy machine: keep each run near 12 s
    probe_rep = 1 if quick else 3
    a = METER.snapshot()
    pr = measure_probes(probe_S, probe_steps, threads, probe_rep)
    pr["others"] = METER.others(a, METER.snapshot())
    p.line(f"probe cost (train_trial, S={probe_S}, {probe_steps} steps, log_every 50, one evaluation, "
           f"median of {probe_rep}): with probes {fmt(pr['with'])} seed-steps/s, without "
           f"{fmt(pr['without'])} → gap {pr['gap_pct']:+.1f}% (other load {pct(pr['others'])})")

    # 5. unrolling --------------------------------------------------------------------------
    plain_s = 8 * sec_per_seed_step
    un_steps = 2 if quick else max(2, min(6, int(5.0 / (12 * plain_s))))
    a = METER.snapshot()
    un = measure_unroll(8, threads, steps=un_steps, repeats=1 if quick else repeats)
    un["others"] = METER.others(a, METER.snapshot())
    if un["available"]:
        un_line = (f"unrolled (steps 5) at S=8: {un['unrolled_ms']:.0f} ms/step vs plain "
                   f"{un['plain_ms']:.0f} ms/step → {un['ratio']:.1f}× (guide 2k+1 = {un['guide']}) "
                   f"({un['steps']} steps × {un['repeats']}, other load {pct(un['others'])})")
    else:
        un_line = f"unrolled: not available ({un['why']})"
    un_text = un_line.replace("[", "\\[")  # rich markup escape
    p.line(un_text)

    # 5b. optimiser forms -------------------------------------------------------------------
    opt_res = measure_optimizer(8, threads, repeats)
    p.line("Adam step at S=8 (G+D, " + f"{opt_res['params']:,} parameters): "
           + ", ".join(f"{k} {v:.0f} µs" for k, v in opt_res["us"].items())
           + f" → fastest: {opt_res['fastest']}")
    noise_res = measure_noise(repeats, threads)
    p.line(f"noise draw ({noise_res['values']:,} values per seed): "
           + ", ".join(f"{k} {v:.2f} ms" for k, v in noise_res["ms"].items())
           + f"; training uses: {noise_res['implementation']}")

    # 6. profile ----------------------------------------------------------------------------
    profiles = []
    if not args.no_profile:
        for S in ((1, 8) if not quick else (8,)):
            n_prof = max(3, min(5 if quick else 20, int(1.5 / (S * sec_per_seed_step))))
            profiles.append(profile_step(S, threads, steps=n_prof))
        for pf in profiles:
            cats = ", ".join(f"{k} {v:.1f} ms ({100 * v / pf['ms_per_step']:.0f}%)"
                             for k, v in pf["categories"].items())
            p.line(f"profile S={pf['S']} ({pf['steps']} steps, {pf['ms_per_step']:.1f} ms/step): {cats}")

    # Ray's worker processes count as "other processes", so the machine's quietness is judged
    # up to here (the suite-level part reports its own figure)
    run_others = METER.others(m0, METER.snapshot())

    # 7. suite level: Ray overhead, cpus_per_trial, torch.compile (benchmarks/bench_suite.py) ----
    suite_res: dict[str, Any] = {}
    if not args.no_suite:
        import bench_suite as bs

        sizes = ((dict(steps=20, trials=4, seeds=2), dict(steps=20, trials=2, seeds=2), dict(S=2, steps=5))
                 if quick else
                 (dict(steps=200, trials=8, seeds=8), dict(steps=200, trials=4, seeds=8), dict(S=8, steps=50)))
        a = METER.snapshot()
        suite_res["ray_overhead"] = bs.measure_ray_overhead(**sizes[0])
        ro = suite_res["ray_overhead"]
        p.line(f"Ray overhead ({ro['trials']} trials × {ro['steps']} steps, {ro['seeds']} seeds, "
               f"reuse_actors on): ray.init {bs._f(ro['ray_init_s'])} s, fit {bs._f(ro['fit_wall_s'])} s vs "
               f"ideal {bs._f(ro['ideal_wall_s'])} s → {bs._f(ro['overhead_per_trial_s'])} s per trial; "
               f"reuse_actors saves {bs._f(ro['reuse_saves_s'])} s")
        suite_res["cpus_per_trial"] = bs.measure_cpus_per_trial(**sizes[1])
        cp = suite_res["cpus_per_trial"]
        p.line(f"suite throughput: cpus_per_trial 1 → {fmt(cp['seed_steps_per_s'].get(1, float('nan')))}, "
               f"2 → {fmt(cp['seed_steps_per_s'].get(2, float('nan')))} seed-steps/s; faster: {cp['faster']}")
        suite_res["compile"] = bs.measure_compile(threads=threads, **sizes[2])
        cm = suite_res["compile"]
        if cm.get("available"):
            p.line(f"torch.compile: compile {bs._f(cm['compile_s'])} s, {bs._f(cm['compiled_ms'])} vs eager "
                   f"{bs._f(cm['eager_ms'])} ms/step → keep: {'yes' if cm['keep'] else 'no'}")
        else:
            p.line(f"torch.compile: not available ({cm.get('error')})")
        suite_res["others"] = METER.others(a, METER.snapshot())

    load_end = loadavg()
    wall = time.perf_counter() - t_start
    p.line(f"bench wall time {wall:.0f} s; load average start {load_start}, end {load_end}; "
           f"other processes used {pct(run_others)} of the machine during the step benchmarks")

    # 8. files ------------------------------------------------------------------------------
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    fig_rel = Path("benchmarks") / "seed_scaling.png"
    plot(rows, out.parent / fig_rel, info)
    md = render_markdown(info, quick, threads, repeats, rows, fl, ceiling, pr, un, un_line, profiles,
                         load_start, load_end, wall, fig_rel, idle_others, run_others, waited,
                         plain_ref, suite_res, opt_res, one_rows, noise_res)
    io.write_text(out, md)
    p.line(f"wrote {out} and {out.parent / fig_rel}")
    return 0


def render_markdown(info, quick, threads, repeats, rows, fl, ceiling, pr, un, un_line, profiles,
                    load_start, load_end, wall, fig_rel, idle_others, run_others, waited,
                    plain_ref=None, suite_res=None, opt_res=None, one_rows=None, noise_res=None) -> str:
    head, body = scaling_table(rows, fl, ceiling)
    L: list[str] = []
    L.append("# ganbench benchmarks")
    L.append("")
    L.append(f"Written by `make bench` (`benchmarks/bench.py{' --quick' if quick else ''}`)"
             + (" — **quick smoke run, too short to quote**." if quick else "."))
    L.append("Timings are what this machine did on this run; nothing here is asserted.")
    L.append("")
    L.append("| machine | |")
    L.append("|---|---|")
    for k, label in (("cpu", "CPU"), ("cores", "cores"), ("threads", "torch threads"),
                     ("torch", "torch"), ("blas", "BLAS"), ("python", "Python"),
                     ("runtime", "process settings (ganbench.run.process)"), ("date", "date")):
        L.append(f"| {label} | {info[k]} |")
    L.append(f"| load average (1/5/15 min) | start {load_start}, end {load_end} |")
    L.append(f"| bench wall time | {wall:.0f} s |")
    L.append(f"| CPU used by other processes | {pct(idle_others)} just before"
             f"{f' (after waiting {waited:.0f} s)' if waited else ''}, {pct(run_others)} during the step benchmarks (before the Ray part, whose workers are other processes) |")
    L.append("")
    L.append("**Configuration**: the 8-Gaussian ring at the size of Metz et al. (2016): z_dim 256, "
             "G 256→128→128→2 and D 2→128→1 with ReLU, batch 512, non-saturating loss, "
             "Adam lr 1e-4 betas (0.5, 0.999), alternating updates, n_critic 1, CPU, fp32. "
             "The ganbench trial is built from suite text with `parse_suite`/`expand`.")
    L.append("")
    L.append("## Seed scaling")
    L.append("")
    L.append("*seed-steps/s* = S × timed steps ÷ seconds, for `Trainer.step()` (ganbench, all S seeds in "
             "lockstep on the seed axis) and for a plain PyTorch reference written like the PyTorch "
             "DCGAN tutorial (per seed: `nn.Sequential` of `nn.Linear`+`nn.ReLU`, default "
             "`torch.optim.Adam`, `BCEWithLogitsLoss`, global RNG, D on real then on `fake.detach()`, "
             "G step reusing the fake batch, and the tutorial's per-iteration bookkeeping: `D(x)`, "
             "`D(G(z))` means and both losses read with `.item()`; the S models are stepped one after "
             "another inside each step). Each S: one warm-up (20 steps for S ≤ 8, else 10, cut short after a few seconds), then "
             f"{repeats} timed repeats of the steps shown (planned: 200 for S ≤ 2, else max(30, 400/S); "
             "fewer where one block would outlast 2.5 s), ganbench and reference interleaved so load "
             "bursts hit both. (best) is the fastest repeat, the least disturbed by other processes. "
             "Values are medians over repeats; the ratio is the median of the paired per-repeat ratios. "
             "*other load* is the share of the machine's cores that other processes used while that "
             "row was timed (from /proc/stat); well above 0% means that row is depressed by contention.")
    L.append("")
    L.append(md_table(head, body))
    L.append("")
    L.append(f"![]({fig_rel.as_posix()})")
    L.append("")
    for S in (1, 8):
        r = next((x for x in rows if x.S == S), None)
        if r is not None:
            L.append(f"- **S={S}**: torch-only {fmt(r.gbt_med)} seed-steps/s → **{r.ratio_t:.2f}×** the "
                     f"reference's {fmt(r.ref_med)}"
                     + (f"; compiled {fmt(r.gb_med)} → **{r.ratio:.2f}×**, the accelerator's speed-up over "
                        f"torch-only **{r.speedup:.2f}×**" if r.compiled else "; no C compiler: no compiled row")
                     + f" (repeats: compiled {', '.join(fmt(x, 0) for x in r.gb)}; torch-only "
                     f"{', '.join(fmt(x, 0) for x in r.gbt)}; reference {', '.join(fmt(x, 0) for x in r.ref)})")
    if plain_ref and plain_ref.get("available"):
        L.append(f"- **Each loop in its own process, as shipped**: both loops above run in one process with "
                 f"ganbench's process settings (machine table). Here each runs at S=8 in a fresh process: "
                 f"the reference under PyTorch's defaults (libgomp's spin 300000, glibc's default "
                 f"allocator), ganbench under its own settings; the processes alternate, "
                 f"{len(plain_ref['all'])} rounds, each process reporting the median of 3 blocks. "
                 f"Reference {fmt(plain_ref['median'])} seed-steps/s (rounds "
                 f"{', '.join(fmt(x, 0) for x in plain_ref['all'])}), ganbench "
                 f"{fmt(plain_ref['gb_median'])} (rounds {', '.join(fmt(x, 0) for x in plain_ref['gb_all'])})"
                 f" → paired ratio **{plain_ref['ratio']:.2f}×**.")
    L.append("")
    if one_rows:
        L.append("### One thread per trial (the default `cpus_per_trial: 1`)")
        L.append("")
        L.append("The same comparison with one torch thread for both loops, as each trial of a suite runs "
                 "by default (two such trials run side by side on this machine; see *cpus_per_trial* "
                 "below). S = 5 is the seed count of `suites/mode_collapse.yaml`. With one thread the "
                 "noise and the critic run on one thread and no OpenMP setting is in play, so this is the "
                 "seed axis, the product forms, the compiled critic (compiled rows only), fused Adam and the "
                 "allocator alone.")
        L.append("")
        h1, b1 = scaling_table(one_rows, fl, None)
        L.append(md_table(h1, b1))
        L.append("")
    L.append("## FLOPs and the matmul ceiling")
    L.append("")
    L.append("With F_G = 2·B·Σ fan_in·fan_out over G's layers (one forward pass) and F_D the same for D, "
             "B = 512:")
    L.append("")
    L.append(f"- F_G = 2·512·(256·128 + 128·128 + 128·2) = {fl['F_G'] / 1e6:.2f} MFLOP, "
             f"F_D = 2·512·(2·128 + 128·1) = {fl['F_D'] / 1e6:.3f} MFLOP.")
    L.append("- Nominal FLOPs per seed-step (forward + backward ≈ 3 × forward): G forward+backward once "
             "(3·F_G); D forward on the real batch, on the fake batch in the D step and on the fake batch "
             "again in the G step, each with a backward pass (3 × 3·F_D): "
             f"**3·F_G + 9·F_D = {fl['nominal'] / 1e6:.1f} MFLOP**. This is what the GFLOP/s columns use.")
    L.append(f"- What autograd actually computes in ganbench's step is less, {fl['exact'] / 1e6:.1f} MFLOP "
             "(no gradient w.r.t. z — G's widest input —, no D weight gradients in the G step); "
             f"utilisation on that count is {fl['exact'] / fl['nominal']:.2f} × the figures above.")
    L.append("")
    L.append("fp32 matmul throughput at G's shapes (median of repeats, "
             f"{threads} threads; S=8 is one `torch.bmm` over the seed axis, as ganbench runs it):")
    L.append("")
    crow = []
    for name, *_ in matmul_shapes():
        a = next(r["gflops"] for r in ceiling.rows if r["S"] == 1 and r["shape"] == name)
        b = next(r["gflops"] for r in ceiling.rows if r["S"] == 8 and r["shape"] == name)
        crow.append([f"`{name}`", fmt(a), fmt(b)])
    crow.append(["whole mix, FLOP-weighted (time = Σ FLOP / rate)", fmt(ceiling.composite[1]),
                 fmt(ceiling.composite[8])])
    L.append(md_table(["shape (per seed)", "S=1 `torch.mm` GFLOP/s", "S=8 `torch.bmm` GFLOP/s"], crow))
    L.append("")
    L.append(f"**Ceiling** used for utilisation: {fmt(ceiling.value)} GFLOP/s (the whole mix at S={ceiling.at}, "
             "the better of the two). Utilisation = achieved nominal GFLOP/s ÷ ceiling.")
    L.append("")
    L.append("## Probe cost")
    L.append("")
    L.append(f"`train_trial` at S={pr['S']}, {pr['steps']} steps, `log_every` 50, `eval_every` = steps (one "
             f"evaluation at the end, included in both), median of {pr['repeats']} alternating runs; "
             "seed-steps/s from the trial's wall time, nothing subtracted:")
    L.append("")
    L.append(md_table(["probes", "seed-steps/s", "runs"],
                      [["`probes=True` (every 50 steps)", fmt(pr["with"]), ", ".join(fmt(x, 0) for x in pr["with_all"])],
                       ["`probes=False`", fmt(pr["without"]), ", ".join(fmt(x, 0) for x in pr["without_all"])]]))
    L.append("")
    L.append(f"Gap: **{pr['gap_pct']:+.1f}%** (positive = probes slower); other processes used "
             f"{pct(pr['others'])} of the machine meanwhile.")
    L.append("")
    L.append("## Unrolling cost")
    L.append("")
    if un["available"]:
        L.append(f"`remedies: {{unrolled: {{steps: 5}}}}` at S=8, {un['steps']} steps × {un['repeats']} "
                 f"repeats interleaved with plain steps: {un['unrolled_ms']:.0f} ms/step vs "
                 f"{un['plain_ms']:.0f} ms/step → **{un['ratio']:.1f}×** against the 2k+1 = "
                 f"{un['guide']} guide; other processes used {pct(un['others'])} of the machine meanwhile.")
    else:
        L.append(un_line)
    L.append("")
    if opt_res:
        L.append("## Optimiser step: fused, foreach or loop")
        L.append("")
        L.append(f"`torch.optim.Adam.step()` on the bench trial's G and D parameters at S=8 "
                 f"({opt_res['params']:,} numbers) with fixed gradients, in its three CPU forms; µs per "
                 "step, median of interleaved blocks. ganbench uses the fused form (`make_optimizer`).")
        L.append("")
        L.append(md_table(["form", "µs / step", "blocks"],
                          [[k, f"{v:.0f}", ", ".join(f"{x:.0f}" for x in opt_res["all"][k])]
                           for k, v in opt_res["us"].items()]))
        L.append("")
        L.append(f"Fastest: **{opt_res['fastest']}**.")
        L.append("")
    if noise_res:
        L.append("## Noise generator")
        L.append("")
        L.append(f"The training noise: {noise_res['implementation']} (`ganbench/components/noise.py`). "
                 f"A seed's batch is {noise_res['values']:,} standard normal values (the ring's 512 × 256); "
                 "`NoiseStream` draws each seed whole from its own generator and shares the seeds "
                 "among the trial's threads. ms per draw, median of interleaved blocks:")
        L.append("")
        L.append(md_table(["draw", "ms / draw", "blocks"],
                          [[k, f"{v:.3f}", ", ".join(f"{x:.3f}" for x in noise_res["all"][k])]
                           for k, v in noise_res["ms"].items()]))
        L.append("")
    if profiles:
        L.append("## Where a step's time goes")
        L.append("")
        L.append("Each ATen op on the training thread timed in place with `perf_counter` through a "
                 "`TorchDispatchMode` (torch.profiler distorted this loop: elementwise ops ran up to 10× "
                 "slower under it); the noise draw and the fused critic's kernel calls (no ATen ops; both "
                 "share the trial's threads through OpenMP) timed as a whole in separate blocks without "
                 "the op-timing mode. "
                 "*ms / step* of the last row is the plain step's wall time (no timing mode) minus the "
                 "rows above, so it is approximate; shares are of that plain wall time.")
        L.append("")
        prow = []
        for pf in profiles:
            for k, v in pf["categories"].items():
                prow.append([str(pf["S"]), k, f"{v:.2f}", f"{100 * v / pf['ms_per_step']:.0f}%"])
        L.append(md_table(["S", "category", "ms / step", "share"], prow))
        L.append("")
        for pf in profiles:
            L.append(f"- S={pf['S']} top ops (self ms/step): "
                     + ", ".join(f"`{k}` {v:.2f}" for k, v in pf["top"]))
        L.append("")
    if suite_res:
        import bench_suite as bs

        L.append(bs.markdown({k: v for k, v in suite_res.items() if k != "others"}, header=False).rstrip())
        L.append("")
        L.append(f"Other processes used {pct(suite_res.get('others', float('nan')))} of the machine during "
                 "the suite-level part.")
        L.append("")
    L += GPU_NOTES
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
