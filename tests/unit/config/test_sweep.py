"""Sweeps: validation of the sweep block, application to trial specs, and a real Ray sweep."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

from ganbench.config.suite import expand, parse_suite
from ganbench.config.sweep import Axis, Sweep, apply_to_spec, grid_size, parse_path
from ganbench.config.yamlio import SuiteError

BASE = """\
name: sw
seeds: 2
budget: {steps: 30, eval_every: 30, eval_samples: 200, log_every: 10}
datasets: {ring: {}}
model: {generator: {hidden: [8], z_dim: 4}, discriminator: {hidden: [8]}}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 16}
combos:
  vanilla: {loss: non_saturating}
  ttur: {loss: non_saturating, remedies: {ttur: {lr_d: 4.0e-4, lr_g: 1.0e-4}}}
sweep:
"""


def problems(sweep_text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(SuiteError) as exc:
        parse_suite(BASE + sweep_text)
    return [(p.path, p.line, p.message) for p in exc.value.problems]


@pytest.mark.parametrize("text,path,fragment", [
    ("  optimizer.lr: {loguniform: [-1, 1]}\n", "sweep.optimizer.lr", "low > 0"),
    ("  optimizer.lr: {uniform: [0, 1]}\n", "sweep.optimizer.lr", "greater than 0"),
    ("  optimizer.lr: {normal: [0, 1]}\n", "sweep.optimizer.lr", "unknown search space"),
    ("  optimizer.nope: {choice: [1]}\n", "sweep.optimizer.nope", "unknown field"),
    ("  loss: {choice: [minimax]}\n", "sweep.loss", "cannot sweep"),
    ("  remedies.packing.k: {grid: [1, 2]}\n", "sweep.remedies.packing.k", "applies to no combo"),
    ("  optimizer.betas.0: {choice: [1.5]}\n", "sweep.optimizer.betas.0", "[0, 1)"),
    ("  samples: 3\n", "sweep", "at least one"),
    ("  optimizer.lr: {choice: [0.1]}\n  samples: 0\n", "sweep.samples", "1..10000"),
    ("  optimizer.lr: {choice: [0.1]}\n  samples: true\n", "sweep.samples", "1..10000"),
    ("  optimizer.lr: {choice: [0.1]}\n  seed: -1\n", "sweep.seed", "non-negative"),
    ("  optimizer.lr: {loguniform: [1]}\n", "sweep.optimizer.lr", "takes [low, high]"),
    ("  optimizer.lr: {grid: []}\n", "sweep.optimizer.lr", "non-empty list"),
    ("  optimizer.lr: 0.1\n", "sweep.optimizer.lr", "a search space is one of"),
    ("  remedies.ttur: {grid: [1]}\n", "sweep.remedies.ttur", "remedies.<remedy>.<param>"),
    # a continuous space draws floats: an integer field cannot take them
    ("  optimizer.batch_size: {uniform: [16, 64]}\n", "sweep.optimizer.batch_size", "valid integer"),
    ("  n_critic: {uniform: [1, 5]}\n", "sweep.n_critic", "1..100"),
    ("  model.generator.activation: {choice: [relu, nope]}\n", "sweep.model.generator.activation",
     "unknown activation"),
])
def test_bad_sweeps_name_the_field(text, path, fragment):
    found = problems(text)
    assert any(p == path and fragment in m for p, _, m in found), found
    assert all(line is not None and line >= 10 for p, line, _ in found if p == path)


def test_apply_to_spec_paths():
    suite = parse_suite(BASE + "  optimizer.lr: {choice: [0.1]}\n")
    plain, ttur = (s.to_dict() for s in expand(suite))
    out, applied = apply_to_spec(ttur, {"optimizer.betas.0": 0.9, "remedies.ttur.lr_d": 0.01,
                                        "dataset.std": 0.1, "n_critic": 3})
    assert out["optimizer"]["betas"] == [0.9, 0.999]
    assert out["remedies"]["ttur"]["lr_d"] == 0.01
    assert out["dataset_params"]["std"] == 0.1 and out["n_critic"] == 3
    assert ttur["optimizer"]["betas"] == [0.5, 0.999]  # the input is not modified
    out, applied = apply_to_spec(plain, {"remedies.ttur.lr_d": 0.01})
    assert applied == {"remedies.ttur.lr_d": False} and "ttur" not in out["remedies"]
    assert parse_path("optimizer.betas.0") == ["optimizer", "betas", 0]
    assert grid_size({"a": {"grid": [1, 2]}, "b": {"grid": [1, 2, 3]}, "c": {"choice": [1]}}) == 6


def test_sweep_block_is_a_typed_model():
    suite = parse_suite(BASE + "  optimizer.lr: {loguniform: [1.0e-4, 1.0e-2]}\n"
                        "  optimizer.betas.0: {grid: [0.0, 0.5]}\n  n_critic: {randint: [1, 4]}\n"
                        "  samples: 3\n")
    sw = suite.sweep
    assert isinstance(sw, Sweep) and (sw.samples, sw.seed) == (3, 0)
    assert list(sw.axes) == ["optimizer.lr", "optimizer.betas.0", "n_critic"]  # suite order
    assert sw.axes["optimizer.lr"] == Axis(space="loguniform", values=[1e-4, 1e-2])
    assert sw.log_axes() == {"optimizer.lr": True, "optimizer.betas.0": False, "n_critic": False}
    assert sw.grid_size() == grid_size(sw) == 2 and sw.trials_per_spec() == 6
    assert sw.axes["n_critic"].endpoints() == [1, 3]
    # the record of the sweep (what the manifest keeps) and its round trip
    dump = sw.model_dump()
    assert dump["axes"]["optimizer.lr"] == {"space": "loguniform", "values": [1e-4, 1e-2], "log": True}
    assert Sweep.model_validate(dump) == sw
    # the block as the suite wrote it, for callers that take it as a mapping
    assert dict(sw) == {"samples": 3, "seed": 0, "optimizer.lr": {"loguniform": [1e-4, 1e-2]},
                        "optimizer.betas.0": {"grid": [0.0, 0.5]}, "n_critic": {"randint": [1, 4]}}
    assert sw.get("samples", 1) == 3 and sw.get("nope") is None
    assert [k for k in sw if k not in ("samples", "seed")] == list(sw.axes)
    assert grid_size(dict(sw)) == 2
    assert parse_suite(BASE.replace("sweep:\n", "")).sweep is None


@pytest.mark.integration
def test_sweep_through_ray_with_4_samples(tmp_path):
    suite = tmp_path / "sw.yaml"
    suite.write_text(BASE + "  optimizer.lr: {loguniform: [1.0e-4, 1.0e-2]}\n"
                     "  remedies.ttur.lr_d: {loguniform: [1.0e-4, 1.0e-2]}\n  samples: 4\n  seed: 3\n")
    env = dict(os.environ, RAY_TMPDIR=tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    runs = []
    for name in ("a", "b"):
        proc = subprocess.run([sys.executable, "-m", "ganbench", "run", str(suite), "--out",
                               str(tmp_path / name), "--quiet"], capture_output=True, text=True,
                              env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs.append(pd.read_parquet(tmp_path / name / "trials.parquet"))
    t = runs[0]
    assert len(t) == 2 * 4 * 2  # combos × samples × seeds
    assert (t.status == "ok").all()
    assert sorted(t.hp_id.unique()) == [0, 1, 2, 3]
    lrs = t[t.combo == "vanilla"].groupby("hp_id")["hp.optimizer.lr"].first()
    assert lrs.between(1e-4, 1e-2).all() and lrs.nunique() == 4
    assert t[t.combo == "vanilla"]["hp.remedies.ttur.lr_d"].isna().all()
    assert t[t.combo == "ttur"]["hp.remedies.ttur.lr_d"].notna().all()
    # the sampler is seeded: a second run draws the same settings and gets the same numbers
    cols = ["combo", "hp_id", "seed", "hp.optimizer.lr", "hp.remedies.ttur.lr_d", "modes_covered",
            "frechet_distance"]
    pd.testing.assert_frame_equal(t[cols], runs[1][cols])
    assert (tmp_path / "a" / "samples" / "ring__ttur__hp3__seed1.npy").is_file()
