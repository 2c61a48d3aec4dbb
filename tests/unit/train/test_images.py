"""Image datasets (ganbench.components.data.images), conv nets (ganbench.components.nets.conv), their validation,
and one tiny image run end to end through Ray."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ganbench.components.data.images import DatasetUnavailable, to_model, to_uint8
from ganbench.components.data.toy import DATASETS
from ganbench.components.nets.conv import SeededConvDiscriminator, SeededConvGenerator, conv_plan
from ganbench.components.remedies import REMEDIES
from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import Trainer
from ganbench.config.yamlio import SuiteError

IMAGE_SETS = ["digits", "stacked_digits", "mnist", "fashion_mnist", "cifar10", "image_folder"]


def make(name: str, **params):
    cls = DATASETS.get(name)
    return cls(cls.Params.model_validate(params))


# ------------------------------------------------------------------------------- registry / CLI
def test_image_datasets_are_registered_and_listed():
    from typer.testing import CliRunner

    from ganbench.cli import app

    for name in IMAGE_SETS:
        assert DATASETS.get(name).kind == "image"
    out = CliRunner().invoke(app, ["list"]).output
    for name in IMAGE_SETS:
        assert f"  {name} " in out


# ------------------------------------------------------------------------------- pixels / digits
def test_pixel_convention_round_trips():
    u8 = torch.arange(256, dtype=torch.uint8)
    x = to_model(u8)
    assert x.min() == -1 and x.max() == 1
    assert torch.equal(to_uint8(x), u8)
    assert to_uint8(torch.tensor([float("nan"), 5.0, -5.0])).tolist() == [0, 255, 0]


def test_stacked_digits_sampling():
    ds = make("stacked_digits", size=16)
    assert ds.shape == (3, 16, 16) and ds.dim == 768 and ds.n_modes == 1000
    x = ds.sample(64, seed=1)
    assert x.shape == (64, 768) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, ds.sample(64, seed=1)) and not torch.equal(x, ds.sample(64, seed=2))
    img = x.reshape(64, 3, 16, 16)
    assert not torch.equal(img[:, 0], img[:, 1])  # channels are independent draws
    gen = torch.Generator().manual_seed(1)
    out = torch.empty(64, 768)
    assert torch.equal(ds.sample_into(out, gen), x)
    assert ds.sample_uint8(8, 3).dtype == torch.uint8


def test_digits_split_and_size():
    train, test = make("digits", size=8, split="train"), make("digits", size=32, split="test")
    assert len(train.pool) == 1348 and len(test.pool) == 449
    assert test.shape == (1, 32, 32)
    assert make("digits").shape == (1, 16, 16)
    with pytest.raises(Exception, match="even number of pixels"):
        make("digits", size=9)


def test_protocol_describes_without_loading():
    ds = make("stacked_digits")
    p = ds.protocol()
    assert p["kind"] == "image" and p["shape"] == [3, 16, 16] and p["modes"] == 1000
    assert "127.5" in p["pixels"] and ds._pool is None


# ------------------------------------------------------------------------------- torchvision
def _idx_images(n: int, h: int = 28) -> bytes:
    data = (np.arange(n * h * h) % 251).astype(np.uint8)
    return struct.pack(">IIII", 2051, n, h, h) + data.tobytes()


def _idx_labels(n: int) -> bytes:
    return struct.pack(">II", 2049, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()


def write_mnist(root: Path, folder: str, gz: bool, n_train: int = 12, n_test: int = 5) -> None:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    files = {"train-images-idx3-ubyte": _idx_images(n_train), "train-labels-idx1-ubyte": _idx_labels(n_train),
             "t10k-images-idx3-ubyte": _idx_images(n_test), "t10k-labels-idx1-ubyte": _idx_labels(n_test)}
    for name, blob in files.items():
        if gz:
            with gzip.open(raw / f"{name}.gz", "wb") as f:
                f.write(blob)
        else:
            (raw / name).write_bytes(blob)


@pytest.mark.parametrize("name,folder,gz", [("mnist", "MNIST", False), ("mnist", "MNIST", True),
                                            ("fashion_mnist", "FashionMNIST", True)])
def test_torchvision_loaders_read_idx_files(tmp_path, name, folder, gz):
    write_mnist(tmp_path, folder, gz)
    ds = make(name, root=str(tmp_path))
    assert ds.shape == (1, 28, 28)
    assert ds.pool.shape == (12, 784) and ds.pool.dtype == torch.uint8
    assert ds.pool[0, :5].tolist() == [0, 1, 2, 3, 4]  # the bytes the test wrote, unchanged
    x = ds.sample(7, seed=0)
    assert x.shape == (7, 784) and x.min() >= -1 and x.max() <= 1
    test_split = make(name, root=str(tmp_path), train=False, size=16, limit=3)
    assert test_split.pool.shape == (3, 256)


def test_missing_mnist_says_where_to_put_the_files(tmp_path):
    text = f"""\
