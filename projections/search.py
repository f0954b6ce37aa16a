"""Order search on the read model: ``field=op:value`` filters turned into bound-parameter SQL.

Only whitelisted column names and operators ever reach the SQL text; every value is a parameter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ordering.domain.errors import InvalidRequest
from ordering.domain.money import parse_money
from projections.db import PortableCursor, ReadModelDatabase
from projections.orders import micros
from projections.schema import counts_table, day_bounds, orders_table, terms_table

EQUALITY = ("eq", "ne", "in", "nin")
ORDERING = (*EQUALITY, "gt", "gte", "lt", "lte")
SQL_OPERATORS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_LIST = 100
PAGING = ("orderBy", "sortBy", "page", "perPage")
SEEK_FROM = 500  # shallower pages skip their offset in the index; deeper ones seek to a day first


def _text(value: str) -> str:
    if len(value) > 200:
        raise ValueError("at most 200 characters")
    return value


ORDER_STATUSES = ("DRAFT", "CONFIRMED")


def _integer(value: str) -> int:
    if not value.lstrip("-").isdigit() or len(value) > 12:
        raise ValueError("must be an integer")
    return int(value)


def _money(value: str) -> int:
    return int(parse_money(value) * 100)


def _time(value: str) -> int:
    text = value.replace(" ", "+")  # an unencoded "+" in a query string arrives as a space
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an RFC 3339 time with an offset") from None
    if moment.tzinfo is None:
        raise ValueError("must carry a UTC offset")
    try:
        result = micros(moment.astimezone(UTC))
    except OverflowError:
        raise ValueError("is out of range") from None
    assert result is not None
    return result


@dataclass(frozen=True)
class Field:
    column: str
    parse: Callable[[str], Any]
    operators: tuple[str, ...]
    term: bool = False  # matched on the order's active lines and legs
    choices: tuple[str, ...] = ()  # an enumerated field: any other value is a 400, never an empty page

    def value_of(self, text: str) -> Any:
        if self.choices and text not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        return self.parse(text)

    @property
    def value_column(self) -> str:
        return "num_value" if self.parse in (_time, _integer) else "text_value"


FIELDS: dict[str, Field] = {
    "id": Field("id", _text, EQUALITY),
    "status": Field("status", _text, EQUALITY, choices=ORDER_STATUSES),
    "currency": Field("currency", _text, EQUALITY),
    "pos": Field("pos", _text, EQUALITY),
    "distributionChannelId": Field("distribution_channel_id", _text, EQUALITY),
    "externalReference": Field("external_reference", _text, EQUALITY),
    "createdBy": Field("created_by", _text, EQUALITY),
    "balance": Field("balance", _money, ORDERING),
    "totalAmount": Field("total_amount", _money, ORDERING),
    "totalTaxAmount": Field("total_tax_amount", _money, ORDERING),
    "version": Field("version", _integer, ORDERING),
    "createdAt": Field("created_at", _time, ORDERING),
    "lastConfirmedAt": Field("last_confirmed_at", _time, ORDERING),
    "organisationId": Field("organisation_id", _integer, ORDERING),
    **{name: Field(name, _text, EQUALITY, term=True) for name in (
        "contact", "orderLineId", "orderLineExternalReference", "reservationId", "salesPackageId",
        "salesPackageVersion", "fareProductId", "fareProductVersion", "serviceJourneyId",
        "datedServiceJourneyId", "originalDatedServiceJourneyId", "fromStopPlaceId", "toStopPlaceId")},
    "startTime": Field("startTime", _time, ORDERING, term=True),
    "endTime": Field("endTime", _time, ORDERING, term=True),
}
NULLABLE_SORTS = {"last_confirmed_at"}
ORDER_BY = {"createdAt": "created_at", "id": "id", "totalAmount": "total_amount", "balance": "balance",
            "lastConfirmedAt": "last_confirmed_at", "version": "version"}


@dataclass(frozen=True)
class Condition:
    field: Field
    operator: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    conditions: tuple[Condition, ...]
    order_by: str = "created_at"
    descending: bool = False
    page: int = 1
    per_page: int = 20


def parse_query(args: dict[str, list[str]]) -> Query:
    """``{name: [raw values]}`` from the query string; raises InvalidRequest naming the field."""
    conditions = [parse_condition(name, raw) for name, values in args.items()
                  if name not in PAGING for raw in values]
    order_by = _single(args, "orderBy", "createdAt")
    if order_by not in ORDER_BY:
        raise InvalidRequest(f"orderBy must be one of {', '.join(ORDER_BY)}", "orderBy")
    sort = _single(args, "sortBy", "asc")
    if sort not in ("asc", "desc"):
        raise InvalidRequest("sortBy must be asc or desc", "sortBy")
    return Query(tuple(conditions), ORDER_BY[order_by], sort == "desc",
                 _bounded(args, "page", 1, 1, 10_000_000), _bounded(args, "perPage", 20, 1, 100))


def parse_condition(name: str, raw: str) -> Condition:
    field = FIELDS.get(name)
    if field is None:
        raise InvalidRequest(f"{name} is not a searchable field", name)
    operator, _, value = raw.partition(":") if _has_operator(raw) else ("eq", "", raw)
    if operator not in field.operators:
        raise InvalidRequest(f"{name} takes the operators {', '.join(field.operators)}", name)
    texts = value.split(",") if operator in ("in", "nin") else [value]
    if len(texts) > MAX_LIST:
        raise InvalidRequest(f"{name}: at most {MAX_LIST} values in a list", name)
    try:
        values = tuple(field.value_of(text) for text in texts)
    except ValueError as error:
        raise InvalidRequest(f"{name}: {error}", name) from None
    return Condition(field, operator, values)


def _has_operator(raw: str) -> bool:
    return raw.partition(":")[0] in ORDERING and ":" in raw


def _single(args: dict[str, list[str]], name: str, default: str) -> str:
    values = args.get(name, [default])
    if len(values) != 1:
        raise InvalidRequest(f"{name} may be given once", name)
    return values[0]


def _bounded(args: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    text = _single(args, name, str(default))
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidRequest(f"{name} must be an integer from {low} to {high}", name)
    return int(text)


def _condition_sql(condition: Condition, generation: int, alias: str = "o") -> tuple[str, list[Any]]:
    field, op, values = condition.field, condition.operator, list(condition.values)
    if field.term:
        column = f"t.{field.value_column}"
        inner, params = _comparison(column, op, values, nullable=False)
        # A semi-join driven by the (field, value, order_id) index: selective filters stay fast
        # however many orders the organisation has.
        return (f"{alias}.id IN (SELECT t.order_id FROM {terms_table(generation)} t "
                f"WHERE t.field = ? AND {inner})", [field.column, *params])
    return _comparison(f"{alias}.{field.column}", op, values, nullable=True)


def _comparison(column: str, op: str, values: list[Any], nullable: bool) -> tuple[str, list[Any]]:
    marks = ", ".join("?" * len(values))
    if op == "in":
        return f"{column} IN ({marks})", values
    if op == "nin":
        sql = f"{column} NOT IN ({marks})"
        return (f"({column} IS NULL OR {sql})" if nullable else sql), values
    sql = f"{column} {SQL_OPERATORS[op]} ?"
    if op == "ne" and nullable:
        sql = f"({column} IS NULL OR {sql})"
    return sql, values


@dataclass(frozen=True)
class Filter:
    """The WHERE of a search over one generation, for the rows (``o``) or their counts (``c``)."""

    generation: int
    organisation_id: int
    conditions: tuple[Condition, ...]

    def where(self, alias: str = "o") -> tuple[str, list[Any]]:
        clauses, params = [f"{alias}.organisation_id = ?"], [self.organisation_id]
        for condition in self.conditions:
            sql, values = _condition_sql(condition, self.generation, alias)
            clauses.append(sql)
            params.extend(values)
        return " AND ".join(clauses), params

    @property
    def by_terms(self) -> bool:
        return any(c.field.term for c in self.conditions)

    @property
    def counted(self) -> bool:
        """Whether the counts table answers it: conditions on its own columns only."""
        return all(c.field.column in COUNTED_COLUMNS and not c.field.term for c in self.conditions)


COUNTED_COLUMNS = ("organisation_id", "status")  # beside the day, what order_counts_<g> is keyed by


@dataclass(frozen=True)
class Seek:
    """Where a page starts: ``skip`` matches into those that also meet ``clause``."""

    clause: str = ""
    params: tuple[int, ...] = ()
    skip: int = 0


@dataclass(frozen=True)
class SearchPage:
    """A page of matches: the stored order documents as their JSON text, and the totals."""

    documents: list[str]
    page: int
    per_page: int
    total: int

    def _totals(self) -> dict[str, int]:
        return {"page": self.page, "perPage": self.per_page, "totalItems": self.total,
                "totalPages": math.ceil(self.total / self.per_page)}

    def to_dict(self) -> dict[str, Any]:
        return {"items": [json.loads(document) for document in self.documents], **self._totals()}

    def to_json(self) -> str:
        """The answer's body, with each document as it is stored (never parsed and encoded again)."""
        return f'{{"items": [{", ".join(self.documents)}], {json.dumps(self._totals())[1:]}'


