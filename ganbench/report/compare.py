"""Render a comparison of run folders (``ganbench compare``).

:func:`write_compare` writes ``compare.csv`` (:func:`ganbench.results.compare.compare_runs`, one
row per dataset × combo × metric × run pair with every statistic) and the self-contained
``compare.html`` (inline CSS, the report's table-sorting script under its CSP hash, no external
URL) into a folder; :func:`terminal_lines` is the compact text ``ganbench compare`` prints. This
module formats; every number comes from :mod:`ganbench.results.compare`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from markupsafe import Markup

import ganbench
from ganbench.config import catalog
from ganbench.io import write_frame, write_text
from ganbench.report.build import render_template
from ganbench.report.diagnosis import SORT_JS, script_csp_hash
from ganbench.report.export import METRIC_LABELS, _interval, _signed, _sort_key, format_number
from ganbench.report.terminal import join_lines
from ganbench.results import stats
from ganbench.results.compare import ComparedRun, Comparison, ProtocolDifference

__all__ = ["COMPARE_ROOT", "SORT_JS", "default_compare_dir", "render_compare_html", "write_compare",
           "terminal_lines"]

#: Parent of the default output folders (relative to the working directory).
COMPARE_ROOT = Path("reports/compare")
#: Longest manifest value shown in full on the page (longer ones end in "…").
_MAX_VALUE_CHARS = 2000
#: Protocol differences printed per run pair in the terminal (the page lists all).
_MAX_TERMINAL_FIELDS = 12


def default_compare_dir(root: Path = COMPARE_ROOT) -> Path:
    """``reports/compare/<UTC timestamp>/`` (the folder is not created)."""
    return root / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# ------------------------------------------------------------------------------------ format
def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _short(metric: str) -> str:
    """The terminal's name for ``metric``: the catalog's short label where it has one (without
    the "%" of shares: differences of shares are printed as fractions)."""
    m = catalog.spec(metric)
    return m.short_label.rstrip("%") if m is not None and m.short else _label(metric)


# ------------------------------------------------------------------------------------ page
def _run_rows(runs: Sequence[ComparedRun]) -> list[dict[str, Any]]:
    rows = []
    for r in runs:
        m = r.manifest
        rows.append({"label": r.label, "path": str(r.path), "suite": m.get("suite_name") or "–",
                     "status": m.get("status") or "unknown",
                     "version": m.get("ganbench_version") or "–",
                     "finished": m.get("finished_utc") or m.get("started_utc") or "–",
                     "seeds": len(m.get("seeds") or []) or r.trials["seed"].nunique(),
                     "rows": len(r.trials), "warnings": r.warnings})
    return rows


def _metric_row(r: pd.Series) -> dict[str, Any]:
    return {
        "combo": r["combo"], "metric": _label(r["metric"]), "run": f"{r['run_b']} − {r['run_a']}",
        "mean_a": format_number(r["mean_a"]), "mean_b": format_number(r["mean_b"]),
        "diff": _signed(r["diff"]), "ci": _interval(r["diff_ci_lo"], r["diff_ci_hi"]),
        "median_diff": _signed(r["median_diff"]), "delta": _signed(r["cliffs_delta"]),
        "delta_ci": _interval(r["cliffs_delta_lo"], r["cliffs_delta_hi"]),
        "p": format_number(r["p_value"]), "p_holm": format_number(r["p_holm"]),
        "n": f"{int(r['n_a'])} vs {int(r['n_b'])}",
        "diverged": f"{int(r['n_diverged_a'])} vs {int(r['n_diverged_b'])}",
        "significant": bool(r["significant"]), "change": r["change"],
        **{f"sort_{k}": _sort_key(r[k]) for k in ("mean_a", "mean_b", "diff", "median_diff",
                                                  "cliffs_delta", "p_value", "p_holm")},
    }


def _dataset_sections(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"id": f"metrics-{i}", "name": ds,
             "n_significant": int(sub["significant"].sum()),
             "rows": [_metric_row(r) for _, r in sub.iterrows()]}
            for i, (ds, sub) in enumerate(table.groupby("dataset", sort=False))]


def _value(text: str) -> str:
    return _clip(text, _MAX_VALUE_CHARS)


def _protocol_sections(c: Comparison) -> list[dict[str, Any]]:
    ref = c.runs[0]
    out = []
    for run in c.runs[1:]:
        diffs = c.protocol[run.label]
        rows = [{"field": d.field, "kind": d.kind, "a": _value(d.a), "b": _value(d.b)}
                for d in diffs]
        only_a, only_b = c.unshared[run.label]
        out.append({"label": run.label, "ref": ref.label, "id": f"protocol-{run.label}",
                    "main": [r for r in rows if r["kind"] != "run record"],
                    "record": [r for r in rows if r["kind"] == "run record"],
                    "suite_diff": c.suite_diffs[run.label],
                    "only_a": [f"{d} × {k}" for d, k in only_a],
                    "only_b": [f"{d} × {k}" for d, k in only_b]})
    return out


def _definitions(alpha: float) -> list[tuple[str, str]]:
    """The statistics' definitions, in the words of :func:`stats.describe_protocol`."""
    p = stats.describe_protocol()
    return [
        ("Difference of means (B − A)", "mean of B's seeds minus mean of A's, over the finite "
         "values of the seeds that did not diverge; interval: " + p["diff_ci_method"]),
        ("Median difference", "median of B minus median of A, diverged seeds ranked worst"),
        ("Cliff's δ", "P(B > A) − P(B < A) over every pair of one seed of B and one of A, in "
         "[−1, 1] (positive: B larger), diverged seeds ranked worst; interval: Newcombe's score "
         "interval (method 5) on P(B > A) + P(B = A)/2 with a t critical value on "
         "n_A + n_B − 2 degrees of freedom"),
        ("p", p["rank_test"]),
        ("p (Holm)", "Holm–Bonferroni adjusted p within each dataset × metric, over every combo "
         "and run pair compared there; a difference is significant when it is below "
         f"α = {alpha:g}"),
        ("Diverged seeds", p["diverged_seeds"]),
        ("Missing values", p["missing_values"]),
        ("better / worse", "B's side of a significant difference, from the metric's direction in "
         "the metric catalog"),
    ]


