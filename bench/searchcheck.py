"""``totalItems`` of the broad searches checked against a plain ``COUNT(*)`` of the read model."""

from __future__ import annotations

from typing import Any

from bench.seed import LARGE_ORGANISATION
from ordering.bootstrap import Services
from projections.schema import orders_table

# the broad queries of ``bench.web.search_queries``, as a condition on the read model's table
BROAD = {"deep page 1000 (CONFIRMED)": ("status = ?", ["CONFIRMED"]),
         "deep page 10000 (all)": ("1 = 1", []),
         "newest first (all)": ("1 = 1", [])}


def counted(services: Services, condition: str, params: list[Any]) -> int:
    table = orders_table(services.read_model.projector.active_generation())
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE organisation_id = ? AND {condition}",
                       [LARGE_ORGANISATION, *params])
        return int(cursor.fetchone()[0])


def exact_totals(services: Services, searches: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per broad search: what it answered, what the table holds, and whether they agree."""
    checked: dict[str, Any] = {}
    for name, (condition, params) in BROAD.items():
        answered = {r["samples"].get("totalItems") for r in searches.get(name, [])} - {None}
        expected = counted(services, condition, params)
        checked[name] = {"answered": sorted(answered), "counted": expected,
                         "exact": answered == {expected}}
    return checked
