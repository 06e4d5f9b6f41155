"""Kept-alive connections (:mod:`robustcheck._http`): requests to the same server reuse an
idle connection when the previous answer allowed it, and everything else (timeouts, server
closing connections, HTTP/1.0, ``Connection: close``, request counts, results) is as it
was with a new connection per request.

The server counts the TCP connections it accepts, so reuse is seen from the outside."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import without_timings

import robustcheck
from robustcheck import _http
from robustcheck._chat import ChatCompletions
from robustcheck.adapters import HTTPAdapter
from robustcheck.errors import CallTimeout, ModelOutputError

TEXTS = [f"the room was {w} {i}" for i, w in enumerate(["good", "bad", "fine", "cold"] * 4)]


def parity(inputs: list[Any]) -> list[int]:
    return [len(str(x)) % 2 for x in inputs]


class Server(ThreadingHTTPServer):
    """Counts connections accepted, requests read and requests dropped unanswered."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.lock = threading.Lock()
        self.connections = self.requests = self.dropped = 0
        self.release = threading.Event()  # ends the waits of slow answers

    def get_request(self) -> tuple[socket.socket, Any]:
        pair = super().get_request()
        with self.lock:
            self.connections += 1
        return pair

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/predict"


class KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with Content-Length: connections stay open. Answers predictions (parity)
    or, to a body with messages, a chat completion (the prompt upper-cased)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each kept-alive answer waits for a delayed ACK
    served = 0  # requests answered on this connection: a handler serves one connection

    @property
    def counts(self) -> Server:
        return self.server  # type: ignore[return-value]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.counts.lock:
            self.counts.requests += 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.reply(body)
        self.served += 1

    def reply(self, body: dict[str, Any]) -> None:
        self.send(json.dumps(_answer(body)).encode())

    def send(self, payload: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    if "messages" not in body:
        return {"predictions": parity(body["inputs"])}
    prompt = body["messages"][-1]["content"]
    return {"choices": [{"message": {"role": "assistant", "content": prompt.upper()}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


class SaysClose(KeepAlive):
    """HTTP/1.1 answering ``Connection: close``."""

    def send_header(self, keyword: str, value: str) -> None:
        super().send_header(keyword, value)
        if keyword == "Content-Length":
            super().send_header("Connection", "close")


class ClosesWhenIdle(KeepAlive):
    """Allows keep-alive, then closes the connection once it is idle."""

    def reply(self, body: dict[str, Any]) -> None:
        super().reply(body)
        self.close_connection = True


class FailsTheNext(KeepAlive):
    """Answers the first request of a connection as :class:`KeepAlive` does; the next
    ones with :meth:`next`."""

    def reply(self, body: dict[str, Any]) -> None:
        if self.served:
            self.next(body)
        else:
            super().reply(body)

    def next(self, body: dict[str, Any]) -> None:
        raise NotImplementedError


class DropsTheNext(FailsTheNext):
    """Answers the first request of a connection; closes it when the next one arrives,
    without answering (a server timing out an idle connection just as it is reused)."""

    rst = False  # close with a TCP reset rather than an end of stream

    def next(self, body: dict[str, Any]) -> None:
        with self.counts.lock:
            self.counts.dropped += 1
        self.close_connection = True
        if self.rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()


class ResetsTheNext(DropsTheNext):
    rst = True


class BreaksOffTheNext(FailsTheNext):
    """Answers the first request of a connection; to the next, the start of an answer."""

    def next(self, body: dict[str, Any]) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        self.close_connection = True


class Slow(KeepAlive):
    """Takes (up to) 5 s to answer inputs that say "slow"."""

    def reply(self, body: dict[str, Any]) -> None:
        if any("slow" in str(x) for x in body["inputs"]):
            self.counts.release.wait(5)
        super().reply(body)


class OldServer(KeepAlive):
    """HTTP/1.0, the default of BaseHTTPRequestHandler: one request per connection."""

    protocol_version = "HTTP/1.0"


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[Server]:
    server = Server(handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        _http.close_idle()  # the client's side of the connections still open


def predict_one_by_one(adapter: HTTPAdapter, texts: list[str]) -> list[int]:
    return [int(adapter.predict([t]).labels[0]) for t in texts]


# -- reuse --------------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection() -> None:
    with serving(KeepAlive) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:6]) == parity(TEXTS[:6])
    assert server.requests == adapter.requests_made == 6
    assert server.connections == 1


def test_concurrent_requests_open_no_more_connections_than_concurrency() -> None:
    with serving(KeepAlive) as server:
        adapter = HTTPAdapter(server.url, batch_size=1, concurrency=4, retries=0)
        for _ in range(3):  # each predict call has its own threads; the connections stay
            assert adapter.predict(TEXTS).labels.tolist() == parity(TEXTS)
    assert server.requests == adapter.requests_made == 3 * len(TEXTS)
    assert server.connections <= 4


def test_a_same_origin_redirect_is_followed_on_the_same_connection() -> None:
    class Redirects(KeepAlive):
        def reply(self, body: dict[str, Any]) -> None:
            if self.path == "/predict":
                self.send_response(307)
                self.send_header("Location", "/v2/predict")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                super().reply(body)

    with serving(Redirects) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:2]) == parity(TEXTS[:2])
    assert server.requests == adapter.requests_made == 4
    assert server.connections == 1


def test_results_are_the_same_with_and_without_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    labels = parity(TEXTS)
    results, connections = [], []
    with serving(KeepAlive) as server:
        for keep in (_http.MAX_IDLE, 0):
            monkeypatch.setattr(_http, "MAX_IDLE", keep)  # 0: every connection is closed
            _http.close_idle()
            before = server.connections
            adapter = HTTPAdapter(server.url, batch_size=2, concurrency=4, retries=0)
            results.append(robustcheck.run(adapter, TEXTS, labels, seed=0, progress=False,
                                           perturbations=["case.upper", "typo.swap"],
                                           severities=[0.5, 1.0]))
            connections.append((server.connections - before, adapter.requests_made))
    assert without_timings(results[0]) == without_timings(results[1])
    (reused, sent_reusing), (opened, sent) = connections
    assert sent_reusing == sent and opened == sent
    assert reused <= 4 < sent


# -- the server decides -------------------------------------------------------------------


def test_a_server_answering_connection_close_gets_a_new_connection_each_time() -> None:
    with serving(SaysClose) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:4]) == parity(TEXTS[:4])
    assert server.requests == server.connections == adapter.requests_made == 4


