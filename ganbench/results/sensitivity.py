"""Hyperparameter sensitivity of a sweep (Lucic et al. 2018 style), as tables.

For each dataset of a sweep (trials with ``hp_id``), the final main metric of every
hyperparameter sample is the mean over its seeds; per combo the distribution of those values is
summarised (best, median, quartiles, worst, the share of healthy runs, the best sample).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ganbench.results.stats import split_verdicts
from ganbench.config import catalog

__all__ = ["main_metric", "dataset_kinds", "sensitivity_tables", "log_axes"]


def _has_finite(frame: pd.DataFrame, col: str) -> bool:
    return col in frame.columns and bool(np.isfinite(pd.to_numeric(frame[col], errors="coerce")).any())


def main_metric(kind: str, trials_ds: pd.DataFrame) -> str | None:
    """The headline metric of a dataset: the first of :data:`catalog.MAIN_BY_KIND` (for unknown
    kinds, of the directed metrics) with a finite value."""
    for m in catalog.MAIN_BY_KIND.get(kind, tuple(catalog.higher_is_better())):
        if _has_finite(trials_ds, m):
            return m
    return None


def dataset_kinds(manifest: Mapping[str, Any], trials: pd.DataFrame) -> dict[str, str]:
    """Dataset name → kind (``toy2d``, ``image``, ``dirac``), from the manifest's protocol,
    else ``dirac`` where the rows carry a Dirac distance and ``toy2d`` otherwise."""
    specs = (manifest.get("protocol") or {}).get("datasets") or {}
    out = {}
    for ds in pd.unique(trials["dataset"]) if "dataset" in trials else []:
        spec = specs.get(ds) if isinstance(specs, Mapping) else None
        kind = spec.get("kind") if isinstance(spec, Mapping) else None
        out[str(ds)] = str(kind) if kind else (
            "dirac" if _has_finite(trials[trials["dataset"] == ds], "dist_final") else "toy2d")
    return out


def log_axes(manifest: Mapping[str, Any], trials: pd.DataFrame) -> dict[str, bool]:
    """``hp.<path>`` → whether its axis is log-scaled: the sweep model's record in the manifest
    (``sweep.axes[path].log``) where present, else values spanning more than 20× and all > 0."""
    recorded = {}
    axes = ((manifest.get("sweep") or {}).get("axes") or {}) if isinstance(manifest.get("sweep"), Mapping) else {}
    for path, ax in axes.items():
        if isinstance(ax, Mapping) and "log" in ax:
            recorded[f"hp.{path}"] = bool(ax["log"])
    out = {}
    for c in (c for c in trials.columns if c.startswith("hp.")):
        if c in recorded:
            out[c] = recorded[c]
            continue
        x = pd.to_numeric(trials[c], errors="coerce").dropna().to_numpy(dtype=float)
        out[c] = bool(len(x)) and bool((x > 0).all()) and x.max() / x.min() > 20
    return out


def _per_sample(tds: pd.DataFrame, metric: str, hp_cols: list[str]) -> pd.DataFrame:
    rows = []
    for (combo, hp), g in tds.groupby(["combo", "hp_id"], sort=False):
        vals = pd.to_numeric(g[metric], errors="coerce").to_numpy(dtype=float)
        fin = vals[np.isfinite(vals)]
        vsets = [split_verdicts(v) for v in g["verdicts"]] if "verdicts" in g else []
        rec = {"dataset": str(g["dataset"].iloc[0]), "combo": str(combo), "hp_id": int(hp),
               "metric": metric, "value": float(fin.mean()) if fin.size else np.nan,
               "n_runs": len(g), "n_healthy": sum(1 for s in vsets if s == {"healthy"}),
               "n_ok": int((g["status"] == "ok").sum()) if "status" in g else len(g)}
        rec["healthy"] = bool(vsets) and rec["n_healthy"] == len(g)
        first = g.iloc[0].to_dict()
        for c in hp_cols:
            rec[c] = first.get(c)
        rows.append(rec)
    return pd.DataFrame(rows)


def sensitivity_tables(trials: pd.DataFrame, kinds: Mapping[str, str]
                       ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Per hyperparameter sample and per combo, or None without a sweep.

    Returns:
        ``(samples, summary)``: ``samples`` has one row per dataset × combo × hp_id with the
        sample's ``value`` of the dataset's main ``metric`` (mean over its seeds), ``n_runs``,
        ``n_healthy``, ``healthy`` (every seed healthy) and the ``hp.*`` values; ``summary``
        (``sensitivity.csv``) has one row per dataset × combo with ``higher_is_better``,
        ``n_hp_samples``, ``n_hp_finite``, ``n_runs``, ``healthy_share``, ``best``,
        ``median``, ``q1``, ``q3``, ``worst`` and ``best_hp_id``.
    """
    if trials.empty or "hp_id" not in trials.columns:
        return None
    hp_cols = [c for c in trials.columns if c.startswith("hp.")]
    higher_map = catalog.higher_is_better()
    samples, summary = [], []
    for ds in pd.unique(trials["dataset"]):
        tds = trials[(trials["dataset"] == ds) & trials["hp_id"].map(
            lambda v: v is not None and isinstance(v, (int, float, np.integer, np.floating))
            and math.isfinite(float(v)))]
        metric = main_metric(kinds.get(str(ds), ""), tds)
        if tds.empty or metric is None:
            continue
        higher = higher_map.get(metric, True)
        per = _per_sample(tds, metric, hp_cols)
        samples.append(per)
        for combo in pd.unique(per["combo"]):
            sub = per[per["combo"] == combo]
            v = sub["value"].to_numpy(dtype=float)
            fin = np.isfinite(v)
            n_runs = int(sub["n_runs"].sum())
            row = {"dataset": str(ds), "combo": str(combo), "metric": metric,
                   "higher_is_better": higher, "n_hp_samples": len(sub),
                   "n_hp_finite": int(fin.sum()), "n_runs": n_runs,
                   "n_healthy": int(sub["n_healthy"].sum()),
                   "healthy_share": sub["n_healthy"].sum() / n_runs if n_runs else np.nan,
                   "best": np.nan, "median": np.nan, "q1": np.nan, "q3": np.nan, "worst": np.nan,
                   "best_hp_id": None}
            if fin.any():
                vf = v[fin]
                q1, q3 = np.percentile(vf, [25, 75])
                i_best = int(np.argmax(np.where(fin, v, -np.inf)) if higher
                             else np.argmin(np.where(fin, v, np.inf)))
                row.update(best=float(vf.max() if higher else vf.min()),
                           worst=float(vf.min() if higher else vf.max()),
                           median=float(np.median(vf)), q1=float(q1), q3=float(q3),
                           best_hp_id=int(sub.iloc[i_best]["hp_id"]))
            summary.append(row)
    if not samples:
        return None
    return pd.concat(samples, ignore_index=True), pd.DataFrame(summary)
