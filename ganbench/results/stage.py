"""The results stage: from a run folder's trials and history to every number the report shows.

:func:`compute_results` is pure (frames in, a :class:`Results` out); :func:`write_results` writes
it into the run folder beside the exports; :func:`load_results` reads it back for
``ganbench report``; :func:`results_stage` does all three for a run folder. Files written:

* ``trials.parquet`` / ``trials.csv`` — the per-seed rows with dynamics, ``verdicts`` and
  ``evidence`` (the verdict names and a readable summary of their evidence);
* ``verdict_table.parquet`` / ``verdict_table.csv`` — every rule's outcome per run, one row per
  evidence item (:func:`ganbench.results.diagnose.verdict_table`);
* ``summary.csv`` — per dataset × combo, every numeric metric over seeds (mean with a Student-t
  interval, std, median) and the counts per status;
* ``comparisons.csv`` — every combo against the baseline per dataset and compared metric:
  effect sizes with intervals, exact rank test, Holm correction, diverged seeds per side;
* ``divergence.csv`` — divergence rates against the baseline (Fisher exact test, Holm);
* ``verdicts.csv`` — verdict rates per dataset × combo;
* ``design.csv`` — per dataset, the smallest p-value the design can reach after Holm;
* ``sensitivity.csv`` / ``sensitivity_samples.csv`` — a sweep's spread over hyperparameter
  samples per combo, and each sample's value (:mod:`ganbench.results.sensitivity`);
* ``reproduction_values.csv`` / ``reproduction_claims.csv`` / ``reproduction_protocol.csv`` —
  for a suite with a ``reference`` block: published against measured values, each claim's
  mark, and the paper's protocol against the run's (:mod:`ganbench.results.reproduction`);
* ``results.json`` — the settings the numbers were computed with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ganbench.results import stats
from ganbench.results.diagnose import VERDICTS, diagnose_tables
from ganbench.io import write_frame, write_text
from ganbench.run.manifest import Manifest
from ganbench.config import catalog
from ganbench.results.inputs import read_history, read_manifest, read_trials
from ganbench.results.reproduction import describe_rules, reproduction_tables
from ganbench.results.sensitivity import dataset_kinds, log_axes, sensitivity_tables

__all__ = ["Results", "RESULT_FILES", "compute_results", "write_results", "load_results",
           "results_stage", "compute_summary", "compute_comparisons", "verdict_rates_frame",
           "design_table", "status_values"]

#: The files of the results stage (besides the rewritten trials tables).
RESULT_FILES = ("verdict_table.parquet", "verdict_table.csv", "summary.csv", "comparisons.csv",
                "divergence.csv", "verdicts.csv", "design.csv", "sensitivity.csv",
                "sensitivity_samples.csv", "reproduction_values.csv", "reproduction_claims.csv",
                "reproduction_protocol.csv", "results.json")
_STATUS_VALUES = ("ok", "diverged", "failed")  # always counted; others (e.g. "missing") if seen


@dataclass
class Results:
    """Every computed table of a run (None where there is nothing to compute)."""

    trials: pd.DataFrame
    verdict_table: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    comparisons: pd.DataFrame | None = None
    divergence: pd.DataFrame | None = None
    rates: pd.DataFrame | None = None
    design: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    sensitivity_samples: pd.DataFrame | None = None
    reproduction_values: pd.DataFrame | None = None
    reproduction_claims: pd.DataFrame | None = None
    reproduction_protocol: pd.DataFrame | None = None
    alpha: float = stats.SIGNIFICANCE_ALPHA
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ tables
def status_values(trials: pd.DataFrame) -> list[str]:
    """Statuses to count: ok, diverged, failed, then any other status present, sorted."""
    present = set(trials["status"]) if "status" in trials.columns else set()
    return list(_STATUS_VALUES) + sorted(str(s) for s in present - set(_STATUS_VALUES))


def metric_columns(trials: pd.DataFrame) -> list[str]:
    """Numeric result columns of the trials frame (everything numeric except ``seed``)."""
    return [c for c in trials.columns
            if c != "seed" and pd.api.types.is_numeric_dtype(trials[c])
            and not pd.api.types.is_bool_dtype(trials[c])]


def compute_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """:func:`ganbench.results.stats.summarize` of every numeric metric per dataset × combo,
    with ``n_ok``, ``n_diverged``, ``n_failed`` (and ``n_<status>`` for any other status present)
    inserted after ``n``."""
    summary = stats.summarize(trials, ["dataset", "combo"], metric_columns(trials))
    status = trials["status"] if "status" in trials else pd.Series("ok", index=trials.index)
    counts = {s: trials.assign(_hit=(status == s)).groupby(["dataset", "combo"], sort=False)["_hit"].sum()
              for s in status_values(trials)}
    pos = list(summary.columns).index("n") + 1
    keys = list(zip(summary["dataset"], summary["combo"]))
    status_counts = pd.DataFrame({f"n_{s}": [int(counts[s].get(k, 0)) for k in keys] for s in counts},
                                 index=summary.index)
    return pd.concat([summary.iloc[:, :pos], status_counts, summary.iloc[:, pos:]], axis=1)


def dataset_baselines(trials: pd.DataFrame, baseline: str | None) -> dict[str, str]:
    """The baseline of each dataset: the suite's ``baseline`` where it ran on that dataset, else
    the dataset's first combo (in row order), so that a suite whose baseline is restricted to
    some datasets still compares the combos of the others (``comparisons.csv`` names the
    baseline of every row)."""
    out: dict[str, str] = {}
    if trials.empty or "combo" not in trials:
        return out
    for ds, sub in trials.groupby("dataset", sort=False):
        combos = list(pd.unique(sub["combo"]))
        if len(combos) >= 2:
            out[str(ds)] = baseline if baseline in combos else str(combos[0])
    return out


def _per_dataset(trials: pd.DataFrame, baseline: str | None, fn) -> pd.DataFrame | None:
    frames = [fn(trials[trials["dataset"] == ds], base)
              for ds, base in dataset_baselines(trials, baseline).items()]
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def compute_comparisons(trials: pd.DataFrame, baseline: str | None,
                        alpha: float = stats.SIGNIFICANCE_ALPHA) -> pd.DataFrame | None:
    """Every combo against its dataset's baseline (:func:`dataset_baselines`) on the catalog's
    compared metrics, diverged seeds ranked worst, Holm within each dataset and metric; None
    when no dataset has two combos."""
    metrics = [m for m in catalog.COMPARED if m in trials.columns]

    def one(sub: pd.DataFrame, base: str) -> pd.DataFrame:
        comp = stats.compare_to_baseline(sub, base, metrics, group_cols=("dataset",),
                                         combo_col="combo", alpha=alpha, status_col="status",
                                         higher_is_better=catalog.higher_is_better())
        keep = ((comp["n"] + comp["n_diverged"] > 0)
                | (comp["n_baseline"] + comp["n_diverged_baseline"] > 0))
        return comp[keep]

    return _per_dataset(trials, baseline, one)


def compute_divergence(trials: pd.DataFrame, baseline: str | None,
                       alpha: float = stats.SIGNIFICANCE_ALPHA) -> pd.DataFrame | None:
    """Divergence rates against each dataset's baseline (Fisher exact, Holm within it)."""
    return _per_dataset(trials, baseline, lambda sub, base: stats.compare_divergence(
        sub, base, ("dataset",), "combo", "status", alpha))


