"""Run history: every audit recorded in a local SQLite store, to follow a model's
robustness across versions.

``History(path).add(result, version="1.4")`` records one run: the model's name, a version
label, the git commit of the working folder (when it is inside a repository), the time in
UTC, the score, every row's metrics (one line per metric, ready for SQL) and the result's
JSON, from which :meth:`History.get` rebuilds the :class:`~robustcheck.results.RunResult`.
:meth:`History.runs` lists the runs, :meth:`History.trend` gives each run's score and
per-family failure rate, and :meth:`History.trend_html` draws both on one
self-contained page in the report's style.

Several processes may write at once (pytest-xdist workers do): the file is in WAL mode,
so readers never wait for the writer; every write is one ``BEGIN IMMEDIATE`` transaction,
which takes the write lock before it reads anything, so two writers queue instead of
failing on a lock upgrade; and a connection waits up to :data:`BUSY_TIMEOUT` seconds for
the lock. A connection lasts one call, so a History pickles and survives a fork.

The file says what it is: ``PRAGMA application_id`` marks it as robustcheck's and
``PRAGMA user_version`` holds its schema version. Any other SQLite file is refused rather
than written into.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import math
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._sqlite import file_path, has_tables, header, not_a_database, transaction
from .errors import InvalidArgument, ResultFileError

if TYPE_CHECKING:
    from .results import RunResult

__all__ = ["BUSY_TIMEOUT", "History", "HistoryRun", "Trend", "record", "render_trend"]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x52434B48  # "RCKH" in the file's header: a robustcheck history
BUSY_TIMEOUT = 60.0
"""Seconds a write waits for another process's write to finish."""
GIT_TIMEOUT = 2.0
"""Seconds ``git rev-parse HEAD`` may take before the commit is recorded as unknown."""
"""Run labels written under a trend chart; with more runs every k-th is labelled."""

_SCHEMA = (
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, version TEXT,
        git_commit TEXT, created TEXT NOT NULL, score REAL, complete INTEGER NOT NULL,
        n INTEGER NOT NULL, seed INTEGER NOT NULL, perturbations TEXT NOT NULL,
        result TEXT NOT NULL)""",
    "CREATE INDEX runs_by_model ON runs (model, created, id)",
    """CREATE TABLE row_metrics (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        perturbation TEXT NOT NULL, family TEXT NOT NULL, severity REAL NOT NULL,
        metric TEXT NOT NULL, value REAL, low REAL, high REAL, n INTEGER NOT NULL)""",
    "CREATE INDEX row_metrics_by_run ON row_metrics (run_id, metric)",
)
_RUN_COLUMNS = ("id, model, version, git_commit, created, score, complete, n, seed, "
                "perturbations")
# A family's failure rate in a run: the mean over its rows that measured one, as the
# report's severity curves take it. A row that changed no input measured nothing (its
# failure rate is stored as NULL) and is left out, as a crash-only row without changes.
_FAMILY_RATES = """
    SELECT run_id, family, avg(value) FROM row_metrics
    WHERE metric = 'failure_rate' AND value IS NOT NULL {model}
    GROUP BY run_id, family"""
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True)
class HistoryRun:
    """One recorded run, without its result (``History(path).get(run.id)`` has it)."""

    id: int
    model: str
    version: str | None
    commit: str | None
    created: str
    """When it was recorded: ISO 8601 in UTC, e.g. ``2025-05-01T12:30:05+00:00``."""
    score: float | None
    complete: bool
    n: int
    seed: int
    perturbations: tuple[str, ...]

    @property
    def label(self) -> str:
        """The run on a trend's x axis: its version, else its short commit, else its time."""
        if self.version:
            return self.version
        if self.commit:
            return self.commit[:8]
        return self.created[:16].replace("T", " ")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "perturbations": list(self.perturbations)}


@dataclasses.dataclass(frozen=True)
class Trend:
    """One model's runs, oldest first, with the numbers the trend report draws."""

    model: str
    runs: tuple[HistoryRun, ...]
    families: dict[str, tuple[float | None, ...]]
    """Family -> its failure rate in each run (the mean over its rows that changed an
    input); None where the run did not measure the family."""

    @property
    def scores(self) -> tuple[float | None, ...]:
        return tuple(r.score for r in self.runs)


