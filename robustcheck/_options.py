"""Option parsing shared by the pytest plugin and the command line, so their flags never
drift. Stdlib only: the plugin imports this at pytest start-up."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from . import _validate
from ._metricinfo import THRESHOLDS

THRESHOLD_NAMES = tuple(THRESHOLDS)
DEFAULT_SEVERITIES = (0.25, 0.5, 1.0)

T = TypeVar("T")


def _argparse_type(parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, its InvalidArgument turned into argparse's error (same message)."""
    try:
        return parse(text)
    except ValueError as exc:  # InvalidArgument is one; catching it by name imports numpy
        raise argparse.ArgumentTypeError(str(exc)) from None


def seed_type(text: str) -> int:
    """A non-negative integer seed."""
    return _argparse_type(_validate.parse_seed, text)


def severities_type(text: str) -> tuple[float, ...]:
    """Comma-separated severities in (0, 1], e.g. ``0.25,0.5,1``."""
    return _argparse_type(_validate.parse_severities, text)


def threshold_type(text: str) -> tuple[str, float]:
    """``name=value``, e.g. ``max_flip_rate=0.05``."""
    return _argparse_type(_validate.parse_threshold, text)


def gate_type(text: str) -> str:
    """``point`` or ``interval``."""
    return _argparse_type(_validate.check_gate, text)


def min_samples_type(text: str) -> int:
    """A whole number >= 0."""
    return _argparse_type(_validate.parse_min_samples, text)


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
    add(f"{prefix}gate", type=gate_type, default=None, dest="robustcheck_gate",
        metavar="point|interval",
        help="point (default): a row fails when its measured rate is above the limit; "
             "interval: only when its whole 95%% interval is")
    add(f"{prefix}min-samples", type=min_samples_type, default=None,
        dest="robustcheck_min_samples", metavar="N",
        help="rows measured on fewer changed, answered samples are insufficient data, "
             "neither pass nor fail (default 20)")
