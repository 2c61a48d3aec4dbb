"""What ``ganbench run`` prints at the end: the run folder's ``summary.csv`` as tables that
fit the console (80 columns in a plain terminal), with a legend naming each short header in
full with its unit. Reads the results stage's table; computes nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from ganbench.config import catalog

__all__ = ["print_summary", "join_lines"]


def print_summary(console: Console, run_dir: Path) -> None:
    """Print the run folder's ``summary.csv`` as tables that fit the console (80 columns in a
    plain terminal), with a legend under them; nothing if there is no summary.

    One row per dataset × combo: ``n`` (seed runs) and, for each metric of
    ``catalog.TERMINAL`` the dataset has a finite mean of, ``mean ±h`` where h is half the
    width of the 95% t-interval of the mean over seeds (the mean alone where there is no
    interval; shares in percent). Datasets with the same metrics share a table (so a toy, an
    image and a Dirac dataset get one each). Headers are the catalog's short labels, named in
    full with their units in the legend. Dataset and combo names are shortened (the middle
    cut to "~") only where a table would not fit otherwise, and the legend lists them.
    """
    path = run_dir / "summary.csv"
    if not path.is_file():
        return
    df = pd.read_csv(path)
    metrics = [catalog.spec(m) for m in catalog.TERMINAL
               if f"{m}_mean" in df and df[f"{m}_mean"].notna().any()]
    shortened: dict[str, str] = {}
    title = "summary over seeds (mean ±95% CI half-width)"
    for sub, shown in _summary_groups(df, metrics):
        table, names = _summary_fit(console, sub, shown, title)
        if title is None:
            console.print()
        console.print(table)
        shortened.update(names)
        title = None
    legend = ["n = seed runs"] + [f"{m.short_label} = {m.label}{_summary_unit(m)}"
                                  for m in metrics]
    legend += [f"{k} = {v}" for k, v in shortened.items()]
    for line in join_lines(legend, console.width):
        console.print(line, highlight=False, markup=False)


def _summary_groups(df, metrics: list) -> list[tuple]:
    """``(rows, metrics)`` per set of shown metrics: each dataset shows the ``metrics`` it has
    a finite mean of, and datasets showing the same ones share a group (in order of first
    appearance)."""
    datasets = df["dataset"].astype(str)
    shown = {ds: tuple(m for m in metrics if sub[f"{m.name}_mean"].notna().any())
             for ds, sub in df.groupby(datasets, sort=False)}
    return [(df[[shown[d] == sig for d in datasets]], list(sig))
            for sig in dict.fromkeys(shown.values())]


def _summary_fit(console: Console, df, metrics: list,
                 title: str | None) -> tuple[Table, dict[str, str]]:
    """The summary table of ``df`` with the longest names that let it fit the console; where
    none does, the whole names (rich then wraps cells, cutting nothing)."""
    wide = console.options.update_width(1 << 16)
    for limit in (None, 20, 18, 16, 14, 12, 10, 8):
        table, names = _summary_table(df, metrics, limit, title)
        if console.measure(table, options=wide).maximum <= console.width:
            return table, names
    return _summary_table(df, metrics, None, title)


def _summary_table(df, metrics: list, limit: int | None,
                   title: str | None) -> tuple[Table, dict[str, str]]:
    """The summary table with dataset and combo names cut to ``limit`` characters (None: whole)
    and the map of each shortened name to its full name."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("dataset", "combo"):
        table.add_column(col, overflow="fold")
    table.add_column("n", justify="right")
    for m in metrics:
        table.add_column(m.short_label, justify="right", overflow="fold")
    shortened: dict[str, str] = {}
    for _, r in df.iterrows():
        names = [_summary_name(str(r[c]), limit) for c in ("dataset", "combo")]
        shortened.update({n: str(r[c]) for n, c in zip(names, ("dataset", "combo")) if n != r[c]})
        table.add_row(*names, str(r.get("n", "")), *(_summary_cell(r, m) for m in metrics))
    return table, shortened


def join_lines(items: list[str], width: int) -> list[str]:
    """``items`` joined by "; " into lines of at most ``width`` characters, breaking only
    between items (an item longer than ``width`` gets a line of its own)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width - 1:
            lines[-1] += "; " + item
        else:
            if lines:
                lines[-1] += ";"
            lines.append(item)
    return lines


def _summary_name(name: str, limit: int | None) -> str:
    """``name`` if it has at most ``limit`` characters, else its start and end around "~"."""
    if limit is None or len(name) <= limit:
        return name
    head = limit // 2
    return name[:head] + "~" + name[len(name) - (limit - 1 - head):]


def _summary_cell(r, m) -> str:
    """``mean ±half-width`` of metric spec ``m`` in summary row ``r`` ("–" without a mean);
    shares in percent."""
    scale = 100.0 if m.unit == "share" else 1.0
    mean, lo, hi = (float(r.get(f"{m.name}_{k}", float("nan"))) for k in ("mean", "ci_lo", "ci_hi"))
    if not math.isfinite(mean):
        return "–"
    text = _summary_number(mean * scale, 3)
    if math.isfinite(lo) and math.isfinite(hi):
        text += " ±" + _summary_number((hi - lo) / 2 * scale, 2)
    return text


def _summary_number(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, except that numbers from 1 up to a million
    are never written with an exponent (they keep their whole digits); exponents without "+"
    and leading zeros."""
    text = f"{x:.{digits}g}"
    if "e" in text and 1 <= abs(x) < 1e6:
        return f"{x:.0f}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return text


def _summary_unit(m) -> str:
    """The legend's unit of metric spec ``m``: `` (%)`` for shares, `` (<unit>)``, or none."""
    unit = "%" if m.unit == "share" else m.unit
    return f" ({unit})" if unit else ""
