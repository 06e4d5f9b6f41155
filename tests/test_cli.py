"""The command line: ``robustcheck list`` and usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import perturbations
from robustcheck.cli import main


def test_list_prints_every_perturbation_with_family_expectation_and_severity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for p in perturbations.catalogue():
        line = next(line for line in out.splitlines() if line.startswith(p.name + " "))
        assert p.family in line and p.expectation in line and p.severity in line
    assert "text (" in out


def test_list_filters_by_modality_and_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--family", "case"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert names and all(n.startswith("case.") for n in names)
    assert main(["list", "--modality", "text", "-v"]) == 0
    assert "nlpaug" in capsys.readouterr().out  # descriptions are shown


def test_an_unknown_family_is_a_usage_error_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["list", "--family", "typoo"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "typoo" in err and "typo" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run([sys.executable, "-m", "robustcheck", "list", "--family", "typo"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "typo.keyboard" in done.stdout


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
