"""Sample-quality distances computed with torch-fidelity's statistics functions.

Toy 2-D data: the Fréchet distance between Gaussians fitted to the raw samples
(``‖μ₁-μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½)``, data units squared), computed with
``torch_fidelity.metric_fid.fid_features_to_statistics`` and ``fid_statistics_to_metric``,
the same code that turns Inception features into FID.
"""

from __future__ import annotations

import numpy as np
import torch

FRECHET_DESCRIPTION = ("Fréchet distance between Gaussians fitted (mean, unbiased covariance) to "
                       "the raw real and generated samples, via torch-fidelity 0.4's "
                       "fid_features_to_statistics / fid_statistics_to_metric; units: data units².")


def gaussian_statistics(samples: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and covariance (``{"mu", "sigma"}``, float64) of ``[N, d]`` samples, via torch-fidelity."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    x = torch.as_tensor(np.asarray(samples, dtype=np.float64))
    stats = fid_features_to_statistics(x)
    return {"mu": np.atleast_1d(stats["mu"]), "sigma": np.atleast_2d(stats["sigma"])}


def frechet_distance(stats_a: dict[str, np.ndarray], stats_b: dict[str, np.ndarray]) -> float:
    """Fréchet distance between two Gaussians given as ``{"mu", "sigma"}``."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    return float(fid_statistics_to_metric(stats_a, stats_b, verbose=False)[KEY_METRIC_FID])


# =============================================================================================
# Images: FID / KID / precision-recall through torch_fidelity.calculate_metrics
# =============================================================================================
#
# * Extractors: ``inception-v3-compat`` (torch-fidelity's standard FID Inception) for MNIST,
#   CIFAR-10 and image folders; ``digits`` (the digit classifier's 128-d penultimate features,
#   per channel and concatenated, registered with torch-fidelity as ``ganbench-digits``) for
#   the digit datasets, so they get a meaningful FID offline. The suite's
#   ``fidelity.extractor: auto`` picks between them.
# * Offline Inception: weights come from ``fidelity.feature_extractor_weights_path``, else
#   ``$GANBENCH_INCEPTION_WEIGHTS``, else torch hub's cache; only then is a download tried, and
#   its failure is reported with the fix (:class:`FidelityWeightsError`).
# * Each call compares ``samples`` generated images with ``samples`` real images drawn once with
#   a fixed seed. torch-fidelity caches the real features and FID statistics under
#   ``<cache>/fidelity`` with a name that fixes dataset, parameters, count, extractor and weights
#   (:meth:`ImageFidelity.cache_name`), so they are computed once per dataset × extractor.
# * Always ``save_cpu_ram=True`` (no DataLoader workers), ``cuda`` from the trial's device,
#   ``verbose=False`` and a fixed ``rng_seed`` for KID's subsets.

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
from pathlib import Path  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from ganbench.config.suite import Fidelity

#: suite extractor name → torch-fidelity registry name
IMAGE_EXTRACTORS = {"digits": "ganbench-digits", "inception-v3-compat": "inception-v3-compat"}
INCEPTION_WEIGHTS_ENV = "GANBENCH_INCEPTION_WEIGHTS"
#: torch-fidelity's metric keys → ganbench's column names
FIDELITY_KEYS = {"frechet_inception_distance": "fid", "kernel_inception_distance_mean": "kid_mean",
                 "kernel_inception_distance_std": "kid_std", "precision": "precision", "recall": "recall"}
FIDELITY_COLUMNS = tuple(FIDELITY_KEYS.values())
#: seed of the real reference images (the same for every trial)
REAL_IMAGES_SEED = 12345
#: torch-fidelity's KID / PR random seed
FIDELITY_RNG_SEED = 2020


class FidelityWeightsError(RuntimeError):
    """No usable weights for a feature extractor; the message says how to provide them."""


def default_extractor(dataset: Any) -> str:
    """``digits`` for datasets the digit classifier reads, ``inception-v3-compat`` otherwise."""
    return "digits" if getattr(dataset, "digits_per_sample", 0) else "inception-v3-compat"


def fidelity_settings(cfg: Fidelity | Mapping[str, Any] | None) -> Fidelity:
    """The suite's ``fidelity`` block as its model (a mapping: the fields it sets over the
    defaults, validated)."""
    from ganbench.config.suite import Fidelity

    if isinstance(cfg, Fidelity):
        return cfg
    return Fidelity.model_validate(dict(cfg or {}))


def resolve_extractor(cfg: Fidelity | Mapping[str, Any], dataset: Any) -> str:
    name = fidelity_settings(cfg).extractor
    return default_extractor(dataset) if name == "auto" else name


def _digits_extractor_class():
    from torch_fidelity import FeatureExtractorBase

    class DigitsFeatureExtractor(FeatureExtractorBase):
        """The digit classifier as a torch-fidelity feature extractor.

        Input ``uint8 [B, C, H, W]``; each channel is classified separately and the features of
        the C channels are concatenated: ``penultimate`` (``128·C``, scaled by the classifier's
        ``feature_scale``; for FID/KID/PR) and ``logits`` (``10·C``). ``feature_extractor_weights_path`` may name a classifier file written by
        :mod:`ganbench.train.measures.digits` (default: the cached one).
        """

        calls = 0  # forward calls in this process (the tests read it)

        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            import copy

            from ganbench.train.measures.digits import load_classifier

            self.classifier = copy.deepcopy(load_classifier(feature_extractor_weights_path))

        @staticmethod
        def get_provided_features_list():
            return "penultimate", "logits"

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return {"isc": "logits", "fid": "penultimate", "kid": "penultimate", "prc": "penultimate"}[metric]

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 1, 8, 8, dtype=torch.uint8)

        def forward(self, x):
            from ganbench.train.measures.digits import classifier_input

            type(self).calls += 1
            feats, logits = [], []
            for c in range(x.shape[1]):
                inp = classifier_input(x[:, c])
                f = self.classifier.features(inp)
                feats.append(self.classifier.fid_features(inp))
                logits.append(self.classifier.out(f))
            out = {"penultimate": torch.cat(feats, 1), "logits": torch.cat(logits, 1)}
            return tuple(out[k].to(torch.float32) for k in self.features_list)

    return DigitsFeatureExtractor


_DIGITS_EXTRACTOR: Any = None


def register_digits_extractor() -> Any:
    """Register the digit-classifier extractor with torch-fidelity (once per process)."""
    global _DIGITS_EXTRACTOR
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    name = IMAGE_EXTRACTORS["digits"]
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        _DIGITS_EXTRACTOR = _digits_extractor_class()
        register_feature_extractor(name, _DIGITS_EXTRACTOR)
    return FEATURE_EXTRACTORS_REGISTRY[name]


def inception_weights(path: str | None = None, download_timeout: float = 30.0) -> str:
    """A local file of torch-fidelity's ``inception-v3-compat`` weights.

    Looks at ``path`` (the suite's ``fidelity.feature_extractor_weights_path``), then
    ``$GANBENCH_INCEPTION_WEIGHTS``, then torch hub's cache; only then tries the download.
    Raises :class:`FidelityWeightsError` saying exactly what was tried and how to fix it.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    source = "fidelity.feature_extractor_weights_path" if path else INCEPTION_WEIGHTS_ENV
    path = path or os.environ.get(INCEPTION_WEIGHTS_ENV) or None
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise FidelityWeightsError(f"Inception weights file {p} (from {source}) does not exist")
        return str(p)
    hub = Path(torch.hub.get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]
    if hub.is_file():
        return str(hub)
    old = socket.getdefaulttimeout()
    try:
        socket.setdefaulttimeout(download_timeout)
        hub.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(hub), progress=False)
        return str(hub)
    except Exception as exc:  # noqa: BLE001 - URLError, timeouts, HTTP errors, disk errors
        raise FidelityWeightsError(
            "FID/KID/precision-recall with inception-v3-compat need the Inception weights, and "
            f"there are none: no fidelity.feature_extractor_weights_path in the suite, no "
            f"{INCEPTION_WEIGHTS_ENV} in the environment, no cached copy at {hub}, and the "
            f"download of {URL_INCEPTION_V3} failed ({type(exc).__name__}: {exc}). Fix: on a "
            f"machine with internet, download that URL, then copy the file to {hub} or pass its "
            f"path as fidelity.feature_extractor_weights_path (or {INCEPTION_WEIGHTS_ENV}); or "
            "use fidelity.extractor: digits for digit datasets, or set fid/kid/prc: false") from None
    finally:
        socket.setdefaulttimeout(old)


