"""The OpenAPI document tells the truth: it validates, and what the service answers on a whole
sale (and on the errors around it) is what the document says, status, headers and body."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER, TRAVELLERS
from tests.conftest import auth_headers
from tests.http.test_sales_http import Catalogue

HEADERS = auth_headers()
WRITER = auth_headers(permissions=("offers:write",))
Spec = dict[str, Any]


@pytest.fixture
def spec(client: FlaskClient) -> Spec:
    document: Spec = client.get("/openapi.json").json
    return document


def operations(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items() if method in ("get", "post", "put", "delete", "patch")]


def resolved(spec: Spec, node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = spec["components"][section][name]
    return node


def test_the_document_is_valid_openapi(spec: Spec) -> None:
    validate_spec(spec)


def test_every_operation_documents_its_errors_headers_and_examples(spec: Spec) -> None:
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)) and all(ids)
    for path, method, op in operations(spec):
        statuses = set(op["responses"])
        assert {"400", "401", "429", "503"} <= statuses, (method, path)
        assert ("422" in statuses) == (method == "post") and "default" not in statuses, (method, path)
        headers = {resolved(spec, p)["name"] for p in op["parameters"] if resolved(spec, p)["in"] == "header"}
        assert {"ET-Client-Name", "X-Correlation-Id"} <= headers, (method, path)
        for status, answer in op["responses"].items():
            answer = resolved(spec, answer)
            assert "X-Correlation-Id" in answer["headers"], (method, path, status)
            for media, content in answer.get("content", {}).items():
                assert "example" in content, (method, path, status)
                assert media == ("application/json" if int(status) < 400 else "application/problem+json")
        if "requestBody" in op:
            assert "example" in op["requestBody"]["content"]["application/json"], (method, path)
    problem401 = resolved(spec, {"$ref": "#/components/responses/Problem401"})
    assert "WWW-Authenticate" in problem401["headers"]
    assert "Retry-After" in resolved(spec, {"$ref": "#/components/responses/Problem429"})["headers"]
    conflict = resolved(spec, {"$ref": "#/components/responses/Problem409"})
    assert "Retry-After" in conflict["headers"] and "IDEMPOTENCY_KEY_IN_USE" in conflict["description"]


def test_sales_headers_money_enums_and_the_token_are_described(spec: Spec) -> None:
    reserve = spec["paths"]["/v1/reserve-offers"]["post"]
    required = {resolved(spec, p)["name"] for p in reserve["parameters"] if resolved(spec, p)["required"]}
    assert required == {"Entur-POS", "Entur-Distribution-Channel"}
    assert "Location" in reserve["responses"]["200"]["headers"]
    assert "Location" in spec["paths"]["/v1/orders"]["post"]["responses"]["201"]["headers"]
    schemas = spec["components"]["schemas"]
    for schema, prop in (("Price", "amount"), ("OrderOut", "balance"), ("PaymentIn", "amount")):
        money = schemas[schema]["properties"][prop]
        assert money["type"] == "string" and re.match(money["pattern"], "-350.00")
        assert not re.match(money["pattern"], "100.5")
    assert schemas["OrderOut"]["properties"]["status"]["enum"] == ["DRAFT", "CONFIRMED"]
    assert set(schemas["OrderLine"]["properties"]["status"]["enum"]) == {
        "DRAFT", "CONFIRMED", "REPLACED", "CANCELLED"}
    assert "REDUCTION" in schemas["Fee"]["properties"]["type"]["enum"]
    assert schemas["OrderPage"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/OrderOut"}
    bearer = spec["components"]["securitySchemes"]["bearer"]
    assert "flask --app app token --org 1" in bearer["description"]
    assert "offers:write" in bearer["description"] and spec["security"] == [{"bearer": []}]


class Checked:
    """Every answer is checked against the document: status, media type, headers, body."""

    def __init__(self, client: FlaskClient, spec: Spec) -> None:
        self.client, self.spec = client, spec
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, method: str, template: str, url: str | None = None, **kwargs: Any) -> Any:
        response = self.client.open(url or template, method=method.upper(), **kwargs)
        operation = self.spec["paths"][template][method]
        status = str(response.status_code)
        assert status in operation["responses"], (method, template, status, response.json)
        answer = resolved(self.spec, operation["responses"][status])
        for name in answer.get("headers", {}):
            if name in ("X-Correlation-Id", "Location", "ETag"):
                assert name in response.headers, (method, template, status, name)
        if answer.get("content"):
            [(media, content)] = answer["content"].items()
            assert response.mimetype == media
            schema = {**content["schema"], "components": self.spec["components"]}
            OAS30Validator(schema).validate(response.json)
            if media == "application/json":
                OAS30Validator(schema).validate(content["example"])  # the example is true too
        self.seen.append((method, template, response.status_code))
        return response


def test_a_whole_sale_and_its_errors_answer_as_documented(
    client: FlaskClient, spec: Spec, catalogue: Catalogue
) -> None:
    call = Checked(client, spec)
    call("get", "/v1/offers", headers=HEADERS)
    call("get", "/v1/offers/{offer_id}", f"/v1/offers/{BERGEN_OFFER}", headers=HEADERS)
    reserved = call("post", "/v1/reserve-offers", headers=HEADERS, json={
        "offerConfigurations": [{"offerId": BERGEN_OFFER, "selectedTravellerIds": [TRAVELLERS[0]]}]}).json
    order_url = f"/v1/orders/{reserved['orderId']}"
    order = call("get", "/v1/orders/{order_id}", order_url, headers=HEADERS).json
    call("get", "/v1/journeys/{dated_service_journey_id}/availability",
         f"/v1/journeys/{BERGEN_DEPARTURE}/availability", headers=HEADERS)
    payment = call("post", "/v1/payments", headers=HEADERS, json={
        "orderId": order["id"], "orderVersion": 1, "amount": order["balance"], "currency": "NOK",
        "paymentType": "VISA"}).json
    call("get", "/v1/payments/{payment_id}", f"/v1/payments/{payment['id']}", headers=HEADERS)
    payment_url = f"/v1/payments/{payment['id']}"
    call("post", "/v1/payments/{payment_id}/capture", f"{payment_url}/capture", headers=HEADERS)
    call("get", "/v1/orders/{order_id}/events", f"{order_url}/events", headers=HEADERS)
    call("get", "/v1/orders", "/v1/orders?status=CONFIRMED", headers=HEADERS)
    call("post", "/v1/orders", headers=HEADERS, json={"externalReference": "second"})
    call("put", "/v1/orders/{order_id}", order_url, headers=HEADERS, json={"externalReference": "x"})
    call("get", "/v1/change-options", f"/v1/change-options?orderId={order['id']}", headers=HEADERS)
    # and what goes wrong, as problems the document lists
    call("get", "/v1/orders/{order_id}", "/v1/orders/ZZZZZZZZ", headers=HEADERS)
    call("get", "/v1/orders", "/v1/orders?status=zz:DRAFT", headers=HEADERS)
    call("get", "/v1/orders", headers={})
    call("post", "/v1/reserve-offers", headers=HEADERS, json={"offerConfigurations": [{"offerId": 1}]})
    call("post", "/v1/payments/{payment_id}/cancel", f"/v1/payments/{payment['id']}/cancel", headers=HEADERS)
    call("put", "/v1/journeys/{dated_service_journey_id}/capacity",
         f"/v1/journeys/{BERGEN_DEPARTURE}/capacity", headers=HEADERS, json={"seats": 5})
    call("put", "/v1/journeys/{dated_service_journey_id}/capacity",
         f"/v1/journeys/{BERGEN_DEPARTURE}/capacity", headers=WRITER, json={"seats": 0})
    call("post", "/v1/orders", headers=HEADERS, data="not json", content_type="text/plain")
    # safe retries: a replayed answer, a reused key, a stale If-Match, a current If-None-Match
    keyed = {**HEADERS, "Idempotency-Key": "sale-1"}
    first = call("post", "/v1/orders", headers=keyed, json={"externalReference": "keyed"})
    again = call("post", "/v1/orders", headers=keyed, json={"externalReference": "keyed"})
    assert again.headers["Idempotency-Replayed"] == "true" and again.json == first.json
    call("post", "/v1/orders", headers=keyed, json={"externalReference": "another"})
    call("put", "/v1/orders/{order_id}", order_url, headers={**HEADERS, "If-Match": '"stale"'},
         json={"externalReference": "y"})
    etag = call("get", "/v1/orders/{order_id}", order_url, headers=HEADERS).headers["ETag"]
    call("get", "/v1/orders/{order_id}", order_url, headers={**HEADERS, "If-None-Match": etag})
    statuses = {status for _, _, status in call.seen}
    assert {200, 201, 304, 400, 401, 403, 404, 409, 412, 415, 422} <= statuses