def test_an_http_1_0_server_gets_a_new_connection_each_time() -> None:
    with serving(OldServer) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:4]) == parity(TEXTS[:4])
    assert server.requests == server.connections == adapter.requests_made == 4


def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    with serving(ClosesWhenIdle) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:4]) == parity(TEXTS[:4])
    assert server.requests == server.connections == adapter.requests_made == 4


@pytest.mark.parametrize("handler", [DropsTheNext, ResetsTheNext])
def test_a_request_on_a_connection_closed_as_it_arrives_is_sent_once_more_uncounted(
    handler: type[DropsTheNext],
) -> None:
    with serving(handler) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:4]) == parity(TEXTS[:4])
    assert server.dropped == 3  # requests 2, 3 and 4 first went on the previous connection
    assert server.requests == 4 + 3
    assert adapter.requests_made == 4  # each was one request for the caller
    assert server.connections == 4


def test_the_chat_adapter_counts_a_request_sent_once_more_as_one_call() -> None:
    prompts = ["one.", "two.", "three."]
    with serving(DropsTheNext) as server:
        base = server.url.removesuffix("/predict") + "/v1"
        adapter = ChatCompletions(base, "m", api_key_env="ROBUSTCHECK_NO_SUCH_KEY",
                                  concurrency=1, retries=0, max_calls=3)
        answers = [adapter.predict([p]).labels[0] for p in prompts]
    assert answers == [p.upper() for p in prompts]
    assert server.dropped == 2
    assert adapter.calls_made == 3  # within max_calls=3: the resends are not charged


