"""``ganbench compare``'s computation and pages: synthetic run folders in, statistics checked
against the ``stats`` functions by hand, protocol differences, compare.html and compare.csv."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from ganbench.report.compare import SORT_JS, terminal_lines, write_compare
from ganbench.results import stats
from ganbench.results.compare import (COLUMNS, CompareError, compare_run_folders,
                                      protocol_differences)
from tests.unit.report.test_report import EXTERNAL_ATTR, SUITE_TEXT
from tests.unit.report.test_report import _manifest as report_manifest

PAC = 'pac<b>"2'  # a combo name that needs escaping in the page
SEEDS = list(range(6))
# Modes covered per (dataset, combo) and seed; None marks a diverged seed (its metrics are NaN).
# pac drops from 7-8 modes in A to 3-4 in B (a complete separation: exact p = 2/C(12, 6)),
# vanilla is the same distribution in both runs (p = 1), unrolled ran only in A.
A_MODES = {("ring", "vanilla"): [1, 2, 1, 2, 1, 2], ("ring", PAC): [7, 8, 7, 8, 8, 7],
           ("ring", "unrolled"): [5, 5, 6, 6, 5, 6]}
B_MODES = {("ring", "vanilla"): [2, 1, 2, 1, 1, 2], ("ring", PAC): [3, 4, 3, 4, 4, None]}
B_CHANGES = {"ganbench_version": "0.2.0", "suite_sha256": "ff" * 32, "overrides": {"steps": 200},
             "versions": {"python": "3.11.9", "torch": "2.15.0", "numpy": "2.4.6"},
             "device": "cuda", "started_utc": "2026-12-01T10:00:00+00:00"}
B_SUITE = SUITE_TEXT.replace("seeds: 3", "seeds: 6") + "# second run\n"


def trials_frame(modes: dict[tuple[str, str], list[int | None]]) -> pd.DataFrame:
    """One row per seed with the toy metrics derived from its modes covered (of 8)."""
    rows = []
    for (ds, combo), values in modes.items():
        for seed, m in enumerate(values):
            v = np.nan if m is None else float(m)
            rows.append({"dataset": ds, "combo": combo, "seed": seed, "error": "",
                         "status": "diverged" if m is None else "ok", "modes_covered": v,
                         "cells_occupied": v, "hq_fraction": 0.1 * v, "reverse_kl": np.log(8 / v),
                         "frechet_distance": 2.0 / v, "wall_s": 1.0 + seed})
    return pd.DataFrame(rows)


def write_run(path: Path, modes, status: str = "complete", suite_text: str = SUITE_TEXT,
              **changes) -> Path:
    """A run folder with manifest.json (the report test's, with ``changes``), suite.yaml and
    trials.parquet/csv."""
    path.mkdir(parents=True)
    manifest = {**report_manifest(status), "seeds": SEEDS, **changes}
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (path / "suite.yaml").write_text(suite_text)
    trials = trials_frame(modes)
    trials.to_parquet(path / "trials.parquet", index=False)
    trials.to_csv(path / "trials.csv", index=False)
    return path


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path]:
    a = write_run(tmp_path / "a", A_MODES)
    b = write_run(tmp_path / "b", B_MODES, suite_text=B_SUITE, **B_CHANGES)
    return a, b


def _row(table: pd.DataFrame, combo: str, metric: str, run: str = "B") -> pd.Series:
    hit = table[(table.combo == combo) & (table.metric == metric) & (table.run_b == run)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_statistics_match_the_stats_functions(pair):
    c = compare_run_folders(pair)
    t = c.table
    assert list(t.columns) == list(COLUMNS)
    metrics = ["modes_covered", "cells_occupied", "hq_fraction", "reverse_kl", "frechet_distance"]
    assert list(t.metric) == metrics * 2 and list(t.combo) == ["vanilla"] * 5 + [PAC] * 5
    assert set(t.run_a) == {"A"} and set(t.run_b) == {"B"} and set(t.dataset) == {"ring"}

    fa = np.array([7, 8, 7, 8, 8, 7.0])
    fb = np.array([3, 4, 3, 4, 4.0])
    rb = np.append(fb, -np.inf)  # B's diverged seed ranked worst (more modes are better)
    r = _row(t, PAC, "modes_covered")
    assert (r.mean_a, r.mean_b, r["diff"]) == pytest.approx((7.5, 3.6, -3.9))
    assert (r.diff_ci_lo, r.diff_ci_hi) == pytest.approx(stats.welch_diff_ci(fb, fa))
    assert r.median_a == 7.5 and r.median_b == 3.5 and r.median_diff == stats.median_diff(rb, fa)
    assert r.cliffs_delta == -1.0 == stats.cliffs_delta(rb, fa)
    assert (r.cliffs_delta_lo, r.cliffs_delta_hi) == pytest.approx(stats.cliffs_delta_ci(rb, fa))
    assert r.p_value == pytest.approx(2 / 924) == stats.rank_test_p(rb, fa)  # 2 / C(12, 6)
    assert (r.n_a, r.n_b, r.n_diverged_a, r.n_diverged_b) == (6, 5, 0, 1)
    assert r.diverged_rule == "ranked worst" and r.better == "higher" and r.change == "worse"

    v = _row(t, "vanilla", "modes_covered")
    assert v.p_value == 1.0 and v["diff"] == 0.0 and v.cliffs_delta == 0.0
    assert not v.significant and v.change == ""
    # Holm within ring × modes_covered: both combos, p = [1, 2/924] -> [1, 4/924]
    assert r.p_holm == pytest.approx(4 / 924) and r.significant
    assert (v.p_holm, r.p_holm) == pytest.approx(tuple(stats.holm([1.0, 2 / 924])))

    kl = _row(t, PAC, "reverse_kl")  # lower is better: B's higher KL (diverged: +inf) is worse
    assert kl.better == "lower" and kl.cliffs_delta == 1.0 and kl.change == "worse"
    assert kl["diff"] == pytest.approx(np.mean(np.log(8 / fb)) - np.mean(np.log(8 / fa)))
    assert c.unshared["B"] == ([("ring", "unrolled")], [])


def test_three_runs_share_one_holm_family(tmp_path):
    runs = [write_run(tmp_path / "a", A_MODES), write_run(tmp_path / "b", B_MODES),
            write_run(tmp_path / "c", {("ring", PAC): [3, 3, 4, 4, 3, 4]})]
    t = compare_run_folders(runs).table
    assert list(t[t.metric == "modes_covered"].run_b) == ["B", "B", "C"]  # vanilla B, pac B, C
    pc = _row(t, PAC, "modes_covered", "C")
    assert pc.p_value == pytest.approx(2 / 924) and pc.n_b == 6 and pc.n_diverged_b == 0
    family = t[t.metric == "modes_covered"]
    assert list(family.p_holm) == pytest.approx(list(stats.holm(family.p_value)))
    assert pc.p_holm == pytest.approx(3 * 2 / 924)  # three comparisons in ring × modes_covered
    lines = terminal_lines(compare_run_folders(runs))
    assert "comparisons, run − A:" in lines[3] and lines[4].split()[:4] == ["dataset", "combo",
                                                                            "metric", "run"]
    assert any(ln.split()[:2] == ["ring", PAC] and ln.split()[-7:] == [
        "C", "-4", "[-4.7,", "-3.3]", "-1", "0.00649", "worse"] for ln in lines)  # 3.5 − 7.5
    assert "protocol differences, C against A: none" in lines


def test_protocol_differences_are_listed_important_first(pair):
    c = compare_run_folders(pair)
    diffs = c.protocol["B"]
    fields = [d.field for d in diffs]
    assert fields == ["suite_sha256", "ganbench_version", "versions.torch", "overrides.steps",
                      "device", "started_utc"]
    by = {d.field: d for d in diffs}
    assert (by["ganbench_version"].a, by["ganbench_version"].b) == ("0.1.0", "0.2.0")
    assert (by["versions.torch"].a, by["versions.torch"].b) == ("2.14.1", "2.15.0")
    assert (by["overrides.steps"].a, by["overrides.steps"].b) == ("100", "200")
    assert by["device"].kind == "settings" and by["started_utc"].kind == "run record"
    diff = c.suite_diffs["B"].splitlines()
    assert diff[:2] == ["--- A/suite.yaml", "+++ B/suite.yaml"]
    assert "-seeds: 3" in diff and "+seeds: 6" in diff and "+# second run" in diff


def test_protocol_differences_generic():
    a = {"machine": {"gpus": [], "runtime": {"kernels": "off"}}, "new_field": 1, "wall_s": 3.0}
    b = {"machine": {"gpus": ["H200"], "runtime": {"kernels": "auto"}}, "wall_s": 4.0}
    diffs = protocol_differences(a, b)
    assert [(d.field, d.kind, d.a, d.b) for d in diffs] == [
        ("machine.gpus", "machine", "[]", '["H200"]'),
        ("machine.runtime.kernels", "machine", "off", "auto"),
        ("new_field", "other", "1", "(absent)"),
        ("wall_s", "run record", "3.0", "4.0"),
    ]
    assert protocol_differences(a, a) == []


def test_page_and_csv(pair, tmp_path):
    c = compare_run_folders(pair)
    html_path, csv_path = write_compare(c, tmp_path / "out" / "x")
    html = html_path.read_text(encoding="utf-8")
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert not EXTERNAL_ATTR.search(html) and "<link" not in html
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp and "default-src 'none'" in csp.group(1) and "img-src data:" in csp.group(1)
    assert "style-src 'unsafe-inline'" in csp.group(1)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert scripts == [SORT_JS] and re.findall(r"<script\b[^>]*>", html) == ["<script>"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp.group(1)  # the only script runs under its hash
    anchors = set(re.findall(r'href="#([^"]+)"', html))
    assert anchors and anchors <= set(re.findall(r'\bid="([^"]+)"', html))
    # escaped user text, the statistics, the protocol and the reading guide
    assert str(escape(PAC)) in html and PAC not in html and "<b>" not in html
    assert "How to read this page" in html and "Welch-Satterthwaite" in html
    assert "Holm–Bonferroni adjusted p within each dataset × metric" in html
    assert ">-3.9<" in html and ">0.00433 *<" in html  # pac's modes: B − A, Holm p
    assert "<code>ganbench_version</code>" in html and "0.2.0" in html
    assert "-seeds: 3" in html and "only in A: ring × unrolled" in html
    assert '<span class="tag worse">worse</span>' in html

    csv = pd.read_csv(csv_path, keep_default_na=False)
    assert list(csv.columns) == list(COLUMNS) and len(csv) == 10
    row = csv[(csv.combo == PAC) & (csv.metric == "modes_covered")].iloc[0]
    assert float(row["diff"]) == pytest.approx(-3.9) and float(row.p_holm) == pytest.approx(4 / 924)
    assert row.dir_a == str(pair[0]) and row.dir_b == str(pair[1])
    assert list(csv[csv.significant].combo) == [PAC] * 5 and set(csv.change) == {"", "worse"}


def test_terminal_lines_fit_80_columns(pair):
    c = compare_run_folders(pair)
    lines = terminal_lines(c)
    assert lines[0].startswith("A (") and lines[0].endswith(str(pair[0]))
    body = lines[2:]
    assert all(len(line) <= 80 for line in body), [ln for ln in body if len(ln) > 80]
    text = "\n".join(body)
    assert "significant differences (Holm p < 0.05): 5 of 10 comparisons, B − A:" in text
    table = body[1:7]
    assert table[0].split() == ["dataset", "combo", "metric", "diff", "[95%", "CI]", "δ", "Holm",
                                "p"]
    assert all("vanilla" not in ln for ln in table)
    assert all(ln.endswith("worse") for ln in table[1:])
    assert ["ring", PAC, "modes", "-3.9", "[-4.66,", "-3.14]", "-1", "0.00433",
            "worse"] in [ln.split() for ln in table]
    assert "protocol differences, B against A: 5; 1 run-record fields (times, command) too" in text
    assert "  ganbench_version: 0.1.0 → 0.2.0" in body
    assert "  suite.yaml: 2 lines added, 1 removed (unified diff in compare.html)" in body
    assert "  not compared, only in A: ring × unrolled" in body


def test_terminal_table_clips_long_names(tmp_path):
    long = "a_combo_with_a_very_long_name_that_would_not_fit_in_any_table"
    a = write_run(tmp_path / "a", {("ring", long): [1, 1, 1, 2, 2, 2]},
                  machine={"runtime": {"kernels": {"critic": "x" * 200}}})
    b = write_run(tmp_path / "b", {("ring", long): [8, 8, 8, 7, 7, 7]},
                  machine={"runtime": {"kernels": {"critic": "y" * 200}}})
    lines = terminal_lines(compare_run_folders([a, b]))[2:]
    assert all(len(line) <= 80 for line in lines)
    assert any(ln.startswith("ring     a_combo_with_a_ver…  modes   +6 [5.3, 6.7]")
               and ln.endswith("better") for ln in lines)
    kernel = next(ln for ln in lines if "machine.runtime.kernels.critic" in ln)
    assert "xxx" in kernel and "yyy" in kernel and "→" in kernel


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a run folder (no such folder)"),
    ("empty", "is not a run folder (it holds none of"),
    ("no_manifest", "is truncated: manifest.json is missing"),
    ("bad_manifest", "is truncated: manifest.json cannot be read"),
    ("no_trials", "is truncated: trials.parquet and trials.csv are missing"),
    ("bad_trials", "is truncated: trials.parquet could not be read"),
    ("partial", "is not a complete run (manifest status: partial)"),
])
def test_unusable_run_folders_are_refused(tmp_path, case, message):
    a = write_run(tmp_path / "a", A_MODES)
    b = tmp_path / "b"
    if case == "empty":
        b.mkdir()
    elif case != "missing":
        write_run(b, B_MODES, status="partial" if case == "partial" else "complete")
    if case == "no_manifest":
        (b / "manifest.json").unlink()
    if case == "bad_manifest":
        (b / "manifest.json").write_text("{not json")
    if case in ("no_trials", "bad_trials"):
        (b / "trials.csv").unlink()
        (b / "trials.parquet").write_text("x")
    if case == "no_trials":
        (b / "trials.parquet").unlink()
    with pytest.raises(CompareError) as err:
        compare_run_folders([a, b])
    assert message in str(err.value) and str(b) in str(err.value)
    assert "\n" not in str(err.value)


def test_partial_runs_are_compared_when_allowed(tmp_path):
    a = write_run(tmp_path / "a", A_MODES)
    b = write_run(tmp_path / "b", B_MODES, status="partial")
    with pytest.raises(CompareError, match="--allow-partial"):
        compare_run_folders([a, b])
    c = compare_run_folders([a, b], allow_partial=True)
    assert len(c.table) == 10
    assert c.runs[1].warnings == ["the run is partial: only the seeds that ran are compared."]


def test_no_shared_dataset_combo(tmp_path):
    a = write_run(tmp_path / "a", A_MODES)
    b = write_run(tmp_path / "b", {("grid", "vanilla"): [1, 2, 3]})
    with pytest.raises(CompareError) as err:
        compare_run_folders([a, b])
    assert str(err.value) == (
        f"the runs share no dataset × combo: A ({a}) has ring × vanilla, ring × {PAC}, "
        f"ring × unrolled; B ({b}) has grid × vanilla")
    with pytest.raises(CompareError, match="at least two run folders"):
        compare_run_folders([a])
