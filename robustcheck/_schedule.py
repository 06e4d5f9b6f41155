"""Running the units of an audit: in this process one after the other, or on any
``concurrent.futures`` executor as perturbations x shards.

On an executor each perturbation x severity is split into shards of ``shard_size``
samples, so the workers share one big unit; a task is one shard of one perturbation at
all its severities (:func:`robustcheck._units.evaluate_parts`), which share what the
perturbation finds in the shard before it draws. When every shard of a unit is back, the
unit is combined
(:func:`robustcheck._units.combine`), which may ask for a few more inputs (a shard that
stopped at its probes while the unit as a whole is not a systematic crash); those go out
as tasks too. Each finished unit is handed to ``add`` at once and dropped, so memory
holds the shards in flight, not every unit's answers.
"""

from __future__ import annotations

import numbers
import queue
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Any

import numpy as np

from ._calls import Stop, describe_error
from ._outcomes import UnitOutcome
from ._units import Part, ask, combine, evaluate_parts, shards
from .adapters import Adapter
from .attack import Attack
from .errors import InvalidArgument, is_infrastructure
from .modalities import Dataset

__all__ = ["SHARD_SIZE", "check_shard_size", "run_units"]

SHARD_SIZE = 50_000
"""Samples per shard on an executor, by default."""


