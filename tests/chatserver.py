"""An OpenAI-compatible chat completions server on 127.0.0.1 whose answers are a
deterministic function of the prompt, for testing and benchmarking generation adapters
(a plain module: tests and benchmarks import it, pytest does not collect it).

::

    from chatserver import ChatServer

    with ChatServer(delay=0.05) as server:
        server.rate_limit(first=2, retry_after=0.01)   # two 429s, then it recovers
        ChatCompletions(server.base_url, "echo").predict(["Hello there. Bye."])
        assert server.count == 3 and server.answered == 1

**Answers.** ``POST {base_url}/chat/completions`` with ``{"model", "messages",
"max_tokens", ...}`` answers a chat completion whose content is :func:`respond` of the
last user message (or ``answer(prompt, system)`` when given): a prompt containing
``print X`` gets ``X`` (a model that follows an instruction injected into its input, so
injection tests see one fall for it); any other prompt gets its first sentence
upper-cased. The answer is cut to ``max_tokens`` whitespace tokens. ``usage`` counts
whitespace tokens: of every message's content for the prompt, of the answer for the
completion. A prompt over ``context_tokens`` tokens gets 400, as an API answers a prompt
longer than the model's context; a body that is not a chat request gets 400 too.

**Faults.** One at a time, set per test; ``first=k`` applies it to the next ``k``
requests, ``first=None`` (the default) to all of them: ``rate_limit(retry_after, first)``
(429 with ``Retry-After``), ``fail(status, first)``, ``reset(first)`` (close the connection
without answering), ``normal()``.

**Records.** :attr:`count` (requests received), :attr:`answered` (200 answers),
:attr:`max_concurrent` (most requests being handled at once), :attr:`seen` (each
request's headers and parsed body). ``delay`` seconds are spent on every request before
it is answered (faults included), so concurrent requests overlap.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

READ_TIMEOUT = 10.0
"""A client that sends nothing for this long is dropped."""
_PRINT = re.compile(r"\bprint\s+[\"']?([^\s\"']+)", re.IGNORECASE)
_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.DOTALL)


def respond(prompt: str, system: str | None = None) -> str:
    """The default model: obeys ``print X`` anywhere in the prompt (answering ``X``), else
    answers the prompt's first sentence, upper-cased and with its spaces normalised."""
    found = _PRINT.search(prompt)
    if found:
        return found.group(1)
    sentence = _SENTENCE.match(prompt.strip())
    return " ".join((sentence.group(1) if sentence else prompt).split()).upper()


def tokens(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class Seen:
    """One request as the server received it (header names as sent; body parsed, or None)."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Fault:
    kind: str
    left: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections of concurrent clients


class ChatServer:
    """See the module docstring. Start and stop it with ``with``."""

    def __init__(self, *, delay: float = 0.0, context_tokens: int = 4096,
                 answer: Callable[[str, str | None], str] = respond) -> None:
        self.delay = delay
        self.context_tokens = context_tokens
        self.answer = answer
        self.count = self.answered = self.max_concurrent = 0
        self.seen: list[Seen] = []
        self._active = 0
        self._fault = _Fault("normal")
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.chat_server = self  # type: ignore[attr-defined]
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,),
                                        name=f"chatserver-{self.port}", daemon=True)

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def reset_counts(self) -> None:
        with self._lock:
            self.count = self.answered = self.max_concurrent = 0
            self.seen.clear()

    # -- faults

    def normal(self) -> None:
        self._set("normal", None)

    def rate_limit(self, retry_after: float | str | None = None, *,
                   first: int | None = None) -> None:
        self._set("status", first, status=429, retry_after=retry_after)

    def fail(self, status: int = 500, *, first: int | None = None) -> None:
        self._set("status", first, status=status, retry_after=None)

    def reset(self, *, first: int | None = None) -> None:
        self._set("reset", first)

    def _set(self, kind: str, first: int | None, **params: Any) -> None:
        with self._lock:
            self._fault = _Fault(kind, first, params)

    def _enter(self, seen: Seen) -> _Fault:
        with self._lock:
            self.count += 1
            self.seen.append(seen)
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
            fault = self._fault
            if fault.left == 0:
                return _Fault("normal")
            if fault.left is not None:
                fault.left -= 1
            return fault

    def _leave(self, answered: bool) -> None:
        with self._lock:
            self._active -= 1
            self.answered += answered


class _Handler(BaseHTTPRequestHandler):
    timeout = READ_TIMEOUT

    @property
    def chat(self) -> ChatServer:
        return self.server.chat_server  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fault = self.chat._enter(Seen(self.path, dict(self.headers.items()), body))
        left = False
        try:
            time.sleep(self.chat.delay)
            # the request counts as finished before its answer goes out: the client may
            # send its next request the moment it reads this one's answer
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if fault.kind == "reset":
                    self.chat._leave(False)
                    left = True
                    self._reset()
                elif fault.kind == "status":
                    extra = {} if fault.params["retry_after"] is None else \
                        {"Retry-After": str(fault.params["retry_after"])}
                    self.chat._leave(False)
                    left = True
                    self._send(fault.params["status"], _error(f"fault {fault.params['status']}"),
                               extra)
                else:
                    status, answer = self._complete(body)
                    self.chat._leave(status == 200)
                    left = True
                    self._send(status, answer)
        finally:
            if not left:
                self.chat._leave(False)

    def _complete(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not self.path.endswith("/chat/completions"):
            return 404, _error(f"no route {self.path}")
        try:
            messages = body["messages"]
            prompt = next(m["content"] for m in reversed(messages) if m["role"] == "user")
            system = next((m["content"] for m in messages if m["role"] == "system"), None)
            limit = int(body.get("max_tokens") or 1 << 30)
            prompt_tokens = sum(tokens(m["content"]) for m in messages)
        except (TypeError, KeyError, StopIteration, ValueError) as err:
            return 400, _error(f"not a chat request: {type(err).__name__}: {err}")
        if prompt_tokens > self.chat.context_tokens:
            return 400, _error(f"This model's maximum context length is "
                               f"{self.chat.context_tokens} tokens; your messages resulted "
                               f"in {prompt_tokens} tokens")
        text = self.chat.answer(prompt, system)
        if tokens(text) > limit:
            text = " ".join(text.split()[:limit])
        return 200, {
            "id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens(text),
                      "total_tokens": prompt_tokens + tokens(text)}}

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send(self, status: int, payload: dict[str, Any],
              extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        lines = [f"HTTP/1.0 {status} {self.responses.get(status, ('Unknown',))[0]}",
                 "Content-Type: application/json", f"Content-Length: {len(data)}",
                 "Connection: close", *(f"{k}: {v}" for k, v in (extra or {}).items())]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        self.close_connection = True


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}
