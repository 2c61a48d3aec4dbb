"""Rendered exports of a run beside its HTML report: ``summary.tex`` (LaTeX table of the results
stage's summary) and ``citation.bib``.

The text builders (:func:`summary_tex`, :func:`citation_bib`) are pure; :func:`write_exports`
writes their output through the atomic writers of :mod:`ganbench.io`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ganbench.io import write_text
from ganbench.config import catalog

__all__ = [
    "MAIN_METRICS",
    "METRIC_LABELS",
    "format_number",
    "latex_escape",
    "summary_tex",
    "reproduction_tex",
    "latex_text",
    "citation_bib",
    "citation_key",
    "run_date",
    "write_exports",
]

#: The headline metrics of a toy run, in the order the tables show them.
MAIN_METRICS: tuple[str, ...] = ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance")

#: Human-readable names of metric columns (plain text; escape before use in HTML or LaTeX),
#: from the metric catalog.
METRIC_LABELS: dict[str, str] = catalog.labels()

# LaTeX spellings of labels that contain non-ASCII characters.
_TEX_LABELS: dict[str, str] = catalog.tex_labels()

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIALS))
# Non-ASCII symbols of free text (claims, titles) that pdflatex's default setup cannot typeset.
_TEX_SYMBOLS = {"≥": r"$\geq$", "≤": r"$\leq$", "±": r"$\pm$", "≈": r"$\approx$",
                "−": "-", "–": "--", "—": "---", "→": r"$\to$", "×": r"$\times$",
                "γ": r"$\gamma$", "δ": r"$\delta$", "θ": r"$\theta$", "ψ": r"$\psi$",
                "σ": r"$\sigma$", "α": r"$\alpha$", "‖": r"$\|$", "√": r"$\surd$"}


def format_number(x: Any, missing: str = "–") -> str:
    """Format a number for tables: three significant digits, scientific when very small/large.

    Args:
        x: A number (or None/NaN).
        missing: What to return for None, NaN or ±inf.

    Returns:
        E.g. ``7.33``, ``0.95``, ``0.0123``, ``1234``, ``1.2e-05``; ``missing`` if not finite.
    """
    try:
        v = float(x)
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(v):
        return missing
    a = abs(v)
    if a == 0:
        return "0"
    if a < 1e-3 or a >= 1e5:
        return f"{v:.2g}" if a < 1e-3 else f"{v:.3g}"
    if a >= 1000:
        return f"{v:.0f}"
    return f"{v:.3g}"


def latex_escape(text: Any) -> str:
    """Escape ``text`` for LaTeX (and BibTeX) so it typesets literally.

    Args:
        text: Any value; it is converted with ``str``.

    Returns:
        The text with ``\\ & % $ # _ { } ~ ^ < > | "`` replaced by their LaTeX commands.
    """
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], str(text))


def latex_text(text: Any) -> str:
    """:func:`latex_escape`, then the common non-ASCII symbols of free text as LaTeX."""
    out = latex_escape(text)
    for sym, tex in _TEX_SYMBOLS.items():
        out = out.replace(sym, tex)
    return out


def _tex_label(metric: str) -> str:
    return _TEX_LABELS.get(metric) or latex_escape(METRIC_LABELS.get(metric, metric))


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _interval(lo: Any, hi: Any) -> str:
    """``[lo, hi]`` with :func:`format_number`; empty unless both ends are finite."""
    return f"[{format_number(lo)}, {format_number(hi)}]" if _finite(lo) and _finite(hi) else ""


def _sort_key(x: Any) -> str:
    """A ``data-sort`` value: the raw number (repr) or empty for missing."""
    return repr(float(x)) if _finite(x) else ""


def _signed(x: Any) -> str:
    """:func:`format_number` with a "+" before a positive number."""
    s = format_number(x)
    return s if s.startswith("-") or s in ("0", "–") else "+" + s


def summary_tex(
    summary: pd.DataFrame,
    manifest: Mapping[str, Any],
    metrics: Sequence[str] = MAIN_METRICS,
    extra_metrics: Sequence[str] = ("dist_final",),
) -> str:
    """A booktabs LaTeX table of the summary: mean [95% CI] per dataset × combo.

    Args:
        summary: Output of :func:`ganbench.results.stats.summarize` grouped by dataset and combo
            (columns ``dataset``, ``combo``, ``n``, ``<metric>_mean``, ``<metric>_ci_lo``, ...).
        manifest: The run's manifest (suite name and hash go into the caption and a comment).
        metrics: Metric columns always shown (when in the summary).
        extra_metrics: Metric columns shown only when at least one of their means is finite.

    Returns:
        LaTeX source of a ``table`` environment; needs ``\\usepackage{booktabs}``. Names are
        LaTeX-escaped; missing values are ``--``.
    """
    cols = [m for m in metrics if f"{m}_mean" in summary.columns]
    cols += [
        m for m in extra_metrics
        if f"{m}_mean" in summary.columns and summary[f"{m}_mean"].map(_finite).any()
    ]
    name = str(manifest.get("suite_name", "suite"))
    sha = str(manifest.get("suite_sha256", "") or "")
    version = str(manifest.get("ganbench_version", "") or "")

    def cell(row: pd.Series, m: str) -> str:
        mean = row.get(f"{m}_mean")
        if not _finite(mean):
            return "--"
        lo, hi = row.get(f"{m}_ci_lo"), row.get(f"{m}_ci_hi")
        ci = f" [{format_number(lo, '--')}, {format_number(hi, '--')}]" if _finite(lo) else ""
        return latex_escape(format_number(mean, "--") + ci)

    lines = [
        f"% Generated by ganbench {latex_escape(version)} from suite {latex_escape(name)}",
        f"% suite sha256 {sha}",
        r"% Requires \usepackage{booktabs}",
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{ll r" + "r" * len(cols) + "}",
        r"\toprule",
        " & ".join(["Dataset", "Combo", "$n$"] + [_tex_label(m) for m in cols]) + r" \\",
        r"\midrule",
    ]
    prev = None
    for _, row in summary.iterrows():
        ds = row.get("dataset")
        if prev is not None and ds != prev:
            lines.append(r"\midrule")
        prev = ds
        n = row.get("n")
        cells = [latex_escape(ds), latex_escape(row.get("combo")),
                 str(int(n)) if _finite(n) else "--"] + [cell(row, m) for m in cols]
        lines.append(" & ".join(cells) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        (
            r"\caption{ganbench suite \texttt{" + latex_escape(name) + r"}: mean over seeds "
            r"with the 95\% Student $t$ confidence interval of the mean in brackets; $n$ is the number "
            r"of seeds.}"
        ),
        r"\label{tab:ganbench-" + citation_key(manifest).split("_", 1)[-1] + "}",
        r"\end{table}",
        "",
    ]
    return "\n".join(lines)


def run_date(manifest: Mapping[str, Any]) -> datetime | None:
    """The run's date: ``finished_utc`` of the manifest, else ``started_utc``; None if neither
    parses as ISO 8601."""
    for key in ("finished_utc", "started_utc"):
        value = manifest.get(key)
        if not value:
            continue
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            continue
    return None


def citation_key(manifest: Mapping[str, Any]) -> str:
    """BibTeX key ``ganbench_<suite>_<first 8 hex digits of the suite hash>`` (ASCII only)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", str(manifest.get("suite_name", "suite"))).strip("-")
    sha = re.sub(r"[^0-9a-fA-F]", "", str(manifest.get("suite_sha256", "") or ""))[:8]
    return "_".join(p for p in ("ganbench", name or "suite", sha) if p)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def citation_bib(manifest: Mapping[str, Any]) -> str:
    """A ``@misc`` BibTeX entry for the run: suite name, suite sha256, ganbench version, date.

    The date is the run's (:func:`run_date`), not the time the report was built, so rebuilding
    gives the same entry.

    Args:
        manifest: The run's manifest.

    Returns:
        The BibTeX source, one entry, field values LaTeX-escaped.
    """
    name = latex_escape(manifest.get("suite_name", "suite"))
    sha = latex_escape(manifest.get("suite_sha256", "") or "unknown")
    version = latex_escape(manifest.get("ganbench_version", "") or "unknown")
    seeds = manifest.get("seeds") or []
    date = run_date(manifest)
    fields = [
        ("title", "{ganbench} report: " + name),
        ("author", "{ganbench}"),
        ("howpublished", f"Generated by ganbench {version}"),
    ]
    if date is not None:
        fields += [("year", str(date.year)), ("month", _MONTHS[date.month - 1]),
                   ("date", date.date().isoformat())]
    note = f"Suite {name}, sha256 {sha}; ganbench version {version}"
    if seeds:
        note += f"; {len(seeds)} seeds"
    fields += [("version", version), ("note", note)]
    width = max(len(k) for k, _ in fields)
    body = ",\n".join(
        f"  {k.ljust(width)} = " + (v if k == "month" else "{" + v + "}") for k, v in fields
    )
    return f"@misc{{{citation_key(manifest)},\n{body}\n}}\n"


