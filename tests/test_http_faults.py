"""The HTTP adapter under faults: redirects, rate limits, outages, drip-fed answers.

Every test talks to a real server on 127.0.0.1 (tests/faultserver.py) that misbehaves on
demand. An outage, a rate limit or a misconfigured endpoint must surface as an
InfrastructureError (never a finding), a slow answer as a CallTimeout (a crash, a finding),
the model server's own failure on a batch as a ModelOutputError (a crash).
"""

from __future__ import annotations

import contextlib
import pickle
import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from faultserver import FaultServer, parity

import robustcheck
from robustcheck import _http_adapter
from robustcheck.adapters import HTTPAdapter
from robustcheck.errors import CallTimeout, InfrastructureError, ModelOutputError

TEXTS = ["a", "bb", "ccc", "dddd", "eeeee"]
EXPECTED = parity(TEXTS)


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The adapter's waits between attempts, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(_http_adapter, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def other() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def dead_url() -> str:
    """A loopback URL nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/predict"


@contextlib.contextmanager
def raw_server(status: int, body: bytes) -> Iterator[str]:
    """A server answering every POST with ``body`` as is (FaultServer answers JSON)."""
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/predict"
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_to_another_origin_is_refused_and_the_credentials_stay_home(
    fault_server: FaultServer, other: FaultServer, status: int,
) -> None:
    target = other.url.replace("http://", "http://user:hunter2@") + "?key=abc"
    fault_server.redirect(target, status=status)
    adapter = HTTPAdapter(fault_server.url, headers={"Authorization": "Bearer secret"})
    with pytest.raises(InfrastructureError) as info:
        adapter.predict(TEXTS)
    message = str(info.value)
    assert other.url in message and "another origin" in message
    assert "point the url at the final address" in message.lower()
    assert "hunter2" not in message and "key=abc" not in message
    assert other.seen == []  # nothing, let alone the Authorization header, went there
    assert fault_server.count == adapter.requests_made == 1


def test_a_redirect_to_another_scheme_on_the_same_host_and_port_is_another_origin(
    fault_server: FaultServer,
) -> None:
    fault_server.redirect(fault_server.url.replace("http://", "https://"))
    with pytest.raises(InfrastructureError, match="another origin"):
        HTTPAdapter(fault_server.url).predict(TEXTS)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_same_origin_redirect_is_followed_with_the_same_post_body_and_headers(
    fault_server: FaultServer, status: int,
) -> None:
    fault_server.redirect("/v2/predict", status=status)
    adapter = HTTPAdapter(fault_server.url, headers={"Authorization": "Bearer secret"})
    assert adapter.predict(TEXTS).labels.tolist() == EXPECTED
    first, second = fault_server.seen
    assert (second.method, second.path) == ("POST", "/v2/predict")
    assert second.body == first.body
    assert second.headers["Authorization"] == "Bearer secret"
    assert adapter.requests_made == 2  # the hop is a request too


def test_a_redirect_loop_stops_after_five_hops(fault_server: FaultServer) -> None:
    fault_server.redirect("/predict")
    adapter = HTTPAdapter(fault_server.url, retries=3)
    with pytest.raises(InfrastructureError, match="more than 5 times"):
        adapter.predict(TEXTS)
    assert fault_server.count == adapter.requests_made == 6  # not retried: same every time


# -- rate limits ----------------------------------------------------------------------------


def test_a_429_is_retried_after_the_seconds_retry_after_asks_for(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.rate_limit(7, first=2)
    adapter = HTTPAdapter(fault_server.url, retries=3)
    assert adapter.predict(TEXTS).labels.tolist() == EXPECTED
    assert waits == [7.0, 7.0]
    assert adapter.requests_made == fault_server.count == 3


def test_a_retry_after_given_as_an_http_date_is_honoured(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.rate_limit(datetime.now(timezone.utc) + timedelta(seconds=20), first=1)
    HTTPAdapter(fault_server.url).predict(TEXTS)
    assert len(waits) == 1 and 15 <= waits[0] <= 20  # HTTP dates have whole seconds


def test_a_retry_after_longer_than_max_retry_after_is_capped_not_ignored(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.rate_limit(3600, first=1)
    HTTPAdapter(fault_server.url, max_retry_after=2.5).predict(TEXTS)
    assert waits == [2.5]


def test_a_429_without_retry_after_backs_off_exponentially_with_jitter_from_its_own_generator(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.rate_limit()
    random.seed(1234)
    global_state = random.getstate()
    adapter = HTTPAdapter(fault_server.url, retries=4, backoff=1.0, max_retry_after=100)
    with pytest.raises(InfrastructureError, match="rate limited") as info:
        adapter.predict(TEXTS)
    assert not isinstance(info.value, ModelOutputError)  # a rate limit is not a finding
    assert len(waits) == 4 and fault_server.count == 5
    for k, wait in enumerate(waits):
        assert 0.5 * 2**k <= wait <= 1.5 * 2**k
    assert len({wait / 2**k for k, wait in enumerate(waits)}) == 4  # jittered, not 1, 2, 4, 8
    assert random.getstate() == global_state


def test_no_backoff_wait_is_longer_than_max_retry_after(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.fail(503)
    with pytest.raises(InfrastructureError):
        HTTPAdapter(fault_server.url, retries=6, backoff=1.0, max_retry_after=3).predict(TEXTS)
    assert max(waits) <= 3 and len(waits) == 6


# -- what a failure is ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_an_unavailable_server_is_retried_then_an_infrastructure_error(
    fault_server: FaultServer, waits: list[float], status: int,
) -> None:
    fault_server.fail(status)
    adapter = HTTPAdapter(fault_server.url, retries=2)
    with pytest.raises(InfrastructureError, match=f"HTTP {status}") as info:
        adapter.predict(TEXTS)
    assert "3 attempts" in str(info.value)
    assert fault_server.count == adapter.requests_made == 3


@pytest.mark.parametrize("status", [401, 403, 404, 405, 407])
def test_a_misconfigured_endpoint_is_an_infrastructure_error_at_once(
    fault_server: FaultServer, waits: list[float], status: int,
) -> None:
    fault_server.fail(status)
    adapter = HTTPAdapter(fault_server.url, retries=3)
    with pytest.raises(InfrastructureError, match=f"HTTP {status}") as info:
        adapter.predict(TEXTS)
    assert f"fault: {status}" in str(info.value)  # the start of the body
    assert "every input" in str(info.value)
    assert fault_server.count == 1 and waits == []


def test_the_model_servers_own_500_is_retried_then_a_model_output_error(
    fault_server: FaultServer, waits: list[float],
) -> None:
    def model(inputs: list[Any]) -> list[int]:
        raise ValueError("bad input")

    fault_server.model = model
    adapter = HTTPAdapter(fault_server.url, retries=2)
    with pytest.raises(ModelOutputError, match="HTTP 500") as info:
        adapter.predict(TEXTS)
    assert "ValueError: bad input" in str(info.value)
    assert fault_server.count == 3


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_rejected_input_is_a_model_output_error_and_not_retried(
    fault_server: FaultServer, waits: list[float], status: int,
) -> None:
    fault_server.fail(status)
    with pytest.raises(ModelOutputError, match=f"HTTP {status}"):
        HTTPAdapter(fault_server.url, retries=3).predict(TEXTS)
    assert fault_server.count == 1


@pytest.mark.parametrize("how", ["reset", "close"])
def test_a_connection_dropped_without_an_answer_is_retried_then_an_infrastructure_error(
    fault_server: FaultServer, waits: list[float], how: str,
) -> None:
    fault_server.reset(rst=how == "reset")
    adapter = HTTPAdapter(fault_server.url, retries=2)
    with pytest.raises(InfrastructureError, match="after 3 attempts"):
        adapter.predict(TEXTS)
    assert fault_server.count == adapter.requests_made == 3


def test_a_connection_dropped_twice_then_answered_gives_the_answer(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.reset(first=2)
    adapter = HTTPAdapter(fault_server.url, retries=2)
    assert adapter.predict(TEXTS).labels.tolist() == EXPECTED
    assert adapter.requests_made == 3 and len(waits) == 2


def test_a_refused_connection_is_an_infrastructure_error(waits: list[float]) -> None:
    url = dead_url()
    adapter = HTTPAdapter(url, retries=2)
    with pytest.raises(InfrastructureError, match="after 3 attempts") as info:
        adapter.predict(TEXTS)
    assert url in str(info.value)
    assert adapter.requests_made == 3


def test_a_host_name_that_does_not_resolve_is_an_infrastructure_error(
    monkeypatch: pytest.MonkeyPatch, waits: list[float],
) -> None:
    def no_dns(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no real DNS in tests
    with pytest.raises(InfrastructureError, match="Name or service not known"):
        HTTPAdapter("http://model.invalid/predict", retries=1).predict(TEXTS)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"\xff\xfe\x00", b"[" * 100_000])
def test_a_body_that_is_not_json_is_a_model_output_error(body: bytes) -> None:
    with raw_server(200, body) as url, pytest.raises(ModelOutputError, match="not JSON"):
        HTTPAdapter(url).predict(TEXTS)


def test_an_answer_larger_than_the_cap_is_a_model_output_error_not_a_full_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A hostile or broken server can stream gigabytes a second on a fast network; reading
    # them all would kill the run. The cap is 256 MB; here it is lowered to 1,000 bytes.
    monkeypatch.setattr("robustcheck._http.MAX_BODY", 1000)
    body = b'{"predictions": [%s]}' % b",".join([b"0"] * 1000)
    with raw_server(200, body) as url, pytest.raises(ModelOutputError, match="than 1000 bytes"):
        HTTPAdapter(url).predict(TEXTS)


def test_a_retry_after_that_cannot_be_read_falls_back_to_the_backoff(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.rate_limit("soon", first=1)
    HTTPAdapter(fault_server.url, backoff=2.0).predict(TEXTS)
    assert len(waits) == 1 and 1.0 <= waits[0] <= 3.0


# -- deadlines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [False, True], ids=["body", "status line and headers"])
def test_a_drip_fed_answer_is_cut_off_at_the_timeout(
    fault_server: FaultServer, headers: bool,
) -> None:
    # One byte every 0.2 s, each well within the timeout: the answer would take ~6 s
    # (~24 s with its headers); only a deadline on the whole answer cuts it off.
    fault_server.drip(0.2, headers=headers)
    adapter = HTTPAdapter(fault_server.url, timeout=0.4, retries=3)
    started = time.monotonic()
    with pytest.raises(CallTimeout) as info:
        adapter.predict(TEXTS)
    assert time.monotonic() - started < 3  # generous: the bound is about 0.4 s
    assert fault_server.url in str(info.value) and "0.4 s" in str(info.value)
    assert adapter.requests_made == 1  # a slow answer is a finding, not retried


def test_a_server_that_never_answers_is_a_call_timeout_and_not_retried(
    fault_server: FaultServer,
) -> None:
    fault_server.hang()
    adapter = HTTPAdapter(fault_server.url, timeout=0.3, retries=3)
    with pytest.raises(CallTimeout, match=r"within 0\.3 s"):
        adapter.predict(TEXTS)
    assert isinstance(CallTimeout(), TimeoutError)
    assert adapter.requests_made == 1


def test_a_slow_answer_within_the_timeout_is_read_whole(fault_server: FaultServer) -> None:
    fault_server.drip(0.001)
    adapter = HTTPAdapter(fault_server.url, timeout=30)
    assert adapter.predict(TEXTS).labels.tolist() == EXPECTED


# -- what stays ---------------------------------------------------------------------------------


def test_user_and_password_in_the_url_are_sent_as_basic_auth_and_kept_out_of_messages(
    fault_server: FaultServer,
) -> None:
    url = fault_server.url.replace("http://", "http://ann:s%40cret@") + "?key=abc"
    adapter = HTTPAdapter(url)
    assert adapter.predict(TEXTS).labels.tolist() == EXPECTED
    seen = fault_server.seen[0]
    assert seen.headers["Authorization"] == "Basic YW5uOnNAY3JldA=="  # ann:s@cret
    assert seen.path == "/predict?key=abc"  # the query string is sent, only hidden
    assert "cret" not in repr(adapter) and "abc" not in str(adapter.describe())


def test_an_adapter_used_against_faults_still_pickles(
    fault_server: FaultServer, waits: list[float],
) -> None:
    fault_server.rate_limit(first=1)
    adapter = HTTPAdapter(fault_server.url)
    adapter.predict(TEXTS)
    clone = pickle.loads(pickle.dumps(adapter))
    assert clone.predict(TEXTS).labels.tolist() == EXPECTED
    assert clone.requests_made == 3


def test_max_retry_after_is_checked() -> None:
    with pytest.raises(robustcheck.errors.InvalidArgument, match="max_retry_after"):
        HTTPAdapter("http://127.0.0.1:9/", max_retry_after=-1)


@pytest.mark.parametrize("url", ["http://127.0.0.1:http/predict", "http://127.0.0.1:99999/",
                                 "http://:8000/predict"])
def test_a_url_without_a_usable_host_and_port_is_refused_when_the_adapter_is_made(
    url: str,
) -> None:
    with pytest.raises(robustcheck.errors.InvalidArgument, match="url") as info:
        HTTPAdapter(url)
    assert url in str(info.value)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    # an elliptic-curve key: made in milliseconds, where RSA 2048 takes about a second
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def over_tls(server: FaultServer, certificate: tuple[Path, Path]) -> str:
    """Make a FaultServer not yet started speak HTTPS; its https:// URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    # the handshake on the first read, in the handler's thread, so it cannot block accept()
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True,
                                               do_handshake_on_connect=False)
    return server.url.replace("http://", "https://")


