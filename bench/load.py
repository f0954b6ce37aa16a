"""The load generator: its own process, one thread and one keep-alive connection per client.

``python -m bench.load SPEC.json`` prints a JSON result. Duration scenarios run a warm-up, then
count what completes inside a fixed window; the ``change`` scenario runs a fixed count of
operations after every client has prepared its confirmed orders.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from bench.stats import summary

MAIN_KIND = {"sale": "whole sale", "change": "whole change", "search": "search", "bare": "bare insert"}
ALL_REQUESTS = "all requests"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class RequestFailed(Exception):
    def __init__(self, kind: str, status: int, detail: str) -> None:
        super().__init__(f"{kind}: HTTP {status} {detail[:200]}")
        self.kind, self.status = kind, status


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    scenario: str  # sale | change | search | bare
    clients: int
    duration: float = 10.0
    warmup: float = 2.0
    count: int = 0  # change: operations in all (fixed count); 0 otherwise
    headers: dict[str, str] = field(default_factory=dict)
    offer_id: str = ""
    price: str = ""
    traveller_id: str = ""
    path: str = ""  # search: the query
    time_limit: float = 300.0

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        return cls(**json.loads(text))


class Window:
    """The measured interval; results completing outside it are not counted."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def holds(self, moment: float) -> bool:
        return self.start <= moment <= self.end


class Recorder:
    """One per client thread: latencies by kind, failures by kind and status."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.latencies: dict[str, list[float]] = {}
        self.failures: Counter[str] = Counter()
        self.samples: dict[str, Any] = {}

    def add(self, kind: str, started: float, ended: float) -> None:
        if self.window.holds(ended):
            self.latencies.setdefault(kind, []).append(ended - started)

    def fail(self, label: str, moment: float) -> None:
        if self.window.holds(moment):
            self.failures[label] += 1


class Client:
    """A keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, spec: LoadSpec, recorder: Recorder) -> None:
        url = urlparse(spec.base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.headers = {**JSON_HEADERS, **spec.headers}
        self.recorder = recorder
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, kind: str, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        payload = None if body is None else json.dumps(body)
        started = time.perf_counter()
        status, data = self._exchange(method, path, payload)
        ended = time.perf_counter()
        if status != expect:
            self.recorder.fail(f"{kind} HTTP {status}", ended)
            raise RequestFailed(kind, status, data.decode(errors="replace"))
        self.recorder.add(kind, started, ended)
        return json.loads(data) if data else None

    def _exchange(self, method: str, path: str, payload: str | None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, payload, self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    return 599, b"connection failed"
        raise AssertionError("unreachable")


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


def _timed(recorder: Recorder, kind: str, action: Callable[[], Any]) -> None:
    """A whole operation of several requests; a failed request fails it (already counted)."""
    started = time.perf_counter()
    try:
        action()
    except RequestFailed:
        recorder.fail(f"{kind} failed", time.perf_counter())
        return
    recorder.add(kind, started, time.perf_counter())


def _search(client: Client, spec: LoadSpec, recorder: Recorder) -> None:
    found = client.call("search", "GET", spec.path)
    recorder.samples.setdefault("totalItems", found["totalItems"])
    recorder.samples.setdefault("items", len(found["items"]))


def duration_client(spec: LoadSpec, recorder: Recorder) -> None:
    client = Client(spec, recorder)
    while time.perf_counter() < recorder.window.end:
        try:
            if spec.scenario == "sale":
                _timed(recorder, MAIN_KIND["sale"], lambda: sale(client, spec))
            elif spec.scenario == "search":
                _search(client, spec, recorder)
            else:
                client.call(MAIN_KIND["bare"], "POST", "/insert", {}, 201)
        except RequestFailed:
            continue  # counted by the client


def change_client(spec: LoadSpec, recorder: Recorder, orders: int, ready: threading.Barrier) -> None:
    """Prepare ``orders`` confirmed orders (not measured), wait for all clients, change each."""
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
        def change_it(order_id: str = order_id) -> None:
            change(client, spec, order_id, 2)
        _timed(recorder, MAIN_KIND["change"], change_it)


def run(spec: LoadSpec) -> dict[str, Any]:
    now = time.perf_counter()
    if spec.scenario == "change":
        window = Window(now + spec.time_limit, now + spec.time_limit)
    else:
        window = Window(now + spec.warmup, now + spec.warmup + spec.duration)
    recorders = [Recorder(window) for _ in range(spec.clients)]
    if spec.scenario == "change":
        per_client = -(-spec.count // spec.clients)

        def measured() -> None:
            window.start = time.perf_counter()
            window.end = window.start + spec.time_limit / 2

        ready = threading.Barrier(spec.clients, action=measured)
        threads = [threading.Thread(target=change_client, args=(spec, r, per_client, ready))
                   for r in recorders]
    else:
        threads = [threading.Thread(target=duration_client, args=(spec, r)) for r in recorders]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    return _result(spec, window, recorders, finished, time.process_time() - cpu)


def _result(spec: LoadSpec, window: Window, recorders: list[Recorder], finished: float,
            cpu: float) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {}
    failures: Counter[str] = Counter()
    samples: dict[str, Any] = {}
    for recorder in recorders:
        for kind, values in recorder.latencies.items():
            latencies.setdefault(kind, []).extend(values)
        failures.update(recorder.failures)
        samples.update(recorder.samples)
    main = MAIN_KIND[spec.scenario]
    elapsed = (min(finished, window.end) if spec.scenario == "change" else window.end) - window.start
    operations = len(latencies.get(main, []))
    requests = sum(len(v) for k, v in latencies.items() if not k.startswith("whole"))
    every_request = [v for kind, values in latencies.items() if not kind.startswith("whole") for v in values]
    summaries = {kind: summary(values) for kind, values in latencies.items()}
    summaries[ALL_REQUESTS] = summary(every_request)
    return {"scenario": spec.scenario, "clients": spec.clients, "seconds": elapsed, "main": main,
            "operations": operations, "throughput": operations / elapsed if elapsed > 0 else 0.0,
            "requests": requests, "requests_per_second": requests / elapsed if elapsed > 0 else 0.0,
            "latency": summaries,
            "failures": dict(failures), "samples": samples, "load_cpu_seconds": cpu}


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = LoadSpec.from_json(file.read())
    json.dump(run(spec), sys.stdout)


if __name__ == "__main__":
    main()