def _published(row: pd.Series) -> str:
    mean = format_number(row.get("published_mean"), "--")
    spread = row.get("published_spread")
    text = mean + (f" $\\pm$ {latex_escape(format_number(spread))}" if _finite(spread) else "")
    kind = row.get("spread_kind")
    if _finite(spread) and isinstance(kind, str) and kind in ("std", "se"):
        text += r"\textsuperscript{" + kind + "}"
    if not bool(row.get("verified", False)):
        text += r"$^\dagger$"
    return text


def reproduction_tex(values: pd.DataFrame | None, claims: pd.DataFrame,
                     manifest: Mapping[str, Any]) -> str:
    """Booktabs LaTeX tables of a reproduction: published against measured values (mean with
    its 95% Student t interval, seeds) and every claim with its mark.

    Args:
        values: ``reproduction_values`` of the results stage (may be empty or None).
        claims: ``reproduction_claims`` of the results stage.
        manifest: The run's manifest (its ``reference`` title names the paper).

    Returns:
        LaTeX source of one or two ``table`` environments; a dagger marks published values not
        checked against the paper's text.
    """
    ref = ((manifest.get("reference") or {}).get("block") or {})
    title = latex_text(ref.get("title", "the reference"))
    key = citation_key(manifest).split("_", 1)[-1]
    lines = [r"% Reproduction of " + title]
    if values is not None and len(values):
        lines += [r"\begin{table}[t]", r"\centering", r"\small",
                  r"\begin{tabular}{lllrrr}", r"\toprule",
                  r"Dataset & Method & Metric & Published & Measured [95\% CI] & $n$ \\", r"\midrule"]
        for _, row in values.iterrows():
            lo, hi = row.get("measured_ci_lo"), row.get("measured_ci_hi")
            measured = format_number(row.get("measured_mean"), "--")
            if _finite(lo) and _finite(hi):
                measured += f" [{format_number(lo)}, {format_number(hi)}]"
            n = row.get("n")
            lines.append(" & ".join([
                latex_escape(row.get("dataset")), latex_text(row.get("paper_name")),
                _tex_label(str(row.get("metric"))), _published(row) + " (" + latex_escape(row.get("source")) + ")",
                latex_escape(measured), str(int(n)) if _finite(n) else "--"]) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}",
                  r"\caption{Published against measured: " + title + r". Published: mean $\pm$ "
                  r"spread as the paper gives it (std or se); $^\dagger$ not checked against the "
                  r"paper's text. Measured: mean over seeds with its 95\% Student $t$ interval.}",
                  r"\label{tab:ganbench-repro-values-" + key + "}", r"\end{table}", ""]
    lines += [r"\begin{table}[t]", r"\centering", r"\small",
              r"\begin{tabular}{p{0.42\linewidth}llll}", r"\toprule",
              r"Claim & Source & Claimed & Measured & Mark \\", r"\midrule"]
    for _, row in claims.iterrows():
        lines.append(" & ".join(latex_text(row.get(c, "")) for c in
                                ("text", "source", "claimed", "measured", "mark")) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              r"\caption{Claims of " + title + r" checked by ganbench. The rule behind each mark "
              r"is stated in the report's Methods section.}",
              r"\label{tab:ganbench-repro-claims-" + key + "}", r"\end{table}", ""]
    return "\n".join(lines)


def write_exports(run_dir: Path, summary: pd.DataFrame | None,
                  manifest: Mapping[str, Any],
                  reproduction: tuple[pd.DataFrame | None, pd.DataFrame | None] | None = None,
                  ) -> dict[str, Path]:
    """Write the rendered exports ``summary.tex`` (when there is a summary; with the
    reproduction tables of :func:`reproduction_tex` appended when ``reproduction`` holds
    ``(values, claims)`` with claims) and ``citation.bib`` atomically; the CSV tables are the
    results stage's.

    Returns:
        File name → path of every file written.
    """
    run_dir = Path(run_dir)
    out: dict[str, Path] = {}
    if summary is not None:
        tex = summary_tex(summary, manifest)
        if reproduction is not None and reproduction[1] is not None and len(reproduction[1]):
            tex += "\n" + reproduction_tex(reproduction[0], reproduction[1], manifest)
        out["summary.tex"] = write_text(run_dir / "summary.tex", tex)
    out["citation.bib"] = write_text(run_dir / "citation.bib", citation_bib(manifest))
    return out
