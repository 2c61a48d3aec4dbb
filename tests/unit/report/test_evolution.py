"""The Training evolution section: the strip, the players' data and their size budget, read
from a synthetic run folder's ``evolution/`` files (see ``test_report._write_evolution``)."""

from __future__ import annotations

import base64
import html as htmllib
import json
import re

import numpy as np
import pytest

from ganbench.report import evolution
from ganbench.report.plots import even_indices
from ganbench.report.evolution import (MISSING, extent, image_player, point_player, quantise,
                                       read_evolution)
from tests.unit.report.test_report import (BASELINE, EVOLUTION_STEPS, RING_CENTRES, built,  # noqa: F401
                                           evolution_points)


@pytest.mark.parametrize("n, k, expected", [
    (4, 8, [0, 1, 2, 3]), (10, 3, [0, 4, 9]), (1, 5, [0]), (0, 5, []), (101, 41, None)])
def test_even_indices(n, k, expected):
    idx = even_indices(n, k)
    if expected is not None:
        assert idx.tolist() == expected
    else:
        assert len(idx) == 41 and idx[0] == 0 and idx[-1] == 100 and np.all(np.diff(idx) > 0)


def test_extent_pads_the_centres_span():
    assert extent(np.asarray(RING_CENTRES)) == pytest.approx((-3.0, 3.0))  # span 4, pad 1
    grid = np.array([[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], float)
    assert extent(grid) == pytest.approx((-6.0, 6.0))  # span 8, pad 2
    assert extent(np.zeros((0, 2))) == (-3.0, 3.0)


def test_quantise_by_hand():
    pts = np.array([[-3.0, 3.0], [0.0, 1.5], [9.0, -9.0], [np.nan, 0.0], [np.inf, 1.0]])
    q = quantise(pts, -3.0, 3.0)
    # 0 → 127 (254 / 2), 1.5 → 190.5 → 190 (round half to even), outside → the edges
    assert q.tolist() == [[0, 254], [127, 190], [254, 0], [MISSING, MISSING], [MISSING, MISSING]]
    assert q.dtype == np.uint8


def test_point_player_frames_decode_to_the_quantised_samples():
    steps = np.arange(1, 61) * 10
    seeds = {s: np.random.default_rng(s).normal(size=(60, 512, 2)).astype(np.float32)
             for s in range(12)}
    p = point_player("p", "c", evolution.Evolution(steps, seeds), np.asarray(RING_CENTRES))
    meta = json.loads(p["meta"])
    idx = even_indices(60, evolution.MAX_FRAMES)
    assert meta["steps"] == steps[idx].tolist() and len(meta["steps"]) == 41
    assert meta["seeds"] == list(range(evolution.MAX_SEEDS)) and meta["points"] == evolution.POINTS
    raw = np.frombuffer(base64.b64decode(p["frames"]), np.uint8).reshape(41, 10, 256, 2)
    np.testing.assert_array_equal(raw[5, 3], quantise(seeds[3][idx[5], :256], -3.0, 3.0))
    assert p["bytes"] == len(p["frames"]) <= evolution.BUDGET_BYTES


def test_image_player_drops_frames_to_fit_the_budget(monkeypatch):
    rng = np.random.default_rng(0)  # noise compresses badly: every frame costs about the same
    grids = [(10 * i, rng.integers(0, 256, (16, 8 * 8), dtype=np.uint8)) for i in range(30)]
    full = image_player("p", "c", grids, (1, 8, 8))
    assert full["n_frames"] == 30 and full["bytes"] <= evolution.BUDGET_BYTES
    monkeypatch.setattr(evolution, "BUDGET_BYTES", full["bytes"] // 3)
    small = image_player("p", "c", grids, (1, 8, 8))
    meta = json.loads(small["meta"])
    assert 2 <= small["n_frames"] < 30 and small["bytes"] <= full["bytes"] // 3
    assert meta["steps"][0] == 0 and meta["steps"][-1] == 290  # first and last kept
    assert all(u.startswith("data:image/png;base64,") for u in meta["frames"])
    assert image_player("p", "c", [], (1, 8, 8)) is None
    # CIFAR-size noise (about 60 kB per frame): 30 frames do not fit 2 MB, so some are dropped
    big = [(10 * i, rng.integers(0, 256, (16, 3 * 32 * 32), dtype=np.uint8)) for i in range(30)]
    p = image_player("p", "c", big, (3, 32, 32))
    assert p["n_frames"] < 30 and p["bytes"] <= 2_000_000


def test_read_evolution_warns_on_a_damaged_file(tmp_path):
    (tmp_path / "evolution").mkdir()
    np.savez(tmp_path / "evolution" / "ring__a.npz", steps=np.array([1, 2]),
             seed0=np.zeros((3, 4, 2)))  # 3 frames for 2 steps
    (tmp_path / "evolution" / "ring__b.npz").write_bytes(b"not an npz")
    np.savez(tmp_path / "evolution" / "ring__c.npz", steps=np.array([1, 2]),
             seed0=np.ones((2, 4, 2)), seed3=np.ones((2, 4, 2)))
    warnings: list[str] = []
    out = read_evolution(tmp_path, "ring", ["a", "b", "c", "d"], warnings)
    assert list(out) == ["c"] and list(out["c"].seeds) == [0, 3]
    assert len(warnings) == 2 and "evolution/ring__a.npz" in warnings[0]
    assert read_evolution(tmp_path / "none", "ring", ["a"], []) == {}


def _players(html: str) -> dict[str, tuple[dict, np.ndarray]]:
    out = {}
    for pid, meta, frames in re.findall(
            r'<div class="player" id="([^"]+)" data-kind="points" data-meta="([^"]+)" '
            r'data-frames="([^"]*)">', html):
        m = json.loads(htmllib.unescape(meta))
        raw = np.frombuffer(base64.b64decode(frames), np.uint8)
        out[pid] = (m, raw.reshape(len(m["steps"]), len(m["seeds"]), m["points"], 2))
    return out


def test_report_has_the_evolution_section(built):  # noqa: F811
    run, html = built
    sec = html[html.index('<section id="evolution">'):]
    sec = sec[:sec.index("</section>")]
    assert 'id="fig-evolution-d0-ring"' in sec and "samples over training" in sec
    players = _players(sec)
    assert len(players) == 2  # the two ring combos; the Dirac-GAN keeps no samples
    meta, frames = players["player-d0-ring-0"]
    assert meta["steps"] == EVOLUTION_STEPS and meta["extent"] == [-3.0, 3.0]
    np.testing.assert_allclose(meta["centres"], np.asarray(RING_CENTRES, float), atol=1e-4)
    for t in range(len(EVOLUTION_STEPS)):
        for j, seed in enumerate(meta["seeds"]):
            expected = quantise(evolution_points(BASELINE, seed, t)[:256].astype(np.float32), -3, 3)
            np.testing.assert_array_equal(frames[t, j], expected)
    # the collapsed baseline sits on one mode per frame, and that mode moves (mode hopping)
    centre_of = [tuple(np.median(frames[t, 0], axis=0)) for t in range(len(EVOLUTION_STEPS))]
    assert len(set(centre_of)) == len(EVOLUTION_STEPS)
    assert '<a href="#evolution">Training evolution</a>' in html
