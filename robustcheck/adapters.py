"""Model adapters: one way to ask any model for predictions.

The runner talks to every model through one method, :meth:`Adapter.predict`, which takes
a batch of inputs and returns a :class:`Prediction`. Keeping the contract that small lets
a scikit-learn estimator, a Hugging Face pipeline, a plain function and a model behind
an HTTP endpoint be audited by the same code, and lets a user plug in anything else by
writing one method. :func:`adapt` picks the adapter from the object's shape (duck
typing): scikit-learn, pandas and transformers are never imported here.

How a model's outputs are read (labels, score arrays, dicts, floats) is documented, and
done, in :mod:`robustcheck._prediction`.
"""

from __future__ import annotations

import difflib
import http.client
import inspect
import json
import math
import random
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from robustcheck.errors import CallTimeout, InfrastructureError, InvalidArgument, ModelOutputError

from . import _http
from ._http import safe_url as _safe_url
from ._prediction import (
    _HF_TASKS,
    _SKLEARN_METHODS,
    TASKS,
    Prediction,
    _build,
    _empty,
    _from_scores,
    _is_pandas,
    _label_array,
    _label_columns,
    _output_items,
    _parse_outputs,
    _require_finite,
    _snip,
)

__all__ = [
    "Adapter",
    "CallableAdapter",
    "HTTPAdapter",
    "PipelineAdapter",
    "Prediction",
    "SklearnAdapter",
    "adapt",
]


# ------------------------------------------------------------------------- adapters


