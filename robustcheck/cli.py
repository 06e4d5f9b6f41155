"""The ``robustcheck`` command line.

Exit codes: 0 success, 1 a check or comparison failed, 2 bad usage (one line on
stderr naming the bad argument, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


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


def build_parser() -> argparse.ArgumentParser:
    from robustcheck import __version__

    parser = argparse.ArgumentParser(
        prog="robustcheck",
        description="Robustness tests for machine-learning models.",
    )
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from perturbations import PerturbationError

    from .errors import RobustcheckError

    try:
        return int(args.handler(args))
    except (RobustcheckError, PerturbationError) as exc:
        parser.exit(2, f"robustcheck: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "robustcheck: interrupted\n")
    except BrokenPipeError:  # `robustcheck list | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
