"""The load generator: its own process, one thread and one keep-alive connection per client.

``python -m bench.load SPEC.json`` prints a JSON result. Duration scenarios run a warm-up, then
count what completes inside a fixed window; ``change`` and ``refund`` run a fixed count of
operations after every client has prepared its confirmed orders; ``sellout`` sells until the
departure answers ``NO_AVAILABILITY`` (or the window ends), warm-up none.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from bench.client import Client, LoadSpec, Recorder, RequestFailed, Window
from bench.stats import summary

MAIN_KIND = {"sale": "whole sale", "sellout": "whole sale", "change": "whole change",
             "refund": "whole refund", "search": "search", "written": "search after write",
             "bare": "bare insert"}
FIXED_COUNT = ("change", "refund")
ALL_REQUESTS = "all requests"
SOLD_OUT = "NO_AVAILABILITY"
UNSEEN = "search after write unseen"
MILLISECOND = timedelta(milliseconds=1)


def sale(client: Client, spec: LoadSpec) -> str:
    """Create, reserve a seat, pay the balance, capture: the order ends CONFIRMED (version 1)."""
    order_id = client.call("create order", "POST", "/v1/orders", {}, 201)["id"]
    change(client, spec, order_id, 1)
    return str(order_id)


def change(client: Client, spec: LoadSpec, order_id: str, version: int) -> None:
    """Reserve onto the order (it opens ``version``), pay, capture: ``version`` is CONFIRMED."""
    client.call("reserve offer", "POST", "/v1/reserve-offers", {
        "orderId": order_id,
        "offerConfigurations": [{"offerId": spec.offer_id, "selectedTravellerIds": [spec.traveller_id]}]})
    payment = client.call("create payment", "POST", "/v1/payments", {
        "orderId": order_id, "orderVersion": version, "amount": spec.price, "currency": "NOK",
        "paymentType": "VISA"}, 201)
    captured = client.call("capture payment", "POST", f"/v1/payments/{payment['id']}/capture")
    if captured["status"] != "CAPTURED":
        raise RequestFailed("capture payment", 200, f"status {captured['status']}")


def refund(client: Client, order_id: str) -> None:
    """Quote the refund options of the confirmed order, then perform the first one."""
    quoted = client.call("refund options", "GET", f"/v1/refunds/options/{order_id}")
    option_ids = [option["id"] for option in quoted["options"][:1]]
    client.call("refund", "POST", f"/v1/refunds/{order_id}",
                {"orderVersion": quoted["orderRef"]["version"], "refundOptionIds": option_ids})


def _timed(recorder: Recorder, kind: str, action: Callable[[], Any]) -> RequestFailed | None:
    """A whole operation of several requests; a failed request fails it (already counted)."""
    started = time.perf_counter()
    try:
        action()
    except RequestFailed as failed:
        recorder.fail(f"{kind} failed", time.perf_counter())
        return failed
    recorder.add(kind, started, time.perf_counter())
    return None


def _search(client: Client, spec: LoadSpec, recorder: Recorder) -> None:
    found = client.call("search", "GET", spec.path)
    recorder.samples.setdefault("totalItems", found["totalItems"])
    recorder.samples.setdefault("items", len(found["items"]))


def _around(stamp: str) -> str:
    """A ``createdAt`` filter of the millisecond around an answered instant (an indexed search)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    low, high = (t.isoformat().replace("+00:00", "Z") for t in (moment - MILLISECOND, moment + MILLISECOND))
    return f"createdAt=gte:{quote(low)}&createdAt=lte:{quote(high)}&perPage=100"


def _written(client: Client, recorder: Recorder) -> None:
    """Read your writes: create an order, search for it at once by its ``createdAt`` (a miss is
    counted as ``UNSEEN``), then the same search again: its baseline, nothing written just before."""
    created = client.call("create order", "POST", "/v1/orders", {}, 201)
    path = f"/v1/orders?{_around(created['createdAt'])}"
    found = client.call(MAIN_KIND["written"], "GET", path)
    if created["id"] not in {item["id"] for item in found["items"]}:
        recorder.fail(UNSEEN, time.perf_counter())
    client.call("search again", "GET", path)


