"""What the command line reads and writes, checked so that a mistake costs one line on
stderr and never the result of an audit: the model (``module:attr``) and the data file
of ``run``, a result file for ``report``, and output paths, checked before the work
starts and written with a fallback to a temporary folder.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """Bad usage: printed as one line, exit code 2."""


def _one_line(text: str) -> str:
    """The text with its control characters (newlines, terminal escapes) made visible: a
    crash message or an endpoint's reply is hostile and must not rewrite the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# -- the model and the data -------------------------------------------------------------


def load_model(spec: str) -> Any:
    """``module:attr`` -> the object; a zero-argument factory (function or class) is
    called. The current folder is importable, as with ``python -m``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--model {spec!r}: expected module:attribute, e.g. "
                         "mypackage.models:load")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except SystemExit as exc:  # a script without an `if __name__ == "__main__":` guard
        raise UsageError(f"--model {spec!r}: importing {module_name!r} called "
                         f"sys.exit({exc.code!r}); guard the module's script code with "
                         "if __name__ == '__main__':") from None
    except Exception as exc:
        raise UsageError(f"--model {spec!r}: cannot import {module_name!r} "
                         f"({type(exc).__name__}: {exc})") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"--model {spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return _call_factory(spec, obj) if _is_factory(obj) else obj


def _call_factory(spec: str, factory: Any) -> Any:
    what = "creating the model with no arguments" if inspect.isclass(factory) else \
        "calling the factory"
    try:
        return factory()
    except SystemExit as exc:
        raise UsageError(f"--model {spec!r}: {what} called sys.exit({exc.code!r}); a model "
                         "factory must return the model") from None
    except Exception as exc:
        fix = "; point --model at an instance or a zero-argument factory" \
            if inspect.isclass(factory) else ""
        raise UsageError(f"--model {spec!r}: {what} failed ({type(exc).__name__}: "
                         f"{_one_line(str(exc))[:300]}){fix}") from None


def _is_factory(obj: Any) -> bool:
    """A class (always: its instances are the models, even when the class itself has a
    ``predict`` method), or a function that takes no argument (a model takes inputs)."""
    if inspect.isclass(obj):
        return True
    if any(hasattr(obj, m) for m in ("predict", "predict_proba", "decision_function")):
        return False
    if not inspect.isfunction(obj):
        return False
    required = [p for p in inspect.signature(obj).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    return not required


def load_data(path: str, fmt: str | None = None, option: str = "--data") -> Any:
    """A DataFrame from CSV, JSONL or Parquet (by extension, or ``fmt``); errors name
    ``option``, the command-line option that gave the path."""
    import pandas as pd

    file = Path(path)
    if not file.exists():
        raise UsageError(f"{option} {path!r}: no such file")
    kind = (fmt or file.suffix.lstrip(".")).lower()
    try:
        if kind in ("csv", "tsv"):
            return pd.read_csv(file, sep="\t" if kind == "tsv" else ",")
        if kind in ("jsonl", "ndjson"):
            return pd.read_json(file, lines=True)
        if kind in ("parquet", "pq"):
            return pd.read_parquet(file)
    except ImportError as exc:
        raise UsageError(f"{option} {path!r}: reading {kind} needs an extra package "
                         f"({exc}); pip install 'robustcheck[parquet]'") from None
    except Exception as exc:
        raise UsageError(f"{option} {path!r}: cannot read it as {kind} "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    raise UsageError(f"{option} {path!r}: unknown format {kind!r}; use .csv, .jsonl or .parquet "
                     "(or --format)")


def _read_json(path: str) -> Any:
    """The parsed file (read with the same bounds as a result), or None when it cannot
    be read (``load`` then names why)."""
    from ._files import read_json
    from .errors import ResultFileError

    try:
        return read_json(path)
    except ResultFileError:
        return None


# -- output files -----------------------------------------------------------------------


def _check_outputs(outputs: dict[str, str | None]) -> None:
    """Raise UsageError unless every given path can be written: not a folder, inside a
    folder that exists or can be created, and that we may write in."""
    given = {option: path for option, path in outputs.items() if path is not None}
    for option, path in given.items():
        _check_output(option, path)
    resolved: dict[Path, str] = {}
    for option, path in given.items():
        same = resolved.setdefault(Path(path).resolve(), option)
        if same != option:
            raise UsageError(f"{same} and {option} both name {path!r}; give each its own file")


def _check_output(option: str, path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path!r}: is a folder; give a file name inside it, e.g. "
                         f"{target / _DEFAULT_NAMES.get(option, 'out')}")
    folder = target.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders below it will be created
    if not folder.is_dir():
        raise UsageError(f"{option} {path!r}: {folder} is a file, not a folder; choose "
                         "another path")
    try:  # a real write: os.access misjudges read-only mounts, ACLs and root
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path!r}: cannot write in {folder} "
                         f"({exc.strerror or exc}); choose a writable folder") from None


_DEFAULT_NAMES = {"--json": "result.json", "--report": "report.html", "--out": "report.html"}


def _write(result: Any, json_path: str | None, report: str | None, *, impact: Any = None
           ) -> bool:
    """Write the JSON, then the report (with ``impact``'s section when given); False if
    either had to go to a fallback."""
    spare: list[Path] = []
    saved = True
    if json_path:
        saved &= _save("json", "--json", json_path, result.to_json, spare)
    if report:
        saved &= _save("report", "--report", report,
                       lambda target: result.to_html(target, impact=impact), spare)
    return saved


def _save(what: str, option: str, path: str, write: Callable[[Path], object],
          spare: list[Path] | None = None) -> bool:
    """Write to ``path``; if that fails now (disk full, permissions changed during the
    run), write to a fresh temporary folder instead (``spare`` holds it, so that the
    files of one command land together) and say where: the result of a long audit is
    never lost to a write error. True when it went where it was asked."""
    try:
        write(Path(path))
    except OSError as exc:
        reason = _one_line(exc.strerror or str(exc))
    else:
        print(f"{what + ':':<7} {path}", file=sys.stderr)
        return True
    spare = [] if spare is None else spare
    try:
        if not spare:
            spare.append(Path(tempfile.mkdtemp(prefix="robustcheck-")))
        fallback = spare[0] / (Path(path).name or _DEFAULT_NAMES.get(option, "out"))
        write(fallback)
    except OSError as exc:
        print(f"robustcheck: error: cannot write {option} {path} ({reason}), nor a copy in "
              f"the temporary folder ({_one_line(exc.strerror or str(exc))})",
              file=sys.stderr)
        return False
    print(f"robustcheck: cannot write {option} {path} ({reason}); wrote it to {fallback} "
          "instead", file=sys.stderr)
    return False
