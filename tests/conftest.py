"""Settings for the whole test session.

OpenMP (scikit-learn's gradient boosting) and BLAS start a thread per core for every call.
The tests make thousands of tiny calls (one-row queries of attacks, crash isolation), where
starting and synchronising those threads costs far more than the work, and much more again
on a machine whose cores are busy. One thread each, unless the environment says otherwise;
set here, before any test module imports scikit-learn or numpy, so that subprocesses (the
examples, pytester sessions, process pools and Dask workers) inherit it too.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


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
