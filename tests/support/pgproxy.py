"""A TCP proxy in front of PostgreSQL that a test controls: take the database away, bring it
back, or let one COMMIT happen while its answer never reaches the client (outcome unknown).

It understands just enough of the PostgreSQL wire protocol (v3) to find message boundaries in
both directions: the client's ``Parse`` and ``Query`` messages name the statement, the server's
``CommandComplete`` names what was done. psycopg 3 in pipeline mode (the eventsourcing recorder)
commits with the extended protocol (``Parse "COMMIT"``, ``Bind``, ``Describe``, ``Execute``, then
``Sync`` in a later write); outside a pipeline (the read model's pool) with a simple ``Query``.
A save of the event store is one statement outside any transaction block (``SELECT * FROM
...orders_events_save(...)``, prepared: after its first ``Parse`` only its ``Bind`` names it), which
commits on its own: it counts as a COMMIT, and its ``SELECT`` completion as the answer.

Every connection has two pump threads. Bytes are forwarded as whole protocol messages, so a
dropped reply is never half-delivered. Nothing here knows the service; it is plain TCP to the
client and to the server.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

UPSTREAM = ("127.0.0.1", 5432)
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608
COMMIT_REPLY_TIMEOUT_SECONDS = 10.0
SELF_COMMITTING_CALLS = (".orders_events_save(",)  # statements that commit on their own (autocommit)


@dataclass(frozen=True)
class Drop:
    """One COMMIT whose answer was withheld: ``tag`` is what the server said (``COMMIT`` means
    the transaction is durable; ``ROLLBACK`` that it was aborted; ``ERROR`` an error reply)."""

    connection: int
    statement: str
    tag: str
    at: float

    @property
    def committed(self) -> bool:
        return self.tag == "COMMIT"


class _Frames:
    """Splits one direction of a PostgreSQL connection into whole messages (raw bytes)."""

    def __init__(self, untyped_first: bool) -> None:
        self._buffer = bytearray()
        self._untyped = untyped_first  # client side: startup-phase messages have no type byte
        self.opaque = False  # after TLS or GSS encryption was accepted: forward bytes as they come
        self.single_byte_replies = 0  # server side: answers to SSLRequest / GSSENCRequest

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Complete messages so far, each as (type, raw bytes); keeps any partial rest."""
        if self.opaque:
            return [(b"", bytes(data))]
        self._buffer += data
        messages: list[tuple[bytes, bytes]] = []
        while True:
            if self.single_byte_replies and self._buffer:
                raw = bytes(self._buffer[:1])
                del self._buffer[:1]
                self.single_byte_replies -= 1
                messages.append((b"!", raw))
                if raw in (b"S", b"G"):  # encryption from here on: nothing more to understand
                    self.opaque = True
                    if self._buffer:
                        messages.append((b"", bytes(self._buffer)))
                        self._buffer.clear()
                    return messages
                continue
            if self._untyped:
                if len(self._buffer) < 4:
                    return messages
                (length,) = struct.unpack("!I", self._buffer[:4])
                if len(self._buffer) < length:
                    return messages
                raw = bytes(self._buffer[:length])
                del self._buffer[:length]
                code = struct.unpack("!I", raw[4:8])[0] if length >= 8 else 0
                if code == PROTOCOL_3:
                    self._untyped = False
                messages.append((b"?", raw))  # type "?": untyped; the code is in raw[4:8]
                continue
            if len(self._buffer) < 5:
                return messages
            kind = bytes(self._buffer[:1])
            (length,) = struct.unpack("!I", self._buffer[1:5])
            if len(self._buffer) < 1 + length:
                return messages
            raw = bytes(self._buffer[: 1 + length])
            del self._buffer[: 1 + length]
            messages.append((kind, raw))


def statement_of(kind: bytes, raw: bytes) -> str | None:
    """The SQL text of a client ``Query`` or ``Parse`` message, else None."""
    body = raw[5:]
    if kind == b"Q":
        return body.split(b"\x00", 1)[0].decode("utf-8", "replace")
    if kind == b"P":
        _name, _, rest = body.partition(b"\x00")
        return rest.split(b"\x00", 1)[0].decode("utf-8", "replace")
    return None


def is_commit(statement: str) -> bool:
    words = statement.strip().rstrip(";").upper().split()
    return bool(words) and words[0] in ("COMMIT", "END") and words[1:2] != ["PREPARED"]