class ImageTensors(torch.utils.data.Dataset):
    """``uint8 [N, C, H, W]`` images as the torch Dataset torch-fidelity reads; ``rgb`` repeats a
    single channel three times (Inception wants ``[B, 3, H, W]``)."""

    def __init__(self, images: torch.Tensor, rgb: bool = False):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"expected uint8 [N, C, H, W] images, got {images.dtype} {tuple(images.shape)}")
        self.images = images
        self.rgb = rgb and images.shape[1] == 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = self.images[i]
        return x.expand(3, -1, -1) if self.rgb else x


def _file_identity(path: str | None) -> str:
    if not path:
        return "default"
    st = Path(path).stat()
    return f"{Path(path).resolve()}:{st.st_size}:{int(st.st_mtime)}"


def fidelity_cache_root() -> Path:
    from ganbench.io import cache_dir

    return cache_dir() / "fidelity"


def calculate_image_metrics(fake: torch.Tensor, real: torch.Tensor, *, extractor: str,
                            weights_path: str | None = None, cfg: Fidelity | Mapping[str, Any] | None = None,
                            cuda: bool = False, real_cache_name: str | None = None) -> dict[str, float]:
    """FID / KID / precision / recall of ``fake`` against ``real`` via
    ``torch_fidelity.calculate_metrics``.

    Args:
        fake, real: ``uint8 [N, C, H, W]`` images.
        extractor: ``digits`` or ``inception-v3-compat``.
        weights_path: the extractor's weights file (None: digits → the cached classifier;
            Inception → :func:`inception_weights` must have resolved one already).
        cfg: the suite's ``fidelity`` block (defaults: every metric, torch-fidelity's KID
            settings capped at the sample count).
        cuda: run the extractor on the GPU.
        real_cache_name: name under which torch-fidelity caches ``real``'s features and FID
            statistics (None: no caching).
    Returns:
        ``{"fid", "kid_mean", "kid_std", "precision", "recall"}`` for the metrics enabled.
    """
    import torch_fidelity

    cfg = fidelity_settings(cfg)
    if extractor == "digits":
        register_digits_extractor()
    n = min(len(fake), len(real))
    kwargs: dict[str, Any] = dict(
        input1=ImageTensors(fake, rgb=extractor != "digits"),
        input2=ImageTensors(real, rgb=extractor != "digits"),
        feature_extractor=IMAGE_EXTRACTORS[extractor],
        fid=cfg.fid, kid=cfg.kid, prc=cfg.prc,
        kid_subset_size=min(cfg.kid_subset_size, n),
        kid_subsets=cfg.kid_subsets,
        prc_neighborhood=cfg.prc_neighborhood,
        batch_size=cfg.batch_size,
        cuda=bool(cuda), save_cpu_ram=True, verbose=False, rng_seed=FIDELITY_RNG_SEED,
        cache=real_cache_name is not None, cache_root=str(fidelity_cache_root()),
    )
    if real_cache_name is not None:
        kwargs["input2_cache_name"] = real_cache_name
    if weights_path is not None:
        kwargs["feature_extractor_weights_path"] = str(weights_path)
    raw = torch_fidelity.calculate_metrics(**kwargs)
    return {FIDELITY_KEYS[k]: float(v) for k, v in raw.items() if k in FIDELITY_KEYS}


