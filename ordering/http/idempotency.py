"""``Idempotency-Key`` on every POST (contract section 1, Safe retries).

The first request with a key is carried out while it holds a claim on the key; its answer is
saved in the same transaction as its change (``CommandRunner.save_with_answer``), so a repeat,
even after the process died between the commit and the answer, gets that answer again and
never a second change. Answers other than 2xx, 400, 403 and 404 are not kept: the key may be
retried.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError
from flask import Response, current_app, g, request

from ordering import metrics
from ordering.application.base import back_off, collecting
from ordering.domain.errors import ConcurrentModification, Conflict
from ordering.http.problems import ApiProblem, problem
from ordering.http.requests import caller, service
from ordering.idempotency import StoredAnswer

HEADER = "Idempotency-Key"
REPLAYED = "Idempotency-Replayed"
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Location", "Content-Type", "ETag")
IN_USE_RETRY_AFTER_SECONDS = 1
# Test-only fault injection: die right after the change and its answer are committed.
KILL_AFTER_COMMIT = "ORDERS_FAULT_KILL_AFTER_COMMIT"


def kept(status: int) -> bool:
    return 200 <= status < 300 or status in (400, 403, 404)


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view that carries out a POST with ``Idempotency-Key`` at most once."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or "caller" not in g:
            return view(*args, **kwargs)
        return _once(key, lambda: view(*args, **kwargs))

    return wrapper


def _once(key: str, run: Callable[[], Any]) -> Response:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiProblem(400, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters", HEADER)
    app = service()
    settings = current_app.extensions["ordering"].settings
    key_id = key_id_for(caller().organisation_id, request.headers.get('ET-Client-Name', ''), key)
    fingerprint = fingerprint_of()
    now = app.clock()
    stored = app.idempotency.answer(key_id, now)
    if stored is not None:
        return _replay(stored, fingerprint)
    token = str(uuid4())
    holder = app.idempotency.claim(key_id, fingerprint, token, now, now + settings.idempotency_lease)
    if holder is not None:
        return _reused() if holder != fingerprint else _in_use()
    try:
        return _carry_out(run, key_id, fingerprint, now + settings.idempotency_ttl)
    finally:
        app.idempotency.release(key_id, token)


def _carry_out(run: Callable[[], Any], key_id: str, fingerprint: str, expires_at: datetime) -> Response:
    """Run the request, holding its change back, and commit the change with its answer."""
    app = service()
    for attempt in range(app.policy.command_attempts):
        with collecting() as held:
            response = _respond(run)
        if not kept(response.status_code):
            return response  # refusals of this kind change nothing and are not kept
        answer = StoredAnswer(key_id, fingerprint, response.status_code, response.get_data(as_text=True),
                              {name: response.headers[name] for name in REPLAYED_HEADERS
                               if name in response.headers}, expires_at)
        try:
            app.save_with_answer(held, answer)
        except IntegrityError:
            back_off(attempt)  # the order changed under the request: run it again on fresh state
            continue
        except Conflict as refused:  # the seats were taken meanwhile: refused at the commit
            return current_app.make_response(current_app.handle_user_exception(refused))
        if os.environ.get(KILL_AFTER_COMMIT) == "1":
            os._exit(1)
        return response
    raise ConcurrentModification(request.path)


def _respond(run: Callable[[], Any]) -> Response:
    try:
        return current_app.make_response(run())
    except Exception as error:  # the same problem answer the error handlers give
        return current_app.make_response(current_app.handle_user_exception(error))


def _replay(stored: StoredAnswer, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        return _reused()
    response = Response(stored.body, status=stored.status, headers=stored.headers)
    response.headers[REPLAYED] = "true"
    metrics.IDEMPOTENCY_REPLAYS.inc()
    return response


def _reused() -> Response:
    return problem(422, "IDEMPOTENCY_KEY_REUSED", "Idempotency key reused",
                   f"This {HEADER} was sent with another method, path or body")


def _in_use() -> Response:
    response = problem(409, "IDEMPOTENCY_KEY_IN_USE", "Idempotency key in use",
                       f"A request with this {HEADER} is still being carried out; try again shortly")
    response.headers["Retry-After"] = str(IN_USE_RETRY_AFTER_SECONDS)
    return response


def key_id_for(organisation_id: int, client_name: str, key: str) -> str:
    """Keys belong to the caller's organisation and client name."""
    scope = f"{organisation_id}\x1f{client_name}\x1f{key}"
    return hashlib.sha256(scope.encode()).hexdigest()


def fingerprint_of() -> str:
    """Method, path (with query) and body; a JSON body compared as parsed JSON."""
    parsed = request.get_json(silent=True)
    body = json.dumps(parsed, sort_keys=True, separators=(",", ":")) if parsed is not None \
        else request.get_data().hex()
    text = f"{request.method}\x1f{request.full_path}\x1f{body}"
    return hashlib.sha256(text.encode()).hexdigest()
