"""WSGI entry point: ``flask --app app run`` or ``gunicorn app:app``.

Importing builds only the Flask app; the event store connection opens on first use in each
process, so gunicorn workers never share a pool across a fork. The operator commands
(``flask --app app --help``) are added here, above the HTTP layer they use.
"""

from ordering.cli import register_commands
from ordering.http.factory import create_app

app = create_app()
register_commands(app)
