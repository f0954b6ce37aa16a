"""Turning a run's raw results into the rows of the table, each beside its baseline."""

from __future__ import annotations

import math
from typing import Any

from bench.config import Config
from bench.load import ALL_REQUESTS, UNSEEN
from bench.report import Row, row_from_latency, table

REQUEST_KINDS = ("create order", "reserve offer", "create payment", "capture payment", "refund options",
                 "refund")
RAW, BARE, LIBRARY = "(a) raw insert/s", "(b) bare Flask/s", "(c) library save/s"


def _at(results: dict[Any, Any], clients: int) -> dict[str, Any]:
    """Results keyed by concurrency (ints in memory, strings once through JSON)."""
    found: dict[str, Any] = results.get(clients, results.get(str(clients), {}))
    return found


def _failed(result: dict[str, Any]) -> str:
    """Failed operations: whole sales or changes where the scenario has them, else requests."""
    found = result.get("failures", {})
    wholes = {k: v for k, v in found.items() if k.startswith("whole")}
    failures = sum((wholes or found).values())
    return f"{failures} failed" if failures else ""


def baseline_rows(details: dict[str, Any], config: Config) -> list[Row]:
    found = details["baselines"]
    rows = []
    for clients in config.concurrency:
        raw, library = _at(found["raw"], clients), _at(found["library"], clients)
        bare = _at(found.get("bare", {}), clients)
        rows.append(row_from_latency("(a) raw INSERT+COMMIT", clients, raw["throughput"], "/s",
                                     raw["latency"]))
        if bare:
            rows.append(row_from_latency("(b) bare Flask insert over HTTP", clients, bare["throughput"],
                                         "req/s", bare["latency"].get("bare insert", {}), RAW,
                                         raw["throughput"], _failed(bare)))
        rows.append(row_from_latency("(c) library save, 2-event aggregate", clients, library["throughput"],
                                     "/s", library["latency"], RAW, raw["throughput"]))
    return rows


def sale_rows(details: dict[str, Any], levels: tuple[int, ...], name: str, key: str, unit: str) -> list[Row]:
    rows = []
    for clients in levels:
        result = _at(details["service"].get(key, {}), clients)
        if not result:
            continue
        library = _at(details["baselines"]["library"], clients)["throughput"]
        bare = _at(details["baselines"].get("bare", {}), clients).get("throughput", math.nan)
        done = f"{result['operations']} done {_failed(result)}{_seats(result)}".strip()
        rows.append(row_from_latency(f"{name}: whole", clients, result["throughput"], unit,
                                     result["latency"].get(result["main"], {}), LIBRARY, library, done))
        rows.append(row_from_latency(f"{name}: each request", clients, result["requests_per_second"], "req/s",
                                     result["latency"].get(ALL_REQUESTS, {}), BARE, bare,
                                     _request_failures(result)))
        lag = result.get("group_lag")
        if lag and lag.get("count"):
            kinds = "/".join(lag.get("kinds", ["GroupCreated"]))
            note = f"{lag['count']} orders of {lag['confirmations']} confirmed, max {lag['max_ms']:.0f} ms"
            rows.append(row_from_latency(f"{name}: confirmation to {kinds} (lag)", clients,
                                         math.nan, "", lag, note=note))
    return rows


def _seats(result: dict[str, Any]) -> str:
    """Only when the departure holds another number of seats than the orders reserved."""
    seats = result.get("seats")
    if not seats or seats["held"] == seats["reserved_by_orders"]:
        return ""
    return f", {seats['held']} seats held but {seats['reserved_by_orders']} reserved"


def _request_failures(result: dict[str, Any]) -> str:
    failures = {k: v for k, v in result.get("failures", {}).items() if not k.startswith("whole")}
    return ", ".join(f"{v} x {k}" for k, v in failures.items())


def search_rows(details: dict[str, Any]) -> list[Row]:
    rows = []
    bare = details["baselines"].get("bare", {})
    for name, results in details["service"]["searches"].items():
        for result in results:
            baseline = _at(bare, result["clients"]).get("throughput", math.nan)
            total = result["samples"].get("totalItems", "?")
            rows.append(row_from_latency(f"search: {name}", result["clients"], result["throughput"], "req/s",
                                         result["latency"].get("search", {}), BARE, baseline,
                                         f"totalItems {total:,} {_failed(result)}".strip()
                                         if isinstance(total, int) else _failed(result)))
    return rows


