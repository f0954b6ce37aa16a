"""Operator commands: ``flask --app app <command>``."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from flask import Flask
from marshmallow import ValidationError

from ordering.bootstrap import create_schema
from ordering.demo_catalogue import DEMO_CAPACITY, demo_offers
from ordering.domain.errors import DomainError
from ordering.following import run_with_followers
from ordering.http.problems import ApiProblem, flatten_messages
from ordering.http.requests import ServiceHolder
from ordering.http.sales import load_offers
from ordering.http.text import check_body_text
from ordering.logs import configure_logging
from ordering.representation.audit import timeline_lines, trail_json
from ordering.representation.changes import changes_document, changes_lines
from ordering.scheduling import run_scheduler
from ordering.ticketing_commands import register_ticketing_commands
from ordering.tokens import InvalidToken
from projections import maintenance

P = ParamSpec("P")
R = TypeVar("R")


def describe(path: str, error: Exception) -> str:
    """An error of ``load-offers`` as a person reads it: one line per field at fault."""
    if isinstance(error, ValidationError):
        fields = flatten_messages(error.messages)
        return "\n".join([f"{path}: offers not valid, nothing was added:",
                          *(f"  {e['field']}: {e['message']}" for e in fields)])
    if isinstance(error, json.JSONDecodeError):
        return f"{path} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return f"{path} is not UTF-8 text"
    detail = str(getattr(error, "detail", error))
    return f"{path}: {detail}; nothing was added"


def as_cli(command: Callable[P, R], holder: ServiceHolder) -> Callable[P, R]:
    """The command's connections say ``cli`` in ``pg_stat_activity``."""
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        holder.settings = holder.settings.for_process("cli")
        configure_logging("cli")
        try:
            return command(*args, **kwargs)
        except Exception as error:
            if _schema_missing(error):
                raise click.ClickException("the database has no tables yet: run `flask --app app "
                                           "init-db` (or `make schema`) first") from None
            raise

    return run


def _schema_missing(error: BaseException) -> bool:
    """SQLite's "no such table", PostgreSQL's "relation ... does not exist", however wrapped."""
    while error is not None:
        text = str(error)
        if "no such table" in text or ("relation" in text and "does not exist" in text):
            return True
        error = error.__cause__  # type: ignore[assignment]
    return False


def version_range(_context: click.Context, _parameter: click.Parameter,
                  value: str | None) -> tuple[int, int] | None:
    """``N..M`` with N below M."""
    if value is None:
        return None
    first, separator, last = value.partition("..")
    if not (separator and first.isdigit() and last.isdigit() and 0 < int(first) < int(last)):
        raise click.BadParameter("give two versions as N..M, N below M")
    return int(first), int(last)


