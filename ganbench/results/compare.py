"""Comparing run folders with each other (``ganbench compare``; docs/architecture.md §1).

The first run folder is the reference (A); every other one (B, C, …) is compared against it on
each dataset × combo both ran, with the statistics of the report's "Comparison with the
baseline": :func:`ganbench.results.stats.compare_to_baseline` with the run as the "combo" and A
as the "baseline" (difference of means B − A with its Welch t interval, median difference,
Cliff's δ with its interval, exact rank test, diverged seeds ranked worst where the catalog gives
the metric's direction). Holm's correction is then taken within each dataset × metric over every
combo and run pair compared there. The manifests are compared field by field
(:func:`protocol_differences`) and the suite texts line by line (:func:`suite_diff`).

Reading is strict: a folder that is not a run folder, a truncated one (manifest or trials
missing or unreadable) and, unless allowed, a run whose manifest status is not ``complete``
raise :class:`CompareError` with a one-line message.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ganbench.config import catalog
from ganbench.results import stats
from ganbench.results.inputs import _err, read_trials
from ganbench.run.manifest import Manifest

__all__ = ["CompareError", "ComparedRun", "ProtocolDifference", "Comparison", "COLUMNS",
           "read_run", "run_keys", "shared_keys", "compare_runs", "protocol_differences",
           "suite_diff", "compare_run_folders"]

#: Files that make a folder a run folder (at least one must be present).
RUN_FILES = ("manifest.json", "trials.parquet", "trials.csv", "suite.yaml")
#: Seed statuses of rows that never ran (they do not make a dataset × combo "present").
NOT_RUN = ("missing", "interrupted")
#: Columns of :func:`compare_runs`, in order (``_a``: the reference run, ``_b``: the other).
COLUMNS = (
    "dataset", "combo", "metric", "run_a", "run_b", "mean_a", "mean_b", "diff", "diff_ci_lo",
    "diff_ci_hi", "median_a", "median_b", "median_diff", "cliffs_delta", "cliffs_delta_lo",
    "cliffs_delta_hi", "p_value", "p_holm", "significant", "n_a", "n_b", "n_diverged_a",
    "n_diverged_b", "diverged_rule", "better", "change", "dir_a", "dir_b",
)  # fmt: skip
_RENAME = {"baseline": "run_a", "mean": "mean_b", "baseline_mean": "mean_a", "n": "n_b",
           "n_baseline": "n_a", "n_diverged": "n_diverged_b", "n_diverged_baseline": "n_diverged_a",
           "median": "median_b", "baseline_median": "median_a"}
_RUN_COL = "_ganbench_run"
# Manifest fields in order of importance (a field matches its own name and every sub-field),
# with the kind of difference each is; fields not listed come after these, before the run record.
_FIELD_ORDER = (
    ("suite_sha256", "suite"), ("ganbench_version", "software"), ("versions.torch", "software"),
    ("versions.ray", "software"), ("versions", "software"), ("git_commit", "software"),
    ("overrides", "settings"), ("device", "settings"), ("resources", "settings"),
    ("machine.gpus", "machine"), ("machine.runtime", "machine"), ("machine", "machine"),
    ("status", "settings"), ("seeds", "settings"), ("budget", "settings"),
    ("baseline", "settings"), ("combos", "settings"), ("sweep", "settings"),
    ("n_trials", "settings"), ("n_seed_runs", "settings"), ("protocol", "protocol"),
    ("reference", "protocol"), ("suite_name", "suite"), ("description", "suite"),
)  # fmt: skip
#: Fields that record one execution (times, command line); they differ between any two runs.
RUN_RECORD = ("command", "argv", "started_utc", "finished_utc", "resumed_utc", "wall_s",
              "wall_s_before_resume", "train_wall_s")
_ABSENT = "(absent)"


class CompareError(ValueError):
    """A run folder cannot be compared; the message is one line naming the folder and why."""


@dataclass
class ComparedRun:
    """One run folder as read for a comparison.

    Attributes:
        label: ``A`` (the reference), ``B``, ``C``, …
        path: The run folder.
        manifest: ``manifest.json`` as :meth:`Manifest.to_dict` gives it.
        suite_text: ``suite.yaml`` (None where it is missing or unreadable).
        trials: One row per dataset × combo × [hp sample ×] seed, as the results stage reads it.
        warnings: Problems met while reading that did not stop the comparison.
    """

    label: str
    path: Path
    manifest: dict[str, Any]
    suite_text: str | None
    trials: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProtocolDifference:
    """One manifest field that differs: its dotted path, its kind (``suite``, ``software``,
    ``settings``, ``machine``, ``protocol``, ``other`` or ``run record``) and each run's value
    as text (strings as they are, anything else as JSON, ``(absent)`` where a run lacks it)."""

    field: str
    kind: str
    a: str
    b: str


@dataclass
class Comparison:
    """Everything ``ganbench compare`` reports.

    Attributes:
        runs: The runs, the reference first.
        table: :func:`compare_runs` (one row per dataset × combo × metric × run pair).
        protocol: Other run's label → its :func:`protocol_differences` against the reference.
        suite_diffs: Other run's label → :func:`suite_diff` against the reference.
        unshared: Other run's label → (keys only the reference ran, keys only that run ran).
        alpha: Family-wise error rate of ``significant``.
    """

    runs: list[ComparedRun]
    table: pd.DataFrame
    protocol: dict[str, list[ProtocolDifference]]
    suite_diffs: dict[str, str]
    unshared: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]
    alpha: float = stats.SIGNIFICANCE_ALPHA


# ------------------------------------------------------------------------------------ reading
def _read_manifest(path: Path) -> dict[str, Any]:
    if not (path / "manifest.json").is_file():
        raise CompareError(f"{path} is truncated: manifest.json is missing")
    try:
        return Manifest.read(path).to_dict()
    except (OSError, ValueError) as exc:
        raise CompareError(f"{path} is truncated: manifest.json cannot be read ({_err(exc)})")


def _read_trials(path: Path, warnings: list[str]) -> pd.DataFrame:
    if not any((path / name).is_file() for name in ("trials.parquet", "trials.csv")):
        raise CompareError(f"{path} is truncated: trials.parquet and trials.csv are missing")
    problems: list[str] = []
    frame = read_trials(path, problems)
    if frame.empty:
        detail = problems[0].rstrip(".") if problems else "the trials table holds no rows"
        raise CompareError(f"{path} is truncated: {detail}")
    warnings.extend(problems)
    return frame


def _read_suite(path: Path, warnings: list[str]) -> str | None:
    try:
        return (path / "suite.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"suite.yaml could not be read ({_err(exc)}); the suite texts are not "
                        "compared line by line.")
        return None


def read_run(path: str | Path, label: str, allow_partial: bool = False) -> ComparedRun:
    """Read one run folder for a comparison.

    Raises:
        CompareError: ``path`` is not a folder, or holds none of manifest.json, trials.parquet,
            trials.csv, suite.yaml; manifest.json or both trials tables are missing or
            unreadable (or hold no rows); or the manifest status is not ``complete`` and
            ``allow_partial`` is False.
    """
    path = Path(path)
    if not path.is_dir():
        raise CompareError(f"{path} is not a run folder (no such folder)")
    if not any((path / name).is_file() for name in RUN_FILES):
        raise CompareError(f"{path} is not a run folder (it holds none of {', '.join(RUN_FILES)})")
    warnings: list[str] = []
    manifest = _read_manifest(path)
    trials = _read_trials(path, warnings)
    status = str(manifest.get("status") or "unknown")
    if status != "complete" and not allow_partial:
        raise CompareError(f"{path} is not a complete run (manifest status: {status}); finish it "
                           "with 'ganbench run --resume', or pass --allow-partial")
    if status != "complete":
        warnings.append(f"the run is {status}: only the seeds that ran are compared.")
    return ComparedRun(label, path, manifest, _read_suite(path, warnings), trials, warnings)


# ------------------------------------------------------------------------------------ metrics
def run_keys(run: ComparedRun) -> list[tuple[str, str]]:
    """The (dataset, combo) pairs with at least one seed that ran, in order of first row."""
    ran = run.trials[~run.trials["status"].isin(NOT_RUN)]
    return list(dict.fromkeys(zip(ran["dataset"], ran["combo"])))


def shared_keys(a: ComparedRun, b: ComparedRun) -> list[tuple[str, str]]:
    """The (dataset, combo) pairs both runs ran, in ``a``'s order."""
    theirs = set(run_keys(b))
    return [k for k in run_keys(a) if k in theirs]


