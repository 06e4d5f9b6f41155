"""A model behind an HTTP endpoint: :class:`HTTPAdapter`, public in :mod:`robustcheck.adapters`.

What a failure means (a crash of the batch, or an outage) and when to retry is decided
here; one request with its deadline is :mod:`robustcheck._http`.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from robustcheck.errors import CallTimeout, InfrastructureError, InvalidArgument, ModelOutputError

from . import _http
from ._adapter_base import Adapter, _check_classes, _check_number, _check_task, _length
from ._http import safe_url as _safe_url
from ._prediction import Prediction, _is_pandas, _output_items, _snip


class HTTPAdapter(Adapter):
    """A model behind an HTTP endpoint that takes and returns JSON (standard library only).

    Each predict call is split into requests of ``batch_size`` inputs, sent ``concurrency``
    at a time from a thread pool and reassembled in order. The body is
    ``request(batch)`` (default ``{"inputs": batch}``; DataFrame rows become
    ``{column: value}`` records, NaN becomes null) and the outputs are
    ``response(json_body)`` (default ``json_body["predictions"]``), read by the rules of
    :mod:`robustcheck._prediction`. ``user:password@`` in the URL is sent as HTTP Basic
    authentication unless ``headers`` has an Authorization header; ``https://`` URLs are
    verified with the default SSL context.

    What a failure means decides what happens to it. The model's own failure on a batch
    is a crash the runner records per input: HTTP 500 and other 5xx (retried first, as a
    worker may be restarting), 400, 413, 422 and other 4xx (not retried: the same request
    gets the same answer), an answer that is not JSON, or larger than 256 MB; they raise
    ModelOutputError with the status and the start of the body. An outage says nothing
    about the input and raises InfrastructureError, which the runner never scores: a
    connection refused, reset or closed without an answer, a host name that does not
    resolve, HTTP 429, 502, 503 or 504 (all retried first), and at once, without retries,
    401, 403, 404, 405, 407, an untrusted certificate and other answers that are the same
    for every input (the endpoint is misconfigured).

    Retries: up to ``retries`` more attempts, each after the wait the server asks for in
    a Retry-After header (seconds or an HTTP date), else ``backoff * 2**attempt``
    seconds times a random factor in [0.5, 1.5) (jitter, so that concurrent requests do
    not come back in step; drawn from the adapter's own generator). No wait is longer than
    ``max_retry_after`` seconds: a longer Retry-After is cut to it, not ignored.

    ``timeout`` is a deadline for the whole request (connect, send, status line, headers
    and body, redirects included), not for each read: a server sending one byte at a time
    is cut off at ``timeout`` seconds. Past it, CallTimeout (a TimeoutError): a model too
    slow on an input is a finding the runner records as a crash, so it is not retried.
    (A connection not made within it is an outage, retried like a refused one.)

    Redirects (301, 302, 303, 307, 308) are followed within the same origin (scheme, host
    and port) only, at most 5 in a row, re-sending the same POST body and headers (also
    for 301, 302 and 303, which browsers turn into a GET). A redirect to another origin is
    never followed, so inputs and credentials go only where they were sent: it raises
    InfrastructureError naming the target; point the URL at the final address.

    ``requests_made`` counts every HTTP request: retries and redirects included.
    """

    kind = "http"

    def __init__(self, url: str, *, request: Callable[[list[Any]], Any] | None = None,
                 response: Callable[[Any], Any] | None = None, batch_size: int = 32,
                 concurrency: int = 8, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.1, max_retry_after: float = 30.0,
                 headers: Mapping[str, str] | None = None, task: str | None = None,
                 classes: Sequence[Any] | None = None) -> None:
        if not _is_url(url):
            raise InvalidArgument(f"url must start with http:// or https:// and name a host; "
                                  f"got {url!r}")
        _check_host_and_port(url)
        for name, fn in (("request", request), ("response", response)):
            if fn is not None and not callable(fn):
                raise InvalidArgument(f"{name} must be a callable or None; got {type(fn).__name__}")
        self.url = url
        self.request = request or _default_request
        self.response = response or _default_response
        self.batch_size = _check_number("batch_size", batch_size, minimum=1, integer=True)
        self.concurrency = _check_number("concurrency", concurrency, minimum=1, integer=True)
        self.timeout = _check_number("timeout", timeout, minimum=0, strict=True)
        self.retries = _check_number("retries", retries, minimum=0, integer=True)
        self.backoff = _check_number("backoff", backoff, minimum=0)
        self.max_retry_after = _check_number("max_retry_after", max_retry_after, minimum=0)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json",
                        "User-Agent": "robustcheck", **dict(headers or {})}
        self.task = _check_task(task)
        self.classes = _check_classes(classes)
        self.requests_made = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._jitter = random.Random()  # never the global generator: the run is seeded

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return self._empty()
        rows = _json_safe(_records(inputs))
        chunks = [rows[i: i + self.batch_size] for i in range(0, n, self.batch_size)]
        bodies = [json.dumps(self.request(c), allow_nan=False).encode() for c in chunks]
        if len(bodies) == 1:
            answers = [self._post(bodies[0], n)]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(bodies))) as pool:
                futures = [pool.submit(self._post, body, len(chunk))
                           for body, chunk in zip(bodies, chunks, strict=True)]
                try:
                    answers = [f.result() for f in futures]
                except BaseException:
                    for f in futures:
                        f.cancel()  # don't send what is still queued; running ones finish
                    raise
        outputs: list[Any] = []
        for answer, chunk in zip(answers, chunks, strict=True):
            outputs.extend(self._outputs(answer, len(chunk)))
        return self._read(outputs, n, classes=self.classes, source=f"POST {_safe_url(self.url)}")

    def _outputs(self, answer: Any, size: int) -> list[Any]:
        source = f"POST {_safe_url(self.url)}"
        try:
            outputs = self.response(answer)
        except (KeyError, TypeError, IndexError) as err:
            raise ModelOutputError(
                f"{source} answered {_snip(answer)}, which the response mapping could not "
                f"read ({type(err).__name__}: {err})") from None
        return list(_output_items(outputs, size, f"{source} (request of {size} inputs)", ""))

    def _post(self, body: bytes, size: int) -> Any:
        where = f"POST {_safe_url(self.url)}"
        for attempt in range(self.retries + 1):
            try:
                with self._slots:  # at most ``concurrency`` requests, from any thread
                    reply = _http.post(self.url, body, self.headers, timeout=self.timeout,
                                       on_request=self._count)
            except InfrastructureError:
                raise  # a redirect that is not followed: the same for every input
            except ssl.SSLCertVerificationError as err:
                raise InfrastructureError(
                    f"{where}: the server's certificate is not trusted ({err}); that is the "
                    "same on every attempt, so it is not retried. Fix the certificate, or "
                    "trust its issuer with SSL_CERT_FILE=path/to/ca.pem") from None
            except TimeoutError:
                raise CallTimeout(f"{where} gave no complete answer within {self.timeout:g} s "
                                  f"(request of {size} inputs); a slow answer is a finding, "
                                  "so timeouts are not retried") from None
            except (OSError, http.client.HTTPException) as err:
                error: Exception = InfrastructureError(
                    f"{where} failed after {attempt + 1} attempts: {type(err).__name__}: "
                    f"{err}. The model server could not be reached: is it running, and are "
                    "the host and port right?")
                asked = None
            else:
                if 200 <= reply.status < 300:
                    return _read_json(reply.body, where)
                error, retry = _failure(reply, where, attempt + 1)
                if not retry:
                    raise error
                asked = _http.retry_after(reply.headers.get("Retry-After"))
            if attempt == self.retries:
                raise error
            _sleep(self._wait(attempt, asked))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, attempt: int, asked: float | None) -> float:
        if asked is None:
            asked = self.backoff * 2 ** attempt * self._jitter.uniform(0.5, 1.5)
        return min(asked, self.max_retry_after)

    def _count(self) -> None:
        with self._lock:
            self.requests_made += 1

    def describe(self) -> dict[str, Any]:
        # the public path, which manifests have always named; not this private module
        return {"kind": self.kind, "class": "robustcheck.adapters.HTTPAdapter", "library": None,
                "version": None, "task": self.task, "url": _safe_url(self.url),
                "batch_size": self.batch_size, "concurrency": self.concurrency,
                "timeout": self.timeout, "retries": self.retries}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # locks don't pickle; process and Dask executors pickle adapters
        del state["_slots"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.concurrency)

    @property
    def units_at_once(self) -> int:
        """Units a run evaluates at once in its own threads: a unit with few changed
        inputs fills only a few of the ``concurrency`` connections, so several units keep
        them all busy (the connections stay capped at ``concurrency``)."""
        return 4 if self.concurrency > 1 else 1

    @property
    def inputs_per_call(self) -> int:
        """Inputs a run hands over per predict call unless told otherwise: eight rounds of
        ``concurrency`` requests, so that a call's last round, which waits for its slowest
        request, is a small part of it (with 256 inputs, two rounds of 16 requests of 8, a
        run in ``benchmarks/bench_overhead.py`` reached 7-8x the speed of one connection;
        with 1,024, 10x)."""
        return WAVES_PER_CALL * self.batch_size * self.concurrency


WAVES_PER_CALL = 8
"""Rounds of ``concurrency`` requests in one predict call of a run (see
:attr:`HTTPAdapter.inputs_per_call`)."""


def _check_host_and_port(url: str) -> None:
    # found now rather than as the same failure on every request of the run
    parts = urllib.parse.urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or above 65535
        port_ok = False
    if not parts.hostname or not port_ok:
        raise InvalidArgument(f"url must name a host and, optionally, a port from 1 to 65535 "
                              f"(http://host:8000/path); got {_safe_url(url)!r}")


_sleep = time.sleep  # the waits between attempts; tests record them instead

# Statuses that are the same for every input: the URL, the method or the credentials are
# wrong, so retrying or scoring them would be wrong too.
_MISCONFIGURED = frozenset({401, 403, 404, 405, 407})
# A gateway, or the server itself, says it cannot answer now: an outage, retried.
_UNAVAILABLE = frozenset({429, 502, 503, 504})


def _failure(reply: _http.Reply, where: str, attempts: int) -> tuple[Exception, bool]:
    """The error an answer that is not 2xx means, and whether to try again."""
    status = f"HTTP {reply.status} {reply.reason}".rstrip()
    body = _body_snippet(reply.body)
    if reply.status == 429:
        return InfrastructureError(
            f"{where} was rate limited ({status}) on all {attempts} attempts: {body}. A rate "
            "limit says nothing about the model; lower concurrency=, or raise retries= or "
            "max_retry_after=, or ask for a higher limit"), True
    if reply.status in _UNAVAILABLE:
        return InfrastructureError(
            f"{where} answered {status} on all {attempts} attempts: {body}. The model server "
            "(or a gateway in front of it) is unavailable"), True
    if reply.status in _MISCONFIGURED or 300 <= reply.status < 400 or reply.status < 200:
        return InfrastructureError(
            f"{where} answered {status}: {body}. That answer is the same for every input, so "
            "it is not retried: check the URL and the credentials in headers="), False
    return ModelOutputError(f"{where} answered {status} (attempt {attempts}): {body}"), \
        reply.status >= 500


def _read_json(payload: bytes, where: str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ModelOutputError(f"{where} answered with a body that is not JSON: "
                               f"{_snip(payload[:200])}") from None


def _default_request(batch: list[Any]) -> Any:
    return {"inputs": batch}


def _default_response(body: Any) -> Any:
    if not isinstance(body, Mapping) or "predictions" not in body:
        keys = sorted(body) if isinstance(body, Mapping) else type(body).__name__
        raise KeyError(f"expected a JSON object with 'predictions'; got {keys}")
    return body["predictions"]


def _records(inputs: Any) -> list[Any]:
    if _is_pandas(inputs, ("DataFrame",)):
        return list(inputs.to_dict(orient="records"))
    if isinstance(inputs, np.ndarray):
        return list(inputs.tolist())
    return list(inputs)


def _json_safe(x: Any) -> Any:
    """Plain JSON types; NaN, NA and NaT become null so the server sees real missing values."""
    if x is None or isinstance(x, (str, bool, int)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)):
        return _json_safe(x.tolist())
    if type(x).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x  # json.dumps raises on anything else: a crash of this batch, with the type named


def _body_snippet(body: bytes) -> str:
    # the start of the body, for the message; the status code is the message's point
    return body[:300].decode("utf-8", "replace").strip() or "(empty body)"


def _is_url(x: Any) -> bool:
    if not isinstance(x, str):
        return False
    parts = urllib.parse.urlsplit(x)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
