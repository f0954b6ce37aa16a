"""Where stored events say their classes live: topics are forever, modules move.

Events and snapshots written before the domain moved to ``ordering.domain`` name their classes
by the old modules (``ordering.order:Order.OrderLineAdded``). Registering each old module name
makes those topics resolve to the classes where they live now; new events carry new topics.
"""

from __future__ import annotations

from types import ModuleType

from eventsourcing.utils import register_topic

from ordering.domain import inventory, offer, order, payment

MOVED_MODULES: dict[str, ModuleType] = {
    "ordering.order": order,
    "ordering.payment": payment,
    "ordering.inventory": inventory,
    "ordering.offer": offer,
}


def register_moved_topics() -> None:
    for old_name, module in MOVED_MODULES.items():
        register_topic(old_name, module)


def topic_prefixes(cls: type) -> tuple[str, ...]:
    """Every prefix the topics of ``cls``'s events have had: the current one first."""
    current = f"{cls.__module__}:{cls.__qualname__}."
    old = [f"{name}:{cls.__qualname__}." for name, module in MOVED_MODULES.items()
           if module.__name__ == cls.__module__]
    return (current, *old)


register_moved_topics()
