"""The expiry scheduler's process entry point (``python scheduler.py``).

The expiry job itself arrives with the scheduler issue; until then this process only checks
that the event store is reachable and reports what it would do.
"""
