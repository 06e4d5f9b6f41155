"""Calling the model: one call under a deadline, and a batch predicted with its failures
isolated, told apart from outages.

Two kinds of failure come back from a model call, and they must never be mixed up:

* a **crash** is the model failing on its input (its own exception, an answer robustcheck
  cannot read, no answer within ``timeout``): a finding, isolated down to the input and
  recorded;
* an **infrastructure failure** (:func:`robustcheck.errors.is_infrastructure`: the
  endpoint is down, rate limited, misconfigured; a worker process died) says nothing
  about the input. It is retried a few times with backoff; when it persists the run
  stops (:class:`Stop`) and returns what it finished, marked incomplete. Scoring it as
  a crash would turn an outage into "the model is brittle".

A call past ``timeout`` runs on in its thread (Python cannot kill a thread); such
threads are counted, and when :data:`MAX_HUNG_CALLS` of them are still running the
model is declared hung and the run stops, instead of piling up threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._adapter_base import Adapter
from ._arrays import Compact, expanded
from ._metricinfo import MESSAGE_LIMIT
from ._outcomes import Crash
from ._prediction_data import Prediction
from .errors import CallTimeout, ModelOutputError, is_infrastructure
from .modalities import Dataset

__all__ = ["Answers", "Stop", "call_model", "describe_error", "predict_isolating"]

DENSE_CHUNK = 16
"""Chunks this small whose halves both failed twice in a row are tried input by input."""
INFRA_RETRIES = 2
"""Retries of a call that failed for infrastructure reasons, after the adapter's own."""
INFRA_BACKOFF = 0.5
"""Seconds before the first such retry; doubled for each further one."""
MAX_HUNG_CALLS = 4
"""Timed-out calls still running at once after which the model counts as hung..."""
HUNG_GRACE = 5.0
"""...unless the oldest of them finishes within this many seconds more."""