name: m
datasets:
  mnist: {{root: {tmp_path}}}
combos: {{a: {{loss: non_saturating}}}}
"""
    with pytest.raises(SuiteError) as err:
        parse_suite(text)
    msg = str(err.value)
    assert "datasets.mnist (line 3)" in msg
    assert f"{tmp_path}/MNIST/raw/" in msg and "train-images-idx3-ubyte.gz" in msg
    assert "download: true" in msg
    suite = tmp_path / "s.yaml"
    suite.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "ganbench", "validate", str(suite)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "MNIST/raw" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision

    def offline(self, *a, **k):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: <urlopen error no network>")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    ds = make("mnist", root=str(tmp_path), download=True)
    with pytest.raises(DatasetUnavailable, match=r"put .*train-images-idx3-ubyte.gz.* into"):
        ds.pool


# ------------------------------------------------------------------------------- image folder
def test_image_folder_reads_pngs(tmp_path):
    from PIL import Image

    (tmp_path / "sub").mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        arr = rng.integers(0, 256, size=(20 + i, 30, 3), dtype=np.uint8)
        Image.fromarray(arr).save(tmp_path / ("sub" if i % 2 else ".") / f"im{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    rgb = make("image_folder", root=str(tmp_path), size=16)
    assert rgb.shape == (3, 16, 16) and rgb.pool.shape == (5, 768)
    grey = make("image_folder", root=str(tmp_path), size=8, channels=1, limit=2)
    assert grey.pool.shape == (2, 64)
    # a flat image stays flat through resize and crop
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.full((10, 12, 3), 200, dtype=np.uint8)).save(flat / "a.png")
    assert (make("image_folder", root=str(flat), size=8).pool == 200).all()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="holds no"):
        make("image_folder", root=str(empty))
    with pytest.raises(Exception, match="does not exist"):
        make("image_folder", root=str(tmp_path / "missing"))


# ------------------------------------------------------------------------------- conv nets
@pytest.mark.parametrize("size,plan", [(8, (4, 1)), (16, (4, 2)), (28, (7, 2)), (32, (4, 3))])
def test_conv_shapes(size, plan):
    assert conv_plan(size) == plan
    relu = torch.relu
    G = SeededConvGenerator(10, (3, size, size), 8, [0, 1], relu)
    D = SeededConvDiscriminator((3, size, size), 4, [0, 1], relu, in_multiplier=2)
    x = G(torch.randn(2, 5, 10))
    assert x.shape == (2, 5, 3 * size * size) and x.abs().max() <= 1
    assert D(torch.randn(2, 3, 2 * 3 * size * size)).shape == (2, 3, 1)
    for p in list(G.parameters()) + list(D.parameters()):
        assert p.shape[0] == 2  # every parameter carries the seed axis


CONV_SUITE = """\
name: t
seeds: 3
budget: {steps: 4, eval_every: 4, log_every: 2}
datasets: {stacked_digits: {size: 8, mode_samples: 200}}
model: {generator: {z_dim: 8}, conv: {width_g: 8, width_d: 4}}
optimizer: {name: adam, lr: 2.0e-4, batch_size: 8}
fidelity: {samples: 60, kid_subset_size: 20, kid_subsets: 2}
device: cpu
combos:
  c: {loss: LOSS, n_critic: NC, remedies: REMEDIES}
