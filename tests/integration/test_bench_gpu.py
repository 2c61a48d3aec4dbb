"""benchmarks/bench_gpu.py (``make bench-gpu``): without a GPU it says so and exits 2; with
``--device cpu`` every path (seed scaling with the reference, Ray with fractional GPU
resources, the image suite) really runs at toy size and fills the GPU section of the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_TMPDIR": "/tmp"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible")
def test_without_a_gpu_it_says_so_and_exits_2(tmp_path):
    out = _run("--out", str(tmp_path / "B.md"), tmp_path=tmp_path)
    assert out.returncode == 2
    assert "no CUDA device is visible" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "B.md").exists()


def test_cpu_smoke_run_replaces_only_the_gpu_section(tmp_path):
    md = tmp_path / "B.md"
    md.write_text("# ganbench benchmarks\n\n## Seed scaling\n\nkept\n\n## GPU\n\nold text\n\n"
                  "## After\n\nalso kept\n", encoding="utf-8")
    out = _run("--device", "cpu", "--out", str(md), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    text = md.read_text(encoding="utf-8")
    assert "kept" in text and "also kept" in text and "old text" not in text
    assert text.count("## GPU") == 1 and "not GPU figures" in text
    gpu = text[text.index("## GPU"):text.index("## After")]

    def rows(title: str) -> list[list[str]]:
        part = gpu.split(f"### {title}")[1].split("###")[0]
        return [[c.strip() for c in ln.strip("|").split("|")] for ln in part.splitlines()
                if ln.startswith("| ") and not ln.startswith("|:")][1:]  # without the header

    scaling = rows("Ring seed scaling")
    assert [r[0] for r in scaling] == ["1", "8"]
    assert all(r[4].endswith("×") and float(r[2].replace(",", "")) > 0 for r in scaling)
    fractional = rows("Suite throughput with fractional GPUs")
    assert [r[0] for r in fractional] == ["1", "0.5"] and [r[1] for r in fractional] == ["1", "2"]
    assert [r[4] for r in fractional] == ["4", "4"]  # 2 trials × 2 seeds finished ok
    assert [r[0] for r in rows("Image suite step time")] == ["vanilla"]