class ImageFidelity:
    """FID / KID / PR of one trial's dataset: resolves the extractor and its weights when
    created (so a trial without weights fails before training) and holds the real reference.

    Args:
        dataset: an :class:`~ganbench.components.data.images.ImageDataset`.
        dataset_key: what identifies the dataset (name and parameters) in the cache name.
        cfg: the suite's ``fidelity`` block.
        cuda: run the extractor on the GPU.
    """

    def __init__(self, dataset: Any, dataset_key: dict[str, Any], cfg: Fidelity | Mapping[str, Any],
                 cuda: bool = False):
        self.dataset = dataset
        self.cfg = fidelity_settings(cfg)
        self.cuda = cuda
        self.extractor = resolve_extractor(self.cfg, dataset)
        self.n = self.cfg.samples
        path = self.cfg.feature_extractor_weights_path
        if self.extractor == "inception-v3-compat":
            self.weights_path: str | None = inception_weights(path)
        else:
            self.weights_path = str(Path(path).expanduser()) if path else None
            from ganbench.train.measures.digits import load_classifier

            load_classifier(self.weights_path)  # fail early (and train/cache it once)
        import torch_fidelity

        ident = json.dumps({"dataset": dataset_key, "n": self.n, "seed": REAL_IMAGES_SEED,
                            "extractor": self.extractor, "weights": _file_identity(self.weights_path),
                            "torch_fidelity": torch_fidelity.__version__,
                            "classifier": _classifier_version() if self.extractor == "digits" else None},
                           sort_keys=True, default=str)
        self.cache_name = "ganbench-" + hashlib.sha256(ident.encode()).hexdigest()[:20]
        self._real: torch.Tensor | None = None

    @property
    def real(self) -> torch.Tensor:
        if self._real is None:
            self._real = self.dataset.sample_uint8(self.n, REAL_IMAGES_SEED)
        return self._real

    def __call__(self, fake: torch.Tensor) -> dict[str, float]:
        """Metrics of ``uint8 [n, C, H, W]`` generated images against the real reference."""
        return calculate_image_metrics(fake, self.real, extractor=self.extractor,
                                       weights_path=self.weights_path, cfg=self.cfg, cuda=self.cuda,
                                       real_cache_name=self.cache_name)

    def describe(self) -> dict[str, Any]:
        return describe_fidelity(self.cfg, self.dataset, self.weights_path)


