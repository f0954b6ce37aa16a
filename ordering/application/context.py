"""Who caused a change: stored with every event a command emits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import uuid4


@dataclass(frozen=True)
class CommandContext:
    correlation_id: str
    organisation_id: int
    subject: str
    client_name: str | None = None
    pos: str | None = None
    distribution_channel_id: str | None = None
    command_id: str = field(default_factory=lambda: str(uuid4()))

    def as_event_data(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "correlationId": data["correlation_id"],
            "clientName": data["client_name"],
            "organisationId": data["organisation_id"],
            "subject": data["subject"],
            "pos": data["pos"],
            "distributionChannelId": data["distribution_channel_id"],
            "commandId": data["command_id"],
        }


def system_context(correlation_id: str, organisation_id: int, actor: str) -> CommandContext:
    """Context for changes the service makes by itself (the expiry scheduler), on behalf of
    the organisation that owns the order."""
    return CommandContext(
        correlation_id=correlation_id,
        organisation_id=organisation_id,
        subject=actor,
        client_name=actor,
    )
