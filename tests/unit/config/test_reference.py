"""The suite's ``reference:`` block (ganbench.config.reference): a valid block, and every kind of
mistake reported with its field and line; ``suite_field``; the manifest's record of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganbench.config.reference import Reference
from ganbench.config.reference_checks import suite_field
from ganbench.config.suite import apply_overrides, load_suite, parse_suite
from ganbench.config.yamlio import SuiteError
from ganbench.run.manifest import reference_record

REPO = Path(__file__).resolve().parents[3]
REPRODUCTIONS = sorted((REPO / "suites" / "reproductions").glob("*.yaml"))

# line numbers: 1 name … 10 reference, 13 names, 15 values (16 first value), 17 claims,
# 18 first claim, 20 second claim, 22 protocol, 23 its first path
SUITE = """\
name: t
seeds: 3
budget: {steps: 10, eval_every: 5}
datasets:
  ring: {std: 0.02}
  dirac: {}
combos:
  gan: {loss: non_saturating}
  pac2: {loss: non_saturating, remedies: {packing: {k: 2}}, datasets: [ring]}
reference:
  title: Someone 2018, Table 1
  bibtex: "@article{x, title={X}, year={2018}}"
  names: {gan: GAN, pac2: PacGAN2}
  values:
    - {dataset: ring, combo: pac2, metric: modes_covered, mean: 7.9, spread: 0.1, spread_kind: se, n: 10, source: Table 1}
  claims:
    - {id: more, kind: order, dataset: ring, metric: modes_covered, higher: pac2, lower: gan,
       text: packing helps, source: Table 1}
    - {id: conv, kind: value, dataset: dirac, metric: dist_final, combo: gan, max: 0.1,
       text: converges, source: Fig. 3}
  protocol:
    budget.steps: {paper: 400000, note: long}
    combos.pac2.remedies.packing.k: {paper: 2}
"""


def problems(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(SuiteError) as info:
        parse_suite(text)
    return [(p.path, p.line, p.message) for p in info.value.problems]


def test_valid_block():
    s = parse_suite(SUITE)
    ref = s.reference
    assert isinstance(ref, Reference) and ref.title == "Someone 2018, Table 1"
    assert [c.id for c in ref.claims] == ["more", "conv"]
    assert ref.claims[1].band() == (float("-inf"), 0.1)
    assert ref.values[0].spread_kind == "se" and ref.values[0].verified is False
    assert parse_suite(SUITE.replace("mean: 7.9", "mean: 8")).reference.values[0].mean == 8.0


@pytest.mark.parametrize("old, new, path, line, message", [
    ("combo: pac2, metric", "combo: pac9, metric", "reference.values.0.combo", 15,
     "'pac9' is not a combo of this suite"),
    ("metric: modes_covered, mean", "metric: modes_coverd, mean", "reference.values.0.metric", 15,
     "unknown metric 'modes_coverd'"),
    ("lower: gan", "lower: gun", "reference.claims.0.lower", 17, "'gun' is not a combo"),
    ("dataset: dirac, metric", "dataset: dorac, metric", "reference.claims.1.dataset", 19,
     "'dorac' is not a dataset of this suite"),
    ("metric: dist_final, combo: gan", "metric: dist_final, combo: pac2", "reference.claims.1.combo",
     19, "combo 'pac2' does not run on dataset 'dirac'"),
    ("budget.steps: {paper", "budget.stepz: {paper", "reference.protocol.budget.stepz", 22,
     "'budget.stepz' is not a field of this suite"),
    ("names: {gan: GAN", "names: {gan2: GAN", "reference.names.gan2", 13, "not a combo"),
    ("higher: pac2, lower: gan,", "higher: pac2,", "reference.claims.0", 17,
     "exactly 'higher' and 'lower'"),
    ("combo: gan, max: 0.1", "combo: gan, max: 0.1, value: 0", "reference.claims.1", 19,
     "either value with tolerance or min/max"),
    ("combo: gan, max: 0.1", "combo: gan, value: 0", "reference.claims.1", 19,
     "'value' needs 'tolerance'"),
    ("id: conv", "id: more", "reference", 10, "claim id 'more' is used twice"),
    ("spread: 0.1, spread_kind: se,", "spread: 0.1,", "reference.values.0", 15,
     "spread given without spread_kind"),
    ("kind: order", "kind: ordering", "reference.claims.0.kind", 17, "Input should be 'order' or 'value'"),
    ("  names:", "  nmaes:", "reference.nmaes", 13, "unknown key"),
])
def test_mistakes_name_the_field_and_line(old, new, path, line, message):
    assert old in SUITE
    found = problems(SUITE.replace(old, new, 1))
    assert any(p == path and ln == line and message in m for p, ln, m in found), found


def test_a_block_without_claims_is_refused():
    text = SUITE.split("  claims:")[0] + "  claims: []\n"
    assert any(p == "reference.claims" and "at least 1" in m for p, _, m in problems(text))


def test_suite_field_resolves_run_values():
    s = parse_suite(SUITE)
    assert suite_field(s, "budget.steps") == 10 and suite_field(s, "seeds") == 3
    assert suite_field(s, "datasets.ring.radius") == 2.0          # a default filled in
    assert suite_field(s, "combos.pac2.remedies.packing.k") == 2
    assert suite_field(s, "combos.gan.optimizer.lr") == 1.0e-4    # the suite level merged in
    assert suite_field(s, "model.generator.hidden.1") == 128
    with pytest.raises(KeyError):
        suite_field(s, "budget.nope")


def test_manifest_records_the_block_and_the_runs_protocol():
    s = parse_suite(SUITE)
    s2, _ = apply_overrides(s, steps=7)
    rec = reference_record(s2)
    assert rec["run_protocol"] == {"budget.steps": 7, "combos.pac2.remedies.packing.k": 2}
    assert Reference.model_validate(rec["block"]) == s.reference
    assert reference_record(parse_suite(SUITE.split("reference:")[0])) is None


def test_there_are_four_reproduction_suites_each_with_a_reference():
    assert len(REPRODUCTIONS) >= 4
    for path in REPRODUCTIONS:
        suite, _ = load_suite(path)
        assert suite.reference is not None, path
        assert suite.reference.claims and "@" in suite.reference.bibtex
        for v in suite.reference.values:  # every published value names its table or figure
            assert v.source.strip()
