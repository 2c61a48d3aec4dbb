"""The results stage: computed from a run folder, written into it, read back unchanged; the
report renders only what it wrote; the design-power table and `ganbench validate`."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ganbench.results import stats
from ganbench.cli import app
from ganbench.config import catalog
from ganbench.results.stage import (RESULT_FILES, compute_results, design_table, load_results,
                                    results_stage)

from tests.unit.report import test_report as fixture  # the synthetic run folder of the report tests

SUITES = Path(__file__).resolve().parents[3] / "suites"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return fixture._write_run(tmp_path_factory.mktemp("results") / "run")


def test_results_round_trip(run):
    res = results_stage(run)
    for name in RESULT_FILES:
        if name.startswith("sensitivity"):
            continue  # not a sweep
        assert (run / name).is_file(), name
    back = load_results(run)
    pd.testing.assert_frame_equal(back.verdict_table.reset_index(drop=True),
                                  res.verdict_table.reset_index(drop=True))
    for attr in ("summary", "comparisons", "divergence", "rates", "design"):
        a, b = getattr(res, attr), getattr(back, attr)
        assert list(a.columns) == list(b.columns), attr
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      check_dtype=False, check_exact=False, rtol=1e-12)
    assert back.alpha == res.alpha == stats.SIGNIFICANCE_ALPHA
    # trials carry the verdicts the table says fired
    fired = res.verdict_table[res.verdict_table.outcome == "fired"]
    for _, row in res.trials.iterrows():
        got = set(fired[(fired.dataset == row.dataset) & (fired.combo == row.combo)
                        & (fired.seed == row.seed)]["verdict"])
        names = stats.split_verdicts(row.verdicts)
        assert got == (names - {"healthy"}), (row.dataset, row.combo, row.seed)


def test_results_are_deterministic(run):
    a = compute_results(pd.read_parquet(run / "trials.parquet"),
                        pd.read_parquet(run / "history.parquet"), fixture._manifest())
    b = compute_results(pd.read_parquet(run / "trials.parquet"),
                        pd.read_parquet(run / "history.parquet"), fixture._manifest())
    pd.testing.assert_frame_equal(a.comparisons, b.comparisons)
    pd.testing.assert_frame_equal(a.verdict_table, b.verdict_table)


def test_report_package_computes_nothing():
    # the report renders: it never imports the statistics or the diagnosis rules to compute
    root = Path(__file__).resolve().parents[3] / "ganbench" / "report"
    text = "\n".join(p.read_text() for p in root.glob("*.py"))
    for forbidden in ("compare_to_baseline", "summarize(", "diagnose_frame", "diagnose_tables",
                      "verdict_rates(", "inspect.getsource", "inspect.getdoc", "load_yaml"):
        assert forbidden not in text, forbidden


def test_design_table_matches_the_exact_bound():
    d = design_table({"ring": {"base": 6, **{f"c{i}": 6 for i in range(11)}},
                      "grid": {"base": 5, **{f"c{i}": 5 for i in range(11)}},
                      "solo": {"base": 3}}, "base")
    ring, grid, solo = (d[d.dataset == k].iloc[0] for k in ("ring", "grid", "solo"))
    assert ring.min_p_holm == pytest.approx(11 * 2 / math.comb(12, 6)) and ring.can_reach
    assert grid.min_p_holm == pytest.approx(11 * 2 / math.comb(10, 5)) and not grid.can_reach
    assert math.isnan(solo.min_p_holm) and not solo.can_reach
    # a dataset the baseline did not run on is compared with its first combo
    other = design_table({"ring": {"a": 6, "b": 6}}, "base").iloc[0]
    assert other.baseline == "a" and other.n_comparisons == 1 and other.can_reach
    # the bound is attained: a complete separation at 6 vs 6 is significant after Holm over 11
    p = stats.rank_test_p([8.0] * 6, [0.0, 0.2, 0.1, 0.3, 0.0, 0.4])
    assert min(1.0, 11 * p) == pytest.approx(ring.min_p_holm)


@pytest.mark.parametrize("suite", ["mode_collapse", "non_convergence", "vanishing_gradients",
                                   "image_modes", "hyperparameter_sensitivity"])
def test_shipped_suites_can_reach_significance(suite):
    result = CliRunner().invoke(app, ["validate", str(SUITES / f"{suite}.yaml")])
    assert result.exit_code == 0, result.output
    assert "not below" not in result.output
    assert "smallest reachable Holm p" in result.output


def test_dataset_without_the_suite_baseline_is_still_compared():
    # non_convergence: the baseline is a Dirac-GAN combo; the ring pair (TTUR against equal
    # learning rates) is compared with the ring's first combo
    result = CliRunner().invoke(app, ["validate", str(SUITES / "non_convergence.yaml")])
    assert "design: ring: 1 comparisons with ring_equal_lr" in result.output
    from ganbench.results.stage import dataset_baselines

    t = pd.DataFrame({"dataset": ["d", "d", "r", "r", "s"], "combo": ["b", "x", "e", "t", "u"]})
    assert dataset_baselines(t, "b") == {"d": "b", "r": "e"}


def test_validate_warns_on_an_underpowered_design():
    result = CliRunner().invoke(app, ["validate", str(SUITES / "smoke.yaml")])
    assert result.exit_code == 0  # a warning, not an error
    assert "not below α = 0.05" in result.output and "no comparison can be significant" in result.output


def test_catalog_declares_every_compared_metric_once():
    names = [m.name for m in catalog.CATALOG]
    assert len(names) == len(set(names))
    directed = catalog.higher_is_better()
    for m in catalog.COMPARED:
        assert m in directed, m  # a compared metric has a direction: diverged seeds rank worst
        assert catalog.spec(m).definition


def test_manifest_is_written_and_read_by_one_class(tmp_path):
    from ganbench.run.manifest import Manifest

    m = Manifest.model_validate(fixture._manifest())
    assert m.baseline == fixture.BASELINE and m.protocol.datasets["ring"].kind == "toy2d"
    m.status = "partial"
    m.write(tmp_path)
    back = Manifest.read(tmp_path)
    assert back == m and back.status == "partial"
    # an older manifest without the newer keys still reads; unknown keys are kept
    old = {"suite_name": "x", "seeds": [0, 1], "some_future_key": {"a": 1}}
    o = Manifest.model_validate(old)
    assert o.protocol.diagnostics.overrides == {} and o.to_dict()["some_future_key"] == {"a": 1}
