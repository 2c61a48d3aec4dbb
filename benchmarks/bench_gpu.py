#!/usr/bin/env python
"""GPU benchmark (``make bench-gpu``): the CUDA path of ganbench, in about 5 minutes.

Measures, on the first CUDA device:

1. **Ring seed scaling**: seed-steps/s of ``Trainer.step()`` on the Metz-size ring (the
   configuration of ``benchmarks/bench.py``) for S = 1 … 64 seeds in lockstep, with the plain
   PyTorch reference loop (one model per seed, stepped one after another) on the same device at
   S = 1 and 8 for a paired ratio.
2. **GPU busy share**: the share of a step's wall time in which the GPU executes kernels, from
   ``torch.profiler``'s CUDA activity (sum of kernel times ÷ wall time of the profiled steps).
   Low at small S: the host's kernel launches, not the GPU, set the pace.
3. **Suite throughput with fractional GPUs**: one suite of 8 ring trials through Ray Tune
   (``run_trials``) with ``gpus_per_trial`` 1, 0.5 and 0.25, as suite-level seed-steps/s
   (trials × seeds × steps ÷ Tune fit wall time).
4. **Image suite step time**: ms per ``Trainer.step()`` for each combo of
   ``suites/image_modes.yaml`` on stacked digits (the conv networks of the image suites).

Results go into the ``## GPU`` section of ``BENCHMARKS.md`` (``--out``), replacing what was
there. Timings are reported, never asserted. Without a CUDA device it exits with status 2 and
says so; ``--device cpu --quick`` runs every code path on the CPU at toy sizes (what the tests
do; figures from it are not GPU figures and are labelled so).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

if not os.environ.get("MPLCONFIGDIR"):
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="ganbench-mpl-")

import torch  # noqa: E402

from ganbench.config.suite import TrialSpec, apply_overrides, expand, load_suite, parse_suite  # noqa: E402
from ganbench.train.training import Trainer  # noqa: E402
from common import RING_MODEL_YAML  # noqa: E402  (benchmarks/ is on sys.path)

REPO = Path(__file__).resolve().parents[1]
MARK = "<!-- written by benchmarks/bench_gpu.py -->"

RING_SUITE = """\
name: bench_gpu
seeds: {seeds}
budget: {{steps: {steps}, eval_every: {steps}, eval_samples: 512, log_every: 50}}
datasets: {{ring: {{}}{grid}}}
""" + RING_MODEL_YAML + """\
combos:
{combos}
resources: {{cpus_per_trial: 1, gpus_per_trial: {gpus}}}
device: {device}
"""


def ring_specs(seeds: int, device: str, steps: int = 1000, trials: int = 1, gpus: float = 0) -> list[TrialSpec]:
    """``trials`` ring/grid trials of the Metz-size ring networks with ``seeds`` seeds."""
    n_combos = max(1, (trials + 1) // 2)
    combos = "\n".join(f"  c{i}: {{loss: non_saturating}}" for i in range(n_combos))
    text = RING_SUITE.format(seeds=seeds, steps=steps, grid=", grid: {}" if trials > 1 else "",
                             combos=combos, gpus=gpus, device=device)
    return expand(parse_suite(text))[:trials]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(step: Callable[[], None], device: torch.device, steps: int, S: int, warm: int = 10) -> float:
    """Seed-steps/s of ``step`` after ``warm`` warm-up steps (device synchronised)."""
    for _ in range(warm):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return S * steps / (time.perf_counter() - t0)


def _bench_module() -> Any:
    import bench  # benchmarks/bench.py: the reference loop

    return bench


class DeviceReference:
    """``bench.ReferenceLoop`` built and stepped with ``device`` as torch's default device."""

    def __init__(self, S: int, device: torch.device):
        self.device = device
        with torch.device(device):
            self.loop = _bench_module().ReferenceLoop(S)
            for m in self.loop.models:
                m.centres = m.centres.to(device)

    def step(self) -> None:
        with torch.device(self.device):
            self.loop.step()


