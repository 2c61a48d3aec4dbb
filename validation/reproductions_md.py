"""Print the Markdown tables of REPRODUCTIONS.md from reproduction run folders (formatting
only: every number and mark comes from the results stage's tables and the manifest).

    python validation/reproductions_md.py reports/reproductions/*/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def _num(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v:
        return "–"
    return f"{v:.3g}"


def one(run: Path) -> str:
    m = json.loads((run / "manifest.json").read_text())
    ref = (m.get("reference") or {}).get("block") or {}
    out = [f"### {ref.get('title', m['suite_name'])}", "",
           f"Suite `suites/reproductions/{m['suite_name']}.yaml` (sha256 `{m['suite_sha256'][:12]}…`), "
           f"{len(m['seeds'])} seeds, {m['budget']['steps']} steps, status {m['status']}, "
           f"wall time {float(m['wall_s']) / 60:.1f} min on {m['machine'].get('cpu_count', '?')} cores "
           f"(ganbench {m['ganbench_version']}, commit {str(m.get('git_commit') or '')[:8]}).", ""]
    claims = pd.read_csv(run / "reproduction_claims.csv")
    out += ["| claim | source | claimed | measured | interval | seeds | mark |", "|---|---|---|---|---|---|---|"]
    for _, r in claims.iterrows():
        if r["kind"] == "order":
            ci = f"diff [{_num(r['diff_ci_lo'])}, {_num(r['diff_ci_hi'])}], Holm p {_num(r['p_holm'])}"
            n = f"{int(r['n'])} vs {int(r['n_other'])}"
        else:
            ci = f"[{_num(r['ci_lo'])}, {_num(r['ci_hi'])}]"
            n = str(int(r["n"]))
        out.append(f"| {r['text']} | {r['source']} | {r['claimed']} | {r['measured']} | {ci} | {n} | **{r['mark']}** |")
    vals = run / "reproduction_values.csv"
    if vals.is_file() and vals.stat().st_size > 0:
        v = pd.read_csv(vals)
        if len(v):
            out += ["", "| dataset | method | metric | published | measured [95% CI] | seeds |", "|---|---|---|---|---|---|"]
            for _, r in v.iterrows():
                pub = _num(r["published_mean"])
                if r["published_spread"] == r["published_spread"]:
                    pub += f" ± {_num(r['published_spread'])} ({r['spread_kind']})"
                pub += "" if bool(r["verified"]) else " †"
                out.append(f"| {r['dataset']} | {r['paper_name']} | {r['metric']} | {pub} ({r['source']}) | "
                           f"{_num(r['measured_mean'])} [{_num(r['measured_ci_lo'])}, {_num(r['measured_ci_hi'])}] | {int(r['n'])} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(one(Path(arg)))