def test_https_is_spoken_and_the_certificate_verified(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, waits: list[float],
) -> None:
    server = FaultServer()
    url = over_tls(server, certificate)
    with server:
        untrusting = HTTPAdapter(url, retries=3)
        with pytest.raises(InfrastructureError, match="CERTIFICATE_VERIFY_FAILED") as info:
            untrusting.predict(TEXTS)  # a self-signed certificate
        assert "SSL_CERT_FILE" in str(info.value)  # how to trust it
        assert untrusting.requests_made == 1 and waits == []  # the same on every attempt
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now trusted
        assert HTTPAdapter(url).predict(TEXTS).labels.tolist() == EXPECTED


def test_a_drip_fed_https_answer_is_cut_off_at_the_timeout(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    server = FaultServer()
    url = over_tls(server, certificate)
    with server:
        server.drip(0.2)  # the answer would take ~6 s
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            HTTPAdapter(url, timeout=0.4).predict(TEXTS)
        assert time.monotonic() - started < 3


# -- whole runs against an outage ----------------------------------------------------------------

RUN_TEXTS = [f"review number {i} was {'good' if i % 3 else 'bad'}" for i in range(64)]
RUN_LABELS = parity(RUN_TEXTS)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch, waits: list[float],
                quick_retries: None) -> list[Any]:
    """Every connection the run opens (one per HTTP request). The adapter's backoff is
    recorded, not slept, and the runner's is cut short: what these tests measure is when
    the runner gives up."""
    opened: list[Any] = []
    connect = socket.create_connection

    def counted(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", counted)
    return opened


def _assert_a_run_stops_early_as_an_outage(url: str, connections: list[Any]) -> None:
    started = time.monotonic()
    result = robustcheck.run(url, RUN_TEXTS, RUN_LABELS, perturbations=["case.upper"],
                             severities=[1.0], progress=False)
    assert time.monotonic() - started < 60
    assert result.complete is False
    assert result.stopped["kind"] == "outage"
    assert len(connections) <= 40  # 64 inputs: the old runner bisected into ~1,600 requests


def test_a_run_against_a_dead_server_stops_early_as_an_outage(connections: list[Any]) -> None:
    _assert_a_run_stops_early_as_an_outage(dead_url(), connections)


def test_a_run_against_a_server_answering_503_stops_early_as_an_outage(
    fault_server: FaultServer, connections: list[Any],
) -> None:
    fault_server.fail(503)
    _assert_a_run_stops_early_as_an_outage(fault_server.url, connections)


def test_a_run_whose_server_dies_midway_stops_early_as_an_outage(
    fault_server: FaultServer, connections: list[Any],
) -> None:
    fault_server.die_after(4)  # the two clean passes are answered, then it dies
    _assert_a_run_stops_early_as_an_outage(fault_server.url, connections)
    assert fault_server.answered == 4
