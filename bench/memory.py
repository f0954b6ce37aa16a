"""Resident memory of the processes the benchmark started, from ``/proc/<pid>/status``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from bench.server import worker_pids


def rss_mb(pid: int) -> float:
    """``VmRSS`` of the process in MB (10^6 bytes); NaN once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def workers_rss(master: subprocess.Popen[bytes]) -> dict[str, Any]:
    """RSS of each gunicorn worker of ``master`` and the largest."""
    workers = {pid: rss_mb(pid) for pid in worker_pids(master)}
    return {"workers_mb": workers, "max_mb": max(workers.values(), default=float("nan")),
            "master_mb": rss_mb(master.pid)}
