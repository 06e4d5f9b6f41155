"""A model server on 127.0.0.1 that misbehaves on demand, for testing what robustcheck does
when the network or the server fails (a plain module: tests import it, pytest does not
collect it).

::

    from faultserver import FaultServer

    with FaultServer(model=lambda inputs: [len(x) % 2 for x in inputs]) as server:
        server.fail(503, first=2)          # the next two requests get 503, then it recovers
        HTTPAdapter(server.url).predict(["a", "bb"])
        assert server.count == 3 and server.seen[0].method == "POST"

or as a fixture::

    @pytest.fixture
    def server():
        with FaultServer() as srv:
            yield srv

**Answers.** ``POST`` to any path reads ``{"inputs": [...]}`` and answers 200
``{"predictions": model(inputs)}`` (default model: the length of each input modulo 2).
When ``model`` raises, the answer is 500 with the exception as the body, as a web
framework does; a body that is not JSON gets 400. Other methods get 405.

**Faults.** One at a time; setting one replaces the previous. ``first=k`` applies it to
the next ``k`` requests it concerns, counted from when it is set, after which the server
answers normally again; ``first=None`` (the default) applies it to every request.

=================================================  ===========================================
``drip(every=0.5, headers=False, first=None)``     the answer one byte every ``every`` seconds:
                                                   the body only, or from the status line on
``reset(first=None, rst=True)``                    read the request, close without answering
                                                   (a TCP reset, or a plain close with
                                                   ``rst=False``)
``rate_limit(retry_after=None, first=None)``       429 with ``Retry-After``: seconds, a string
                                                   sent as is, or a datetime sent as an HTTP
                                                   date
``fail(status=503, first=None, retry_after=None)`` that status (any 4xx/5xx), optional
                                                   ``Retry-After``
``redirect(to, status=302, first=None,``           a redirect to ``to``: a path on this server
``path=None)``                                     (``"/v2"``) or any URL (another
                                                   FaultServer's); only requests to ``path``
                                                   (default: :attr:`path`) are redirected
``die_after(k)``                                   answer ``k`` more requests, then close the
                                                   listening socket: later connections are
                                                   refused, requests already in flight get no
                                                   answer
``hang(first=None)``                               read the request, never answer
``normal()``                                       answer every request again
=================================================  ===========================================

**Records.** :attr:`count` is the number of requests received; :attr:`seen` lists them
(:class:`Seen`: method, path, headers, body) so a test can check which headers reached
which server; :attr:`answered` counts the 200 answers.

**Bounded.** Everything ends by itself: drips and hangs end when the server stops or after
:data:`MAX_WAIT` seconds, a client that sends nothing is dropped after
:data:`READ_TIMEOUT` seconds. Only 127.0.0.1 is used, on a free port the system picks.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MAX_WAIT = 30.0
"""Longest a hang or a drip keeps a connection before giving up on its own."""
READ_TIMEOUT = 10.0
"""A client that sends nothing for this long is dropped."""


def parity(inputs: list[Any]) -> list[int]:
    """The default model: the length of each input's text, modulo 2."""
    return [len(str(x)) % 2 for x in inputs]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it (header names as sent)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Fault:
    kind: str
    left: int | None = None  # requests it still applies to; None: all of them
    params: dict[str, Any] = field(default_factory=dict)


