"""``robustcheck history``: the runs a history store recorded, as a table or as JSON, and
their trend as an HTML page; and the history options that ``robustcheck run`` and the
pytest plugin share, so their flags never drift.

Standard library only at import time: the command line builds its parser from here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._cli_io import UsageError, _check_outputs, _one_line, _save

__all__ = ["DEFAULT_PATH", "add_history_options", "add_parser", "cmd_history",
           "history_path_type"]

DEFAULT_PATH = ".robustcheck/history.sqlite"


def history_path_type(text: str) -> str:
    """A file path for the history store: not empty, not a folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file path; e.g. {DEFAULT_PATH}")
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name inside it, "
                                         f"e.g. {Path(text) / 'history.sqlite'}")
    return text


def add_history_options(add: Callable[..., Any], prefix: str) -> None:
    """``--history [PATH]`` and ``--history-version LABEL``, for ``robustcheck run``
    (``prefix="--"``) or a pytest option group (``prefix="--robustcheck-"``); ``dest``
    names are ``robustcheck_history`` and ``robustcheck_history_version`` in both."""
    add(f"{prefix}history", nargs="?", const=DEFAULT_PATH, default=None,
        type=history_path_type, dest="robustcheck_history", metavar="PATH",
        help=f"record every result in this history store (SQLite; default when PATH is "
             f"left out: {DEFAULT_PATH}); list and chart them with robustcheck history")
    add(f"{prefix}history-version", default=None, dest="robustcheck_history_version",
        metavar="LABEL", help="the model's version label in the history, e.g. 1.4 or a "
                              "release tag (the git commit is recorded by itself)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``history`` subcommand on ``subparsers`` (from ``add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history", help="list the runs a history store recorded, or chart their trend",
        description="List the runs recorded with --history (run) or --robustcheck-history "
                    "(pytest), oldest first; --report draws the score and each family's "
                    "failure rate across runs.")
    parser.add_argument("--history", default=DEFAULT_PATH, type=history_path_type,
                        dest="robustcheck_history", metavar="PATH",
                        help=f"the history store to read (default: {DEFAULT_PATH})")
    parser.add_argument("--model", metavar="NAME", help="only the runs of this model")
    parser.add_argument("--report", metavar="PATH",
                        help="write the trend page here (HTML: score and failure rate per "
                             "family across runs)")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="the runs as JSON instead of the table: on stdout, or written "
                             "to PATH")
    parser.set_defaults(handler=cmd_history)
    return parser


def cmd_history(args: argparse.Namespace) -> int:
    """List the runs (table or JSON) and write the trend page when asked; 0 on success,
    1 when an output went to a fallback folder. A missing store is a UsageError (exit 2)."""
    path = args.robustcheck_history or DEFAULT_PATH
    if not Path(path).exists():  # History() would create it: listing must not
        raise UsageError(f"--history {path!r}: no such file; record runs into it with "
                         f"robustcheck run --history {path} or pytest "
                         f"--robustcheck-history {path}")
    json_path = None if args.json in (None, "-") else args.json
    _check_outputs({"--report": args.report, "--json": json_path})
    from ._files import dumps, write_atomic
    from .history import History

    history = History(path)
    runs = history.runs(args.model)
    text = dumps([r.to_dict() for r in runs], indent=1) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    elif runs:
        print(_listing(runs))
    else:
        print(f"no run is recorded in {path} yet", file=sys.stderr)
    saved = True
    if json_path:
        saved &= _save("json", "--json", json_path, lambda p: write_atomic(p, text))
    if args.report:
        saved &= _save("report", "--report", args.report,
                       lambda p: history.trend_html(p, model=args.model))
    return 0 if saved else 1


def _listing(runs: list[Any]) -> str:
    """One line per run; names and labels are data, their control characters shown."""
    header = ["id", "recorded (utc)", "model", "version", "commit", "score", "complete"]
    rows = [[str(r.id), r.created[:19].replace("T", " "), _cell(r.model, 40),
             _cell(r.version or "-", 24), (r.commit or "-")[:10],
             "-" if r.score is None else f"{r.score:.1f}", "yes" if r.complete else "no"]
            for r in runs]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _cell(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