def check_shard_size(value: Any) -> int | None:
    """None (the default) or a positive integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidArgument(f"shard_size must be a positive integer or None, got {value!r}; "
                              f"e.g. shard_size=10000 (samples per task on an executor)")
    return int(value)


def run_units(units: list[tuple[Any, float]], adapter: Adapter, data: Dataset, seed: int,
              batch_size: int, timeout: float | None, executor: Executor | None,
              bar: Callable[[int, str], Any], minimal: bool, shard_size: int | None,
              add: Callable[[int, UnitOutcome], Any],
              evaluate_unit: Callable[..., UnitOutcome]) -> dict[str, str] | None:
    """Run every unit, handing each finished one to ``add(index, outcome)``; why the run
    stopped early (None when it did not): Ctrl-C, an outage, a hung model or a dead
    worker. The units finished before a stop are kept. ``evaluate_unit(adapter, data, p,
    severity, seed, batch_size, timeout, minimal)`` evaluates a whole unit (a module-level
    function: it is sent to workers for attacks, which are not sharded)."""
    done = 0
    stopped = None
    pool: _Pool | None = None
    try:
        if executor is None:
            for i, (p, s) in enumerate(units):
                add(i, evaluate_unit(adapter, data, p, s, seed, batch_size, timeout, minimal))
                done += 1
                bar(done, f"{p.name}@{s:g}")
        else:
            pool = _Pool(executor, units, adapter, data, seed, batch_size, timeout, minimal,
                         SHARD_SIZE if shard_size is None else shard_size, evaluate_unit)
            for i, outcome in pool.results():
                add(i, outcome)
                done += 1
                p, s = units[i]
                bar(done, f"{p.name}@{s:g}")
    except KeyboardInterrupt:
        stopped = _stop("interrupted", "interrupted (Ctrl-C)")
    except Stop as exc:
        stopped = _stop(exc.kind, exc.message)
    except Exception as exc:
        if not is_infrastructure(exc):
            raise
        worker = isinstance(exc, BrokenExecutor) or type(exc).__name__ == "KilledWorker"
        what = "a worker process died" if worker else "the model could not be reached"
        stopped = _stop("worker" if worker else "outage",
                        f"{what} ({type(exc).__name__}: {describe_error(exc)[:300]})")
    finally:
        bar(-1, "")
    if stopped is not None and pool is not None:
        for i, outcome in pool.salvage():  # units other workers finished are kept
            add(i, outcome)
            done += 1
    if stopped is not None:
        stopped["message"] += f"; {done} of {len(units)} units finished"
    return stopped


def _stop(kind: str, message: str) -> dict[str, str]:
    return {"kind": kind, "message": message}


class _Pool:
    """The tasks of a run on an executor, and what came back of each unit so far."""

    def __init__(self, executor: Executor, units: list[tuple[Any, float]], adapter: Adapter,
                 data: Dataset, seed: int, batch_size: int, timeout: float | None,
                 minimal: bool, shard_size: int, evaluate_unit: Callable[..., Any]) -> None:
        self.executor, self.units, self.adapter = executor, units, adapter
        self.seed, self.batch_size, self.timeout = seed, batch_size, timeout
        self.minimal, self.shard_size = minimal, shard_size
        self.data: Any = _shared(executor, data)
        self.n = len(data)
        self.futures: dict[Future[Any], tuple[str, int, int]] = {}
        self.finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self.parts: dict[int, dict[int, Part]] = {}
        self.extra: dict[int, list[Any]] = {}
        self.asking: dict[int, int] = {}
        self.spans = shards(self.n, shard_size)
        self.stopping = False
        # the units of each perturbation (one per severity), in the order of ``units``
        self.groups: list[list[int]] = []
        group_of: dict[int, int] = {}
        for i, (p, s) in enumerate(units):
            if isinstance(p, Attack):  # an attack runs on the whole data set
                self._submit(("unit", i, 0), evaluate_unit, adapter, self.data, p, s, seed,
                             batch_size, timeout, minimal)
                continue
            self.parts[i] = {}
            g = group_of.setdefault(id(p), len(self.groups))
            if g == len(self.groups):
                self.groups.append([])
            self.groups[g].append(i)
        for g, members in enumerate(self.groups):
            p = units[members[0]][0]
            for j, (start, stop) in enumerate(self.spans):
                self._submit(("parts", g, j), evaluate_parts, adapter, self.data, p,
                             [units[i][1] for i in members], seed, batch_size, timeout,
                             start, stop)

    def _submit(self, tag: tuple[str, int, int], fn: Callable[..., Any], *args: Any) -> None:
        future = self.executor.submit(fn, *args)
        self.futures[future] = tag
        future.add_done_callback(self.finished.put)

    def results(self) -> Any:
        """``(unit index, outcome)`` of each unit, as units finish."""
        # each future reports itself when done: waiting on every pending future at each
        # wake-up (``concurrent.futures.wait``) installs and removes a waiter per pending
        # future, the tasks squared, in the calling process that shares the cores
        while self.futures:
            try:
                future = self.finished.get(timeout=0.5)  # a timeout: Ctrl-C is seen
            except queue.Empty:
                continue
            tag = self.futures.pop(future, None)
            if tag is None:
                continue
            yield from self._take(tag, future.result())

    def _take(self, tag: tuple[str, int, int], value: Any) -> list[tuple[int, UnitOutcome]]:
        """The units a task's result finishes (none, one, or a perturbation's several)."""
        if tag[0] == "unit":
            return [(tag[1], value)]
        return [got for i in self._record(tag, value) if (got := self._finish(i)) is not None]

    def _record(self, tag: tuple[str, int, int], value: Any) -> list[int]:
        """Keep what a shard task or an :func:`ask` brought; the units it was for."""
        kind, i, j = tag
        if kind == "parts":
            for unit, part in zip(self.groups[i], value):
                self.parts[unit][j] = part
            return self.groups[i]
        self.extra.setdefault(i, []).append(value)
        self.asking[i] -= 1
        return [i]

    def _finish(self, i: int) -> tuple[int, UnitOutcome] | None:
        """Unit ``i`` combined, once every shard and every input asked again is back:
        None while some are out (asking for the inputs still missing, if need be)."""
        if len(self.parts[i]) < len(self.spans) or self.asking.get(i, 0):
            return None
        p, s = self.units[i]
        parts = [self.parts[i][k] for k in range(len(self.spans))]
        found = combine(p.name, s, self.seed, parts, self.extra.get(i, []))
        if isinstance(found, UnitOutcome):
            del self.parts[i]
            self.extra.pop(i, None)
            return i, found
        if self.stopping:  # no new task after a stop: the unit is not finished
            return None
        chunks = [found[k:k + self.shard_size] for k in range(0, len(found), self.shard_size)]
        self.asking[i] = len(chunks)
        for k, positions in enumerate(chunks):
            self._submit(("ask", i, k), ask, self.adapter, self.data, p, s, self.seed,
                         self.batch_size, self.timeout, np.asarray(positions))
        return None

    def salvage(self) -> list[tuple[int, UnitOutcome]]:
        """After a stop: cancel what has not started; the units whose every task had
        finished without error, combined."""
        self.stopping = True
        for future in self.futures:
            future.cancel()
        out = []
        for future, tag in sorted(self.futures.items(), key=lambda item: item[1]):
            if not future.done() or future.cancelled() or future.exception() is not None:
                continue
            if tag[0] == "unit":
                out.append((tag[1], future.result()))
                continue
            for i in self._record(tag, future.result()):
                try:
                    got = self._finish(i)
                except Exception:  # a unit that cannot be finished is dropped
                    continue
                if got is not None:
                    out.append(got)
        return out


def _shared(executor: Executor, data: Dataset) -> Any:
    """The data set as every task gets it: on a Dask cluster scattered to the workers
    once (tasks then name it) rather than copied into each task."""
    client = getattr(executor, "_client", None)
    if client is not None and type(executor).__module__.startswith("distributed"):
        return client.scatter(data, broadcast=True)
    return data
