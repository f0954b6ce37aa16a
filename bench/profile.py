"""Optional: ``BENCH_PROFILE=8`` records the sale at 8 clients with py-spy, if it is installed.

The service's workers are sampled (``py-spy record --subprocesses`` on the gunicorn master) and
the collapsed stacks, a summary of the frames most often on the stack (``-top.txt``) and a
breakdown by caller (``-breakdown.md``; ``python -m bench.profile FILE`` remakes it) go to the
log folder.
"""

from __future__ import annotations

import os
import re
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
            (logs / f"sale-{clients}-breakdown.md").write_text(breakdown(output))


IDLE_LEAVES = ("(threading.py:", "(selectors.py:", "accept (", "(concurrent/futures/thread.py:81)",
               "PollableMethodQueue", "sleep (")
IDLE_CALLERS = ("_listen (ordering/following.py",)  # blocked on LISTEN for the next NOTIFY
DATABASE_WAIT = ("Connection.wait (psycopg", "psycopg/waiting")
# the first of these found on a stack, from the request's entry down, names what it is doing
CALLERS = (
    ("read-model follower (projections, in the web workers)", ("(projections/follower.py",)),
    ("read-model wait or catch-up inside a search", ("ReadModel.settle (", "ReadModel.search (")),
    ("idempotency keys", ("(ordering/idempotency.py",)),
    ("loading aggregates (Repository.get)", ("Repository.get (eventsourcing",)),
    ("saving (Application.save: events under the table lock)", ("Application.save (eventsourcing",)),
    ("other database work", DATABASE_WAIT),
    ("request parsing (webargs, marshmallow load)", ("(webargs/", "Schema.load (", "Schema._deserialize (")),
    ("serialising answers (marshmallow dump, JSON)", ("Schema.dump (", "(json/", "jsonify (")),
    ("other request handling (Flask, views, domain)", ("Flask.__call__ (",)),
    ("gunicorn, outside requests", ("(gunicorn/",)),
)


def _stacks(collapsed: Path) -> Iterator[tuple[list[str], int]]:
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            yield stack.split(";"), int(count)


def _idle(frames: list[str]) -> bool:
    return any(idle in frames[-1] for idle in IDLE_LEAVES) or any(
        idle in frame for frame in frames for idle in IDLE_CALLERS)


def _caller(frames: list[str]) -> str:
    for name, patterns in CALLERS:
        if any(pattern in frame for frame in frames for pattern in patterns):
            return name
    return "other"


VIEW = re.compile(r"^\w+\.(get|post|put|delete) \(ordering/http/")


def _view(frames: list[str]) -> str:
    """The view a request thread is in (``ReserveOffers.post``), or what the thread is doing."""
    for frame in frames:
        if VIEW.match(frame):
            return frame.split(" (")[0]
    return "outside a view (follower, gunicorn, middleware)"


def _rows(title: str, found: Counter[str], total: int) -> list[str]:
    return ["", f"| {title} | share of busy samples |", "|---|---|",
            *(f"| `{name}` | {100 * n / total:.1f}% |" for name, n in found.most_common(15))]


def breakdown(collapsed: Path) -> str:
    """Busy samples (idle threads left out): the share waiting on PostgreSQL, by caller (each
    sample counted once, under the first of ``CALLERS`` on its stack), and the top leaf frames."""
    callers: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    views: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
        if _idle(frames):
            continue
        total += count
        caller = _caller(frames)
        callers[caller] += count
        leaf[frames[-1]] += count
        views[_view(frames)] += count
        if any(wait in frames[-1] for wait in DATABASE_WAIT):
            waiting[caller] += count
    if not total:
        return "no busy samples\n"
    share = f"{100 * sum(waiting.values()) / total:.0f}%"
    lines = [f"{total} busy samples; {share} wait on PostgreSQL (psycopg Connection.wait)", "",
             "| by caller | share of busy samples | of which waiting on PostgreSQL |", "|---|---|---|"]
    lines += [f"| {name} | {100 * n / total:.1f}% | {100 * waiting[name] / total:.1f}% |"
              for name, n in callers.most_common()]
    lines += _rows("by view", views, total) + _rows("top leaf frames (self)", leaf, total)
    return "\n".join(lines) + "\n"


def top_frames(collapsed: Path, limit: int = 60) -> str:
    """Frames by the share of samples they are on the stack (inclusive), idle samples left out."""
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
        if _idle(frames):
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(limit)]
    return f"{total} busy samples\n" + "\n".join(lines) + "\n"


def main() -> None:
    """``python -m bench.profile FILE.collapsed``: the breakdown of a recorded profile."""
    print(breakdown(Path(sys.argv[1])), end="")


if __name__ == "__main__":
    main()