def busy_share(step: Callable[[], None], device: torch.device, steps: int) -> float | None:
    """Share of the wall time of ``steps`` steps in which CUDA kernels ran (None off CUDA or
    where the profiler gives no device times)."""
    if device.type != "cuda":
        return None
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        step()
    sync(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        wall = time.perf_counter() - t0
    kernel_us = 0.0
    for evt in prof.events():
        dtype = getattr(evt, "device_type", None)
        if dtype is not None and "CUDA" in str(dtype):
            kernel_us += float(getattr(evt, "self_device_time_total", 0.0)
                               or getattr(evt, "self_cuda_time_total", 0.0) or 0.0)
    return min(1.0, kernel_us / 1e6 / wall) if kernel_us > 0 else None


def measure_scaling(device: torch.device, s_values: list[int], steps: int) -> list[dict[str, Any]]:
    rows = []
    for S in s_values:
        tr = Trainer(ring_specs(S, device.type)[0], device=device)
        n = max(10, steps // max(1, S // 8))
        row: dict[str, Any] = {"S": S, "steps": n, "gb": rate(tr.step, device, n, S)}
        if S in (1, 8):
            ref = DeviceReference(S, device)
            row["ref"] = rate(ref.step, device, max(5, n // S), S, warm=3)
        row["busy"] = busy_share(tr.step, device, 20)
        rows.append(row)
        del tr
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def measure_fractional(device: torch.device, fractions: list[float], trials: int, seeds: int,
                       steps: int) -> list[dict[str, Any]]:
    """One Ray session with one GPU (a declared one off CUDA, for the smoke run)."""
    import ray

    from ganbench.run import runner
    from ganbench.run.process import ProcessSettings

    tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    os.environ["RAY_TMPDIR"] = tmp
    runner.quiet_ray_env()
    out = []
    try:
        ray.init(num_cpus=os.cpu_count(), num_gpus=1, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", runtime_env={"env_vars": ProcessSettings.from_env().worker_env()})
        for g in fractions:
            specs = ring_specs(seeds, "auto" if device.type == "cuda" else "cpu", steps=steps,
                               trials=trials, gpus=g)
            run_dir = Path(tempfile.mkdtemp(prefix="ganbench-bench-gpu-"))
            try:
                t0 = time.perf_counter()
                results = runner.run_trials(specs, run_dir, show_progress=False)
                wall = time.perf_counter() - t0
                tbl, _, _ = runner.collect(results, specs)
            finally:
                shutil.rmtree(run_dir, ignore_errors=True)
            ok = int((tbl["status"] == "ok").sum()) if len(tbl) else 0
            devices = sorted(set(tbl.get("device", [])) if "device" in tbl else [])
            out.append({"gpus_per_trial": g, "concurrent": int(1 / g), "trials": len(specs),
                        "seeds": seeds, "steps": steps,
                        "seed_runs_ok": ok, "fit_s": wall, "devices": devices,
                        "seed_steps_per_s": len(specs) * seeds * steps / wall})
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def measure_image(device: torch.device, steps: int, seeds: int, combos: list[str] | None) -> list[dict[str, Any]]:
    suite, _ = load_suite(REPO / "suites" / "image_modes.yaml")
    suite, _ = apply_overrides(suite, seeds=seeds)
    suite.device = device.type
    rows = []
    for spec in expand(suite):
        if spec.dataset != "stacked_digits" or (combos and spec.combo not in combos):
            continue
        tr = Trainer(spec, device=device)
        r = rate(tr.step, device, steps, 1, warm=3)
        rows.append({"combo": spec.combo, "seeds": seeds, "ms_per_step": 1e3 / r,
                     "busy": busy_share(tr.step, device, 5)})
        del tr
    return rows


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def render(info: dict[str, str], scaling, fractional, image, quick: bool, wall: float) -> str:
    L = ["## GPU", "", MARK, ""]
    if info["device_type"] != "cuda":
        L += ["**CPU smoke run of `bench_gpu.py` (`--device cpu`): not GPU figures.**", ""]
    L += [f"Written by `make bench-gpu` (`benchmarks/bench_gpu.py{' --quick' if quick else ''}`) on "
          f"{info['device']}, torch {info['torch']}, {info['date']}; wall time {wall:.0f} s. "
          "Timings are what this machine did on this run; nothing here is asserted.", ""]
    L += ["### Ring seed scaling", "",
          "Metz-size ring (as in the CPU tables above), seed-steps/s = S × steps ÷ seconds with the "
          "device synchronised; *GPU busy* = kernel time ÷ wall time over 20 profiled steps "
          "(`torch.profiler` CUDA activity); the reference is the plain per-seed loop on the same device.",
          "", "| S | steps | ganbench seed-steps/s | reference seed-steps/s | ratio | GPU busy |",
          "|:---|---:|---:|---:|---:|---:|"]
    for r in scaling:
        ref = r.get("ref")
        ref_txt = "" if ref is None else f"{ref:,.0f}"
        ratio = "" if ref is None else f"{r['gb'] / ref:.2f}×"
        L.append(f"| {r['S']} | {r['steps']} | {r['gb']:,.0f} | {ref_txt} | {ratio} | {_pct(r['busy'])} |")
    L += ["", "### Suite throughput with fractional GPUs", "",
          f"{fractional[0]['trials'] if fractional else 0} ring trials of "
          f"{fractional[0]['seeds'] if fractional else 0} seeds × {fractional[0]['steps'] if fractional else 0} "
          "steps through Ray Tune (`run_trials`), one Ray session with one GPU; suite seed-steps/s "
          "= trials × seeds × steps ÷ fit wall time.", "",
          "| gpus_per_trial | trials at once | seed-steps/s | fit wall s | seed runs ok | trial devices |",
          "|:---|---:|---:|---:|---:|:---|"]
    for r in fractional:
        L.append(f"| {r['gpus_per_trial']} | {r['concurrent']} | {r['seed_steps_per_s']:,.0f} | "
                 f"{r['fit_s']:.1f} | {r['seed_runs_ok']} | {', '.join(r['devices'])} |")
    L += ["", "### Image suite step time", "",
          "`suites/image_modes.yaml` on stacked digits (conv G and D), ms per `Trainer.step()`.", "",
          "| combo | seeds | ms / step | GPU busy |", "|:---|---:|---:|---:|"]
    for r in image:
        L.append(f"| {r['combo']} | {r['seeds']} | {r['ms_per_step']:.1f} | {_pct(r['busy'])} |")
    return "\n".join(L) + "\n"


def write_section(out: Path, section: str) -> None:
    """Replace the ``## GPU`` section of ``out`` (or append one)."""
    text = out.read_text(encoding="utf-8") if out.exists() else "# ganbench benchmarks\n"
    m = re.search(r"^## GPU\b.*?(?=^## (?!GPU)|\Z)", text, flags=re.S | re.M)
    text = (text[:m.start()] + section + text[m.end():]) if m else text.rstrip() + "\n\n" + section
    out.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cuda (default); cpu runs every path at toy size (a smoke test, not GPU figures)")
    ap.add_argument("--quick", action="store_true", help="few steps and sizes (smoke run)")
    ap.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md",
                    help="markdown file whose '## GPU' section is replaced")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench-gpu: no CUDA device is visible (torch.cuda.is_available() is False); nothing "
              "measured. Run it on a machine with a CUDA GPU, or --device cpu for a smoke run.",
              file=sys.stderr)
        return 2
    device = torch.device(args.device)
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (smoke run)"
    info = {"device": name, "device_type": device.type, "torch": torch.__version__,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    quick = args.quick or device.type == "cpu"
    s_values = [1, 8] if quick else [1, 2, 4, 8, 16, 32, 64]
    scaling = measure_scaling(device, s_values, steps=5 if quick else 200)
    for r in scaling:
        print(f"S={r['S']}: {r['gb']:,.0f} seed-steps/s"
              + (f", reference {r['ref']:,.0f}" if r.get("ref") else "") + f", GPU busy {_pct(r['busy'])}")
    fractional = measure_fractional(device, [1, 0.5] if quick else [1, 0.5, 0.25],
                                    trials=2 if quick else 8, seeds=2 if quick else 8,
                                    steps=10 if quick else 1000)
    for r in fractional:
        print(f"gpus_per_trial {r['gpus_per_trial']}: {r['seed_steps_per_s']:,.0f} seed-steps/s "
              f"({r['trials']} trials, fit {r['fit_s']:.1f} s)")
    image = measure_image(device, steps=2 if quick else 30, seeds=1 if quick else 5,
                          combos=["vanilla"] if quick else None)
    for r in image:
        print(f"image {r['combo']}: {r['ms_per_step']:.1f} ms/step, GPU busy {_pct(r['busy'])}")
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    write_section(out, render(info, scaling, fractional, image, quick, time.perf_counter() - t0))
    print(f"wrote the GPU section of {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
