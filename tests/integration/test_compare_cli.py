"""``ganbench compare`` on synthetic run folders (no Ray): the terminal output, the files it
writes, and exit code 2 with one line for every folder it cannot compare."""

from __future__ import annotations

import re

import pandas as pd
from typer.testing import CliRunner

from ganbench.cli import app
from tests.unit.report.test_compare import (A_MODES, B_CHANGES, B_MODES, B_SUITE, PAC, write_run)

runner = CliRunner()


def _refused(args: list[str]) -> str:
    """Run the command, check it exits 2 with one line and no traceback; return that line."""
    res = runner.invoke(app, ["compare", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


def test_compare_prints_and_writes(tmp_path):
    a = write_run(tmp_path / "a", A_MODES)
    b = write_run(tmp_path / "b", B_MODES, suite_text=B_SUITE, **B_CHANGES)
    out = tmp_path / "cmp"
    res = runner.invoke(app, ["compare", str(a), str(b), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[-2:] == [f"compare.html: {out / 'compare.html'}",
                          f"compare.csv: {out / 'compare.csv'}"]
    assert lines[0].endswith(str(a)) and lines[1].endswith(str(b))
    assert all(len(ln) <= 80 for ln in lines[2:-2]), [ln for ln in lines if len(ln) > 80]
    assert "significant differences (Holm p < 0.05): 5 of 10 comparisons, B − A:" in lines
    assert sum(ln.split()[:2] == ["ring", PAC] and ln.endswith("worse") for ln in lines) == 5
    for change in ("ganbench_version: 0.1.0 → 0.2.0", "device: auto → cuda",
                   "overrides.steps: 100 → 200", "versions.torch: 2.14.1 → 2.15.0"):
        assert "  " + change in lines
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and not re.search(r"(src|href)=\"https?:", html)
    csv = pd.read_csv(out / "compare.csv")
    assert len(csv) == 10 and csv["significant"].sum() == 5


def test_default_output_folder(tmp_path, monkeypatch):
    a = write_run(tmp_path / "a", A_MODES)
    b = write_run(tmp_path / "b", B_MODES)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 0, res.output
    made = list((tmp_path / "reports" / "compare").iterdir())
    assert len(made) == 1 and re.fullmatch(r"\d{8}T\d{6}Z", made[0].name)
    assert sorted(p.name for p in made[0].iterdir()) == ["compare.csv", "compare.html"]
    assert "protocol differences, B against A: none" in res.output


def test_refusals(tmp_path):
    a = write_run(tmp_path / "a", A_MODES)
    other = write_run(tmp_path / "grid", {("grid", "vanilla"): [1, 2, 3]})
    line = _refused([str(a), str(other)])
    assert line == (f"error: the runs share no dataset × combo: A ({a}) has ring × vanilla, "
                    f"ring × {PAC}, ring × unrolled; B ({other}) has grid × vanilla")

    no_trials = write_run(tmp_path / "no_trials", B_MODES)
    (no_trials / "trials.parquet").unlink()
    (no_trials / "trials.csv").unlink()
    assert _refused([str(a), str(no_trials)]) == (
        f"error: {no_trials} is truncated: trials.parquet and trials.csv are missing")

    partial = write_run(tmp_path / "partial", B_MODES, status="partial")
    line = _refused([str(a), str(partial)])
    assert line.startswith(f"error: {partial} is not a complete run (manifest status: partial)")
    assert line.endswith("pass --allow-partial")
    res = runner.invoke(app, ["compare", str(a), str(partial), "--allow-partial",
                              "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "warning: B: the run is partial: only the seeds that ran are compared." in res.output

    assert _refused([str(a), str(tmp_path / "nope")]) == (
        f"error: {tmp_path / 'nope'} is not a run folder (no such folder)")
    (tmp_path / "empty").mkdir()
    assert "is not a run folder" in _refused([str(a), str(tmp_path / "empty")])
    assert "at least two run folders" in _refused([str(a)])
    assert not (tmp_path / "reports").exists()
