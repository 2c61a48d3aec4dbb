"""Reading a run folder's inputs to the results stage: ``manifest.json``, ``trials.parquet``
(falling back to ``trials.csv``) and ``history.parquet``. Each reader returns a usable value and
appends a readable warning instead of raising when a file is missing or unreadable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench.run.manifest import Manifest

__all__ = ["read_manifest", "read_trials", "read_history"]


def _err(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__



def _read_manifest(run_dir: Path, warnings: list[str]) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        warnings.append("manifest.json is missing: run settings, versions and protocol are unknown.")
        return {}
    except (OSError, ValueError) as exc:
        warnings.append(f"manifest.json could not be read ({_err(exc)}): run settings are unknown.")
        return {}
    if not isinstance(data, dict):
        warnings.append("manifest.json does not hold a JSON object: run settings are unknown.")
        return {}
    try:
        return Manifest.model_validate(data).to_dict()
    except ValueError as exc:
        warnings.append(f"manifest.json does not match the manifest format ({_err(exc)}); it is "
                        "read as it is.")
        return data


def _read_trials(run_dir: Path, warnings: list[str]) -> pd.DataFrame:
    parquet, csv = run_dir / "trials.parquet", run_dir / "trials.csv"
    frame: pd.DataFrame | None = None
    try:
        frame = pd.read_parquet(parquet)
    except Exception as exc:  # noqa: BLE001 - any unreadable file falls back to the CSV
        reason = "is missing" if not parquet.exists() else f"could not be read ({_err(exc)})"
        try:
            frame = pd.read_csv(csv, keep_default_na=True)
            warnings.append(f"trials.parquet {reason}; results were read from trials.csv instead.")
        except Exception as exc2:  # noqa: BLE001
            reason2 = "is missing" if not csv.exists() else f"could not be read ({_err(exc2)})"
            warnings.append(
                f"trials.parquet {reason} and trials.csv {reason2}: no trial results to report."
            )
            frame = None
    if frame is not None and not {"dataset", "combo"} <= set(frame.columns):
        warnings.append("trials.parquet has no dataset/combo columns: no trial results to report.")
        frame = None
    if frame is None:
        return pd.DataFrame(columns=["dataset", "combo", "seed", "status", "error"])
    frame = frame.copy()
    frame["dataset"] = frame["dataset"].astype(str)
    frame["combo"] = frame["combo"].astype(str)
    if "seed" not in frame.columns:
        frame["seed"] = 0
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").fillna(-1).astype("int64")
    if "status" not in frame.columns:
        frame["status"] = "ok"
    frame["status"] = frame["status"].fillna("failed").astype(str)
    if "error" not in frame.columns:
        frame["error"] = ""
    frame["error"] = frame["error"].fillna("").astype(str)
    return frame


def _read_history(run_dir: Path, warnings: list[str]) -> pd.DataFrame | None:
    path = run_dir / "history.parquet"
    if not path.exists():
        warnings.append("history.parquet is missing: training curves and phase portraits are omitted.")
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001
        warnings.append(
            f"history.parquet could not be read ({_err(exc)}): training curves and phase "
            "portraits are omitted."
        )
        return None
    missing = {"dataset", "combo", "seed", "step"} - set(frame.columns)
    if missing:
        warnings.append(
            f"history.parquet lacks the columns {', '.join(sorted(missing))}: training curves "
            "are omitted."
        )
        return None
    if frame.empty:
        warnings.append("history.parquet holds no rows: training curves are omitted.")
        return None
    frame = frame.copy()
    frame["dataset"] = frame["dataset"].astype(str)
    frame["combo"] = frame["combo"].astype(str)
    return frame



read_manifest = _read_manifest
read_trials = _read_trials
read_history = _read_history
