"""The examples run as shipped (smoke tests of what a user copies first)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_pytest(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=project, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, **env},
    )


@pytest.mark.slow  # three pytest sessions of the shipped project, each a fresh interpreter
def test_the_pytest_project_is_green_as_shipped_and_gates_a_worse_version(
    tmp_path: Path,
) -> None:
    project = tmp_path / "pytest_project"
    shutil.copytree(EXAMPLES / "pytest_project", project,
                    ignore=shutil.ignore_patterns("reports", "baseline.json", "__pycache__"))
    released = run_pytest(project, "--robustcheck-json=baseline.json")
    assert released.returncode == 0, released.stdout[-3000:]
    assert (project / "reports" / "robustness.html").exists()
    candidate = run_pytest(project, "--robustcheck-baseline=baseline.json", MODEL_VERSION="2")
    assert candidate.returncode == 0, candidate.stdout[-3000:]
    assert "regressions against the baseline" not in candidate.stdout
    # version 2 is another model: less sure under chat noise, listed but not gated
    assert "confidence drifts against the baseline (listed, not failing)" in candidate.stdout
    broken = run_pytest(project, "--robustcheck-baseline=baseline.json", MODEL_VERSION="2",
                        SENTIMENT_LOWERCASE="0")
    assert broken.returncode == 1
    assert "regressions against the baseline" in broken.stdout
    assert "case.upper" in broken.stdout and "regression" in broken.stdout
    # the report CI uploads for exactly this case says why the session failed
    html = (project / "reports" / "robustness.html").read_text("utf-8")
    top = html[html.index('id="session-verdict"'):html.index("</section>",
                                                              html.index('id="session-verdict"'))]
    assert ">FAIL<" in top and "significant regressions against the baseline" in top
    assert ">passed<" in top  # each test's pytest outcome
    regressions = html[html.index('id="regressions"'):]
    regressions = regressions[:regressions.index("</section>")]
    assert "Regressions (they fail the session)" in regressions and "case.upper" in regressions


@pytest.mark.slow  # each shipped example end to end, in its own interpreter
# augmentation_loop.py runs in tests/test_augment.py, which checks the numbers it prints
@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")
                                          if p.name != "augmentation_loop.py"))
def test_each_example_script_runs(script: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
