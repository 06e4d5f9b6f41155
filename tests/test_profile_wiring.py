"""The production profile reached from the package (``robustcheck.profile``,
``result.impact``, ``result.to_html(impact=...)``) and from ``robustcheck run --profile``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_tiny

import robustcheck


def test_the_package_exports_the_profile_functions_and_they_stay_callable() -> None:
    import robustcheck._impact  # imports the profile module first

    p = robustcheck.profile(["good 😍", "bad"], name="x")
    assert isinstance(p, robustcheck.Profile)
    assert callable(robustcheck.profile)
    assert tuple(robustcheck.compare_profiles(p, p).significant) == ()
    assert robustcheck.load_profile(p) == p


def test_result_impact_and_the_report_section(tmp_path: Path) -> None:
    texts, labels = ["good food", "bad food"] * 10, ["pos", "neg"] * 10
    result = robustcheck.run(lambda xs: ["pos" if "good" in x else "neg" for x in xs],
                             texts, labels, perturbations=["case.upper"], severities=[1.0],
                             progress=False)
    shouting = robustcheck.profile(["GOOD FOOD", "bad food", "good room", "bad room"],
                                   reference=texts)
    impact = result.impact(shouting)
    row = next(r for r in impact.rows if r.family == "case")
    assert row.frequency.value == pytest.approx(0.25)
    assert row.added_error.value == pytest.approx(0.25 * 0.5)
    report = result.to_html(tmp_path / "r.html", impact=impact).read_text()
    assert "Production impact" in report
    assert "Production impact" not in result.to_html(tmp_path / "plain.html").read_text()


@pytest.fixture
def project(tiny_project: Path) -> Path:
    """The tiny project and a production sample: its 24 texts, 6 of them shouted."""
    texts = pd.read_csv(tiny_project / "data.csv")["text"]
    prod = [t.upper() if i % 4 == 0 else t for i, t in enumerate(texts)]
    pd.DataFrame({"text": prod}).to_csv(tiny_project / "prod.csv", index=False)
    return tiny_project


def test_run_with_a_profile_prints_and_reports_the_impact(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tiny(project, "--profile", str(project / "prod.csv"),
                "--report", str(project / "r.html"),
                "--profile-json", str(project / "prod.json")) == 0
    out = capsys.readouterr().out
    assert "Production impact of profile 'prod'" in out
    impact = out.split("Production impact of profile", 1)[1]
    case = next(line for line in impact.splitlines() if line.strip().startswith("case "))
    assert "25.0%" in case  # 6 of 24 production texts are shouted
    assert "Production impact" in (project / "r.html").read_text()
    saved = json.loads((project / "prod.json").read_text())
    assert saved["kind"] == "robustcheck.profile" and saved["n"] == 24
    assert robustcheck.load_profile(project / "prod.json").frequency("case").value == 0.25


def test_run_refuses_a_profile_without_the_text_column_before_the_audit(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pd.DataFrame({"body": ["x"]}).to_csv(project / "other.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        run_tiny(project, "--profile", str(project / "other.csv"),
             "--json", str(project / "r.json"))
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--profile" in err and "no column 'text'" in err
    assert not (project / "r.json").exists()


def test_a_missing_profile_file_names_the_option(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        run_tiny(project, "--profile", str(project / "nope.csv"))
    assert stop.value.code == 2
    assert "--profile" in capsys.readouterr().err
