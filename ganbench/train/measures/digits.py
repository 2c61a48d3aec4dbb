"""The digit classifier: counts stacked-digit modes and gives digit images FID features.

* **Training (deterministic).** A small CNN on sklearn's 8×8 digits, trained on the fixed
  train split of :func:`ganbench.components.data.images.digits_split` (75 %), with every image also seen
  after a round trip through 16 and 32 px (bilinear up, area down, uint8 in between: what the
  ``digits`` datasets at those sizes look like once brought back to 8 px). One CPU thread, a
  fixed torch seed and a fixed batch order make the weights the same on every run of the
  same torch build. Held-out accuracy is measured on the 25 % test split (8 px originals) and
  must be at least :data:`MIN_ACCURACY`; :func:`load_classifier` refuses a model below it.
* **Cache.** The weights and their accuracy are saved to
  ``<cache>/digits_classifier_v{VERSION}.pt`` where ``<cache>`` is ``$GANBENCH_CACHE`` or
  ``~/.cache/ganbench`` (never inside the package), written atomically, and loaded with
  ``torch.load(weights_only=True)``.
* **Features.** :meth:`DigitClassifier.fid_features` are the penultimate activations times
  ``feature_scale``, fixed at training so that the real training digits have root-mean-square
  feature 1 (an Inception-like scale, so KID's cubic kernel ``(x·y/d + 1)³`` is well behaved).
* **Input.** ``uint8`` single-channel images of any square size are area-resized to 8 px and
  scaled to ``[0, 1]`` (:func:`classifier_input`). A C-channel image is classified channel by
  channel.
* **Modes.** A sample's mode is the tuple of its channels' classes (one digit: 10 modes; three:
  the 1000 triples ``100·c₀ + 10·c₁ + c₂``). A mode is *covered* if at least one sample lands
  on it. ``reverse_kl`` is KL(p_gen ‖ uniform over all K modes) = ``Σ_k p_k log(K p_k)`` with
  ``0·log 0 = 0`` (no ε needed: the uniform side is never 0); one mode gives ``log K``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.io import cache_dir

Tensor = torch.Tensor

VERSION = 1
MIN_ACCURACY = 0.95
#: the classifier's input side (sklearn's digits are 8×8)
INPUT_SIZE = 8
FEATURE_DIM = 128
TRAIN_SEED = 1234
EPOCHS = 20
BATCH = 64
LR = 2e-3
#: sizes whose round trip (up, uint8, area down) augments the training set
ROUND_TRIP_SIZES = (16, 32)

_LOCK = threading.Lock()
_LOADED: dict[str, "DigitClassifier"] = {}


def classifier_path() -> Path:
    """Where the cached classifier lives."""
    return cache_dir() / f"digits_classifier_v{VERSION}.pt"


class DigitClassifier(nn.Module):
    """``[N, 1, 8, 8]`` in ``[0, 1]`` → 10 logits; :meth:`features` gives the 128-d
    penultimate activations (after ReLU) used as FID features."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, FEATURE_DIM)
        self.out = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: Tensor) -> Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc(x.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.features(x))

    def fid_features(self, x: Tensor) -> Tensor:
        """Penultimate features scaled by the stored ``feature_scale``."""
        return self.features(x) * float(getattr(self, "info", {}).get("feature_scale", 1.0))


def classifier_input(images: Tensor) -> Tensor:
    """``uint8 [N, h, w]`` or ``[N, 1, h, w]`` square images → ``float [N, 1, 8, 8]`` in [0, 1]."""
    x = images.reshape(len(images), 1, images.shape[-2], images.shape[-1]).to(torch.float32) / 255.0
    if x.shape[-1] != INPUT_SIZE:
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="area")
    return x


def _training_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    from ganbench.components.data.images import load_digits_u8, resize_u8

    train_x, train_y = load_digits_u8("train")
    test_x, test_y = load_digits_u8("test")
    xs = [classifier_input(train_x)]
    for size in ROUND_TRIP_SIZES:
        xs.append(classifier_input(resize_u8(train_x, size)))
    return torch.cat(xs), train_y.repeat(len(xs)), classifier_input(test_x), test_y