def verdict_rates_frame(trials: pd.DataFrame) -> pd.DataFrame | None:
    """Verdict rates per dataset × combo, every verdict as a column (0 where unseen), plus
    ``n_diagnosed`` (and ``n_hp_samples`` in a sweep); None without verdicts."""
    if trials.empty or "verdicts" not in trials.columns:
        return None
    rates = stats.verdict_rates(trials, ["dataset", "combo"], "verdicts")
    for v in VERDICTS:
        if f"rate_{v}" not in rates.columns:
            rates[f"rate_{v}"] = 0.0
    extra = [c for c in rates.columns if c.startswith("rate_") and c[5:] not in VERDICTS]
    diagnosed = trials.assign(_d=trials["verdicts"].map(lambda v: bool(stats.split_verdicts(v))))
    n_diag = diagnosed.groupby(["dataset", "combo"], sort=False)["_d"].sum()
    rates.insert(3, "n_diagnosed", [int(n_diag.get((d, c), 0))
                                    for d, c in zip(rates["dataset"], rates["combo"])])
    if "hp_id" in trials.columns:
        n_hp = trials.groupby(["dataset", "combo"], sort=False)["hp_id"].nunique()
        rates.insert(3, "n_hp_samples", [int(n_hp.get((d, c), 0))
                                         for d, c in zip(rates["dataset"], rates["combo"])])
    cols = (["dataset", "combo", "n"] + [c for c in ("n_hp_samples", "n_diagnosed") if c in rates]
            + [f"rate_{v}" for v in VERDICTS] + extra)
    return rates[cols]


