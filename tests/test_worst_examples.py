"""The worst examples of a perturbation's rows: picked from the front of their order
without sorting every failing sample, the same as sorting them all."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robustcheck._assemble import EXAMPLES_PER_PERTURBATION, _worst
from robustcheck._task_base import Outcomes


def sorted_in_full(rows: list[Any], clean: Outcomes, minimal: dict[str, Any]) -> list[Any]:
    """The definition: every failing sample of every row in the order (not crashed,
    severity, no minimal counterexample, -confidence drop, index), each index once."""
    entries = []
    for row in rows:
        for i in np.flatnonzero(row.failed).tolist():
            drop = float(clean.score[i] - np.float64(row.score_of_clean[i]))
            drop = 0.0 if np.isnan(drop) else drop
            entries.append((not row.crashed[i], row.severity,
                            str(i) not in minimal.get(row.key, {}), -drop, i, row))
    entries.sort(key=lambda e: e[:5])
    chosen, seen = [], set()
    for e in entries:
        if e[4] not in seen:
            seen.add(e[4])
            chosen.append((e[0], e[1], e[3], e[4], e[5]))
    return chosen[:EXAMPLES_PER_PERTURBATION]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 60), st.lists(st.sampled_from([0.25, 0.5, 1.0]), min_size=1,
                                    max_size=4), st.data())
def test_the_worst_examples_are_those_of_sorting_every_failing_sample(
        n: int, severities: list[float], data: st.DataObject) -> None:
    flags = st.lists(st.booleans(), min_size=n, max_size=n).map(np.array)
    # few distinct scores, NaN among them: ties on every key but the index
    scores = st.lists(st.sampled_from([0.1, 0.5, 0.9, float("nan")]), min_size=n,
                      max_size=n).map(lambda v: np.array(v, dtype=np.float32))
    rows = [SimpleNamespace(failed=data.draw(flags), crashed=data.draw(flags),
                            score_of_clean=data.draw(scores), severity=s, key=f"p@{s}/{k}",
                            extra={}) for k, s in enumerate(severities)]
    clean = Outcomes(np.zeros(n, np.int32), data.draw(scores).astype(float))
    minimal = {row.key: {str(i): {} for i in data.draw(st.sets(st.integers(0, n - 1)))}
               for row in rows}
    got = _worst(rows, clean, minimal)  # type: ignore[arg-type]
    want = sorted_in_full(rows, clean, minimal)
    assert [(c, s, d, i, id(r)) for c, s, d, i, r in got] == \
        [(c, s, d, i, id(r)) for c, s, d, i, r in want]
