"""Every exception robustcheck raises on purpose.

::

    RobustcheckError
     +-- InvalidArgument (ValueError)      bad user input: names the argument, the value, the fix
     |    +-- ModalityMismatch             text perturbations for a table, or the reverse
     +-- ModelOutputError (ValueError)     the model answered in a shape robustcheck cannot score
     +-- ResultFileError (ValueError)      a result file missing, corrupt or of another schema
     +-- IncompatibleResults (ValueError)  two results that cannot be compared (different data)
     +-- RobustnessError (AssertionError)  a check failed; the message is the table of failures
     +-- InfrastructureError (ConnectionError)  the model could not be reached: never a finding
     +-- CallTimeout (TimeoutError)        a model call ran past ``timeout``: a crash (a finding)

Model failure vs infrastructure failure: the model's own exception, a malformed answer or
a call past the timeout is a *crash*, scored per input. An :class:`InfrastructureError`
(connection refused or reset, DNS, HTTP 429/502/503/504 after retries, 401/403/404,
a redirect to another origin, a dead worker process) says nothing about the input; the
runner retries it, and when it persists stops and returns the result so far, marked
incomplete with the reason. An adapter of your own may raise it for the same purpose.

The catalogue has its own tree (``perturbations.PerturbationError``); its errors are
re-exported here so ``except robustcheck.errors.UnknownPerturbation`` works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perturbations import ModalityError, PerturbationError, UnknownPerturbation

__all__ = [
    "CallTimeout",
    "IncompatibleResults",
    "InfrastructureError",
    "InvalidArgument",
    "ModalityError",
    "ModalityMismatch",
    "ModelOutputError",
    "PerturbationError",
    "ResultFileError",
    "RobustcheckError",
    "RobustcheckWarning",
    "RobustnessError",
    "UnknownPerturbation",
    "is_infrastructure",
]


class RobustcheckError(Exception):
    """Base class of robustcheck's own errors."""


class InvalidArgument(RobustcheckError, ValueError):
    """An argument has a bad value; the message names it, the value and the fix."""


class ModelOutputError(RobustcheckError, ValueError):
    """The model returned output that cannot be scored (wrong length, NaN scores, None)."""


class ResultFileError(RobustcheckError, ValueError):
    """A result file is missing, not JSON, or of an unknown schema version."""


class IncompatibleResults(RobustcheckError, ValueError):
    """Two results were made on different data and cannot be paired."""


class RobustnessError(RobustcheckError, AssertionError):
    """A robustness check failed. ``str(err)`` is a table of what failed and by how much."""


class ModalityMismatch(InvalidArgument, ModalityError):
    """The inputs are of one modality and the perturbations asked for of another; also a
    ``perturbations.ModalityError``, so code catching the catalogue's error still works."""


class InfrastructureError(RobustcheckError, ConnectionError):
    """The model could not be reached (an outage, a rate limit, a dead worker, a
    misconfigured endpoint). Never scored as a crash: the run retries, then stops early."""


class CallTimeout(RobustcheckError, TimeoutError):
    """A model call gave no answer within the run's ``timeout``; recorded as a crash."""


def is_infrastructure(error: BaseException) -> bool:
    """Whether ``error`` says the model could not be reached, rather than that it failed
    on its input: our InfrastructureError, a connection error (refused, reset, broken
    pipe), a DNS failure, or an executor whose worker died. Such errors are retried and,
    when they persist, stop the run; they are never scored as crashes."""
    import concurrent.futures
    import socket

    if isinstance(error, (ConnectionError, socket.gaierror,
                          concurrent.futures.BrokenExecutor)):
        return True
    # a Dask worker that died, without importing distributed
    return type(error).__name__ == "KilledWorker"


class RobustcheckWarning(UserWarning):
    """Something in a run that is probably a mistake but can be scored (e.g. label values
    the model never answers with)."""


def load_plugins(group: str, what: str, register: Callable[[Any], Any]) -> None:
    """``register`` every object the entry points of ``group`` name; a plug-in that fails
    to load is a warning, never an error (a broken plug-in must not break robustcheck)."""
    import importlib.metadata
    import warnings

    for ep in importlib.metadata.entry_points(group=group):
        try:
            register(ep.load())
        except Exception as exc:
            warnings.warn(f"robustcheck {what} plug-in {ep.name!r} failed to load: "
                          f"{type(exc).__name__}: {exc}", stacklevel=3)
