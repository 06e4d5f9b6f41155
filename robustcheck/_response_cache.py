"""Answers of a generative endpoint kept on disk, so that a rerun of an audit asks (and
pays for) only the prompts it has not asked before: :class:`ResponseCache`.

An answer is stored under :func:`cache_key` of everything that decides it (the adapter
kind, the endpoint, the model, the system prompt, the temperature, the token limit and
the prompt): change any of them and the answer is asked again. With ``temperature > 0``
the first answer sampled is the one kept, which makes a rerun reproducible. Only the
text and the token counts are stored, never a cost (it is recomputed from the prices of
the run that reads it) nor a credential.

The command line will keep it in :data:`DEFAULT_PATH`. The file follows the rules of
:mod:`robustcheck.history`: WAL mode, so reads never wait for a writer; every write one
``BEGIN IMMEDIATE`` transaction; a wait of up to :data:`BUSY_TIMEOUT` seconds for another
process's write; ``application_id`` and ``user_version`` saying what the file is, and
any other SQLite file refused rather than written into. One connection per process is
shared by its threads behind a lock (a lookup takes microseconds, an answer seconds);
a ResponseCache pickles as its path and reopens the file where it lands.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._generated import Generated
from ._sqlite import file_path, header, not_a_database, transaction
from .errors import InvalidArgument, ModelOutputError

__all__ = ["BUSY_TIMEOUT", "DEFAULT_PATH", "ResponseCache", "cache_key"]

DEFAULT_PATH = ".robustcheck/cache"
"""Where ``robustcheck run`` keeps the cache unless told otherwise (a file; a folder given
as ``path`` holds it as ``responses.sqlite``)."""
SCHEMA_VERSION = 1
APPLICATION_ID = 0x52434B43  # "RCKC" in the file's header: a robustcheck response cache
BUSY_TIMEOUT = 60.0
"""Seconds a write waits for another process's write to finish."""
FILE_IN_FOLDER = "responses.sqlite"

_SCHEMA = """CREATE TABLE responses (
    key TEXT PRIMARY KEY, text TEXT NOT NULL, prompt_tokens INTEGER,
    completion_tokens INTEGER) WITHOUT ROWID"""


def cache_key(fields: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``fields`` as canonical JSON: sorted keys, no spaces, UTF-8.
    ``0`` and ``0.0`` differ, so callers pass numbers in one type."""
    text = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Generated answers by key in the SQLite file ``path`` (created with its folder when
    missing). ``hits`` and ``misses`` count the lookups of this object."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = _check_path(path)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = -1
        with self._lock:
            self._connection()  # create or check the file now: a bad path fails here

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM responses"
                                                  ).fetchone()[0])

    def get(self, key: str) -> Generated | None:
        """The answer stored under ``key`` (its cost None), or None."""
        key = _check_key(key)
        with self._lock:
            row = self._connection().execute(
                "SELECT text, prompt_tokens, completion_tokens FROM responses WHERE key = ?",
                (key,)).fetchone()
            found = None if row is None else _generated(row)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
        return found

    def put(self, key: str, value: Generated) -> None:
        """Store ``value``'s text and token counts under ``key`` (replacing any)."""
        key = _check_key(key)
        if not isinstance(value, Generated):
            raise InvalidArgument(f"value must be a robustcheck.adapters.Generated; got "
                                  f"{type(value).__name__}")
        row = (key, value.text, value.prompt_tokens, value.completion_tokens)
        with self._lock:
            db = self._connection()
            with transaction(db):
                db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", row)

    def close(self) -> None:
        """Close this process's connection (the next call opens it again)."""
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None

    def __getstate__(self) -> dict[str, Any]:
        # a connection and a lock do not pickle; the file is reopened where this lands
        return {"path": self.path, "hits": self.hits, "misses": self.misses}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._db, self._pid = None, -1

    # -- the file ------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This process's connection, opened and checked on first use (called under the
        lock). A connection inherited through fork is left alone: SQLite forbids using it."""
        if self._db is not None and self._pid == os.getpid():
            return self._db
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                             check_same_thread=False)
        try:
            _prepare(db, self.path)
        except sqlite3.DatabaseError as exc:
            db.close()
            if not not_a_database(exc):
                raise
            raise InvalidArgument(_not_ours(self.path, f"SQLite: {exc}")) from None
        except BaseException:
            db.close()
            raise
        self._db, self._pid = db, os.getpid()
        return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """Create the schema in a new (or empty) file; refuse any other file."""
    app, version = header(db)
    if app == 0:
        # Read again under the write lock: another process may have created it since.
        with transaction(db):
            app, version = header(db)
            if app == 0 and db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                app, version = APPLICATION_ID, SCHEMA_VERSION
    if app != APPLICATION_ID:
        raise InvalidArgument(_not_ours(path, "an SQLite file of something else"))
    if version > SCHEMA_VERSION:
        raise InvalidArgument(
            f"path {str(path)!r}: response cache schema version {version} was written by a "
            f"newer robustcheck (this one reads version {SCHEMA_VERSION}); upgrade "
            "robustcheck, or give another file name")
    if version < SCHEMA_VERSION:
        raise InvalidArgument(f"path {str(path)!r}: the response cache is damaged (schema "
                              f"version {version}); delete it (it is only a cache) or give "
                              "a new file name")
    with contextlib.suppress(sqlite3.OperationalError):  # busy: WAL on a later open
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL: an answer lost in a power cut is re-asked






def _generated(row: tuple[Any, ...]) -> Generated | None:
    try:
        return Generated(*row)
    except ModelOutputError:  # edited by hand: asked again rather than trusted
        return None


def _not_ours(path: Path, what: str) -> str:
    return (f"path {str(path)!r} is not a robustcheck response cache ({what}); give a new "
            f"file name, e.g. cache={DEFAULT_PATH!r}")




def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"key must be a non-empty str (from cache_key(...)); got {key!r}")
    return key


def _check_path(path: Any) -> Path:
    return file_path(path, owner="ResponseCache", default=DEFAULT_PATH, in_folder=FILE_IN_FOLDER)
