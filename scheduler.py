"""The expiry scheduler as its own process: ``python scheduler.py`` (production, PostgreSQL).

Run one or several: one leads at a time (see ``ordering.expiry``); a stopped one is replaced
by any other, and due orders are found again however long none ran.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from ordering.bootstrap import Services, build_services
from ordering.expiry import schedule_expiry
from ordering.policy import utcnow
from ordering.settings import load_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    services: Services | None = None

    def built() -> Services:
        nonlocal services
        if services is None:
            services = build_services(settings)
        return services

    scheduler = BlockingScheduler()
    leadership = schedule_expiry(scheduler, built, settings, utcnow)

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.shutdown(wait=True)
        leadership.release()
        if services is not None:
            services.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("scheduler").info("sweeping every %ss", settings.expiry_interval_seconds)
    scheduler.start()


if __name__ == "__main__":
    main()
