"""The ``robustcheck`` command line (also ``python -m robustcheck``).

Exit codes:

* 0: success.
* 1: a threshold check or a comparison failed, or an output file could not be written
  where asked (a copy went to a fresh temporary folder, named on stderr).
* 2: bad usage: one line on stderr naming the bad argument or value and the fix, never
  a traceback. Output paths are checked before the audit starts.
* 3: the run stopped early because of an outage, a dead worker or a hung model. The
  partial result is still written and its table printed; stderr says why it stopped.
* 130: interrupted (Ctrl-C). The runner returns the partial result, which is written
  and printed as for 3.

When several apply, the stop (3 or 130) wins: a check on a partial run proves little.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._options import DEFAULT_SEVERITIES, add_run_options, seed_type

__all__ = ["main"]


class UsageError(Exception):
    """Bad usage: printed as one line, exit code 2."""


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


# -- list -----------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    import perturbations

    everything = perturbations.catalogue()
    found = [p for p in everything if (args.modality is None or p.modality == args.modality)
             and (args.family is None or p.family == args.family)]
    if not found:  # an empty listing with exit 0 reads as "all is well"
        raise UsageError(_nothing_listed(args.modality, args.family, everything))
    out = []
    for modality in perturbations.MODALITIES:
        group = [p for p in found if p.modality == modality]
        if not group:
            continue
        rows = [[p.name, p.family, p.expectation,
                 f"{p.description} Severity: {p.severity}" if args.verbose else p.severity]
                for p in group]
        out.append(f"{modality} ({len(group)})")
        out.append(_table(rows, ["name", "family", "expectation",
                                 "description" if args.verbose else "severity scales"]))
        out.append("")
    print("\n".join(out).rstrip())
    return 0


def _nothing_listed(modality: str | None, family: str | None, everything: list[Any]) -> str:
    """Why ``list`` found nothing: an unknown family, or a modality with nothing in it."""
    families = sorted({p.family for p in everything})
    if family is not None and family not in families:
        close = difflib.get_close_matches(family, families, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        return f"--family {family!r}: no such family{hint} Families: {', '.join(families)}"
    in_modality = sorted({p.family for p in everything if p.modality == modality})
    if not in_modality:
        return (f"no {modality} perturbations are registered in this version; plug-ins "
                "can add them")
    return (f"--family {family!r} has no {modality} perturbations; {modality} families: "
            f"{', '.join(in_modality)}")


# -- run ------------------------------------------------------------------------------


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


def load_data(path: str, fmt: str | None = None) -> Any:
    """A DataFrame from CSV, JSONL or Parquet (by extension, or ``fmt``)."""
    import pandas as pd

    file = Path(path)
    if not file.exists():
        raise UsageError(f"--data {path!r}: no such file")
    kind = (fmt or file.suffix.lstrip(".")).lower()
    try:
        if kind in ("csv", "tsv"):
            return pd.read_csv(file, sep="\t" if kind == "tsv" else ",")
        if kind in ("jsonl", "ndjson"):
            return pd.read_json(file, lines=True)
        if kind in ("parquet", "pq"):
            return pd.read_parquet(file)
    except ImportError as exc:
        raise UsageError(f"--data {path!r}: reading {kind} needs an extra package "
                         f"({exc}); pip install 'robustcheck[parquet]'") from None
    except Exception as exc:
        raise UsageError(f"--data {path!r}: cannot read it as {kind} "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    raise UsageError(f"--data {path!r}: unknown format {kind!r}; use .csv, .jsonl or .parquet "
                     "(or --format)")


def cmd_run(args: argparse.Namespace) -> int:
    # Before the audit: a typo in an output path must not cost the whole run.
    _check_outputs({"--json": args.json, "--report": args.report})
    frame = load_data(args.data, args.format)
    columns = [str(c) for c in frame.columns]
    for option, column in (("--input-column", args.input_column),
                           ("--label-column", args.label_column)):
        if column is not None and column not in frame.columns:
            raise UsageError(f"{option} {column!r}: no such column in {args.data}; columns: "
                             f"{', '.join(columns[:20])}")
    model = load_model(args.model)
    labels = frame[args.label_column].tolist() if args.label_column else None
    if args.input_column:
        inputs: Any = frame[args.input_column].tolist()
        bad = next((i for i, x in enumerate(inputs) if not isinstance(x, str)), None)
        if bad is not None:
            raise UsageError(f"--input-column {args.input_column!r}: row {bad} is "
                             f"{inputs[bad]!r}, not text; fill or drop empty rows")
    else:
        inputs = frame.drop(columns=[args.label_column]) if args.label_column else frame
    default = "text" if args.input_column else "tabular"
    from .runner import run

    result = run(model, inputs, labels, perturbations=args.perturbations or default,
                 severities=args.robustcheck_severities or DEFAULT_SEVERITIES,
                 seed=args.robustcheck_seed or 0, name=args.name or args.model,
                 batch_size=args.batch_size, timeout=args.timeout,
                 progress=False if args.quiet else None,
                 minimal=bool(args.report))  # the report shows minimal counterexamples
    status = 0
    thresholds = dict(args.robustcheck_thresholds or [])
    failure = None
    if thresholds:
        from .errors import RobustnessError

        try:
            result.check(**thresholds)
        except RobustnessError as exc:
            failure, status = str(exc), 1
    saved = _write(result, args.json, args.report)
    print(result.table())
    if failure:
        print("\n" + failure, file=sys.stderr)
    stop = _stop_status(result)
    if stop:
        return stop
    return status or (0 if saved else 1)


def _stop_status(result: Any) -> int:
    """3 or 130 when the run stopped early, saying why on stderr; 0 when it ran to the end."""
    stopped = getattr(result, "stopped", None)  # absent from results of older versions
    if stopped is None and result.complete:
        return 0
    stopped = stopped if isinstance(stopped, dict) else {}
    kind = _one_line(str(stopped.get("kind") or "interrupted"))
    message = _one_line(str(stopped.get("message") or "no reason was recorded"))
    print(f"stopped early ({kind}): {message}; the result above is partial",
          file=sys.stderr)
    return 130 if kind == "interrupted" else 3


def _one_line(text: str) -> str:
    """The text with its control characters (newlines, terminal escapes) made visible: a
    crash message or an endpoint's reply is hostile and must not rewrite the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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


