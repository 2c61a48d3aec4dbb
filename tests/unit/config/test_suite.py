"""Tests for ganbench.config.suite / ganbench.config.yamlio / ganbench.config.compat and the CLI's suite handling
(unknown keys, wrong types, unknown names and senseless combinations are errors
that name the field and its line)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganbench.cli import app
from pydantic import ValidationError

from ganbench.components.remedies.base import RemedyParams
from ganbench.config.suite import (Budget, Evaluation, Fidelity, Model, Optimizer, Suite, TrialSpec, apply_overrides,
                            expand, load_suite, parse_suite, suite_hash)
from ganbench.config.yamlio import SuiteError

REPO = Path(__file__).resolve().parents[3]
SHIPPED_SUITES = (sorted((REPO / "suites").glob("*.yaml"))
                  + sorted((REPO / "suites" / "reproductions").glob("*.yaml")))

# A small valid suite. Line numbers matter for the cases below:
#   1 name / 2 seeds / 3 budget / 4 datasets / 5 ring / 6 optimizer / 7 combos / 8 vanilla
# and text appended to BASE starts on line 9.
BASE = """\
name: t
seeds: 2
budget: {steps: 10, eval_every: 5}
datasets:
  ring: {std: 0.02}
optimizer: {name: adam, lr: 1.0e-3}
combos:
  vanilla: {loss: non_saturating}
