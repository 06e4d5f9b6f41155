"""Settings for the whole test session.

OpenMP (scikit-learn's gradient boosting) and BLAS start a thread per core for every call.
The tests make thousands of tiny calls (one-row queries of attacks, crash isolation), where
starting and synchronising those threads costs far more than the work, and much more again
on a machine whose cores are busy. One thread each, unless the environment says otherwise;
set here, before any test module imports scikit-learn or numpy, so that subprocesses (the
examples, pytester sessions, process pools and Dask workers) inherit it too.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


_FROZEN_FOR: set[Path] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """When the first test of a module is set up (before its fixtures), collect the garbage
    and move everything still alive out of the garbage collector's sight (``gc.freeze``).

    What is alive then (the imported libraries, the test modules and their parameters, the
    session's fixtures and caches) lives until the session ends anyway, yet every full
    collection walked it again: Python's own, and the explicit ``gc.collect()`` of the
    memory tests in test_sharding.py, which cost almost a second each in a whole-suite run
    against tens of milliseconds alone. Objects the tests and their module fixtures make
    come later and are collected as before. Once per module and process, so that xdist
    handing a worker tests of several modules in turn does not collect again and again.
    """
    if item.path not in _FROZEN_FOR:
        _FROZEN_FOR.add(item.path)
        gc.collect()
        gc.freeze()


# -- shared by several test modules ------------------------------------------------------


def without_timings(result: Any) -> str:
    """A result's JSON (of a RunResult, or the JSON text itself) without its wall-clock
    timings, keys sorted: equal for runs that computed the same numbers."""
    d = json.loads(result if isinstance(result, str) else result.to_json())
    d.pop("timings")
    return json.dumps(d, sort_keys=True)


@pytest.fixture(scope="session")
def word_model() -> Any:
    """The demo's word-level sentiment model (TF-IDF + logistic regression on three reviews
    in four of the shipped data set), trained once for the session; tests only query it."""
    from robustcheck import demo

    return demo.word_model()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's backoff before retrying a call that failed for infrastructure reasons
    (0.5 s, then 1 s), cut to 10 ms: tests of outages check when and why a run gives up,
    not how long it waits in between."""
    from robustcheck import _calls

    monkeypatch.setattr(_calls, "INFRA_BACKOFF", 0.01)


# A keyword model importable as ``tiny_model:model`` (case-sensitive: case.upper flips the
# positive texts), for the command line (--model) and for pytester sessions.
TINY_MODEL = '''
def model(batch):
    return ["pos" if "good" in t else "neg" for t in batch]
'''


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding ``tiny_model.py`` (on sys.path) and ``data.csv``: 24 texts with
    a ``text`` and a ``label`` column, half of them positive ("good ...")."""
    (tmp_path / "tiny_model.py").write_text(TINY_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tiny_model", raising=False)  # another test's copy
    rows = ["text,label"] + [f"{w} food {i},{'pos' if w == 'good' else 'neg'}"
                             for i in range(12) for w in ("good", "bad")]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def run_tiny(project: Path, *extra: str) -> int:
    """``robustcheck run`` of the tiny model on ``project``'s data under case.upper@1."""
    from robustcheck.cli import main

    return main(["run", "--model", "tiny_model:model", "--data", str(project / "data.csv"),
                 "--input-column", "text", "--label-column", "label", "-q",
                 "--perturbations", "case.upper", "--severities", "1", *extra])


def one_robustcheck_test(pytester: pytest.Pytester) -> None:
    """A pytester project with one test that records one result through the fixture."""
    pytester.makepyfile(tiny_model=TINY_MODEL)
    pytester.makepyfile(test_robust=textwrap.dedent('''
        from tiny_model import model

        def test_one(robustcheck):
            robustcheck.run(model, ["good", "bad"] * 10, ["pos", "neg"] * 10,
                            perturbations=["case.upper"])
    '''))
