"""Operator commands for ticket distribution groups: ``flask --app app ticket-groups ...``."""

from __future__ import annotations

import json

import click
from flask import Flask

from ordering.following import ticket_group_follower
from ordering.http.requests import ServiceHolder
from projections import ticket_groups


def register_ticketing_commands(app: Flask) -> None:
    holder: ServiceHolder = app.extensions["ordering"]

    @app.cli.group("ticket-groups")
    def ticket_groups_group() -> None:
        """Ticket distribution groups, made by following the order log."""

    @ticket_groups_group.command("status")
    def status_command() -> None:
        """The groups' tracked position against the head of the event log."""
        click.echo(json.dumps(ticket_groups.status(holder.application()), indent=2))

    @ticket_groups_group.command("catch-up")
    def catch_up_command() -> None:
        """Make the groups of every confirmation not followed yet, in this process, then stop."""
        follower = ticket_group_follower(holder.services(), holder.settings)
        click.echo(f"{follower.catch_up()} notifications followed; lag {follower.lag()}")

    @ticket_groups_group.command("verify")
    def verify_command() -> None:
        """Replay the whole order log into groups in memory and compare with the stored ones."""
        differences = ticket_groups.verify(holder.application(), click.echo)
        if differences:
            raise click.ClickException(f"{differences} groups differ from a replay of the order log")
        click.echo("every ticket distribution group matches a replay of the order log")
