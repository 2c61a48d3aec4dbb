"""Evaluators, registered by dataset kind: what a trial measures at every evaluation.

An evaluator is created once per trial (it may precompute real-data statistics) and
``evaluate(trainer, step)`` returns one metrics dict per seed plus the samples to keep as
the trial's final samples. ``HISTORY_KEYS`` are the metric names copied into history rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ganbench.analysis.coverage import coverage_metrics, mode_histogram
from ganbench.analysis.fidelity import frechet_distance, gaussian_statistics
from ganbench.registry import Registry

#: Seed of the reference real samples used by the toy Fréchet distance (same for all trials).
REAL_REFERENCE_SEED = 12345


class Evaluator:
    """Base evaluator: measures nothing (the Dirac-GAN's state is in its probes)."""

    #: metric names copied from an evaluation into the history row of that step
    HISTORY_KEYS: ClassVar[tuple[str, ...]] = ()
    #: metric names copied into the trial row (one per seed) from the last evaluation
    FINAL_KEYS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, trainer: Any):
        self.trainer = trainer

    def evaluate(self, step: int) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
        """Per-seed metrics and per-seed samples (``{seed: array}``) at ``step``."""
        return [{} for _ in self.trainer.seeds], {}


EVALUATORS: Registry[type[Evaluator]] = Registry("evaluator")
EVALUATORS.add("dirac", Evaluator, "no sample metrics: θ, ψ and the distance are probed every step")


@EVALUATORS.register("toy2d", "mode coverage (DESIGN §4) and the Fréchet distance of fitted Gaussians")
class ToyEvaluator(Evaluator):
    """Toy 2-D: coverage metrics, the HQ mode histogram and the toy Fréchet distance."""

    HISTORY_KEYS = ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance",
                    "cell_entropy", "cells_occupied", "mode_hist")
    FINAL_KEYS = ("modes_covered", "modes_total", "hq_fraction", "reverse_kl", "cell_entropy",
                  "cells_occupied", "chance_coverage", "frechet_distance")

    def __init__(self, trainer: Any):
        super().__init__(trainer)
        ds = trainer.dataset
        self.n = int(trainer.spec.budget["eval_samples"])
        self.real_stats = gaussian_statistics(ds.sample(self.n, REAL_REFERENCE_SEED).numpy())

    def evaluate(self, step: int) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
        tr = self.trainer
        ds, ev = tr.dataset, tr.spec.evaluation
        samples = tr.generate(self.n, step)
        out: list[dict[str, Any]] = []
        kept: dict[int, np.ndarray] = {}
        for s, seed in enumerate(tr.seeds):
            x = samples[s]
            kept[seed] = x.astype(np.float32)
            if not tr.alive[s] or not np.isfinite(x).all():
                out.append({k: np.nan for k in ("modes_covered", "hq_fraction", "reverse_kl",
                                                "frechet_distance")})
                continue
            m: dict[str, Any] = coverage_metrics(x, ds.centres, ds.std, ev["hq_std"], ev["min_count"])
            m["mode_hist"] = mode_histogram(x, ds.centres, ds.std, ev["hq_std"]).tolist()
            m["frechet_distance"] = frechet_distance(self.real_stats, gaussian_statistics(x))
            out.append(m)
        return out, kept