class History:
    """A store of audit results in the SQLite file ``path``, created with its folder if
    it does not exist. See the module's documentation."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = _check_path(path)
        with self._connect():  # create or check the file now: a bad path fails here
            pass

    def __repr__(self) -> str:
        return f"History({str(self.path)!r})"

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])

    def add(self, result: RunResult, *, model: str | None = None, version: str | None = None,
            commit: str | None = None, when: datetime | None = None) -> int:
        """Record ``result`` and return its run id. ``model`` defaults to the result's
        name; ``commit`` to the git commit of the working folder (None outside a
        repository or without git); ``when`` (a timezone-aware datetime) to now."""
        from .results import RunResult

        if not isinstance(result, RunResult):
            raise InvalidArgument(f"result must be a RunResult (from robustcheck.run or "
                                  f"robustcheck.load), got {type(result).__name__}")
        model = _text("model", result.name if model is None else model)
        version = None if version is None else _text("version", version)
        commit = _git_commit() if commit is None else _text("commit", commit)
        # Everything is computed before the transaction: the write lock is held briefly.
        run = (model, version, commit, _utc(when), _finite(result.score),
               int(result.complete), result.n, result.seed,
               json.dumps(list(result.perturbations)), result.to_json(indent=None))
        metrics = [(r.perturbation, r.family, r.severity, name, _finite(m.value),
                    _finite(m.low), _finite(m.high), int(m.n))
                   for r in result.rows for name, m in r.metrics.items()]
        with self._connect() as db, transaction(db):
            cursor = db.execute(
                "INSERT INTO runs (model, version, git_commit, created, score, complete, n, "
                "seed, perturbations, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run)
            run_id = int(cursor.lastrowid or 0)
            db.executemany("INSERT INTO row_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(run_id, *m) for m in metrics])
        return run_id

    def models(self) -> list[str]:
        """The models recorded, in the order of their first run."""
        with self._connect() as db:
            return [m for (m,) in db.execute(
                "SELECT model FROM runs GROUP BY model ORDER BY min(created), min(id)")]

    def runs(self, model: str | None = None) -> list[HistoryRun]:
        """Every run (of ``model``, when given), oldest first."""
        with self._connect() as db:
            return self._runs(db, model)

    def get(self, run_id: int) -> RunResult:
        """The result recorded as ``run_id``."""
        if isinstance(run_id, bool) or not isinstance(run_id, int):
            raise InvalidArgument(f"run_id must be a run's id (an int from add() or "
                                  f"runs()), got {run_id!r}")
        with self._connect() as db:
            found = db.execute("SELECT result FROM runs WHERE id = ?", (run_id,)).fetchone()
        if found is None:
            raise InvalidArgument(f"run_id {run_id}: no such run in {self.path}; "
                                  "History(path).runs() lists the ids")
        return _result_of(found[0], f"{self.path} run {run_id}")

    def trend(self, model: str | None = None) -> dict[str, Trend]:
        """Model name -> its :class:`Trend` (every model, or ``model`` alone)."""
        with self._connect() as db:
            runs = self._runs(db, model)
            rates: dict[int, dict[str, float]] = {}
            only = "" if model is None else "AND run_id IN (SELECT id FROM runs WHERE model = ?)"
            params = () if model is None else (model,)
            for run_id, family, rate in db.execute(_FAMILY_RATES.format(model=only), params):
                rates.setdefault(run_id, {})[family] = float(rate)
        by_model: dict[str, list[HistoryRun]] = {}
        for run in runs:
            by_model.setdefault(run.model, []).append(run)
        return {name: _trend(name, group, rates) for name, group in by_model.items()}

    def trend_html(self, path: str | os.PathLike[str], model: str | None = None) -> Path:
        """Write :func:`render_trend` of this history to ``path`` (atomically)."""
        from ._files import write_atomic

        return write_atomic(path, render_trend(self, model))

    # -- the file ------------------------------------------------------------------------

    def _runs(self, db: sqlite3.Connection, model: str | None) -> list[HistoryRun]:
        query = f"SELECT {_RUN_COLUMNS} FROM runs"
        params: tuple[str, ...] = ()
        if model is not None:
            model = _text("model", model)
            known = [m for (m,) in db.execute("SELECT DISTINCT model FROM runs")]
            if model not in known:
                close = difflib.get_close_matches(model, known, n=3)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                raise InvalidArgument(
                    f"model {model!r}: no runs of it in {self.path}{hint} Models recorded: "
                    f"{', '.join(map(repr, sorted(known)[:20])) or 'none'}")
            query, params = query + " WHERE model = ?", (model,)
        return [_run_of(row) for row in db.execute(query + " ORDER BY created, id", params)]

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            try:
                self._prepare(db)
            except sqlite3.DatabaseError as exc:
                if not not_a_database(exc):
                    raise
                raise InvalidArgument(
                    f"path {str(self.path)!r} is not a robustcheck history (SQLite: {exc}); "
                    "give a new file name, or the file History or --history wrote"
                ) from None
            yield db
        finally:
            db.close()

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Create the schema in a new (or empty) file; refuse any other file."""
        db.execute("PRAGMA foreign_keys = ON")
        app, version = header(db)
        if app == 0:
            # Read again under the write lock: another process may have created the store
            # since (the header and the tables then read as one state, never half of it).
            with transaction(db):
                app, version = header(db)
                if app == 0 and not has_tables(db):
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    app, version = APPLICATION_ID, SCHEMA_VERSION
        if app != APPLICATION_ID:
            raise InvalidArgument(
                f"path {str(self.path)!r} is an SQLite file but not a robustcheck history; "
                "give a new file name, or the file History or --history wrote")
        if version > SCHEMA_VERSION:
            raise InvalidArgument(
                f"path {str(self.path)!r}: history schema version {version} was written by a "
                f"newer robustcheck (this one reads version {SCHEMA_VERSION}); upgrade "
                "robustcheck")
        if version < SCHEMA_VERSION:
            raise InvalidArgument(f"path {str(self.path)!r}: the history is damaged (schema "
                                  f"version {version}); give a new file name")
        with contextlib.suppress(sqlite3.OperationalError):  # busy: WAL on a later call
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")


