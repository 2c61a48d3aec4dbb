"""The package layout shows the pipeline, and imports go one way: a stage imports only from
the stages before it (components < config < train < run < results < report). Imports used only
for type annotations (under ``if TYPE_CHECKING:``) do not count."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ganbench"
ORDER = ["components", "config", "train", "run", "results", "report"]


def _runtime_imports(tree: ast.AST):
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ganbench."):
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ganbench."):
                    yield node.lineno, alias.name


def test_every_module_belongs_to_a_stage():
    top = {p.name for p in PACKAGE.iterdir() if p.suffix == ".py"}
    assert top == {"__init__.py", "__main__.py", "cli.py", "pipeline.py", "io.py", "registry.py"}
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")} == set(ORDER)


def test_imports_go_one_way():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        if len(rel) < 2 or rel[0] not in ORDER:
            continue
        mine = ORDER.index(rel[0])
        for line, module in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            stage = module.split(".")[1]
            if stage in ORDER and ORDER.index(stage) > mine:
                bad.append(f"{'/'.join(rel)}:{line} imports {module}")
    assert not bad, "imports from a later stage:\n" + "\n".join(bad)