"""

COMBO = "vanilla: {loss: non_saturating}"

# The classic "billion laughs": 9 levels of 9 aliases each expand to 9**9 ≈ 3.9e8 nodes.
_LOLS = ", ".join(["lol"] * 9)
ALIAS_BOMB = f"a: &a [{_LOLS}]\n" + "".join(
    f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]\n" for prev, cur in zip("abcdefgh", "bcdefghi"))


def problems_of(text: str | bytes):
    with pytest.raises(SuiteError) as info:
        parse_suite(text)
    return info.value.problems


def test_base_is_valid():
    s = parse_suite(BASE)
    assert s.name == "t" and s.seeds == 2 and list(s.combos) == ["vanilla"]


# (id, text, exact dotted path, exact line, substring of the message)
MALFORMED = [
    # the flow mapping opened on line 2 is not closed; the parser notices on line 3
    ("yaml_syntax", "name: t\ndatasets: {ring: {}\ncombos: x\n", "", 3, "YAML syntax error"),
    ("unknown_top_level_key", BASE + "foo: 1\n", "foo", 9, "unknown key"),
    ("unknown_nested_key", BASE.replace("eval_every: 5", "evl: 5"), "budget.evl", 3, "unknown key"),
    ("seeds_wrong_type", BASE.replace("seeds: 2", 'seeds: "five"'), "seeds", 2, "valid integer"),
    ("seeds_bool", BASE.replace("seeds: 2", "seeds: true"), "seeds", 2, "valid integer"),
    ("steps_float", BASE.replace("steps: 10", "steps: 1e3"), "budget.steps", 3, "valid integer"),
    ("steps_zero", BASE.replace("steps: 10", "steps: 0"), "budget.steps", 3, "greater than 0"),
    ("seeds_negative", BASE.replace("seeds: 2", "seeds: -1"), "seeds", 2, "greater than 0"),
    ("batch_size_zero", BASE.replace("lr: 1.0e-3}", "lr: 1.0e-3, batch_size: 0}"),
     "optimizer.batch_size", 6, "greater than 0"),
    ("dataset_negative_std", BASE.replace("{std: 0.02}", "{std: -0.1}"),
     "datasets.ring.std", 5, "greater than 0"),
    ("dataset_unknown_param", BASE.replace("{std: 0.02}", "{stdd: 0.1}"),
     "datasets.ring.stdd", 5, "unknown key"),
    ("negative_lr", BASE.replace("lr: 1.0e-3", "lr: -1.0e-3"), "optimizer.lr", 6, "greater than 0"),
    ("nan_lr", BASE.replace("lr: 1.0e-3", "lr: .nan"), "optimizer.lr", 6, ""),
    ("bad_betas", BASE.replace("lr: 1.0e-3", "lr: 1.0e-3, betas: [0.5, 1.0]"),
     "optimizer.betas", 6, "[0, 1)"),
    ("unknown_optimizer", BASE.replace("name: adam", "name: adamw"), "optimizer.name", 6, ""),
    ("unknown_dataset", BASE.replace("ring:", "rign:"), "datasets.rign", 5, "did you mean 'ring'"),
    ("unknown_loss", BASE.replace("non_saturating", "non_saturatin"),
     "combos.vanilla.loss", 8, "did you mean 'non_saturating'"),
    ("unknown_activation_model", BASE + "model: {activation: rleu}\n",
     "model.activation", 9, "unknown activation 'rleu'"),
    ("unknown_activation_generator", BASE + "model: {generator: {activation: nope}}\n",
     "model.generator.activation", 9, "unknown activation 'nope'"),
    ("unknown_activation_combo", BASE.replace(COMBO, "vanilla: {loss: non_saturating, activation: tanhh}"),
     "combos.vanilla.activation", 8, "did you mean 'tanh'"),
    ("unknown_remedy", BASE.replace(COMBO, "vanilla: {loss: non_saturating, remedies: {no_such_remedy: {}}}"),
     "combos.vanilla.remedies.no_such_remedy", 8, "unknown remedy"),
    ("baseline_not_a_combo", BASE + "baseline: nope\n", "baseline", 9, "not a combo"),
    ("empty_file", "", "", None, "empty"),
    ("comment_only_file", "# nothing here\n", "", None, "empty"),
    ("top_level_list", "- a\n- b\n", "", 1, "mapping"),
    ("top_level_scalar", "hello\n", "", 1, "mapping"),
    ("binary_nul", "name: t\x00\n", "", None, "binary"),
    ("binary_nul_bytes", b"name: t\x00\n", "", None, "binary"),
    ("not_utf8", (BASE + "description: caf\xe9\n").encode("latin-1"), "", None, "UTF-8"),
    ("too_large", BASE + "#" * (1 << 20) + "\n", "", None, "larger than"),
    ("too_deep", BASE + "description: " + "[" * 100 + "]" * 100 + "\n", "", None, "deeper"),
    ("alias_bomb", ALIAS_BOMB, "", None, "alias bomb"),
    ("duplicate_key", BASE + "seeds: 3\n", "seeds", 9, "duplicate key"),
    ("duplicate_nested_key", BASE.replace("{steps: 10,", "{steps: 10, steps: 20,"),
     "budget.steps", 3, "duplicate key"),
    ("simultaneous_n_critic", BASE.replace(COMBO, "vanilla: {loss: non_saturating, update: simultaneous, n_critic: 5}"),
     "combos.vanilla.n_critic", 8, "simultaneous"),
    ("unknown_update", BASE.replace(COMBO, "vanilla: {loss: non_saturating, update: sometimes}"),
     "combos.vanilla.update", 8, ""),
    # the name check runs on the combos mapping as a whole, so it is reported at "combos"
    ("combo_name_slash", BASE.replace("vanilla:", "a/b:"), "combos", 7, "'a/b'"),
    ("suite_name_traversal", BASE.replace("name: t", "name: ../../x"), "name", 1, "output folder"),
    ("suite_name_dotdot", BASE.replace("name: t", "name: a..b"), "name", 1, "output folder"),
    ("suite_name_not_string", BASE.replace("name: t", "name: 5"), "name", 1, "valid string"),
    ("missing_combos", "name: t\ndatasets: {ring: {}}\n", "combos", None, "required"),
    ("combo_optimizer_negative_lr", BASE.replace(COMBO, "vanilla: {loss: non_saturating, optimizer: {lr: -0.5}}"),
     "combos.vanilla.optimizer.lr", 8, "greater than 0"),
    ("combo_optimizer_unknown_key", BASE.replace(COMBO, "vanilla: {loss: non_saturating, optimizer: {lrr: 0.1}}"),
     "combos.vanilla.optimizer.lrr", 8, "unknown key"),
    ("combo_model_bad_hidden", BASE.replace(COMBO, "vanilla: {loss: non_saturating, model: {generator: {hidden: [0]}}}"),
     "combos.vanilla.model.generator.hidden", 8, "between 1 and 65536"),
    ("evaluation_min_count_zero", BASE + "evaluation: {min_count: 0}\n",
     "evaluation.min_count", 9, "greater than 0"),
]


@pytest.mark.parametrize("text,path,line,msg", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_suite_reports_field_and_line(text, path, line, msg):
    problems = problems_of(text)
    found = [(p.path, p.line) for p in problems]
    assert (path, line) in found, f"expected {(path, line)} among {found}"
    p = next(p for p in problems if (p.path, p.line) == (path, line))
    assert msg in p.message
    # the rendered form is what the CLI prints
    rendered = str(p)
    assert rendered.startswith(path or "<suite>")
    if line is not None:
        assert f"(line {line})" in rendered


def test_malformed_cases_are_many_and_distinct():
    assert len(MALFORMED) >= 14
    assert len({c[0] for c in MALFORMED}) == len(MALFORMED)


def test_several_problems_reported_together():
    text = BASE.replace("non_saturating", "nope").replace("ring:", "rign:") + "baseline: other\n"
    paths = {p.path for p in problems_of(text)}
    assert {"combos.vanilla.loss", "datasets.rign", "baseline"} <= paths


def test_alias_bomb_returns():
    # Expanding the bomb would need ~3.9e8 nodes (gigabytes); the loader must refuse it
    # without building it. No timing assertion: returning at all is the test.
    problems = problems_of(ALIAS_BOMB)
    assert len(problems) == 1 and "refused" in problems[0].message


def test_unsafe_tag_is_refused_not_executed(tmp_path, capfd):
    marker = tmp_path / "pwned"
    for cmd in ("echo hi", f"touch {marker}"):
        text = BASE + f'description: !!python/object/apply:os.system ["{cmd}"]\n'
        problems = problems_of(text)
        assert [(p.path, p.line) for p in problems] == [("", 9)]
        assert "python/object/apply:os.system" in problems[0].message
    out, err = capfd.readouterr()
    assert "hi" not in out.split() and "hi" not in err.split()
    assert not marker.exists()


def test_simultaneous_with_one_critic_is_fine():
    s = parse_suite(BASE.replace(COMBO, "vanilla: {loss: non_saturating, update: simultaneous}"))
    assert s.combos["vanilla"].update == "simultaneous" and s.combos["vanilla"].n_critic == 1


def test_same_problem_on_several_datasets_reported_once():
    text = BASE.replace("ring: {std: 0.02}", "ring: {}\n  grid: {}").replace(
        COMBO, "vanilla: {loss: minimax, update: simultaneous, n_critic: 3}")
    problems = problems_of(text)
    assert [p.path for p in problems] == ["combos.vanilla.n_critic"]


@pytest.mark.parametrize("params,path", [
    ("ring: {radius: .inf}", "datasets.ring.radius"),
    ("ring: {std: .inf}", "datasets.ring.std"),
    ("dirac: {theta0: .nan}", "datasets.dirac.theta0"),
    ("dirac: {h: .inf}", "datasets.dirac.h"),
])
def test_non_finite_dataset_params_refused(params, path):
    problems = problems_of(BASE.replace("ring: {std: 0.02}", params))
    assert (path, 5) in [(p.path, p.line) for p in problems]


def test_non_string_key_has_a_line():
    problems = problems_of(BASE + "5: x\n")
    assert [(p.path, p.line) for p in problems] == [("5", 9)]


# --------------------------------------------------------------------------------------------
# Positive cases
# --------------------------------------------------------------------------------------------


def test_shipped_suites_exist():
    assert SHIPPED_SUITES, "no suites/*.yaml found"


@pytest.mark.parametrize("path", SHIPPED_SUITES, ids=[p.name for p in SHIPPED_SUITES])
def test_shipped_suite_parses(path):
    suite, text = load_suite(path)
    assert isinstance(suite, Suite)
    assert text == path.read_text(encoding="utf-8")
    specs = expand(suite)
    assert len(specs) == sum(len(c.datasets or suite.datasets) for c in suite.combos.values())
    assert suite.baseline in suite.combos


def test_yaml12_floats():
    s = parse_suite(BASE.replace("lr: 1.0e-3", "lr: 1e-4"))
    assert isinstance(s.optimizer.lr, float) and s.optimizer.lr == 1e-4
    s = parse_suite(BASE.replace("lr: 1.0e-3", "lr: 2E-3"))
    assert s.optimizer.lr == 2e-3
    s = parse_suite(BASE.replace("lr: 1.0e-3", "lr: 1"))  # ints are accepted as floats
    assert isinstance(s.optimizer.lr, float) and s.optimizer.lr == 1.0


def test_defaults_and_baseline():
    s = parse_suite(BASE)
    assert s.baseline == "vanilla"  # first combo when not given
    assert s.budget.eval_samples == 2500 and s.budget.log_every == 50
    assert s.model.generator.hidden == [128, 128] and s.model.generator.z_dim == 256
    assert s.evaluation.hq_std == 3.0 and s.evaluation.min_count == 1
    assert s.optimizer.betas == [0.5, 0.999] and s.optimizer.batch_size == 512


def test_parse_accepts_bytes_and_str_alike():
    assert parse_suite(BASE.encode("utf-8")) == parse_suite(BASE)


def test_expand_grid():
    text = (BASE.replace("ring: {std: 0.02}", "ring: {std: 0.02}\n  grid: {}\n  dirac: {h: 0.1}")
            .replace(COMBO, COMBO + "\n  mm: {loss: minimax, n_critic: 3, optimizer: {lr: 0.5}, "
                     "activation: tanh}")
            .replace("seeds: 2", "seeds: 3"))
    s = parse_suite(text)
    specs = expand(s)
    assert len(specs) == 3 * 2
    assert [sp.trial_id for sp in specs] == [f"{d}__{c}" for d in ("ring", "grid", "dirac")
                                            for c in ("vanilla", "mm")]
    assert all(sp.seeds == [0, 1, 2] for sp in specs)
    by_id = {sp.trial_id: sp for sp in specs}
    mm = by_id["grid__mm"]
    assert (mm.dataset, mm.combo, mm.loss, mm.n_critic, mm.update) == ("grid", "mm", "minimax", 3, "alternating")
    assert mm.optimizer.lr == 0.5 and mm.optimizer.name == "adam"   # combo delta merged
    assert mm.model.activation == "tanh"
    assert by_id["grid__vanilla"].optimizer.lr == 1e-3                   # suite-level value
    assert by_id["grid__vanilla"].model.activation == "relu"
    assert by_id["dirac__vanilla"].dataset_params.h == 0.1
    assert by_id["dirac__vanilla"].to_dict()["dataset_params"] == {"h": 0.1}  # as the suite wrote it
    assert by_id["ring__vanilla"].budget == Budget(steps=10, eval_every=5, eval_samples=2500, log_every=50)
    assert by_id["ring__vanilla"].to_dict()["budget"] == {"steps": 10, "eval_every": 5,
                                                          "eval_samples": 2500, "log_every": 50}
    # specs travel to Ray workers as plain dicts
    assert TrialSpec.from_dict(mm.to_dict()) == mm


@pytest.mark.parametrize("path", SHIPPED_SUITES, ids=[p.name for p in SHIPPED_SUITES])
def test_every_shipped_spec_round_trips_through_a_dict(path):
    """What runner.trainable does: spec.to_dict() travels to the worker, from_dict rebuilds it."""
    import json
    import pickle

    suite, _ = load_suite(path)
    for spec in expand(suite):
        d = spec.to_dict()
        assert TrialSpec.from_dict(d) == spec
        assert TrialSpec.from_dict(json.loads(json.dumps(d))) == spec  # plain JSON data
        assert TrialSpec.from_dict(pickle.loads(pickle.dumps(d))).to_dict() == d
        assert isinstance(spec.budget, Budget) and isinstance(spec.model, Model)
        assert isinstance(spec.optimizer, Optimizer) and isinstance(spec.evaluation, Evaluation)
        assert isinstance(spec.fidelity, Fidelity)
        assert all(isinstance(p, RemedyParams) for p in spec.remedies.values())
        assert list(spec.remedies) == list(suite.combos[spec.combo].remedies)


def test_spec_blocks_are_typed_and_independent_of_the_suite():
    s = parse_suite(BASE.replace(COMBO, "vanilla: {loss: non_saturating, remedies: {ttur: {lr_d: 1}}}"))
    (spec,) = expand(s)
    assert spec.budget.steps == 10 and spec.optimizer.batch_size == 512
    assert spec.remedies["ttur"].lr_d == 1.0 and spec.remedies["ttur"].lr_g == 1.0e-4
    assert spec.to_dict()["remedies"] == {"ttur": {"lr_d": 1.0}}
    s.budget.steps = 99  # the spec holds its own copy
    assert spec.budget.steps == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.budget = Budget()  # type: ignore[misc]


def test_from_dict_validates_and_refuses_unknown_fields():
    (spec,) = expand(parse_suite(BASE))
    d = spec.to_dict()
    with pytest.raises(ValidationError):
        TrialSpec.from_dict({**d, "optimizer": {**d["optimizer"], "lr": -1.0}})
    with pytest.raises(TypeError, match="nope"):
        TrialSpec.from_dict({**d, "nope": 1})
    assert TrialSpec.from_dict({**d, "extras": {}}) == spec  # specs of runs started before 'extras' went


def test_diagnostics_block_is_a_model():
    s = parse_suite(BASE + "diagnostics: {late_window: 0.5, hq_min: 1, amplitude_quantiles: [0.1, 0.9]}\n")
    assert s.diagnostics.overrides() == {"late_window": 0.5, "hq_min": 1.0, "amplitude_quantiles": [0.1, 0.9]}
    assert dict(s.diagnostics) == s.diagnostics.overrides()
    assert s.diagnostics.dynamics().late_window == 0.5 and s.diagnostics.thresholds().hq_min == 1.0
    assert s.diagnostics.dynamics().amplitude_quantiles == (0.1, 0.9)
    assert parse_suite(BASE + "diagnostics: {}\n").diagnostics.overrides() == {}


@pytest.mark.parametrize("block,path,msg", [
    ("{nonsense: 1}", "diagnostics.nonsense", "unknown key"),
    ("{min_points: 8.5}", "diagnostics.min_points", "valid integer"),
    ("{hq_min: yes}", "diagnostics.hq_min", "valid number"),
    ("{late_window: 2.0}", "diagnostics", "late_window must lie in (0, 1]"),
    ("{amplitude_quantiles: [0.9]}", "diagnostics.amplitude_quantiles", "at least 2"),
    ("[1]", "diagnostics", "valid dictionary"),
])
def test_bad_diagnostics_name_the_field_and_line(block, path, msg):
    problems = problems_of(BASE + f"diagnostics: {block}\n")
    assert (path, 9) in [(p.path, p.line) for p in problems], problems
    assert any(msg in p.message for p in problems if p.path == path), problems


def test_apply_overrides_records_and_clamps():
    s = parse_suite(BASE)  # steps 10, eval_every 5, log_every 50 (default)
    s2, ov = apply_overrides(s, steps=3, seeds=7)
    assert ov == {"budget.steps": 3, "budget.eval_every": 3, "budget.log_every": 3, "seeds": 7}
    assert (s2.budget.steps, s2.budget.eval_every, s2.budget.log_every, s2.seeds) == (3, 3, 3, 7)
    # the original is untouched
    assert (s.budget.steps, s.budget.eval_every, s.budget.log_every, s.seeds) == (10, 5, 50, 2)
    # no clamping where eval_every/log_every already fit
    s3, ov3 = apply_overrides(s, steps=100)
    assert ov3 == {"budget.steps": 100}
    assert (s3.budget.eval_every, s3.budget.log_every) == (5, 50)
    assert apply_overrides(s) == (s, {})


@pytest.mark.parametrize("kw,path", [({"steps": 0}, "budget.steps"), ({"seeds": -1}, "seeds")])
def test_apply_overrides_rejects_non_positive(kw, path):
    with pytest.raises(SuiteError) as info:
        apply_overrides(parse_suite(BASE), **kw)
    assert info.value.problems[0].path == path


def test_suite_hash_is_sha256_of_exact_text():
    assert suite_hash(BASE) == hashlib.sha256(BASE.encode("utf-8")).hexdigest()
    assert suite_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # a comment changes the hash even though the suite is the same
    assert suite_hash(BASE + "# c\n") != suite_hash(BASE)
    assert suite_hash("é") == hashlib.sha256("é".encode("utf-8")).hexdigest()


def test_load_suite_missing_file(tmp_path):
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "nope.yaml")
    assert "no such suite file" in info.value.problems[0].message


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def good_suite(tmp_path):
    p = tmp_path / "good.yaml"
    p.write_text(BASE.replace("ring: {std: 0.02}", "ring: {std: 0.02}\n  grid: {}")
                 .replace(COMBO, COMBO + "\n  mm: {loss: minimax}").replace("seeds: 2", "seeds: 4"))
    return p


@pytest.fixture
def bad_suite(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(BASE.replace("steps: 10", "steps: 0"))
    return p


def test_cli_validate_good(good_suite):
    res = runner.invoke(app, ["validate", str(good_suite)])
    assert res.exit_code == 0, res.output
    assert "ok: 4 trials, 4 seeds each" in res.output  # 2 datasets × 2 combos


def test_cli_validate_bad(bad_suite):
    res = runner.invoke(app, ["validate", str(bad_suite)])
    assert res.exit_code == 2
    assert "budget.steps (line 3)" in res.output
    assert "greater than 0" in res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_cli_validate_missing_file(tmp_path):
    res = runner.invoke(app, ["validate", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2
    assert "no such suite file" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("path", SHIPPED_SUITES, ids=[p.name for p in SHIPPED_SUITES])
def test_cli_validate_shipped(path):
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok: ")


def test_cli_run_invalid_suite_creates_nothing(bad_suite, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(bad_suite), "--out", str(out)])
    assert res.exit_code == 2
    assert "budget.steps (line 3)" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_cli_list():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    for name in ("ring", "grid", "dirac", "minimax", "non_saturating", "wasserstein", "hinge",
                 "least_squares", "relu", "datasets", "losses"):
        assert name in res.output


def test_null_dataset_params_mean_defaults():
    suite = parse_suite(BASE.replace("ring: {std: 0.02}", "ring:"))
    assert suite.datasets["ring"] is None
    assert expand(suite)[0].to_dict()["dataset_params"] == {}
    assert expand(suite)[0].dataset_params.std == 0.02  # the defaults


def test_combo_datasets_restricts_expansion_and_is_validated():
    text = BASE.replace("ring: {std: 0.02}", "ring: {std: 0.02}\n  grid: {}")
    text = text.replace(COMBO, COMBO.rstrip("}") + ", datasets: [grid]}")
    specs = expand(parse_suite(text))
    assert [(s.dataset, s.combo) for s in specs] == [("grid", "vanilla")]
    bad = text.replace("datasets: [grid]}", "datasets: [moon]}")
    with pytest.raises(SuiteError) as exc:
        parse_suite(bad)
    assert any(p.path == "combos.vanilla.datasets.0" and "moon" in p.message for p in exc.value.problems)


def test_cli_run_refuses_an_unknown_kernels_value_before_creating_anything(good_suite, tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(good_suite), "--out", str(out), "--kernels", "fast"])
    assert res.exit_code == 2
    assert "kernels must be one of" in res.output and "Traceback" not in res.output
    assert not out.exists()