def other_rows(details: dict[str, Any]) -> list[Row]:
    model, found = details["read_model"], details["history"]
    library_1 = _at(details["baselines"]["library"], 1)["throughput"]
    rebuild = model["rebuild"]
    with_snapshots, without = found["with_snapshots"], found["without_snapshots"]
    expired = details["expiry"]
    max_lag = expired["lag"].get("max_ms", 0) / 1000
    workers = f"{model['workers']} proc"
    return [
        Row("seed: build + save orders (events only)", workers, model["phase1"]["orders_per_second"],
            "orders/s", note=f"{model['phase1']['orders']:,} orders, {model['phase1']['events']:,} events"),
        Row("seed: same + read-model rows written directly", workers, model["phase2"]["orders_per_second"],
            "orders/s", note=f"{model['orders']:,} orders, {model['events']:,} events in all"),
        Row("rebuild: maintenance.rebuild", "1", rebuild["throughput"], "events/s",
            baseline_name="(d) read+decode/s", baseline=model["decode"]["throughput"],
            note=f"{rebuild['events']:,} events, {rebuild['orders']:,} orders, {rebuild['seconds']:.0f} s"),
        row_from_latency(f"load {found['events']}-event order, snapshots", "1",
                         1000 / with_snapshots["mean_ms"], "loads/s", with_snapshots,
                         "without snapshots", 1000 / without["mean_ms"]),
        row_from_latency(f"load {found['events']}-event order, no snapshots", "1",
                         1000 / without["mean_ms"], "loads/s", without),
        row_from_latency(f"expiry: {expired['orders']:,} due at once (lag)", "scheduler",
                         expired["throughput"], "orders/s", expired["lag"], LIBRARY, library_1,
                         f"{expired['expired']:,} expired, max lag {max_lag:.1f} s"),
    ]


def sellout_rows(details: dict[str, Any]) -> list[Row]:
    sold = details["service"].get("sellout")
    if not sold:
        return []
    seats = sold["seats"]
    bare = _at(details["baselines"].get("bare", {}), sold["clients"]).get("throughput", math.nan)
    name = f"sale, one departure of {seats['capacity']} seats (sell-out)"
    note = (f"{seats['held']} of {seats['capacity']} held, {seats['oversold']} oversold, "
            f"{seats['conflicts']} x 409 ({seats['spurious_conflicts']} spurious)")
    return [row_from_latency(f"{name}: whole", sold["clients"], sold["throughput"], "sales/s",
                             sold["latency"].get(sold["main"], {}), note=note),
            row_from_latency(f"{name}: each request", sold["clients"], sold["requests_per_second"], "req/s",
                             sold["latency"].get(ALL_REQUESTS, {}), BARE, bare, _request_failures(sold))]


def written_rows(details: dict[str, Any]) -> list[Row]:
    """Read your writes: the search right after a write, and the same search again."""
    rows = []
    for clients, found in sorted(details["service"].get("read_your_writes", {}).items()):
        unseen = found["failures"].get(UNSEEN, 0)
        for kind in ("search after write", "search again"):
            latency = found["latency"].get(kind, {})
            rate = latency.get("count", 0) / found["seconds"] if found["seconds"] else math.nan
            note = f"{unseen} of {latency.get('count', 0)} not seen" if kind == "search after write" else ""
            rows.append(row_from_latency(f"read your writes: {kind}", clients, rate, "req/s", latency,
                                         note=note))
    return rows


def rows(details: dict[str, Any], config: Config) -> list[Row]:
    levels, refunds = config.concurrency, config.refund_concurrency
    return [*baseline_rows(details, config),
            *sale_rows(details, levels, "sale (create, reserve, pay, capture)", "sales", "sales/s"),
            *sellout_rows(details),
            *sale_rows(details, levels, "change v2 (reserve, pay, capture)", "changes", "changes/s"),
            *sale_rows(details, refunds, "refund (options, refund)", "refunds", "refunds/s"),
            *written_rows(details), *search_rows(details), *other_rows(details)]


def request_table(details: dict[str, Any], config: Config) -> str:
    """Latency of each request kind of the sale and the change, per concurrency."""
    request_rows = []
    each = config.concurrency
    for key, name, levels in (("sales", "sale", each), ("changes", "change", each),
                              ("refunds", "refund", config.refund_concurrency)):
        for clients in levels:
            result = _at(details["service"].get(key, {}), clients)
            for kind in REQUEST_KINDS:
                latency = result.get("latency", {}).get(kind)
                if latency:
                    rate = latency["count"] / result["seconds"] if result["seconds"] else math.nan
                    request_rows.append(row_from_latency(f"{name}: {kind}", clients, rate, "req/s", latency))
    return table(request_rows)