def _in_cli_kind(command: click.Command, holder: ServiceHolder) -> None:
    """Commands registered elsewhere run as the CLI too (connections, log lines)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _in_cli_kind(sub, holder)
    elif command.callback is not None:
        command.callback = as_cli(command.callback, holder)


def register_commands(app: Flask) -> None:
    holder: ServiceHolder = app.extensions["ordering"]
    before = set(app.cli.commands)
    register_ticketing_commands(app)
    for name in set(app.cli.commands) - before:
        _in_cli_kind(app.cli.commands[name], holder)

    def command(name: str) -> Callable[[Callable[P, R]], click.Command]:
        def register(function: Callable[P, R]) -> click.Command:
            return app.cli.command(name)(as_cli(function, holder))

        return register

    @command("init-db")
    @click.option("--demo/--no-demo", default=True, show_default=True,
                  help="load the demo catalogue when the catalogue is empty")
    def init_db(demo: bool) -> None:
        """Create every table (run once, before the service starts); load the demo catalogue."""
        create_schema(holder.settings)
        click.echo(f"schema ready on {holder.settings.database_url.split('@')[-1]}")
        application = holder.application()
        if demo and not application.list_offers():
            application.publish_offers(load_offers(demo_offers(application.clock())))
            for journey, seats in DEMO_CAPACITY.items():
                application.set_capacity(journey, seats)
            click.echo(f"demo catalogue loaded: {len(application.list_offers())} offers")

    @command("load-offers")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def load_offers_command(path: str) -> None:
        """Add the offers in a JSON file (one offer or a list, as POST /v1/offers takes)."""
        try:
            body = json.loads(Path(path).read_text(encoding="utf-8"))
            check_body_text(body)
            published = holder.application().publish_offers(load_offers(body, ids_from_content=True))
        except (ValueError, ValidationError, DomainError, ApiProblem) as error:
            raise click.ClickException(describe(path, error)) from None
        click.echo(f"{len(published)} offers added: {', '.join(o.offer_id for o in published)}")

    @command("token")
    @click.option("--org", "organisation_id", type=int, default=1, show_default=True,
                  help="organisation id (claim https://entur.io/organisationID)")
    @click.option("--sub", "subject", default="dev-user", show_default=True)
    @click.option("--permission", "permissions", multiple=True,
                  help="orders:on-behalf-of, offers:write, audit:read-all (repeatable)")
    @click.option("--hours", type=float, default=12, show_default=True)
    def token(organisation_id: int, subject: str, permissions: tuple[str, ...], hours: float) -> None:
        """Mint a development bearer token (needs the HS256 secret)."""
        from datetime import timedelta

        try:
            click.echo(holder.keys.mint(organisation_id, subject, list(permissions), timedelta(hours=hours)))
        except InvalidToken as error:
            raise click.ClickException(str(error)) from None

    @command("rebuild")
    @click.option("--batch-size", type=int, default=2000, show_default=True)
    def rebuild_command(batch_size: int) -> None:
        """Rebuild the read model from the whole event history, beside the live one, then switch."""
        read_model = holder.services().read_model
        with click.progressbar(length=1, label="rebuilding", show_pos=True) as bar:
            def progress(position: int, head: int) -> None:
                bar.length = max(head, 1)
                bar.update(position - bar.pos)

            report = maintenance.rebuild(read_model, progress, batch_size)
        click.echo(f"generation {report.generation} live: {report.events} events in "
                   f"{report.seconds:.1f} s, {report.events_per_second:,.0f} events/s")

    @command("verify")
    def verify_command() -> None:
        """Replay every order and compare it with the read model; exit 1 on any difference."""
        differences = maintenance.verify(holder.services().read_model, click.echo)
        if differences:
            raise click.ClickException(f"{differences} orders differ from their events")
        click.echo("every order in the read model matches its replayed events")

    @command("status")
    def status_command() -> None:
        """The read model's position against the head of the event log."""
        click.echo(json.dumps(maintenance.status(holder.services().read_model), indent=2))

    @command("retry-parked")
    def retry_parked_command() -> None:
        """Project the orders the read model parked again, from their events (after a fix)."""
        fixed, still = maintenance.retry_parked(holder.services().read_model)
        click.echo(f"{fixed} parked orders now project")
        for entry in still:
            click.echo(f"still parked: {entry.order_id or entry.aggregate_id}: {entry.reason}")
        if still:
            raise click.ClickException(f"{len(still)} orders are still parked")

    @command("scheduler")
    def scheduler_command() -> None:
        """Run the expiry scheduler in this process until stopped (as python scheduler.py does)."""
        configure_logging("scheduler")
        settings = holder.settings.for_process("scheduler")
        run_with_followers(settings, lambda: run_scheduler(settings))

    @command("audit")
    @click.argument("order_id")
    @click.option("--json", "as_json", is_flag=True, help="print the trail as JSON")
    @click.option("--changes", "between", callback=version_range, metavar="N..M",
                  help="print what changed between versions N and M instead")
    def audit(order_id: str, as_json: bool, between: tuple[int, int] | None) -> None:
        """Print an order's audit trail as a timeline (or, with --changes, a version diff)."""
        try:
            if between is not None:
                document = changes_document(order_id, holder.application().order_changes(
                    order_id, None, *between))
                click.echo(json.dumps(document, indent=2) if as_json else "\n".join(changes_lines(document)))
                return
            entries = holder.application().order_trail(order_id, None)
        except DomainError as error:
            raise click.ClickException(error.detail) from None
        trail = trail_json(order_id, entries)
        click.echo(json.dumps(trail, indent=2) if as_json else "\n".join(timeline_lines(trail)))