def _metric_definitions(table: pd.DataFrame) -> list[dict[str, str]]:
    out = []
    for m in dict.fromkeys(table["metric"]):
        sp = catalog.spec(m)
        if sp is not None:
            out.append({"label": sp.label, "better": sp.better,
                        "unit": sp.unit, "definition": sp.definition})
    return out


def _context(c: Comparison) -> dict[str, Any]:
    ref = c.runs[0]
    return {
        "title": "ganbench compare: " + " vs ".join(f"{r.label} ({r.path.name})" for r in c.runs),
        "ref": ref.label, "others": ", ".join(r.label for r in c.runs[1:]),
        "run_name": c.runs[1].label if len(c.runs) == 2 else "run",
        "runs": _run_rows(c.runs), "alpha": f"{c.alpha:g}",
        "n_comparisons": len(c.table), "n_significant": int(c.table["significant"].sum()),
        "datasets": _dataset_sections(c.table), "protocol": _protocol_sections(c),
        "definitions": _definitions(c.alpha), "metrics": _metric_definitions(c.table),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "ganbench_version": ganbench.__version__,
        "script": Markup(SORT_JS), "script_hash": Markup(script_csp_hash(SORT_JS)),
    }


def render_compare_html(c: Comparison) -> str:
    """``templates/compare.html.j2`` rendered with autoescape on (every run's text escaped)."""
    return render_template("compare.html.j2", _context(c))


def write_compare(c: Comparison, out_dir: str | Path) -> tuple[Path, Path]:
    """Create ``out_dir`` and write ``compare.html`` and ``compare.csv`` into it atomically.

    Returns:
        The paths of compare.html and compare.csv.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = write_frame(out_dir / "compare.csv", c.table)
    html = write_text(out_dir / "compare.html", render_compare_html(c))
    return html, csv


# ------------------------------------------------------------------------------------ terminal
def _fit_table(rows: list[list[str]], width: int, shrink: Sequence[Sequence[int]]) -> list[str]:
    """Rows (the first is the header) as left-aligned columns two spaces apart. While a line is
    wider than ``width``, the widest column of the first group in ``shrink`` that is still wider
    than 6 characters loses one (clipped with …), then of the next group."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for group in shrink:
        while sum(widths) + 2 * (len(widths) - 1) > width:
            i = max(group, key=lambda j: widths[j])
            if widths[i] <= 6:
                break
            widths[i] -= 1
    return [_clip("  ".join(_clip(cell, w).ljust(w) for cell, w in zip(r, widths)).rstrip(), width)
            for r in rows]


