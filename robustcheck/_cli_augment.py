"""``robustcheck augment``: label-keeping perturbed copies of a training file, more of
what an audit found failing (:func:`robustcheck.augmentation.augment` on a data file).

The file written holds the copies only, one row per copy: every column of the data file
(the perturbed text or features, the label and any other column of the source row) and
``perturbation``, ``severity`` and ``source_index`` (the 0-based row of the data file
the copy was made from). Train on the data file and this one stacked.

The options name the data as ``robustcheck run`` does (``--data``, ``--format``,
``--input-column``, ``--label-column``); the file is read by the same reader.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._cli_io import UsageError, _check_outputs, _save, load_data
from ._options import seed_type, severities_type

__all__ = ["RECORD_COLUMNS", "add_parser", "cmd_augment"]

RECORD_COLUMNS = ("perturbation", "severity", "source_index")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``augment`` command to the subparsers of ``robustcheck``."""
    parser = subparsers.add_parser(
        "augment", help="write perturbed copies of training data, more of what an audit "
                        "found failing")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="the training data: CSV, JSONL or Parquet")
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl", "parquet"],
                        help="the data format when the extension does not say it")
    parser.add_argument("--input-column", metavar="C",
                        help="the text column (text copies); without it every column but "
                             "the label is a feature (tabular copies)")
    parser.add_argument("--label-column", required=True, metavar="C",
                        help="the labels: each copy keeps its source's")
    parser.add_argument("--result", metavar="RESULT.json",
                        help="an audit (robustcheck run --json) of held-out data: more "
                             "copies of what failed more there (default: even shares)")
    parser.add_argument("--perturbations", nargs="+", metavar="NAME",
                        help="names, families or a modality (default: the modality's "
                             "suite); only label-keeping ones make copies")
    parser.add_argument("--size", type=_size_type, default=1.0, metavar="X",
                        help="copies per input row (default 1.0: as many copies as rows)")
    parser.add_argument("--seed", type=seed_type, default=0, metavar="N",
                        help="seed of the copies (default 0)")
    parser.add_argument("--severities", type=severities_type, default=None, metavar="LIST",
                        help="comma-separated severities in (0, 1] (default: the result's, "
                             "else 0.25,0.5,1)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="the CSV of the copies to write")
    parser.set_defaults(handler=cmd_augment)
    return parser


def _size_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; e.g. 1.0") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}; e.g. 1.0")
    return value


def cmd_augment(args: argparse.Namespace) -> int:
    from ._files import write_atomic
    from .augmentation import augment

    _check_outputs({"--out": args.out})  # before the work, as every command does
    frame = load_data(args.data, args.format)
    inputs, labels = _columns(frame, args)
    copies = augment(inputs, labels, result=args.result,
                     perturbations=args.perturbations or ("text" if args.input_column
                                                          else "tabular"),
                     size=args.size, seed=args.seed, severities=args.severities)
    text = _table_of(frame, copies, args).to_csv(index=False)
    print(copies.table())
    saved = _save("copies", "--out", args.out, lambda path: write_atomic(path, text))
    return 0 if saved else 1


def _columns(frame: Any, args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """``(inputs, labels)`` of the data file, its columns checked."""
    names = [str(c) for c in frame.columns]
    for option, column in (("--input-column", args.input_column),
                           ("--label-column", args.label_column)):
        if column is not None and column not in frame.columns:
            raise UsageError(f"{option} {column!r}: no such column in {args.data}; columns: "
                             f"{', '.join(names[:20])}")
    taken = [c for c in RECORD_COLUMNS if c in frame.columns]
    if taken:
        raise UsageError(f"--data {args.data!r} already has a column {taken[0]!r}, which the "
                         f"copies file adds; rename it in the data first")
    labels = frame[args.label_column].tolist()
    if args.input_column is None:
        return frame.drop(columns=[args.label_column]), labels
    texts = frame[args.input_column].tolist()
    bad = next((i for i, x in enumerate(texts) if not isinstance(x, str)), None)
    if bad is not None:
        raise UsageError(f"--input-column {args.input_column!r}: row {bad} is {texts[bad]!r}, "
                         "not text; fill or drop empty rows")
    return texts, labels


def _table_of(frame: Any, copies: Any, args: argparse.Namespace) -> Any:
    """The copies as rows of the data file: each source row with its perturbed text or
    features, and the record of the perturbation that made it."""
    where = copies.sources["source_index"].to_numpy()
    out = frame.iloc[where].reset_index(drop=True)
    if args.input_column is not None:
        out[args.input_column] = list(copies.inputs)
    else:
        for column in copies.inputs.columns:
            out[column] = copies.inputs[column].to_numpy()
    for column in RECORD_COLUMNS:
        out[column] = copies.sources[column].to_numpy()
    return out
