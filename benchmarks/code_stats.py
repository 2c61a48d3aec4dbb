"""Lines per pipeline stage, the largest modules and the longest functions of ganbench.

    python benchmarks/code_stats.py [ROOT]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

STAGES = {
    "components": ("components/", "remedies/", "nets/", "data/", "objectives.py", "noise.py", "kernels.py"),
    "config": ("config/", "suite.py", "yamlio.py", "compat.py", "sweep.py", "registry.py", "diagnostics.py"),
    "train": ("train/", "training.py", "evaluation.py",
              "perf.py", "analysis/coverage.py", "analysis/digits.py",
              "analysis/fidelity.py", "metrics.py"),
    "run": ("run/", "runner.py", "ray_compat.py", "manifest.py", "pipeline.py", "io.py", "cli.py",
            "__init__.py", "__main__.py"),
    "results": ("results/", "analysis/stats.py", "analysis/dynamics.py", "analysis/diagnose.py",
                "analysis/__init__.py"),
    "report": ("report/",),
}


def stage_of(rel: str) -> str:
    for stage, prefixes in STAGES.items():
        if any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in prefixes):
            return stage
    return "other"


def main(root: Path) -> None:
    pkg = root / "ganbench"
    per_stage: dict[str, int] = {}
    modules, functions = [], []
    for path in sorted(pkg.rglob("*.py")):
        rel = str(path.relative_to(pkg))
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        per_stage[stage_of(rel)] = per_stage.get(stage_of(rel), 0) + n
        modules.append((n, rel))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.name}"))
    print("lines per stage:", ", ".join(f"{k} {v}" for k, v in per_stage.items()),
          f"(total {sum(per_stage.values())})")
    print("largest modules:", ", ".join(f"{r} {n}" for n, r in sorted(modules, reverse=True)[:5]))
    print("longest functions:", ", ".join(f"{r} {n}" for n, r in sorted(functions, reverse=True)[:5]))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