def commits_on_its_own(statement: str) -> bool:
    return any(call in statement for call in SELF_COMMITTING_CALLS)


def bound_statement(raw: bytes) -> bytes:
    """The prepared statement's name in a client ``Bind`` message (empty: the unnamed one)."""
    _portal, _, rest = raw[5:].partition(b"\x00")
    return rest.split(b"\x00", 1)[0]


def _reply_tag(kind: bytes, raw: bytes, self_committing: bool) -> str | None:
    """For the server's answer to a COMMIT: ``COMMIT``, ``ROLLBACK`` or ``ERROR``; else None.
    A statement that commits on its own has committed when it completes."""
    if kind == b"C":
        tag = raw[5:].split(b"\x00", 1)[0].decode("ascii", "replace")
        if tag in ("COMMIT", "ROLLBACK"):
            return tag
        if self_committing and tag.startswith("SELECT"):
            return "COMMIT"
    if kind == b"E":
        return "ERROR"
    return None


@dataclass
class _Arm:
    only_if_transaction_contains: bytes | None
    then_go_down: bool


@dataclass(eq=False)
class _Pipe:
    number: int
    client: socket.socket
    server: socket.socket
    proxy: PgProxy
    client_frames: _Frames = field(default_factory=lambda: _Frames(untyped_first=True))
    server_frames: _Frames = field(default_factory=lambda: _Frames(untyped_first=False))
    lock: threading.Lock = field(default_factory=threading.Lock)
    transaction_bytes: bytearray = field(default_factory=bytearray)
    prepared: dict[bytes, str] = field(default_factory=dict)  # statement name -> its SQL
    withholding: str | None = None  # the armed COMMIT's statement, once forwarded
    withholding_arm: _Arm | None = None
    withholding_since: float = 0.0
    _open_pumps: int = 2
    _shut: bool = False

    def start(self) -> None:
        for source, target, outbound in ((self.client, self.server, True), (self.server, self.client, False)):
            threading.Thread(target=self._pump, args=(source, target, outbound), daemon=True,
                             name=f"pgproxy-{self.number}-{'c2s' if outbound else 's2c'}").start()

    def shutdown(self) -> None:
        """Cut both sides now (the pumps wake up, finish and close the sockets)."""
        with self.lock:
            if self._shut:
                return
            self._shut = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _pump(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    return
                out = self._outbound(data) if outbound else self._inbound(data)
                if out is None:
                    return
                if out:
                    target.sendall(out)
        except OSError:
            return
        finally:
            self.shutdown()
            with self.lock:
                self._open_pumps -= 1
                last = self._open_pumps == 0
            if last:
                for sock in (self.client, self.server):
                    with contextlib.suppress(OSError):
                        sock.close()
                self.proxy._forget(self)

    def _outbound(self, data: bytes) -> bytes:
        """Client to server: note SSL/GSS requests and COMMITs; forward whole messages."""
        out = bytearray()
        for kind, raw in self.client_frames.feed(data):
            if kind == b"?" and len(raw) >= 8:
                code = struct.unpack("!I", raw[4:8])[0]
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.server_frames.single_byte_replies += 1
            statement = statement_of(kind, raw)
            if kind == b"P" and statement is not None:
                self.prepared[raw[5:].split(b"\x00", 1)[0]] = statement
                if commits_on_its_own(statement):
                    statement = None  # what commits is its execution (the Bind), not its preparing
            elif kind == b"B":
                statement = self.prepared.get(bound_statement(raw))
                if statement is not None and commits_on_its_own(statement):
                    self.transaction_bytes.clear()
                    self.transaction_bytes += statement.encode() + raw
            if statement is not None:
                if is_commit(statement) or commits_on_its_own(statement):
                    arm = self.proxy._claim_commit(self)
                    if arm is not None:
                        with self.lock:
                            self.withholding = statement
                            self.withholding_arm = arm
                            self.withholding_since = time.monotonic()
                    self.transaction_bytes.clear()
                else:
                    if len(self.transaction_bytes) < 1_000_000:
                        self.transaction_bytes += raw
                    if statement.strip().upper().startswith("ROLLBACK"):
                        self.transaction_bytes.clear()
            out += raw
        return bytes(out)

    def _inbound(self, data: bytes) -> bytes | None:
        """Server to client: forward whole messages, except the answer to a withheld COMMIT,
        which ends the connection instead (None)."""
        out = bytearray()
        for kind, raw in self.server_frames.feed(data):
            with self.lock:
                withholding = self.withholding
            if withholding is not None:
                tag = _reply_tag(kind, raw, commits_on_its_own(withholding))
                if tag is not None:
                    if out:
                        with contextlib.suppress(OSError):
                            self.client.sendall(bytes(out))  # replies to earlier statements
                    if self.withholding_arm is not None and self.withholding_arm.then_go_down:
                        self.proxy.go_down()
                    self.proxy._dropped(Drop(self.number, withholding, tag, time.monotonic()))
                    return None
            out += raw
        return bytes(out)


class PgProxy:
    """Listens on 127.0.0.1:<free port> and forwards every connection to PostgreSQL.

    Use it as a context manager (or through the ``pgproxy`` fixture)::

        with PgProxy() as proxy:
            settings = replace(settings, database_url=proxy.url())
            proxy.go_down(); ...; proxy.come_back()
            proxy.drop_after_next_commit(); ...; assert proxy.commit_dropped.wait(5)
    """

    def __init__(self, upstream: tuple[str, int] = UPSTREAM, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(512)
        self._listener.settimeout(0.1)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._pipes: set[_Pipe] = set()
        self._down = False
        self._stopping = threading.Event()
        self._numbers = 0
        self._arm: _Arm | None = None
        self.commit_dropped = threading.Event()
        self.drops: list[Drop] = []
        self.accepted = 0  # connections forwarded
        self.refused = 0  # connections accepted and closed at once while down
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="pgproxy-accept")
        self._thread.start()

    # ----------------------------------------------------------------- what a test uses

    def url(self, dbname: str = "test", user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    @property
    def is_down(self) -> bool:
        return self._down

    def open_connections(self) -> int:
        with self._lock:
            return len(self._pipes)

    def go_down(self) -> None:
        """Close every open connection, both sides, at once; refuse new ones until come_back()."""
        with self._lock:
            self._down = True
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.shutdown()

    def come_back(self) -> None:
        with self._lock:
            self._down = False

    def drop_after_next_commit(self, only_if_transaction_contains: bytes | None = None,
                               then_go_down: bool = False) -> None:
        """One shot: the next COMMIT a client sends (optionally only one whose transaction sent
        these bytes, e.g. ``b"_events"``) reaches the server, and its answer does not reach the
        client: both sockets close instead. ``commit_dropped`` is set and ``drops`` records it.
        With ``then_go_down`` the proxy goes down at that moment too (as ``go_down()``), so the
        client cannot find out what happened until ``come_back()``."""
        with self._lock:
            self._arm = _Arm(only_if_transaction_contains, then_go_down)
            self.commit_dropped.clear()

    def disarm(self) -> None:
        with self._lock:
            self._arm = None

    @property
    def armed(self) -> bool:
        return self._arm is not None

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.shutdown()

    def __enter__(self) -> PgProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- machinery

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                self._expire_withheld()
                continue
            except OSError:
                return
            client.settimeout(None)
            if self._down:
                self.refused += 1
                _close_now(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close_now(client)
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._down:  # went down while connecting
                    self.refused += 1
                    _close_now(client)
                    _close_now(server)
                    continue
                self._numbers += 1
                pipe = _Pipe(self._numbers, client, server, self)
                self._pipes.add(pipe)
                self.accepted += 1
            pipe.start()

    def _expire_withheld(self) -> None:
        """A withheld COMMIT whose answer never came (should not happen): cut it anyway."""
        now = time.monotonic()
        with self._lock:
            pipes = [p for p in self._pipes if p.withholding is not None
                     and now - p.withholding_since > COMMIT_REPLY_TIMEOUT_SECONDS]
        for pipe in pipes:
            self._dropped(Drop(pipe.number, pipe.withholding or "", "NO_REPLY", now))
            pipe.shutdown()

    def _claim_commit(self, pipe: _Pipe) -> _Arm | None:
        with self._lock:
            arm = self._arm
            if arm is None:
                return None
            wanted = arm.only_if_transaction_contains
            if wanted is not None and wanted not in pipe.transaction_bytes:
                return None
            self._arm = None
            return arm

    def _dropped(self, drop: Drop) -> None:
        with self._lock:
            self.drops.append(drop)
        self.commit_dropped.set()

    def _forget(self, pipe: _Pipe) -> None:
        with self._lock:
            self._pipes.discard(pipe)


def _close_now(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def running_proxy(upstream: tuple[str, int] = UPSTREAM) -> Iterator[PgProxy]:
    proxy = PgProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