def search(database: ReadModelDatabase, generation: int, organisation_id: int, query: Query
           ) -> SearchPage:
    found = Filter(generation, organisation_id, query.conditions)
    with database.transaction() as cursor:
        if database.postgres:  # the count and the page from one snapshot, however the projection moves
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        documents, total = _answer(cursor, found, query, (query.page - 1) * query.per_page)
    return SearchPage(documents, query.page, query.per_page, total)


def _answer(cursor: PortableCursor, found: Filter, query: Query, offset: int) -> tuple[list[str], int]:
    """The page's documents and how many orders match in all."""
    if found.counted:
        days = _day_counts(cursor, found)
        total = sum(n for _, n in days)
        return (_page(cursor, found, query, _seek(query, days, offset)) if offset < total else []), total
    if found.by_terms:  # every match is looked up for the sort anyway: count them on the way
        rows = _page_rows(cursor, found, query, Seek(skip=offset), with_total=True)
        if rows or offset == 0:
            return [str(row[0]) for row in rows], int(rows[0][1]) if rows else 0
        return [], _count(cursor, found)
    total = _count(cursor, found)
    return (_page(cursor, found, query, Seek(skip=offset)) if offset < total else []), total


def _count(cursor: PortableCursor, found: Filter) -> int:
    where, params = found.where()
    cursor.execute(f"SELECT COUNT(*) FROM {orders_table(found.generation)} o WHERE {where}", params)
    return int(cursor.fetchone()[0])


