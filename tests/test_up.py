"""`driftmon up` as a user runs it: it reports a drift, and stops cleanly on time or on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.testing import wait_until

pytestmark = pytest.mark.integration

CONFIG = """
simulator:
  rate: 300
  drift: {after_seconds: 30, model: atlas-2, surface: chat, factor: 3}
detectors:  # the default baseline (1,000 events) takes 75 s here; 200 events take 15 s
  params: {arl0: 1000000, min_events: 200}
"""


def start_up(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    (tmp_path / "up.yaml").write_text(CONFIG)
    cmd = [sys.executable, "-m", "monitor.cli", "up", "--config", "up.yaml", *args]
    return subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def pids(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"pid (\d+)", output)]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_up_reports_the_drift_and_leaves_nothing_behind(tmp_path: Path) -> None:
    proc = start_up(tmp_path, "--duration", "60")
    try:
        output, _ = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert "processed" in output and "DLQ" in output
    drift = [line for line in output.splitlines() if line.startswith("DRIFT")]
    assert drift, output
    assert any("model=atlas-2 surface=chat" in line and "→" in line for line in drift)
    assert len(pids(output)) == 2  # broker and worker
    assert all(gone(pid) for pid in pids(output))
    assert (tmp_path / "driftmon.db").exists()


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    proc = start_up(tmp_path)
    lines: list[str] = []
    try:
        assert proc.stdout is not None

        def worker_started() -> bool:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            return line.startswith("worker") or proc.poll() is not None

        wait_until(worker_started, 90, "the worker to start", interval=0)
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert len(pids(output)) == 2
    assert all(gone(pid) for pid in pids(output)), output
