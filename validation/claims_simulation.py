"""Check the reproduction marks by simulation: how often each mark is given when the claim is
false, when it is true, and at the edge (the rules are in ganbench.results.reproduction).

    python validation/claims_simulation.py [--reps 2000] [--seed 0]

Order claims ("A higher than B"): normal seeds, A − B = δ standard deviations, n per side, one
claim in the Holm family. Value claims ("the mean lies in [−1, 1]"): normal seeds with standard
deviation 0.5 around a true mean μ. Prints a Markdown table of mark rates with their binomial
standard errors. A false claim must be marked reproduced at most at rate α (0.05).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from ganbench.results import stats
from ganbench.results.reproduction import judge_order, judge_value

ALPHA = 0.05


def order_rates(delta: float, n: int, reps: int, rng: np.random.Generator) -> dict[str, float]:
    """Mark rates of "A > B" with A ~ N(δ, 1), B ~ N(0, 1), n seeds each."""
    counts = {"reproduced": 0, "not reproduced": 0, "inconclusive": 0}
    can = stats.min_attainable_p(n, n, 1) < ALPHA
    for _ in range(reps):
        a = rng.normal(delta, 1.0, n)
        b = rng.normal(0.0, 1.0, n)
        p = stats.rank_test_p(a, b)
        mark, _, _ = judge_order(a, 0, b, 0, -math.inf, p, can, ALPHA)
        counts[mark] += 1
    return {k: v / reps for k, v in counts.items()}


def value_rates(mu: float, n: int, reps: int, rng: np.random.Generator,
                band: tuple[float, float] = (-1.0, 1.0), sd: float = 0.5) -> dict[str, float]:
    """Mark rates of "the mean lies in ``band``" with seeds ~ N(μ, sd²)."""
    counts = {"reproduced": 0, "not reproduced": 0, "inconclusive": 0}
    for _ in range(reps):
        x = rng.normal(mu, sd, n)
        mark, _, _ = judge_value(x, 0, None, band, ALPHA)
        counts[mark] += 1
    return {k: v / reps for k, v in counts.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    def se(p: float, reps: int) -> float:
        return math.sqrt(max(p * (1 - p), 1e-12) / reps)

    print("| claim | truth | n per side | reproduced | not reproduced | inconclusive |")
    print("|---|---|---|---|---|---|")
    for n in (5, 6, 10):
        reps = args.reps if n < 10 else max(args.reps // 4, 100)
        for delta, truth in ((0.0, "false (no difference)"), (-1.0, "false (reversed, 1 sd)"),
                             (1.0, "true (1 sd)"), (2.0, "true (2 sd)")):
            r = order_rates(delta, n, reps, rng)
            print(f"| A > B | {truth} | {n} | {r['reproduced']:.3f} ± {se(r['reproduced'], reps):.3f} "
                  f"| {r['not reproduced']:.3f} | {r['inconclusive']:.3f} |")
    for n in (5, 6, 10):
        for mu, truth in ((0.0, "true (centre)"), (0.8, "true (near the edge)"),
                          (1.0, "false (at the edge)"), (1.3, "false (0.6 sd outside)"),
                          (2.0, "false (2 sd outside)")):
            r = value_rates(mu, n, args.reps, rng)
            print(f"| mean in [-1, 1], sd 0.5 | {truth} | {n} | {r['reproduced']:.3f} ± "
                  f"{se(r['reproduced'], args.reps):.3f} | {r['not reproduced']:.3f} | "
                  f"{r['inconclusive']:.3f} |")


if __name__ == "__main__":
    main()
