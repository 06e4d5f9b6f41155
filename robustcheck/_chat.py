"""A generative model behind an OpenAI-compatible chat completions endpoint (OpenAI, vLLM,
llama.cpp, Ollama, LiteLLM, ...): :class:`ChatCompletions`, public in
:mod:`robustcheck.adapters`.

One prompt is one request (the API has no batches), so a batch of prompts goes out
``concurrency`` requests at a time. Failures are classified as for
:class:`~robustcheck.adapters.HTTPAdapter` (one request with its deadline is
:mod:`robustcheck._http`), with one difference: when the endpoint is out of reach after
the retries, the adapter stops the run itself (:class:`~robustcheck._calls.Stop`) rather
than raise an error the runner would retry again, since every retry of a paid API may
cost money. Budgets stop it the same way.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import sqlite3
import ssl
import threading
import time
import urllib.parse
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ._adapter_base import Adapter, _check_number, _did_you_mean, _length
from ._calls import Stop
from ._generated import Generated, read_generated
from ._http import Reply, post, retry_after, safe_url
from ._http_adapter import (
    _MISCONFIGURED,
    _UNAVAILABLE,
    WAVES_PER_CALL,
    _body_snippet,
    _read_json,
)
from ._prediction_data import Prediction, _snip
from ._response_cache import ResponseCache, cache_key
from .errors import (
    CallTimeout,
    InfrastructureError,
    InvalidArgument,
    ModelOutputError,
    RobustcheckWarning,
)

__all__ = ["ChatCompletions"]

MESSAGE_TOKENS = 8
"""Tokens a chat template may add per message, in the worst case a budget reserves."""
SYSTEM_EXCERPT = 200
"""Characters of the system prompt a description (and so a result file) keeps."""
_PRICE_KEYS = ("prompt", "completion")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_sleep = time.sleep  # the waits between attempts; tests record them instead


class ChatCompletions(Adapter):
    """A text-to-text model at ``{base_url}/chat/completions`` (e.g. ``base_url=
    "https://api.openai.com/v1"``), asked with ``model``, an optional ``system`` prompt,
    ``temperature`` and ``max_tokens``. Its answers are ``choices[0].message.content``
    with the token counts of ``usage``.

    **Credentials.** The key is read from the environment variable named ``api_key_env``
    at every call and sent as ``Authorization: Bearer``; without it no Authorization is
    sent (a local server). It is never stored: not in :meth:`describe`, the repr, a
    result file or a pickle. ``user:password@`` in the URL is sent as HTTP Basic.

    **Failures.** Connection errors, 5xx and 429 are retried up to ``retries`` times,
    after the wait a Retry-After header asks for (cut to ``max_retry_after`` seconds),
    else ``backoff * 2**attempt`` seconds with jitter. An endpoint still unreachable,
    rate limited or answering 502/503/504 then, or answering 401/403/404/405/407 (wrong
    URL, model or key: the same for every prompt, so not retried) raises
    ``Stop("outage", ...)``: the run stops, marked incomplete, and no prompt is scored
    on it. The model's failure on a prompt is a crash of that prompt: another 4xx
    (400 for a prompt over the context length, 422; not retried), a 500 that persists, an
    answer that is not a chat completion, no answer within ``timeout`` seconds
    (:class:`~robustcheck.errors.CallTimeout`).

    **Cost.** ``prices={"prompt": p, "completion": c}`` are per token ($2.50 per million
    tokens is ``2.5e-6``); each answer's ``cost`` is then ``p * prompt_tokens + c *
    completion_tokens``. ``calls_made`` counts the HTTP requests sent (retries included)
    and ``cost_spent`` their cost (an answer without ``usage``, or a timeout, counted at
    its worst case). With ``max_calls`` (requests) or ``max_cost`` (needs ``prices``), a
    request that would pass the budget is not sent: ``Stop("budget", ...)`` ends the run.
    The cost of a request is only known once answered, so a request is sent only when
    the cost spent, the worst case of the requests in flight and its own worst case
    (its prompt at one token per byte, plus :data:`MESSAGE_TOKENS` per message, and
    ``max_tokens`` of completion) fit in ``max_cost``: it is never passed unless the
    server bills more than that. Budgets are per process: a process pool gives each
    worker its own.

    **Cache.** ``cache=`` a path or a :class:`~robustcheck._response_cache.ResponseCache`
    keeps every answer on disk; a prompt asked before (same endpoint, model, system
    prompt, temperature and max_tokens) is answered from it without a request and
    without counting against the budgets, its cost recomputed from ``prices``. Without a
    cache, the answers of a batch that failed are kept in memory until asked again, so
    that isolating the prompt that failed does not pay for the others twice.
    """

    kind = "chat-completions"
    task = "generation"

    def __init__(self, base_url: str, model: str, *, system: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 256,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8,
                 prices: Mapping[str, float] | None = None,
                 cache: str | os.PathLike[str] | ResponseCache | None = None,
                 max_calls: int | None = None, max_cost: float | None = None,
                 timeout: float = 60.0, retries: int = 3, backoff: float = 0.5,
                 max_retry_after: float = 30.0) -> None:
        self.base_url = _check_base_url(base_url)
        self.model = _check_text("model", model, "model='gpt-4o-mini'")
        if system is not None and not isinstance(system, str):
            raise InvalidArgument(f"system must be a str or None; got {type(system).__name__}")
        self.system = system
        self.temperature = float(_check_number("temperature", temperature, minimum=0))
        self.max_tokens = _check_number("max_tokens", max_tokens, minimum=1, integer=True)
        self.api_key_env = _check_env_name(api_key_env)
        self.concurrency = _check_number("concurrency", concurrency, minimum=1, integer=True)
        self.prices = _check_prices(prices)
        self.cache = _check_cache(cache)
        self.max_calls = None if max_calls is None else \
            _check_number("max_calls", max_calls, minimum=0, integer=True)
        self.max_cost = None if max_cost is None else \
            float(_check_number("max_cost", max_cost, minimum=0))
        if self.max_cost is not None and self.prices is None:
            raise InvalidArgument(
                f"max_cost={max_cost!r} needs prices= to compute a cost: pass "
                "prices={'prompt': ..., 'completion': ...} (per token), or use max_calls=")
        self.timeout = _check_number("timeout", timeout, minimum=0, strict=True)
        self.retries = _check_number("retries", retries, minimum=0, integer=True)
        self.backoff = _check_number("backoff", backoff, minimum=0)
        self.max_retry_after = _check_number("max_retry_after", max_retry_after, minimum=0)
        self.url = _endpoint(self.base_url)
        self.calls_made = 0
        self.cost_spent = 0.0
        self._in_flight = 0  # requests sent and not yet answered...
        self._in_flight_cost = 0.0  # ...and their worst-case cost
        self._recent: dict[str, Generated] = {}
        self._drawn: dict[str, int] = {}  # answers received per prompt (temperature > 0)
        self._jitter = random.Random()  # never the global generator: the run is seeded
        self._threads()

    def _threads(self) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._slots = threading.BoundedSemaphore(self.concurrency)

    # -- predict ---------------------------------------------------------------------------

    def predict(self, inputs: Sequence[str]) -> Prediction:
        n = _length(inputs)
        prompts = [_check_prompt(i, x) for i, x in enumerate(inputs)]
        answers: list[Generated | None] = [None] * n
        draws = self._draws(prompts)
        keys = [self._key(p, d) for p, d in zip(prompts, draws)]
        todo = []
        for i, key in enumerate(keys):
            answers[i] = self._recall(key)
            if answers[i] is None:
                todo.append(i)
        try:
            self._ask_all([(i, prompts[i], keys[i]) for i in todo], answers)
        except BaseException:
            if self.cache is None:  # the runner isolates the failure: it will ask again
                self._remember(keys, answers)
            raise
        if self.temperature > 0:
            with self._lock:
                for prompt in prompts:
                    self._drawn[prompt] = self._drawn.get(prompt, 0) + 1
        return read_generated(answers, n, source=f"POST {safe_url(self.url)}")

    def _draws(self, prompts: list[str]) -> list[int]:
        """Which answer to a prompt this is: above temperature 0 every answer is a new
        sample, so the k-th answer to a prompt has its own cache entry (the clean pass
        asks every prompt twice to measure the model's own noise, and a rerun replays
        both answers); at temperature 0 one answer per prompt is kept. Counted when a
        batch is answered, so the runner asking again to isolate a failure gets the
        same draw."""
        if self.temperature <= 0:
            return [0] * len(prompts)
        seen: dict[str, int] = {}
        out = []
        with self._lock:
            for prompt in prompts:
                k = seen.get(prompt, 0)
                seen[prompt] = k + 1
                out.append(self._drawn.get(prompt, 0) + k)
        return out

    def _ask_all(self, todo: list[tuple[int, str, str]],
                 answers: list[Generated | None]) -> None:
        if len(todo) <= 1:
            for i, prompt, key in todo:
                answers[i] = self._ask(prompt, key)
            return
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)),
                                thread_name_prefix="robustcheck-chat") as pool:
            futures = [(i, pool.submit(self._ask, prompt, key)) for i, prompt, key in todo]
            first: BaseException | None = None
            for i, future in futures:
                error = _outcome(future, answers, i)
                if isinstance(error, Stop):  # nothing more is sent; a Stop wins
                    _cancel(futures)
                    raise error
                if error is not None and first is None:
                    first = error
                    _cancel(futures)  # don't send what is still queued
            if first is not None:
                raise first

    def _recall(self, key: str) -> Generated | None:
        if self.cache is not None:
            found = self.cache.get(key)
        else:
            with self._lock:
                found = self._recent.pop(key, None)
        if found is None:
            return None
        return Generated(found.text, found.prompt_tokens, found.completion_tokens,
                         self._cost(found.prompt_tokens, found.completion_tokens))

    def _remember(self, keys: list[str], answers: list[Generated | None]) -> None:
        with self._lock:
            if len(self._recent) > 100_000:  # never asked again: don't grow without end
                self._recent.clear()
            self._recent.update((k, a) for k, a in zip(keys, answers) if a is not None)

    # -- one prompt ------------------------------------------------------------------------

    def _ask(self, prompt: str, key: str) -> Generated:
        body = json.dumps(self._body(prompt), ensure_ascii=False).encode("utf-8")
        worst = self._worst_case(prompt)
        for attempt in range(self.retries + 1):
            outcome = self._attempt(body, worst, attempt)
            if isinstance(outcome, Generated):
                self._keep(key, outcome)
                return outcome
            error, asked = outcome
            if attempt == self.retries:
                raise error
            _sleep(self._wait(attempt, asked))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, body: bytes, worst: float,
                 attempt: int) -> Generated | tuple[BaseException, float | None]:
        """One request: its answer, or an error worth trying again with the wait the
        server asked for (None: none); raises the errors that are not."""
        sent = [0]  # requests sent (a redirect sends another), each counted by _start
        cost = 0.0  # what they are charged: nothing for an error status or no connection

        def start() -> None:
            self._start(worst)
            sent[0] += 1

        try:
            try:
                with self._slots:  # at most ``concurrency`` requests, from any thread
                    reply = post(self.url, body, self._headers(), timeout=self.timeout,
                                 on_request=start)
            except TimeoutError:
                cost = worst  # the server may bill it all the same
                raise CallTimeout(f"{self._where} gave no complete answer within "
                                  f"{self.timeout:g} s; a slow answer is a finding, so "
                                  "timeouts are not retried") from None
            except BaseException as err:
                if _retried(err):
                    return self._unreachable(err, attempt), None
                raise self._unreachable(err, attempt) from None
            if not 200 <= reply.status < 300:
                error, retry = self._failure(reply, attempt + 1)
                if not retry:
                    raise error
                return error, retry_after(reply.headers.get("Retry-After"))
            cost = worst  # billed: its usage, when readable, says how much
            answer = self._answer(reply.body)
            cost = worst if answer.cost is None else answer.cost
            return answer
        finally:
            self._settle(sent[0], worst, cost)

    def _keep(self, key: str, answer: Generated) -> None:
        if self.cache is None:
            return
        try:
            self.cache.put(key, answer)
        except sqlite3.Error as err:  # the answer is paid for and good: not a crash
            warnings.warn(f"the response cache {self.cache.path} could not be written "
                          f"({type(err).__name__}: {err}); this answer is not kept",
                          RobustcheckWarning, stacklevel=2)

    def _body(self, prompt: str) -> dict[str, Any]:
        system = [] if self.system is None else [{"role": "system", "content": self.system}]
        return {"model": self.model, "messages": [*system, {"role": "user", "content": prompt}],
                "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "robustcheck"}
        key = os.environ.get(self.api_key_env, "").strip()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _answer(self, payload: bytes) -> Generated:
        data = _read_json(payload, self._where)
        try:
            message = data["choices"][0]["message"]
            text = message.get("content")
            if text is None:  # a refusal is what the model answered
                text = message.get("refusal")
            if not isinstance(text, str):
                raise TypeError(f"content is {type(text).__name__}")
        except (KeyError, IndexError, TypeError, AttributeError) as err:
            raise ModelOutputError(
                f"{self._where} answered {_snip(data)}, which is not a chat completion "
                f"({type(err).__name__}: {err}); expected choices[0].message.content, a "
                "str") from None
        usage = data.get("usage")
        usage = usage if isinstance(usage, Mapping) else {}
        prompt_tokens = _count(usage.get("prompt_tokens"))
        completion_tokens = _count(usage.get("completion_tokens"))
        return Generated(text, prompt_tokens, completion_tokens,
                         self._cost(prompt_tokens, completion_tokens))

    def _failure(self, reply: Reply, attempts: int) -> tuple[BaseException, bool]:
        """The error a status that is not 2xx means, and whether to try again."""
        status = f"HTTP {reply.status} {reply.reason}".rstrip()
        body = _body_snippet(reply.body)
        if reply.status == 429:
            return Stop("outage", f"{self._where} was rate limited ({status}) on all "
                                  f"{attempts} attempts: {body}. Lower concurrency=, raise "
                                  "retries= or max_retry_after=, or ask for a higher limit"), True
        if reply.status in _UNAVAILABLE:
            return Stop("outage", f"{self._where} answered {status} on all {attempts} "
                                  f"attempts: {body}. The server (or a gateway in front of "
                                  "it) is unavailable"), True
        if reply.status in _MISCONFIGURED or reply.status < 200 or 300 <= reply.status < 400:
            return Stop("outage", f"{self._where} answered {status}: {body}. That answer is "
                                  "the same for every prompt, so it is not retried: check "
                                  f"base_url, model={self.model!r} and the key in "
                                  f"${self.api_key_env} ({self._key_state()})"), False
        return ModelOutputError(f"{self._where} answered {status} (attempt {attempts}): "
                                f"{body}"), reply.status >= 500

    def _unreachable(self, err: BaseException, attempt: int) -> BaseException:
        if isinstance(err, (Stop, InfrastructureError)):
            return err if isinstance(err, Stop) else Stop("outage", str(err))
        if isinstance(err, ssl.SSLCertVerificationError):
            return Stop("outage", f"{self._where}: the server's certificate is not trusted "
                                  f"({err}); fix it, or trust its issuer with "
                                  "SSL_CERT_FILE=path/to/ca.pem")
        if isinstance(err, (OSError, http.client.HTTPException)):
            return Stop("outage", f"{self._where} failed after {attempt + 1} attempts: "
                                  f"{type(err).__name__}: {err}. Is the server running, and "
                                  "is base_url right?")
        return err

    def _wait(self, attempt: int, asked: float | None) -> float:
        if asked is None:
            with self._lock:
                asked = self.backoff * 2 ** attempt * self._jitter.uniform(0.5, 1.5)
        return min(asked, self.max_retry_after)

    # -- budgets ---------------------------------------------------------------------------

    def _start(self, worst: float) -> None:
        """Count a request about to be sent, or stop when it would pass a budget."""
        with self._settled:
            if self.max_calls is not None and self.calls_made >= self.max_calls:
                raise Stop("budget", self._spent(
                    f"max_calls={self.max_calls} reached", "raise max_calls="))
            if self.max_cost is not None:
                # Requests in flight may cost less than their worst case: wait for them
                # before declaring the budget spent.
                while self._in_flight and self._over(worst):
                    self._settled.wait()
                if self._over(worst):
                    raise Stop("budget", self._spent(
                        f"max_cost={self.max_cost:g} reached (the next request may cost up "
                        f"to {worst:.4g})", "raise max_cost= (or lower max_tokens=)"))
            self.calls_made += 1
            self._in_flight += 1
            self._in_flight_cost += worst

    def _over(self, worst: float) -> bool:
        spent = self.cost_spent + self._in_flight_cost + worst
        return spent > (self.max_cost or 0.0) * (1 + 1e-12)  # not over by a rounding error

    def _settle(self, requests: int, worst: float, cost: float) -> None:
        if requests == 0:
            return
        with self._settled:
            self._in_flight -= requests
            self._in_flight_cost = self._in_flight_cost - requests * worst \
                if self._in_flight else 0.0
            self.cost_spent += cost
            self._settled.notify_all()

    def _spent(self, what: str, fix: str) -> str:
        cost = "" if self.prices is None else f", costing {self.cost_spent:.6g}"
        rerun = ("answers so far are in the cache, so a rerun pays only for new prompts"
                 if self.cache is not None else
                 "pass cache= so that a rerun pays only for prompts not asked before")
        return (f"{what}: {self.calls_made} requests sent to {self._where}{cost}; nothing "
                f"more is sent. To go on, {fix}; {rerun}")

    def _worst_case(self, prompt: str) -> float:
        if self.prices is None:
            return 0.0
        messages = 1 if self.system is None else 2
        tokens = len(prompt.encode("utf-8")) + len((self.system or "").encode("utf-8")) + \
            MESSAGE_TOKENS * messages
        return self.prices["prompt"] * tokens + self.prices["completion"] * self.max_tokens

    def _cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        if self.prices is None or prompt_tokens is None or completion_tokens is None:
            return None
        return self.prices["prompt"] * prompt_tokens + \
            self.prices["completion"] * completion_tokens

    # -- identity --------------------------------------------------------------------------

    def _key(self, prompt: str, draw: int = 0) -> str:
        fields = {"kind": self.kind, "base_url": safe_url(self.base_url),
                  "model": self.model, "system": self.system,
                  "temperature": self.temperature, "max_tokens": self.max_tokens,
                  "prompt": prompt}
        if draw:
            fields["draw"] = draw
        return cache_key(fields)

    @property
    def _where(self) -> str:
        return f"POST {safe_url(self.url)}"

    def _key_state(self) -> str:
        return "set" if os.environ.get(self.api_key_env, "").strip() else "not set"

    def describe(self) -> dict[str, Any]:
        system = self.system
        if system is not None and len(system) > SYSTEM_EXCERPT:
            system = system[: SYSTEM_EXCERPT - 1] + "…"
        return {"kind": self.kind, "class": "robustcheck.adapters.ChatCompletions",
                "library": None, "version": None, "task": self.task,
                "base_url": safe_url(self.base_url), "model": self.model,
                "temperature": self.temperature, "max_tokens": self.max_tokens,
                "system": system, "concurrency": self.concurrency, "timeout": self.timeout,
                "retries": self.retries, "prices": self.prices,
                "max_calls": self.max_calls, "max_cost": self.max_cost,
                "cache": self.cache is not None}

    def __repr__(self) -> str:
        return (f"<ChatCompletions model={self.model!r} at {safe_url(self.base_url)} "
                f"task={self.task}>")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_lock", "_settled", "_slots"):  # locks don't pickle
            del state[name]
        state["_recent"] = {}
        state["_in_flight"], state["_in_flight_cost"] = 0, 0.0
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._threads()

    @property
    def units_at_once(self) -> int:
        """Units a run evaluates at once in its own threads: a unit with few changed
        prompts fills only a few of the ``concurrency`` connections, so several units keep
        them all busy (the connections stay capped at ``concurrency``)."""
        return 4 if self.concurrency > 1 else 1

    @property
    def inputs_per_call(self) -> int:
        """Prompts a run hands over per predict call unless told otherwise: eight rounds
        of ``concurrency`` requests (one prompt each)."""
        return WAVES_PER_CALL * self.concurrency


# -- helpers ------------------------------------------------------------------------------


def _outcome(future: Future[Generated], answers: list[Generated | None],
             i: int) -> BaseException | None:
    try:
        answers[i] = future.result()
    except BaseException as err:  # CancelledError too: raised only after the first error
        return err
    return None


def _cancel(futures: list[tuple[int, Future[Generated]]]) -> None:
    for _, future in futures:
        future.cancel()  # queued ones are not sent; running ones finish


def _retried(err: BaseException) -> bool:
    """Whether a request that raised ``err`` may succeed when sent again: the server
    could not be reached, not a redirect refused or a certificate not trusted."""
    return isinstance(err, (OSError, http.client.HTTPException)) and \
        not isinstance(err, (InfrastructureError, ssl.SSLCertVerificationError))


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None


def _endpoint(base_url: str) -> str:
    parts = urllib.parse.urlsplit(base_url)
    path = parts.path.rstrip("/") + "/chat/completions"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _check_base_url(url: Any) -> str:
    try:
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        port_ok = parts is not None and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number or above 65535, a broken IPv6 host
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or \
            not port_ok:
        shown = _shown(url) if isinstance(url, str) else url
        raise InvalidArgument(f"base_url must be an http:// or https:// URL with a host (and "
                              f"optionally a port from 1 to 65535), the part before "
                              f"/chat/completions, e.g. 'https://api.openai.com/v1'; got "
                              f"{shown!r}")
    if parts.path.rstrip("/").endswith("/chat/completions"):
        raise InvalidArgument(f"base_url is the part before /chat/completions, which is "
                              f"added; got {safe_url(url)!r}: drop /chat/completions")
    return url


def _shown(url: str) -> str:
    """``url`` for a message: without credentials and query, or not at all."""
    try:
        return safe_url(url)
    except ValueError:  # not even a URL: it may hold anything
        return "(a text that is not a URL)"


def _check_text(name: str, value: Any, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{name} must be non-empty text; got {value!r}; e.g. {example}")
    return value


def _check_env_name(name: Any) -> str:
    if isinstance(name, str) and _ENV_NAME.fullmatch(name):
        return name
    # the value is not shown: it may well be the key itself
    raise InvalidArgument("api_key_env must be the name of an environment variable holding "
                          "the key (letters, digits, _), e.g. 'OPENAI_API_KEY', not the key "
                          f"itself; got a {type(name).__name__} that is not such a name")


def _check_prices(prices: Any) -> dict[str, float] | None:
    if prices is None:
        return None
    if not isinstance(prices, Mapping):
        raise InvalidArgument(f"prices must be a dict {{'prompt': ..., 'completion': ...}} "
                              f"of prices per token; got {type(prices).__name__}")
    for key in prices:
        if key not in _PRICE_KEYS:
            raise InvalidArgument(f"prices has an unknown key {key!r}"
                                  f"{_did_you_mean(key, _PRICE_KEYS)}; its keys are "
                                  "'prompt' and 'completion' (prices per token)")
    missing = [k for k in _PRICE_KEYS if k not in prices]
    if missing:
        raise InvalidArgument(f"prices lacks {' and '.join(map(repr, missing))}; give both, "
                              "e.g. prices={'prompt': 1.5e-7, 'completion': 6e-7} (per token)")
    return {k: float(_check_number(f"prices[{k!r}]", prices[k], minimum=0))
            for k in _PRICE_KEYS}


def _check_cache(cache: Any) -> ResponseCache | None:
    if cache is None or isinstance(cache, ResponseCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return ResponseCache(cache)
    raise InvalidArgument(f"cache must be a path, a ResponseCache or None; got "
                          f"{type(cache).__name__}; e.g. cache='.robustcheck/cache'")


def _check_prompt(i: int, prompt: Any) -> str:
    if isinstance(prompt, str):
        return str(prompt)
    raise InvalidArgument(f"inputs[{i}] must be a prompt (str); got {type(prompt).__name__} "
                          f"{_snip(prompt)}")