"""


def conv_spec(remedies: str = "{}", loss: str = "non_saturating", n_critic: int = 1):
    text = CONV_SUITE.replace("REMEDIES", remedies).replace("LOSS", loss).replace("NC", str(n_critic))
    return expand(parse_suite(text))[0]


@pytest.mark.parametrize("remedies", ["{}", "{packing: {k: 2}}", "{minibatch_discrimination: {}}",
                                      "{spectral_norm: {generator: true}}", "{unrolled: {steps: 2}}"])
def test_conv_seed_s_of_S_equals_single_seed_run(remedies):
    """Seed axis for conv nets. In float64, so that a real leak between seeds (not float32
    rounding, which Adam amplifies) is what the tolerance would catch."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        spec = conv_spec(remedies)
        multi = Trainer(spec)
        for _ in range(3):
            multi.step()
        for i in (0, 2):
            single_spec = dataclasses.replace(spec, seeds=[spec.seeds[i]])
            single = Trainer(single_spec)
            for _ in range(3):
                single.step()
            for pm, ps in zip(multi.g_params + multi.d_params, single.g_params + single.d_params):
                assert torch.allclose(pm.detach()[i], ps.detach()[0], atol=1e-9, rtol=0), pm.shape
    finally:
        torch.set_default_dtype(default)


REMEDY_SETTINGS = {
    "gradient_penalty": ("{gradient_penalty: {kind: wgan_gp}}", "wasserstein"),
    "weight_clipping": ("{weight_clipping: {}}", "wasserstein"),
    "instance_noise": ("{instance_noise: {}}", "non_saturating"),
    "label_smoothing": ("{label_smoothing: {}}", "non_saturating"),
    "minibatch_discrimination": ("{minibatch_discrimination: {kind: stddev}}", "non_saturating"),
    "packing": ("{packing: {k: 4}}", "non_saturating"),
    "spectral_norm": ("{spectral_norm: {}}", "hinge"),
    "ttur": ("{ttur: {}}", "non_saturating"),
    "unrolled": ("{unrolled: {steps: 1}}", "non_saturating"),
}


@pytest.mark.parametrize("name", sorted(REMEDIES.names()))
def test_every_remedy_trains_conv_nets(name):
    remedies, loss = REMEDY_SETTINGS.get(name, (f"{{{name}: {{}}}}", "non_saturating"))
    tr = Trainer(conv_spec(remedies, loss=loss, n_critic=2))
    before = [p.detach().clone() for p in tr.g_params]
    for _ in range(2):
        tr.step()
    probe = tr.probe()
    assert np.isfinite(probe["d_loss"]).all() and np.isfinite(probe["g_grad_norm"]).all()
    assert any(not torch.equal(a, p.detach()) for a, p in zip(before, tr.g_params))


def test_generate_and_layer_probes():
    tr = Trainer(conv_spec())
    tr.step()
    x = tr.generate(5, step=1)
    assert x.shape == (3, 5, 192) and np.abs(x).max() <= 1
    names = [k for k in tr.probe() if k.startswith(("g_grad_norm.", "d_grad_norm."))]
    assert names == ["g_grad_norm.fc", "g_grad_norm.out", "d_grad_norm.conv0", "d_grad_norm.out"]


def test_image_evaluator_reports_modes_and_fid():
    from ganbench.train.training import train_trial

    res = train_trial(conv_spec())
    row = res.rows[0]
    assert row["modes_total"] == 1000 and 1 <= row["modes_covered"] <= 200
    assert np.isfinite(row["fid"]) and np.isfinite(row["kid_mean"]) and 0 <= row["recall"] <= 1
    evals = [h for h in res.history if "sample_grid" in h]
    assert [h["step"] for h in evals if h["seed"] == 0] == [4]
    assert len(evals[0]["sample_grid"]) == 16 * 192 and len(evals[0]["mode_hist"]) == 1000
    assert res.samples[0].shape == (64, 192)


# ------------------------------------------------------------------------------- validation
def test_conv_on_toy_dataset_is_refused():
    text = """\
name: t
datasets: {ring: {}}
model: {kind: conv}
combos: {a: {loss: non_saturating}}
"""
    with pytest.raises(SuiteError, match="model.kind: conv with dataset ring: conv nets need an image"):
        parse_suite(text)


