"""The read model's rows hold the order exactly as the API answers it: the compiled dump of
``projections.documents`` gives the same document as the API's marshmallow schema, for every
version of every order an old release wrote (lines, supplements, fees, payments, locks)."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields, post_dump

from ordering.bootstrap import Services
from ordering.representation.order import order_document
from projections import maintenance
from projections.documents import compile_dump, fast_order_document
from tests.integration.test_old_store import old_store  # noqa: F401  (the fixture)


def test_every_version_of_every_old_order_dumps_as_the_api_answers_it(old_store: Services) -> None:  # noqa: F811
    application, compared = old_store.application, 0
    for code in set(maintenance.order_codes_in_history(old_store.read_model)):
        latest = application.get_order(code, None)
        for version in range(1, latest.version + 1):
            order = application.repository.get(latest.id, version=version)
            expected = order_document(order)
            assert fast_order_document(order) == expected, (code, version)
            assert json.dumps(fast_order_document(order)) == json.dumps(expected)
            compared += 1
    assert compared > 50


class Totals(Schema):
    total = fields.Integer()

    @post_dump
    def _doubled(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"total": data["total"] * 2}


class WithUnusual(Schema):
    name = fields.String(attribute="who.name")
    shout = fields.Function(lambda obj: obj["label"].upper())
    count = fields.Integer(dump_default=7)
    totals = fields.Nested(Totals, many=True)


def test_what_the_compiled_dump_does_not_model_is_left_to_marshmallow() -> None:
    data = {"who": {"name": "Ada"}, "label": "x", "totals": [{"total": 2}]}
    assert compile_dump(WithUnusual())(data) == WithUnusual().dump(data) == {
        "name": "Ada", "shout": "X", "count": 7, "totals": [{"total": 4}]}
