"""What robustcheck's SQLite files share (the run history, the response cache): one
write transaction taken with the lock first, the header that says whose file it is, and
telling a file that is not a database from one that is busy."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

__all__ = ["has_tables", "header", "not_a_database", "transaction"]


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
