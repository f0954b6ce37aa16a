"""The load generator's parts: the measured window, a recorder per client, a keep-alive client."""

from __future__ import annotations

import http.client
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class RequestFailed(Exception):
    def __init__(self, kind: str, status: int, detail: str, code: str = "") -> None:
        super().__init__(f"{kind}: HTTP {status} {code} {detail[:200]}")
        self.kind, self.status, self.code = kind, status, code


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    scenario: str  # sale | sellout | change | refund | search | written | bare
    clients: int
    duration: float = 10.0
    warmup: float = 2.0
    count: int = 0  # change, refund: operations in all (fixed count); 0 otherwise
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
    """One per client thread: latencies by kind, failures by kind and status, and ``totals``:
    counts of the whole run, warm-up included (seats held, say)."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.latencies: dict[str, list[float]] = {}
        self.failures: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()
        self.samples: dict[str, Any] = {}
        self.last_success = 0.0

    def add(self, kind: str, started: float, ended: float) -> None:
        self.totals[kind] += 1
        if self.window.holds(ended):
            self.latencies.setdefault(kind, []).append(ended - started)
            self.last_success = max(self.last_success, ended)

    def fail(self, label: str, moment: float) -> None:
        self.totals[label] += 1
        if self.window.holds(moment):
            self.failures[label] += 1


def _problem_code(data: bytes) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


class Client:
    """A keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, spec: LoadSpec, recorder: Recorder) -> None:
        url = urlparse(spec.base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.headers = {**JSON_HEADERS, **spec.headers}
        self.recorder = recorder
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, kind: str, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """One request; a status other than ``expect`` is counted as ``<kind> HTTP <status>
        <problem code>`` and raised."""
        payload = None if body is None else json.dumps(body)
        started = time.perf_counter()
        status, data = self._exchange(method, path, payload)
        ended = time.perf_counter()
        if status != expect:
            code = _problem_code(data) if 400 <= status < 500 else ""
            self.recorder.fail(f"{kind} HTTP {status} {code}".strip(), ended)
            raise RequestFailed(kind, status, data.decode(errors="replace"), code)
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
