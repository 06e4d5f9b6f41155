"""The ``robustcheck`` command line (also ``python -m robustcheck``).

Exit codes: 0 success, 1 a threshold check or a comparison failed, 2 bad usage (one
line on stderr naming the bad argument, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from collections.abc import Sequence
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

    found = perturbations.catalogue(modality=args.modality, family=args.family)
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
    except Exception as exc:
        raise UsageError(f"--model {spec!r}: cannot import {module_name!r} "
                         f"({type(exc).__name__}: {exc})") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"--model {spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if _is_factory(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise UsageError(f"--model {spec!r}: calling the factory failed "
                             f"({type(exc).__name__}: {exc})") from None
    return obj


def _is_factory(obj: Any) -> bool:
    """A class, or a function that takes no argument (a model takes the inputs)."""
    if any(hasattr(obj, m) for m in ("predict", "predict_proba", "decision_function")):
        return False
    if inspect.isclass(obj):
        return True
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
                 progress=False if args.quiet else None)
    status = 0
    thresholds = dict(args.robustcheck_thresholds or [])
    failure = None
    if thresholds:
        from .errors import RobustnessError

        try:
            result.check(**thresholds)
        except RobustnessError as exc:
            failure, status = str(exc), 1
    _write(result, args.json, args.report)
    print(result.table())
    if failure:
        print("\n" + failure, file=sys.stderr)
    if not result.complete:
        print("interrupted: the result above is partial (written as such)", file=sys.stderr)
        status = 130
    return status


def _write(result: Any, json_path: str | None, report: str | None) -> None:
    if json_path:
        result.to_json(json_path)
        print(f"json:   {json_path}", file=sys.stderr)
    if report:
        result.to_html(report)
        print(f"report: {report}", file=sys.stderr)


# -- compare and report ---------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from .comparison import compare

    comparison = compare(args.a, args.b, alpha=args.alpha)
    print(comparison.table())
    if args.json:
        comparison.to_json(args.json)
    if args.report:
        comparison.to_html(args.report)
        print(f"report: {args.report}", file=sys.stderr)
    return 1 if comparison.regressions else 0


def cmd_report(args: argparse.Namespace) -> int:
    import json

    from . import report
    from .errors import ResultFileError
    from .results import load

    try:
        kind = json.loads(Path(args.result).read_text("utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None  # load() below names the problem
    if kind == "robustcheck.comparison":
        data = json.loads(Path(args.result).read_text("utf-8"))
        report.write(report.render_comparison(data), args.out)
    elif kind == "robustcheck.run" or kind is None:
        load(args.result).to_html(args.out)
    else:
        raise ResultFileError(f"{args.result}: a {kind!r} file has no report; give a run or "
                              "comparison JSON")
    print(f"report: {args.out}", file=sys.stderr)
    return 0


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
        prog="robustcheck", description="Robustness tests for machine-learning models.")
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
