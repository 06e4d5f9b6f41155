"""The test suite's wall time, in turns with another revision (run by hand, not in CI).

    python benchmarks/bench_suite.py [--against REV] [--rounds N]

Runs the README's test command, ``python -m pytest -q -p no:cacheprovider -m "not slow"``,
in one process, ``--rounds`` times (default 2) on this checkout. With ``--against`` it
also runs the same command on revision REV (a temporary ``git worktree``, removed at the
end), in turns: this checkout, REV, this checkout, REV, ... Each run is a fresh
``python`` whose ``PYTHONPATH`` starts with its own tree, so it imports that tree's
``robustcheck`` and ``perturbations`` and collects that tree's tests.

Why in turns: this machine's speed moves 15-35% from one hour to the next (the same
code ran the suite in 80.8 s and in 110.2 s on one day). The target (under 100 s) is an
absolute time, so the script prints each run's time and the verdict on the median; the
ratio to REV in the same rounds is what tells a change from the hour.

Prints, per run: the time it ended, the tree, the wall time pytest reports, the tests
passed and the load average at its end; then a table of medians, the ratio and the
verdict; then the command to reproduce. A run that fails (a test fails, or pytest
cannot start) stops the script with pytest's last lines and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_perturbations

from bench_perturbations import print_table

HERE = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
TARGET_S = 100.0
_SUMMARY = re.compile(r"(\d+) passed.* in ([\d.]+)s")


def run_suite(tree: Path) -> tuple[float, int, str]:
    """(pytest's wall seconds, tests passed, load average) of the suite in ``tree``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(COMMAND, cwd=tree, env=env, capture_output=True, text=True,
                          check=False)
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    found = _SUMMARY.search(tail[0])
    if done.returncode != 0 or found is None:
        last = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"the suite failed in {tree} (exit status {done.returncode}):\n{last}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return float(found.group(2)), int(found.group(1)), load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV",
                        help="a git revision to time in turns with this checkout")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs of each tree (default 2)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")

    trees = {"this checkout": HERE}
    with tempfile.TemporaryDirectory(prefix="bench_suite_") as scratch:
        if args.against:
            other = Path(scratch) / "tree"
            made = subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach",
                                   str(other), args.against], capture_output=True,
                                  text=True, check=False)
            if made.returncode != 0:
                parser.error(f"--against {args.against!r}: git worktree add failed: "
                             f"{made.stderr.strip()}")
            trees[args.against] = other
        try:
            times: dict[str, list[float]] = {name: [] for name in trees}
            print(f"command: {shlex.join(COMMAND[2:])} (python -m), in each tree")
            for k in range(args.rounds):
                for name, tree in trees.items():
                    seconds, passed, load = run_suite(tree)
                    times[name].append(seconds)
                    print(f"round {k + 1}, ended {time.strftime('%H:%M:%S')}  {name:<14} "
                          f"{seconds:6.1f} s  {passed:,} passed  load {load}", flush=True)
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force",
                                str(trees[args.against])], capture_output=True, check=False)

    print()
    here = statistics.median(times["this checkout"])
    rows = [["this checkout, median s", f"{here:.1f}", f"< {TARGET_S:.0f}",
             "PASS" if here < TARGET_S else "MISS"]]
    if args.against:
        there = statistics.median(times[args.against])
        rows.append([f"{args.against}, median s", f"{there:.1f}", "-", ""])
        rows.append([f"this checkout / {args.against}", f"{here / there:.3f}", "-", ""])
    print_table(["measure", "value", "target", "verdict"], rows)
    extra = [f"--against {shlex.quote(args.against)}"] if args.against else []
    print("reproduce:   " + " ".join(["python benchmarks/bench_suite.py", *extra,
                                      f"--rounds {args.rounds}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
