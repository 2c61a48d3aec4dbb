"""Check that two run folders hold the same per-seed numbers (the refactoring guarantee).

    python validation/same_numbers.py RUN_BEFORE RUN_AFTER

Compares every per-seed training result of ``trials.csv`` (status, steps, coverage, Fréchet
distance, final losses, gradient norms, D outputs, Dirac state, and the dynamics whose
definition did not change) for every dataset × combo × seed, exactly (bit for bit as written to
CSV). Timings, the verdicts and the dynamics whose definitions changed on purpose are listed
and skipped. Exits 1 on any difference.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

KEYS = ["dataset", "combo", "seed"]
SKIP = ("wall_s", "trial_wall_s", "verdicts", "evidence", "error")
# dynamics whose definition changed on purpose (red-noise period test, cell-histogram hopping)
CHANGED = ("d_loss_period", "g_loss_period", "mode_hopping_mean", "mode_hopping_max")


def main(before: str, after: str) -> int:
    a = pd.read_csv(f"{before}/trials.csv").sort_values(KEYS).reset_index(drop=True)
    b = pd.read_csv(f"{after}/trials.csv").sort_values(KEYS).reset_index(drop=True)
    if not a[KEYS].equals(b[KEYS]):
        print("the runs differ in their dataset × combo × seed rows")
        return 1
    cols = [c for c in a.columns if c in b.columns and c not in KEYS + list(SKIP) + list(CHANGED)]
    bad = []
    for c in cols:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            same = np.array_equal(x.to_numpy(float), y.to_numpy(float), equal_nan=True)
        else:
            same = x.fillna("").astype(str).equals(y.fillna("").astype(str))
        if not same:
            bad.append(c)
    print(f"{len(a)} seed rows, {len(cols)} columns compared exactly; skipped: "
          f"{', '.join(c for c in a.columns if c in SKIP + CHANGED)}")
    only = sorted(set(b.columns) - set(a.columns))
    if only:
        print(f"new columns in {after}: {', '.join(only)}")
    if bad:
        print(f"DIFFERENT: {', '.join(bad)}")
        return 1
    print("identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
