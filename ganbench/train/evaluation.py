"""Evaluators, registered by dataset kind: what a trial measures at every evaluation.

An evaluator is created once per trial (it may precompute real-data statistics) and
``evaluate(trainer, step)`` returns one metrics dict per seed plus the samples to keep as
the trial's final samples. ``HISTORY_KEYS`` are the metric names copied into history rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ganbench.train.measures.coverage import cell_histogram, coverage_metrics, mode_histogram
from ganbench.train.measures.fidelity import frechet_distance, gaussian_statistics
from ganbench.registry import Registry

#: Seed of the reference real samples used by the toy Fréchet distance (same for all trials).
REAL_REFERENCE_SEED = 12345


class Evaluator:
    """Base evaluator: measures nothing (the Dirac-GAN's state is in its probes)."""

    #: metric names copied from an evaluation into the history row of that step
    HISTORY_KEYS: ClassVar[tuple[str, ...]] = ()
    #: metric names copied into the trial row (one per seed) from the last evaluation
    FINAL_KEYS: ClassVar[tuple[str, ...]] = ()
    #: samples per seed kept (float16) at the evaluations of ``training.snapshot_steps`` for
    #: the report's evolution strips and animations; 0 keeps none (images keep their
    #: ``sample_grid`` in the history instead)
    SNAPSHOT: ClassVar[int] = 0

    def __init__(self, trainer: Any):
        self.trainer = trainer

    def evaluate(self, step: int) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
        """Per-seed metrics and per-seed samples (``{seed: array}``) at ``step``."""
        return [{} for _ in self.trainer.seeds], {}


EVALUATORS: Registry[type[Evaluator]] = Registry("evaluator")
EVALUATORS.add("dirac", Evaluator, "no sample metrics: θ, ψ and the distance are probed every step")


@EVALUATORS.register("toy2d", "mode coverage and the Fréchet distance of fitted Gaussians")
class ToyEvaluator(Evaluator):
    """Toy 2-D: coverage metrics, the HQ mode histogram and the toy Fréchet distance."""

    HISTORY_KEYS = ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance",
                    "cell_entropy", "cells_occupied", "mode_hist", "cell_hist")
    FINAL_KEYS = ("modes_covered", "modes_total", "hq_fraction", "reverse_kl", "cell_entropy",
                  "cells_occupied", "chance_coverage", "frechet_distance")
    SNAPSHOT = 512

    def __init__(self, trainer: Any):
        super().__init__(trainer)
        ds = trainer.dataset
        self.n = trainer.spec.budget.eval_samples
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
            m: dict[str, Any] = coverage_metrics(x, ds.centres, ds.std, ev.hq_std, ev.min_count)
            m["mode_hist"] = mode_histogram(x, ds.centres, ds.std, ev.hq_std).tolist()
            m["cell_hist"] = cell_histogram(x, ds.centres).tolist()
            m["frechet_distance"] = frechet_distance(self.real_stats, gaussian_statistics(x))
            out.append(m)
        return out, kept


