"""The Reproduction section: published values beside measured ones, each claim's mark, and the
protocol differences — formatted from the results stage's ``reproduction_*`` tables (every
number and every mark is computed there, :mod:`ganbench.results.reproduction`)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from ganbench.report.export import METRIC_LABELS, _finite, format_number
from ganbench.results.reproduction import MARKS

__all__ = ["reproduction_context", "MARK_STYLE"]

#: Badge colours of the three marks (background, text).
MARK_STYLE = dict(zip(MARKS, ("background:#e3f4e8;color:#1f7a3d",    # reproduced
                              "background:#fbe6e5;color:#b52a25",    # not reproduced
                              "background:#fff4e0;color:#8a5a00")))  # inconclusive


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def _measured(row: Mapping[str, Any], lo_key: str, hi_key: str, mean_key: str) -> tuple[str, str]:
    mean = format_number(row.get(mean_key))
    lo, hi = row.get(lo_key), row.get(hi_key)
    if _finite(lo) or _finite(hi):
        return mean, f"[{format_number(lo)}, {format_number(hi)}]"
    return mean, ""


def _claim_rows(claims: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for _, r in claims.iterrows():
        if r.get("kind") == "order":
            value = f"{format_number(r.get('mean_higher'))} vs {format_number(r.get('mean_lower'))}"
            ci = (f"difference [{format_number(r.get('diff_ci_lo'))}, "
                  f"{format_number(r.get('diff_ci_hi'))}]" if _finite(r.get("diff_ci_lo")) else "")
            n = f"{int(r['n'])} vs {int(r['n_other'])}" if _finite(r.get("n_other")) else _text(r.get("n"))
        else:
            value, ci = _measured(r, "ci_lo", "ci_hi", "mean")
            n = str(int(r["n"])) if _finite(r.get("n")) else ""
        if _finite(r.get("chance_level")):
            ci = (ci + "; " if ci else "") + f"chance level {format_number(r.get('chance_level'))}"
        mark = _text(r.get("mark"))
        rows.append({"id": _text(r.get("claim")), "text": _text(r.get("text")),
                     "source": _text(r.get("source")), "dataset": _text(r.get("dataset")),
                     "metric": METRIC_LABELS.get(_text(r.get("metric")), _text(r.get("metric"))),
                     "claimed": _text(r.get("claimed")), "measured": value, "ci": ci, "n": n,
                     "diverged": int(r["n_diverged"]) if _finite(r.get("n_diverged")) else 0,
                     "mark": mark, "style": MARK_STYLE.get(mark, ""),
                     "reason": _text(r.get("reason"))})
    return rows


def _value_rows(values: pd.DataFrame | None) -> list[dict[str, Any]]:
    if values is None or not len(values):
        return []
    rows = []
    for _, r in values.iterrows():
        spread = r.get("published_spread")
        kind = _text(r.get("spread_kind"))
        pub = format_number(r.get("published_mean"))
        if _finite(spread):
            pub += f" ± {format_number(spread)} ({kind})"
        mean, ci = _measured(r, "measured_ci_lo", "measured_ci_hi", "measured_mean")
        verified = r.get("verified")
        rows.append({"dataset": _text(r.get("dataset")), "combo": _text(r.get("combo")),
                     "paper_name": _text(r.get("paper_name")),
                     "metric": METRIC_LABELS.get(_text(r.get("metric")), _text(r.get("metric"))),
                     "published": pub, "source": _text(r.get("source")),
                     "published_n": str(int(r["published_n"])) if _finite(r.get("published_n")) else "",
                     "verified": bool(verified) if verified is not None and not (
                         isinstance(verified, float) and math.isnan(verified)) else False,
                     "measured": mean, "ci": ci,
                     "std": format_number(r.get("measured_std")),
                     "n": str(int(r["n"])) if _finite(r.get("n")) else "",
                     "diverged": int(r["n_diverged"]) if _finite(r.get("n_diverged")) else 0})
    return rows


def _protocol_rows(protocol: pd.DataFrame | None) -> tuple[list[dict[str, Any]], list[str]]:
    if protocol is None or not len(protocol):
        return [], []
    rows, free = [], []
    for _, r in protocol.iterrows():
        setting = _text(r.get("setting"))
        if not setting:
            free.append(_text(r.get("note")))
            continue
        rows.append({"setting": setting, "paper": _text(r.get("paper")), "run": _text(r.get("run")),
                     "differs": bool(r.get("differs")), "note": _text(r.get("note"))})
    return rows, free


def reproduction_context(manifest: Mapping[str, Any], values: pd.DataFrame | None,
                         claims: pd.DataFrame | None, protocol: pd.DataFrame | None,
                         rules: Mapping[str, str] | None) -> dict[str, Any] | None:
    """Template context of the Reproduction section (None when the run reproduces nothing).

    Args:
        manifest: the run's manifest (its ``reference.block`` names the paper).
        values, claims, protocol: the results stage's ``reproduction_*`` tables.
        rules: the rule behind each mark (``results.json`` ``claim_rules``), for Methods.
    """
    ref = (manifest.get("reference") or {}).get("block") if isinstance(manifest, Mapping) else None
    if not ref or claims is None or not len(claims):
        return None
    claim_rows = _claim_rows(claims)
    counts = {m: sum(r["mark"] == m for r in claim_rows) for m in MARK_STYLE}
    proto_rows, free = _protocol_rows(protocol)
    value_rows = _value_rows(values)
    return {
        "title": _text(ref.get("title")), "url": _text(ref.get("url")), "code": _text(ref.get("code")),
        "bibtex": _text(ref.get("bibtex")), "claims": claim_rows, "counts": counts,
        "mark_styles": MARK_STYLE, "values": value_rows,
        "any_unverified": any(not r["verified"] for r in value_rows),
        "protocol": proto_rows, "n_differ": sum(r["differs"] for r in proto_rows) + len(free),
        "differences": free, "not_found": [_text(x) for x in ref.get("not_found") or []],
        "rules": dict(rules or {}),
    }