def record(result: RunResult, path: str | os.PathLike[str], *, model: str | None = None,
           version: str | None = None) -> int:
    """Add ``result`` to the history at ``path`` (created when missing) and return its run
    id: what ``robustcheck run --history`` and ``pytest --robustcheck-history`` call."""
    return History(path).add(result, model=model, version=version)


# -- the trend page ------------------------------------------------------------------------


def render_trend(history: History, model: str | None = None) -> str:
    """The HTML page of ``history``'s trends (every model, or ``model``): the score and
    each family's failure rate across runs, as charts and as a table of the same numbers."""
    from ._report_trend import render_trends

    if not isinstance(history, History):
        raise InvalidArgument(f"history must be a robustcheck.history.History, got "
                              f"{type(history).__name__}; e.g. History('history.sqlite')")
    return render_trends(history.trend(model))


# -- helpers -------------------------------------------------------------------------------


def _trend(model: str, runs: list[HistoryRun], rates: dict[int, dict[str, float]]) -> Trend:
    families = sorted({f for r in runs for f in rates.get(r.id, {})})
    columns = {f: tuple(rates.get(r.id, {}).get(f) for r in runs) for f in families}
    latest = lambda f: next((v for v in reversed(columns[f]) if v is not None), 0.0)  # noqa: E731
    return Trend(model, tuple(runs),
                 {f: columns[f] for f in sorted(families, key=lambda f: (-latest(f), f))})


def _run_of(row: Sequence[Any]) -> HistoryRun:
    run_id, model, version, commit, created, score, complete, n, seed, names = row
    return HistoryRun(int(run_id), model, version, commit, created, score, bool(complete),
                      int(n), int(seed), tuple(json.loads(names)))


def _result_of(text: str, label: str) -> RunResult:
    from ._files import check_run
    from .results import SCHEMA_VERSION as RESULT_SCHEMA
    from .results import RunResult

    try:
        d = json.loads(text)
        check_run(d, label, RESULT_SCHEMA)
        return RunResult.from_dict(d)
    except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        if isinstance(exc, ResultFileError):
            raise
        raise ResultFileError(f"{label}: the stored result is damaged "
                              f"({type(exc).__name__}: {exc})") from None


def _check_path(path: Any) -> Path:
    return file_path(path, owner="History", default=".robustcheck/history.sqlite")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{name} must be non-empty text, got {value!r}; e.g. "
                              f"{name}={str(value).strip() or 'label'!r}")
    return value


def _utc(when: Any) -> str:
    if when is None:
        when = datetime.now(timezone.utc)
    elif not isinstance(when, datetime) or when.utcoffset() is None:
        raise InvalidArgument(f"when must be a timezone-aware datetime, got {when!r}; e.g. "
                              "datetime.now(timezone.utc)")
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


def _finite(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _git_commit() -> str | None:
    """The commit checked out in the working folder; None when git is missing, slow, or
    the folder is not in a repository. Never raises: a history entry is not worth a run."""
    try:
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"],
                              capture_output=True, stdin=subprocess.DEVNULL, text=True,
                              encoding="utf-8", errors="replace", timeout=GIT_TIMEOUT,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and _SHA.fullmatch(sha) else None