def test_a_reused_connection_that_breaks_off_mid_answer_is_not_sent_again() -> None:
    with serving(BreaksOffTheNext) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        adapter.predict(TEXTS[:1])
        with pytest.raises(ModelOutputError, match="not JSON"):  # the body cut short
            adapter.predict(TEXTS[1:2])
        assert predict_one_by_one(adapter, TEXTS[2:3]) == parity(TEXTS[2:3])
    assert server.requests == adapter.requests_made == 3
    assert server.connections == 2  # the one cut short is not reused


# -- failures -----------------------------------------------------------------------------


def test_a_timed_out_request_closes_its_connection() -> None:
    with serving(Slow) as server:
        # 0.5 s: ample for the local answers, a tenth of what the slow one would take
        adapter = HTTPAdapter(server.url, timeout=0.5, retries=0)
        adapter.predict(["a"])
        with pytest.raises(CallTimeout):
            adapter.predict(["slow"])
        assert predict_one_by_one(adapter, ["b", "cc"]) == [1, 0]
    assert server.requests == adapter.requests_made == 4
    assert server.connections == 2  # the first until the timeout, then a new one


def test_a_slow_drip_on_a_reused_connection_still_times_out() -> None:
    class Drips(FailsTheNext):
        def next(self, body: dict[str, Any]) -> None:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while not self.counts.release.wait(0.05):
                self.wfile.write(b"X-Drip: 1\r\n")

    with serving(Drips) as server:
        adapter = HTTPAdapter(server.url, timeout=0.5, retries=0)  # drips for ever
        adapter.predict(["a"])
        with pytest.raises(CallTimeout):
            adapter.predict(["b"])
    assert server.connections == 1


def test_idle_connections_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "IDLE_SECONDS", 0.0)
    with serving(KeepAlive) as server:
        adapter = HTTPAdapter(server.url, retries=0)
        assert predict_one_by_one(adapter, TEXTS[:3]) == parity(TEXTS[:3])
    assert server.connections == 3


# -- how much a run hands an endpoint per call ------------------------------------------------


class Recording(HTTPAdapter):
    """Remembers how many inputs each predict call got."""

    sizes: list[int]

    def predict(self, inputs: Any) -> Any:
        self.sizes.append(len(inputs))
        return super().predict(inputs)


def test_an_endpoint_gets_eight_rounds_of_its_requests_per_call_of_a_run() -> None:
    assert HTTPAdapter("http://127.0.0.1:9/p", batch_size=8, concurrency=16).inputs_per_call \
        == 1024
    texts = [f"{t} again {i}" for i in range(40) for t in TEXTS[:15]]  # 600 texts
    results = {}
    with serving(KeepAlive) as server:
        for batch_size in (None, 100):
            adapter = Recording(server.url, batch_size=8, concurrency=8, retries=0)
            adapter.sizes = []
            results[batch_size] = robustcheck.run(adapter, texts, perturbations=["typo.keyboard"],
                                                  severities=(1.0,), seed=0, progress=False,
                                                  batch_size=batch_size)
            if batch_size is None:  # 8 rounds x 8 connections x 8 inputs, not the text 256
                assert adapter.inputs_per_call == 512 and max(adapter.sizes) == 512
            else:
                assert max(adapter.sizes) == 100
    assert without_timings(results[None]) == without_timings(results[100])


def test_a_single_connection_keeps_the_modalitys_call_size() -> None:
    texts = [f"{t} {i}" for i in range(20) for t in TEXTS[:15]]  # 300 texts
    with serving(KeepAlive) as server:
        adapter = Recording(server.url, batch_size=8, concurrency=1, retries=0)
        adapter.sizes = []
        robustcheck.run(adapter, texts, perturbations=["typo.keyboard"], severities=(1.0,),
                        seed=0, progress=False)
    assert adapter.inputs_per_call == 64 and max(adapter.sizes) == 256
