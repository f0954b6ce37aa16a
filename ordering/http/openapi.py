"""The OpenAPI document, made true to what the service does, for every operation at once.

flask-smorest describes each view from its schemas; this module then rewrites the generated
document (``install`` wraps ``api.spec.to_dict``, which ``/openapi.json`` and ``flask openapi``
both use), so a view added later gets the same treatment without touching its schema file:

- errors are ``application/problem+json`` (``Problem``) under the statuses each operation can
  really answer (400, 401, 403, 404, 409, 413, 415, 429, 503; 412 and 422 once safe retries are
  served), never flask-smorest's ``422 Error``;
- the headers each operation takes (``ET-Client-Name``, ``X-Correlation-Id``, the sales headers)
  and returns (``X-Correlation-Id``, ``Location``, ``Retry-After``, ``WWW-Authenticate``, rate
  limits); ``Authorization`` is the bearer security scheme, described with how to mint a token;
- money as a pattern-typed string, enums for statuses and types, an ``operationId`` each;
- one example per request and response: realistic ones for the sale (the demo catalogue's ids,
  so "Try it out" on ``/docs`` works as it stands), the rest made from the schemas.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest import Api
from marshmallow import fields

from ordering.domain.ticketing import GROUP_STATUSES
from ordering.http import openapi_examples as examples
from ordering.representation.fields import Money
from projections.search import ORDER_STATUSES

MONEY_PATTERN = r"^-?\d+\.\d{2}$"
PRINTABLE_PATTERN = r"^[\x20-\x7e]{1,200}$"
# The contract's safe retries (Idempotency-Key, If-Match/ETag: 412, 422, 409
# IDEMPOTENCY_KEY_IN_USE), served by ordering.http.idempotency and ordering.http.conditional.
SAFE_RETRIES_SERVED = True

Spec = dict[str, Any]
Operation = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
MAX_EXAMPLE_DEPTH = 24  # only a schema that refers to itself gets that deep

LINE_STATUSES = ("DRAFT", "CONFIRMED", "REPLACED", "CANCELLED")
FEE_TYPES = ("MANUAL", "REFUNDING", "ONBOARD", "CHANGE", "INVOICE", "CHANGE_NON_REFUNDABLE", "PENALTY",
             "BOOKING", "REDUCTION")
ENUMS: dict[str, tuple[str | None, ...]] = {
    "OrderOut.status": ORDER_STATUSES,
    "OrderLine.status": LINE_STATUSES,
    "OrderLine.externalConfirmation": ("PENDING", "SUCCESS", "FAILED", None),
    "LineOptionsOut.status": LINE_STATUSES,
    "Fee.type": FEE_TYPES,
    "PaymentRef.status": ("CAPTURED", "CREDITED"),
    "PaymentOut.status": ("CREATED", "CAPTURED", "CANCELLED"),
    "CreditOut.status": ("CREDITED",),
    "GroupOut.status": GROUP_STATUSES,
}
# Properties a view answers as null although its schema does not say so.
NULLABLE: set[str] = set()
# A schema property that is a loose object in the view's schema, and what it really holds.
REFERENCES = {"OrderPage.items": "OrderOut"}

PROBLEM_CODES: dict[int, tuple[str, ...]] = {
    400: ("VALIDATION_FAILED",),
    401: ("UNAUTHENTICATED",),
    403: ("FORBIDDEN",),
    404: ("ORDER_NOT_FOUND", "VERSION_NOT_FOUND", "OFFER_NOT_FOUND", "PAYMENT_NOT_FOUND", "CREDIT_NOT_FOUND",
          "FEE_NOT_FOUND", "REFUND_OPTION_NOT_FOUND", "TICKET_DISTRIBUTION_GROUP_NOT_FOUND", "NOT_FOUND"),
    409: ("ORDER_LOCKED", "ORDER_NOT_BALANCED", "ORDER_NOT_DRAFT", "ORDER_EMPTY", "NO_AVAILABILITY",
          "OFFER_EXPIRED", "OFFER_EXISTS", "VERSION_MISMATCH", "PAYMENT_NOT_PENDING",
          "CONCURRENT_MODIFICATION", "CHANGE_NOT_ALLOWED", "ORDER_NOT_CONFIRMED", "REFUND_EXCEEDS_PAID",
          "NOTHING_TO_FAIL", "EXTERNAL_CONFIRMATION_PENDING", "CAPACITY_BELOW_RESERVED", "FEE_CONFIRMED",
          "REFUND_OPTION_EXPIRED", "TICKETS_CANCELLED", "IDEMPOTENCY_KEY_IN_USE"),
    412: ("PRECONDITION_FAILED",),
    413: ("PAYLOAD_TOO_LARGE",),
    415: ("UNSUPPORTED_MEDIA_TYPE",),
    422: ("IDEMPOTENCY_KEY_REUSED",),
    429: ("RATE_LIMITED",),
    503: ("SERVICE_UNAVAILABLE",),
}
PROBLEM_TITLES = {400: "Request is not valid", 401: "Not authenticated", 403: "Not permitted",
                  404: "Not found", 409: "Conflict with the current state", 412: "Precondition failed",
                  413: "Body too large", 415: "Body is not JSON", 422: "Idempotency key reused",
                  429: "Rate limited", 503: "Service unavailable"}
RETRY_AFTER_STATUSES = (429, 503)

# Operations that need a permission (403), or that may act for another organisation (403).
FORBIDDING = {("post", "/v1/offers"), ("put", "/v1/journeys/{dated_service_journey_id}/capacity"),
              ("post", "/v1/orders"), ("post", "/v1/reserve-offers")}
NEVER_404 = {("put", "/v1/journeys/{dated_service_journey_id}/capacity")}  # sets up a new departure
SALES_HEADERS_REQUIRED = {("post", "/v1/reserve-offers"), ("post", "/v1/update-order"),
                          ("post", "/v1/update-order/supplement-products")}
SALES_HEADERS_OPTIONAL = {("post", "/v1/orders")}
ON_BEHALF_OF = {("post", "/v1/orders"), ("post", "/v1/reserve-offers")}
LOCATION_ON_200 = {("post", "/v1/reserve-offers"): "when the reservation created the order"}
# Names the service is known by; any other operation gets one made from its method and path.
OPERATION_IDS = {
    ("get", "/v1/orders"): "searchOrders",
    ("post", "/v1/orders"): "createOrder",
    ("get", "/v1/orders/{order_id}"): "getOrder",
    ("put", "/v1/orders/{order_id}"): "updateOrder",
    ("post", "/v1/orders/{order_id}/confirm"): "confirmOrder",
    ("post", "/v1/orders/{order_id}/reset"): "resetOrder",
    ("post", "/v1/orders/{order_id}/unlock"): "unlockOrder",
    ("post", "/v1/orders/{order_id}/fail"): "failOrder",
    ("post", "/v1/orders/{order_id}/orderlines/confirm"): "confirmOrderLines",
    ("get", "/v1/orders/{order_id}/events"): "getOrderTrail",
    ("get", "/v1/offers"): "listOffers",
    ("post", "/v1/offers"): "addOffers",
    ("get", "/v1/offers/{offer_id}"): "getOffer",
    ("put", "/v1/journeys/{dated_service_journey_id}/capacity"): "setCapacity",
    ("get", "/v1/journeys/{dated_service_journey_id}/availability"): "getAvailability",
    ("post", "/v1/reserve-offers"): "reserveOffers",
    ("post", "/v1/payments"): "createPayment",
    ("get", "/v1/payments/{payment_id}"): "getPayment",
    ("post", "/v1/payments/{payment_id}/capture"): "capturePayment",
    ("post", "/v1/payments/{payment_id}/cancel"): "cancelPayment",
    ("post", "/v1/update-order"): "replaceOrderLines",
    ("post", "/v1/credits"): "createCredit",
    ("get", "/v1/credits/{credit_id}"): "getCredit",
    ("post", "/v1/update-order/supplement-products"): "addSupplementProducts",
    ("get", "/v1/change-options"): "getChangeOptions",
    ("post", "/v1/orders/{order_id}/fees"): "addFee",
    ("delete", "/v1/orders/{order_id}/fees/{fee_id}"): "removeFee",
    ("post", "/v1/orders/{order_id}/orderlines/cancel"): "cancelOrderLines",
    ("get", "/v1/refunds/options/{order_id}"): "getRefundOptions",
    ("post", "/v1/refunds/{order_id}"): "refundOrder",
    ("get", "/v1/orders/{order_id}/changes"): "getOrderChanges",
    ("get", "/v1/order-events"): "getOrderEvents",
    ("get", "/v1/ticket-distribution-groups"): "listTicketDistributionGroups",
    ("post", "/v1/ticket-distribution-groups/distribute"): "distributeTickets",
    ("get", "/v1/ticket-distribution-groups/{group_id}/events"): "getTicketDistributionGroupTrail",
}
NOT_MODIFIED = {("get", "/v1/orders/{order_id}")}  # If-None-Match: 304 on the current order
NAMES_A_RESOURCE = ("orderId", "offerConfigurations", "paymentId", "creditId", "ticketDistributionGroupIds")

SECURITY_DESCRIPTION = """A JWT bearer token: `Authorization: Bearer <token>`.

