"""An HTTP model in a run: several units are in flight at once, so a suite of small units
keeps the adapter's connections busy, and never more than ``concurrency`` requests are
open; the result is the same as one unit at a time."""

from __future__ import annotations

import json
import threading
import time

from faultserver import FaultServer

import robustcheck
from robustcheck.adapters import HTTPAdapter

TEXTS = [f"the room was {w} {i}" for i, w in enumerate(["good", "bad", "fine", "cold"] * 8)]
SUITE = ["case.upper", "case.lower", "punctuation", "typo.swap", "whitespace"]


class Gauge:
    """The model behind the server: counts requests open at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __call__(self, inputs: list[str]) -> list[int]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.03)
        with self.lock:
            self.now -= 1
        return [len(t) % 2 for t in inputs]


def audit(url: str, concurrency: int) -> robustcheck.RunResult:
    adapter = HTTPAdapter(url, batch_size=32, concurrency=concurrency, retries=0)
    return robustcheck.run(adapter, TEXTS, perturbations=SUITE, severities=(1.0,),
                           progress=False, name="m")


def without_timings(result: robustcheck.RunResult) -> str:
    d = json.loads(result.to_json())
    d.pop("timings")
    d["model"].pop("concurrency")
    return json.dumps(d, sort_keys=True)


def test_units_share_the_connections_and_never_exceed_them() -> None:
    gauge = Gauge()
    with FaultServer(model=gauge) as server:
        # every unit fits one request of 32: one unit at a time would keep 1 open
        parallel = audit(server.url, concurrency=3)
        assert 1 < gauge.most <= 3
        gauge.most = 0
        serial = audit(server.url, concurrency=1)
        assert gauge.most == 1
    assert without_timings(parallel) == without_timings(serial)
