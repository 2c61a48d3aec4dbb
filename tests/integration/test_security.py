"""Security: suite text is escaped in the report, the suite cannot steer output or reach a
shell, YAML is loaded safely and bounded, nothing unpickles, and a damaged run folder still
reports."""

from __future__ import annotations

import ast
import subprocess
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape

import ganbench
from ganbench.pipeline import default_run_dir
from ganbench.report import diagnosis
from ganbench.config.suite import load_suite, parse_suite
from ganbench.config.yamlio import MAX_BYTES, SuiteError, load_yaml
from tests.integration.test_cluster import ganbench as run_cli
from tests.integration.test_cluster import kill_ray, ray_env

XSS = '<script>alert(1)</script>'
DESCRIPTION = f'Hostile {XSS} "double" \'single\' & <b>bold</b>'
COMBO_DESCRIPTION = f'combo {XSS.replace("1", "2")} "quoted"'
GOOD = """\
name: sec.test-1
description: '{description}'
seeds: 1
budget: {{steps: 40, eval_every: 20, eval_samples: 100, log_every: 10}}
datasets:
  ring: {{}}
model: {{generator: {{hidden: [8], z_dim: 2}}, discriminator: {{hidden: [8]}}, activation: relu}}
optimizer: {{name: adam, lr: 1.0e-3, batch_size: 16}}
baseline: vanilla
combos:
  vanilla: {{loss: non_saturating, description: '{combo_description}'}}
  lsq: {{loss: least_squares}}
# a comment with {xss}
"""
SUITE = GOOD.format(description=DESCRIPTION.replace("'", "''"),
                    combo_description=COMBO_DESCRIPTION, xss=XSS.replace("1", "3"))
