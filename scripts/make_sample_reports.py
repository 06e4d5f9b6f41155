"""Regenerate the sample reports in ``reports/`` and the screenshot ``docs/report.png``.

    python scripts/make_sample_reports.py

The reports are exactly what ``robustcheck demo --seed 0`` writes (this script calls the
same ``robustcheck.demo.run_demo``): the default text suite on the two demo sentiment
models (trained on three shipped reviews in four, audited on the fourth), their
comparison, and the default tabular suite on the two breast-cancer models. Results are
reproducible from the seed; only the run's start time and duration differ between two
regenerations.

When Chromium (or Chrome) is on PATH the script also takes the screenshot of the top of
``reports/sentiment-v1-words.html``, the same as running by hand:

    chromium --headless --no-sandbox --disable-gpu --disable-background-networking \\
        --disable-component-update --no-first-run --user-data-dir="$(mktemp -d)" \\
        --hide-scrollbars --screenshot=docs/report.png --window-size=1280,1000 \\
        "file://$PWD/reports/sentiment-v1-words.html"

``--no-screenshot`` skips it; ``--out`` and ``--screenshot PATH`` write elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JSON_LIMIT = 2_000_000  # bytes; a larger result JSON is left out of the repository
SHOT_OF = "sentiment-v1-words.html"
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run")


def make_reports(out: Path, seed: int) -> list[Path]:
    """Run the demo into a scratch folder and copy its reports into ``out``."""
    from robustcheck.demo import run_demo

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        demo = run_demo(scratch, seed=seed, progress=False,
                        say=lambda line: print(line.replace(scratch, str(out))))
        for path in demo.files.values():
            if path.suffix == ".json" and path.stat().st_size > JSON_LIMIT:
                print(f"skipped {path.name}: {path.stat().st_size:,} bytes > {JSON_LIMIT:,}")
                continue
            target = out / path.name
            shutil.copyfile(path, target)  # a fresh file: ordinary permissions
            written.append(target)
    return written


def browser() -> str | None:
    return (shutil.which("chromium") or shutil.which("chromium-headless-shell")
            or shutil.which("google-chrome"))


def screenshot(page: Path, target: Path, binary: str) -> None:
    """The top 1280 × 1000 pixels of ``page``, taken by headless Chromium."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        command = [binary, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
                   f"--screenshot={target.resolve()}", "--window-size=1280,1000",
                   page.resolve().as_uri()]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass  # reported below, once Chromium is gone
        finally:  # nothing of Chromium's outlives the call
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0 or not target.exists():
        raise SystemExit(f"Chromium failed to take the screenshot (exit {process.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports",
                        help="folder for the reports (default: reports/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--screenshot", type=Path, default=ROOT / "docs" / "report.png",
                        metavar="PATH", help="where the screenshot goes "
                        "(default: docs/report.png)")
    parser.add_argument("--no-screenshot", action="store_true",
                        help="do not take the screenshot even if Chromium is present")
    args = parser.parse_args(argv)

    written = make_reports(args.out, args.seed)
    if not args.no_screenshot:
        binary = browser()
        if binary is None:
            print("no Chromium on PATH: the screenshot was not taken", file=sys.stderr)
        else:
            screenshot(args.out / SHOT_OF, args.screenshot, binary)
            written.append(args.screenshot)
    print()
    for path in written:
        print(f"  {path.stat().st_size:>9,} bytes  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
