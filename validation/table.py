"""Print VALIDATION.md's headline table from a run folder's results (no computation beyond
formatting: every number comes from the results stage's tables).

    python validation/table.py reports/validation_ring [--metric modes_covered]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd


def fmt(x, digits=3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"


def ci(row, m) -> str:
    return f"{fmt(row[f'{m}_mean'])} [{fmt(row[f'{m}_ci_lo'])}, {fmt(row[f'{m}_ci_hi'])}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--metric", default="modes_covered")
    a = ap.parse_args()
    run = a.run_dir
    summary = pd.read_csv(run / "summary.csv")
    rates = pd.read_csv(run / "verdicts.csv")
    comp = pd.read_csv(run / "comparisons.csv")
    trials = pd.read_parquet(run / "trials.parquet")
    manifest = json.loads((run / "manifest.json").read_text())
    base = manifest.get("baseline")
    wall = trials.groupby(["dataset", "combo"], sort=False)["trial_wall_s"].first() \
        if "trial_wall_s" in trials else None
    print("| dataset | combo | n (diverged) | modes [95% CI] | HQ share [95% CI] | reverse KL [95% CI] "
          "| collapse | non-conv. | healthy | Δ modes vs " + str(base) + " [95% CI] | Cliff's δ [95% CI] "
          "| Holm p | trial wall (s) |")
    print("|" + "---|" * 13)
    for _, r in summary.iterrows():
        ds, c = r["dataset"], r["combo"]
        rr = rates[(rates.dataset == ds) & (rates.combo == c)].iloc[0]
        cm = comp[(comp.dataset == ds) & (comp.combo == c) & (comp.metric == a.metric)]
        if len(cm):
            x = cm.iloc[0]
            delta = f"{fmt(x['diff'])} [{fmt(x['diff_ci_lo'])}, {fmt(x['diff_ci_hi'])}]"
            cliff = f"{fmt(x['cliffs_delta'])} [{fmt(x['cliffs_delta_lo'])}, {fmt(x['cliffs_delta_hi'])}]"
            p = fmt(x["p_holm"])
        else:
            delta = cliff = p = "(baseline)"
        n = int(r["n"])
        nd = int(r.get("n_diverged", 0))
        w = fmt(wall.get((ds, c)), 4) if wall is not None else "–"
        print(f"| {ds} | {c} | {n} ({nd}) | {ci(r, 'modes_covered')} | {ci(r, 'hq_fraction')} | "
              f"{ci(r, 'reverse_kl')} | {rr['rate_mode_collapse']:.2f} | "
              f"{rr['rate_non_convergence']:.2f} | {rr['rate_healthy']:.2f} | {delta} | {cliff} "
              f"| {p} | {w} |")


if __name__ == "__main__":
    main()
