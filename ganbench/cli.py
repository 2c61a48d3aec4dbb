"""The ``ganbench`` command line: run, validate, report, reproduce, list."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ganbench.config.yamlio import SuiteError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_show_locals=False,
                  help="ganbench: benchmark and diagnose the ways GAN training fails.\n\n"
                       "Write a YAML suite, run it, read the self-contained HTML report.")
console = Console()
err_console = Console(stderr=True)


def _fail_suite(path: Path, exc: SuiteError) -> None:
    err_console.print(f"[bold red]invalid suite[/] {path}:", highlight=False, soft_wrap=True)
    for p in exc.problems:
        err_console.print(f"  {p}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _load(path: Path):
    from ganbench.config.suite import load_suite

    try:
        return load_suite(path)
    except SuiteError as exc:
        _fail_suite(path, exc)


@app.command()
def validate(suite: Path = typer.Argument(..., help="Path of the suite YAML file.")) -> None:
    """Check a suite without running it: prints 'ok: N trials, M seeds each' or every problem
    (field path and line) and exits with code 2."""
    from ganbench.config.suite import expand

    from ganbench.config.sweep import grid_size as _grid_size

    s, _ = _load(suite)
    specs = expand(s)
    per = 1
    if s.sweep:
        per = int(s.sweep.get("samples", 1)) * _grid_size(s.sweep)
        console.print(f"ok: {len(specs) * per} trials ({len(specs)} dataset × combo × {per} "
                      f"hyperparameter samples), {s.seeds} seeds each", highlight=False, soft_wrap=True)
    else:
        console.print(f"ok: {len(specs)} trials, {s.seeds} seeds each", highlight=False, soft_wrap=True)
    _print_design(s, specs, per)


def _print_design(s, specs, per: int) -> None:
    """Per dataset, the smallest p-value the design can reach after Holm; a warning (exit 0)
    where it is not below alpha."""
    from ganbench.results.stage import design_table

    counts: dict[str, dict[str, int]] = {}
    for sp in specs:
        counts.setdefault(sp.dataset, {})[sp.combo] = len(sp.seeds) * per
    for _, r in design_table(counts, s.baseline).iterrows():
        if r["n_comparisons"] < 1 or r["n_baseline"] < 1:
            console.print(f"design: {r['dataset']}: no comparison with the baseline",
                          highlight=False, soft_wrap=True)
            continue
        base = ("the baseline" if r["baseline"] == s.baseline
                else f"{r['baseline']} (the suite's baseline did not run on {r['dataset']})")
        line = (f"design: {r['dataset']}: {int(r['n_comparisons'])} comparisons with {base}, "
                f"{int(r['n_min'])} vs {int(r['n_baseline'])} runs; smallest reachable "
                f"Holm p = {r['min_p_holm']:.3g}")
        if r["can_reach"]:
            console.print(line + f" (< α = {r['alpha']:g})", highlight=False, soft_wrap=True)
        else:
            err_console.print(f"warning: {line}, not below α = {r['alpha']:g}: no comparison can "
                              "be significant; add seeds or drop comparisons", markup=False,
                              highlight=False, soft_wrap=True)


def _process_settings(kernels: Optional[str], tune: bool):
    """The trial processes' settings from ``--kernels`` / ``--[no-]process-settings`` and the
    environment; an invalid value exits 2."""
    from ganbench.run.process import ProcessSettings

    try:
        return ProcessSettings.from_env(tune=None if tune else False, kernels=kernels)
    except ValueError as exc:
        err_console.print(f"error: --kernels / $GANBENCH_KERNELS: {exc}", markup=False)
        raise typer.Exit(2)


@app.command()
def run(
    suite: Optional[Path] = typer.Argument(None, help="Path of the suite YAML file (omit with "
                                           "--resume, which reads the run folder's copy)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder to create (default: "
                                       "reports/<suite name>/<UTC timestamp>/)."),
    address: Optional[str] = typer.Option(None, "--address", help="Join an existing Ray cluster "
                                          "at this address (e.g. 10.0.0.1:6379 or 'auto') instead "
                                          "of starting a local Ray."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Override budget.steps for a "
                                        "quick look (recorded in the manifest)."),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="Override the number of seeds "
                                        "(recorded in the manifest)."),
    max_concurrent: Optional[int] = typer.Option(None, "--max-concurrent", min=1,
                                                 help="At most this many trials at once "
                                                      "(default: as many as resources allow)."),
    cpus_per_trial: Optional[float] = typer.Option(None, "--cpus-per-trial", min=0.01,
                                                   help="CPUs per trial (overrides "
                                                        "resources.cpus_per_trial); a trial uses "
                                                        "this many torch threads."),
    gpus_per_trial: Optional[float] = typer.Option(None, "--gpus-per-trial", min=0.0,
                                                   help="GPUs per trial, fractional to share one "
                                                        "GPU (overrides resources.gpus_per_trial)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted run "
                                          "folder; finished trials are not rerun."),
    quiet: bool = typer.Option(False, "--quiet", help="No live view of the running trials "
                               "(by default a table of each running trial's step, steps/s and "
                               "latest evaluation, with the suite's progress and ETA)."),
    kernels: Optional[str] = typer.Option(None, "--kernels", help="Optional compiled accelerators "
                                          "(the fused toy critic): 'auto' compiles them where a C "
                                          "compiler is found, 'off' runs pure torch. Results agree "
                                          "to float rounding. Default: $GANBENCH_KERNELS, else "
                                          "auto. A resumed run keeps its recorded choice."),
    process_settings: bool = typer.Option(True, "--process-settings/--no-process-settings",
                                          help="Apply ganbench's speed settings in the trial "
                                               "processes (GOMP_SPINCOUNT=30000, glibc allocator "
                                               "thresholds; recorded in the manifest). Off leaves "
                                               "them at torch's and glibc's defaults. Timings only, "
                                               "never results."),
) -> None:
    """Run every trial of a suite through Ray Tune and write the run folder and report."""
    from ganbench.pipeline import OutputError, default_run_dir, prepare_run_dir, run_suite

    settings = _process_settings(kernels, process_settings)  # before anything is read or created
    from ganbench.config.suite import apply_overrides

    command = "ganbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if resume is not None:
        suite_file = resume / "suite.yaml"
        if not suite_file.is_file():
            err_console.print(f"error: {resume} is not a run folder (no suite.yaml)")
            raise typer.Exit(2)
        from ganbench.run.manifest import Manifest

        try:
            previous = Manifest.read(resume)
        except (OSError, ValueError) as exc:
            err_console.print(f"error: {resume}/manifest.json cannot be read ({exc})", markup=False)
            raise typer.Exit(2)
        s, text = _load(suite_file)
        ov = previous.overrides
        s, _ = apply_overrides(s, steps=ov.get("budget.steps"), seeds=ov.get("seeds"))
        _apply_resources(s, previous.resources.get("cpus_per_trial"),
                         previous.resources.get("gpus_per_trial"))
        run_dir = resume
        overrides = ov
    else:
        if suite is None:
            err_console.print("error: give a SUITE file, or --resume RUN_DIR")
            raise typer.Exit(2)
        s, text = _load(suite)
        try:
            s, overrides = apply_overrides(s, steps=steps, seeds=seeds)
        except SuiteError as exc:
            _fail_suite(suite, exc)
        if cpus_per_trial is not None:
            overrides["resources.cpus_per_trial"] = cpus_per_trial
        if gpus_per_trial is not None:
            overrides["resources.gpus_per_trial"] = gpus_per_trial
        _apply_resources(s, cpus_per_trial, gpus_per_trial)
        run_dir = out if out is not None else default_run_dir(s)
        try:
            prepare_run_dir(run_dir)
        except OutputError as exc:
            err_console.print(f"error: {exc}", markup=False)
            raise typer.Exit(2)
    manifest = run_suite(s, text, run_dir, overrides=overrides, command=command, address=address,
                         max_concurrent=max_concurrent, show_progress=not quiet,
                         resume=resume is not None, settings=settings)
    _print_summary(run_dir)
    if (run_dir / "reproduction_claims.csv").is_file():
        _print_claims(manifest.suite_name, run_dir)
    console.print(f"status: {manifest.status}, wall time {manifest.wall_s:.1f} s", highlight=False, soft_wrap=True)
    console.print(f"report: {run_dir / 'report.html'}", highlight=False, soft_wrap=True)
    if manifest.status != "complete":
        console.print(f"the run is partial; finish it with: ganbench run --resume {shlex.quote(str(run_dir))}",
                      highlight=False, soft_wrap=True)


def _apply_resources(s, cpus: float | None, gpus: float | None) -> None:
    if cpus is not None:
        s.resources.cpus_per_trial = float(cpus)
    if gpus is not None:
        s.resources.gpus_per_trial = float(gpus)


def _print_summary(run_dir: Path) -> None:
    """Print the run folder's summary in the console's width (``report.terminal``)."""
    from ganbench.report.terminal import print_summary

    print_summary(console, run_dir)


@app.command()
def report(run_dir: Path = typer.Argument(..., help="A run folder written by 'ganbench run'.")) -> None:
    """Recompute the results stage (verdicts, summary, comparisons, design) from a run folder's
    trials and history, then rebuild report.html and the exports, without retraining."""
    from ganbench.pipeline import report_run
    from ganbench.report.build import load_run

    if not run_dir.is_dir():
        err_console.print(f"error: {run_dir} is not a folder")
        raise typer.Exit(2)
    for warning in load_run(run_dir).warnings:
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    path = report_run(run_dir)
    console.print(f"report: {path}", highlight=False, soft_wrap=True)


#: Where ``ganbench reproduce`` finds its suites and writes its runs (relative to the cwd).
REPRODUCTIONS_DIR = Path("suites/reproductions")
REPRODUCTIONS_OUT = Path("reports/reproductions")


def _reproduction_state(run_dir: Path, sha: str, overrides: dict) -> str:
    """``new`` (no run yet), ``done`` (a complete run of this exact suite text and overrides),
    ``resume`` (an interrupted run of it) or ``stale`` (a run of different suite text or
    overrides, or an unreadable one)."""
    from ganbench.run.manifest import Manifest

    if not (run_dir / "manifest.json").is_file():
        return "new"
    try:
        m = Manifest.read(run_dir)
    except (OSError, ValueError):
        return "stale"
    if m.suite_sha256 != sha or m.overrides != overrides:
        return "stale"
    return "done" if m.status == "complete" else "resume"


def _print_claims(name: str, run_dir: Path) -> dict[str, int]:
    import pandas as pd

    from ganbench.results.reproduction import MARKS

    path = run_dir / "reproduction_claims.csv"
    counts = dict.fromkeys(MARKS, 0)
    if not path.is_file():
        console.print(f"{name}: no claim table (the run has no results yet)", highlight=False)
        return counts
    df = pd.read_csv(path)
    table = Table(title=f"{name}: claims", title_justify="left")
    for col, kw in (("claim", {}), ("claimed", {}), ("measured", {"justify": "right"}),
                    ("mark", {})):
        table.add_column(col, **kw)
    style = {"reproduced": "green", "not reproduced": "red", "inconclusive": "yellow"}
    for _, r in df.iterrows():
        mark = str(r["mark"])
        counts[mark] = counts.get(mark, 0) + 1
        table.add_row(str(r["claim"]), str(r.get("claimed", "")), str(r.get("measured", "")),
                      f"[{style.get(mark, 'white')}]{mark}[/]")
    console.print(table)
    return counts


def _exit_error(message: str) -> None:
    """Print ``error: message`` on one line of stderr and exit 2."""
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _load_reproductions(names: list[str] | None, suites_dir: Path, steps: int | None,
                        seeds: int | None) -> dict[str, tuple]:
    """Validate the chosen reproduction suites (default: all in ``suites_dir``) before any runs:
    name → (suite with the overrides applied, suite text, overrides). Exits 2 on a problem."""
    from ganbench.config.suite import apply_overrides

    available = sorted(p.stem for p in suites_dir.glob("*.yaml")) if suites_dir.is_dir() else []
    if not available:
        _exit_error(f"no reproduction suites in {suites_dir}")
    chosen = list(names or available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        _exit_error(f"unknown reproduction suite(s) {', '.join(unknown)}; available: "
                    f"{', '.join(available)}")
    loaded = {}
    for name in chosen:
        path = suites_dir / f"{name}.yaml"
        s, text = _load(path)
        if s.reference is None:
            _exit_error(f"{path} has no reference block")
        try:
            s, overrides = apply_overrides(s, steps=steps, seeds=seeds)
        except SuiteError as exc:
            _fail_suite(path, exc)
        loaded[name] = (s, text, overrides)
    return loaded


@app.command()
def reproduce(
    names: Optional[list[str]] = typer.Argument(None, help="Reproduction suites to run, by name "
                                                "(the file name in suites/reproductions without "
                                                ".yaml); default: all of them."),
    suites_dir: Path = typer.Option(REPRODUCTIONS_DIR, "--suites-dir",
                                    help="Folder of the reproduction suites."),
    out: Path = typer.Option(REPRODUCTIONS_OUT, "--out", help="Parent folder of the run folders "
                             "(one per suite, named after it)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Override budget.steps of "
                                        "every suite (a quick look; the protocol table then "
                                        "lists the change as a difference from the paper)."),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="Override the seeds of "
                                        "every suite."),
    list_only: bool = typer.Option(False, "--list", help="List the reproduction suites and the "
                                   "state of their runs; run nothing."),
    rerun: bool = typer.Option(False, "--rerun", help="Start over where a run of different suite "
                               "text or overrides is in the way (its folder is replaced)."),
    quiet: bool = typer.Option(False, "--quiet", help="No live view of the running trials (as for 'ganbench run')."),
    kernels: Optional[str] = typer.Option(None, "--kernels", help="Optional compiled accelerators: "
                                          "auto (default) or off; as for 'ganbench run'."),
) -> None:
    """Run the paper-reproduction suites and print each one's claim table.

    A suite whose run folder already holds a complete run of the same suite text is not rerun
    (its claims are printed from the folder); an interrupted run is resumed; every finished
    trial is kept. Each run folder has the full report with its Reproduction section.
    """
    import shutil

    from ganbench.config.suite import suite_hash
    from ganbench.pipeline import OutputError, prepare_run_dir, run_suite
    from ganbench.results.reproduction import MARKS

    settings = _process_settings(kernels, True)
    loaded = _load_reproductions(names, suites_dir, steps, seeds)
    if list_only:
        for name, (s, text, overrides) in loaded.items():
            state = _reproduction_state(out / name, suite_hash(text), overrides)
            console.print(f"{name:<28} {state:<7} {s.reference.title}",
                          markup=False, highlight=False, soft_wrap=True)
        return
    totals = dict.fromkeys(MARKS, 0)
    for name, (s, text, overrides) in loaded.items():
        run_dir = out / name
        state = _reproduction_state(run_dir, suite_hash(text), overrides)
        if state == "stale":
            if not rerun:
                _exit_error(f"{run_dir} holds a run of different suite text or overrides; pass "
                            "--rerun to replace it, or --out elsewhere")
            shutil.rmtree(run_dir)
            state = "new"
        if state != "done":
            try:
                if state == "new":
                    prepare_run_dir(run_dir)
            except OutputError as exc:
                _exit_error(str(exc))
            console.print(f"{name}: {'resuming' if state == 'resume' else 'running'} -> {run_dir}",
                          highlight=False, soft_wrap=True)
            command = "ganbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
            run_suite(s, text, run_dir, overrides=overrides, command=command,
                      show_progress=not quiet, resume=state == "resume", settings=settings)
        for mark, k in _print_claims(name, run_dir).items():
            totals[mark] = totals.get(mark, 0) + k
        console.print(f"report: {run_dir / 'report.html'}", highlight=False, soft_wrap=True)
    console.print(f"claims: {totals['reproduced']} reproduced, {totals['not reproduced']} not "
                  f"reproduced, {totals['inconclusive']} inconclusive", highlight=False)


@app.command("list")
def list_() -> None:
    """List the registered datasets, losses, remedies, activations and metrics."""
    from ganbench.components.data.toy import DATASETS
    from ganbench.results.metrics import METRICS
    from ganbench.components.nets.activations import ACTIVATIONS
    from ganbench.components.objectives import LOSSES
    from ganbench.components.remedies import REMEDIES

    for title, reg in (("datasets", DATASETS), ("losses", LOSSES), ("remedies", REMEDIES),
                       ("activations", ACTIVATIONS), ("metrics", METRICS)):
        console.print(f"[bold]{title}[/]")
        entries = list(reg)
        if not entries:
            console.print("  (none yet)")
        width = max((len(e.name) for e in entries), default=0)
        for e in entries:
            console.print(f"  {e.name:<{width}}  {e.description}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def compare(
    runs: list[Path] = typer.Argument(..., metavar="RUN_DIR",
                                      help="Two or more run folders; the first is the reference "
                                           "(A) that every other one is compared with."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for compare.html and "
                                       "compare.csv (default: reports/compare/<UTC timestamp>/)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Also compare runs whose "
                                       "manifest status is not 'complete' (only the seeds that "
                                       "ran count)."),
) -> None:
    """Compare run folders: the first is the reference (A), every other one is compared with it.

    On each dataset × combo the runs share, every compared metric gets the statistics of the
    report's comparison with the baseline: the difference of means (run − A) with its 95% Welch
    interval, the median difference, Cliff's δ with its 95% interval, the exact rank test and
    Holm's correction within each dataset × metric, diverged seeds ranked worst. Every manifest
    field that differs is listed (suite hash and a diff of suite.yaml, ganbench and package
    versions, overrides, machine, device, resources, process settings, git commit). Prints the
    significant differences and the protocol differences; writes compare.html and compare.csv.

    Typical uses: a new remedy against a stored baseline run; the same suite on two ganbench
    versions (a regression check); a CPU run against a GPU run.

    Exits 2 when a folder is not a run folder, is truncated (manifest or trials missing or
    unreadable) or partial (unless --allow-partial), or the runs share no dataset × combo.
    """
    from ganbench.report.compare import default_compare_dir, terminal_lines, write_compare
    from ganbench.results.compare import CompareError, compare_run_folders

    try:
        comparison = compare_run_folders(runs, allow_partial=allow_partial)
    except CompareError as exc:
        _exit_error(str(exc))
    out_dir = out if out is not None else default_compare_dir()
    try:
        html, csv = write_compare(comparison, out_dir)
    except OSError as exc:
        _exit_error(f"cannot write into {out_dir} ({exc})")
    for line in terminal_lines(comparison) + [f"compare.html: {html}", f"compare.csv: {csv}"]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
