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


def test_the_text_figure_keeps_the_runs_peak_not_the_childs_whole_one(bench_scale, monkeypatch,
                                                                     capsys):
    # the 600 MB target is the audit's: the text child measures the run's peak, and then
    # perturbs alone (the floor holds length.repeat's 180 MB of output at severity 1)
    # and runs on Dask; the child's peak at its end is not the run's
    import argparse
    import json

    def child(args):
        held = _touch(80)  # after the run: the floor's output, say
        del held
        return {"rss_peak_mb": 1.0}

    monkeypatch.setitem(bench_scale.CHILDREN, "text", child)
    monkeypatch.setitem(bench_scale.CHILDREN, "hgb", lambda args: {})
    for kind, want in (("text", 1.0), ("hgb", None)):
        assert bench_scale.child_main(argparse.Namespace(child=kind)) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("RESULT "))
        peak = json.loads(line[len("RESULT "):])["rss_peak_mb"]
        assert peak == want if want is not None else peak > 80  # a child without its own
