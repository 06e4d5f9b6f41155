"""The scale benchmark's memory reading (benchmarks/bench_scale.py, issue: scale): a
run's memory is its own peak over the RSS before it, even when an earlier peak (the
imports, building the data) was higher."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def bench_scale(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module("bench_scale")
    yield module
    sys.modules.pop("bench_scale", None)
    sys.modules.pop("bench_perturbations", None)


def _touch(mb: int) -> np.ndarray:
    block = np.empty(mb * 2**20, dtype=np.uint8)
    block[::4096] = 1  # every page resident
    return block


def test_a_run_under_an_earlier_peak_still_shows_its_own_memory(bench_scale):
    _touch(150)  # an earlier, higher peak, freed at once (a large array is unmapped)
    base, reset = bench_scale.reset_peak()
    if not reset:
        pytest.skip("this system cannot reset a process's peak RSS (/proc/self/clear_refs)")
    held = _touch(50)  # the "run": well under the earlier peak
    run_mb = bench_scale.maxrss_mb() - base
    del held
    assert 45 <= run_mb <= 120, run_mb
