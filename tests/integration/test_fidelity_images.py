"""FID / KID / precision-recall of images through torch-fidelity (ganbench.train.measures.fidelity)."""

from __future__ import annotations

from unittest import mock
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch_fidelity

from ganbench.train.measures import fidelity as fid_mod
from ganbench.train.measures.fidelity import (FidelityWeightsError, ImageFidelity, calculate_image_metrics,
                                        describe_fidelity, fidelity_cache_root, inception_weights)
from ganbench.components.data.toy import DATASETS


def make(name: str, **params):
    cls = DATASETS.get(name)
    return cls(cls.Params.model_validate(params))


@pytest.fixture(scope="module")
def digit_sets():
    train = make("digits", size=16, split="train")
    test = make("digits", size=16, split="test")
    return train.sample_uint8(600, 1), train.sample_uint8(600, 2), test.sample_uint8(600, 3)


def test_fid_of_a_set_with_itself_is_zero_and_a_shifted_set_is_far(digit_sets):
    a, a2, _ = digit_sets
    same = calculate_image_metrics(a, a, extractor="digits", cfg={"kid": False, "prc": False})
    assert abs(same["fid"]) < 1e-3
    other_draw = calculate_image_metrics(a2, a, extractor="digits", cfg={"kid": False, "prc": False})["fid"]
    shifted = torch.roll(a, shifts=(3, 3), dims=(2, 3))
    far = calculate_image_metrics(shifted, a, extractor="digits", cfg={"kid": False, "prc": False})["fid"]
    assert far > 1.0 and far > 20 * other_draw


def test_real_vs_held_out_and_noise(digit_sets):
    a, _, held_out = digit_sets
    cfg = {"kid_subset_size": 300, "kid_subsets": 10}
    real = calculate_image_metrics(held_out, a, extractor="digits", cfg=cfg)
    noise = torch.randint(0, 256, a.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    bad = calculate_image_metrics(noise, a, extractor="digits", cfg=cfg)
    assert set(real) == {"fid", "kid_mean", "kid_std", "precision", "recall"}
    assert bad["fid"] > 20 * real["fid"]
    assert bad["kid_mean"] > 20 * abs(real["kid_mean"])
    assert bad["recall"] < 0.05 < real["recall"] and bad["precision"] < real["precision"] / 2


def test_torch_fidelity_is_called_with_the_registered_digits_extractor(digit_sets, monkeypatch):
    a, a2, _ = digit_sets
    calls = []
    real_calc = torch_fidelity.calculate_metrics

    def spy(**kwargs):
        calls.append(kwargs)
        return real_calc(**kwargs)

    monkeypatch.setattr(torch_fidelity, "calculate_metrics", spy)
    cls = fid_mod.register_digits_extractor()
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    assert FEATURE_EXTRACTORS_REGISTRY["ganbench-digits"] is cls
    assert issubclass(cls, torch_fidelity.FeatureExtractorBase)
    before = cls.calls
    out = calculate_image_metrics(a2[:200], a[:200], extractor="digits",
                                  cfg={"kid_subset_size": 100, "kid_subsets": 3, "batch_size": 50})
    assert cls.calls - before == 8  # 200 + 200 images in batches of 50
    (kw,) = calls
    assert kw["feature_extractor"] == "ganbench-digits"
    assert kw["cuda"] is False and kw["save_cpu_ram"] is True and kw["verbose"] is False
    assert kw["fid"] and kw["kid"] and kw["prc"] and kw["kid_subset_size"] == 100
    assert np.isfinite(list(out.values())).all()


def test_real_statistics_are_cached_per_dataset_and_extractor(monkeypatch, tmp_path):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))  # an empty cache, also on a second run
    ds = make("stacked_digits", size=8)
    cfg = {"samples": 120, "kid_subset_size": 50, "kid_subsets": 2}
    fid = ImageFidelity(ds, {"name": "stacked_digits", "params": {"size": 8}}, cfg)
    again = ImageFidelity(ds, {"name": "stacked_digits", "params": {"size": 8}}, cfg)
    other = ImageFidelity(ds, {"name": "stacked_digits", "params": {"size": 8}}, {**cfg, "samples": 100})
    assert fid.cache_name == again.cache_name != other.cache_name
    cls = fid_mod.register_digits_extractor()
    fake = make("stacked_digits", size=8).sample_uint8(120, 99)
    n0 = cls.calls
    first = fid(fake)
    n1 = cls.calls
    second = again(fake)
    n2 = cls.calls
    assert first == second
    assert n2 - n1 < n1 - n0  # the second call extracted only the generated images
    cached = list(fidelity_cache_root().glob(f"{fid.cache_name}-ganbench-digits-*"))
    assert any("features" in p.name for p in cached) and any("stat-fid" in p.name for p in cached)


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A state dict of torch-fidelity's FeatureExtractorInceptionV3 with random weights (its own
    structure, built without loading anything)."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None):
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path


def test_inception_reads_offline_weights_from_the_given_path(random_inception_weights, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    # few, tiny images: Inception upsamples each to 299 px, about a second apiece on one core
    images = make("digits", size=8).sample_uint8(5, 0)  # grey: repeated to RGB for Inception
    other = make("digits", size=8).sample_uint8(5, 1)
    out = calculate_image_metrics(images, other, extractor="inception-v3-compat",
                                  weights_path=str(random_inception_weights),
                                  cfg={"kid_subset_size": 4, "kid_subsets": 2, "batch_size": 5})
    assert set(out) == {"fid", "kid_mean", "kid_std", "precision", "recall"}
    assert all(np.isfinite(v) for v in out.values())
    monkeypatch.setenv(fid_mod.INCEPTION_WEIGHTS_ENV, str(random_inception_weights))
    assert inception_weights(None) == str(random_inception_weights)


def test_missing_inception_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(fid_mod.INCEPTION_WEIGHTS_ENV, raising=False)

    def offline(*a, **k):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(FidelityWeightsError) as err:
        inception_weights(None)
    msg = str(err.value)
    assert "no fidelity.feature_extractor_weights_path" in msg and "GANBENCH_INCEPTION_WEIGHTS" in msg
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in msg and "URLError" in msg
    assert "https://github.com/toshas/torch-fidelity/releases" in msg
    with pytest.raises(FidelityWeightsError, match="does not exist"):
        inception_weights(str(tmp_path / "nope.pth"))
    # an image trial with that setting fails when its evaluator is built, before training
    ds = make("image_folder", root=str(_png_folder(tmp_path)), size=8)
    with pytest.raises(FidelityWeightsError):
        ImageFidelity(ds, {"name": "image_folder"}, {"extractor": "auto"})


def _png_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "pngs"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(folder / "a.png")
    return folder


def test_describe_names_extractor_and_counts():
    d = describe_fidelity({"samples": 3000, "kid_subset_size": 500}, make("stacked_digits"))
    assert d["extractor"] == "digits" and d["samples_generated"] == d["samples_real"] == 3000
    assert "128 x 3" in d["features"] and d["kid_subset_size"] == 500
    assert d["torch_fidelity"] == torch_fidelity.__version__
    assert fid_mod.default_extractor(make("mnist", download=True)) == "inception-v3-compat"
