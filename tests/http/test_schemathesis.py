"""Property-based: schemathesis sends every operation what the OpenAPI document allows (its
examples first, then generated requests) and every answer must agree with the document: never a
5xx, only documented statuses, media types and headers, bodies that match their schemas.

Bounded: a few examples per operation, on each backend (about a minute each on these machines).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ordering.demo_catalogue import DEMO_CAPACITY, demo_offers
from ordering.http.sales import load_offers
from tests.conftest import FakeClock, auth_headers

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 30
SETTINGS = {"deadline": None, "derandomize": True, "suppress_health_check": list(HealthCheck),
            "phases": [Phase.explicit, Phase.generate], "database": None}
PERMISSIONS = ("offers:write", "orders:on-behalf-of")
AUTHORIZED = {"Authorization": auth_headers(permissions=PERMISSIONS)["Authorization"]}


@pytest.fixture
def api_schema(flask_app: Flask, clock: FakeClock) -> schemathesis.BaseSchema:
    """The service with the demo catalogue, as schemathesis sees it through WSGI."""
    application = flask_app.extensions["ordering"].application()
    application.publish_offers(load_offers(demo_offers(clock.now)))
    for journey, seats in DEMO_CAPACITY.items():
        application.set_capacity(journey, seats)
    return schemathesis.openapi.from_wsgi("/openapi.json", flask_app)


def operations(schema: schemathesis.BaseSchema) -> Iterator[schemathesis.APIOperation]:
    for result in schema.get_all_operations():
        yield result.ok()


def run(strategy: SearchStrategy[schemathesis.Case], examples: int, seen: Counter[int]) -> None:
    @settings(max_examples=examples, **SETTINGS)
    @given(case=strategy)
    def every(case: schemathesis.Case) -> None:
        seen[case.call_and_validate(headers=AUTHORIZED, checks=CHECKS).status_code] += 1

    every()


def test_every_answer_agrees_with_the_document(api_schema: schemathesis.BaseSchema) -> None:
    checked, seen = [], Counter[int]()
    for operation in operations(api_schema):
        for example in operation.get_strategies_from_examples():
            run(example, 1, seen)
        run(operation.as_strategy(), EXAMPLES_PER_OPERATION, seen)
        run(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), EXAMPLES_PER_OPERATION, seen)
        checked.append(operation.label)
    assert len(checked) >= 25
    assert {200, 201, 400, 404} <= set(seen)  # it got through to real work, not only refusals
