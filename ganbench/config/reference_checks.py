"""Checks of a suite's ``reference:`` block against the rest of the suite, and the run's value of
a suite field (:func:`suite_field`), which the manifest records beside the paper's protocol."""

from __future__ import annotations

from typing import Any

from ganbench.components.data.toy import DATASETS
from ganbench.config.suite import Suite, resolved_combo
from ganbench.config.yamlio import Problem, line_for

__all__ = ["suite_field", "reference_problems"]


def suite_field(suite: Suite, path: str) -> Any:
    """The run's value of a dotted suite field (``budget.steps``, ``seeds``,
    ``model.generator.hidden``, ``datasets.ring.radius``, ``combos.pacgan2.remedies.packing.k``,
    ``combos.vanilla.optimizer.lr``): datasets and remedies with their defaults filled in, combos
    with the suite-level blocks merged. Raises KeyError when no such field exists."""
    from ganbench.components.remedies import REMEDIES

    parts = path.split(".")
    data = suite.model_dump(exclude={"reference", "datasets", "combos"})
    data["datasets"] = {n: DATASETS.get(n).Params.model_validate(p or {}).model_dump()
                        for n, p in suite.datasets.items() if n in DATASETS}
    data["combos"] = {}
    for name in suite.combos:
        r = resolved_combo(suite, name)
        r["remedies"] = {k: REMEDIES.get(k).Params.model_validate(v).model_dump()
                         for k, v in r["remedies"].items() if k in REMEDIES}
        data["combos"][name] = r
    cur: Any = data
    for i, part in enumerate(parts):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(".".join(parts[:i + 1]))
    return cur


def reference_problems(suite: Suite, lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """The ``reference`` block against the suite: datasets, combos (and that they run on the
    dataset), cataloged metrics, protocol paths that name suite fields."""
    from ganbench.config import catalog

    ref = suite.reference
    assert ref is not None
    problems: list[Problem] = []

    def add(path: tuple[Any, ...], msg: str) -> None:
        problems.append(Problem(".".join(map(str, path)), line_for(lines, path), msg))

    def check_combo(path: tuple[Any, ...], combo: str, dataset: str) -> None:
        if combo not in suite.combos:
            add(path, f"{combo!r} is not a combo of this suite; combos: {', '.join(suite.combos)}")
        elif suite.combos[combo].datasets is not None and dataset not in suite.combos[combo].datasets:
            add(path, f"combo {combo!r} does not run on dataset {dataset!r}")

    def check_common(base: tuple[Any, ...], dataset: str, metric: str) -> bool:
        ok = True
        if dataset not in suite.datasets:
            add(base + ("dataset",), f"{dataset!r} is not a dataset of this suite; datasets: "
                f"{', '.join(suite.datasets)}")
            ok = False
        m = catalog.spec(metric)
        if m is None or not m.summarised:
            known = ", ".join(x.name for x in catalog.CATALOG if x.summarised)
            add(base + ("metric",), f"unknown metric {metric!r}; metrics: {known}")
            ok = False
        return ok

    for i, v in enumerate(ref.values):
        base = ("reference", "values", i)
        if check_common(base, v.dataset, v.metric):
            check_combo(base + ("combo",), v.combo, v.dataset)
    for i, c in enumerate(ref.claims):
        base = ("reference", "claims", i)
        if check_common(base, c.dataset, c.metric):
            for key in ("higher", "lower", "combo"):
                if getattr(c, key) is not None:
                    check_combo(base + (key,), getattr(c, key), c.dataset)
    for name in ref.names:
        if name not in suite.combos:
            add(("reference", "names", name), f"{name!r} is not a combo of this suite")
    for path in ref.protocol:
        try:
            suite_field(suite, path)
        except KeyError as exc:
            add(("reference", "protocol", path), f"{path!r} is not a field of this suite "
                f"(no {exc.args[0]!r}); use paths like budget.steps, seeds, "
                "model.generator.hidden, datasets.<name>.<param>, combos.<name>.<field>")
    return problems