def _write(result: Any, json_path: str | None, report: str | None) -> bool:
    """Write the JSON, then the report; False if either had to go to a fallback."""
    spare: list[Path] = []
    saved = True
    if json_path:
        saved &= _save("json", "--json", json_path, result.to_json, spare)
    if report:
        saved &= _save("report", "--report", report, result.to_html, spare)
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


# -- compare and report ---------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from .comparison import compare

    _check_outputs({"--json": args.json, "--report": args.report})
    comparison = compare(args.a, args.b, alpha=args.alpha)
    print(comparison.table())
    spare: list[Path] = []
    saved = True
    if args.json:
        saved &= _save("json", "--json", args.json, comparison.to_json, spare)
    if args.report:
        saved &= _save("report", "--report", args.report, comparison.to_html, spare)
    return 1 if comparison.regressions or not saved else 0


def cmd_report(args: argparse.Namespace) -> int:
    from . import report
    from .errors import ResultFileError
    from .results import load

    _check_outputs({"--out": args.out})
    data = _read_json(args.result)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "robustcheck.comparison":
        html = _render_comparison(args.result, data)
        saved = _save("report", "--out", args.out, lambda path: report.write(html, path))
    elif kind == "robustcheck.run" or kind is None:
        result = load(args.result)  # names the problem when it is not a run result
        saved = _save("report", "--out", args.out, result.to_html)
        if not result.complete:
            stopped = getattr(result, "stopped", None) or {}
            print(f"note: the result is partial: it stopped early "
                  f"({_one_line(str(stopped.get('kind') or 'interrupted'))})", file=sys.stderr)
    else:
        raise ResultFileError(f"{args.result}: a {_one_line(str(kind))!r} file has no report; "
                              "give a run or comparison JSON")
    return 0 if saved else 1


def _read_json(path: str) -> Any:
    """The parsed file (read with the same bounds as a result), or None when it cannot
    be read (``load`` then names why)."""
    from ._files import read_json
    from .errors import ResultFileError

    try:
        return read_json(path)
    except ResultFileError:
        return None


def _render_comparison(path: str, data: dict[str, Any]) -> str:
    """The comparison report of a file written by ``robustcheck compare --json``; a file
    damaged by hand or by a crash is a ResultFileError naming the broken part."""
    from . import report
    from .comparison import SCHEMA_VERSION
    from .errors import ResultFileError

    if data.get("schema_version") != SCHEMA_VERSION:
        raise ResultFileError(
            f"{path}: comparison schema_version {data.get('schema_version')!r} is not "
            f"supported (this robustcheck reads version {SCHEMA_VERSION}); compare again")
    broken = _comparison_damage(data)
    if broken is None:
        try:
            return report.render_comparison(data)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            broken = f"{type(exc).__name__}: {_one_line(str(exc))[:200]}"
    raise ResultFileError(f"{path}: the comparison is damaged ({broken}); run robustcheck "
                          "compare --json again")


