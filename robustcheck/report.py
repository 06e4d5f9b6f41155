"""The HTML report (DESIGN §9): one self-contained file a reviewer opens in a browser.

The flow is one way: a :class:`~robustcheck.results.RunResult` (or a comparison dict)
-> ``_context()``, a plain view-model of strings and numbers with every value formatted
here -> the Jinja2 templates in ``robustcheck/templates`` -> one HTML string.

Inputs, labels, model names and crash messages are hostile data. The templates render
with autoescape on and ``StrictUndefined``, and nothing is ever marked safe: the change
highlights and the SVG charts are drawn by the templates from plain strings (diff
segments) and numbers (coordinates), so every data fragment passes through the escaper.
On top of that the page's content security policy lets only its own script run and
loads nothing. CSS, SVG and the small script (sorting, filtering) are inline, and
everything reads without the script.

The report's size depends on the number of rows, examples and crashes a result keeps
(all capped by the runner), never on the number of samples: no per-sample array is read
but to count.

This module renders and writes; the view-models are built below it, one way:

``_report_run``       one audit: summary, checks, manifest, results table, clean pass
``_report_charts``    the worst-perturbations bars and the severity curves
``_report_examples``  the worst examples (change highlights) and the recorded crashes
``_report_compare``   a comparison of runs A and B
``_report_format``    every number, interval and data value as text; the table's columns
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The constants below are re-exported: the report's facts stay readable from here.
from ._metricinfo import CRASHES_PER_ROW, MESSAGE_LIMIT, METRIC_INFO  # noqa: F401
from ._report_charts import DASHES, PALETTE, WORST_BARS  # noqa: F401
from ._report_compare import VERDICTS, _comparison_context  # noqa: F401
from ._report_examples import (  # noqa: F401
    CELLS_SHOWN,
    CRASHES_SHOWN_PER_ROW,
    INPUT_LIMIT,
)
from ._report_format import COLUMNS, PERCENT, _inert  # noqa: F401
from ._report_run import GLANCE, SCORE_DEFINITION, _context, _impact  # noqa: F401
from ._report_session import _session

if TYPE_CHECKING:
    import os

    from jinja2 import Environment

    from .results import RunResult

__all__ = ["render_comparison", "render_run", "render_session", "write"]


# -- public API ----------------------------------------------------------------------


def render_run(result: RunResult, *, title: str | None = None, impact: Any = None) -> str:
    """The HTML report of one audit, as a string. ``impact`` (an ``Impact`` from
    ``result.impact(profile)``, or its ``to_dict()``) adds a "Production impact"
    section."""
    from .results import RunResult

    if not isinstance(result, RunResult):
        from .errors import InvalidArgument

        raise InvalidArgument(
            f"render_run needs a RunResult, got {type(result).__name__}; read a saved "
            "result with robustcheck.load(path) first")
    mark = "" if result.complete else "INCOMPLETE: "  # visible in the browser's tab too
    name = _inert(str(result.name))
    return _render("run.html.j2", {"title": title or f"{mark}Robustness report: {name}",
                                   "run": _context(result), "p": "",
                                   "impact": None if impact is None else _impact(impact)})


def render_session(entries: Iterable[tuple[str, RunResult]], *, title: str | None = None,
                   regressions: Iterable[tuple[str, Any]] = (),
                   drifts: Iterable[tuple[str, Any]] = (),
                   outcomes: Mapping[str, str] | None = None) -> str:
    """One HTML page for several audits, e.g. every result a pytest session recorded:
    ``entries`` are ``(label, result)`` pairs, the label being the test's node id.
    ``regressions`` / ``drifts`` are ``(label, Comparison)`` pairs against a baseline
    (the regressions failed the session; drifts are listed, not failing), ``outcomes``
    maps a label to its pytest outcome ("passed", "failed", ...)."""
    from .errors import InvalidArgument
    from .results import RunResult

    runs: list[dict[str, Any]] = []
    results: list[RunResult] = []
    for i, entry in enumerate(entries, 1):
        if not (isinstance(entry, tuple) and len(entry) == 2
                and isinstance(entry[1], RunResult)):
            raise InvalidArgument(
                f"render_session needs (label, RunResult) pairs; entry {i} is "
                f"{type(entry).__name__}")
        runs.append({"label": str(entry[0]), "p": f"r{i}-",
                     "run": _context(entry[1], prefix=f"r{i}-")})
        results.append(entry[1])
    session = _session(runs, results, regressions, drifts, outcomes)
    return _render("session.html.j2", {"title": title or "Robustness report: test session",
                                       "runs": runs, "session": session, "p": ""})


def render_comparison(comparison: Mapping[str, Any]) -> str:
    """The HTML report of a comparison of runs A and B (a ``robustcheck.comparison`` dict)."""
    if not isinstance(comparison, Mapping) or comparison.get("kind") != "robustcheck.comparison":
        from .errors import InvalidArgument

        raise InvalidArgument(
            "render_comparison needs a comparison dict with kind 'robustcheck.comparison' "
            f"(from robustcheck.compare(a, b)); got {type(comparison).__name__}")
    return _render("comparison.html.j2", _comparison_context(comparison))


def write(html: str, path: str | os.PathLike[str]) -> Path:
    """Write ``html`` to ``path`` atomically (a reader never sees half a report)."""
    from .results import write_atomic

    return write_atomic(path, html)


@functools.lru_cache(maxsize=1)
def _environment() -> tuple[Environment, str]:
    """The template environment and the CSP hash of the page's one script."""
    import base64
    import hashlib

    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("robustcheck", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    script = env.get_template("report.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return env, f"sha256-{digest}"


def _render(template: str, context: dict[str, Any]) -> str:
    env, script_hash = _environment()
    return env.get_template(template).render({**context, "script_hash": script_hash})