PACKAGE = Path(ganbench.__file__).resolve().parent
FILES = sorted(PACKAGE.rglob("*.py"))


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ----------------------------------------------------------------------------- one real run
@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A run of a suite full of markup, from a clean working directory and HOME, to an
    ``--out`` whose path has a space and a missing parent."""
    root = tmp_path_factory.mktemp("sec")
    cwd, home = root / "cwd", root / "home"
    cwd.mkdir(), home.mkdir()
    (cwd / "hostile.yaml").write_text(SUITE)
    out = root / "out dir" / "run"
    rt = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    try:
        proc = run_cli(["run", "hostile.yaml", "--out", str(out), "--quiet"], cwd,
                       ray_env(rt, HOME=str(home)))
    finally:
        kill_ray(rt)
        shutil.rmtree(rt, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, out


def test_suite_text_is_escaped_in_report(hostile_run):
    _, out = hostile_run
    html = (out / "report.html").read_text(encoding="utf-8")
    # No script from the suite: the only one is the report's own inline table sorter, which the
    # page's Content-Security-Policy allows by its hash (see ganbench.report.diagnosis).
    assert re.findall(r"<script\b[^>]*>", html.lower()) == ["<script>"]
    assert "<script>alert" not in html.lower()
    assert diagnosis.SORT_SCRIPT in html and diagnosis.script_csp_hash() in html
    assert "<b>bold</b>" not in html
    assert str(escape(DESCRIPTION)) in html  # the description, escaped
    assert str(escape(XSS.replace("1", "3"))) in html  # the suite text (its comment), escaped
    assert str(escape(COMBO_DESCRIPTION)) in html  # a combo's description, escaped
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["description"] == DESCRIPTION  # stored verbatim, escaped only on display
    for name in ("summary.tex", "citation.bib"):
        text = (out / name).read_text(encoding="utf-8")
        assert "<script>" not in text, name


def test_out_is_honoured_exactly(hostile_run):
    root, out = hostile_run
    assert sorted(p.name for p in root.iterdir()) == ["cwd", "home", "out dir"]
    assert _tree(root / "cwd") == {"hostile.yaml"}  # no reports/ in the working directory
    assert _tree(root / "home") == set(), "the run wrote under HOME"
    assert [p.name for p in (root / "out dir").iterdir()] == ["run"]
    for name in ("report.html", "manifest.json", "suite.yaml", "trials.parquet", "trials.csv",
                 "history.parquet", "summary.csv"):
        assert (out / name).is_file(), name
    assert (out / "suite.yaml").read_text() == SUITE
    assert not list(out.rglob(".*.tmp"))
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 2 and (trials.status == "ok").all()


def test_damaged_run_folder_still_reports(hostile_run, tmp_path):
    _, out = hostile_run
    damaged = shutil.copytree(out, tmp_path / "damaged", ignore=shutil.ignore_patterns("ray"))
    parquet = damaged / "trials.parquet"
    parquet.write_bytes(parquet.read_bytes()[: parquet.stat().st_size // 2])  # truncated
    (damaged / "history.parquet").unlink()
    (damaged / "report.html").unlink()
    proc = run_cli(["report", str(damaged)], tmp_path, ray_env("/nonexistent"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (damaged / "report.html").read_text(encoding="utf-8")
    warnings = html.split('id="warnings"', 1)[1].split("</div>", 1)[0]
    assert "trials.parquet" in warnings and "trials.csv" in warnings  # fell back to the CSV
    assert "history.parquet" in warnings
    assert len(pd.read_csv(damaged / "summary.csv")) == 2  # the results still made it


# ----------------------------------------------------------------------------- names and paths
@pytest.mark.parametrize("field, value", [
    ("name", f'x"{XSS}'),
    ("name", "../../x"),
    ("combo", XSS),
])
def test_hostile_names_are_refused_before_anything_is_written(tmp_path, field, value):
    text = SUITE.replace("name: sec.test-1", f"name: '{value}'") if field == "name" else \
        SUITE.replace("  lsq:", f"  '{value}':")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "evil.yaml").write_text(text)
    before = _tree(tmp_path)
    proc = run_cli(["run", "evil.yaml", "--quiet"], deep, ray_env("/nonexistent"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "name" in proc.stderr and "Traceback" not in proc.stderr
    assert _tree(tmp_path) == before  # no reports/ here, nor two levels up


TRAILING_NEWLINE = "x\n"  # a '$'-anchored pattern would accept it; names use fullmatch


@pytest.mark.parametrize("name", ["..", "../../x", "a/../../b", "/etc/x", "a/b", "a\\b", ".hidden",
                                  "-rf", "a b", TRAILING_NEWLINE, "", "é", "a" * 65, "x;rm -rf ~",
                                  "$(id)", "x\u0000"])
def test_unsafe_suite_names(name):
    with pytest.raises(SuiteError, match="name"):
        parse_suite(SUITE.replace("name: sec.test-1", f"name: {json.dumps(name)}"))


@pytest.mark.parametrize("name", [XSS, 'a"b', "../x", "a/b", "..", "a b", "-x", ""])
def test_unsafe_combo_names(name):
    with pytest.raises(SuiteError, match="combo name"):
        parse_suite(SUITE.replace("  lsq:", f"  {json.dumps(name)}:"))


@pytest.mark.parametrize("name", ["a", "x.y-z_1", "A" * 64, "9lives", "a.b.c"])
def test_default_run_dir_stays_under_reports(name):
    suite = parse_suite(SUITE.replace("name: sec.test-1", f"name: {name}"))
    path = default_run_dir(suite, Path("reports")).resolve()
    assert path.parent.parent == Path("reports").resolve()


# ----------------------------------------------------------------------------- YAML
UNSAFE_YAML = [
    "name: !!python/object/apply:os.system ['touch PWNED']\n",
    "!!python/object/apply:os.system ['touch PWNED']\n",
    "name: !!python/object/new:subprocess.Popen [['touch', 'PWNED']]\n",
    "name: !!python/name:os.system\n",
    "name: !!python/module:os\n",
    "name: !!binary aGVsbG8=\nseeds: 1\n",
]


@pytest.mark.parametrize("text", UNSAFE_YAML)
def test_unsafe_yaml_tags_are_refused_without_running(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SuiteError):
        parse_suite(text)
    assert not (tmp_path / "PWNED").exists()


def test_unsafe_yaml_refused_by_cli(tmp_path):
    (tmp_path / "evil.yaml").write_text(UNSAFE_YAML[0] + SUITE.split("\n", 1)[1])
    proc = run_cli(["validate", "evil.yaml"], tmp_path, ray_env("/nonexistent"))
    assert proc.returncode == 2 and "unsupported YAML tag" in proc.stderr, proc.stderr
    assert not (tmp_path / "PWNED").exists()


def test_alias_bomb_and_deep_nesting_are_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    for text, message in ((bomb, "alias bomb"), ("x: " + "[" * 5000 + "]" * 5000, "deep")):
        t0 = time.perf_counter()
        with pytest.raises(SuiteError, match=message):
            load_yaml(text)
        assert time.perf_counter() - t0 < 30  # a sanity bound: it must not hang


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(SUITE + "#" + "x" * (MAX_BYTES + 10) + "\n")
    t0 = time.perf_counter()
    with pytest.raises(SuiteError, match="larger than"):
        load_suite(path)
    with pytest.raises(SuiteError, match="larger than"):
        load_yaml(path.read_bytes())
    assert time.perf_counter() - t0 < 30  # a sanity bound: it must not hang
    proc = run_cli(["validate", str(path)], tmp_path, ray_env("/nonexistent"))
    assert proc.returncode == 2 and "larger than" in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------- the source
def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "<expr>")
    return ".".join(reversed(parts))


def _kw(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else kw.value
    return None


PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                  "joblib"}
UNSAFE_CALLS = {"yaml.load", "yaml.load_all", "yaml.unsafe_load", "yaml.full_load",
                "yaml.unsafe_load_all", "yaml.full_load_all", "pd.read_pickle", "pandas.read_pickle",
                "eval", "exec", "compile", "__import__"}


def _unsafe_loads(src: str, rel: str) -> list[str]:
    """Lines of ``src`` that may unpickle or evaluate data."""
    bad = []
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n.split(".")[0] in PICKLE_MODULES for n in names):
                bad.append(f"{rel}:{node.lineno}: imports a pickle module")
            if isinstance(node, ast.ImportFrom) and node.module == "torch" and \
                    any(a.name == "load" for a in node.names):
                bad.append(f"{rel}:{node.lineno}: from torch import load")
    for call in _calls(tree):
        name = _dotted(call.func)
        if name.endswith("torch.load"):
            unsafe = _kw(call, "weights_only") is not True
        elif name.split(".")[-1] == "load" and name.split(".")[0] in {"np", "numpy"}:
            unsafe = _kw(call, "allow_pickle") not in (None, False)
        else:
            unsafe = name in UNSAFE_CALLS or name.endswith(("torch.jit.load", "torch.hub.load",
                                                             "load_state_dict_from_url"))
        if unsafe:
            bad.append(f"{rel}:{call.lineno}: {ast.get_source_segment(src, call)}")
    for attr in ("yaml.Loader", "yaml.UnsafeLoader", "yaml.FullLoader"):
        if attr in src:
            bad.append(f"{rel}: uses {attr}")
    return bad


def test_scanners_catch_unsafe_code():
    for snippet in ("import torch\nx = torch.load(p)\n", "x = torch.load(p, weights_only=False)\n",
                    "from torch import load\n", "import pickle\n", "np.load(p, allow_pickle=True)\n",
                    "yaml.load(t, Loader=yaml.Loader)\n", "eval(s)\n", "pd.read_pickle(p)\n"):
        assert _unsafe_loads(snippet, "x.py"), snippet
    assert not _unsafe_loads("torch.load(p, weights_only=True)\nnp.load(p)\nm.eval()\n", "x.py")
    for snippet in ("import subprocess\n", "from subprocess import run\n", "os.system(c)\n",
                    "os.execvp(a, b)\n", "f(c, shell=True)\n", "from os import popen\n"):
        assert _shell_uses(ast.parse(snippet)), snippet
    assert not _shell_uses(ast.parse("x = 'LaTeX commands.'\nos.path.join(a)\n"))


def test_nothing_unpickles():
    """torch.load only with weights_only=True; no np.load(allow_pickle=True), pickle, unsafe
    YAML loaders or eval/exec in the package."""
    bad = []
    for path in FILES:
        bad += _unsafe_loads(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert not bad, "unsafe loading:\n" + "\n".join(bad)
    import yaml

    from ganbench.config import yamlio

    assert issubclass(yamlio._Loader, yaml.SafeLoader)


SHELL_MODULES = {"subprocess", "pty", "commands", "popen2", "asyncio.subprocess"}
SHELL_CALLS = ("os.system", "os.popen", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
               "asyncio.create_subprocess")
# git rev-parse HEAD, and the C compiler building ganbench's own kernel sources: fixed arguments
ALLOWED_SHELL_FILES = {"ganbench/run/manifest.py", "ganbench/components/accel/__init__.py"}


def _shell_uses(tree: ast.AST) -> list[str]:
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            uses += [a.name for a in node.names if a.name in SHELL_MODULES]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            uses += [f"{mod}.{a.name}" for a in node.names
                     if mod in SHELL_MODULES or f"{mod}.{a.name}".startswith(SHELL_CALLS)]
        elif isinstance(node, ast.Attribute) and _dotted(node).startswith(SHELL_CALLS):
            uses.append(_dotted(node))
        elif isinstance(node, ast.keyword) and node.arg == "shell":
            uses.append("shell=")
    return uses


def test_no_suite_value_reaches_a_shell():
    users = {}
    for path in FILES:
        hits = _shell_uses(ast.parse(path.read_text(encoding="utf-8")))
        if hits:
            users[str(path.relative_to(PACKAGE.parent))] = hits
    assert set(users) == ALLOWED_SHELL_FILES, users
    assert users["ganbench/run/manifest.py"] == ["subprocess"]
    # and the one use runs git with fixed arguments, no shell, nothing from a suite
    src = (PACKAGE / "run" / "manifest.py").read_text(encoding="utf-8")
    calls = [c for c in _calls(ast.parse(src)) if _dotted(c.func).startswith(("subprocess", "os."))
             and _dotted(c.func).split(".")[-1] in {"run", "Popen", "call", "check_call",
                                                       "check_output", "system", "popen"}]
    assert len(calls) == 1
    (call,) = calls
    argv = call.args[0]
    assert isinstance(argv, ast.List)
    assert [getattr(a, "value", None) for a in argv.elts] == ["git", "-C", None, "rev-parse", "HEAD"]
    assert ast.unparse(argv.elts[2]) == "str(root)"
    assert _kw(call, "shell") in (None, False)


def test_git_commit_runs_git_on_the_package_folder_only(monkeypatch):
    # behaviour, not source text: the one subprocess of the manifest runs git, without a shell,
    # on the package's own checkout and nothing else
    from ganbench.run import manifest

    seen = []

    def fake_run(argv, **kw):
        seen.append((argv, kw))
        return subprocess.CompletedProcess(argv, 0, stdout="abc123\n", stderr="")

    monkeypatch.setattr(manifest.subprocess, "run", fake_run)
    assert manifest.git_commit() == "abc123"
    (argv, kw), = seen
    assert argv == ["git", "-C", str(PACKAGE.parent), "rev-parse", "HEAD"]
    assert not kw.get("shell")


def test_kernel_compiler_runs_without_shell_on_the_package_sources_only():
    src = (PACKAGE / "components" / "accel" / "__init__.py").read_text(encoding="utf-8")
    calls = [c for c in _calls(ast.parse(src)) if _dotted(c.func).startswith("subprocess")]
    assert len(calls) == 2  # the flag probe and the build
    for call in calls:
        argv = call.args[0]
        assert isinstance(argv, ast.List)
        assert ast.unparse(argv.elts[0]) == "cc"  # $CC or "cc": the user's own compiler setting
        assert _kw(call, "shell") in (None, False)
    from ganbench.components import accel

    assert {p.name for p in accel.HERE.glob("*.c")} == {"critic.c"}


def test_kernel_build_compiles_only_the_package_source(monkeypatch, tmp_path):
    # behaviour, not source text: building a kernel runs the compiler, without a shell, on the
    # package's own .c file and writes only into the kernel cache
    from ganbench.components import accel as kernels

    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "cc")
    builds = []

    def fake_run(argv, **kw):
        assert not kw.get("shell")
        if "-" not in argv:  # the build (flag probes read their program from stdin, "-")
            builds.append(list(argv))
            raise subprocess.CalledProcessError(1, argv)  # stop before loading a library
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(kernels.subprocess, "run", fake_run)
    kernels._flags.cache_clear()
    with pytest.raises(subprocess.CalledProcessError):
        kernels._compile("critic")
    kernels._flags.cache_clear()
    (argv,) = builds
    assert argv[0] == "cc" and argv[-1] == str(PACKAGE / "components" / "accel" / "critic.c")
    out = Path(argv[argv.index("-o") + 1])
    assert tmp_path in out.parents