def _comparison_damage(data: dict[str, Any]) -> str | None:
    """What is missing or of the wrong type in a comparison dict, or None."""
    for key, kind in (("a", dict), ("b", dict), ("rows", list)):
        if not isinstance(data.get(key), kind):
            return f"{key!r} is not a {'list' if kind is list else 'mapping'}"
    for i, row in enumerate(data["rows"]):
        if not isinstance(row, dict) or not isinstance(row.get("metrics"), dict) or \
                not all(isinstance(m, dict) for m in row["metrics"].values()):
            return f"row {i} has no metrics mapping"
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise UsageError("the demo trains scikit-learn models: pip install "
                         "'robustcheck[sklearn]'") from None
    from .demo import run_demo

    run_demo(args.out, seed=args.robustcheck_seed or 0,
             progress=False if args.quiet else None)
    return 0


# -- the parser -------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (argparse would print the whole usage first)."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from robustcheck import __version__

    parser = _Parser(
        prog="robustcheck", description="Robustness tests for machine-learning models.",
        epilog="exit codes: 0 success, 1 a check or a comparison failed (or an output went "
               "to a fallback folder), 2 bad usage, 3 the run stopped early (outage, dead "
               "worker, hung model), 130 interrupted; a partial result is still written.")
    parser.add_argument("--version", action="version", version=f"robustcheck {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="show the perturbation catalogue")
    listing.add_argument("--modality", choices=["text", "tabular", "image"],
                         help="only perturbations of this modality")
    listing.add_argument("--family", help="only this family, e.g. typo")
    listing.add_argument("-v", "--verbose", action="store_true",
                         help="show each perturbation's description")
    listing.set_defaults(handler=cmd_list)

    run = commands.add_parser("run", help="audit a model on a data file")
    run.add_argument("--model", required=True, metavar="MODULE:ATTR",
                     help="the model object, or a zero-argument factory returning it")
    run.add_argument("--data", required=True, metavar="FILE", help="CSV, JSONL or Parquet")
    run.add_argument("--format", choices=["csv", "tsv", "jsonl", "parquet"],
                     help="the data format when the extension does not say it")
    run.add_argument("--input-column", metavar="C",
                     help="the text column (text audit); without it every column but the "
                          "label is a feature (tabular audit)")
    run.add_argument("--label-column", metavar="C", help="the true labels")
    run.add_argument("--perturbations", nargs="+", metavar="NAME",
                     help="names, families or a modality (default: the modality's suite)")
    run.add_argument("--name", help="the model's name in the report (default: MODULE:ATTR)")
    run.add_argument("--batch-size", type=_positive_int, default=256, metavar="N")
    run.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help="seconds per input after which a call counts as a crash")
    run.add_argument("--report", metavar="PATH", help="write the HTML report here")
    run.add_argument("--json", metavar="PATH", help="write the result JSON here")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_run_options(run.add_argument, "--")
    run.set_defaults(handler=cmd_run)

    cmp = commands.add_parser("compare", help="compare two results of the same data; "
                                              "exit 1 on a significant regression")
    cmp.add_argument("a", metavar="A.json", help="the baseline result")
    cmp.add_argument("b", metavar="B.json", help="the new result")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance (default 0.05)")
    cmp.add_argument("--report", metavar="PATH", help="write the HTML comparison here")
    cmp.add_argument("--json", metavar="PATH", help="write the comparison JSON here")
    cmp.set_defaults(handler=cmd_compare)

    rep = commands.add_parser("report", help="render the HTML report of a result JSON")
    rep.add_argument("result", metavar="RESULT.json")
    rep.add_argument("--out", required=True, metavar="PATH")
    rep.set_defaults(handler=cmd_report)

    demo = commands.add_parser("demo", help="train two models, audit and compare them, "
                                            "offline (about a minute)")
    demo.add_argument("--out", default="robustcheck-demo", metavar="DIR",
                      help="where to write the reports (default ./robustcheck-demo)")
    demo.add_argument("--seed", type=seed_type, default=0, dest="robustcheck_seed", metavar="N")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=cmd_demo)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from perturbations import PerturbationError

    from .errors import RobustcheckError

    try:
        return int(args.handler(args))
    except (UsageError, RobustcheckError, PerturbationError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        parser.exit(2, f"robustcheck {args.command}: error: {message}\n")
    except KeyboardInterrupt:
        parser.exit(130, "robustcheck: interrupted\n")
    except BrokenPipeError:  # `robustcheck list | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