class Adapter:
    """Base class: subclasses implement ``predict``; ``task`` may stay None until known.

    ``predict`` must return one prediction per input, in order, and must not modify the
    inputs. It may raise: the runner records the exception as a crash of that batch.
    """

    kind: ClassVar[str] = "custom"
    task: str | None = None

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        raise NotImplementedError(f"{type(self).__name__} must implement predict(inputs)")

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the results manifest."""
        return {"kind": self.kind, **_describe_object(self), "task": self.task}

    def __repr__(self) -> str:
        info = self.describe()
        return f"<{type(self).__name__} {info.get('url') or info['class']} task={self.task}>"

    def _learn(self, pred: Prediction) -> Prediction:
        if self.task is None and len(pred):
            self.task = pred.task
        return pred


class CallableAdapter(Adapter):
    """A plain function as a model.

    ``batched=True`` calls ``fn(batch)`` once per predict call with a list (a DataFrame or
    array is passed through as is); ``batched=False`` calls ``fn(x)`` per input (rows of a
    DataFrame arrive as ``{column: value}`` dicts). Outputs are read by the rules in the
    module docstring; ``classes`` names the columns of score arrays.
    """

    kind = "callable"

    def __init__(self, fn: Callable[..., Any], *, batched: bool = True, task: str | None = None,
                 classes: Sequence[Any] | None = None) -> None:
        if not callable(fn):
            raise InvalidArgument(f"fn must be callable; got {type(fn).__name__} {_snip(fn)}")
        if not isinstance(batched, bool):
            raise InvalidArgument(f"batched must be True or False; got {batched!r}")
        self.fn = fn
        self.batched = batched
        self.task = _check_task(task)
        self.classes = _check_classes(classes)

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return _empty(self.task)
        name = _describe_object(self.fn)["class"]
        if self.batched:
            raw = self.fn(_as_batch(inputs))
            source, hint = f"model function {name}", " (pass batched=False to call it per input)"
        else:
            raw = [self.fn(x) for x in _items(inputs)]
            source, hint = f"model function {name} (called per input)", ""
        return self._learn(_parse_outputs(raw, n, task=self.task, classes=self.classes,
                                          source=source, hint=hint))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **_describe_object(self.fn), "task": self.task,
                "batched": self.batched}


class SklearnAdapter(Adapter):
    """A scikit-learn style estimator (Pipelines included), read through one response method.

    The method is ``predict_proba`` if available, else ``decision_function``, else
    ``predict`` (``method=`` overrides). "Available" means the attribute exists on the
    estimator and on a Pipeline's final step, and calling it does not raise an
    AttributeError or NotImplementedError that names it (old SVC without probability);
    the method that first answers is kept, so clean and perturbed inputs are scored alike.

    Score columns follow ``classes_``. ``decision_function`` margins are squashed to look
    like probabilities: a binary margin d becomes ``[logistic(-d), logistic(d)]`` with the
    label ``classes_[d > 0]`` (the estimator's own ``predict`` rule), several columns go
    through a softmax with the label at the largest margin. They are monotone in the
    margins, not calibrated. Regressors (by their scikit-learn tags) give ``values``.
    The batch is passed as given: a list of strings for text pipelines, a DataFrame for
    tabular ones.
    """

    kind = "sklearn"

    def __init__(self, estimator: Any, *, task: str | None = None,
                 method: str | None = None) -> None:
        self.estimator = estimator
        self.task = _check_task(task) or _sklearn_task(estimator)
        available = [m for m in _SKLEARN_METHODS if _has_method(estimator, m)]
        if method is not None:
            if method not in _SKLEARN_METHODS:
                raise InvalidArgument(f"method must be one of {list(_SKLEARN_METHODS)}; got "
                                      f"{method!r}{_did_you_mean(method, _SKLEARN_METHODS)}")
            if method not in available:
                raise InvalidArgument(f"method={method!r}, but {type(estimator).__name__} has no "
                                      f"usable {method}; it offers {available}")
            if self.task == "regression" and method != "predict":
                raise InvalidArgument(f"method={method!r} makes no sense for a regressor; use "
                                      "'predict' or leave method=None")
        candidates = ["predict"] if self.task == "regression" else available
        if method is None and not candidates:
            raise InvalidArgument(f"{type(estimator).__name__} has none of "
                                  f"{list(_SKLEARN_METHODS)}")
        self._candidates = [method] if method else candidates
        self.method: str | None = method or (candidates[0] if len(candidates) == 1 else None)

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return _empty(self.task)
        if self.method is not None:
            return self._call(self.method, inputs, n)
        error: BaseException | None = None
        for name in self._candidates:
            try:
                pred = self._call(name, inputs, n)
            except (AttributeError, NotImplementedError) as err:
                if isinstance(err, AttributeError) and name not in str(err):
                    raise  # a bug or a bad input inside the model, not a missing method
                error = err
                continue
            self.method = name
            return pred
        raise error if error is not None else RuntimeError("no response method tried")

    def _call(self, name: str, inputs: Sequence[Any], n: int) -> Prediction:
        out = getattr(self.estimator, name)(inputs)
        source = f"{type(self.estimator).__name__}.{name}"
        if name == "predict":
            return self._learn(_parse_outputs(out, n, task=self.task, classes=None, source=source))
        _output_items(out, n, source, "")
        classes = getattr(self.estimator, "classes_", None)
        classes = None if classes is None else _label_array(classes, "classes_")
        if name == "predict_proba":
            return self._learn(_from_scores(out, classes, n, source))
        return self._learn(_from_decision(out, classes, n, source))

    def describe(self) -> dict[str, Any]:
        info = {"kind": self.kind, **_describe_object(self.estimator), "task": self.task,
                "method": self.method}
        steps = getattr(self.estimator, "steps", None)
        if isinstance(steps, list):
            info["steps"] = [[str(s[0]), _describe_object(s[1])["class"]] for s in steps
                             if isinstance(s, tuple) and len(s) == 2]
        return info


def _from_decision(out: Any, classes: np.ndarray | None, n: int, source: str) -> Prediction:
    try:
        margins = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise ModelOutputError(f"{source} returned non-numeric margins: {_snip(out)}") from None
    _require_finite(margins, "margin", source)
    if margins.ndim == 2 and margins.shape[1] == 1:
        margins = margins[:, 0]
    if margins.ndim == 1:
        cls = np.array([0, 1]) if classes is None else classes
        if len(cls) != 2:
            raise ModelOutputError(f"{source} returned one margin per input, which means two "
                                   f"classes, but classes_ has {len(cls)}")
        scores = np.column_stack([_logistic(-margins), _logistic(margins)])
        return _build(n, source, labels=cls[(margins > 0).astype(np.intp)], scores=scores,
                      classes=cls)
    shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
    return _from_scores(shifted / shifted.sum(axis=1, keepdims=True), classes, n, source)


def _logistic(x: np.ndarray) -> np.ndarray:
    # exp of -|x| only: no overflow, and full relative precision in the far tails
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sklearn_task(estimator: Any) -> str | None:
    try:
        kind = estimator.__sklearn_tags__().estimator_type  # scikit-learn >= 1.6
    except Exception:  # older versions, duck-typed or third-party estimators with odd tags
        kind = getattr(estimator, "_estimator_type", None)
    return {"regressor": "regression", "classifier": "classification"}.get(kind)


def _has_method(estimator: Any, name: str) -> bool:
    if not callable(getattr(estimator, name, None)):
        return False
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        final = steps[-1][-1]
        if final is not None and final != "passthrough":
            return _has_method(final, name)
    return True


class PipelineAdapter(Adapter):
    """A Hugging Face ``transformers`` text-classification pipeline.

    Calls ``pipe(texts, top_k=None)``, which returns every label's score per text, so
    ``scores`` are complete, in the order of ``model.config.id2label``. A pipeline too old
    to know ``top_k`` (a TypeError naming it) is called as ``pipe(texts)`` from then on; it
    returns the top label and its score only, so each row holds its own label's score and
    NaN elsewhere: ``confidence`` is exact, ``score_of(clean_labels)`` is known only where
    the label did not change. ``call_kwargs`` (``batch_size=``, ``truncation=``...) are
    passed on every call.
    """

    kind = "transformers"

    def __init__(self, pipe: Any, **call_kwargs: Any) -> None:
        if not _is_hf_pipeline(pipe):
            raise InvalidArgument(f"pipe must be a transformers pipeline; got "
                                  f"{type(pipe).__name__}")
        if pipe.task not in _HF_TASKS:
            raise InvalidArgument(f"pipe is a {pipe.task!r} pipeline; PipelineAdapter reads "
                                  f"{list(_HF_TASKS)} pipelines. Wrap other pipelines in a "
                                  "function returning labels and pass that function instead")
        self.pipe = pipe
        self.call_kwargs = call_kwargs
        self.task = "classification"
        self.classes = _hf_classes(pipe)
        self.all_scores = True

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        texts = list(inputs)
        if not texts:
            return _empty(self.task)
        raw = None
        if self.all_scores:
            try:
                raw = self.pipe(texts, top_k=None, **self.call_kwargs)
            except TypeError as err:
                if "top_k" not in str(err):
                    raise
                self.all_scores = False
        if raw is None:
            raw = self.pipe(texts, **self.call_kwargs)
        return _parse_outputs(raw, len(texts), task=self.task, classes=self.classes,
                              source=f"transformers pipeline {_hf_model_name(self.pipe)}")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **_describe_object(self.pipe), "task": self.task,
                "pipeline_task": str(self.pipe.task), "model": _hf_model_name(self.pipe),
                "classes": None if self.classes is None else [str(c) for c in self.classes]}


def _is_hf_pipeline(obj: Any) -> bool:
    modules = (getattr(c, "__module__", "") or "" for c in type(obj).__mro__)
    return hasattr(obj, "task") and callable(obj) and \
        any(m == "transformers" or m.startswith("transformers.") for m in modules)


def _hf_classes(pipe: Any) -> np.ndarray | None:
    id2label = getattr(getattr(getattr(pipe, "model", None), "config", None), "id2label", None)
    if not isinstance(id2label, Mapping) or not id2label:
        return None
    return _label_array([id2label[i] for i in sorted(id2label, key=int)], "id2label")


def _hf_model_name(pipe: Any) -> str:
    model = getattr(pipe, "model", None)
    name = getattr(model, "name_or_path", None) or getattr(
        getattr(model, "config", None), "_name_or_path", None)
    return str(name) if name else type(pipe).__name__


# ------------------------------------------------------------------------------ HTTP


class HTTPAdapter(Adapter):
    """A model behind an HTTP endpoint that takes and returns JSON (standard library only).

    Each predict call is split into requests of ``batch_size`` inputs, sent ``concurrency``
    at a time from a thread pool and reassembled in order. The body is
    ``request(batch)`` (default ``{"inputs": batch}``; DataFrame rows become
    ``{column: value}`` records, NaN becomes null) and the outputs are
    ``response(json_body)`` (default ``json_body["predictions"]``), read by the rules in
    the module docstring. ``user:password@`` in the URL is sent as HTTP Basic
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
        self._jitter = random.Random()  # never the global generator: the run is seeded

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return _empty(self.task)
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
        return self._learn(_parse_outputs(outputs, n, task=self.task, classes=self.classes,
                                          source=f"POST {_safe_url(self.url)}"))

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
        return {"kind": self.kind, "class": f"{__name__}.HTTPAdapter", "library": None,
                "version": None, "task": self.task, "url": _safe_url(self.url),
                "batch_size": self.batch_size, "concurrency": self.concurrency,
                "timeout": self.timeout, "retries": self.retries}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # locks don't pickle; process and Dask executors pickle adapters
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


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


# --------------------------------------------------------------------------- dispatch


def adapt(model: Any, task: str | None = None) -> Adapter:
    """The adapter for ``model``: an Adapter itself, an ``http(s)://`` URL, a transformers
    pipeline, a scikit-learn style estimator, or a callable, checked in that order (a
    pipeline also has ``predict``, a fitted estimator may be callable)."""
    task = _check_task(task)
    if isinstance(model, Adapter):
        if task is not None and model.task != task:
            raise InvalidArgument(f"task={task!r}, but the {type(model).__name__} given as model "
                                  f"has task={model.task!r}; pass task to its constructor")
        return model
    if isinstance(model, str):
        if _is_url(model):
            return HTTPAdapter(model, task=task)
        raise InvalidArgument(
            f"model is the string {model!r}, which is not an http:// or https:// URL. To load "
            "a model from a 'module:attr' path use the command line (robustcheck run --model "
            "module:attr) or import it and pass the object")
    if isinstance(model, type):
        raise InvalidArgument(f"model is the class {model.__name__}, not a model; pass a fitted "
                              "instance (or a function)")
    if _is_hf_pipeline(model):
        if task == "regression":
            raise InvalidArgument("task='regression' is not supported for transformers "
                                  "pipelines; wrap the pipeline in a function instead")
        return PipelineAdapter(model)
    if any(_has_method(model, m) for m in _SKLEARN_METHODS):
        return SklearnAdapter(model, task=task)
    if callable(model):
        return CallableAdapter(model, task=task)
    raise InvalidArgument(
        f"model must be a robustcheck Adapter, a scikit-learn style estimator (predict_proba, "
        f"decision_function or predict), a transformers text-classification pipeline, a "
        f"callable or an http(s):// URL; got {type(model).__name__} {_snip(model, 60)}")


# --------------------------------------------------------------------------- helpers


def _check_task(task: Any) -> str | None:
    if task is None or task in TASKS:
        return task
    raise InvalidArgument(f"task must be None, 'classification' or 'regression'; got "
                          f"{task!r}{_did_you_mean(task, TASKS)}")


def _check_classes(classes: Any) -> np.ndarray | None:
    if classes is None:
        return None
    try:
        arr = _label_array(list(classes), "classes")
        _label_columns(arr[:0], arr)  # distinct and hashable
    except (TypeError, ModelOutputError) as err:
        raise InvalidArgument(f"classes must be a list of distinct labels; got {_snip(classes)} "
                              f"({err})") from None
    return arr


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False,
                  strict: bool = False) -> Any:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and (isinstance(value, int) or not integer)
    if not ok or value < minimum or (strict and value == minimum):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        kind = "an integer" if integer else "a number"
        raise InvalidArgument(f"{name} must be {kind} {bound}; got {value!r}")
    return value


def _did_you_mean(value: Any, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _length(inputs: Any) -> int:
    try:
        return len(inputs)
    except TypeError:
        raise InvalidArgument(f"inputs must be a sized sequence (list, array, DataFrame); got "
                              f"{type(inputs).__name__}") from None


def _as_batch(inputs: Any) -> Any:
    if isinstance(inputs, (list, np.ndarray)) or _is_pandas(inputs, ("DataFrame",)):
        return inputs
    return list(inputs)


def _items(inputs: Any) -> Iterable[Any]:
    if _is_pandas(inputs, ("DataFrame",)):
        return inputs.to_dict(orient="records")
    return inputs


def _describe_object(obj: Any) -> dict[str, Any]:
    target = getattr(obj, "func", obj) if type(obj).__name__ == "partial" else obj
    if inspect.isroutine(target):
        module, name = getattr(target, "__module__", None), target.__qualname__
    else:
        module, name = type(target).__module__, type(target).__qualname__
    top = (module or "").split(".")[0]
    library = top if top and top not in ("__main__", "builtins") else None
    version = getattr(sys.modules.get(top), "__version__", None) if library else None
    return {"class": f"{module}.{name}" if module else name, "library": library,
            "version": version if isinstance(version, str) else None}
