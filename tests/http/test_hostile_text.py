"""No text with NUL or control characters gets in, through any field the API describes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth_headers
from tests.http.test_orders_http import assert_problem, create

HEADERS = auth_headers(permissions=("offers:write", "orders:on-behalf-of"))
ORDER_CODE = "K7QF3M2X"
BAD_CHARACTERS = ["\u0000", "\u0001", "\u001b", "\u007f", "\u0085", "\ud800", "\udfff"]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def string_fields(spec: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...] = (),
                  depth: int = 0) -> Iterator[tuple[str, ...]]:
    """Every path to a string in a request schema (``0`` for a list item)."""
    schema = resolve(spec, schema)
    if depth > 6:
        return
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        yield from string_fields(spec, option, path, depth + 1)
    kind = schema.get("type")
    if kind == "string":
        yield path
    elif kind == "array":
        yield from string_fields(spec, schema.get("items", {}), (*path, "0"), depth + 1)
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from string_fields(spec, sub, (*path, name), depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from string_fields(spec, extra, (*path, "note"), depth + 1)


def body_with(path: tuple[str, ...], value: str) -> Any:
    """The smallest JSON that puts ``value`` at ``path``."""
    built: Any = value
    for part in reversed(path):
        built = [built] if part == "0" else {part: built}
    return built


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "delete"):
                concrete = path.replace("{order_id}", ORDER_CODE).replace("{", "").replace("}", "")
                yield method, concrete, operation


def request_text_fields(spec: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for method, path, operation in operations(spec):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content:
            found.extend((method, path, field) for field in string_fields(spec, content["schema"]))
    return found


def test_every_text_field_of_every_request_body_refuses_control_characters(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    fields = request_text_fields(spec)
    assert len(fields) > 40 and {m for m, _, _ in fields} == {"post", "put"}
    for method, path, field in fields:
        body = body_with(field, "bad\u0000text")
        response = getattr(client, method)(path, data=json.dumps(body), headers=HEADERS,
                                           content_type="application/json")
        assert_problem(response, 400, "VALIDATION_FAILED", ".".join(field) or "body")


def test_every_query_parameter_refuses_control_characters(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    checked = 0
    for method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query":
                response = getattr(client, method)(path, query_string={parameter["name"]: "a\u0000b"},
                                                   headers=HEADERS)
                assert_problem(response, 400, "VALIDATION_FAILED", parameter["name"])
                checked += 1
    assert checked > 20


@pytest.mark.parametrize("character", BAD_CHARACTERS)
def test_each_kind_of_control_character_is_refused_naming_the_field(
        client: FlaskClient, character: str) -> None:
    body = json.dumps({"externalReference": f"ref{character}x", "contactInfo": {"email": "a@b.no"}})
    response = client.post("/v1/orders", data=body, headers=HEADERS, content_type="application/json")
    assert_problem(response, 400, "VALIDATION_FAILED", "externalReference")


def test_control_characters_in_keys_path_and_query_are_refused(client: FlaskClient) -> None:
    key = client.post("/v1/orders", data='{"contactInfo": {"e\\u0000mail": "x"}}', headers=HEADERS,
                      content_type="application/json")
    assert_problem(key, 400, "VALIDATION_FAILED", "contactInfo.e?mail")
    assert_problem(client.get("/v1/orders/K7QF%00M2X", headers=HEADERS), 400, "VALIDATION_FAILED",
                   "order_id")
    search = client.get("/v1/orders?externalReference=eq:a%00b", headers=HEADERS)
    assert_problem(search, 400, "VALIDATION_FAILED", "externalReference")


def test_tab_and_newline_are_free_text_but_not_identifiers(client: FlaskClient) -> None:
    order = create(client, {"externalReference": "line one\nline\ttwo",
                            "contactInfo": {"note": "call\r\nafter six"}})
    assert order["externalReference"] == "line one\nline\ttwo"
    response = client.post("/v1/reserve-offers", headers=HEADERS,
                           json={"offerConfigurations": [{"offerId": "a\tb"}]})
    assert_problem(response, 400, "VALIDATION_FAILED", "offerConfigurations.0.offerId")


def test_a_body_of_ninety_thousand_keys_is_refused_cheaply_with_a_small_answer(
        client: FlaskClient) -> None:
    body = json.dumps({f"{i:x}": 0 for i in range(90_000)}, separators=(",", ":"))
    assert len(body) < 1_000_000
    response = client.post("/v1/orders", data=body, headers=HEADERS, content_type="application/json")
    assert_problem(response, 400, "VALIDATION_FAILED", "body")
    assert len(response.data) < 2_000


def test_field_errors_are_bounded(client: FlaskClient) -> None:
    body = json.dumps({f"unknown{i}": i for i in range(500)})
    response = client.post("/v1/orders", data=body, headers=HEADERS, content_type="application/json")
    assert_problem(response, 400, "VALIDATION_FAILED")
    assert len(response.json["errors"]) == 20 and "of 500 errors" in response.json["detail"]
