"""Operator commands: ``flask --app app <command>``."""

from __future__ import annotations

import json

import click
from flask import Flask

from ordering.audit import timeline_lines, trail_json
from ordering.bootstrap import create_schema
from ordering.errors import DomainError
from ordering.http.requests import ServiceHolder


def register_commands(app: Flask) -> None:
    holder: ServiceHolder = app.extensions["ordering"]

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create every table of the event store (run once, before the service starts)."""
        create_schema(holder.settings)
        click.echo(f"schema ready on {holder.settings.database_url.split('@')[-1]}")

    @app.cli.command("token")
    @click.option("--org", "organisation_id", type=int, default=1, show_default=True,
                  help="organisation id (claim https://entur.io/organisationID)")
    @click.option("--sub", "subject", default="dev-user", show_default=True)
    @click.option("--permission", "permissions", multiple=True,
                  help="orders:on-behalf-of, offers:write, audit:read-all (repeatable)")
    @click.option("--hours", type=float, default=12, show_default=True)
    def token(organisation_id: int, subject: str, permissions: tuple[str, ...], hours: float) -> None:
        """Mint a development bearer token (needs the HS256 secret)."""
        from datetime import timedelta

        click.echo(holder.keys.mint(organisation_id, subject, list(permissions), timedelta(hours=hours)))

    @app.cli.command("audit")
    @click.argument("order_id")
    @click.option("--json", "as_json", is_flag=True, help="print the trail as JSON")
    def audit(order_id: str, as_json: bool) -> None:
        """Print an order's audit trail as a timeline."""
        try:
            entries = holder.application().order_trail(order_id, None)
        except DomainError as error:
            raise click.ClickException(error.detail) from None
        trail = trail_json(order_id, entries)
        click.echo(json.dumps(trail, indent=2) if as_json else "\n".join(timeline_lines(trail)))
