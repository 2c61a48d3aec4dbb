"""The summary table ``ganbench run`` prints at the end (``report/terminal.py``), rendered by a real rich Console of
80 columns: short headers, nothing cut with "…", every line within 80 characters, a legend."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from ganbench.report import terminal
from ganbench.report.terminal import print_summary
from ganbench.config import catalog


def _row(dataset: str, combo: str, **metrics: tuple[float, float, float]) -> dict:
    row = {"dataset": dataset, "combo": combo, "n": 5}
    for m in catalog.TERMINAL:
        mean, lo, hi = metrics.get(m, (np.nan, np.nan, np.nan))
        row.update({f"{m}_mean": mean, f"{m}_ci_lo": lo, f"{m}_ci_hi": hi, f"{m}_n": 5})
    return row


def _print(tmp_path, rows: list[dict]) -> list[str]:
    pd.DataFrame(rows).to_csv(tmp_path / "summary.csv", index=False)
    out = io.StringIO()
    print_summary(Console(file=out, width=80, color_system=None), tmp_path)
    return out.getvalue().splitlines()


@pytest.fixture
def every_metric() -> list[dict]:
    """A suite with every terminal metric: toy, image and Dirac rows, awkward numbers."""
    return [
        _row("ring", "vanilla", modes_covered=(7.5, 6.2, 8.8), hq_fraction=(0.934, 0.90, 0.968),
             frechet_distance=(0.00384, 0.0023, 0.00538)),
        _row("grid", "minimax", modes_covered=(14.7, 12.2, 17.2), hq_fraction=(0.0134, 0.0104, 0.0164),
             frechet_distance=(26.4, 14.4, 38.4)),
        _row("stacked_digits", "unrolled5_quarter", modes_covered=(880, 822, 938), fid=(41.2, 38.0, 44.4)),
        _row("dirac", "nsgan_r1_sim", dist_final=(2.21e-06, 2.21e-06, 2.21e-06)),
        _row("dirac", "noise_alt", dist_final=(0.0109, -0.00182, 0.0235)),
    ]


def test_summary_fits_80_columns_with_short_headers_and_a_legend(tmp_path, every_metric):
    lines = _print(tmp_path, every_metric)
    text = "\n".join(lines)
    assert all(len(line) <= 80 for line in lines), [len(x) for x in lines]
    assert "…" not in text
    headers = [line.split() for line in lines if line.startswith("dataset")]
    assert headers == [["dataset", "combo", "n", "modes", "HQ%", "FD"],  # one table per
                       ["dataset", "combo", "n", "modes", "FID"],        # set of metrics
                       ["dataset", "combo", "n", "dist"]]
    # whole names and cells: mean ±half-width of the CI, shares in percent
    assert "stacked_digits" in text and "unrolled5_quarter" in text
    ring = next(line for line in lines if line.startswith("ring"))
    assert "7.5 ±1.3" in ring and "93.4 ±3.4" in ring and "0.00384 ±0.0015" in ring
    assert "2.21e-6 ±0" in text and "880 ±58" in text and "41.2 ±3.2" in text
    legend = " ".join(lines[lines.index(next(x for x in lines if x.startswith("n = "))):])
    for short, name in (("modes", "Modes covered (modes)"), ("HQ%", "HQ fraction (%)"),
                        ("FD", "Fréchet distance"), ("FID", "FID"),
                        ("dist", "Distance to equilibrium")):
        assert f"{short} = {name}" in legend, legend
    assert "~" not in text  # nothing had to be shortened


def test_long_names_are_shortened_only_when_needed_and_listed(tmp_path, every_metric):
    rows = every_metric + [_row("ring", "minibatch_discrimination_with_features",
                                modes_covered=(8, 8, 8), hq_fraction=(0.5, 0.4, 0.6),
                                frechet_distance=(1.0, 0.5, 1.5))]
    lines = _print(tmp_path, rows)
    text = "\n".join(lines)
    assert all(len(line) <= 80 for line in lines) and "…" not in text
    long = next(line for line in lines if line.startswith("ring") and "~" in line).split()[1]
    legend = " ".join(lines[lines.index(next(x for x in lines if x.startswith("n = "))):])
    assert f"{long} = minibatch_discrimination_with_features" in legend
    assert "unrolled5_quarter" in text and "stacked_digits" in text  # other tables untouched
    assert sum("~" in line for line in lines) == 2  # the row and the legend


def test_summary_of_one_metric_and_missing_values(tmp_path):
    lines = _print(tmp_path, [_row("dirac", "a", dist_final=(0.5, np.nan, np.nan)),
                                           _row("dirac", "b")])
    assert [line.split() for line in lines if line.startswith("dataset")] == [
        ["dataset", "combo", "n", "dist"]]
    assert [line.split()[-1] for line in lines if line.startswith("dirac")] == ["0.5", "–"]


def test_no_summary_prints_nothing(tmp_path):
    out = io.StringIO()
    print_summary(Console(file=out, width=80), tmp_path)
    assert out.getvalue() == ""


def test_terminal_metrics_have_short_labels():
    for name in catalog.TERMINAL:
        m = catalog.spec(name)
        assert m is not None and m.short and len(m.short) <= 6
        assert m.short.endswith("%") == (m.unit == "share")
    assert catalog.spec("d_loss_final").short_label == "d_loss_final"  # the default


def test_numbers_are_compact():
    assert [terminal._summary_number(x, 2) for x in (240.3, 99.5, 0.5, 2.6e-6)] == ["240", "100", "0.5", "2.6e-6"]
    assert [terminal._summary_number(x, 3) for x in (1234.5, 44.62, 2e7)] == ["1234", "44.6", "2e7"]
