"""The rules of orders, payments, seats and offers: aggregates, value objects, money, errors.

Imports nothing of the application, the HTTP facade, the read model, Flask, SQL or psycopg
(checked by the import contracts in ``pyproject.toml``).
"""