@EVALUATORS.register("image", "digit-classifier modes (digits, stacked_digits) and FID/KID/precision/recall via torch-fidelity")
class ImageEvaluator(Evaluator):
    """Image datasets. At every evaluation, per seed:

    * **modes** (datasets the digit classifier reads): ``mode_samples`` generated images are
      classified channel by channel (:mod:`ganbench.train.measures.digits`): ``modes_covered`` (of
      ``modes_total`` = 10 or 1000), ``reverse_kl`` = KL(p_gen ‖ uniform) and ``mode_hist``;
    * **FID/KID/precision/recall** (the suite's ``fidelity`` block) on ``fidelity.samples``
      images at evaluations whose step is a multiple of ``fidelity.eval_every`` (default: all)
      and always at the last step: ``fid``, ``kid_mean``, ``kid_std``, ``precision``, ``recall``;
    * ``sample_grid``: the first :data:`GRID` images as ``uint8 [GRID, C, H, W]`` bytes (the
      report's sample grids at checkpoints).

    All images of one evaluation come from one noise draw on the evaluation stream of that step
    (``stream_seed(seed, "eval", step)``), pushed through G in chunks of :data:`CHUNK` (G's batch
    norm uses each chunk's statistics). The final samples kept per seed are the first
    :data:`FINAL` images in ``[-1, 1]``, flattened ``[FINAL, C·H·W]``.
    """

    GRID = 16
    FINAL = 64
    CHUNK = 500
    MODE_KEYS = ("modes_covered", "reverse_kl", "mode_hist")
    #: the real data's own mode count and KL at the same sample count (constant per trial)
    REAL_KEYS = ("real_modes_covered", "real_reverse_kl")
    FIDELITY_KEYS = ("fid", "kid_mean", "kid_std", "precision", "recall")

    def __init__(self, trainer: Any):
        super().__init__(trainer)
        ds, spec = trainer.dataset, trainer.spec
        self.modes = getattr(ds, "digits_per_sample", 0) > 0
        self.n_modes = int(getattr(ds.params, "mode_samples", 0)) if self.modes else 0
        self.cfg = spec.fidelity
        self.fidelity = None
        if self.cfg.fid or self.cfg.kid or self.cfg.prc:
            from ganbench.train.measures.fidelity import ImageFidelity

            # the parameters as the suite gave them identify the dataset in the feature cache
            key = {"name": spec.dataset, "params": spec.dataset_params.model_dump(exclude_unset=True)}
            self.fidelity = ImageFidelity(ds, key, self.cfg, cuda=trainer.device.type == "cuda")
        self.classifier = None
        if self.modes:
            from ganbench.train.measures.digits import load_classifier

            self.classifier = load_classifier(device=trainer.device)
            self.real_modes = self.real_mode_metrics()
        flag = {"fid": "fid", "kid_mean": "kid", "kid_std": "kid", "precision": "prc", "recall": "prc"}
        fid_keys = tuple(k for k in self.FIDELITY_KEYS if self.fidelity is not None and getattr(self.cfg, flag[k]))
        self.HISTORY_KEYS = (self.MODE_KEYS if self.modes else ()) + fid_keys + ("sample_grid",)
        self.FINAL_KEYS = ((("modes_covered", "modes_total", "reverse_kl") + self.REAL_KEYS)
                           if self.modes else ()) + fid_keys

    def real_mode_metrics(self) -> dict[str, float]:
        """Modes covered and KL(p ‖ uniform) of ``mode_samples`` *real* images, classified the
        same way as the generated ones (fixed stream ``REAL_REFERENCE_SEED``): the calibration
        of the image collapse rule, reported beside the generated values."""
        from ganbench.train.measures.digits import classify, mode_metrics

        real = self.trainer.dataset.sample_uint8(self.n_modes, REAL_REFERENCE_SEED)
        mm = mode_metrics(classify(real, self.classifier))
        return {"real_modes_covered": float(mm["modes_covered"]),
                "real_reverse_kl": float(mm["reverse_kl"])}

    def fidelity_due(self, step: int) -> bool:
        every = self.cfg.eval_every
        return self.fidelity is not None and (not every or step % every == 0
                                              or step >= self.trainer.total_steps)

    def generate_images(self, n: int, step: int) -> tuple[Any, np.ndarray]:
        """``uint8 [S, n, C, H, W]`` images (CPU) and a per-seed all-finite flag."""
        import torch

        from ganbench.components.data.images import to_uint8
        from ganbench.components.nets.mlp import stream_seed

        tr = self.trainer
        dev = tr.device
        z = torch.empty(tr.S, n, tr.z_dim, device=dev)
        for s, seed in enumerate(tr.seeds):
            g = torch.Generator(device=dev).manual_seed(stream_seed(seed, "eval", step))
            torch.randn(n, tr.z_dim, generator=g, out=z[s])
        out = torch.empty(tr.S, n, tr.dataset.dim, dtype=torch.uint8)
        finite = torch.ones(tr.S, dtype=torch.bool)
        with torch.no_grad():
            for i in range(0, n, self.CHUNK):
                x = tr.G(z[:, i:i + self.CHUNK])
                finite &= torch.isfinite(x.reshape(tr.S, -1)).all(1).cpu()
                out[:, i:i + self.CHUNK] = to_uint8(x).cpu()
        return out.reshape(tr.S, n, *tr.dataset.shape), finite.numpy()

    def evaluate(self, step: int) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
        from ganbench.components.data.images import to_model

        tr = self.trainer
        fid_due = self.fidelity_due(step)
        n_fid = self.fidelity.n if fid_due else 0
        n = max(self.n_modes, n_fid, self.GRID, self.FINAL)
        images, finite = self.generate_images(n, step)
        out: list[dict[str, Any]] = []
        kept: dict[int, np.ndarray] = {}
        for s, seed in enumerate(tr.seeds):
            x = images[s]
            kept[seed] = to_model(x[: self.FINAL]).reshape(self.FINAL, -1).numpy().astype(np.float32)
            m: dict[str, Any] = {"sample_grid": x[: self.GRID].contiguous().numpy().tobytes()}
            if not tr.alive[s] or not finite[s]:
                m.update({k: np.nan for k in self.FINAL_KEYS if k != "modes_total"})
                if self.modes:
                    m.update(self.real_modes)
                out.append(m)
                continue
            if self.modes:
                from ganbench.train.measures.digits import classify, mode_metrics

                mm = mode_metrics(classify(x[: self.n_modes], self.classifier))
                m.update({"modes_covered": mm["modes_covered"], "modes_total": mm["modes_total"],
                          "reverse_kl": mm["reverse_kl"], "mode_hist": mm["mode_hist"].tolist(),
                          **self.real_modes})
            if fid_due:
                m.update(self.fidelity(x[:n_fid]))
            out.append(m)
        return out, kept


