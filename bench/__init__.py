"""``make bench``: measures the order service end to end against baselines on the same machine.

Run ``python -m bench`` (``BENCH_QUICK=1`` for a smoke run); ``DATABASE_URL`` selects PostgreSQL.
"""
