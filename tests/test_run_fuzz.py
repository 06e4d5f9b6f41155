"""Property test over ``robustcheck.run``'s public arguments: whatever a user (or a
hostile model) passes, the outcome is a valid result or a RobustcheckError, never another
exception and never a hang (issue 10)."""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import robustcheck
from robustcheck import _calls
from robustcheck.errors import RobustcheckError

TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=30)


def behaviour(kind: str, texts: Any) -> Any:
    """A model that does one odd thing for some inputs."""
    n = len(texts)
    first = str(texts[0]) if n else ""
    odd = len(first) % 3 == 0
    if kind == "ok":
        return [len(str(t)) % 2 for t in (texts if not hasattr(texts, "iterrows") else
                                          range(n))]
    if kind == "raises" and odd:
        raise ValueError(first)
    if kind == "system_exit" and odd:
        raise SystemExit(2)
    if kind == "wrong_length":
        return [0] * (n + 1)
    if kind == "none":
        return None
    if kind == "nan_scores":
        return np.full((n, 2), np.nan)
    if kind == "mixed_types":
        return [0 if i % 2 else "zero" for i in range(n)]
    if kind == "connection" and odd:
        raise ConnectionResetError(104, "reset")
    if kind == "floats":
        return [0.5 + i for i in range(n)]
    return [0] * n


MODELS = st.sampled_from(["ok", "raises", "system_exit", "wrong_length", "none", "nan_scores",
                          "mixed_types", "connection", "floats"])

INPUTS = st.one_of(
    st.lists(TEXT, min_size=0, max_size=8),
    st.lists(st.one_of(TEXT, st.integers(), st.none(), st.floats()), max_size=5),
    st.dictionaries(TEXT, TEXT, max_size=3),
    st.builds(lambda a, b: pd.DataFrame({"a": a, "b": b}),
              st.lists(st.floats(allow_nan=True), min_size=3, max_size=3),
              st.lists(st.sampled_from(["x", "y", None]), min_size=3, max_size=3)),
    st.just("a single string"),
    st.none(),
    st.integers(),
)
PERTURBATIONS = st.one_of(
    st.sampled_from(["text", "tabular", "case.upper", "typo", "missing.nan", "nope", ""]),
    st.lists(st.sampled_from(["case.upper", "typo.keyboard", "missing.nan", "format.percent",
                              "attack.text", "case.uper"]), max_size=2),
    st.integers(), st.none(),
)
SEVERITIES = st.one_of(st.lists(st.floats(allow_nan=True), max_size=3),
                       st.sampled_from([(1.0,), (0.5, 1.0), 0.5, "1", (), (0,)]))


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(model=MODELS, inputs=INPUTS, labels=st.one_of(
           st.none(), st.lists(st.one_of(st.integers(0, 1), st.floats(), st.text(max_size=2)),
                               max_size=8), st.just("b")),
       perturbations=PERTURBATIONS, severities=SEVERITIES,
       seed=st.one_of(st.integers(-2, 3), st.booleans(), st.floats(0, 2)),
       batch_size=st.one_of(st.integers(-1, 4), st.just(2.5)),
       timeout=st.one_of(st.none(), st.sampled_from([5.0, 0.0, -1.0, math.nan, math.inf])))
def test_any_arguments_give_a_result_or_a_robustcheck_error(
        model, inputs, labels, perturbations, severities, seed, batch_size, timeout):
    _calls.INFRA_BACKOFF = 0.0  # a blip is retried without sleeping here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = robustcheck.run(
                lambda xs: behaviour(model, xs), inputs, labels, perturbations=perturbations,
                severities=severities, seed=seed, batch_size=batch_size, timeout=timeout,
                progress=False)
    except RobustcheckError:
        return
    finally:
        _calls.INFRA_BACKOFF = 0.5
    assert isinstance(result, robustcheck.RunResult)
    assert result.complete == (result.stopped is None)
    loaded = robustcheck.RunResult.from_dict(json.loads(result.to_json()))
    assert loaded.table() == result.table()
    try:
        result.check(max_flip_rate=0.5, max_crash_rate=0.5)
    except AssertionError as exc:
        assert str(exc).startswith("robustness check failed")


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(model=MODELS, texts=st.lists(TEXT, min_size=1, max_size=10),
       labelled=st.booleans(),
       perturbations=st.lists(st.sampled_from(["case.upper", "typo.keyboard", "emoji.append",
                                               "whitespace.zero_width", "unicode.fullwidth",
                                               "length.truncate"]), min_size=1, max_size=3),
       batch_size=st.integers(1, 4))
def test_hostile_models_on_valid_arguments_give_a_result_that_round_trips(
        model, texts, labelled, perturbations, batch_size):
    labels = [len(t) % 2 for t in texts] if labelled else None
    _calls.INFRA_BACKOFF = 0.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = robustcheck.run(lambda xs: behaviour(model, xs), texts, labels,
                                     perturbations=perturbations, severities=(0.5, 1.0),
                                     batch_size=batch_size, progress=False)
    except RobustcheckError:
        return
    finally:
        _calls.INFRA_BACKOFF = 0.5
    text = result.to_json()
    loaded = robustcheck.RunResult.from_dict(json.loads(text))
    assert loaded.to_json() == text
    assert robustcheck.compare(result, loaded).regressions == []