def _one(client: Client, spec: LoadSpec, recorder: Recorder) -> bool:
    """One operation of a duration scenario; False: this client is done (sold out)."""
    if spec.scenario in ("sale", "sellout"):
        failed = _timed(recorder, MAIN_KIND["sale"], lambda: sale(client, spec))
        return not (spec.scenario == "sellout" and failed is not None and failed.code == SOLD_OUT)
    if spec.scenario == "search":
        _search(client, spec, recorder)
    elif spec.scenario == "written":
        _written(client, recorder)
    else:
        client.call(MAIN_KIND["bare"], "POST", "/insert", {}, 201)
    return True


def duration_client(spec: LoadSpec, recorder: Recorder) -> None:
    client = Client(spec, recorder)
    going = True
    while going and time.perf_counter() < recorder.window.end:
        try:
            going = _one(client, spec, recorder)
        except RequestFailed:
            continue  # counted by the client


def _act(spec: LoadSpec, client: Client, order_id: str) -> Callable[[], None]:
    if spec.scenario == "refund":
        return lambda: refund(client, order_id)
    return lambda: change(client, spec, order_id, 2)


def fixed_count_client(spec: LoadSpec, recorder: Recorder, orders: int, ready: threading.Barrier) -> None:
    """Prepare ``orders`` confirmed orders (not measured), wait for all clients, act on each."""
    client = Client(spec, recorder)
    confirmed: list[str] = []
    deadline = time.perf_counter() + spec.time_limit / 2
    while len(confirmed) < orders and time.perf_counter() < deadline:
        try:
            confirmed.append(sale(client, spec))
        except RequestFailed:
            continue
    ready.wait()
    for order_id in confirmed:
        if time.perf_counter() > recorder.window.end:
            break
        _timed(recorder, MAIN_KIND[spec.scenario], _act(spec, client, order_id))


def _threads(spec: LoadSpec, window: Window, recorders: list[Recorder]) -> list[threading.Thread]:
    if spec.scenario not in FIXED_COUNT:
        return [threading.Thread(target=duration_client, args=(spec, r)) for r in recorders]
    per_client = -(-spec.count // spec.clients)

    def measured() -> None:
        window.start = time.perf_counter()
        window.end = window.start + spec.time_limit / 2

    ready = threading.Barrier(spec.clients, action=measured)
    return [threading.Thread(target=fixed_count_client, args=(spec, r, per_client, ready)) for r in recorders]


def run(spec: LoadSpec) -> dict[str, Any]:
    now = time.perf_counter()
    if spec.scenario in FIXED_COUNT:
        window = Window(now + spec.time_limit, now + spec.time_limit)
    else:
        window = Window(now + spec.warmup, now + spec.warmup + spec.duration)
    recorders = [Recorder(window) for _ in range(spec.clients)]
    threads = _threads(spec, window, recorders)
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    return _result(spec, window, recorders, finished, time.process_time() - cpu)


def _elapsed(spec: LoadSpec, window: Window, recorders: list[Recorder], finished: float) -> float:
    if spec.scenario in FIXED_COUNT:
        return min(finished, window.end) - window.start
    if spec.scenario == "sellout":
        return max((r.last_success for r in recorders), default=window.start) - window.start
    return window.end - window.start


def _result(spec: LoadSpec, window: Window, recorders: list[Recorder], finished: float,
            cpu: float) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {}
    failures: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    samples: dict[str, Any] = {}
    for recorder in recorders:
        for kind, values in recorder.latencies.items():
            latencies.setdefault(kind, []).extend(values)
        failures.update(recorder.failures)
        totals.update(recorder.totals)
        samples.update(recorder.samples)
    main = MAIN_KIND[spec.scenario]
    elapsed = _elapsed(spec, window, recorders, finished)
    operations = len(latencies.get(main, []))
    every_request = [v for kind, values in latencies.items() if not kind.startswith("whole") for v in values]
    summaries = {kind: summary(values) for kind, values in latencies.items()}
    summaries[ALL_REQUESTS] = summary(every_request)
    return {"scenario": spec.scenario, "clients": spec.clients, "seconds": elapsed, "main": main,
            "operations": operations, "throughput": operations / elapsed if elapsed > 0 else 0.0,
            "requests": len(every_request),
            "requests_per_second": len(every_request) / elapsed if elapsed > 0 else 0.0,
            "latency": summaries, "failures": dict(failures), "totals": dict(totals), "samples": samples,
            "load_cpu_seconds": cpu}


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = LoadSpec.from_json(file.read())
    json.dump(run(spec), sys.stdout)


if __name__ == "__main__":
    main()