def design_table(counts: Mapping[str, Mapping[str, int]], baseline: str | None,
                 alpha: float = stats.SIGNIFICANCE_ALPHA) -> pd.DataFrame:
    """Per dataset, the smallest p-value its design can reach after Holm's correction.

    Args:
        counts: dataset → combo → number of runs (seeds × hyperparameter samples).
        baseline: the suite's baseline combo.
        alpha: the family-wise error rate.
    Returns:
        One row per dataset with ``n_comparisons`` (combos compared with the baseline),
        ``n_baseline``, ``n_min`` (fewest runs of a compared combo), ``min_p_holm`` (the
        Holm-adjusted exact rank-test p of a complete separation in the best-placed combo:
        :func:`ganbench.results.stats.min_attainable_p`), ``alpha`` and ``can_reach``
        (``min_p_holm < alpha``). Datasets without the baseline or another combo get NaN and
        ``can_reach`` False. A dataset on which the baseline did not run is compared with its
        first combo (:func:`dataset_baselines`); ``baseline`` names it.
    """
    rows = []
    for ds, per in counts.items():
        base = baseline if baseline in per else next(iter(per), None)
        nb = int(per.get(base, 0)) if base else 0
        others = {c: int(n) for c, n in per.items() if c != base and n > 0}
        m = len(others)
        if nb < 1 or m < 1:
            rows.append({"dataset": ds, "baseline": base, "n_comparisons": m, "n_baseline": nb,
                         "n_min": min(others.values()) if others else 0,
                         "min_p_holm": float("nan"), "alpha": alpha, "can_reach": False})
            continue
        best = min(stats.min_attainable_p(n, nb, m) for n in others.values())
        rows.append({"dataset": ds, "baseline": base, "n_comparisons": m, "n_baseline": nb,
                     "n_min": min(others.values()), "min_p_holm": best, "alpha": alpha,
                     "can_reach": bool(best < alpha)})
    return pd.DataFrame(rows, columns=["dataset", "baseline", "n_comparisons", "n_baseline",
                                       "n_min", "min_p_holm", "alpha", "can_reach"])


def _run_counts(trials: pd.DataFrame) -> dict[str, dict[str, int]]:
    counted = trials[~trials["status"].isin(["missing"])] if "status" in trials else trials
    out: dict[str, dict[str, int]] = {}
    for (ds, combo), sub in counted.groupby(["dataset", "combo"], sort=False):
        out.setdefault(str(ds), {})[str(combo)] = int(len(sub))
    return out


# ----------------------------------------------------------------------------------- compute
def _alpha(manifest: Manifest) -> float:
    st = manifest.protocol.statistics
    try:
        a = float(st.get("alpha", stats.SIGNIFICANCE_ALPHA))
    except (TypeError, ValueError):
        return stats.SIGNIFICANCE_ALPHA
    return a if 0 < a < 1 else stats.SIGNIFICANCE_ALPHA


def _diagnostics(manifest: Manifest) -> dict[str, Any] | None:
    diag = manifest.protocol.diagnostics.overrides
    return dict(diag) if diag else None


def compute_results(trials: pd.DataFrame, history: pd.DataFrame | None,
                    manifest: Manifest | Mapping[str, Any]) -> Results:
    """Every table of a run from its per-seed rows, history and manifest.

    Verdicts are always recomputed from ``history`` with the manifest's diagnostics settings, so
    a run folder written by an older version gets the current rules. A table that cannot be
    computed becomes None with a warning; nothing raises for a partial run.
    """
    warnings: list[str] = []
    if not isinstance(manifest, Manifest):
        manifest = Manifest.model_validate(dict(manifest))
    alpha = _alpha(manifest)
    manifest_dict = manifest.to_dict()
    res = Results(trials=trials, alpha=alpha, warnings=warnings)
    if trials.empty:
        return res
    base = trials.drop(columns=[c for c in ("verdicts", "evidence") if c in trials.columns])
    try:
        res.trials, res.verdict_table = diagnose_tables(
            base, history if history is not None else pd.DataFrame(columns=["dataset", "combo", "seed", "step"]),
            manifest_dict if manifest.combos else None, cfg=_diagnostics(manifest))
    except Exception as exc:  # noqa: BLE001 - the other tables still get computed
        warnings.append(f"The verdicts could not be computed ({type(exc).__name__}: {str(exc)[:200]}).")
        res.trials = trials
    baseline = manifest.baseline
    for name, fn in (("summary", lambda t: compute_summary(t)),
                     ("comparisons", lambda t: compute_comparisons(t, baseline, alpha)),
                     ("divergence", lambda t: compute_divergence(t, baseline, alpha)),
                     ("rates", verdict_rates_frame),
                     ("design", lambda t: design_table(_run_counts(t), baseline, alpha))):
        try:
            setattr(res, name, fn(res.trials))
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"The {name} table could not be computed ({type(exc).__name__}: "
                            f"{str(exc)[:200]}).")
    try:
        sens = sensitivity_tables(res.trials, dataset_kinds(manifest_dict, res.trials))
        if sens is not None:
            res.sensitivity_samples, res.sensitivity = sens
    except Exception as exc:  # noqa: BLE001
        warnings.append(f"The sensitivity tables could not be computed ({type(exc).__name__}: "
                        f"{str(exc)[:200]}).")
    if manifest.reference:
        try:
            rep = reproduction_tables(res.trials, manifest.reference["block"],
                                      manifest.reference.get("run_protocol") or {}, alpha)
            res.reproduction_values, res.reproduction_claims = rep.values, rep.claims
            res.reproduction_protocol = rep.protocol
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"The reproduction tables could not be computed ({type(exc).__name__}: "
                            f"{str(exc)[:200]}).")
    res.meta = {
        "computed_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "alpha": alpha,
        "baseline": baseline,
        "log_axes": log_axes(manifest_dict, res.trials),
        "statistics": stats.describe_protocol(),
        "claim_rules": describe_rules(alpha) if manifest.reference else None,
        "warnings": list(warnings),
    }
    return res


