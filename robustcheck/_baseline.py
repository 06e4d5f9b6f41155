"""The pytest plugin's baseline: reading a ``--robustcheck-json`` file of an earlier
session (validated before any test runs) and comparing each result of this session with
its baseline run at the end."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["GATED_METRICS", "SESSION_KIND", "SESSION_SCHEMA", "compare_with_baseline",
           "read_baseline"]

SESSION_KIND = "robustcheck.session"
SESSION_SCHEMA = 1


def read_baseline(path: str) -> dict[tuple[str | None, str], list[dict[str, Any]]]:
    """``(node id, result name) -> run dicts`` from a session or run JSON file. The file
    is read bounded and every run in it validated as ``robustcheck.load`` validates one:
    a missing, damaged or foreign file is a usage error, before any test runs."""
    from ._files import read_json
    from .errors import ResultFileError

    where = f"--robustcheck-baseline {path}"
    try:
        data = read_json(path, name=where, expected="a file written by --robustcheck-json")
    except ResultFileError as exc:
        raise pytest.UsageError(str(exc)) from None
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "robustcheck.run":
        entries, at = [{"nodeid": None, "result": data}], ""
    elif kind == SESSION_KIND:
        entries, at = _session_entries(data, where), "results"
    else:
        raise pytest.UsageError(f"{where}: not a robustcheck session or run file (kind "
                                f"{kind!r}); use a file written by --robustcheck-json")
    table: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for i, entry in enumerate(entries):
        run = entry["result"]
        _check_baseline_run(run, f"{where}: {at}[{i}].result" if at else where)
        table.setdefault((entry["nodeid"], run["name"]), []).append(run)
    return table


def _session_entries(data: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The ``results`` of a session file, each ``{"nodeid": str, "result": {...}}``."""
    if data.get("schema_version") != SESSION_SCHEMA:
        raise pytest.UsageError(
            f"{where}: session schema_version {data.get('schema_version')!r} is not "
            f"supported (this robustcheck reads version {SESSION_SCHEMA}); write the "
            "baseline again with --robustcheck-json")
    entries = data.get("results")
    if not isinstance(entries, list):
        raise pytest.UsageError(f"{where}: results is not a list; the file is damaged, "
                                "write it again with --robustcheck-json")
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("nodeid"), str)
                and "result" in entry):
            raise pytest.UsageError(f"{where}: results[{i}] is not an entry with a nodeid "
                                    "and a result; the file is damaged, write it again "
                                    "with --robustcheck-json")
    return entries


def _check_baseline_run(run: Any, where: str) -> None:
    """Validate one run as ``robustcheck.load`` would, and build it once, so that the
    comparison at the end of the session cannot fail on the file."""
    from ._files import check_run
    from .errors import ResultFileError
    from .results import SCHEMA_VERSION, RunResult

    try:
        check_run(run, where, SCHEMA_VERSION)
        RunResult.from_dict(run)
    except ResultFileError as exc:
        raise pytest.UsageError(str(exc)) from None
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:  # a gap in check_run
        raise pytest.UsageError(f"{where}: the result is damaged ({type(exc).__name__}: "
                                f"{exc})") from None


def compare_with_baseline(state: Any) -> None:
    """Compare each recorded result with its baseline run: a significant regression on a
    gated metric goes to ``state.regressions``, one on the confidence drop alone to
    ``state.drifts``, a result without a comparable baseline to ``state.not_compared``."""
    from .comparison import compare
    from .errors import IncompatibleResults
    from .results import RunResult

    if state.baseline is None:
        return
    for record in state.records:
        key = (record.nodeid, record.result.name)
        candidates = state.baseline.get(key) or state.baseline.get((None, record.result.name))
        if not candidates:
            state.not_compared.append((record, "no baseline result for this test and model"))
            continue
        old = RunResult.from_dict(candidates[min(record.index, len(candidates) - 1)])
        try:
            comparison = compare(old, record.result, alpha=state.alpha)
        except IncompatibleResults as exc:
            state.not_compared.append((record, str(exc)))
            continue
        if any(_fails_the_gate(r) for r in comparison.regressions):
            state.regressions.append((record, comparison))
        elif comparison.regressions:
            state.drifts.append((record, comparison))


# A regression decided by a rate (more failures, lower accuracy) fails the session; one
# decided by the confidence drop alone is real but says the new model is less sure, not
# that it fails more: it is listed, not gated (a new architecture shifts confidences).
GATED_METRICS = ("failure_rate", "accuracy_perturbed")


def _fails_the_gate(row: dict[str, Any]) -> bool:
    return any(m in GATED_METRICS for m in row.get("decided_by") or [])
