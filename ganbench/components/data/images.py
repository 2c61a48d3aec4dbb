"""Image datasets (kind ``"image"``): digits, stacked digits, torchvision sets and image folders.

**Pixel convention (the one place it is defined).** Images rest in memory as ``uint8`` values
``v ∈ {0, …, 255}`` with shape ``[C, H, W]``. Networks see them flattened channel-major as
``[C·H·W]`` vectors (batches ``[S, B, C·H·W]``, the toy seed-axis convention) and
scaled to ``[-1, 1]`` by ``x = v / 127.5 − 1`` (:func:`to_model`). Generated samples go back with
``v = round((clamp(x, −1, 1) + 1) · 127.5)`` (:func:`to_uint8`; NaN becomes 0), which is what the
digit classifier and torch-fidelity (``uint8 [B, C, H, W]``) receive. The conv generator ends in
``tanh``, so its output already lies in ``[-1, 1]``.

Datasets:

* ``digits``: the 1797 8×8 images of ``sklearn.datasets.load_digits`` (values 0–16 scaled to
  0–255), upsampled bilinearly to ``size`` px. ``split`` selects the fixed train/test split that
  the digit classifier uses (:func:`digits_split`), so ``test`` is its held-out set.
* ``stacked_digits``: 3 channels, each an independently drawn digit image of the pool: 10³ =
  1000 modes (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018).
* ``mnist``, ``fashion_mnist``, ``cifar10``: through torchvision, read from ``root``
  (default ``$GANBENCH_DATA`` or ``<cache>/data``), downloaded only with ``download: true``.
  Missing files are reported at validation time with where to put them.
* ``image_folder``: every PNG/JPEG/BMP/WebP image under ``root``, resized (shorter side) and
  centre-cropped to ``size`` px, as 1 or 3 channels.

Pools are loaded lazily (on the first sample), so describing a dataset (the manifest) never
reads or downloads anything. Sampling draws indices with one ``torch.Generator`` per seed, so
seed ``s`` of an S-seed trial sees exactly the data stream of a 1-seed trial with seed ``s``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, field_validator, model_validator

from ganbench.components.data.toy import DATASETS, Params

Tensor = torch.Tensor

#: What the report and the manifest say about pixels.
PIXEL_CONVENTION = ("uint8 v in [0, 255] at rest; networks see x = v/127.5 - 1 in [-1, 1], "
                    "flattened channel-major [C*H*W]; samples return as round((clamp(x,-1,1)+1)*127.5)")
#: Fixed split of sklearn's digits shared by the ``digits`` datasets and the digit classifier.
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.25
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class DatasetUnavailable(RuntimeError):
    """An image dataset's files are missing or cannot be read; the message says how to fix it."""


# --------------------------------------------------------------------------- pixel convention
def to_model(u8: Tensor) -> Tensor:
    """``uint8`` images (any shape) → float32 in ``[-1, 1]``."""
    return u8.to(torch.float32) / 127.5 - 1.0


def to_uint8(x: Tensor) -> Tensor:
    """Model-space images (any shape, float) → ``uint8``; NaN → 0, values clamped to [-1, 1]."""
    x = torch.nan_to_num(x.detach().to(torch.float32), nan=-1.0, posinf=1.0, neginf=-1.0)
    return ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


def resize_u8(images: Tensor, size: int) -> Tensor:
    """Resize ``uint8 [N, C, h, w]`` square images to ``size`` px: bilinear upsampling, area
    downsampling (anti-aliased), identity at the same size."""
    h = images.shape[-1]
    if h == size and images.shape[-2] == size:
        return images
    x = images.to(torch.float32)
    mode = "bilinear" if size > h else "area"
    kw = {"align_corners": False} if mode == "bilinear" else {}
    out = F.interpolate(x, size=(size, size), mode=mode, **kw)
    return out.round().clamp(0, 255).to(torch.uint8)


def default_data_root() -> Path:
    """``$GANBENCH_DATA``, else ``<GANBENCH_CACHE or ~/.cache/ganbench>/data``."""
    env = os.environ.get("GANBENCH_DATA")
    if env:
        return Path(env).expanduser()
    from ganbench.io import cache_dir

    return cache_dir() / "data"


# --------------------------------------------------------------------------- base class
def _check_size(v: int | None) -> int | None:
    if v is not None and (v < 8 or v % 2):
        raise ValueError("size must be an even number of pixels, at least 8 (the conv nets halve it)")
    return v


