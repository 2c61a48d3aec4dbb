"""Tests for the report stage (ganbench.report): a synthetic run folder in, report + exports out."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from ganbench.pipeline import report_run
from ganbench.report import load_run
from ganbench.report import diagnosis, plots
from ganbench.results.stage import compute_summary
from ganbench.report.export import citation_bib, format_number, latex_escape

SUITE_NAME = 'collapse <b>"quoted"</b>'
DESCRIPTION = 'Which remedies keep all modes? <script>alert(1)</script> "quotes" & more'
BASELINE = "vanilla"
PAC = 'pac<b>"2'  # a combo name that needs escaping everywhere (no "/": it is a file name too)
COMBOS = [BASELINE, PAC]
SEEDS = [0, 1, 2]
SHA = "ab12cd34" + "0" * 56
SUITE_TEXT = (
    f"name: '{SUITE_NAME}'\n"
    f"description: '{DESCRIPTION}'\n"
    "seeds: 3\n"
    "datasets:\n  ring: {modes: 8, radius: 2.0, std: 0.02}\n  dirac: {}\n"
    f"baseline: {BASELINE}\n"
    "combos:\n  vanilla: {loss: non_saturating}\n"
    "  'pac<b>\"2': {loss: non_saturating, remedies: {packing: {k: 2}}}\n"
    "# <script>alert(1)</script>\n"
)
RING_CENTRES = [
    [2.0 * np.cos(2 * np.pi * k / 8), 2.0 * np.sin(2 * np.pi * k / 8)] for k in range(8)
]
# modes covered per (combo, seed) on the ring
RING_MODES = {BASELINE: [1, 2, 1], PAC: [8, 8, 7]}
STEPS = list(range(0, 101, 10))
EVAL_STEPS = {0, 50, 100}
# Figures the synthetic run must produce:
#   per-seed strip plots: ring, dirac                                  2
#   final samples: ring, dirac                                         2
#   ring curves: losses, grad norms, D outputs, eval metrics, layers   5
#   dirac curves: losses, grad norms, D outputs                        3
#   dirac dynamics: phase portrait, distance to equilibrium            2
#   failure mode "mode collapse" (ring): coverage traces, mass per
#     mode at checkpoints, final samples of the affected combos        3
#   failure mode "non-convergence": ring traces + mass per mode,
#     dirac phase portraits + distance traces                          4
#   failure mode "vanishing gradients" (ring): traces, G per layer     2
#   training evolution: the ring's strip of checkpoints                1
EXPECTED_FIGURES = 24
# strip plots, samples, the collapsed combos' final samples and the evolution strip (read from
# evolution/, not the history)
FIGURES_WITHOUT_HISTORY = 6

# Verdicts and evidence per (dataset, combo, seed), as an older runner wrote them into trials;
# the results stage recomputes them from the trial rows and the history below, which are built
# to give the same verdicts.
VERDICTS = {
    ("ring", BASELINE, 0): ("mode_collapse", "mode_collapse: cells_occupied=1 <= 2 (collapse: mass "
                            "in <= 2 of 8 cells); hq_fraction=0.1 (blob mostly off the modes)"),
    ("ring", BASELINE, 1): ("mode_collapse;vanishing_gradients",
                            "mode_collapse: cells_occupied=2 <= 2 (collapse: mass in <= 2 of 8 "
                            "cells); hq_fraction=0.2 (blob mostly off the modes) | "
                            "vanishing_gradients: g_grad_decay=-4.2 <= -3 (G gradient median "
                            "0.1 -> 6.3e-06); d_fake_late=0.001 < 0.05 (D saturated)"),
    ("ring", BASELINE, 2): ("diverged", "diverged: status=diverged (a loss or parameter became "
                            "non-finite); diverged_step=70"),
    ("ring", PAC, 0): ("healthy", "healthy: cells_occupied=8 > 2; hq_fraction=0.8 >= 0.5"),
    ("ring", PAC, 1): ("healthy", "healthy: cells_occupied=8 > 2; hq_fraction=0.8 >= 0.5"),
    ("ring", PAC, 2): ("non_convergence", "non_convergence: mode_hopping_mean=0.45 > 0.3 (mass "
                       "moves between modes across evaluations)"),
    ("dirac", PAC, 1): ("", "status=failed: not diagnosed"),
}

# The run reproduces a (made-up) paper: one order claim the 3-vs-3 design cannot decide, a value
# claim whose interval overlaps its band, one that holds and one that fails.
REFERENCE = {
    "block": {
        "title": "Doe & Roe 2020 <i>Table 1</i>", "url": "https://example.org/paper",
        "bibtex": "@article{doe2020,\n  title = {A <b>paper</b>},\n  year = {2020}\n}",
        "names": {PAC: "PacGAN2 <b>", BASELINE: "GAN"},
        "values": [
            {"dataset": "ring", "combo": PAC, "metric": "modes_covered", "mean": 7.9,
             "spread": 0.1, "spread_kind": "se", "n": 10, "source": "Table 1", "verified": True},
            {"dataset": "ring", "combo": BASELINE, "metric": "modes_covered", "mean": 6.3,
             "spread": 0.5, "spread_kind": "se", "n": 10, "source": "Table 1"},
        ],
        "claims": [
            {"id": "pac_more_modes", "kind": "order", "dataset": "ring", "metric": "modes_covered",
             "higher": PAC, "lower": BASELINE, "text": "Packing covers more modes", "source": "Table 1"},
            {"id": "pac_value", "kind": "value", "dataset": "ring", "metric": "modes_covered",
             "combo": PAC, "value": 7.5, "tolerance": 1.0, "text": "PacGAN2 covers 7.5 ± 1 modes",
             "source": "Table 1"},
            {"id": "gan_converges", "kind": "value", "dataset": "dirac", "metric": "dist_final",
             "combo": BASELINE, "max": 0.1, "text": "The GAN converges", "source": "Fig. 3"},
            {"id": "pac_converges", "kind": "value", "dataset": "dirac", "metric": "dist_final",
             "combo": PAC, "max": 0.5, "text": "Packing converges γ ≥ 0", "source": "Fig. 3"},
        ],
        "protocol": {"budget.steps": {"paper": 400000, "note": "400 epochs"},
                     "seeds": {"paper": 3, "note": ""}},
        "differences": ["D has no maxout <units>"],
        "not_found": ["The paper's epsilon for empty modes"],
    },
    "run_protocol": {"budget.steps": 100, "seeds": 3},
}

IMG_PREFIX = '<img src="data:image/png;base64,'
EXTERNAL_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _manifest(status: str = "complete") -> dict:
    return {
        "ganbench_version": "0.1.0",
        "suite_name": SUITE_NAME,
        "description": DESCRIPTION,
        "suite_sha256": SHA,
        "seeds": SEEDS,
        "overrides": {"steps": 100},
        "command": "ganbench run suites/x.yaml --steps 100",
        "started_utc": "2026-11-20T10:00:00+00:00",
        "finished_utc": "2026-11-20T10:05:00+00:00",
        "wall_s": 300.0,
        "status": status,
        "versions": {"python": "3.11.9", "torch": "2.14.1", "numpy": "2.4.6"},
        "git_commit": "deadbeef",
        "machine": {"platform": "Linux", "processor": "x86_64", "cpu_count": 2, "gpus": []},
        "baseline": BASELINE,
        "combos": {
            BASELINE: {"loss": "non_saturating", "update": "alternating", "n_critic": 1,
                       "remedies": {}},
            PAC: {"loss": "non_saturating", "update": "alternating", "n_critic": 1,
                  "remedies": {"packing": {"k": 2}}},
        },
        "budget": {"steps": 100, "eval_every": 50, "eval_samples": 300, "log_every": 10},
        "protocol": {
            "datasets": {
                "ring": {"kind": "toy2d", "centres": RING_CENTRES, "std": 0.02,
                         "params": {"modes": 8, "radius": 2.0}},
                "dirac": {"kind": "dirac", "centres": [], "std": 0.0, "params": {}},
            },
            "coverage": {"hq_std": 3.0, "min_count": 1, "eval_samples": 300,
                         "reverse_kl": "KL(p_gen || uniform) with eps = 1e-10"},
            "frechet": "Fréchet distance of Gaussians fitted to raw samples",
        },
        "reference": REFERENCE,
    }


def _trials() -> pd.DataFrame:
    rows = []
    for combo in COMBOS:
        for seed in SEEDS:
            modes = RING_MODES[combo][seed]
            diverged = combo == BASELINE and seed == 2
            rows.append({
                "dataset": "ring", "combo": combo, "seed": seed,
                "status": "diverged" if diverged else "ok", "error": "",
                "steps": 100, "diverged_step": 70.0 if diverged else np.nan,
                "modes_covered": float(modes), "modes_total": 8.0,
                "hq_fraction": 0.1 * modes, "reverse_kl": np.log(8 / modes),
                "cell_entropy": np.log(modes), "cells_occupied": float(modes),
                "chance_coverage": 5.5, "frechet_distance": 2.0 / modes,
                "d_loss_final": 1.2, "g_loss_final": 0.7, "g_grad_norm_final": 0.5,
                "d_grad_norm_final": 0.3, "d_real_final": 0.6, "d_fake_final": 0.4,
                "wall_s": 10.0 + seed,
            })
    for combo in COMBOS:
        for seed in SEEDS:
            failed = combo == PAC and seed == 1
            theta = 0.5 + 0.1 * seed if combo == BASELINE else 0.01 * seed
            rows.append({
                "dataset": "dirac", "combo": combo, "seed": seed,
                "status": "failed" if failed else "ok",
                "error": "RuntimeError: <boom> & co" if failed else "",
                "steps": 100, "diverged_step": np.nan,
                "modes_covered": np.nan, "modes_total": np.nan, "hq_fraction": np.nan,
                "reverse_kl": np.nan, "cell_entropy": np.nan, "cells_occupied": np.nan,
                "chance_coverage": np.nan, "frechet_distance": np.nan,
                "d_loss_final": np.nan if failed else 1.0, "g_loss_final": np.nan if failed else 0.7,
                "g_grad_norm_final": 0.1, "d_grad_norm_final": 0.1,
                "d_real_final": 0.5, "d_fake_final": 0.5, "wall_s": 1.0,
                "theta_final": np.nan if failed else theta,
                "psi_final": np.nan if failed else -theta,
                "dist_final": np.nan if failed else abs(theta) * np.sqrt(2),
            })
    frame = pd.DataFrame(rows)
    verdicts, evidence = [], []
    for r in frame.itertuples(index=False):
        default = (("non_convergence", "non_convergence: dirac_final_dist=0.707 > 0.1 "
                    "(equilibrium not reached); dirac_log_dist_slope=1e-04 > -0.005 (distance "
                    "growing); dirac_winding=2.5 (revolutions)") if r.combo == BASELINE
                   else ("healthy", "healthy: dirac_final_dist=0.01 <= 0.1"))
        v, e = VERDICTS.get((r.dataset, r.combo, r.seed), default)
        verdicts.append(v)
        evidence.append(e)
    ring = (frame["dataset"] == "ring").to_numpy()
    vg = ((frame["combo"] == BASELINE) & (frame["seed"] == 1) & ring).to_numpy()
    frame["g_grad_early"] = np.where(vg, 0.1, 0.5)
    frame["g_grad_late"] = np.where(vg, 6.3e-6, 0.4)
    frame["g_grad_decay"] = np.log10(frame["g_grad_late"] / frame["g_grad_early"])
    frame["d_fake_late"] = np.where(vg, 0.001, 0.4)
    frame["mode_hopping_mean"] = np.where(ring, np.where(frame["combo"] == PAC, 0.45, 0.05), np.nan)
    frame["dirac_final_dist"] = frame["dist_final"]
    frame["verdicts"] = verdicts
    frame["evidence"] = evidence
    return frame


def _history() -> pd.DataFrame:
    rows = []
    for ds in ("ring", "dirac"):
        for ci, combo in enumerate(COMBOS):
            for seed in SEEDS:
                if ds == "dirac" and combo == PAC and seed == 1:
                    continue  # the failed trial logged nothing
                for step in STEPS:
                    t = step / 100
                    row = {
                        "dataset": ds, "combo": combo, "seed": seed, "step": step,
                        "d_loss": 1.3 - 0.2 * t + 0.01 * seed, "g_loss": 0.7 + 0.1 * t * ci,
                        "g_grad_norm": 10 ** (-2 * t * (1 - ci)) + 0.01 * seed,
                        "d_grad_norm": 1.0 + t,
                        "d_real": 0.5 + 0.3 * t, "d_fake": 0.5 - 0.3 * t,
                    }
                    if (ds, combo, seed) == ("ring", BASELINE, 1):
                        # the vanishing-gradient signature: G's gradient falls ~4 orders of
                        # magnitude while D(fake) saturates
                        row["g_grad_norm"] = 0.1 * 10 ** (-5 * t)
                        row["d_fake"] = 0.5 if t < 0.5 else 0.001
                    if ds == "ring":
                        row.update({"g_grad_norm.l0": 1.0 - 0.5 * t, "g_grad_norm.l1": 0.5 + t,
                                    "d_grad_norm.l0": 2.0})
                        row["mode_hist"] = None
                        if step in EVAL_STEPS:
                            modes = RING_MODES[combo][seed]
                            row.update({"modes_covered": modes * (0.5 + t / 2),
                                        "hq_fraction": 0.5, "reverse_kl": 1.0 - t,
                                        "frechet_distance": 1.0 - 0.5 * t,
                                        "cells_occupied": float(modes),
                                        "mode_hist": [100 if k < modes else 0 for k in range(8)]})
                            if (combo, seed) == (PAC, 2) and step == 50:
                                # mass hops between modes across evaluations
                                row["mode_hist"] = [0, 0, 0, 0, 0, 0, 0, 700]
                    else:
                        theta = np.cos(3 * t + seed) * (1 - 0.5 * t * ci)
                        psi = np.sin(3 * t + seed) * (1 - 0.5 * t * ci)
                        row.update({"theta": theta, "psi": psi, "dist": np.hypot(theta, psi)})
                    rows.append(row)
    return pd.DataFrame(rows)  # missing columns become NaN, as in the runner's frame


def _write_run(run: Path, status: str = "complete") -> Path:
    run.mkdir(parents=True, exist_ok=True)
    (run / "manifest.json").write_text(json.dumps(_manifest(status), indent=2))
    (run / "suite.yaml").write_text(SUITE_TEXT)
    trials = _trials()
    trials.to_parquet(run / "trials.parquet", index=False)
    trials.to_csv(run / "trials.csv", index=False)
    _history().to_parquet(run / "history.parquet", index=False)
    samples = run / "samples"
    samples.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    centres = np.asarray(RING_CENTRES)
    for row in trials.itertuples(index=False):
        if row.status == "failed":
            continue
        if row.dataset == "ring":
            idx = np.zeros(300, int) if row.combo == BASELINE else rng.integers(0, 8, 300)
            arr = centres[idx] + 0.05 * rng.standard_normal((300, 2))
        else:
            arr = np.full((200, 1), row.theta_final)
        np.save(samples / f"{row.dataset}__{row.combo}__seed{row.seed}.npy",
                arr.astype(np.float32))
    _write_evolution(run, trials)
    return run


#: The steps of the synthetic runs' kept evaluations (``evolution/*.npz``).
EVOLUTION_STEPS = [25, 50, 75, 100]


def evolution_points(combo: str, seed: int, t: int) -> np.ndarray:
    """The synthetic ring samples of evaluation ``t``: the baseline hops from centre to centre
    (one mode per evaluation, mode t + seed), the other combos spread over all eight."""
    rng = np.random.default_rng(100 * seed + t)
    centres = np.asarray(RING_CENTRES)
    idx = np.full(512, (t + seed) % 8) if combo == BASELINE else rng.integers(0, 8, 512)
    return (centres[idx] + 0.05 * rng.standard_normal((512, 2))).astype(np.float16)


def _write_evolution(run: Path, trials: pd.DataFrame) -> None:
    ring = trials[(trials["dataset"] == "ring") & (trials["status"] != "failed")]
    for combo, rows in ring.groupby("combo", sort=False):
        arrays = {f"seed{int(s)}": np.stack([evolution_points(combo, int(s), t)
                                             for t in range(len(EVOLUTION_STEPS))])
                  for s in rows["seed"]}
        (run / "evolution").mkdir(exist_ok=True)
        np.savez_compressed(run / "evolution" / f"ring__{combo}.npz",
                            steps=np.asarray(EVOLUTION_STEPS, dtype=np.int64), **arrays)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    run = _write_run(tmp_path_factory.mktemp("run") / "complete")
    path = report_run(run)
    return run, path.read_text(encoding="utf-8")


def _images(html: str) -> list[bytes]:
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(u, validate=True) for u in uris]


# ---------------------------------------------------------------------------------------------


def test_report_exists_and_is_self_contained(built):
    run, html = built
    assert (run / "report.html").is_file()
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert not EXTERNAL_ATTR.search(html), EXTERNAL_ATTR.search(html)
    assert "<link" not in html  # no external CSS
    # The only script is the inline one (table sorter, tabs, players; no src), allowed by its hash in the page's CSP,
    # which also forbids every fetch except data: images.
    assert re.findall(r"<script\b[^>]*>", html) == ["<script>"]
    assert html.count("</script>") == 1
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp and "default-src 'none'" in csp.group(1) and "img-src data:" in csp.group(1)
    assert diagnosis.script_csp_hash() in csp.group(1)
    # every in-page link points at an element of the page
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    anchors = re.findall(r'href="#([^"]+)"', html)
    assert anchors and set(anchors) <= ids
    # the table of contents covers every section
    toc = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    sections = re.findall(r'<section id="([^"]+)"', html)
    assert sections and set(sections) <= set(re.findall(r'href="#([^"]+)"', toc))


def test_report_embeds_valid_png_figures(built):
    _, html = built
    assert html.count(IMG_PREFIX) == EXPECTED_FIGURES
    images = _images(html)
    assert len(images) == EXPECTED_FIGURES
    for png in images:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 1000
    assert html.count("<figure") == EXPECTED_FIGURES
    for fig_id in ("fig-samples-d0-ring", "fig-samples-d1-dirac", "fig-phase-d1-dirac",
                   "fig-grad-norms-d0-ring", "fig-layers-d0-ring", "fig-eqdist-d1-dirac"):
        assert f'id="{fig_id}"' in html


def test_report_shows_summary_numbers(built):
    _, html = built
    pac_mean = np.mean(RING_MODES[PAC])
    base_mean = np.mean(RING_MODES[BASELINE])
    assert format_number(pac_mean) == "7.67"
    assert ">7.67<" in html and f">{format_number(base_mean)}<" in html
    assert "Modes covered (of 8)" in html
    # diverged / failed counts and the failed trial's (escaped) error
    assert "Diverged, failed and missing trials" in html
    assert "RuntimeError: &lt;boom&gt; &amp; co" in html
    for section in ("overview", "summary", "samples", "curves", "dirac", "protocol", "suite",
                    "reproducibility", "cite", "comparisons", "methods", "failure-mode-collapse",
                    "failure-non-convergence", "failure-vanishing-gradients"):
        assert f'<section id="{section}">' in html
    # reproducibility block
    assert SHA in html and "deadbeef" in html and "ganbench run suites/x.yaml --steps 100" in html
    assert "2.14.1" in html and "0, 1, 2" in html and "&#34;steps&#34;: 100" in html
    assert "alternating" in html and "built-in method" not in html  # combo settings shown


def test_user_text_is_escaped(built):
    _, html = built
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert str(escape(SUITE_NAME)) in html and SUITE_NAME not in html
    assert str(escape(DESCRIPTION)) in html
    assert str(escape(PAC)) in html and PAC not in html
    assert "<b>" not in html


def test_exports(built):
    run, _ = built
    summary = pd.read_csv(run / "summary.csv")
    assert list(summary[["dataset", "combo"]].itertuples(index=False, name=None)) == [
        ("ring", BASELINE), ("ring", PAC), ("dirac", BASELINE), ("dirac", PAC)]
    ring_pac = summary[(summary.dataset == "ring") & (summary.combo == PAC)].iloc[0]
    assert ring_pac["n"] == 3
    assert ring_pac["modes_covered_mean"] == pytest.approx(np.mean(RING_MODES[PAC]))
    assert ring_pac["modes_covered_ci_lo"] <= ring_pac["modes_covered_mean"]
    assert ring_pac["modes_covered_ci_hi"] >= ring_pac["modes_covered_mean"]
    ring_base = summary[(summary.dataset == "ring") & (summary.combo == BASELINE)].iloc[0]
    assert ring_base["n_diverged"] == 1 and ring_base["n_ok"] == 2
    dirac_pac = summary[(summary.dataset == "dirac") & (summary.combo == PAC)].iloc[0]
    assert dirac_pac["n_failed"] == 1 and dirac_pac["dist_final_n"] == 2

    tex = (run / "summary.tex").read_text()
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}",
                  "Modes covered", "HQ fraction", "Reverse KL", r"Fr\'echet distance",
                  "7.67 [", latex_escape(PAC), r"pac\textless{}b\textgreater{}\textquotedbl{}2"):
        assert token in tex, token
    assert PAC not in tex and "<b>" not in tex

    bib = (run / "citation.bib").read_text()
    assert bib.startswith("@misc{ganbench_collapse-b-quoted-b_ab12cd34,")
    assert SHA in bib and "0.1.0" in bib and "2026" in bib and "2026-11-20" in bib
    assert latex_escape(SUITE_NAME) in bib
    assert bib.count("{") == bib.count("}")

    comp = pd.read_csv(run / "comparisons.csv")
    assert set(comp["combo"]) == {PAC} and set(comp["baseline"]) == {BASELINE}
    ring_modes = comp[(comp.dataset == "ring") & (comp.metric == "modes_covered")].iloc[0]
    # means use the finite values of seeds that did not diverge (vanilla seed 2 diverged) ...
    assert ring_modes["diff"] == pytest.approx(np.mean(RING_MODES[PAC]) - np.mean(RING_MODES[BASELINE][:2]))
    # ... and the diverged seed counts, ranked worst, in the rank effect size
    assert ring_modes["n_diverged_baseline"] == 1 and ring_modes["n_baseline"] == 2
    assert ring_modes["cliffs_delta"] == 1.0 and ring_modes["diverged_rule"] == "ranked worst"
    div = pd.read_csv(run / "divergence.csv")
    ring_div = div[div.dataset == "ring"].iloc[0]
    assert ring_div["n_diverged_baseline"] == 1 and ring_div["n_diverged"] == 0
    design = pd.read_csv(run / "design.csv")
    assert list(design["min_p_holm"]) == pytest.approx([0.1, 0.1]) and not design["can_reach"].any()
    vt = pd.read_parquet(run / "verdict_table.parquet")
    assert {"verdict", "rule", "outcome", "metric", "value", "threshold", "reason"} <= set(vt.columns)
    vg = vt[(vt.verdict == "vanishing_gradients") & (vt.outcome == "fired")]
    assert set(zip(vg.dataset, vg.combo, vg.seed)) == {("ring", BASELINE, 1)}
    assert set(comp[comp.dataset == "dirac"]["metric"]) == {"dist_final"}


def test_rebuild_is_deterministic(built, tmp_path):
    run = shutil.copytree(built[0], tmp_path / "again")
    first_csv = (run / "summary.csv").read_bytes()
    report_run(run)
    assert (run / "summary.csv").read_bytes() == first_csv
    assert (run / "summary.tex").read_bytes() == (built[0] / "summary.tex").read_bytes()
    assert (run / "citation.bib").read_bytes() == (built[0] / "citation.bib").read_bytes()
    assert (run / "report.html").read_bytes() == (built[0] / "report.html").read_bytes()
    assert not list(run.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_missing_history_warns_but_builds(built, tmp_path):
    run = shutil.copytree(built[0], tmp_path / "nohist")
    (run / "history.parquet").unlink()
    (run / "report.html").unlink()
    html = report_run(run).read_text()
    assert 'id="warnings"' in html
    warning_box = html.split('id="warnings"', 1)[1].split("</div>", 1)[0]
    assert "history.parquet" in warning_box
    assert html.count(IMG_PREFIX) == FIGURES_WITHOUT_HISTORY
    assert ">7.67<" in html


def test_partial_banner(built, tmp_path):
    assert 'id="partial-banner"' not in built[1]
    run = shutil.copytree(built[0], tmp_path / "partial")
    (run / "manifest.json").write_text(json.dumps(_manifest("partial")))
    (run / "history.parquet").unlink()  # fewer figures: a faster build
    html = report_run(run).read_text()
    assert 'id="partial-banner"' in html and "Partial run." in html


def test_damaged_files_fall_back_and_warn(built, tmp_path):
    run = shutil.copytree(built[0], tmp_path / "damaged")
    (run / "trials.parquet").write_bytes(b"PAR1 this is not parquet")
    sample = run / "samples" / "ring__vanilla__seed0.npy"
    sample.write_bytes(sample.read_bytes()[:100])  # truncated
    (run / "samples" / f"ring__{PAC}__seed2.npy").unlink()
    data = load_run(run)
    assert len(data.trials) == len(_trials())  # read from trials.csv
    html = report_run(run).read_text()
    warning_box = html.split('id="warnings"', 1)[1].split("</div>", 1)[0]
    assert "trials.parquet" in warning_box and "trials.csv" in warning_box
    assert "samples/ring__vanilla__seed0.npy" in warning_box
    assert str(escape(f"samples/ring__{PAC}__seed2.npy")) in warning_box
    assert ">7.67<" in html
    assert html.count(IMG_PREFIX) == EXPECTED_FIGURES  # the other seeds still draw


def test_unreadable_trials_still_builds(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps(_manifest()))
    html = report_run(run).read_text()
    assert "trials.parquet" in html and "No trial results" in html
    assert (run / "citation.bib").is_file() and not (run / "summary.csv").exists()


def test_summary_counts_every_status():
    trials = _trials()
    trials.loc[0, "status"] = "missing"
    summary = compute_summary(trials)
    cols = list(summary.columns)
    assert cols[:7] == ["dataset", "combo", "n", "n_ok", "n_diverged", "n_failed", "n_missing"]
    ring_base = summary.iloc[0]
    assert (ring_base["n"], ring_base["n_ok"], ring_base["n_missing"]) == (3, 1, 1)


def _section(html: str, sid: str) -> str:
    return html.split(f'<section id="{sid}"', 1)[1].split("</section>", 1)[0]


def test_overview_verdict_matrix(built):
    _, html = built
    overview = _section(html, "overview")
    assert overview.index('id="verdict-matrix"') < overview.index('id="headlines"')
    matrix = overview.split('id="verdict-matrix-table"', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r"<th>([^<]+)</th>", matrix)
    assert headers[3:8] == ["Diverged", "Mode collapse", "Non-convergence",
                            "Vanishing gradients", "Healthy"]
    rows = matrix.split("<tr>")[2:]
    assert len(rows) == 4  # ring × 2 combos, dirac × 2 combos
    ring_base = rows[0]
    cells = re.findall(r'<td class="num vcell" data-sort="([^"]+)" style="([^"]*)"[^>]*>([^<]+)',
                       ring_base)
    assert [c[2].strip() for c in cells] == ["33%", "67%", "·", "33%", "·"]
    assert float(cells[1][0]) == pytest.approx(2 / 3)
    assert "rgba(217, 83, 79" in cells[1][1] and cells[2][1] == ""  # colour-coded, empty when 0
    assert ">2/3<" in ring_base
    assert "Not diagnosed" in matrix  # the failed dirac seed got no verdict
    # a sentence per comparison, built from the numbers
    comp = pd.read_csv(built[0] / "comparisons.csv")
    ring = comp[(comp.dataset == "ring") & (comp.metric == "modes_covered")].iloc[0]
    assert ring.p_holm >= 0.05 and ring.diff_ci_lo > 0  # the interval excludes 0, the test cannot
    sentence = (f"On ring, {escape(PAC)} covers 7.67 modes vs 1.5 for vanilla: +6.17 "
                f"[{format_number(ring.diff_ci_lo)}, {format_number(ring.diff_ci_hi)}], Cliff&#39;s "
                f"δ = 1 [{format_number(ring.cliffs_delta_lo)}, {format_number(ring.cliffs_delta_hi)}]; "
                f"not significant after Holm (p = {format_number(ring.p_holm)}, 3 vs 3 runs, "
                "0 vs 1 diverged (ranked worst)).")
    assert sentence in overview
    assert f"On dirac, {escape(PAC)} ends at distance" in overview
    assert "Underpowered design" in overview and "at best Holm p = 0.1" in overview
    # per-run evidence, escaped, with each verdict's numbers
    assert "d_fake_late=0.001 &lt; 0.05 (D saturated)" in overview
    assert "status=failed: not diagnosed" in overview


def test_failure_mode_sections(built):
    _, html = built
    vg = _section(html, "failure-vanishing-gradients")
    assert "G grad decay (log10)" in vg and "D(fake) late" in vg
    assert ">-4<" in vg and ">0.001<" in vg  # the numbers that triggered the verdict
    assert 'id="fig-vg-traces-d0-ring"' in vg and 'id="fig-vg-layers-d0-ring"' in vg
    mc = _section(html, "failure-mode-collapse")
    assert "vanilla (67%)" in mc and 'id="fig-mc-mass-d0-ring"' in mc
    assert 'id="fig-mc-samples-d0-ring"' in mc and 'id="fig-mc-cov-d0-ring"' in mc
    assert "dirac" not in re.findall(r"<h3[^>]*>([^<]+)", mc)[0]
    nc = _section(html, "failure-non-convergence")
    assert 'id="fig-nc-phase-d1-dirac"' in nc and 'id="fig-nc-dist-d1-dirac"' in nc
    assert 'id="fig-nc-mass-d0-ring"' in nc and "mode_hopping_mean=1 &gt; 0.3" in nc
    # the sections follow the summary, in verdict order, and the comparisons follow them
    order = [html.index(f'<section id="{s}"') for s in (
        "overview", "summary", "failure-mode-collapse", "failure-non-convergence",
        "failure-vanishing-gradients", "comparisons", "methods", "protocol")]
    assert order == sorted(order)


def test_methods_section(built):
    _, html = built
    methods = _section(html, "methods")
    assert "<strong>Gradient-norm decay.</strong>" in methods  # dynamics.py's docstring
    assert "<code>grad_decay_max</code>" in methods and "1000-fold" in methods  # why -3
    assert "<code>d_fake_saturated</code>" in methods
    assert "Student t interval" in methods and "Holm" in methods and "Cliff" in methods
    assert "ranked worst" in methods and "underpowered" in methods
    assert "Draw N = 300 generated samples" in methods
    assert "no feature extractor" in methods


def test_tables_are_sortable_by_number(built):
    _, html = built
    # cells that show "mean [CI]" sort by the mean
    summary = _section(html, "summary")
    assert re.search(r'<td class="num" data-sort="7\.66666[0-9]*"[^>]*>7\.67<span class="ci">', summary)
    comparisons = _section(html, "comparisons")
    assert 'data-sort="6.16666' in comparisons
    assert "strip plot of every seed of ring" in comparisons
    # reproducibility: wall time per dataset × combo
    repro = _section(html, "reproducibility")
    assert "Median per run (s)" in repro and ">33<" in repro  # ring vanilla: 10 + 11 + 12


def test_verdict_export(built):
    run, _ = built
    rates = pd.read_csv(run / "verdicts.csv")
    assert list(rates.columns[:4]) == ["dataset", "combo", "n", "n_diagnosed"]
    row = rates[(rates.dataset == "ring") & (rates.combo == BASELINE)].iloc[0]
    assert row["n"] == 3 and row["rate_mode_collapse"] == pytest.approx(2 / 3)
    assert row["rate_vanishing_gradients"] == pytest.approx(1 / 3)
    assert row["rate_healthy"] == 0
    failed = rates[(rates.dataset == "dirac") & (rates.combo == PAC)].iloc[0]
    assert failed["n"] == 3 and failed["n_diagnosed"] == 2


def test_verdicts_computed_for_old_run_folders(built):
    # A run folder from before the verdicts existed: the results stage computes them from its
    # history (with the manifest's losses and diagnostics settings).
    from ganbench.results.stage import compute_results

    data = load_run(built[0])
    old = data.trials.drop(columns=["verdicts", "evidence", "g_grad_decay", "d_fake_late"])
    res = compute_results(old, data.history, data.manifest)
    trials = res.trials
    assert not res.warnings
    assert len(trials) == len(old) and trials["verdicts"].notna().all()
    assert {"g_grad_decay", "d_fake_late", "evidence"} <= set(trials.columns)
    failed = trials[trials.status == "failed"]
    assert (failed["verdicts"] == "").all()  # failed runs get no verdict
    diverged = trials[trials.status == "diverged"]
    assert (diverged["verdicts"] == "diverged").all()
    # the long verdict table holds every rule's outcome, and failed runs are "not_judged"
    vt = res.verdict_table
    assert set(vt["outcome"]) <= {"fired", "passed", "not_judged"}
    assert (vt[vt.status == "failed"]["outcome"] == "not_judged").all()
    # without history the rules that need it are not judged, and nothing is claimed as passed
    res2 = compute_results(old, None, data.manifest)
    vt2 = res2.verdict_table
    hop = vt2[(vt2.rule == "mode_hopping") & (vt2.status == "ok")]
    assert len(hop) and (hop["outcome"] == "not_judged").all()


# ---------------------------------------------------------------------------------------------
# A sweep: several hyperparameter samples per dataset × combo (trials carry hp_id, hp.<path>).

SWEEP_LRS = {BASELINE: [1e-4, 1e-3, 1e-2], "r1": [2e-4, 2e-3, 2e-2]}
SWEEP_MODES = {BASELINE: [[1, 2], [3, 3], [8, 6]], "r1": [[8, 8], [7, 8], [2, 2]]}


def _write_sweep_run(run: Path) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    manifest = _manifest()
    manifest.update({"suite_name": "sweep", "seeds": [0, 1], "baseline": BASELINE,
                     "combos": {BASELINE: manifest["combos"][BASELINE],
                                "r1": {"loss": "non_saturating", "update": "alternating",
                                       "n_critic": 1, "remedies": {"gradient_penalty": {}}}}})
    del manifest["protocol"]["datasets"]["dirac"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "suite.yaml").write_text(
        "name: sweep\nseeds: 2\ndatasets: {ring: {}}\nbaseline: vanilla\n"
        "combos: {vanilla: {loss: non_saturating}, r1: {loss: non_saturating}}\n"
        "sweep:\n  optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}\n"
        "  optimizer.betas.0: {choice: [0.0, 0.5]}\n  samples: 3\n")
    rows, hist = [], []
    centres = np.asarray(RING_CENTRES)
    (run / "samples").mkdir(exist_ok=True)
    for combo in (BASELINE, "r1"):
        for hp in range(3):
            for seed in (0, 1):
                modes = SWEEP_MODES[combo][hp][seed]
                verdict = "healthy" if modes >= 7 else "mode_collapse"
                rows.append({
                    "dataset": "ring", "combo": combo, "hp_id": hp,
                    "hp.optimizer.lr": SWEEP_LRS[combo][hp], "hp.optimizer.betas.0": 0.5 * (hp % 2),
                    "seed": seed, "status": "ok", "error": "", "steps": 100,
                    "modes_covered": float(modes), "modes_total": 8.0, "hq_fraction": 0.9,
                    "cells_occupied": float(modes), "chance_coverage": 5.5, "wall_s": 1.0,
                    "verdicts": verdict, "evidence": f"{verdict}: cells_occupied={modes}",
                })
                for step in (0, 50, 100):
                    hist.append({"dataset": "ring", "combo": combo, "hp_id": hp, "seed": seed,
                                 "step": step, "d_loss": 1.0, "g_loss": 0.7,
                                 "g_grad_norm": 1.0, "modes_covered": float(modes)})
                arr = centres[np.arange(300) % modes] + 0.02
                np.save(run / "samples" / f"ring__{combo}__hp{hp}__seed{seed}.npy",
                        arr.astype(np.float32))
    pd.DataFrame(rows).to_parquet(run / "trials.parquet", index=False)
    pd.DataFrame(hist).to_parquet(run / "history.parquet", index=False)
    return run


def test_sweep_sensitivity(tmp_path):
    run = _write_sweep_run(tmp_path / "sweep")
    html = report_run(run).read_text()
    assert "sample file(s) missing" not in html  # samples/<ds>__<combo>__hp<i>__seed<s>.npy
    sens = _section(html, "sensitivity")
    table = sens.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    base, r1 = table.split("<tr>")[1:]
    # vanilla: per-sample means 1.5, 3, 7 → best 7, median 3; healthy runs: 1 of 6 (modes 8)
    assert ">7<" in base and ">3<" in base and "17%" in base and "1/6" in base
    assert "hp 2: optimizer.lr=0.01, optimizer.betas.0=0" in base
    # r1: per-sample means 8, 7.5, 2 → best 8 (hp 0), median 7.5; 4 of 6 runs healthy
    assert ">8<" in r1 and ">7.5<" in r1 and "67%" in r1 and "4/6" in r1 and "hp 0:" in r1
    for fig in ("fig-sens-d0-ring", "fig-hpscatter-d0-ring", "fig-sens-samples-d0-ring"):
        assert f'id="{fig}"' in sens
    overview = _section(html, "overview")
    assert "3 hp × 2 seeds" in overview and "in 2 of 3 hyperparameter samples" in overview
    assert "<th>hp</th>" in overview  # the evidence tables name the hyperparameter sample
    csv = pd.read_csv(run / "sensitivity.csv")
    row = csv[csv.combo == "r1"].iloc[0]
    assert (row["best"], row["median"], row["best_hp_id"]) == (8, 7.5, 0)
    assert row["healthy_share"] == pytest.approx(4 / 6)
    assert list(pd.read_csv(run / "verdicts.csv").columns[:5]) == [
        "dataset", "combo", "n", "n_hp_samples", "n_diagnosed"]


# ---------------------------------------------------------------------------------------------


def test_format_number():
    assert format_number(7.6666) == "7.67"
    assert format_number(8.0) == "8"
    assert format_number(0.012345) == "0.0123"
    assert format_number(1234.5) == "1234"
    assert format_number(1.5e-5) == "1.5e-05"
    assert format_number(float("nan")) == "–"
    assert format_number(None, "--") == "--"


def test_latex_escape():
    assert latex_escape("a_b & 50% $x$ #1 {y} ~^\\") == (
        r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )


def test_citation_without_dates_has_no_year():
    bib = citation_bib({"suite_name": "s", "suite_sha256": "ff" * 32, "ganbench_version": "1"})
    assert bib.startswith("@misc{ganbench_s_ffffffff,") and "year" not in bib


def test_fig_to_data_uri_is_png():
    fig, (ax,) = plots.new_figure(1)
    ax.plot([0, 1], [0, 1])
    uri = plots.fig_to_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_figure_log_ignores_nonpositive():
    hist = pd.DataFrame({"combo": ["a"] * 4, "seed": [0, 0, 1, 1], "step": [0, 1, 0, 1],
                         "g_grad_norm": [1.0, 0.0, 2.0, np.nan]})
    fig = plots.curves_figure(hist, "g_grad_norm", log=True)
    assert fig.axes[0].get_yscale() == "log"
    assert plots.fig_to_data_uri(fig).startswith("data:image/png;base64,")


def test_design_note_states_the_reachable_p_either_way():
    ok = pd.DataFrame([{"dataset": "ring", "n_comparisons": 11, "n_baseline": 6, "n_min": 6,
                        "min_p_holm": 22 / 924, "alpha": 0.05, "can_reach": True}])
    note = diagnosis.design_note(ok)
    assert note.startswith("Design: 11 comparisons with the baseline") and "Holm p = 0.0238" in note
    weak = ok.assign(n_baseline=5, n_min=5, min_p_holm=22 / 252, can_reach=False)
    assert diagnosis.design_note(weak).startswith("Underpowered design")
    assert diagnosis.design_note(None) == ""


# --------------------------------------------------------------------------------------------
# Reproduction section (the marks come from the results stage; the report renders them)
# --------------------------------------------------------------------------------------------


def test_reproduction_tables_in_the_run_folder(built):
    run, _ = built
    claims = pd.read_csv(run / "reproduction_claims.csv")
    marks = dict(zip(claims["claim"], claims["mark"]))
    assert marks == {"pac_more_modes": "inconclusive",   # 3 vs 3: min two-sided p = 0.1
                     "pac_value": "inconclusive",        # 90% interval [6.7, 8.6] leaves [6.5, 8.5]
                     "gan_converges": "not reproduced",  # distances 0.71, 0.85, 0.99
                     "pac_converges": "reproduced"}      # distances 0, 0.028 (one seed failed)
    why = dict(zip(claims["claim"], claims["reason"]))
    assert "cannot reach significance" in why["pac_more_modes"]
    values = pd.read_csv(run / "reproduction_values.csv")
    pac = values[values["combo"] == PAC].iloc[0]
    assert pac["published_mean"] == 7.9 and pac["n"] == 3 and bool(pac["verified"])
    assert pac["measured_mean"] == pytest.approx(23 / 3)
    lo, hi = pac["measured_ci_lo"], pac["measured_ci_hi"]
    assert lo < 23 / 3 < hi and hi - lo == pytest.approx(2 * 4.3027 * np.std([8, 8, 7], ddof=1) / np.sqrt(3), rel=1e-3)
    proto = pd.read_csv(run / "reproduction_protocol.csv", keep_default_na=False)
    rows = {r.setting: r for r in proto.itertuples()}
    assert bool(rows["budget.steps"].differs) and rows["budget.steps"].run == "100"
    assert not bool(rows["seeds"].differs)
    assert "D has no maxout <units>" in set(proto["note"])
    meta = json.loads((run / "results.json").read_text())
    assert "Holm" in meta["claim_rules"]["order"] and "equivalence" in meta["claim_rules"]["value"]


def test_reproduction_section(built):
    _, html = built
    sec = _section(html, "reproduction")
    # after the Overview, before the Summary; and in the contents
    assert html.index('<section id="overview">') < html.index('<section id="reproduction">') \
        < html.index('<section id="summary">')
    assert '<a href="#reproduction">Reproduction</a>' in html
    assert "Doe &amp; Roe 2020 &lt;i&gt;Table 1&lt;/i&gt;" in sec and "<i>Table 1</i>" not in sec
    assert re.search(r'id="reproduction-counts"><strong>1</strong> reproduced ·\s*<strong>1</strong> '
                     r'not reproduced ·\s*<strong>2</strong> inconclusive, of 4 claims', sec)
    for claim, mark in (("pac_more_modes", "inconclusive"), ("gan_converges", "not reproduced"),
                        ("pac_converges", "reproduced")):
        row = sec[sec.index(f'id="claim-{claim}"'):]
        row = row[:row.index("</tr>")]
        assert f">{mark}</span>" in row
    assert "γ ≥ 0" in sec and str(escape(PAC)) in sec and PAC not in sec
    # published against measured: the unverified value carries the dagger, the verified not
    values = sec[sec.index('id="reproduction-values-table"'):]
    values = values[:values.index("</table>")]
    assert "7.9 ± 0.1 (se)</td>" in values and "6.3 ± 0.5 (se) †</td>" in values
    assert "7.67" in values and "PacGAN2 &lt;b&gt;" in values
    # the protocol table flags the difference; free-text differences and not-found are listed
    proto = sec[sec.index('id="reproduction-protocol-table"'):]
    assert "400000" in proto and '<td class="bad">100 (differs)</td>' in proto
    assert "D has no maxout &lt;units&gt;" in sec and "epsilon for empty modes" in sec
    assert "https://example.org/paper" in sec and 'href="https://example.org' not in html
    assert "@article{doe2020," in sec and "A &lt;b&gt;paper&lt;/b&gt;" in sec
    # the rule behind each mark is in Methods
    methods = _section(html, "methods")
    assert 'id="methods-claims"' in methods and "two one-sided tests" in methods
    assert '<a href="#methods-claims">Reproduction claims</a>' in html


def test_reproduction_latex_table(built):
    run, _ = built
    tex = (run / "summary.tex").read_text()
    assert tex.count(r"\begin{table}") == 3 and tex.count(r"\end{table}") == 3
    assert r"Doe \& Roe 2020 \textless{}i\textgreater{}Table 1\textless{}/i\textgreater{}" in tex
    assert r"7.9 $\pm$ 0.1\textsuperscript{se} (Table 1)" in tex
    assert r"6.3 $\pm$ 0.5\textsuperscript{se}$^\dagger$ (Table 1)" in tex
    assert r"Packing converges $\gamma$ $\geq$ 0 & Fig. 3 & $\leq$ 0.5" in tex
    assert "γ" not in tex and "≥" not in tex and "≤" not in tex
    assert r"& not reproduced \\" in tex and r"& inconclusive \\" in tex


def test_no_reproduction_section_without_reference(tmp_path):
    run = _write_run(tmp_path / "plain")
    m = json.loads((run / "manifest.json").read_text())
    del m["reference"]
    (run / "manifest.json").write_text(json.dumps(m))
    html = report_run(run).read_text()
    assert 'id="reproduction"' not in html and 'id="methods-claims"' not in html
    assert not (run / "reproduction_claims.csv").exists()
    assert (run / "summary.tex").read_text().count(r"\begin{table}") == 1
