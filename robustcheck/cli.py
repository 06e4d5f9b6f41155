"""The ``robustcheck`` command line (also ``python -m robustcheck``).

Exit codes:

* 0: success.
* 1: a threshold check or a comparison failed, or an output file could not be written
  where asked (a copy went to a fresh temporary folder, named on stderr).
* 2: bad usage: one line on stderr naming the bad argument or value and the fix, never
  a traceback. Output paths are checked before the audit starts.
* 3: the run stopped early because of an outage, a dead worker, a hung model or a spent
  budget (``max_calls``, ``max_cost`` of a generation endpoint). The
  partial result is still written and its table printed; stderr says why it stopped.
* 130: interrupted (Ctrl-C). The runner returns the partial result, which is written
  and printed as for 3.

When several apply, the stop (3 or 130) wins: a check on a partial run proves little.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cli_augment import add_parser as add_augment_parser
from ._cli_generation import add_generation_options, generation_setup
from ._cli_history import add_history_options
from ._cli_history import add_parser as add_history_parser
from ._cli_io import (
    UsageError,
    _check_outputs,
    _one_line,
    _read_json,
    _save,
    _write,
    load_data,
    load_model,
)
from ._options import DEFAULT_SEVERITIES, add_run_options, seed_type

__all__ = ["main"]


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
        rows = [[p.name, p.family, p.expectation, _study(p),
                 f"{p.description} Severity: {p.severity}" if args.verbose else p.severity]
                for p in group]
        out.append(f"{modality} ({len(group)})")
        out.append(_table(rows, ["name", "family", "expectation", "validity",
                                 "description" if args.verbose else "severity scales"]))
        out.append("")
    print("\n".join(out).rstrip())
    return 0


def _study(p: Any) -> str:
    """The validity study in a few words, and the suite: "label kept 29/30 (default)"."""
    from perturbations import validity_phrase

    suite = ", ".join(p.suites)
    study = validity_phrase(p.record())
    return f"{study} ({suite})" if study else suite


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


def cmd_run(args: argparse.Namespace) -> int:
    # Before the audit: a typo in an output path must not cost the whole run.
    _check_outputs({"--json": args.json, "--report": args.report, "--summary": args.summary,
                    "--profile-json": args.profile_json})
    history = _open_history(args.robustcheck_history)
    if args.mlflow:
        _check_mlflow()
    inputs, labels = _data_of(args)
    production = _profile_of(args, inputs)
    task, model = generation_setup(args, load_model(args.model))
    default = "text" if args.input_column else "tabular"
    from .runner import run

    result = run(model, inputs, labels, task=task, perturbations=args.perturbations or default,
                 severities=args.robustcheck_severities or DEFAULT_SEVERITIES,
                 seed=args.robustcheck_seed or 0, name=args.name or args.model,
                 batch_size=args.batch_size, timeout=args.timeout,
                 progress=False if args.quiet else None,
                 minimal=bool(args.report))  # the report shows minimal counterexamples
    status = 0
    thresholds = dict(args.robustcheck_thresholds or [])
    failure = None
    if thresholds:
        from ._validate import DEFAULT_MIN_SAMPLES
        from .errors import RobustnessError

        try:
            result.check(gate=args.robustcheck_gate or "point",
                         min_samples=(DEFAULT_MIN_SAMPLES if args.robustcheck_min_samples is None
                                      else args.robustcheck_min_samples), **thresholds)
        except RobustnessError as exc:
            failure, status = str(exc), 1
    impact = None if production is None else result.impact(production)
    saved = _write(result, args.json, args.report, impact=impact)
    saved &= _write_summary(result, args.summary)
    if production is not None and args.profile_json:
        saved &= _save("profile", "--profile-json", args.profile_json, production.to_json)
    if history is not None:
        saved &= _record(history, result, args.robustcheck_history_version)
    if args.mlflow:
        saved &= _log_mlflow(result)
    print(result.table())
    if impact is not None:
        print(f"\n{impact}")
    if failure:
        print("\n" + failure, file=sys.stderr)
    stop = _stop_status(result)
    if stop:
        return stop
    return status or (0 if saved else 1)


def _profile_of(args: argparse.Namespace, inputs: Any) -> Any:
    """The profile of ``--profile``'s production sample (the same columns as ``--data``;
    a label column is ignored), with the audit data as its reference; None without it."""
    if not args.profile:
        return None
    from ._profile import profile

    frame = load_data(args.profile, None, "--profile")
    if args.input_column:
        if args.input_column not in frame.columns:
            raise UsageError(f"--profile {args.profile!r}: no column {args.input_column!r} "
                             f"(--input-column); columns: "
                             f"{', '.join(map(str, frame.columns[:20]))}")
        production: Any = frame[args.input_column].fillna("").astype(str).tolist()
    else:
        production = frame.drop(columns=[c for c in [args.label_column] if c in frame.columns])
    return profile(production, reference=inputs, name=Path(args.profile).stem)


def _open_history(path: str | None) -> Any:
    """The ``--history`` store, opened (and created) before the audit: a path that cannot
    hold one fails now, not after the run."""
    if path is None:
        return None
    from .history import History

    return History(path)


def _record(history: Any, result: Any, version: str | None) -> bool:
    """Add the result to the history; False, with the reason on stderr, when that fails
    (the result files are written already, so nothing is lost)."""
    import sqlite3

    try:
        run_id = history.add(result, version=version)
    except (OSError, sqlite3.Error) as exc:
        print(f"robustcheck: warning: the result was not recorded in the history "
              f"{history.path} ({_one_line(str(exc))})", file=sys.stderr)
        return False
    print(f"history: {history.path} (run {run_id})", file=sys.stderr)
    return True


def _check_mlflow() -> None:
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise UsageError('--mlflow: MLflow is not installed; pip install "robustcheck[mlflow]"')


def _log_mlflow(result: Any) -> bool:
    """Log the result to MLflow; False, with the reason on stderr, when that fails (the
    result files are written already)."""
    try:
        run_id = result.log_mlflow()
    except Exception as exc:  # any failure of the tracking store: the audit stands
        print(f"robustcheck: warning: the result was not logged to MLflow "
              f"({type(exc).__name__}: {_one_line(str(exc))})", file=sys.stderr)
        return False
    print(f"mlflow: run {run_id}", file=sys.stderr)
    return True


def _write_summary(result: Any, path: str | None) -> bool:
    """The Markdown summary to ``--summary`` (atomically, with the fallback of every
    output) and, under GitHub Actions, appended to ``$GITHUB_STEP_SUMMARY``; False when
    ``--summary`` had to go to a fallback. The step summary is a courtesy: failing to
    append to it is a warning, not a failed command."""
    from ._files import write_atomic
    from ._markdown import append_step_summary

    text = result.to_markdown()
    saved = True
    if path:
        saved = _save("summary", "--summary", path, lambda target: write_atomic(target, text))
    try:
        append_step_summary(text)
    except OSError as exc:
        print(f"robustcheck: warning: cannot append to $GITHUB_STEP_SUMMARY "
              f"({_one_line(exc.strerror or str(exc))})", file=sys.stderr)
    return saved


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


def _data_of(args: argparse.Namespace) -> tuple[Any, list[Any] | None]:
    """``(inputs, labels)`` from ``--data`` and its column options: the texts of
    ``--input-column``, or every other column as a table."""
    frame = load_data(args.data, args.format)
    columns = [str(c) for c in frame.columns]
    for option, column in (("--input-column", args.input_column),
                           ("--label-column", args.label_column)):
        if column is not None and column not in frame.columns:
            raise UsageError(f"{option} {column!r}: no such column in {args.data}; columns: "
                             f"{', '.join(columns[:20])}")
    labels = frame[args.label_column].tolist() if args.label_column else None
    if args.input_column:
        inputs: Any = frame[args.input_column].tolist()
        bad = next((i for i, x in enumerate(inputs) if not isinstance(x, str)), None)
        if bad is not None:
            raise UsageError(f"--input-column {args.input_column!r}: row {bad} is "
                             f"{inputs[bad]!r}, not text; fill or drop empty rows")
    else:
        inputs = frame.drop(columns=[args.label_column]) if args.label_column else frame
    return inputs, labels


def _add_data_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--data", required=required, metavar="FILE",
                        help="CSV, JSONL or Parquet" + ("" if required else
                                                        ": the data both results were made "
                                                        "from, to show the inputs of the "
                                                        "samples that flipped"))
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl", "parquet"],
                        help="the data format when the extension does not say it")
    parser.add_argument("--input-column", metavar="C",
                        help="the text column (text audit); without it every column but "
                             "the label is a feature (tabular audit)")
    parser.add_argument("--label-column", metavar="C", help="the true labels")


# -- compare and report ---------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from .comparison import compare

    _check_outputs({"--json": args.json, "--report": args.report})
    inputs, labels = _data_of(args) if args.data else (None, None)
    comparison = compare(args.a, args.b, alpha=args.alpha, inputs=inputs, labels=labels)
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
               "worker, hung model, spent budget), 130 interrupted; a partial result is "
               "still written.")
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
    _add_data_options(run, required=True)
    run.add_argument("--perturbations", nargs="+", metavar="NAME",
                     help="names, families or a modality (default: the modality's suite)")
    run.add_argument("--name", help="the model's name in the report (default: MODULE:ATTR)")
    run.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                     help="inputs per model call (default: 256 texts, 4096 table rows)")
    run.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help="seconds per input after which a call counts as a crash")
    run.add_argument("--report", metavar="PATH", help="write the HTML report here")
    run.add_argument("--json", metavar="PATH", help="write the result JSON here")
    run.add_argument("--summary", metavar="PATH",
                     help="write a Markdown summary here (verdict, findings, table), e.g. "
                          "for a pull request comment; under GitHub Actions it is also "
                          "appended to $GITHUB_STEP_SUMMARY")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_generation_options(run)
    add_run_options(run.add_argument, "--")
    run.add_argument("--profile", metavar="FILE",
                     help="a sample of production inputs (same columns as --data): print "
                          "and report the error each tested family adds in that traffic")
    run.add_argument("--profile-json", metavar="PATH",
                     help="write the production profile here (compare two with "
                          "robustcheck.compare_profiles)")
    add_history_options(run.add_argument, "--")
    run.add_argument("--mlflow", action="store_true",
                     help="log the result to MLflow (extra robustcheck[mlflow]; the store and "
                          "experiment come from MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME)")
    run.set_defaults(handler=cmd_run)

    cmp = commands.add_parser("compare", help="compare two results of the same data; "
                                              "exit 1 on a significant regression")
    cmp.add_argument("a", metavar="A.json", help="the baseline result")
    cmp.add_argument("b", metavar="B.json", help="the new result")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance (default 0.05)")
    cmp.add_argument("--report", metavar="PATH", help="write the HTML comparison here")
    cmp.add_argument("--json", metavar="PATH", help="write the comparison JSON here")
    _add_data_options(cmp, required=False)
    cmp.set_defaults(handler=cmd_compare)

    rep = commands.add_parser("report", help="render the HTML report of a result JSON")
    rep.add_argument("result", metavar="RESULT.json")
    rep.add_argument("--out", required=True, metavar="PATH")
    rep.set_defaults(handler=cmd_report)

    demo = commands.add_parser("demo", help="train two models, audit and compare them, "
                                            "offline (about a minute and a half)")
    demo.add_argument("--out", default="robustcheck-demo", metavar="DIR",
                      help="where to write the reports (default ./robustcheck-demo)")
    demo.add_argument("--seed", type=seed_type, default=0, dest="robustcheck_seed", metavar="N")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=cmd_demo)
    add_augment_parser(commands)
    add_history_parser(commands)
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
