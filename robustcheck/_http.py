"""One JSON POST with a deadline, for :class:`robustcheck.adapters.HTTPAdapter`.

Standard library only (``http.client``). Not urllib, for two reasons found the hard way:
urllib follows a redirect to any host, turning the POST into a GET and forwarding headers
such as Authorization there; and its ``timeout`` bounds each socket read, not the request,
so a server sending one byte every half second held a request with ``timeout=1`` for
98 s. Here the deadline covers the whole request (connect, send, status line, headers,
body, redirects), and only redirects within the same origin are followed.

What :func:`post` raises, for the adapter to classify:

- ``TimeoutError``: the deadline passed once connected (a slow answer);
- ``OSError`` / ``http.client.HTTPException``: the server could not be reached or spoke
  no HTTP (refused, reset, closed without an answer, DNS, TLS, a connect past the
  deadline);
- :class:`~robustcheck.errors.InfrastructureError`: a redirect it will not follow;
- :class:`~robustcheck.errors.ModelOutputError`: an answer larger than :data:`MAX_BODY`.

Any other answer, error statuses included, is returned as a :class:`Reply`.

Connections are kept alive and reused, as a model server expects of a client sending it
thousands of requests: a new connection per request costs a TCP (and TLS) handshake, and
the server an accept (often a new thread or task), every time. A connection goes back to
a pool shared by all threads only when its answer was read to the end and allowed it
(HTTP/1.1, no ``Connection: close``); one whose request failed or timed out is closed. A
pooled connection is idle for at most :data:`IDLE_SECONDS`, and one the server has closed
meanwhile is dropped before use or, when the server closes it just as the request arrives
(nothing of the answer came back), the request is sent once more on a new connection;
that is the same request, so ``on_request`` is not called for it.
"""

from __future__ import annotations

import atexit
import base64
import collections
import datetime
import email.utils
import http.client
import io
import math
import os
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InfrastructureError, ModelOutputError

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_BODY = 256 * 2**20
"""Bytes of an answer read at most: a broken or hostile server can send gigabytes within the
deadline, and holding them would end the run (a smaller batch gives a smaller answer)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_IDLE = 32
"""Idle connections kept per origin, more than an adapter's usual ``concurrency``, so that
every one of its threads finds one waiting; beyond that they are closed."""
IDLE_SECONDS = 4.0
"""An idle connection older than this is closed, not reused. Servers close idle connections
after a few seconds themselves (uvicorn after 5), and one silently dropped on the way (by a
NAT or a firewall) would hold a request until its deadline: a false "slow answer"."""


@dataclass(frozen=True)
class Reply:
    """A complete answer: status, reason, headers and the whole body."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
         on_request: Callable[[], None]) -> Reply:
    """POST ``body`` to ``url`` and read the whole answer within ``timeout`` seconds.

    Same-origin redirects (at most :data:`MAX_REDIRECTS`) are followed with the same
    method, body and headers; ``on_request`` is called before every request sent.
    """
    deadline = time.monotonic() + timeout
    headers = _with_basic_auth(url, dict(headers))
    for _ in range(MAX_REDIRECTS + 1):
        on_request()
        reply = _once(url, body, headers, deadline)
        if reply.status not in REDIRECTS:
            return reply
        url = _redirect_target(url, reply)
    raise InfrastructureError(
        f"POST {safe_url(url)} was redirected more than {MAX_REDIRECTS} times; point the "
        "URL at the address that answers, not at one that redirects")