def test_kid_subset_size_is_checked_against_samples():
    text = """\
name: t
datasets: {digits: {}}
fidelity:
  samples: 500
  kid_subset_size: 1000
combos: {a: {loss: non_saturating}}
"""
    with pytest.raises(SuiteError) as err:
        parse_suite(text)
    assert "fidelity.kid_subset_size (line 5): kid_subset_size 1000 exceeds fidelity.samples 500" in str(err.value)
    parse_suite(text.replace("kid_subset_size: 1000", "kid_subset_size: 500"))
    parse_suite(text.replace("  kid_subset_size: 1000", "  kid: false"))


def test_missing_weights_file_and_unknown_conv_activation():
    text = """\
name: t
datasets: {cifar10: {download: true}}
fidelity: {feature_extractor_weights_path: /nonexistent/inception.pth}
model: {conv: {activation_d: leaky}}
combos: {a: {loss: non_saturating}}
"""
    with pytest.raises(SuiteError) as err:
        parse_suite(text)
    msg = str(err.value)
    assert "fidelity.feature_extractor_weights_path (line 3): no such file" in msg
    assert "model.conv.activation_d (line 4): unknown activation 'leaky'" in msg


# ------------------------------------------------------------------------------- end to end
E2E_SUITE = """\
name: tiny_images
seeds: 2
budget: {steps: 12, eval_every: 6, log_every: 3}
datasets:
  stacked_digits: {size: 8, mode_samples: 500}
model: {generator: {z_dim: 8}, conv: {width_g: 8, width_d: 4}}
optimizer: {name: adam, lr: 2.0e-4, batch_size: 16}
fidelity: {samples: 200, kid_subset_size: 100, kid_subsets: 5}
combos:
  vanilla: {loss: non_saturating}
  pacgan2: {loss: non_saturating, remedies: {packing: {k: 2}}}
"""


@pytest.mark.integration
def test_image_run_through_ray(tmp_path_factory):
    root = tmp_path_factory.mktemp("img")
    suite = root / "images.yaml"
    suite.write_text(E2E_SUITE)
    # Ray's socket paths must stay < 108 bytes: a short folder of its own, not under pytest's
    # numbered temporary folders (whose numbers grow)
    import tempfile

    env = dict(os.environ, RAY_TMPDIR=tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    proc = subprocess.run([sys.executable, "-m", "ganbench", "run", str(suite), "--out",
                           str(root / "run"), "--quiet"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = root / "run"
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 4 and (trials.status == "ok").all()
    assert trials.modes_total.eq(1000).all() and trials.modes_covered.between(1, 500).all()
    for col in ("fid", "kid_mean", "precision", "recall", "reverse_kl"):
        assert trials[col].notna().all(), col
    history = pd.read_parquet(run / "history.parquet")
    evals = history[history.fid.notna()]
    assert sorted(set(evals.step)) == [6, 12]
    assert np.load(run / "samples" / "stacked_digits__pacgan2__seed1.npy").shape == (64, 192)
    manifest = json.loads((run / "manifest.json").read_text())
    images = manifest["protocol"]["images"]
    assert images["digit_classifier_accuracy"] >= 0.95
    assert images["fidelity"]["stacked_digits"]["extractor"] == "digits"
    assert images["fidelity"]["stacked_digits"]["samples_generated"] == 200
    html = (run / "report.html").read_text()
    for fig in ("fig-grids-d0-stacked_digits", "fig-fid-d0-stacked_digits", "fig-modes-d0-stacked_digits",
                "fig-modehist-d0-stacked_digits", "fig-samples-d0-stacked_digits"):
        assert f'id="{fig}"' in html, fig
    assert "Modes covered (of 1000)" in html and "held-out accuracy" in html
    assert 'id="warnings"' not in html
    # the Training evolution section: one image player per combo, a PNG frame per evaluation
    # of the lowest seed's sample grid (from the history: image runs write no evolution/)
    import html as htmllib
    import re

    metas = [json.loads(htmllib.unescape(m)) for m in
             re.findall(r'<div class="player" id="player-d0-stacked_digits-\d" '
                        r'data-kind="images" data-meta="([^"]+)"', html)]
    assert len(metas) == 2 and all(m["steps"] == [6, 12] for m in metas)
    assert all(u.startswith("data:image/png;base64,") for m in metas for u in m["frames"])
    assert not (run / "evolution").exists()
