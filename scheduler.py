"""The expiry scheduler as its own process: ``python scheduler.py`` (production, PostgreSQL).
It also runs the followers of the order log (ticket distribution groups, ``ordering.following``).

Run one or several: one leads at a time (see ``ordering.scheduling``); a stopped one is replaced
by any other, and due orders are found again however long none ran.
"""

from __future__ import annotations

from ordering.following import run_with_followers
from ordering.logs import configure_logging
from ordering.scheduling import run_scheduler
from ordering.settings import load_settings

if __name__ == "__main__":
    configure_logging("scheduler")
    settings = load_settings().for_process("scheduler")
    run_with_followers(settings, lambda: run_scheduler(settings))
