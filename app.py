"""WSGI entry point: ``flask --app app run`` or ``gunicorn app:app``.

Importing builds only the Flask app; the event store connection opens on first use in each
process, so gunicorn workers never share a pool across a fork.
"""

from ordering.http.factory import create_app

app = create_app()
