"""The adapter contract every model is reached through, and the checks adapters share.

:class:`Adapter` is public as :class:`robustcheck.adapters.Adapter`; the adapters for
functions and libraries (:mod:`robustcheck.adapters`) and for HTTP endpoints
(:mod:`robustcheck._http_adapter`) build on it.
"""

from __future__ import annotations

import difflib
import inspect
import math
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from robustcheck.errors import InvalidArgument, ModelOutputError

from . import tasks
from ._prediction import Prediction, _class_array, _snip


class Adapter:
    """Base class: subclasses implement ``predict``; ``task`` may stay None until known.

    ``predict`` must return one prediction per input, in order, and must not modify the
    inputs. It may raise: the runner records the exception as a crash of that batch.
    """

    kind: ClassVar[str] = "custom"
    task: str | None = None

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        raise NotImplementedError(f"{type(self).__name__} must implement predict(inputs)")

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the results manifest."""
        return {"kind": self.kind, **_describe_object(self), "task": self.task}

    def __repr__(self) -> str:
        info = self.describe()
        return f"<{type(self).__name__} {info.get('url') or info['class']} task={self.task}>"

    def _learn(self, pred: Prediction) -> Prediction:
        if self.task is None and len(pred):
            self.task = pred.task
        return pred

    def _read(self, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
              hint: str = "") -> Prediction:
        """Read the model's raw answer with the adapter's task (decided from the first
        answer when not given, then kept)."""
        task = None if self.task is None else tasks.get(self.task)
        return self._learn(tasks.read(task, raw, n, classes=classes, source=source,
                                      hint=hint))

    def _empty(self) -> Prediction:
        return (tasks.CLASSIFICATION if self.task is None else tasks.get(self.task)).empty()


# --------------------------------------------------------------------------- helpers


def _check_task(task: Any) -> str | None:
    known = tasks.names()
    if task is None or (isinstance(task, str) and task in known):
        return task
    raise InvalidArgument(f"task must be None or one of {', '.join(map(repr, known))}; got "
                          f"{task!r}{_did_you_mean(task, known)}")


def _check_classes(classes: Any) -> np.ndarray | None:
    if classes is None:
        return None
    try:
        arr = _class_array(list(classes))
    except (TypeError, ModelOutputError) as err:
        raise InvalidArgument(f"classes must be a list of distinct labels; got {_snip(classes)} "
                              f"({err})") from None
    return arr


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False,
                  strict: bool = False) -> Any:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and (isinstance(value, int) or not integer)
    if not ok or value < minimum or (strict and value == minimum):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        kind = "an integer" if integer else "a number"
        raise InvalidArgument(f"{name} must be {kind} {bound}; got {value!r}")
    return value


def _did_you_mean(value: Any, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _length(inputs: Any) -> int:
    try:
        return len(inputs)
    except TypeError:
        raise InvalidArgument(f"inputs must be a sized sequence (list, array, DataFrame); got "
                              f"{type(inputs).__name__}") from None


def _describe_object(obj: Any) -> dict[str, Any]:
    target = getattr(obj, "func", obj) if type(obj).__name__ == "partial" else obj
    if inspect.isroutine(target):
        module, name = getattr(target, "__module__", None), target.__qualname__
    else:
        module, name = type(target).__module__, type(target).__qualname__
    top = (module or "").split(".")[0]
    library = top if top and top not in ("__main__", "builtins") else None
    version = getattr(sys.modules.get(top), "__version__", None) if library else None
    return {"class": f"{module}.{name}" if module else name, "library": library,
            "version": version if isinstance(version, str) else None}