def _keys_text(keys: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{d} × {c}" for d, c in keys) or "no dataset × combo"


def _pair_frame(a: ComparedRun, b: ComparedRun, keys: list[tuple[str, str]],
                alpha: float) -> pd.DataFrame:
    """``compare_to_baseline`` over the pooled rows of ``keys``, run ``a`` as the baseline."""
    wanted = set(keys)
    pooled = pd.concat(
        [r.trials[[k in wanted for k in zip(r.trials["dataset"], r.trials["combo"])]]
         .assign(**{_RUN_COL: r.label}) for r in (a, b)], ignore_index=True)
    metrics = [m for m in catalog.COMPARED if m in pooled.columns]
    comp = stats.compare_to_baseline(pooled, a.label, metrics, group_cols=("dataset", "combo"),
                                     combo_col=_RUN_COL, alpha=alpha, status_col="status",
                                     higher_is_better=catalog.higher_is_better())
    comp = comp[(comp["n"] + comp["n_diverged"] > 0)
                | (comp["n_baseline"] + comp["n_diverged_baseline"] > 0)]
    return comp.rename(columns={**_RENAME, _RUN_COL: "run_b"}).assign(dir_a=str(a.path),
                                                                       dir_b=str(b.path))


def _in_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by dataset, combo (both in order of first appearance), metric (catalog order), then
    in their order (the run pairs, as appended)."""
    first = {k: i for i, k in enumerate(dict.fromkeys(table["dataset"]))}
    pairs = {k: i for i, k in enumerate(dict.fromkeys(zip(table["dataset"], table["combo"])))}
    metric = {m: i for i, m in enumerate(catalog.COMPARED)}
    keys = pd.DataFrame({"d": table["dataset"].map(first),
                         "c": [pairs[k] for k in zip(table["dataset"], table["combo"])],
                         "m": table["metric"].map(metric)}, index=table.index)
    return table.loc[keys.sort_values(["d", "c", "m"], kind="stable").index]


def _holm_by_dataset_metric(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Holm-adjust ``p_value`` within each dataset × metric (over combos and run pairs)."""
    table = table.reset_index(drop=True)
    for _, idx in table.groupby(["dataset", "metric"], sort=False).groups.items():
        table.loc[idx, "p_holm"] = stats.holm(table.loc[idx, "p_value"].to_numpy(dtype=float))
    p = table["p_holm"].to_numpy(dtype=float)
    table["significant"] = np.where(np.isnan(p), False, p < alpha)
    return table


def _change(row: pd.Series) -> str:
    """``better`` / ``worse`` for B where the difference is significant and the catalog gives
    the metric's direction; empty otherwise."""
    if not row["significant"] or not row["better"]:
        return ""
    larger = row["cliffs_delta"] > 0 if np.isfinite(row["cliffs_delta"]) else row["diff"] > 0
    return "better" if bool(larger) == (row["better"] == "higher") else "worse"


def compare_runs(runs: Sequence[ComparedRun],
                 alpha: float = stats.SIGNIFICANCE_ALPHA) -> pd.DataFrame:
    """Every run after the first against the first, per shared dataset × combo and compared
    metric of the catalog.

    Returns:
        One row per dataset × combo × metric × run pair with :data:`COLUMNS`: the statistics of
        :func:`ganbench.results.stats.compare_to_baseline` with the reference (A) as the
        baseline and the other run (B) as the combo, renamed ``_a`` / ``_b`` (``diff`` and
        ``median_diff`` are B − A; δ is positive where B is larger), ``p_holm`` adjusted within
        each dataset × metric over every combo and run pair, ``better`` the catalog's direction
        (``higher``, ``lower`` or empty) and ``change`` B's side of a significant difference
        (``better``, ``worse``, or empty). Pairs where neither side has a value are left out.

    Raises:
        CompareError: Fewer than two runs, or a run shares no dataset × combo with the first
            (the message names those of both).
    """
    if len(runs) < 2:
        raise CompareError("give at least two run folders (the first is the reference)")
    ref, frames = runs[0], []
    for other in runs[1:]:
        keys = shared_keys(ref, other)
        if not keys:
            raise CompareError(
                f"the runs share no dataset × combo: {ref.label} ({ref.path}) has "
                f"{_keys_text(run_keys(ref))}; {other.label} ({other.path}) has "
                f"{_keys_text(run_keys(other))}")
        frames.append(_pair_frame(ref, other, keys, alpha))
    table = _holm_by_dataset_metric(_in_order(pd.concat(frames, ignore_index=True)), alpha)
    directions = catalog.higher_is_better()
    table["better"] = [("higher" if directions[m] else "lower") if m in directions else ""
                       for m in table["metric"]]
    table["change"] = [_change(r) for _, r in table.iterrows()] if len(table) else []
    return table[list(COLUMNS)]


# ----------------------------------------------------------------------------------- protocol
def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": leaf}``; lists, scalars and empty dicts are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _field_rank(name: str) -> tuple[int, str]:
    """(position in the order of importance, kind) of a flattened manifest field."""
    top = name.split(".", 1)[0]
    if top in RUN_RECORD:
        return len(_FIELD_ORDER) + 1, "run record"
    for i, (prefix, kind) in enumerate(_FIELD_ORDER):
        if name == prefix or name.startswith(prefix + "."):
            return i, kind
    return len(_FIELD_ORDER), "other"


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def protocol_differences(a: dict[str, Any], b: dict[str, Any]) -> list[ProtocolDifference]:
    """Every manifest field whose value differs between ``a`` and ``b`` (manifest dicts).

    Nested fields are compared leaf by leaf (``versions.torch``, ``machine.runtime.kernels``);
    lists are compared whole. The result is ordered by importance: suite hash, ganbench and
    package versions, git commit, overrides, device, resources, machine and process settings,
    status and the rest of the settings, the recorded protocol, then fields this version does
    not know, then the run record (times, command line), which differs between any two runs.
    """
    fa, fb = _flatten(a), _flatten(b)
    names = list(dict.fromkeys([*fa, *fb]))
    diffs = [n for n in names if (n in fa) != (n in fb) or fa.get(n) != fb.get(n)]
    diffs.sort(key=lambda n: _field_rank(n)[0])  # stable: manifest order within a rank
    return [ProtocolDifference(n, _field_rank(n)[1], _as_text(fa[n]) if n in fa else _ABSENT,
                               _as_text(fb[n]) if n in fb else _ABSENT) for n in diffs]


def suite_diff(a: ComparedRun, b: ComparedRun) -> str:
    """Unified diff of the two runs' ``suite.yaml`` (empty when the texts are the same; a
    missing file counts as empty text and is named so in the diff's header)."""
    if a.suite_text == b.suite_text:
        return ""

    def name(run: ComparedRun) -> str:
        return f"{run.label}/suite.yaml" + (" (missing)" if run.suite_text is None else "")

    lines = difflib.unified_diff((a.suite_text or "").splitlines(),
                                 (b.suite_text or "").splitlines(),
                                 fromfile=name(a), tofile=name(b), lineterm="")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ driver
Keys = list[tuple[str, str]]


def _unshared(a: ComparedRun, b: ComparedRun) -> tuple[Keys, Keys]:
    """(the dataset × combo pairs only ``a`` ran, those only ``b`` ran)."""
    mine, theirs = run_keys(a), run_keys(b)
    return [k for k in mine if k not in theirs], [k for k in theirs if k not in mine]


def _label(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"R{i + 1}"


def compare_run_folders(paths: Sequence[str | Path], allow_partial: bool = False,
                        alpha: float = stats.SIGNIFICANCE_ALPHA) -> Comparison:
    """Read the run folders (the first is the reference) and compare them: metrics
    (:func:`compare_runs`), manifests (:func:`protocol_differences`), suite texts
    (:func:`suite_diff`) and the dataset × combo pairs only one side ran.

    Raises:
        CompareError: See :func:`read_run` and :func:`compare_runs`.
    """
    runs = [read_run(p, _label(i), allow_partial) for i, p in enumerate(paths)]
    table = compare_runs(runs, alpha)
    ref, others = runs[0], runs[1:]
    return Comparison(
        runs=runs, table=table,
        protocol={o.label: protocol_differences(ref.manifest, o.manifest) for o in others},
        suite_diffs={o.label: suite_diff(ref, o) for o in others},
        unshared={o.label: _unshared(ref, o) for o in others}, alpha=alpha)
