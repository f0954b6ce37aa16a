"""Issue 16's targets: each figure of the run beside its baseline of the same run, met or not."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.config import Config
from bench.load import ALL_REQUESTS, UNSEEN
from bench.report import markdown
from bench.searchcheck import BROAD
from projections import SETTLE_SECONDS

SELECTIVE = ("status+createdAt (1 day)", "leg datedServiceJourneyId")
HEADERS = ("target", "measured (this run)", "baseline (same run)", "target", "met", "note")
NAN = math.nan


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    baseline: str
    target: str
    met: bool | None  # None: not measured in this run
    note: str = ""
    values: dict[str, Any] = field(default_factory=dict)


def _at(results: dict[Any, Any], clients: int) -> dict[str, Any]:
    found: dict[str, Any] = results.get(clients, results.get(str(clients), {}))
    return found


def _ms(latency: dict[str, Any], key: str) -> float:
    value: float = latency.get(f"{key}_ms", NAN)
    return value


def _bare(details: dict[str, Any], clients: int) -> dict[str, Any]:
    """Baseline (b) at ``clients``: its rate and the latency of its one request."""
    bare = _at(details["baselines"].get("bare", {}), clients)
    latency = bare.get("latency", {}).get("bare insert", {})
    return {"throughput": bare.get("throughput", NAN), "p95_ms": _ms(latency, "p95"),
            "p99_ms": _ms(latency, "p99")}


def _failed(result: dict[str, Any]) -> str:
    """Failed whole operations, and the 409 answers among the requests."""
    found = result.get("failures", {})
    wholes = sum(n for label, n in found.items() if label.startswith("whole"))
    conflicts = sum(n for label, n in found.items() if " HTTP 409" in label)
    return f"{wholes} failed, {conflicts} x 409"


def _bare_text(details: dict[str, Any], clients: int) -> str:
    bare = _bare(details, clients)
    return (f"(b) bare Flask insert, {clients} client{'s' if clients > 1 else ''}: "
            f"{bare['throughput']:,.0f} req/s, "
            f"p95 {bare['p95_ms']:.1f} ms, p99 {bare['p99_ms']:.1f} ms")


def sale_8(details: dict[str, Any], config: Config) -> Target:
    sale = _at(details["service"]["sales"], 8)
    p99 = _ms(sale["latency"][ALL_REQUESTS], "p99")
    return Target("whole sale, 8 clients", f"{sale['throughput']:.1f} sales/s, request p99 {p99:.1f} ms",
                  _bare_text(details, 8), ">= 150 sales/s, p99 <= 50 ms",
                  sale["throughput"] >= 150 and p99 <= 50,
                  f"{sale['operations']} sales, {_failed(sale)}",
                  {"sales_per_second": sale["throughput"], "p99_ms": p99, "bare": _bare(details, 8)})


def sellout_32(details: dict[str, Any], config: Config) -> Target:
    sold = details["service"]["sellout"]
    seats = sold["seats"]
    clients = config.sellout_clients
    return Target(f"whole sale, {clients} clients, one departure of {seats['capacity']} seats",
                  f"{sold['throughput']:.1f} sales/s, {seats['spurious_conflicts']} spurious 409, "
                  f"{seats['oversold']} oversold", _bare_text(details, clients),
                  ">= 150 sales/s, 0 spurious 409, 0 oversold",
                  sold["throughput"] >= 150 and seats["spurious_conflicts"] == 0 and seats["oversold"] == 0,
                  f"{seats['held']} of {seats['capacity']} seats held ({seats['reserved_by_orders']} "
                  f"reserved by orders) in {sold['seconds']:.1f} s; {seats['conflicts']} x 409 in all",
                  {"sales_per_second": sold["throughput"], **seats, "bare": _bare(details, clients)})


def ratio(details: dict[str, Any], config: Config) -> Target:
    ratios = {c: _at(details["service"]["sales"], c)["requests_per_second"] / _bare(details, c)["throughput"]
              for c in config.concurrency}
    sale = _at(details["service"]["sales"], 8)
    return Target("sale requests / bare Flask insert", f"{ratios[8]:.2f} at 8 clients "
                  f"({sale['requests_per_second']:,.0f} req/s)", _bare_text(details, 8), ">= 0.35",
                  ratios[8] >= 0.35, "at " + " / ".join(f"{c}: {r:.2f}" for c, r in ratios.items()),
                  {"ratio": ratios})


def read_your_writes(details: dict[str, Any], config: Config) -> Target:
    clients = max(config.search_concurrency)
    found = _at(details["service"]["read_your_writes"], clients)
    after, again = found["latency"].get("search after write", {}), found["latency"].get("search again", {})
    searched, unseen = after.get("count", 0), found["failures"].get(UNSEEN, 0)
    wait = _ms(after, "p50") - _ms(again, "p50")
    return Target("read your writes: a search right after a write sees it",
                  f"{searched - unseen} of {searched} seen; search after write p50 {_ms(after, 'p50'):.1f} / "
                  f"p99 {_ms(after, 'p99'):.1f} / max {_ms(after, 'max'):.1f} ms",
                  f"the same search again: p50 {_ms(again, 'p50'):.1f} / p99 {_ms(again, 'p99'):.1f} ms",
                  f"yes, by a bounded wait (<= {SETTLE_SECONDS:.0f} s)",
                  searched > 0 and unseen == 0 and _ms(after, "max") <= SETTLE_SECONDS * 1000,
                  f"{clients} clients writing and searching; the wait for the follower, p50: {wait:.1f} ms",
                  {"seen": searched - unseen, "searched": searched, "after_write": after, "again": again,
                   "wait_p50_ms": wait})


def rebuild(details: dict[str, Any], config: Config) -> Target:
    model = details["read_model"]
    done, decode = model["rebuild"], model["decode"]
    rate, floor = done["throughput"], decode["throughput"]
    share = f"{rate / floor:.2f} of read + decode" if floor else ""
    return Target(f"rebuild of {done['events']:,} events", f"{done['throughput']:,.0f} events/s",
                  f"(d) read + decode only: {decode['throughput']:,.0f} events/s "
                  f"({decode['events']:,} events)",
                  ">= 30,000 events/s (of 1M)", done["throughput"] >= 30_000, share,
                  {"events_per_second": done["throughput"], "decode": decode["throughput"]})


def expiry(details: dict[str, Any], config: Config) -> Target:
    found = details["expiry"]
    lag = found["lag"]
    p99 = _ms(lag, "p99") / 1000
    return Target(f"expiry, {found['orders']:,} due at once", f"p99 lag {p99:.2f} s",
                  "lag p50 / p95 / p99 / max: " + " / ".join(f"{_ms(lag, k) / 1000:.2f}"
                                                             for k in ("p50", "p95", "p99", "max")) + " s",
                  "p99 lag <= 2 s", p99 <= 2.0 if lag.get("count") else None,
                  f"{found['expired']:,} of {found['orders']:,} expired, {found['throughput']:,.0f} orders/s",
                  {"lag": lag})


def _search_p95(details: dict[str, Any], names: tuple[str, ...], clients: int) -> dict[str, float]:
    found = details["service"]["searches"]
    return {name: _ms(result["latency"].get("search", {}), "p95") for name in names
            for result in found.get(name, []) if result["clients"] == clients}


def broad_search(details: dict[str, Any], config: Config) -> Target:
    p95 = _search_p95(details, tuple(BROAD), 1)
    worst = max(p95, key=lambda name: p95[name])
    totals = details["service"].get("search_totals", {})
    exact = all(check["exact"] for check in totals.values()) if totals else None
    matches = max((check["counted"] for check in totals.values()), default=0)
    told = {True: "exact", False: "NOT exact", None: "not checked"}[exact]
    return Target("broad search (deep page, newest first), 1 client",
                  f"p95 {p95[worst]:.1f} ms ({worst}); totalItems {told}",
                  _bare_text(details, 1), "p95 <= 100 ms, exact totalItems, >= 500k matches",
                  p95[worst] <= 100 and bool(exact) and matches >= 500_000,
                  "; ".join(f"{n}: {v:.1f} ms" for n, v in p95.items()) + f"; at most {matches:,} matches",
                  {"p95_ms": p95, "totals": totals})


def selective_search(details: dict[str, Any], config: Config) -> Target:
    p95 = _search_p95(details, SELECTIVE, 8)
    worst = max(p95, key=lambda name: p95[name])
    return Target("selective search (a day, a departure), 8 clients", f"p95 {p95[worst]:.1f} ms ({worst})",
                  _bare_text(details, 8), "p95 <= 10 ms", p95[worst] <= 10,
                  "; ".join(f"{n}: {v:.1f} ms" for n, v in p95.items()), {"p95_ms": p95})


def worker_memory(details: dict[str, Any], config: Config) -> Target:
    used = details["service"]["memory"]
    bare = details["baselines"].get("bare", {}).get("memory", {})
    return Target(f"worker memory after the {config.concurrency[-1]}-client sale",
                  f"max {used['max_mb']:.0f} MB RSS",
                  f"bare Flask worker: max {bare.get('max_mb', NAN):.0f} MB RSS",
                  "<= 200 MB RSS per worker", used["max_mb"] <= 200,
                  "workers: " + ", ".join(f"{mb:.0f}" for mb in used["workers_mb"].values()) + " MB",
                  {"service": used, "bare": bare})


def _after_sale(name: str, result: dict[str, Any], unit: str) -> Target:
    whole = result["latency"].get(result["main"], {})
    lag = result.get("group_lag", {})
    measured = bool(result["operations"]) and bool(lag.get("count"))
    return Target(f"{name}, {result['clients']} clients",
                  f"{result['throughput']:.1f} {unit}; p50 {_ms(whole, 'p50'):.0f} / "
                  f"p99 {_ms(whole, 'p99'):.0f} ms",
                  f"ticket groups after it: p50 {_ms(lag, 'p50'):.0f} / p99 {_ms(lag, 'p99'):.0f} / "
                  f"max {_ms(lag, 'max'):.0f} ms", "in the bench, with its lag", measured,
                  f"{result['operations']} done, {_failed(result)}; lag to the first "
                  f"{'/'.join(lag.get('kinds', ['group event']))} (order version >= "
                  f"{lag.get('order_version', 1)}) of {lag.get('count', 0)} orders",
                  {"throughput": result["throughput"], "whole": whole, "group_lag": lag})


def groups_after_sale(details: dict[str, Any], config: Config) -> Target:
    return _after_sale("ticket groups after the sale", _at(details["service"]["sales"], 8), "sales/s")


def change_v2(details: dict[str, Any], config: Config) -> Target:
    return _after_sale("change to version 2", _at(details["service"]["changes"], 8), "changes/s")


def refund(details: dict[str, Any], config: Config) -> Target:
    clients = max(config.refund_concurrency)
    return _after_sale("refund", _at(details["service"]["refunds"], clients), "refunds/s")


SINGLE = (
    sale_8, sellout_32, ratio, read_your_writes, rebuild, expiry, broad_search, selective_search,
    worker_memory, change_v2, refund, groups_after_sale)


def _safely(make: Callable[[dict[str, Any], Config], Target], details: dict[str, Any],
            config: Config) -> Target:
    """A target whose figures are missing (a scenario failed) is reported as not measured."""
    try:
        return make(details, config)
    except (KeyError, ValueError, TypeError, ZeroDivisionError) as error:
        return Target(make.__name__, "-", "-", "-", None, f"not measured: {type(error).__name__} {error}")


def evaluate(details: dict[str, Any], config: Config) -> list[dict[str, Any]]:
    return [asdict(_safely(make, details, config)) for make in SINGLE]


def _met(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "no")


def table(targets: list[dict[str, Any]]) -> str:
    lines = [[t["name"], t["figure"], t["baseline"], t["target"], _met(t["met"]), t["note"]] for t in targets]
    return "Issue 16's targets\n\n" + markdown(HEADERS, lines)
