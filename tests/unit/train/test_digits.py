"""The digit classifier and stacked-digit mode counting (ganbench.train.measures.digits)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import ganbench
from ganbench.train.measures import digits
from ganbench.components.data.images import load_digits_u8, resize_u8


@pytest.fixture(scope="module")
def classifier():
    return digits.load_classifier()


def test_held_out_accuracy_at_least_95_percent(classifier):
    info = digits.classifier_info()
    assert info["accuracy"] >= 0.95
    assert info["n_test"] == 449 and info["n_train"] == 1348
    # recomputed independently on the held-out split, at 8 px and after upsampling
    x, y = load_digits_u8("test")
    for size in (8, 16, 32):
        pred = digits.classify(resize_u8(x, size), classifier)[:, 0]
        assert float((pred == y).float().mean()) >= 0.95, size


def test_cached_outside_the_package_and_loaded_weights_only(classifier):
    path = digits.classifier_path()
    assert path.is_file()
    assert Path(os.environ["GANBENCH_CACHE"]) in path.parents
    assert Path(ganbench.__file__).resolve().parent not in path.resolve().parents
    blob = torch.load(path, weights_only=True)
    assert set(blob) == {"state_dict", "info"} and blob["info"]["version"] == digits.VERSION
    assert classifier.info["feature_scale"] > 0


def test_training_is_deterministic(classifier, monkeypatch):
    monkeypatch.setattr(digits, "EPOCHS", 1)
    a, info_a = digits.train_classifier()
    b, info_b = digits.train_classifier()
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert info_a["accuracy"] == info_b["accuracy"]


def test_below_threshold_classifier_is_refused(classifier, tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"state_dict": classifier.state_dict(), "info": dict(classifier.info, accuracy=0.5)}, path)
    with pytest.raises(RuntimeError, match="accuracy 0.500"):
        digits.load_classifier(path)


def test_one_triple_is_one_mode_with_kl_log_1000():
    labels = np.tile([3, 1, 4], (500, 1))
    m = digits.mode_metrics(labels)
    assert m["modes_covered"] == 1 and m["modes_total"] == 1000
    assert m["reverse_kl"] == pytest.approx(math.log(1000), abs=1e-12)
    assert m["mode_hist"][314] == 500 and m["mode_hist"].sum() == 500


def test_all_triples_uniform_give_1000_modes_and_kl_zero():
    triples = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    m = digits.mode_metrics(np.tile(triples, (3, 1)))
    assert m["modes_covered"] == 1000
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_half_the_modes_evenly_gives_log_2():
    triples = np.array([[a, b, c] for a in range(5) for b in range(10) for c in range(10)])
    m = digits.mode_metrics(triples)
    assert m["modes_covered"] == 500
    assert m["reverse_kl"] == pytest.approx(math.log(2), abs=1e-12)


def test_mode_index_is_decimal_triple():
    assert digits.mode_index(np.array([[9, 0, 7], [0, 0, 1]])).tolist() == [907, 1]
    assert digits.mode_index(np.array([[4]])).tolist() == [4]


def test_stacked_channels_are_classified_separately(classifier):
    x, y = load_digits_u8("test")
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(len(x), (300, 3), generator=gen)
    stacked = resize_u8(x[:, 0][idx], 16)  # [300, 3, 16, 16]: channel c is digit idx[:, c]
    pred = digits.classify(stacked, classifier)
    assert pred.shape == (300, 3)
    assert float((pred == y[idx]).float().mean()) >= 0.95
    assert digits.mode_metrics(pred)["modes_covered"] > 200