class ImageDataset:
    """A pool of ``uint8`` images sampled uniformly with replacement.

    Attributes:
        kind: ``"image"``.
        shape: ``(C, H, W)``.
        dim: ``C·H·W``, the flattened sample size.
        n_modes: number of labelled modes the digit classifier can count (10 for ``digits``,
            1000 for ``stacked_digits``, 0 where there is no classifier).
        digits_per_sample: channels classified separately for mode counting (0: none).
    """

    kind: ClassVar[str] = "image"
    Params: ClassVar[type[Params]]
    source: ClassVar[str] = ""
    n_modes: int = 0
    digits_per_sample: int = 0

    def __init__(self, params: Params, shape: tuple[int, int, int]):
        self.params = params
        self.shape = tuple(int(s) for s in shape)
        self.dim = int(np.prod(self.shape))
        self._pool: Tensor | None = None  # uint8 [N, dim] (or [N, H·W] for stacked)
        self._pool_on: dict[str, Tensor] = {}
        # toy-dataset attributes some generic code reads
        self.std = float("nan")
        self.centres = np.zeros((0, 2))

    # subclasses implement
    def load(self) -> Tensor:
        """The pool as ``uint8 [N, C, H, W]``."""
        raise NotImplementedError

    @property
    def pool(self) -> Tensor:
        if self._pool is None:
            imgs = self.load()
            self._pool = imgs.reshape(len(imgs), -1).contiguous()
        return self._pool

    def pool_on(self, device: torch.device) -> Tensor:
        key = str(device)
        if key not in self._pool_on:
            self._pool_on[key] = self.pool.to(device)
        return self._pool_on[key]

    def sample_into(self, out: Tensor, gen: torch.Generator) -> Tensor:
        """Fill ``out`` (``[B, dim]`` float) with images in ``[-1, 1]`` drawn with ``gen``."""
        pool = self.pool_on(out.device)
        idx = torch.randint(len(pool), (out.shape[0],), generator=gen, device=out.device)
        out.copy_(pool[idx])
        return out.div_(127.5).sub_(1.0)

    def sample_seeds_into(self, out: Tensor, gens: Sequence[torch.Generator]) -> Tensor:
        """Fill ``out`` (``[S, B, dim]``), slice ``s`` drawn with ``gens[s]``."""
        for s, gen in enumerate(gens):
            self.sample_into(out[s], gen)
        return out

    def sample(self, n: int, seed: int, device: str | torch.device = "cpu") -> Tensor:
        """``n`` samples (``[n, dim]`` float in ``[-1, 1]``) from a generator seeded with ``seed``."""
        gen = torch.Generator(device=device).manual_seed(int(seed))
        return self.sample_into(torch.empty(n, self.dim, device=device), gen)

    def sample_uint8(self, n: int, seed: int) -> Tensor:
        """``n`` samples as ``uint8 [n, C, H, W]`` (for torch-fidelity's real reference)."""
        return to_uint8(self.sample(n, seed)).reshape(n, *self.shape)

    def protocol(self) -> dict[str, Any]:
        """What the report's Methods section and the manifest record about this dataset."""
        return {"kind": self.kind, "dim": self.dim, "shape": list(self.shape), "centres": [],
                "std": None, "modes": self.n_modes or None, "pixels": PIXEL_CONVENTION,
                "source": self.source, "params": self.params.model_dump()}


