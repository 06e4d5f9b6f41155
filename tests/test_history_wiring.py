"""The history store reached from the command line (``run --history``) and from the
pytest plugin (``--robustcheck-history``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import TINY_MODEL, one_robustcheck_test, run_tiny

import robustcheck.runner  # noqa: F401  (numpy is imported once, before pytester runs)
from robustcheck.cli import main
from robustcheck.history import History

pytest_plugins = ["pytester"]

def test_run_with_history_records_the_result_and_its_version(
        tiny_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tiny_project / "h" / "history.sqlite"
    assert run_tiny(tiny_project, "--history", str(store), "--history-version", "2.1",
                "--name", "tiny") == 0
    assert run_tiny(tiny_project, "--history", str(store), "--name", "tiny") == 0
    runs = History(store).runs()
    assert [(r.model, r.version) for r in runs] == [("tiny", "2.1"), ("tiny", None)]
    assert runs[0].score == pytest.approx(History(store).get(runs[0].id).score)
    assert f"history: {store} (run 1)" in capsys.readouterr().err


def test_run_refuses_a_bad_history_store_before_the_audit(
        tiny_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tiny_project / "app.db"
    import sqlite3

    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(SystemExit) as stop:
        run_tiny(tiny_project, "--history", str(other), "--json", str(tiny_project / "r.json"))
    assert stop.value.code == 2
    assert "not a robustcheck history" in capsys.readouterr().err
    assert not (tiny_project / "r.json").exists()  # refused before the run, not after


def test_the_history_command_lists_what_run_recorded(
        tiny_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tiny_project / "history.sqlite"
    run_tiny(tiny_project, "--history", str(store), "--history-version", "v9", "--name", "tiny")
    capsys.readouterr()
    assert main(["history", "--history", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "v9" in listing


def test_the_plugin_records_every_result_in_the_history(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tiny_model=TINY_MODEL)
    pytester.makepyfile(test_robust=textwrap.dedent('''
        from tiny_model import model

        TEXTS = ["good food", "bad food", "good room", "bad room"] * 5
        LABELS = ["pos", "neg", "pos", "neg"] * 5

        def test_one(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper"], name="a")

        def test_two(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["typo.swap"], name="b")
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.lower"], name="b")
    '''))
    store = pytester.path / "runs.sqlite"
    out = pytester.runpytest("--robustcheck-history", str(store),
                             "--robustcheck-history-version", "7.0")
    out.assert_outcomes(passed=2)
    runs = History(store).runs()
    assert sorted((r.model, r.version) for r in runs) == [("a", "7.0"), ("b", "7.0"),
                                                         ("b", "7.0")]


def test_the_plugin_records_nothing_without_the_option(pytester: pytest.Pytester) -> None:
    one_robustcheck_test(pytester)
    pytester.runpytest().assert_outcomes(passed=1)
    assert not (pytester.path / ".robustcheck").exists()
