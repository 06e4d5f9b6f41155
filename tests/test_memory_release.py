"""A unit's perturbed inputs, predictions and crashes are freed as soon as the unit is
done with them, by reference counting alone (issue 17, memory): nothing waits for Python's
cyclic garbage collector, which runs rarely on a big audit (at the end of a 30,000-text
audit it had 20 MB of parts to free)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from robustcheck._calls import _without_frames, predict_isolating
from robustcheck.adapters import adapt
from robustcheck.modalities import TEXT, Dataset


@pytest.mark.parametrize("crashing", [False, True], ids=["answers", "isolates crashes"])
def test_a_part_s_inputs_are_freed_without_the_cycle_collector(crashing: bool) -> None:
    """``predict_isolating`` defined its bisection as a closure that called itself, and
    kept each crash's exception with its traceback (the frames it passed through, whose
    callers hold the exception): two reference cycles holding the part's perturbed
    inputs and predictions until the cyclic garbage collector ran."""

    def model(batch: list[str]) -> list[int]:
        if crashing and any("!" in t for t in batch):
            raise ValueError("a '!'")
        return [len(t) % 2 for t in batch]

    texts = [f"text {i}" + ("!" if i % 7 == 0 else "") for i in range(40)]
    data = Dataset(list(texts), None, TEXT, "")
    alive = weakref.ref(data)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        got = predict_isolating(adapt(model), data, np.arange(40), 8, None)
        del data
        assert alive() is None
    finally:
        if was_enabled:
            gc.enable()
    assert len(got.crashes) == (6 if crashing else 0)


def test_no_exception_a_crash_chains_keeps_its_traceback() -> None:
    # a crash's error may have both a cause (raise ... from) and a context (raised while
    # handling another): every traceback goes, or its frames keep the part alive
    try:
        raise OSError("cause")
    except OSError as raised:
        cause = raised
    try:
        try:
            raise KeyError("context")
        except KeyError:
            raise ValueError("outer") from cause
    except ValueError as raised:
        caught = raised
    chain = (caught, cause, caught.__context__)
    assert isinstance(chain[2], KeyError)
    assert all(e is not None and e.__traceback__ is not None for e in chain)
    assert _without_frames(caught) is caught
    assert all(e is not None and e.__traceback__ is None for e in chain)