def image_protocol(suite: Any, datasets: dict[str, Any]) -> dict[str, Any]:
    """The image-metric protocol for the manifest and the report's Protocol section.

    Args:
        suite: the validated suite.
        datasets: dataset name → built dataset (only ``kind == "image"`` ones are described).
    Returns:
        Pixel convention, mode-counting protocol, the digit classifier (with its held-out
        accuracy, training and caching it if needed) and, per dataset, the FID/KID/PR settings.
    """
    from ganbench.train.measures.fidelity import describe_fidelity, resolve_extractor
    from ganbench.components.data.images import PIXEL_CONVENTION

    cfg = suite.fidelity
    images = {k: v for k, v in datasets.items() if v.kind == "image"}
    out: dict[str, Any] = {"pixels": PIXEL_CONVENTION}
    digit_sets = {k: v for k, v in images.items() if v.digits_per_sample}
    if digit_sets:
        out["modes"] = ("each generated image's channels are classified separately by the digit "
                        "classifier; a mode is the tuple of classes (10 for digits, 1000 triples for "
                        "stacked_digits) and is covered with at least 1 sample; reverse_kl = "
                        "KL(p_gen || uniform over K) = sum_k p_k log(K p_k), 0 log 0 = 0")
        out["mode_samples"] = {k: int(v.params.mode_samples) for k, v in digit_sets.items()}
    fid_on = cfg.fid or cfg.kid or cfg.prc
    if digit_sets or (fid_on and any(resolve_extractor(cfg, v) == "digits" for v in images.values())):
        from ganbench.train.measures.digits import classifier_info

        info = classifier_info()
        out["digit_classifier"] = (f"held-out accuracy {info['accuracy']:.4f} on {info['n_test']} "
                                   f"sklearn digits (minimum {info['min_accuracy']}); trained on "
                                   f"{info['n_train']} ({info['train_data']}); {info['architecture']}; "
                                   f"input: {info['input']}; cached at {info['path']}")
        out["digit_classifier_accuracy"] = round(float(info["accuracy"]), 6)
    out["evaluation_images"] = (f"one noise draw per evaluation step (stream 'eval'), G run in "
                                f"chunks of {ImageEvaluator.CHUNK} (batch-norm statistics per "
                                f"chunk); {ImageEvaluator.GRID} images per seed kept per checkpoint "
                                f"for the sample grids, {ImageEvaluator.FINAL} as final samples")
    if fid_on:
        out["fidelity"] = {k: describe_fidelity(cfg, v) for k, v in images.items()}
    return out
