"""A real two-node Ray cluster on this machine: a head and a second node started with
``ray start`` as separate processes, a suite run with ``--address``, and every result back.

Also holds the helpers the other Ray end-to-end tests share (``ray_tmpdir``, ``kill_ray``).
Each test gives its Ray a fresh, short ``RAY_TMPDIR``; at the end it kills, by process id,
exactly the processes whose environment carries that ``RAY_TMPDIR``. (``ray stop`` is not
used: it kills every Ray process on the machine, including those of other users or tests.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_SUITE

RAY = Path(sys.executable).with_name("ray")
QUIET = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AIR_NEW_OUTPUT": "0"}


# ----------------------------------------------------------------------------- shared helpers
def ray_env(tmpdir: str | Path, **extra: str) -> dict[str, str]:
    """The environment for a Ray process of one test: quiet, with its own RAY_TMPDIR."""
    return {**os.environ, **QUIET, "RAY_TMPDIR": str(tmpdir), **extra}


def ray_pids(tmpdir: str | Path) -> list[int]:
    """Ids of the processes started with ``RAY_TMPDIR=<tmpdir>`` (Ray's daemons and workers
    inherit it from whoever started them), this process excluded."""
    tag = f"RAY_TMPDIR={tmpdir}".encode()
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if tag in fh.read().split(b"\0"):
                    pids.append(int(name))
        except OSError:
            pass
    return pids


def kill_ray(tmpdir: str | Path, timeout: float = 15.0) -> list[int]:
    """SIGKILL every process of this test's Ray (by id); returns the ids found."""
    found = ray_pids(tmpdir)
    deadline = time.monotonic() + timeout
    pids = found
    while pids and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
        pids = [p for p in ray_pids(tmpdir) if _alive(p)]
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def ray_tmpdir():
    """A short, fresh RAY_TMPDIR (Unix socket paths must stay under 108 characters); every Ray
    process started with it is killed at teardown."""
    d = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    try:
        yield Path(d)
    finally:
        kill_ray(d)
        shutil.rmtree(d, ignore_errors=True)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ganbench(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
             ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


# ----------------------------------------------------------------------------- the cluster test
def _ray_start(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run([str(RAY), "start", *args, "--num-cpus", "1",
                           "--node-ip-address", "127.0.0.1", "--disable-usage-stats"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


_ALIVE_NODES = """\
import json, ray, sys
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
print(json.dumps(sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])))
"""


@pytest.mark.skipif(not RAY.exists(), reason=f"no 'ray' executable beside {sys.executable}")
def test_two_node_cluster_runs_suite(tmp_path, ray_tmpdir):
    port, agent1, agent2 = free_ports(3)
    env = ray_env(ray_tmpdir)
    address = f"127.0.0.1:{port}"
    t0 = time.perf_counter()
    try:
        _ray_start(["--head", "--port", str(port), "--include-dashboard=false",
                    "--dashboard-agent-listen-port", str(agent1)], env)
        _ray_start(["--address", address, "--dashboard-agent-listen-port", str(agent2)], env)
        nodes = subprocess.run([sys.executable, "-c", _ALIVE_NODES, address], env=env,
                               capture_output=True, text=True, timeout=120)
        assert nodes.returncode == 0, nodes.stderr
        node_ids = json.loads(nodes.stdout.strip().splitlines()[-1])
        assert len(node_ids) == 2, node_ids

        suite = tmp_path / "tiny.yaml"
        suite.write_text(TINY_SUITE)
        out = tmp_path / "run"
        proc = ganbench(["run", str(suite), "--address", address, "--out", str(out), "--quiet"],
                        tmp_path, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        killed = kill_ray(ray_tmpdir)
    print(f"\ncluster test: {time.perf_counter() - t0:.1f} s, {len(killed)} Ray processes stopped")
    assert killed, "found no Ray process to stop: the cleanup would miss them"
    assert ray_pids(ray_tmpdir) == []

    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 2 * 2 * 2  # datasets × combos × seeds
    assert (trials.status == "ok").all(), trials[["dataset", "combo", "seed", "status", "error"]]
    assert (trials.steps == 60).all()
    for row in trials.itertuples():
        assert (out / "samples" / f"{row.dataset}__{row.combo}__seed{row.seed}.npy").is_file()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert (out / "report.html").is_file() and (out / "history.parquet").is_file()
    # every trial checkpointed into the run folder, and the trials ran on both nodes
    ran_on = [json.loads(p.read_text())["node_id"]
              for p in sorted((out / "ray").glob("*/*/checkpoint_*/rows.json"))]
    assert len(ran_on) == 4
    assert set(ran_on) == set(node_ids), (ran_on, node_ids)