# --------------------------------------------------------------------------- digits
def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """The fixed (train, test) index split of sklearn's 1797 digits (25 % held out)."""
    n = 1797
    perm = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(n)
    n_test = int(round(DIGITS_TEST_FRACTION * n))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def load_digits_u8(split: str = "all") -> tuple[Tensor, Tensor]:
    """sklearn's digits as ``uint8 [N, 1, 8, 8]`` (0–16 scaled to 0–255) and labels ``[N]``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.as_tensor(np.round(d.images * (255.0 / 16.0)), dtype=torch.uint8).unsqueeze(1)
    labels = torch.as_tensor(d.target, dtype=torch.int64)
    if split != "all":
        train, test = digits_split()
        idx = torch.as_tensor(train if split == "train" else test)
        images, labels = images[idx], labels[idx]
    return images, labels


class DigitsParams(Params):
    size: int = Field(16, le=64, description="image side in pixels (8 = native; bilinear upsampling)")
    split: Literal["all", "train", "test"] = Field(
        "all", description="which part of the fixed split the pool holds (test = the classifier's held-out digits)")
    mode_samples: int = Field(5000, gt=0, le=1_000_000, description="generated samples classified for mode counting")

    @field_validator("size")
    @classmethod
    def _size(cls, v):
        return _check_size(v)


@DATASETS.register("digits", "sklearn's 1797 8×8 digits, upsampled (default 16 px); 10 modes counted by the digit classifier")
class Digits(ImageDataset):
    Params = DigitsParams
    source = "sklearn.datasets.load_digits (1797 images, 8x8, 16 grey levels)"
    n_modes = 10
    digits_per_sample = 1

    def __init__(self, params: DigitsParams):
        super().__init__(params, (1, params.size, params.size))

    def load(self) -> Tensor:
        images, self.labels = load_digits_u8(self.params.split)
        return resize_u8(images, self.params.size)


class StackedDigitsParams(DigitsParams):
    mode_samples: int = Field(26_000, gt=0, le=1_000_000,
                              description="generated samples classified for mode counting (default 26 000)")


@DATASETS.register("stacked_digits", "3 channels, each an independent sklearn digit: 1000 modes (Stacked-MNIST protocol), default 16 px")
class StackedDigits(ImageDataset):
    """Each sample stacks three independently drawn digit images into its channels; the mode
    of a sample is the triple of digit classes (``100·c₀ + 10·c₁ + c₂``)."""

    Params = StackedDigitsParams
    source = "sklearn.datasets.load_digits, 3 independent draws stacked as channels"
    n_modes = 1000
    digits_per_sample = 3

    def __init__(self, params: StackedDigitsParams):
        super().__init__(params, (3, params.size, params.size))

    def load(self) -> Tensor:
        images, self.labels = load_digits_u8(self.params.split)
        return resize_u8(images, self.params.size)  # [N, 1, H, W]: one channel per draw

    def sample_into(self, out: Tensor, gen: torch.Generator) -> Tensor:
        pool = self.pool_on(out.device)  # [N, H·W]
        b = out.shape[0]
        idx = torch.randint(len(pool), (b, 3), generator=gen, device=out.device)
        out.view(b, 3, -1).copy_(pool[idx])
        return out.div_(127.5).sub_(1.0)


# --------------------------------------------------------------------------- torchvision
class TorchvisionParams(Params):
    root: str | None = Field(None, description="dataset root (default: $GANBENCH_DATA or <cache>/data)")
    download: bool = Field(False, description="let torchvision download missing files (needs internet)")
    train: bool = Field(True, description="the training split (false: the test split)")
    size: int | None = Field(None, le=256, description="resize to size px (default: native)")
    limit: int | None = Field(None, gt=0, description="use only the first `limit` images")

    @field_validator("size")
    @classmethod
    def _size(cls, v):
        return _check_size(v)

    @model_validator(mode="after")
    def _files_present(self):
        """Offline without the files: say where to put them (at validation, not mid-run)."""
        if not self.download:
            problem = TV_SPECS[self.dataset_name]["missing"](self.root_path(), self.train)
            if problem:
                raise ValueError(problem)
        return self

    dataset_name: ClassVar[str] = ""

    def root_path(self) -> Path:
        return Path(self.root).expanduser() if self.root else default_data_root()


def _mnist_missing(folder: str, mirror: str):
    def check(root: Path, train: bool) -> str | None:
        raw = root / folder / "raw"
        stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        missing = [s for s in stems if not (raw / s).is_file() and not (raw / f"{s}.gz").is_file()]
        if not missing:
            return None
        return (f"{folder} files not found: put {', '.join(s + '.gz' for s in missing)} (idx ubyte, "
                f"gzipped or not; from {mirror}) into {raw}/, set root to the folder holding "
                f"{folder}/raw/, or set download: true on a machine with internet")
    return check


def _cifar_missing(root: Path, train: bool) -> str | None:
    if (root / "cifar-10-batches-py" / "batches.meta").is_file() or (root / "cifar-10-python.tar.gz").is_file():
        return None
    return (f"CIFAR-10 files not found: put cifar-10-python.tar.gz (from "
            f"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz) into {root}/ or extract it "
            f"there so that {root}/cifar-10-batches-py/ exists, set root to the folder holding it, "
            "or set download: true on a machine with internet")


TV_SPECS: dict[str, dict[str, Any]] = {
    "mnist": {"cls": "MNIST", "shape": (1, 28, 28),
              "missing": _mnist_missing("MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/")},
    "fashion_mnist": {"cls": "FashionMNIST", "shape": (1, 28, 28),
                      "missing": _mnist_missing("FashionMNIST",
                                                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")},
    "cifar10": {"cls": "CIFAR10", "shape": (3, 32, 32), "missing": _cifar_missing},
}


def _gunzip_raw(raw: Path) -> None:
    """Decompress ``*.gz`` idx files that have no uncompressed twin (torchvision reads only those)."""
    if not raw.is_dir():
        return
    for gz in raw.glob("*-ubyte.gz"):
        target = gz.with_suffix("")
        if not target.is_file():
            tmp = target.with_name(target.name + ".part")
            with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, target)


class TorchvisionDataset(ImageDataset):
    """MNIST / FashionMNIST / CIFAR-10 through torchvision, as a ``uint8`` pool."""

    tv_name: ClassVar[str] = ""

    def __init__(self, params: TorchvisionParams):
        spec = TV_SPECS[self.tv_name]
        c, h, w = spec["shape"]
        size = params.size or h
        super().__init__(params, (c, size, size))

    @property
    def source(self) -> str:  # type: ignore[override]
        p = self.params
        return f"torchvision.datasets.{TV_SPECS[self.tv_name]['cls']}(root={p.root_path()}, train={p.train})"

    def load(self) -> Tensor:
        import torchvision

        p = self.params
        root = p.root_path()
        spec = TV_SPECS[self.tv_name]
        if spec["cls"] in ("MNIST", "FashionMNIST"):
            _gunzip_raw(root / spec["cls"] / "raw")
        elif not (root / "cifar-10-batches-py").is_dir() and (root / "cifar-10-python.tar.gz").is_file():
            with tarfile.open(root / "cifar-10-python.tar.gz") as tar:
                tar.extractall(root, filter="data")
        cls = getattr(torchvision.datasets, spec["cls"])
        try:
            ds = cls(str(root), train=p.train, download=p.download)
        except Exception as exc:  # noqa: BLE001 - torchvision raises RuntimeError/URLError/OSError
            hint = spec["missing"](root, p.train) or f"the files under {root} could not be read"
            raise DatasetUnavailable(f"{self.tv_name}: {hint} ({type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        data = torch.as_tensor(np.asarray(ds.data))
        if data.dim() == 3:  # MNIST-style [N, H, W]
            data = data.unsqueeze(1)
        else:  # CIFAR [N, H, W, C]
            data = data.permute(0, 3, 1, 2)
        if p.limit is not None:
            data = data[: p.limit]
        return resize_u8(data.contiguous().to(torch.uint8), self.shape[-1])


def _register_tv(name: str, description: str) -> None:
    params_cls = type(f"{TV_SPECS[name]['cls']}Params", (TorchvisionParams,), {"dataset_name": name})
    cls = type(TV_SPECS[name]["cls"], (TorchvisionDataset,), {"Params": params_cls, "tv_name": name})
    DATASETS.add(name, cls, description)


_register_tv("mnist", "MNIST through torchvision (root, download: false by default), 28 px grey")
_register_tv("fashion_mnist", "Fashion-MNIST through torchvision (root, download: false by default), 28 px grey")
_register_tv("cifar10", "CIFAR-10 through torchvision (root, download: false by default), 32 px RGB")


# --------------------------------------------------------------------------- image folder
class ImageFolderParams(Params):
    root: str = Field(description="folder holding the images (searched recursively)")
    size: int = Field(32, le=512, description="side in px: shorter side resized, then centre-cropped")
    channels: Literal[1, 3] = Field(3, description="1: greyscale, 3: RGB")
    limit: int | None = Field(None, gt=0, description="use only the first `limit` images (sorted by path)")

    @field_validator("size")
    @classmethod
    def _size(cls, v):
        return _check_size(v)

    @model_validator(mode="after")
    def _has_images(self):
        root = Path(self.root).expanduser()
        if not root.is_dir():
            raise ValueError(f"image folder {root} does not exist")
        if not any(True for _ in _image_files(root)):
            raise ValueError(f"image folder {root} holds no {'/'.join(IMAGE_EXTENSIONS)} files")
        return self


def _image_files(root: Path):
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
            yield p


@DATASETS.register("image_folder", "every PNG/JPEG/BMP/WebP under root, resized and centre-cropped to size px (default 32, RGB)")
class ImageFolder(ImageDataset):
    Params = ImageFolderParams

    def __init__(self, params: ImageFolderParams):
        super().__init__(params, (params.channels, params.size, params.size))

    @property
    def source(self) -> str:  # type: ignore[override]
        return f"image folder {Path(self.params.root).expanduser()}"

    def load(self) -> Tensor:
        from PIL import Image

        p = self.params
        files = list(_image_files(Path(p.root).expanduser()))
        if p.limit is not None:
            files = files[: p.limit]
        out = torch.empty(len(files), p.channels, p.size, p.size, dtype=torch.uint8)
        for i, f in enumerate(files):
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if p.channels == 1 else "RGB")
                    w, h = im.size
                    scale = p.size / min(w, h)
                    im = im.resize((max(p.size, round(w * scale)), max(p.size, round(h * scale))),
                                   Image.BICUBIC)
                    w, h = im.size
                    left, top = (w - p.size) // 2, (h - p.size) // 2
                    im = im.crop((left, top, left + p.size, top + p.size))
                    arr = np.array(im, dtype=np.uint8)
            except Exception as exc:  # noqa: BLE001
                raise DatasetUnavailable(f"image_folder: cannot read {f} ({type(exc).__name__}: {exc})") from None
            out[i] = torch.as_tensor(arr.reshape(p.size, p.size, p.channels)).permute(2, 0, 1)
        return out
