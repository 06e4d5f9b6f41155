"""The command line: list, run, compare, report and usage errors."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import without_timings

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
    assert main(["list", "--modality", "image"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert "orientation.rotate" in names and "typo.keyboard" not in names


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


def test_run_from_the_command_line_matches_the_python_api(
    review_csv: str, tmp_path: Any, capsys: pytest.CaptureFixture[str], word_model: Any,
) -> None:
    out = tmp_path / "cli.json"
    status = main(["run", "--model", "robustcheck.demo:word_model", "--data", review_csv,
                   "--input-column", "text", "--label-column", "label", "--perturbations",
                   "typo", "case", "--seed", "3", "--json", str(out), "--quiet"])
    assert status == 0
    assert "typo.keyboard" in capsys.readouterr().out
    import pandas as pd

    frame = pd.read_csv(review_csv)
    api = robustcheck.run(word_model, frame["text"].tolist(), frame["label"].tolist(),
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
        (["list", "--family", "nosuch"], "--family 'nosuch': no such family"),
        (["list", "--modality", "tabular", "--family", "typo"],
         "--family 'typo' has no tabular perturbations; tabular families: "),
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


# -- output paths, checked first and never losing a result --------------------------------


@pytest.fixture
def model_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Writes a model module into tmp_path and returns its (unique) importable name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(code: str) -> str:
        name = f"rc_cli_model_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(code), "utf-8")
        importlib.invalidate_caches()
        return name

    return write


def exit_code_and_err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return exit_.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "where", "message"),
    [
        ("--report", "{tmp}", "is a folder; give a file name inside it"),
        ("--json", "{tmp}/notes.txt/r.json", "is a file, not a folder"),
        ("--json", "{tmp}/notes.txt/deeper/r.json", "is a file, not a folder"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_refused_before_the_model_loads(
    option: str, where: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    path = where.replace("{tmp}", str(tmp_path))
    # Neither the model nor the data exists: the output path must be the first complaint.
    code, err = exit_code_and_err(["run", "--model", "no_such_module_xyz:model", "--data",
                                   "missing.csv", option, path], capsys)
    assert code == 2
    assert f"{option} {path!r}: " in err and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_json_and_report_may_not_name_the_same_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    same = str(tmp_path / "out")
    code, err = exit_code_and_err(["run", "--model", "no_such_module_xyz:model", "--data",
                                   "missing.csv", "--json", same, "--report", same], capsys)
    assert code == 2 and "--json and --report both name" in err


def test_compare_and_report_check_their_output_paths_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = exit_code_and_err(["compare", "missing-a.json", "missing-b.json", "--report",
                                   str(tmp_path)], capsys)
    assert code == 2 and f"--report {str(tmp_path)!r}: is a folder" in err
    code, err = exit_code_and_err(["report", "missing.json", "--out", str(tmp_path)], capsys)
    assert code == 2 and f"--out {str(tmp_path)!r}: is a folder" in err


def test_a_write_that_fails_after_the_run_goes_to_a_temporary_folder_and_exits_1(
    review_csv: str, tmp_path: Path, model_module: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # The folder passes the check, then turns into a file while the model loads, as
    # when a disk fills or permissions change during a long audit.
    name = model_module(f"""
        import shutil
        from pathlib import Path

        def make():
            shutil.rmtree({str(out)!r})
            Path({str(out)!r}).write_text("not a folder any more")
            return lambda texts: [len(t) % 2 for t in texts]
    """)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    status = main(["run", "--model", f"{name}:make", "--data", review_csv, "--input-column",
                   "text", "--perturbations", "case.upper", "--quiet",
                   "--json", str(out / "r.json"), "--report", str(out / "r.html")])
    assert status == 1
    err = capsys.readouterr().err
    copies = sorted((tmp_path / "temporary").glob("robustcheck-*/*"))
    assert [c.name for c in copies] == ["r.html", "r.json"]
    for copy in copies:
        assert f"cannot write --{copy.suffix.lstrip('.').replace('html', 'report')} " \
               f"{out / copy.name}" in err
        assert f"wrote it to {copy} instead" in err
    assert robustcheck.load(copies[1]).rows
    assert "case.upper" in copies[0].read_text("utf-8")


# -- runs that stop early -----------------------------------------------------------------------


@pytest.fixture
def stopped_run(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Any]:
    """Makes robustcheck.run return a real, small result marked as stopped early."""
    from robustcheck import runner

    def stop(kind: str, message: str) -> Any:
        texts = [f"review number {i}" for i in range(8)]
        result = robustcheck.run(lambda xs: [len(x) % 2 for x in xs], texts,
                                 perturbations=["case.upper"], name="stopped model")
        result.complete = False
        result.stopped = {"kind": kind, "message": message}
        monkeypatch.setattr(runner, "run", lambda *args, **kwargs: result)
        return result

    return stop


@pytest.mark.parametrize(
    ("kind", "status"),
    [("outage", 3), ("worker", 3), ("hung", 3), ("interrupted", 130)],
)
def test_a_run_that_stops_early_writes_the_partial_result_says_why_and_exits_3_or_130(
    kind: str, status: int, stopped_run: Callable[[str, str], Any], review_csv: str,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    stopped_run(kind, "the model could not be reached\n\x1b[2J(ConnectError: refused)")
    assert main(["run", "--model", "robustcheck.demo:word_model", "--data", review_csv,
                 "--input-column", "text", "--quiet", "--json", str(tmp_path / "r.json"),
                 "--report", str(tmp_path / "r.html")]) == status
    out, err = capsys.readouterr()
    assert "case.upper" in out  # the table of what was measured
    assert f"stopped early ({kind}): the model could not be reached\\n\\x1b[2J" \
           "(ConnectError: refused); the result above is partial" in err
    assert "\x1b" not in err  # a hostile message cannot drive the terminal
    assert json.loads((tmp_path / "r.json").read_text("utf-8"))["complete"] is False
    assert "INCOMPLETE" in (tmp_path / "r.html").read_text("utf-8")


def test_a_stop_outranks_a_failed_check(
    stopped_run: Callable[[str, str], Any], review_csv: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stopped_run("outage", "HTTP 503 after 5 retries")
    assert main(["run", "--model", "robustcheck.demo:word_model", "--data", review_csv,
                 "--input-column", "text", "--quiet", "--threshold", "max_flip_rate=0"]) == 3
    assert "stopped early (outage): HTTP 503 after 5 retries" in capsys.readouterr().err


def test_a_model_that_cannot_be_reached_stops_the_run_with_exit_3(
    review_csv: str, tmp_path: Path, model_module: Callable[[str], str],
    capsys: pytest.CaptureFixture[str], quick_retries: None,
) -> None:
    name = model_module("""
        from robustcheck.errors import InfrastructureError

        def unreachable(texts):
            raise InfrastructureError("connection refused by model.example.com")
    """)
    status = main(["run", "--model", f"{name}:unreachable", "--data", review_csv,
                   "--input-column", "text", "--perturbations", "case.upper", "--quiet",
                   "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert status == 3, err
    assert "stopped early (outage): " in err and "connection refused" in err
    assert json.loads((tmp_path / "r.json").read_text("utf-8"))["stopped"]["kind"] == "outage"


# -- loading the model -----------------------------------------------------------------------


def test_a_class_with_a_predict_method_is_instantiated_as_documented(
    review_csv: str, model_module: Callable[[str], str], capsys: pytest.CaptureFixture[str],
) -> None:
    name = model_module("""
        class Model:
            def predict(self, texts):
                return [len(t) % 2 for t in texts]
    """)
    assert main(["run", "--model", f"{name}:Model", "--data", review_csv, "--input-column",
                 "text", "--perturbations", "case.upper", "--quiet"]) == 0
    assert "case.upper" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("code", "attr", "message"),
    [
        ("import sys\nsys.exit()", "model", "importing '{name}' called sys.exit(None)"),
        ("raise SystemExit(3)", "model", "importing '{name}' called sys.exit(3)"),
        ("import sys\ndef make():\n    sys.exit('no GPU')", "make",
         "calling the factory called sys.exit('no GPU')"),
        ("class Model:\n    def __init__(self, path):\n        pass\n"
         "    def predict(self, xs):\n        return xs", "Model",
         "creating the model with no arguments failed (TypeError: "),
    ],
)
def test_a_model_module_or_factory_that_exits_or_needs_arguments_is_a_usage_error(
    code: str, attr: str, message: str, review_csv: str, model_module: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = model_module(code)
    status, err = exit_code_and_err(["run", "--model", f"{name}:{attr}", "--data", review_csv,
                                     "--input-column", "text"], capsys)
    assert status == 2
    assert f"--model '{name}:{attr}': " + message.replace("{name}", name) in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- the comparison report from its JSON -----------------------------------------------------


def test_report_renders_the_comparison_json_written_by_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    texts = [f"review {i}: the sound is {'good' if i % 2 else 'poor'}" for i in range(40)]
    for name, model in (("case-blind", lambda xs: [len(x) % 2 for x in xs]),
                        ("case-fragile", lambda xs: [int(x != x.lower()) for x in xs])):
        robustcheck.run(model, texts, perturbations=["case.upper", "typo.swap"], seed=0,
                        name=name).to_json(tmp_path / f"{name}.json")
    assert main(["compare", str(tmp_path / "case-blind.json"),
                 str(tmp_path / "case-fragile.json"), "--json", str(tmp_path / "c.json")]) == 1
    capsys.readouterr()
    assert main(["report", str(tmp_path / "c.json"), "--out", str(tmp_path / "c.html")]) == 0
    assert f"report: {tmp_path / 'c.html'}" in capsys.readouterr().err
    html = (tmp_path / "c.html").read_text("utf-8")
    assert "case-blind (A) vs case-fragile (B)" in html
    assert "case.upper" in html and "typo.swap" in html and "regression" in html


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ({"rows": [1]}, "the comparison is damaged (row 0 has no metrics mapping)"),
        ({"rows": [{"metrics": {"failure_rate": {"a": 5}}}]}, "the comparison is damaged ("),
        ({"a": None}, "the comparison is damaged ('a' is not a mapping)"),
        ({"schema_version": 99}, "comparison schema_version 99 is not supported"),
        ({"kind": "robustcheck.other"}, "a 'robustcheck.other' file has no report"),
    ],
)
def test_a_damaged_comparison_json_is_a_usage_error(
    damage: dict[str, Any], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    good = {"schema_version": 1, "kind": "robustcheck.comparison", "alpha": 0.05,
            "a": {"name": "a"}, "b": {"name": "b"}, "rows": []}
    path = tmp_path / "c.json"
    path.write_text(json.dumps({**good, **damage}), "utf-8")
    code, err = exit_code_and_err(["report", str(path), "--out", str(tmp_path / "c.html")],
                                  capsys)
    assert code == 2
    assert f"{path}: {message}" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_compare_with_the_data_shows_the_inputs_of_the_samples_that_flipped(
    review_csv: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = tmp_path / "brittle_models.py"
    module.write_text(textwrap.dedent("""
        from robustcheck.demo import word_model

        def brittle():
            model = word_model()

            def predict(texts):
                out = list(model.predict(texts))
                return ["negative" if any(c in t for c in "qxzj") else o
                        for t, o in zip(texts, out)]
            return predict
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    common = ["--data", review_csv, "--input-column", "text", "--label-column", "label",
              "--perturbations", "typo.keyboard", "--quiet"]
    assert main(["run", "--model", "robustcheck.demo:word_model", *common,
                 "--json", str(tmp_path / "a.json")]) == 0
    assert main(["run", "--model", "brittle_models:brittle", *common,
                 "--json", str(tmp_path / "b.json")]) == 0
    pair = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert main(["compare", *pair, "--json", str(tmp_path / "blind.json")]) == 1
    assert main(["compare", *pair, "--json", str(tmp_path / "c.json"),
                 "--data", review_csv, "--input-column", "text", "--label-column",
                 "label"]) == 1
    blind = json.loads((tmp_path / "blind.json").read_text())
    seen = json.loads((tmp_path / "c.json").read_text())
    assert (blind["flips"]["inputs"], seen["flips"]["inputs"]) == ("examples", "data")
    texts = [s for r in seen["rows"] if "flips" in r for s in r["flips"]["worse"]["samples"]]
    assert texts and all(isinstance(s["perturbed"], str) for s in texts)
    assert all(any(c in s["perturbed"] for c in "qxzj") for s in texts)
