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
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import http.client
import io
import math
import socket
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
    headers = _with_basic_auth(url, {**headers, "Connection": "close"})
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


def _once(url: str, body: bytes, headers: Mapping[str, str], deadline: float) -> Reply:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed before the request was sent")
    kind = _TLSConnection if parts.scheme == "https" else _Connection
    conn = kind(host, port, timeout=left)
    conn.deadline = deadline
    try:
        _connect(conn, f"{host}:{port}", left)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        conn.request("POST", target, body=body, headers=dict(headers))
        answer = conn.getresponse()
        data = answer.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise ModelOutputError(f"POST {safe_url(url)} answered with a body larger than "
                                   f"{MAX_BODY} bytes, which was not read; a smaller "
                                   "batch_size= gives smaller answers")
        return Reply(answer.status, answer.reason, answer.headers, data)
    finally:
        conn.close()
        if conn.raw is not None:
            conn.raw.close()


def _connect(conn: _Connection, where: str, seconds: float) -> None:
    try:
        conn.connect()
    except TimeoutError as err:
        # unreachable, not slow: no answer can have started without a connection
        raise ConnectionError(f"could not connect to {where} within {seconds:.3g} s") from err


class _DeadlineSocket:
    """Stands in for a connection's socket: every send and every read gets only the time
    left before the deadline, so a drip-fed answer cannot stretch the request."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

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
        # read, before its body; the real socket is closed by _once when the body is in.
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
        return self.owner.sock.recv_into(buffer)


class _Connection(http.client.HTTPConnection):
    deadline = math.inf
    raw: socket.socket | None = None  # the real socket, once connected

    def connect(self) -> None:
        super().connect()  # for _TLSConnection: TCP, then the TLS handshake
        self.raw = self.sock
        self.sock = _DeadlineSocket(self.sock, self.deadline)


class _TLSConnection(_Connection, http.client.HTTPSConnection):
    """HTTPS with the default SSL context: certificates and host names are verified."""


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