def _day_counts(cursor: PortableCursor, found: Filter) -> list[tuple[int, int]]:
    """(day, matches) for each day of ``created_at`` that has any, oldest first."""
    where, params = found.where("c")
    cursor.execute(f"SELECT c.day, SUM(c.n) FROM {counts_table(found.generation)} c WHERE {where} "
                   "GROUP BY c.day HAVING SUM(c.n) <> 0 ORDER BY c.day", params)
    return [(int(day), int(n)) for day, n in cursor.fetchall()]


def _seek(query: Query, days: list[tuple[int, int]] | None, offset: int) -> Seek:
    """A deep page sorted by ``createdAt`` starts at the day that holds it, found from the
    counts, so the OFFSET walks at most one day's matches instead of every earlier one."""
    if days is None or query.order_by != "created_at" or offset < SEEK_FROM:
        return Seek(skip=offset)
    skipped = 0
    for day, n in reversed(days) if query.descending else days:
        if skipped + n > offset:
            first, last = day_bounds(day)
            if query.descending:
                return Seek("o.created_at <= ?", (last,), offset - skipped)
            return Seek("o.created_at >= ?", (first,), offset - skipped)
        skipped += n
    return Seek(skip=offset)


def _page(cursor: PortableCursor, found: Filter, query: Query, seek: Seek) -> list[str]:
    return [str(row[0]) for row in _page_rows(cursor, found, query, seek)]


def _page_rows(cursor: PortableCursor, found: Filter, query: Query, seek: Seek, with_total: bool = False
               ) -> list[Any]:
    """The page's ids from the narrow index alone (skipped rows never reach the table), then
    their documents; ``with_total``: each row also carries the count of every match."""
    where, params = found.where()
    if seek.clause:
        where, params = f"{where} AND {seek.clause}", [*params, *seek.params]
    direction = "DESC" if query.descending else "ASC"
    nulls_last = f"(o.{query.order_by} IS NULL), " if query.order_by in NULLABLE_SORTS else ""
    order = f"{nulls_last}o.{query.order_by} {direction}, o.id {direction}"
    table = orders_table(found.generation)
    total = ", COUNT(*) OVER () AS total" if with_total else ""
    cursor.execute(f"SELECT o.document{', page.total' if with_total else ''} FROM {table} o "
                   f"JOIN (SELECT o.id{total} FROM {table} o WHERE {where} ORDER BY {order} "
                   f"LIMIT ? OFFSET ?) page ON page.id = o.id ORDER BY {order}",
                   [*params, query.per_page, seek.skip])
    return cursor.fetchall()