# ------------------------------------------------------------------------------ write / read
_TABLES = {"summary": "summary.csv", "comparisons": "comparisons.csv",
           "divergence": "divergence.csv", "rates": "verdicts.csv", "design": "design.csv",
           "sensitivity": "sensitivity.csv", "sensitivity_samples": "sensitivity_samples.csv",
           "reproduction_values": "reproduction_values.csv",
           "reproduction_claims": "reproduction_claims.csv",
           "reproduction_protocol": "reproduction_protocol.csv"}


def write_results(run_dir: str | Path, res: Results) -> None:
    """Write every table of ``res`` into ``run_dir`` (atomically, file by file) and the trials
    tables with their verdicts; a stale table whose value is now None is removed."""
    run_dir = Path(run_dir)
    if len(res.trials):
        write_frame(run_dir / "trials.parquet", res.trials)
        write_frame(run_dir / "trials.csv", res.trials)
    if res.verdict_table is not None:
        write_frame(run_dir / "verdict_table.parquet", res.verdict_table)
        write_frame(run_dir / "verdict_table.csv", res.verdict_table)
    for attr, name in _TABLES.items():
        frame = getattr(res, attr)
        if frame is not None:
            write_frame(run_dir / name, frame)
        elif (run_dir / name).exists():
            (run_dir / name).unlink()
    write_text(run_dir / "results.json", json.dumps(res.meta, indent=2, default=str) + "\n")


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def load_results(run_dir: str | Path, trials: pd.DataFrame | None = None) -> Results | None:
    """The results written by :func:`write_results`, or None if ``results.json`` is absent.

    Args:
        run_dir: the run folder.
        trials: the per-seed rows if already read (else read from the folder).
    """
    run_dir = Path(run_dir)
    meta_path = run_dir / "results.json"
    if not meta_path.exists():
        return None
    warnings: list[str] = []
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if trials is None:
        trials = read_trials(run_dir, warnings)
    vt = None
    if (run_dir / "verdict_table.parquet").exists():
        vt = pd.read_parquet(run_dir / "verdict_table.parquet")
    res = Results(trials=trials, verdict_table=vt, alpha=float(meta.get("alpha", stats.SIGNIFICANCE_ALPHA)),
                  meta=meta, warnings=warnings + list(meta.get("warnings") or []))
    for attr, name in _TABLES.items():
        frame = _read_csv(run_dir / name)
        if attr == "reproduction_protocol" and frame is not None and len(frame):
            # values as the paper and the run wrote them (text), not re-parsed as numbers
            frame = pd.read_csv(run_dir / name, dtype=str, keep_default_na=False)
            frame["differs"] = frame["differs"].str.lower() == "true"
        if frame is not None and "dataset" in frame.columns:
            frame["dataset"] = frame["dataset"].astype(str)
            if "combo" in frame.columns:
                frame["combo"] = frame["combo"].astype(str)
        setattr(res, attr, frame)
    return res


def results_stage(run_dir: str | Path) -> Results:
    """Read a run folder's trials, history and manifest; compute and write its results."""
    run_dir = Path(run_dir)
    warnings: list[str] = []
    manifest = read_manifest(run_dir, warnings)
    trials = read_trials(run_dir, warnings)
    history = read_history(run_dir, [])
    res = compute_results(trials, history, manifest)
    res.warnings[:0] = warnings
    res.meta["warnings"] = list(res.warnings)
    write_results(run_dir, res)
    return res