def safe_url(url: str) -> str:
    """``url`` without credentials (user:pass@) and query (API keys): for messages and
    reports, which are shared."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path,
                                    "", ""))


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), None if
    absent or unreadable. A date in the past means now."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": a date in UTC, says RFC 5322
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


# -- one request -------------------------------------------------------------------------


class _ClosedWhileIdle(Exception):
    """A reused connection the server had closed: nothing of the answer came back, so the
    request can be sent again on a new connection."""


@dataclass(frozen=True)
class _Request:
    url: str
    target: str  # path and query
    body: bytes
    headers: dict[str, str]


_Origin = tuple[str, str, int, Any]  # scheme, host, port, what the TLS context depends on


def _once(url: str, body: bytes, headers: Mapping[str, str], deadline: float) -> Reply:
    """One request: on an idle connection to the same origin when there is one, once more
    on a new connection if the server had closed that one."""
    if deadline - time.monotonic() <= 0:
        raise TimeoutError("the deadline passed before the request was sent")
    parts = urllib.parse.urlsplit(url)
    origin = _origin_key(parts)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    request = _Request(url, target, body, dict(headers))
    conn = _POOL.take(origin)
    if conn is not None:
        try:
            return _exchange(conn, origin, request, deadline, reused=True)
        except _ClosedWhileIdle:
            pass
    return _exchange(_open(origin, deadline), origin, request, deadline, reused=False)


def _origin_key(parts: urllib.parse.SplitResult) -> _Origin:
    """Where a connection goes, and for HTTPS what its default SSL context is made from
    (the CA files named by the environment, the context factory): a connection made under
    other settings is not reused."""
    tls = None
    if parts.scheme == "https":
        tls = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"),
               ssl._create_default_https_context)
    return parts.scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme], tls


def _open(origin: _Origin, deadline: float) -> _Connection:
    """A new connection, connected within the time left."""
    scheme, host, port, _ = origin
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed before the request was sent")
    kind = _TLSConnection if scheme == "https" else _Connection
    conn = kind(host, port, timeout=left)
    conn.deadline = deadline
    try:
        _connect(conn, f"{host}:{port}", left)
    except BaseException:
        conn.discard()
        raise
    return conn


def _exchange(conn: _Connection, origin: _Origin, request: _Request, deadline: float, *,
              reused: bool) -> Reply:
    """Send ``request`` on ``conn`` and read the whole answer; then pool the connection if
    the answer allows it, else close it. Raises :class:`_ClosedWhileIdle` when a reused
    connection turns out to have been closed by the server."""
    conn.start(deadline)
    try:
        conn.request("POST", request.target, body=request.body, headers=request.headers)
        answer = conn.getresponse()
        data = answer.read(MAX_BODY + 1)
    except BaseException as err:
        conn.discard()
        if reused and conn.received == 0 and isinstance(err, _CLOSED_BY_SERVER):
            raise _ClosedWhileIdle from err
        raise
    if len(data) > MAX_BODY:
        conn.discard()
        raise ModelOutputError(f"POST {safe_url(request.url)} answered with a body larger "
                               f"than {MAX_BODY} bytes, which was not read; a smaller "
                               "batch_size= gives smaller answers")
    if _reusable(answer) and not _asks_close(request.headers):
        _POOL.give(origin, conn)
    else:
        conn.discard()
    return Reply(answer.status, answer.reason, answer.headers, data)


# What sending on, or reading from, a connection the server closed raises.
_CLOSED_BY_SERVER = (ConnectionError, http.client.BadStatusLine, ssl.SSLEOFError,
                     ssl.SSLZeroReturnError)


def _reusable(answer: http.client.HTTPResponse) -> bool:
    """Whether the connection may carry another request: the server keeps it open and
    the answer was read to its end (a Content-Length not met means the stream ended
    early, which http.client does not report)."""
    return answer.isclosed() and not answer.will_close and not answer.length


def _asks_close(headers: Mapping[str, str]) -> bool:
    # the caller's own "Connection: close": honoured by not reusing the connection
    return any(k.lower() == "connection" and "close" in v.lower() for k, v in headers.items())


def _connect(conn: _Connection, where: str, seconds: float) -> None:
    try:
        conn.connect()
    except TimeoutError as err:
        # unreachable, not slow: no answer can have started without a connection
        raise ConnectionError(f"could not connect to {where} within {seconds:.3g} s") from err


class _DeadlineSocket:
    """Stands in for a connection's socket: every send and every read gets only the time
    left before the deadline, so a drip-fed answer cannot stretch the request. Counts the
    bytes of the answer received, which tells a connection closed before answering from
    one that broke off mid-answer."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.received = 0

    def arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        self.sock.settimeout(left)

    def sendall(self, data: Any) -> None:
        self.arm()  # sendall's timeout bounds the whole send (Python >= 3.5)
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        # http.client closes the connection as soon as an HTTP/1.0 answer's headers are
        # read, before its body; the real socket is closed by _exchange when the body is in.
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _DeadlineReader(io.RawIOBase):
    """The raw stream http.client parses the answer from (status line, headers, body)."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        self.owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.owner.arm()
        n = self.owner.sock.recv_into(buffer)
        self.owner.received += n
        return n


class _Connection(http.client.HTTPConnection):
    deadline = math.inf
    raw: socket.socket | None = None  # the real socket, once connected
    guard: _DeadlineSocket | None = None  # what http.client reads and writes through

    def connect(self) -> None:
        super().connect()  # for _TLSConnection: TCP, then the TLS handshake
        self.raw = self.sock
        self.guard = self.sock = _DeadlineSocket(self.sock, self.deadline)

    def start(self, deadline: float) -> None:
        """Ready for a request (the first, or another on a kept-alive connection) that
        must be over by ``deadline``."""
        self.deadline = deadline
        if self.guard is not None:
            self.guard.deadline = deadline
            self.guard.received = 0

    @property
    def received(self) -> int:
        """Bytes of the current answer received so far."""
        return 0 if self.guard is None else self.guard.received

    def discard(self) -> None:
        """Close the connection for good, the real socket included."""
        self.close()
        if self.raw is not None:
            self.raw.close()


class _TLSConnection(_Connection, http.client.HTTPSConnection):
    """HTTPS with the default SSL context: certificates and host names are verified."""


# -- the pool of idle connections ---------------------------------------------------------


class _Pool:
    """Idle kept-alive connections by origin, shared by all threads: the adapters send from
    thread pools that end with each predict call, so connections kept per thread would be
    lost with them. The newest is reused first; the oldest are the first to expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[_Origin, collections.deque[tuple[float, _Connection]]] = {}

    def take(self, origin: _Origin) -> _Connection | None:
        """An idle connection to ``origin`` that the server has not closed, or None."""
        while True:
            with self._lock:
                expired = self._expire(time.monotonic())
                idle = self._idle.get(origin)
                conn = idle.pop()[1] if idle else None
            _discard_all(expired)
            if conn is None or not _closed_by_peer(conn):
                return conn
            conn.discard()

    def give(self, origin: _Origin, conn: _Connection) -> None:
        """Keep ``conn``, idle from now, for the next request to ``origin``."""
        now = time.monotonic()
        with self._lock:
            expired = self._expire(now)
            idle = self._idle.setdefault(origin, collections.deque())
            idle.append((now, conn))
            if len(idle) > MAX_IDLE:
                expired.append(idle.popleft()[1])
        _discard_all(expired)

    def clear(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        _discard_all([conn for queue in idle.values() for _, conn in queue])

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections (closing only this process's
        copies of their sockets), which two processes must not share, and the lock,
        which another thread of the parent may have held."""
        self._lock = threading.Lock()
        self.clear()

    def _expire(self, now: float) -> list[_Connection]:
        """Remove the connections idle too long, of every origin, for closing outside the
        lock."""
        expired = []
        for origin in list(self._idle):
            idle = self._idle[origin]
            while idle and now - idle[0][0] > IDLE_SECONDS:
                expired.append(idle.popleft()[1])
            if not idle:
                del self._idle[origin]
        return expired


def _closed_by_peer(conn: _Connection) -> bool:
    """Whether an idle connection has anything to read: nothing is due before the next
    request, so the server has closed it (or broken the protocol); either way it is not
    reused."""
    sock = conn.raw
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # select.select cannot watch descriptors past 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _discard_all(conns: list[_Connection]) -> None:
    for conn in conns:
        conn.discard()


def close_idle() -> None:
    """Close every idle kept-alive connection (they are closed on their own after
    :data:`IDLE_SECONDS`, and at exit)."""
    _POOL.clear()


_POOL = _Pool()
atexit.register(close_idle)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.after_fork)


# -- redirects and credentials --------------------------------------------------------------


def _redirect_target(url: str, reply: Reply) -> str:
    location = reply.headers.get("Location")
    if not location:
        raise InfrastructureError(
            f"POST {safe_url(url)} answered HTTP {reply.status} {reply.reason} without a "
            "Location header; point the URL at the address that answers")
    target = urllib.parse.urljoin(url, location.strip())
    if not _same_origin(url, target):
        raise InfrastructureError(
            f"POST {safe_url(url)} was redirected (HTTP {reply.status}) to "
            f"{safe_url(target)}, another origin; robustcheck follows redirects only within "
            "the same scheme, host and port, so that inputs and credentials go only where "
            "you sent them. Point the URL at the final address if you trust it")
    return target


def _same_origin(a: str, b: str) -> bool:
    try:
        return _origin(a) == _origin(b)
    except ValueError:  # a port that is not a number
        return False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def _with_basic_auth(url: str, headers: dict[str, str]) -> dict[str, str]:
    # user:pass@ in the URL means HTTP Basic, as curl and requests read it; an explicit
    # Authorization header wins.
    parts = urllib.parse.urlsplit(url)
    if parts.username is None or any(k.lower() == "authorization" for k in headers):
        return headers
    pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return {**headers, "Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