class FaultServer:
    """An HTTP model server on 127.0.0.1 whose faults are switched per test (see the module
    docstring). Start and stop it with ``with``, or :meth:`start` and :meth:`stop`."""

    def __init__(self, model: Callable[[list[Any]], list[Any]] = parity, *,
                 path: str = "/predict") -> None:
        self.model = model
        self.path = path
        self.count = self.answered = 0
        self.seen: list[Seen] = []
        self._fault = _Fault("normal")
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._closed = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True  # every handler ends by itself (see MAX_WAIT)
        self._httpd.fault_server = self  # type: ignore[attr-defined]
        self.port = int(self._httpd.server_address[1])
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + path
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,),
                                        name=f"faultserver-{self.port}", daemon=True)

    # -- lifecycle

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake every drip and hang, close the port. Safe to call twice."""
        self._stopping.set()
        self._close_listener()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _close_listener(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    # -- faults

    def normal(self) -> None:
        self._set("normal", None)

    def drip(self, every: float = 0.5, *, headers: bool = False,
             first: int | None = None) -> None:
        self._set("drip", first, every=every, headers=headers)

    def reset(self, *, first: int | None = None, rst: bool = True) -> None:
        self._set("reset", first, rst=rst)

    def rate_limit(self, retry_after: float | str | datetime | None = None, *,
                   first: int | None = None) -> None:
        self._set("status", first, status=429, retry_after=retry_after)

    def fail(self, status: int = 503, *, first: int | None = None,
             retry_after: float | str | datetime | None = None) -> None:
        self._set("status", first, status=status, retry_after=retry_after)

    def redirect(self, to: str, *, status: int = 302, first: int | None = None,
                 path: str | None = None) -> None:
        self._set("redirect", first, to=to, status=status, path=path or self.path)

    def die_after(self, k: int) -> None:
        self._set("die", None, answer=k)

    def hang(self, *, first: int | None = None) -> None:
        self._set("hang", first)

    def _set(self, kind: str, first: int | None, **params: Any) -> None:
        with self._lock:
            self._fault = _Fault(kind, first, params)

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> _Fault:
        """Count and record the request; the fault in force for it (normal when spent)."""
        seen = Seen(handler.command, handler.path, dict(handler.headers.items()), body)
        with self._lock:
            self.count += 1
            self.seen.append(seen)
            fault = self._fault
            if fault.kind == "die":
                return self._die_or_answer(fault)
            concerned = fault.kind != "redirect" or handler.path == fault.params["path"]
            if not concerned or fault.left == 0:
                return _Fault("normal")
            if fault.left is not None:
                fault.left -= 1
            return fault

    def _die_or_answer(self, fault: _Fault) -> _Fault:
        # Called under the lock: the k-th answer also starts closing the listener, and
        # requests already accepted after it get no answer, as from a crashed process.
        if fault.params["answer"] > 0:
            fault.params["answer"] -= 1
            if fault.params["answer"] == 0:
                threading.Thread(target=self._close_listener, daemon=True).start()
            return _Fault("normal")
        return _Fault("reset", params={"rst": True})

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; True when it is."""
        return self._stopping.wait(min(seconds, MAX_WAIT))


class _Handler(BaseHTTPRequestHandler):
    timeout = READ_TIMEOUT
    server_version = "faultserver"

    @property
    def fault_server(self) -> FaultServer:
        return self.server.fault_server  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read counts and records, not logs

    def do_GET(self) -> None:
        self.fault_server._record(self, b"")
        self._send(405, b'{"error": "use POST"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = self.fault_server._record(self, body)
        # the client giving up first is what some tests are about
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            getattr(self, f"_{fault.kind}")(body, **fault.params)

    # -- one method per fault kind

    def _normal(self, body: bytes) -> None:
        status, answer = self._predict(body)
        self._send(status, answer)

    def _predict(self, body: bytes) -> tuple[int, bytes]:
        try:
            inputs = json.loads(body)["inputs"]
        except (ValueError, KeyError, TypeError) as err:
            return 400, json.dumps({"error": f"bad request: {err}"}).encode()
        try:
            predictions = self.fault_server.model(inputs)
        except Exception as err:  # the model's own failure: a 500, as a web framework does
            return 500, json.dumps({"error": f"{type(err).__name__}: {err}"}).encode()
        with self.fault_server._lock:
            self.fault_server.answered += 1
        return 200, json.dumps({"predictions": predictions}).encode()

    def _drip(self, body: bytes, *, every: float, headers: bool) -> None:
        status, answer = self._predict(body)
        head = self._head(status, len(answer))
        if not headers:
            self.wfile.write(head)
            self.wfile.flush()
        for i in range(len(answer) + (len(head) if headers else 0)):
            data = (head + answer) if headers else answer
            if self.fault_server._wait(every):
                return
            self.wfile.write(data[i: i + 1])
            self.wfile.flush()

    def _reset(self, body: bytes, *, rst: bool) -> None:
        self.close_connection = True
        if rst:  # linger 0: closing sends a TCP reset instead of a clean end of stream
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()

    def _status(self, body: bytes, *, status: int,
                retry_after: float | str | datetime | None) -> None:
        extra = {} if retry_after is None else {"Retry-After": _http_retry_after(retry_after)}
        self._send(status, json.dumps({"error": f"fault: {status}"}).encode(), extra)

    def _redirect(self, body: bytes, *, to: str, status: int, path: str) -> None:
        self._send(status, b"", {"Location": to})

    def _hang(self, body: bytes) -> None:
        self.fault_server._wait(MAX_WAIT)
        self.close_connection = True

    # -- writing answers

    def _head(self, status: int, length: int, extra: dict[str, str] | None = None) -> bytes:
        lines = [f"HTTP/1.0 {status} {self.responses.get(status, ('Unknown',))[0]}",
                 "Content-Type: application/json", f"Content-Length: {length}",
                 "Connection: close", *(f"{k}: {v}" for k, v in (extra or {}).items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, status: int, answer: bytes, extra: dict[str, str] | None = None) -> None:
        self.wfile.write(self._head(status, len(answer), extra) + answer)
        self.close_connection = True


def _http_retry_after(value: float | str | datetime) -> str:
    if isinstance(value, datetime):
        return email.utils.format_datetime(value, usegmt=True)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