class Stop(Exception):
    """The run cannot go on: ``kind`` is ``"outage"``, ``"hung"``, ``"worker"`` or
    ``"budget"`` (a generation endpoint's ``max_calls`` or ``max_cost`` is spent)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


def describe_error(error: BaseException) -> str:
    """``str(error)`` (or its repr), safe against an exception whose ``__str__`` raises."""
    for render in (str, repr):
        try:
            text = render(error)
        except Exception:  # a hostile or broken __str__ must not abort the run
            continue
        if text:
            return text
    return f"<{type(error).__name__} that cannot be printed>"


def _short(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- one call ---------------------------------------------------------------------------

_hung: list[threading.Thread] = []
_hung_lock = threading.Lock()


def hung_calls() -> int:
    """How many timed-out calls are still running in this process."""
    with _hung_lock:
        _hung[:] = [t for t in _hung if t.is_alive()]
        return len(_hung)


def _wait_for_hung() -> int:
    """With :data:`MAX_HUNG_CALLS` timed-out calls still running, give the oldest up to
    :data:`HUNG_GRACE` seconds to finish (a slow model catches up; a hung one does not);
    how many are still running then."""
    still = hung_calls()
    if still >= MAX_HUNG_CALLS:
        with _hung_lock:
            oldest = _hung[0] if _hung else None
        if oldest is not None:
            oldest.join(HUNG_GRACE)
        still = hung_calls()
    return still


def call_model(adapter: Adapter, batch: Any, timeout: float | None
               ) -> tuple[Prediction, float]:
    """``adapter.predict(batch)`` and its wall time. Past ``timeout`` seconds per input
    the call is abandoned (its thread finishes on its own) and :class:`CallTimeout` is
    raised; :class:`Stop` when too many abandoned calls are still running."""
    start = time.perf_counter()
    if timeout is None:
        pred = adapter.predict(batch)
    else:
        still = _wait_for_hung()
        if still >= MAX_HUNG_CALLS:
            raise Stop("hung", f"the model has {still} calls still running past the timeout "
                               f"({timeout:g} s per input) after {HUNG_GRACE:g} s more; "
                               "stopped rather than pile up more")
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["pred"] = adapter.predict(batch)
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=target, daemon=True, name="robustcheck-call")
        worker.start()
        worker.join(timeout * len(batch))
        if worker.is_alive():
            with _hung_lock:
                _hung.append(worker)
            raise CallTimeout(f"no answer within {timeout:g} s per input "
                              f"({len(batch)} inputs)")
        if "error" in box:
            raise box["error"]
        pred = box["pred"]
    elapsed = time.perf_counter() - start
    if len(pred) != len(batch):
        raise ModelOutputError(f"the model returned {len(pred)} predictions for "
                               f"{len(batch)} inputs")
    return pred, elapsed


def call_with_retries(adapter: Adapter, batch: Any, timeout: float | None,
                      sleep: Callable[[float], Any] = time.sleep) -> tuple[Prediction, float]:
    """:func:`call_model`, retrying infrastructure failures; :class:`Stop` when they
    persist. A model's own exception is raised as it is (KeyboardInterrupt too)."""
    for attempt in range(INFRA_RETRIES + 1):
        try:
            return call_model(adapter, batch, timeout)
        except Stop:
            raise
        except BaseException as exc:
            if not is_infrastructure(exc):
                raise
            if attempt == INFRA_RETRIES:
                raise Stop("outage", f"the model could not be reached after {attempt + 1} "
                                     f"attempts: {type(exc).__name__}: "
                                     f"{_short(describe_error(exc), 300)}") from exc
            sleep(INFRA_BACKOFF * 2 ** attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


# -- a batch, failures isolated -----------------------------------------------------------


@dataclass
class Answers:
    """What :func:`predict_isolating` got back."""

    positions: np.ndarray          # answered positions, in answer order
    prediction: Prediction | None  # their predictions, same order
    seconds: np.ndarray            # per-input seconds (call time / inputs in the call)
    crashes: list[Crash]
    calls: list[tuple[int, float]]  # (inputs, seconds) of every successful call
    sent: int = 0                   # inputs sent, in failed calls too (an attack's queries)

    def __getstate__(self) -> dict[str, Any]:
        # pickled (a shard's answers on their way from a worker): positions in the
        # smallest integer dtype, the seconds as runs (a call's inputs share its time)
        return {**self.__dict__, "positions": Compact(self.positions),
                "seconds": Compact(self.seconds)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(expanded(state))


class _OutOfBudget(Exception):
    pass


def _without_frames(error: BaseException) -> BaseException:
    """``error`` with no traceback, nor any exception it chains: only its type and
    message are kept, and a traceback holds the frames it passed through, whose callers
    hold the error (a reference cycle keeping a part's inputs alive until Python's
    cyclic garbage collector runs)."""
    seen: set[int] = set()
    left: list[BaseException | None] = [error]
    while left:
        link = left.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        link.__traceback__ = None
        left += [link.__cause__, link.__context__]
    return error


def _isolate(call: Callable[[np.ndarray], BaseException | None],
             crash: Callable[..., None], chunk: np.ndarray, error: BaseException,
             parent_split_both: bool) -> None:
    """Find the failing inputs of a chunk that failed with ``error``. Bisection costs
    about 2 log2(n) calls per failing input; when failures are dense (both halves
    failed at two levels in a row) a small chunk's inputs are tried alone instead: n
    calls, not 2n, for a model that fails on everything. When both halves of a
    timed-out chunk time out too, the model is slow on all of it: each input is
    recorded as timed out without waiting for more calls.

    A module-level function, not a closure of :func:`predict_isolating`: a closure that
    calls itself is a reference cycle, which kept each part's perturbed inputs and
    predictions alive until Python's cyclic garbage collector ran (29 MB at the end of
    a 30,000-text audit, with the tracebacks below, and 26 MB more at its peak)."""
    if len(chunk) == 1:
        crash(int(chunk[0]), error)
        return
    half = len(chunk) // 2
    halves = [(h, call(h)) for h in (chunk[:half], chunk[half:])]
    failed = [(h, e) for h, e in halves if e is not None]
    both = len(failed) == 2
    if both and all(isinstance(e, CallTimeout) for _, e in failed):
        for h, e in failed:
            for position in h.tolist():
                crash(position, e, " (every call on this batch timed out; not isolated "
                                   "further)")
        return
    for h, e in failed:
        if both and parent_split_both and len(h) <= DENSE_CHUNK:
            for position in h.tolist():
                alone = call(np.array([position], dtype=h.dtype))
                if alone is not None:
                    crash(position, alone)
        else:
            _isolate(call, crash, h, e, both)


def predict_isolating(adapter: Adapter, data: Dataset, positions: np.ndarray, batch_size: int,
                      timeout: float | None, budget: int | None = None) -> Answers:
    """Predict ``data`` at ``positions`` in batches, isolating failures by bisection.

    A model error never escapes: an input that fails alone is a :class:`Crash`. An
    outage or a hung model raises :class:`Stop`; KeyboardInterrupt escapes (Ctrl-C).
    ``budget`` caps the inputs sent (isolation's re-sends included): past it nothing
    more is sent, and the positions not yet answered are neither answered nor crashed.
    """
    answered: list[np.ndarray] = []
    parts: list[Prediction] = []
    seconds: list[np.ndarray] = []
    crashes: list[Crash] = []
    calls: list[tuple[int, float]] = []
    sent = [0]

    def call(chunk: np.ndarray) -> BaseException | None:
        """One model call; the error it raised, or None."""
        if budget is not None and sent[0] + len(chunk) > budget:
            raise _OutOfBudget
        sent[0] += len(chunk)
        try:
            pred, elapsed = call_with_retries(adapter, data.take(chunk), timeout)
        except (KeyboardInterrupt, Stop):
            raise
        except BaseException as exc:  # SystemExit from a model is its crash too
            return _without_frames(exc)
        answered.append(chunk)
        parts.append(pred)
        seconds.append(np.full(len(chunk), elapsed / len(chunk)))
        calls.append((len(chunk), elapsed))
        return None

    def crash(position: int, error: BaseException, note: str = "") -> None:
        crashes.append(Crash(position, type(error).__name__,
                             _short(describe_error(error) + note)))

    try:
        for start in range(0, len(positions), batch_size):
            chunk = positions[start:start + batch_size]
            error = call(chunk)
            if error is not None:
                _isolate(call, crash, chunk, error, False)
    except _OutOfBudget:
        pass
    if not parts:
        return Answers(np.zeros(0, dtype=np.int64), None, np.zeros(0), crashes, calls, sent[0])
    return Answers(np.concatenate(answered), Prediction.concat(parts),
                   np.concatenate(seconds), crashes, calls, sent[0])