Claims: `https://entur.io/organisationID` (integer) is the caller's organisation, `sub` the user or
client, `permissions` (list) what it may do beyond the basics: `orders:on-behalf-of` (create orders
for another organisation: `Entur-On-Behalf-Of`), `offers:write` (catalogue and capacity changes),
`audit:read-all` (audit trails across organisations).

A development token, signed with the service's own key (`JWT_SECRET`, or the one made on first run
in `instance/dev-jwt-secret`):

    flask --app app token --org 1
    flask --app app token --org 1 --permission offers:write --permission orders:on-behalf-of

Missing, expired or badly signed tokens are answered `401` with `WWW-Authenticate: Bearer`."""


def install(api: Api) -> None:
    """Money as a pattern-typed string in every schema, and the rewrite of the whole document."""
    plugin: MarshmallowPlugin = api.ma_plugin
    if plugin.converter is not None:  # made when the plugin joined the spec, as Api() does
        plugin.converter.add_attribute_function(money_property)  # type: ignore[no-untyped-call]
    generated = api.spec.to_dict

    def truthful() -> Spec:
        return describe(generated())

    setattr(api.spec, "to_dict", truthful)  # noqa: B010  (every reader of the spec goes through it)


def money_property(self: Any, field: fields.Field[Any], **kwargs: Any) -> dict[str, Any]:
    if isinstance(field, Money):
        return {"type": "string", "pattern": MONEY_PATTERN, "example": "899.00",
                "description": "an exact amount with two decimals (never a JSON number)"}
    return {}


def describe(generated: Spec) -> Spec:
    spec = copy.deepcopy(generated)
    components = spec.setdefault("components", {})
    _describe_schemas(components.setdefault("schemas", {}))
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                                "description": SECURITY_DESCRIPTION}}
    headers_taken = _header_parameters()
    components["headers"] = _response_headers()
    components["responses"] = {f"Problem{status}": _problem_response(status) for status in PROBLEM_CODES}
    for name in ("Error", "PaginationMetadata"):
        components["schemas"].pop(name, None)
    components["schemas"]["Problem"] = _problem_schema()
    taken: set[str] = set()
    for path, method, operation in _operations(spec):
        _describe_operation(path, method, operation, components, taken, headers_taken)
    spec["info"]["description"] = ("The order service's HTTP API (`/v1`): orders, offers, seats, "
                                   "payments and after-sales. Errors are RFC 9457 problem+json; "
                                   "clients act on `code`.")
    return spec


def _operations(spec: Spec) -> Iterator[tuple[str, str, Operation]]:
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


# ----------------------------------------------------------------- schemas


def _describe_schemas(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        for prop, definition in schema.get("properties", {}).items():
            key = f"{name}.{prop}"
            if key in ENUMS:
                definition["enum"] = list(ENUMS[key])
                definition.setdefault("type", "string")
            if key in NULLABLE:
                definition["nullable"] = True
            if key in REFERENCES:
                definition["items"] = {"$ref": f"#/components/schemas/{REFERENCES[key]}"}
            if prop == "currency" and definition.get("type") == "string":
                definition.setdefault("pattern", "^[A-Z]{3}$")
            hint = examples.PROPERTY_EXAMPLES.get(key, examples.PROPERTY_EXAMPLES.get(prop))
            if hint is not None and "example" not in definition and "$ref" not in definition:
                definition["example"] = hint


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem details; clients act on `code`.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "example": "/problems/order-locked"},
            "title": {"type": "string", "example": "Order is locked"},
            "status": {"type": "integer", "example": 409},
            "detail": {"type": "string", "example": "Order K7QF3M2X has a payment in progress"},
            "code": {"type": "string", "example": "ORDER_LOCKED",
                     "description": "one of the contract's codes; more may be added"},
            "correlationId": {"type": "string", "nullable": True},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        },
    }


def _problem_response(status: int) -> dict[str, Any]:
    codes = PROBLEM_CODES[status]
    headers: dict[str, Any] = {"X-Correlation-Id": {"$ref": "#/components/headers/X-Correlation-Id"}}
    if status in RETRY_AFTER_STATUSES:
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    elif status == 409 and SAFE_RETRIES_SERVED:
        headers["Retry-After"] = {"description": "Only with IDEMPOTENCY_KEY_IN_USE: seconds until the "
                                  "first request with the key should be done",
                                  "schema": {"type": "integer", "minimum": 1}}
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
    example = {"type": f"/problems/{codes[0].lower().replace('_', '-')}", "title": PROBLEM_TITLES[status],
               "status": status, "detail": examples.PROBLEM_DETAILS.get(status, PROBLEM_TITLES[status]),
               "code": codes[0], "correlationId": "7c97e9a0-6f1e-4d55-9a51-2b1f0c3d4e5f"}
    if status == 400:
        example["errors"] = [{"field": "offerConfigurations.0.offerId", "message": "Missing data for "
                              "required field."}]
    return {"description": f"{PROBLEM_TITLES[status]}: {', '.join(codes)}", "headers": headers,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"},
                                                     "example": example}}}


# ----------------------------------------------------------------- headers


def _text_header(name: str, description: str, example: str | None = None,
                 pattern: str = PRINTABLE_PATTERN) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": pattern, "maxLength": 200}
    parameter: dict[str, Any] = {"name": name, "in": "header", "required": False,
                                 "description": description, "schema": schema}
    if example is not None:
        parameter["example"] = example
    return parameter


def _header_parameters() -> dict[str, Any]:
    parameters = {
        "ET-Client-Name": _text_header(
            "ET-Client-Name", "Who the client is, `<company>-<application>`. Calls without it share "
            "one small rate-limit bucket; each named client gets its own, larger one.", "acme-app"),
        "X-Correlation-Id": _text_header(
            "X-Correlation-Id", "Echoed on the answer (a UUID is made when absent) and stored with "
            "every event the call causes."),
        "Entur-POS": _text_header("Entur-POS", "Point of sale, stored on a new order as `pos`.",
                                  "Entur-APP"),
        "Entur-Distribution-Channel": _text_header(
            "Entur-Distribution-Channel", "Distribution channel, stored on a new order as "
            "`distributionChannelId`.", "ENT:DistributionChannel:Web"),
        "Entur-On-Behalf-Of": _text_header(
            "Entur-On-Behalf-Of", "Organisation id to create the order for; needs permission "
            "`orders:on-behalf-of`, else 403.", None, r"^[0-9]{1,9}$"),
    }
    for name in ("Entur-POS", "Entur-Distribution-Channel"):
        required = dict(parameters[name], required=True)
        parameters[f"{name}-required"] = required
    if SAFE_RETRIES_SERVED:
        parameters["Idempotency-Key"] = _text_header(
            "Idempotency-Key", "Makes a retry safe: a repeat within 24 hours gets the first answer.",
            None, r"^[\x21-\x7e]{1,255}$")
        parameters["If-Match"] = _text_header(
            "If-Match", "The order's ETag: the change is refused (412) unless it still matches.")
        parameters["If-None-Match"] = _text_header(
            "If-None-Match", "The order's ETag: 304 with no body while it still matches.")
    return parameters


def _response_headers() -> dict[str, Any]:
    def integer(description: str) -> dict[str, Any]:
        return {"description": description, "schema": {"type": "integer", "minimum": 0}}

    headers: dict[str, Any] = {
        "X-Correlation-Id": {"description": "The request's correlation id (made when absent)",
                             "schema": {"type": "string"}},
        "Location": {"description": "Where the created resource is", "schema": {"type": "string"}},
        "Retry-After": {"description": "Seconds to wait before trying again",
                        "schema": {"type": "integer", "minimum": 1}},
        "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}},
        "X-RateLimit-Limit": integer("Requests allowed in the window of the caller's bucket"),
        "X-RateLimit-Remaining": integer("Requests left in the window"),
        "X-RateLimit-Reset": integer("When the window resets (Unix time)"),
    }
    if SAFE_RETRIES_SERVED:
        headers["ETag"] = {"description": "The order's version tag, for If-Match and If-None-Match",
                           "schema": {"type": "string"}}
        headers["Idempotency-Replayed"] = {"description": "`true` on an answer replayed for a repeated "
                                           "Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}
    return headers


# ----------------------------------------------------------------- operations


def _describe_operation(path: str, method: str, operation: Operation, components: Spec,
                        taken: set[str], header_parameters: dict[str, Any]) -> None:
    key = (method, path)
    operation["operationId"] = _operation_id(key, taken)
    parameters = [p for p in operation.get("parameters", []) if p.get("in") != "header"]
    changes_order = method != "get" and _names_an_order(path, operation, components)
    parameters.extend(copy.deepcopy(header_parameters[name]) for name in _headers_taken(key, changes_order))
    operation["parameters"] = parameters
    if "requestBody" in operation:
        _request_example(operation, components)
    successes = {status: answer for status, answer in operation.get("responses", {}).items()
                 if status.isdigit() and int(status) < 400}
    for status, answer in successes.items():
        _describe_success(key, int(status), answer, operation["operationId"], components)
    if SAFE_RETRIES_SERVED and key in NOT_MODIFIED:
        successes["304"] = {"description": "Not modified: If-None-Match matched the order's ETag",
                            "headers": {name: {"$ref": f"#/components/headers/{name}"}
                                        for name in ("X-Correlation-Id", "ETag")}}
    responses = dict(successes)
    for status in sorted(_error_statuses(key, operation, components, changes_order)):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    operation["responses"] = responses


def _operation_id(key: tuple[str, str], taken: set[str]) -> str:
    method, path = key
    chosen = OPERATION_IDS.get(key)
    if chosen is None:
        words = [re.sub(r"[{}]", "", part) for part in path.split("/") if part and part != "v1"]
        chosen = method + "".join(_camel(w, by_param=w != part) for w, part in
                                  zip(words, [p for p in path.split("/") if p and p != "v1"], strict=True))
    unique, n = chosen, 2
    while unique in taken:
        unique, n = f"{chosen}{n}", n + 1
    taken.add(unique)
    return unique


def _camel(word: str, by_param: bool) -> str:
    text = "".join(part.capitalize() for part in re.split(r"[-_]", word) if part)
    return f"By{text}" if by_param else text


def _headers_taken(key: tuple[str, str], changes_order: bool) -> list[str]:
    method, _ = key
    names = ["ET-Client-Name", "X-Correlation-Id"]
    if key in SALES_HEADERS_REQUIRED:
        names += ["Entur-POS-required", "Entur-Distribution-Channel-required"]
    elif key in SALES_HEADERS_OPTIONAL:
        names += ["Entur-POS", "Entur-Distribution-Channel"]
    if key in ON_BEHALF_OF:
        names.append("Entur-On-Behalf-Of")
    if SAFE_RETRIES_SERVED and method == "post":
        names.append("Idempotency-Key")
    if SAFE_RETRIES_SERVED and changes_order:
        names.append("If-Match")
    if SAFE_RETRIES_SERVED and key in NOT_MODIFIED:
        names.append("If-None-Match")
    return names


def _error_statuses(key: tuple[str, str], operation: Operation, components: Spec,
                    changes_order: bool) -> set[int]:
    method, path = key
    statuses = {400, 401, 429, 503}
    if key not in NEVER_404 and ("{" in path or _names_a_resource(operation, components)):
        statuses.add(404)
    if method != "get":
        statuses.add(409)
    if key in FORBIDDING:
        statuses.add(403)
    if "requestBody" in operation:
        statuses |= {413, 415}
    if SAFE_RETRIES_SERVED and changes_order:
        statuses.add(412)
    if SAFE_RETRIES_SERVED and method == "post":
        statuses.add(422)
    return statuses


def _names_an_order(path: str, operation: Operation, components: Spec) -> bool:
    """The operation names an order, or a payment of one, in its path or body (If-Match applies)."""
    return "{order_id}" in path or "{payment_id}" in path or _names_a_resource(operation, components,
                                                                                 ("orderId",))


def _names_a_resource(operation: Operation, components: Spec,
                      names: tuple[str, ...] = NAMES_A_RESOURCE) -> bool:
    query = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
    if query & set(names):
        return True
    schema = _body_schema(operation, components)
    return bool(schema and set(schema.get("properties", {})) & set(names))


def _body_schema(operation: Operation, components: Spec) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema")
    return _resolve(schema, components) if schema else None


def _resolve(schema: dict[str, Any], components: Spec) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = components["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return resolved


def _request_example(operation: Operation, components: Spec) -> None:
    content = operation["requestBody"].get("content", {}).get("application/json")
    if content is None:
        return
    chosen = examples.REQUESTS.get(operation["operationId"])
    content["example"] = chosen if chosen is not None else _synthesised(content.get("schema"), components)
    body = _body_schema(operation, components)
    if body is not None and body.get("type", "object") == "object" and "properties" in body:
        body["additionalProperties"] = False  # unknown request fields are refused with 400


def _describe_success(key: tuple[str, str], status: int, answer: dict[str, Any], operation_id: str,
                      components: Spec) -> None:
    headers: dict[str, Any] = {name: {"$ref": f"#/components/headers/{name}"} for name in
                               ("X-Correlation-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                "X-RateLimit-Reset")}
    if status == 201 or key in LOCATION_ON_200:
        location = {"$ref": "#/components/headers/Location"}
        headers["Location"] = location
    content = answer.get("content", {}).get("application/json")
    if SAFE_RETRIES_SERVED and content is not None and _carries_an_order(key[0], content.get("schema"),
                                                                          components):
        headers["ETag"] = {"$ref": "#/components/headers/ETag"}
    if SAFE_RETRIES_SERVED and key[0] == "post":
        headers["Idempotency-Replayed"] = {"$ref": "#/components/headers/Idempotency-Replayed"}
    answer["headers"] = headers
    if content is not None:
        chosen = examples.RESPONSES.get(operation_id)
        content["example"] = chosen if chosen is not None else _synthesised(content.get("schema"), components)


def _carries_an_order(method: str, schema: dict[str, Any] | None, components: Spec) -> bool:
    """An answer that is an order, or a change's result naming one, has the order's ETag."""
    if schema is None or "$ref" not in schema:
        return False
    if schema["$ref"].rsplit("/", 1)[-1] == "OrderOut":
        return True
    return method != "get" and "orderId" in _resolve(schema, components).get("properties", {})


def _synthesised(schema: dict[str, Any] | None, components: Spec, depth: int = 0) -> Any:
    """An example built from the schema: property examples, enums, formats, then types."""
    if schema is None or depth > MAX_EXAMPLE_DEPTH:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        named = examples.SCHEMAS.get(name)
        return copy.deepcopy(named) if named is not None else _synthesised(
            _resolve(schema, components), components, depth + 1)
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return next((value for value in schema["enum"] if value is not None), None)
    for combined in ("oneOf", "anyOf", "allOf"):
        if combined in schema:
            return _synthesised(schema[combined][0], components, depth + 1)
    return _typed_example(schema, components, depth)


def _typed_example(schema: dict[str, Any], components: Spec, depth: int) -> Any:
    kind = schema.get("type", "object" if "properties" in schema else None)
    makers: dict[str | None, Callable[[], Any]] = {
        "object": lambda: {name: _synthesised(sub, components, depth + 1)
                           for name, sub in schema.get("properties", {}).items()},
        "array": lambda: [_synthesised(schema.get("items"), components, depth + 1)],
        "integer": lambda: max(1, schema.get("minimum", 1)),
        "number": lambda: 1,
        "boolean": lambda: False,
        "string": lambda: examples.FORMATS.get(schema.get("format", ""), "text"),
    }
    maker = makers.get(kind)
    return maker() if maker is not None else None
