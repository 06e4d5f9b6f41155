"""The command line: list, run, compare, report and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import perturbations
import robustcheck
from robustcheck import demo
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


# -- run, compare, report ---------------------------------------------------------------



@pytest.fixture(scope="module")
def review_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    _, _, texts, labels = demo.validation_split()
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    import pandas as pd

    pd.DataFrame({"text": texts[:120], "label": labels[:120]}).to_csv(path, index=False)
    return str(path)


def without_timings(text: str) -> str:
    d = json.loads(text)
    d.pop("timings")
    return json.dumps(d, sort_keys=True)


def test_run_from_the_command_line_matches_the_python_api(
    review_csv: str, tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cli.json"
    status = main(["run", "--model", "robustcheck.demo:word_model", "--data", review_csv,
                   "--input-column", "text", "--label-column", "label", "--perturbations",
                   "typo", "case", "--seed", "3", "--json", str(out), "--quiet"])
    assert status == 0
    assert "typo.keyboard" in capsys.readouterr().out
    import pandas as pd

    frame = pd.read_csv(review_csv)
    api = robustcheck.run(demo.word_model(), frame["text"].tolist(), frame["label"].tolist(),
                          perturbations=["typo", "case"], seed=3,
                          name="robustcheck.demo:word_model")
    assert without_timings(out.read_text()) == without_timings(api.to_json())


def test_a_failed_threshold_exits_1_and_compare_exits_1_on_a_regression(
    review_csv: str, tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    common = ["--data", review_csv, "--input-column", "text", "--label-column", "label",
              "--perturbations", "typo.keyboard", "--quiet"]
    assert main(["run", "--model", "robustcheck.demo:word_model", *common,
                 "--threshold", "max_flip_rate=0", "--json", str(tmp_path / "a.json")]) == 1
    assert "robustness check failed" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "a.json"), str(tmp_path / "a.json")]) == 0
    assert "no significant change" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--model", "robustcheck.demo:word_model", "--data", "missing.csv"],
         "--data 'missing.csv': no such file"),
        (["run", "--model", "no_such_module_xyz:model", "--data", "{csv}"],
         "cannot import 'no_such_module_xyz'"),
        (["run", "--model", "robustcheck.demo:nothing", "--data", "{csv}"],
         "has no attribute 'nothing'"),
        (["run", "--model", "robustcheck.demo", "--data", "{csv}"], "expected module:attribute"),
        (["run", "--model", "robustcheck.demo:word_model", "--data", "{csv}",
          "--input-column", "review"], "--input-column 'review': no such column"),
        (["run", "--model", "robustcheck.demo:word_model", "--data", "{csv}",
          "--input-column", "text", "--perturbations", "typo.keybord"], "typo.keyboard"),
        (["run", "--model", "robustcheck.demo:word_model", "--data", "{csv}",
          "--threshold", "max_flip_rate"], "is not name=value"),
        (["run", "--model", "robustcheck.demo:word_model", "--data", "{csv}",
          "--threshold", "max_flips=0.1"], "unknown threshold 'max_flips'"),
        (["run", "--model", "robustcheck.demo:word_model", "--data", "{csv}",
          "--seed", "-1"], "seed must be >= 0"),
        (["compare", "missing-a.json", "missing-b.json"], "missing-a.json: no such file"),
        (["report", "missing.json", "--out", "x.html"], "missing.json: no such file"),
    ],
)
def test_every_misuse_exits_2_with_one_clear_line(
    argv: list[str], message: str, review_csv: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([a.replace("{csv}", review_csv) for a in argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_report_re_renders_a_result_file(tmp_path: Any, review_csv: str) -> None:
    assert main(["run", "--model", "robustcheck.demo:word_model", "--data", review_csv,
                 "--input-column", "text", "--label-column", "label", "--perturbations",
                 "case.upper", "--json", str(tmp_path / "r.json"), "--quiet"]) == 0
    assert main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "r.html")]) == 0
    assert "case.upper" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_run_reads_jsonl_and_parquet_like_csv(suffix: str, review_csv: str, tmp_path: Any
                                              ) -> None:
    import pandas as pd

    frame = pd.read_csv(review_csv)
    path = tmp_path / f"reviews.{suffix}"
    if suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        pytest.importorskip("pyarrow")
        frame.to_parquet(path)
    outputs = []
    for data in (review_csv, str(path)):
        out = tmp_path / f"{Path(data).suffix}.json"
        assert main(["run", "--model", "robustcheck.demo:word_model", "--data", data,
                     "--input-column", "text", "--label-column", "label", "--perturbations",
                     "case.upper", "--json", str(out), "--quiet"]) == 0
        outputs.append(without_timings(out.read_text()))
    assert outputs[0] == outputs[1]