def accuracy(model: DigitClassifier, x: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_classifier() -> tuple[DigitClassifier, dict[str, Any]]:
    """Train the classifier deterministically; returns it and its info (accuracy, sizes)."""
    x, y, tx, ty = _training_data()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(TRAIN_SEED)
            model = DigitClassifier()
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
            gen = torch.Generator().manual_seed(TRAIN_SEED)
            for _ in range(EPOCHS):
                perm = torch.randperm(len(x), generator=gen)
                for i in range(0, len(x), BATCH):
                    idx = perm[i:i + BATCH]
                    loss = F.cross_entropy(model(x[idx]), y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                sched.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    with torch.no_grad():
        rms = float(model.features(x[: len(y) // (1 + len(ROUND_TRIP_SIZES))]).square().mean().sqrt())
    info = {"version": VERSION, "accuracy": accuracy(model, tx, ty), "feature_scale": 1.0 / rms, "n_train": int(len(y) // (1 + len(ROUND_TRIP_SIZES))),
            "n_test": int(len(ty)), "epochs": EPOCHS, "seed": TRAIN_SEED}
    return model, info


def _save(model: DigitClassifier, info: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    torch.save({"state_dict": model.state_dict(), "info": info}, tmp)
    os.replace(tmp, path)


def load_classifier(path: str | Path | None = None, device: str | torch.device = "cpu") -> DigitClassifier:
    """The cached classifier (trained and cached on first use), in eval mode on ``device``.

    Args:
        path: a classifier file written by this module (default :func:`classifier_path`).
        device: where to put it.
    Raises:
        RuntimeError: if the stored held-out accuracy is below :data:`MIN_ACCURACY`.
    """
    path = Path(path) if path is not None else classifier_path()
    key = f"{path}|{device}"
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        if not path.is_file():
            if path != classifier_path():
                raise FileNotFoundError(f"digit classifier weights {path} do not exist")
            model, info = train_classifier()
            _save(model, info, path)
        blob = torch.load(path, map_location="cpu", weights_only=True)
        info = blob["info"]
        if float(info["accuracy"]) < MIN_ACCURACY:
            raise RuntimeError(f"the digit classifier at {path} has held-out accuracy "
                               f"{info['accuracy']:.3f} < {MIN_ACCURACY}; delete it to retrain")
        model = DigitClassifier()
        model.load_state_dict(blob["state_dict"])
        model.info = dict(info, path=str(path))  # type: ignore[attr-defined]
        model.requires_grad_(False).eval().to(device)
        _LOADED[key] = model
        return model


def classifier_info() -> dict[str, Any]:
    """The classifier's protocol facts for the manifest (trains and caches it if needed)."""
    model = load_classifier()
    info = dict(model.info)  # type: ignore[attr-defined]
    info.update({"architecture": "conv3x3(16)-relu-conv3x3(32)-relu-maxpool2-fc(128)-relu-fc(10)",
                 "input": "each channel area-resized to 8x8, scaled to [0, 1]",
                 "train_data": "sklearn digits, fixed 75% split, plus round trips through 16 and 32 px",
                 "min_accuracy": MIN_ACCURACY})
    return info


@torch.no_grad()
def classify(images: Tensor, model: DigitClassifier | None = None, batch: int = 8192) -> Tensor:
    """Digit classes ``[N, C]`` (int64) of ``uint8 [N, C, H, W]`` images, channel by channel."""
    model = model or load_classifier()
    dev = next(model.parameters()).device
    n, c = images.shape[:2]
    flat = images.reshape(n * c, images.shape[-2], images.shape[-1])
    out = torch.empty(n * c, dtype=torch.int64)
    for i in range(0, n * c, batch):
        out[i:i + batch] = model(classifier_input(flat[i:i + batch].to(dev))).argmax(1).cpu()
    return out.reshape(n, c)


def mode_index(labels: Tensor | np.ndarray) -> np.ndarray:
    """Mode of each sample from its per-channel classes ``[N, C]``: ``Σ_c label_c·10^(C-1-c)``."""
    lab = np.asarray(labels, dtype=np.int64)
    weights = 10 ** np.arange(lab.shape[1] - 1, -1, -1)
    return lab @ weights


def mode_metrics(labels: Tensor | np.ndarray) -> dict[str, Any]:
    """Modes covered, K, KL(p_gen ‖ uniform over K) and the histogram, from ``[N, C]`` classes."""
    lab = np.asarray(labels, dtype=np.int64)
    k = 10 ** lab.shape[1]
    counts = np.bincount(mode_index(lab), minlength=k)
    total = counts.sum()
    if total == 0:
        return {"modes_covered": 0, "modes_total": k, "reverse_kl": float("nan"), "mode_hist": counts}
    p = counts / total
    nz = p > 0
    return {"modes_covered": int(nz.sum()), "modes_total": k,
            "reverse_kl": float(np.sum(p[nz] * np.log(k * p[nz]))), "mode_hist": counts}
