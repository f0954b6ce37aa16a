"""What groups a confirmed order's lines call for (``plan_groups``), from state alone."""

from __future__ import annotations

from dataclasses import replace

from ordering.domain.ticketing import OrderTicketGroups, group_uuid, plan_groups
from ordering.domain.values import FareProduct, OrderLine
from tests.builders import a_line

CODE = "K7QF3M2X"
CONTEXT = {"organisationId": 1}


def confirmed(version: int = 1, **changes: object) -> OrderLine:
    line = replace(a_line().line, status="CONFIRMED", version=version,
                   fare_products=(FareProduct("NSB:PreassignedFareProduct:Ordinary", "v1"),))
    return replace(line, **changes)  # type: ignore[arg-type]


def index_after(*lines: OrderLine) -> OrderTicketGroups:
    """The index once these lines got their groups."""
    index = OrderTicketGroups(order_code=CODE, organisation_id=1, context=CONTEXT)
    plan = plan_groups(CODE, list(lines), None)
    index.record([{"groupId": str(n.group_id), "orderLineId": n.line.id} for n in plan.create], [], 1,
                 CONTEXT)
    return index


def test_every_confirmed_line_without_a_group_gets_one_named_by_order_line_and_version() -> None:
    first, second = confirmed(), confirmed()
    plan = plan_groups(CODE, [first, second], None)
    assert [(n.line.id, n.group_id, n.replaces_group_ids) for n in plan.create] == [
        (first.id, group_uuid(CODE, first.id, 1), ()), (second.id, group_uuid(CODE, second.id, 1), ())]
    assert plan.cancel == ()


def test_lines_waiting_for_or_failing_external_confirmation_get_none() -> None:
    lines = [confirmed(external_confirmation="PENDING"), confirmed(external_confirmation="FAILED"),
             confirmed(external_confirmation="SUCCESS")]
    assert [n.line.id for n in plan_groups(CODE, lines, None).create] == [lines[2].id]


def test_untouched_lines_keep_their_groups_and_nothing_is_planned() -> None:
    line = confirmed()
    assert not plan_groups(CODE, [line], index_after(line))


def test_a_replaced_line_loses_its_group_and_its_replacement_names_it() -> None:
    old = confirmed()
    index = index_after(old)
    new = confirmed(version=2, replaces_order_line_ids=(old.id,))
    plan = plan_groups(CODE, [replace(old, status="REPLACED"), new], index)
    assert plan.cancel == (index.live[old.id],)
    assert [(n.line.id, n.replaces_group_ids) for n in plan.create] == [(new.id, (index.live[old.id],))]


def test_a_cancelled_line_loses_its_group_with_no_replacement() -> None:
    line, kept = confirmed(), confirmed()
    index = index_after(line, kept)
    plan = plan_groups(CODE, [replace(line, status="CANCELLED"), kept], index)
    assert (plan.cancel, plan.create) == ((index.live[line.id],), ())


def test_a_line_whose_version_changed_gets_a_new_group_replacing_its_old_one() -> None:
    line = confirmed()
    index = index_after(line)
    plan = plan_groups(CODE, [replace(line, version=2)], index)
    assert plan.cancel == (index.live[line.id],)
    assert [(n.group_id, n.replaces_group_ids) for n in plan.create] == [
        (group_uuid(CODE, line.id, 2), (index.live[line.id],))]


def test_a_line_with_a_group_that_waits_again_keeps_it() -> None:
    line = confirmed()
    assert not plan_groups(CODE, [replace(line, external_confirmation="PENDING")], index_after(line))