def _significant_lines(c: Comparison, width: int) -> list[str]:
    sig = c.table[c.table["significant"]]
    run = c.runs[1].label if len(c.runs) == 2 else "run"
    head = (f"significant differences (Holm p < {c.alpha:g}): {len(sig)} of "
            f"{len(c.table)} comparisons, {run} − {c.runs[0].label}")
    if sig.empty:
        return [head]
    rows = [["dataset", "combo", "metric", "run", "diff [95% CI]", "δ", "Holm p", ""]]
    for _, r in sig.iterrows():
        rows.append([str(r["dataset"]), str(r["combo"]), _short(r["metric"]), str(r["run_b"]),
                     f"{_signed(r['diff'])} {_interval(r['diff_ci_lo'], r['diff_ci_hi'])}".strip(),
                     _signed(r["cliffs_delta"]), format_number(r["p_holm"]), r["change"]])
    if len(c.runs) == 2:  # the run is always B
        rows = [row[:3] + row[4:] for row in rows]
    names, interval = (0, 1, 2), 3 if len(c.runs) == 2 else 4
    legend = [f"{_short(m)} = {_label(m)}" for m in dict.fromkeys(sig["metric"])
              if _short(m) != _label(m)]
    return ([head + ":"] + _fit_table(rows, width, shrink=(names, (interval,)))
            + join_lines(legend, width))


def _suite_line(diff: str) -> str:
    body = [ln for ln in diff.splitlines() if not ln.startswith(("---", "+++", "@@"))]
    added = sum(ln.startswith("+") for ln in body)
    removed = sum(ln.startswith("-") for ln in body)
    return f"  suite.yaml: {added} lines added, {removed} removed (unified diff in compare.html)"


def _field_line(d: ProtocolDifference, width: int) -> str:
    """``  field: a → b``, each value clipped to half the room left when both do not fit."""
    head = f"  {d.field}: "
    room = width - len(head) - len(" → ")
    a, b = d.a, d.b
    if len(a) + len(b) > room:
        a, b = _clip(a, max(room // 2, 8)), _clip(b, max(room - room // 2, 8))
    return head + a + " → " + b


def _protocol_lines(c: Comparison, run: ComparedRun, width: int) -> list[str]:
    diffs: list[ProtocolDifference] = c.protocol[run.label]
    main = [d for d in diffs if d.kind != "run record"]
    record = len(diffs) - len(main)
    note = f"; {record} run-record fields (times, command) too" if record else ""
    lines = [f"protocol differences, {run.label} against {c.runs[0].label}: "
             f"{len(main) or 'none'}{note}"]
    lines += [_field_line(d, width) for d in main[:_MAX_TERMINAL_FIELDS]]
    if len(main) > _MAX_TERMINAL_FIELDS:
        lines.append(f"  … and {len(main) - _MAX_TERMINAL_FIELDS} more (see compare.html)")
    if c.suite_diffs[run.label]:
        lines.append(_suite_line(c.suite_diffs[run.label]))
    only_a, only_b = c.unshared[run.label]
    for who, keys in ((c.runs[0].label, only_a), (run.label, only_b)):
        if keys:
            lines.append(f"  not compared, only in {who}: "
                         + ", ".join(f"{d} × {k}" for d, k in keys))
    return lines


def terminal_lines(c: Comparison, width: int = 80) -> list[str]:
    """What ``ganbench compare`` prints: one line per run (label, suite, version, status,
    folder; not clipped, so the folder stays whole), then, each line at most ``width``
    characters, the significant differences as a table, each run's protocol differences against
    the reference (the important fields first) with the dataset × combo pairs not compared, and
    warnings."""
    runs = [f"{r.label} ({r.manifest.get('suite_name') or '?'}, ganbench "
            f"{r.manifest.get('ganbench_version') or '?'}, {r.manifest.get('status')}): {r.path}"
            for r in c.runs]
    lines = _significant_lines(c, width)
    for run in c.runs[1:]:
        lines += _protocol_lines(c, run, width)
    lines += [f"warning: {r.label}: {w}" for r in c.runs for w in r.warnings]
    return runs + [_clip(line, width) for line in lines]
