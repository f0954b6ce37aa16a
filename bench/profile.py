"""Optional: ``BENCH_PROFILE=8`` records the sale at 8 clients with py-spy, if it is installed.

The service's workers are sampled (``py-spy record --subprocesses`` on the gunicorn master) and
the collapsed stacks, plus a summary of the frames most often on the stack, go to the log folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(master: subprocess.Popen[bytes], clients: int, logs: Path) -> Iterator[None]:
    spy = _py_spy()
    if os.environ.get("BENCH_PROFILE") != str(clients) or spy is None:
        yield
        return
    output = logs / f"sale-{clients}.collapsed"
    recorder = subprocess.Popen([spy, "record", "--pid", str(master.pid), "--subprocesses", "--format",
                                 "raw", "--output", str(output), "--nonblocking"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)
        if output.exists():
            (logs / f"sale-{clients}-top.txt").write_text(top_frames(output))


def top_frames(collapsed: Path, limit: int = 60) -> str:
    """Frames by the share of samples they are on the stack (inclusive), idle samples left out."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or any(idle in frames[-1] for idle in ("wait (", "select (", "accept (")):
            continue
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(limit)]
    return f"{total} busy samples\n" + "\n".join(lines) + "\n"
