"""Option parsing shared by the pytest plugin and the command line, so their flags never
drift. Stdlib only: the plugin imports this at pytest start-up."""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Callable
from typing import Any

THRESHOLD_NAMES = (
    "max_flip_rate",
    "max_failure_rate",
    "max_accuracy_drop",
    "max_crash_rate",
    "max_confidence_drop",
    "max_latency_ratio",
)
DEFAULT_SEVERITIES = (0.25, 0.5, 1.0)


def seed_type(text: str) -> int:
    """A non-negative integer seed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer seed; use e.g. 0 or 12345") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be >= 0, got {value}")
    return value


def severities_type(text: str) -> tuple[float, ...]:
    """Comma-separated severities in (0, 1], e.g. ``0.25,0.5,1``."""
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not a number; severities look like 0.25,0.5,1") from None
        if not 0 < value <= 1 or math.isnan(value):
            raise argparse.ArgumentTypeError(f"severity {value:g} is outside (0, 1]")
        values.append(value)
    return tuple(values)


def threshold_type(text: str) -> tuple[str, float]:
    """``name=value``, e.g. ``max_flip_rate=0.05``."""
    name, sep, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not name=value; e.g. max_flip_rate=0.05")
    check_threshold_name(name, argparse.ArgumentTypeError)
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name}={raw!r}: the value must be a number, e.g. {name}=0.05") from None
    return name, value


def check_threshold_name(name: str, error: Callable[[str], BaseException]) -> None:
    if name not in THRESHOLD_NAMES:
        close = difflib.get_close_matches(name, THRESHOLD_NAMES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise error(f"unknown threshold {name!r}{hint}; known: {', '.join(THRESHOLD_NAMES)}")


def add_run_options(add: Callable[..., Any], prefix: str) -> None:
    """The options a robustness run takes, for argparse or a pytest option group.

    ``prefix`` is ``"--"`` for the command line and ``"--robustcheck-"`` for pytest;
    ``dest`` names are the same in both, prefixed ``robustcheck_``.
    """
    add(f"{prefix}seed", type=seed_type, default=None, dest="robustcheck_seed",
        metavar="N", help="seed of every perturbation (default 0); printed in the header")
    add(f"{prefix}severities", type=severities_type, default=None,
        dest="robustcheck_severities", metavar="LIST",
        help="comma-separated severities in (0, 1] (default 0.25,0.5,1)")
    add(f"{prefix}threshold", type=threshold_type, action="append", default=None,
        dest="robustcheck_thresholds", metavar="NAME=VALUE",
        help=f"a threshold every result must meet, repeatable; names: "
             f"{', '.join(THRESHOLD_NAMES)}")