def _classifier_version() -> int:
    from ganbench.train.measures.digits import VERSION

    return VERSION


def describe_fidelity(cfg: Fidelity | Mapping[str, Any], dataset: Any,
                      weights_path: str | None = None) -> dict[str, Any]:
    """The FID/KID/PR protocol of one dataset, as the manifest and the report record it."""
    import torch_fidelity

    cfg = fidelity_settings(cfg)
    extractor = resolve_extractor(cfg, dataset)
    if extractor == "digits":
        features = f"digit classifier penultimate layer, 128 x {dataset.shape[0]} channel(s)"
        weights = weights_path or cfg.feature_extractor_weights_path or "cached digit classifier"
    else:
        features = "inception-v3-compat pool3 (2048), images upsampled to 299 px, grey repeated to RGB"
        weights = (weights_path or cfg.feature_extractor_weights_path
                   or os.environ.get(INCEPTION_WEIGHTS_ENV) or "torch hub cache / download")
    metrics = [m for m in ("fid", "kid", "prc") if getattr(cfg, m)]
    return {"extractor": extractor, "features": features, "weights": str(weights),
            "metrics": metrics, "samples_generated": cfg.samples,
            "samples_real": cfg.samples, "real_seed": REAL_IMAGES_SEED,
            "kid_subset_size": cfg.kid_subset_size,
            "kid_subsets": cfg.kid_subsets,
            "prc_neighborhood": cfg.prc_neighborhood,
            "eval_every": cfg.eval_every, "torch_fidelity": torch_fidelity.__version__}
