"""Checks of the arguments a user passes, written once for every way in (DESIGN §13).

``run()``, ``RunResult.check()``, the statistics helpers, the pytest plugin and the
command line all validate a seed, severities and thresholds here, so the same bad value
gets the same message wherever it was given. Each ``check_*`` takes a Python value and
returns it normalised, or raises :class:`~robustcheck.errors.InvalidArgument` naming the
argument, the value and the fix. Each ``parse_*`` reads the text of a command-line
option or an ini line into the same check; ``_options`` turns its error into argparse's.

Stdlib only: the pytest plugin parses its options with these at start-up. The error
class is imported when an error is raised, because ``robustcheck.errors`` re-exports the
catalogue's errors and so loads numpy and pandas.
"""

from __future__ import annotations

import difflib
import math
import numbers
import operator
from collections.abc import Iterable, Mapping
from typing import Any

from ._metricinfo import THRESHOLDS

__all__ = ["check_batch_size", "check_per_thresholds", "check_seed", "check_severities",
           "check_severity", "check_threshold", "check_threshold_name", "check_thresholds",
           "check_timeout", "parse_seed", "parse_severities", "parse_threshold"]

SEVERITIES_EXAMPLE = "e.g. 0.25, 0.5 and 1"


def _invalid(message: str) -> Exception:
    from .errors import InvalidArgument

    return InvalidArgument(message)


# -- seed ------------------------------------------------------------------------------


def check_seed(value: Any, name: str = "seed") -> int:
    """A non-negative integer (a Python or numpy integer; not a bool, float or text)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        seed = operator.index(value)
    except TypeError:
        raise _invalid(f"{name} must be a non-negative integer: {value!r} is not an "
                       f"integer seed; use e.g. 0 or 12345") from None
    if seed < 0:
        # "(seed must be >= 0)" is the wording the command line has always printed
        raise _invalid(f"{name} must be a non-negative integer: {seed} is negative "
                       f"({name} must be >= 0); use e.g. 0 or 12345")
    return seed


def parse_seed(text: str) -> int:
    """``--seed N`` / ``robustcheck_seed = N``."""
    try:
        value: Any = int(text)
    except ValueError:
        value = text  # refused below, in the words run(seed=...) uses
    return check_seed(value)


# -- severities ------------------------------------------------------------------------


def check_severity(value: Any, name: str = "severities") -> float:
    """One severity: a real number in (0, 1]."""
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not number or not 0 < float(value) <= 1.0:  # NaN fails this too
        shown = float(value) if number else value  # 2 and "2" (command line) read alike
        raise _invalid(f"{name} must be numbers in (0, 1], got {shown!r}; "
                       f"{SEVERITIES_EXAMPLE}")
    return float(value)


def check_severities(value: Any) -> list[float]:
    """One severity or several, as a sorted list without repeats."""
    if isinstance(value, (numbers.Real, str)):
        values: Iterable[Any] = [value]
    elif isinstance(value, Iterable):
        values = value
    else:
        raise _invalid(f"severities must be a number in (0, 1] or a list of them, got "
                       f"{value!r}; {SEVERITIES_EXAMPLE}")
    out = [check_severity(v) for v in values]
    if not out:
        raise _invalid(f"severities is empty; {SEVERITIES_EXAMPLE}")
    return sorted(set(out))


def parse_severities(text: str) -> tuple[float, ...]:
    """``0.25,0.5,1``, kept in the order given."""
    values = []
    for part in text.split(","):
        try:
            value: Any = float(part)
        except ValueError:
            value = part.strip()  # refused below, in the words run(severities=...) uses
        values.append(check_severity(value))
    return tuple(values)


# -- thresholds ------------------------------------------------------------------------


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def check_threshold_name(name: Any, where: str = "") -> str:
    """A threshold keyword, e.g. ``max_flip_rate``; unknown ones get a "did you mean"."""
    if name not in THRESHOLDS:
        close = difflib.get_close_matches(str(name), THRESHOLDS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _invalid(f"{_at(where)}unknown threshold {name!r}{hint}; known: "
                       f"{', '.join(THRESHOLDS)}")
    return str(name)


def check_threshold(name: Any, value: Any, where: str = "") -> float:
    """A known threshold keyword and its limit, a number (not NaN)."""
    check_threshold_name(name, where)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise _invalid(f"{_at(where)}{name} must be a number, got {value!r}; e.g. "
                       f"{name}=0.05")
    return float(value)


def check_thresholds(thresholds: Mapping[str, Any], where: str = "") -> dict[str, float]:
    """Every ``name: limit`` pair of ``thresholds``, checked."""
    if not isinstance(thresholds, Mapping):
        raise _invalid(f"{_at(where)}thresholds must be name: number pairs, got "
                       f"{thresholds!r}; e.g. {{'max_flip_rate': 0.05}}")
    return {str(name): check_threshold(name, value, where)
            for name, value in thresholds.items()}


def check_per_thresholds(per: Any) -> dict[str, dict[str, float]]:
    """``per``: perturbation or family name -> its thresholds."""
    if not isinstance(per, Mapping):
        raise _invalid(f"per must map perturbation or family names to thresholds, got "
                       f"{per!r}; e.g. per={{'typo': {{'max_flip_rate': 0.2}}}}")
    return {str(key): check_thresholds(values, f"per[{key!r}]") for key, values in per.items()}


def parse_threshold(text: str) -> tuple[str, float]:
    """``name=value``, e.g. ``max_flip_rate=0.05`` (``max-flip-rate`` works too)."""
    name, sep, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep:
        raise _invalid(f"{text!r} is not name=value; e.g. max_flip_rate=0.05")
    try:
        value: Any = float(raw)
    except ValueError:
        value = raw  # refused below, in the words check() uses
    return name, check_threshold(name, value)


# -- run options -----------------------------------------------------------------------


def check_batch_size(value: Any) -> int | None:
    """None (the modality's default) or a positive integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise _invalid(f"batch_size must be a positive integer or None, got {value!r}; e.g. "
                       "batch_size=256 (1 calls the model once per input)")
    return int(value)


def check_timeout(value: Any) -> float | None:
    """None (no limit) or a positive, finite number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            float(value) > 0 and math.isfinite(value)):
        raise _invalid(f"timeout must be a positive number of seconds per input or None, "
                       f"got {value!r}; e.g. timeout=30")
    return float(value)


GATES = ("point", "interval")
DEFAULT_MIN_SAMPLES = 20


def check_gate(value: Any) -> str:
    """``"point"`` (the measured value against the limit) or ``"interval"`` (the whole
    95% interval above the limit)."""
    if value not in GATES:
        close = difflib.get_close_matches(str(value), GATES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _invalid(f"gate must be 'point' or 'interval', got {value!r}{hint}: 'point' "
                       "fails a row whose measured value is above the limit, 'interval' only "
                       "one whose whole 95% interval is")
    return str(value)


def check_min_samples(value: Any) -> int:
    """A row measured on fewer changed, answered samples is insufficient data."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise _invalid(f"min_samples must be a whole number >= 0, got {value!r}; e.g. "
                       f"min_samples={DEFAULT_MIN_SAMPLES} (0 decides every row whatever n)")
    return int(value)


def parse_min_samples(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _invalid(f"min_samples must be a whole number, got {text!r}; e.g. "
                       f"{DEFAULT_MIN_SAMPLES}") from None
    return check_min_samples(value)
