"""What robustcheck's SQLite files share (the run history, the response cache): one
write transaction taken with the lock first, the header that says whose file it is, and
telling a file that is not a database from one that is busy."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InvalidArgument

__all__ = ["file_path", "has_tables", "header", "not_a_database", "transaction"]


def file_path(path: Any, *, owner: str, default: str, in_folder: str | None = None) -> Path:
    """The absolute path of ``owner``'s store file (a History, a ResponseCache), its
    folder created: ``path`` a str or os.PathLike; a folder holds the file ``in_folder``
    when that is given, else it is refused. ``default`` is the path the messages suggest."""
    raw = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(raw, str) or not raw:
        raise InvalidArgument(f"path must be a file path (str or os.PathLike), got {path!r}; "
                              f"e.g. {owner}({default!r})")
    target = Path(os.path.abspath(raw))
    if target.is_dir():
        if in_folder is None:
            raise InvalidArgument(f"path {raw!r} is a folder; give a file name inside it, "
                                  f"e.g. {Path(raw) / Path(default).name}")
        target = target / in_folder
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgument(f"path {raw!r}: cannot create its folder {target.parent} "
                              f"({exc.strerror or exc}); choose another path") from None
    return target


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write: the lock is taken first (IMMEDIATE), everything or nothing lands."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def header(db: sqlite3.Connection) -> tuple[int, int]:
    """``(application_id, user_version)``: whose file it is and its schema version."""
    app = db.execute("PRAGMA application_id").fetchone()[0]
    return int(app), int(db.execute("PRAGMA user_version").fetchone()[0])


def has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def not_a_database(exc: sqlite3.DatabaseError) -> bool:
    """Whether ``exc`` says the file is not SQLite (rather than busy or locked)."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or \
        "not a database" in str(exc)
