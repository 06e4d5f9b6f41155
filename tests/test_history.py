"""Run history (issue 16): results recorded in a local SQLite store, read back, listed by
``robustcheck history`` and drawn as a trend across versions; several processes writing
at once; files that are not a history refused.

``History.add`` asks git for the commit of the working folder, so every test works in its
own temporary folder, above which git may not look (a fixture below sees to it).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import robustcheck
from robustcheck._cli_history import DEFAULT_PATH, add_history_options, add_parser
from robustcheck._cli_io import UsageError
from robustcheck.errors import InvalidArgument, ResultFileError
from robustcheck.history import APPLICATION_ID, SCHEMA_VERSION, History, record, render_trend

TEXTS = ["good movie", "bad film", "really good", "awful bad", "good good", "meh bad"] * 5
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 5
SUITE = ["typo.keyboard", "case.upper"]
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for variable in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="module")
def keyword() -> Any:
    """A model that looks for "good" as written: upper case breaks it."""
    return robustcheck.run(lambda xs: ["pos" if "good" in x else "neg" for x in xs], TEXTS,
                           LABELS, perturbations=SUITE, severities=[0.5], name="sentiment",
                           progress=False)


@pytest.fixture(scope="module")
def folding() -> Any:
    """The next version: it folds case first. Two severities, so a family has two rows."""
    return robustcheck.run(lambda xs: ["pos" if "good" in x.lower() else "neg" for x in xs],
                           TEXTS, LABELS, perturbations=SUITE, severities=[0.5, 1.0],
                           name="sentiment", progress=False)


def family_rates(result: Any) -> dict[str, float]:
    """Each family's mean failure rate over its rows that changed an input."""
    rates: dict[str, list[float]] = {}
    for row in result.rows:
        rate = row.metrics["failure_rate"].value
        if row.metrics["coverage"].value > 0 and not math.isnan(rate):
            rates.setdefault(row.family, []).append(rate)
    return {family: sum(v) / len(v) for family, v in rates.items()}


# -- recording and reading back ------------------------------------------------------------


def test_a_recorded_run_reads_back_as_the_same_result(tmp_path, keyword):
    history = History(tmp_path / "history.sqlite")
    run_id = history.add(keyword, version="1.0")
    assert history.get(run_id).to_json() == keyword.to_json()
    [run] = history.runs()
    assert (run.id, run.model, run.version, run.score, run.complete, run.n, run.seed) == \
        (run_id, "sentiment", "1.0", keyword.score, True, 30, 0)
    assert run.perturbations == tuple(SUITE)
    assert len(history) == 1


def test_the_time_is_recorded_in_utc(tmp_path, keyword):
    history = History(tmp_path / "h.sqlite")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    history.add(keyword)
    history.add(keyword, when=datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    given, now = (datetime.fromisoformat(r.created) for r in history.runs())  # oldest first
    assert given.isoformat() == "2025-03-01T12:00:00+00:00"
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(timezone.utc)


def test_adding_a_result_leaves_it_as_it_was(tmp_path, keyword):
    before = keyword.to_json()
    History(tmp_path / "h.sqlite").add(keyword, model="renamed", version="2")
    assert keyword.to_json() == before
    assert keyword.name == "sentiment"


def test_every_rows_metrics_are_stored_one_line_per_metric(tmp_path, folding):
    path = tmp_path / "h.sqlite"
    run_id = History(path).add(folding)
    with sqlite3.connect(path) as db:
        stored = {(p, f, s, m): (v, lo, hi, n) for p, f, s, m, v, lo, hi, n in db.execute(
            "SELECT perturbation, family, severity, metric, value, low, high, n "
            "FROM row_metrics WHERE run_id = ?", (run_id,))}
    expected = {(row.perturbation, row.family, row.severity, name): (m.value, m.low, m.high, m.n)
                for row in folding.rows for name, m in row.metrics.items()}
    assert stored.keys() == expected.keys()
    assert len(stored) == sum(len(row.metrics) for row in folding.rows) > 0
    for key, (value, low, high, n) in expected.items():
        assert stored[key] == (pytest.approx(value), pytest.approx(low), pytest.approx(high), n)


def test_runs_are_listed_oldest_first_and_by_model(tmp_path, keyword, folding):
    history = History(tmp_path / "h.sqlite")
    day = datetime(2025, 1, 1, tzinfo=timezone.utc)
    history.add(keyword, model="b", when=day + timedelta(days=2))
    history.add(folding, model="a", when=day + timedelta(days=3))
    history.add(keyword, model="a", when=day)  # recorded last, but the oldest
    assert [(r.id, r.model) for r in history.runs()] == [(3, "a"), (1, "b"), (2, "a")]
    assert [r.id for r in history.runs(model="a")] == [3, 2]
    assert history.models() == ["a", "b"]


def test_record_creates_the_store_and_its_folders(tmp_path, keyword):
    path = tmp_path / "deep" / "er" / "history.sqlite"
    assert record(keyword, path, version="7") == 1
    assert record(keyword, path, model="other") == 2
    assert [(r.model, r.version) for r in History(path).runs()] == \
        [("sentiment", "7"), ("other", None)]


def test_the_store_is_versioned_marked_and_in_wal_mode(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_empty_file_becomes_a_history(tmp_path, keyword):
    path = tmp_path / "touched.sqlite"
    path.touch()
    assert History(path).add(keyword) == 1


def test_a_damaged_stored_result_is_a_result_file_error(tmp_path, keyword):
    path = tmp_path / "h.sqlite"
    run_id = History(path).add(keyword)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET result = ? WHERE id = ?", ('{"rows": 3}', run_id))
    with pytest.raises(ResultFileError, match=f"run {run_id}"):
        History(path).get(run_id)


# -- the git commit ------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True, timeout=30)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_git_commit_is_recorded_inside_a_repository(tmp_path, monkeypatch, keyword):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    history = History(tmp_path / "h.sqlite")
    history.add(keyword)
    assert [r.commit for r in history.runs()] == [head]
    assert history.runs()[0].label == head[:8]


def test_no_commit_is_recorded_outside_a_repository_or_without_git(tmp_path, monkeypatch,
                                                                   keyword):
    history = History(tmp_path / "h.sqlite")
    history.add(keyword)  # tmp_path is not in a repository
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    history.add(keyword)  # no git at all
    history.add(keyword, commit=SHA)  # given: kept as it is
    assert [r.commit for r in history.runs()] == [None, None, SHA]


# -- several writers -----------------------------------------------------------------------


def add_ten(path: str, result_file: str, start: Any) -> None:
    """One of the writers: waits for the others, then opens (creating) the store and adds."""
    from robustcheck.history import History
    from robustcheck.results import load

    result = load(result_file)
    start.wait(timeout=120)
    history = History(path)
    for i in range(10):
        history.add(result, version=f"{os.getpid()}-{i}", commit=SHA)


@pytest.mark.slow  # four spawned interpreters, each importing robustcheck
def test_four_processes_adding_at_once_all_land(tmp_path, keyword):
    path, result_file = tmp_path / "shared" / "h.sqlite", tmp_path / "result.json"
    keyword.to_json(result_file)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [context.Process(target=add_ten, args=(str(path), str(result_file), start))
               for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=240)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]  # a locked database exits 1
    history = History(path)
    runs = history.runs()
    assert len(history) == len(runs) == 40
    assert sorted(r.id for r in runs) == list(range(1, 41))
    assert len({r.version for r in runs}) == 40
    with sqlite3.connect(path) as db:
        per_run = db.execute("SELECT count(*) FROM row_metrics GROUP BY run_id").fetchall()
    assert per_run == [(sum(len(row.metrics) for row in keyword.rows),)] * 40


# -- the trend -------------------------------------------------------------------------------


def test_the_trend_gives_each_runs_score_and_family_failure_rate(tmp_path, keyword, folding):
    history = History(tmp_path / "h.sqlite")
    history.add(keyword, version="v1")
    history.add(folding, version="v2")
    trend = history.trend()["sentiment"]
    assert [r.version for r in trend.runs] == ["v1", "v2"]
    assert trend.scores == (keyword.score, folding.score)
    before, after = family_rates(keyword), family_rates(folding)
    assert set(trend.families) == set(before) == {"typo", "case"}
    for family, rates in trend.families.items():
        assert rates == (pytest.approx(before[family]), pytest.approx(after[family]))
    assert trend.families["case"][0] > 0 == trend.families["case"][1]  # folding case fixed it
    assert history.trend(model="sentiment").keys() == {"sentiment"}


def test_a_family_that_a_run_did_not_measure_is_a_gap(tmp_path, keyword):
    shouted = robustcheck.run(lambda xs: ["pos" if "GOOD" in x else "neg" for x in xs],
                              [t.upper() for t in TEXTS], LABELS, perturbations=SUITE,
                              severities=[0.5], name="sentiment", progress=False)
    assert shouted["case.upper"][0].metrics["coverage"].value == 0  # upper case changes none
    history = History(tmp_path / "h.sqlite")
    for result, version in ((keyword, "v1"), (shouted, "v2"), (keyword, "v3")):
        history.add(result, version=version)
    case = history.trend()["sentiment"].families["case"]
    assert case == (pytest.approx(family_rates(keyword)["case"]), None, case[0])
    html = render_trend(history)
    assert "<title>case, v1: " in html and "<title>case, v3: " in html
    assert "<title>case, v2: " not in html and "<title>typo, v2: " in html
    assert html.count('<td class="num" data-value="">—</td>') == 1


def test_the_trend_report_draws_scores_and_family_rates(tmp_path, keyword, folding):
    history = History(tmp_path / "h.sqlite")
    history.add(keyword, version="v1")
    history.add(folding, version="v2")
    html = render_trend(history)
    assert html.count("<svg class=\"chart curves\"") == 2 and "<polyline" in html
    for result in (keyword, folding):
        assert f"{result.score:.1f}" in html
        for rate in family_rates(result).values():
            assert f"{100 * rate:.1f}%" in html
    assert ">v1<" in html and ">v2<" in html
    assert "Content-Security-Policy" in html and 'id="m1-table"' in html
    assert history.trend_html(tmp_path / "out" / "trend.html").read_text("utf-8") == html


def test_hostile_names_in_the_trend_report_are_inert(tmp_path, keyword):
    history = History(tmp_path / "h.sqlite")
    history.add(keyword, model="<script>alert(1)</script>\u202egpj.exe",
                version='"><img src=x onerror=alert(1)>')
    history.add(keyword, model="<script>alert(1)</script>\u202egpj.exe", version="</title>")
    html = render_trend(history)
    assert html.count("<script") == 1  # the report's own, hashed in its CSP
    assert "<img" not in html and html.count("</title>") == html.count("<title>")
    assert "&lt;script&gt;alert(1)" in html and "&#34;&gt;&lt;img" in html
    assert "&lt;/title&gt;" in html
    assert "\u202e" not in html and "[U+202E]gpj.exe" in html


def test_the_trend_of_an_empty_history_says_so(tmp_path):
    html = render_trend(History(tmp_path / "h.sqlite"))
    assert "No run is recorded" in html and "<svg class=\"chart" not in html


# -- the command line --------------------------------------------------------------------------


def history_command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="robustcheck")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["history", *argv])
    return int(args.handler(args))


def test_the_history_command_lists_the_default_store(capsys, keyword, folding):
    record(keyword, DEFAULT_PATH, version="1.0")
    record(folding, DEFAULT_PATH, version="1.1")
    assert history_command() == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "RECORDED", "(UTC)", "MODEL", "VERSION", "COMMIT", "SCORE",
                              "COMPLETE"]
    assert [line.split()[0] for line in lines] == ["1", "2"]
    assert "1.0" in lines[0] and f"{keyword.score:.1f}" in lines[0]
    assert "1.1" in lines[1] and f"{folding.score:.1f}" in lines[1]


def test_the_history_command_writes_json_and_the_trend(tmp_path, capsys, keyword):
    path = tmp_path / "h.sqlite"
    record(keyword, path, model="a")
    record(keyword, path, model="b", version="9")
    assert history_command("--history", str(path), "--model", "b", "--json") == 0
    assert [(r["id"], r["model"], r["version"]) for r in json.loads(capsys.readouterr().out)] \
        == [(2, "b", "9")]
    assert history_command("--history", str(path), "--json", "runs.json",
                           "--report", "out/trend.html") == 0
    assert len(json.loads(Path("runs.json").read_text("utf-8"))) == 2
    page = Path("out/trend.html").read_text("utf-8")
    assert "<svg" in page and 'id="m2"' in page


def test_the_history_command_shows_control_characters_in_names(tmp_path, capsys, keyword):
    record(keyword, tmp_path / "h.sqlite", model="evil\x1b[2Jname")
    history_command("--history", str(tmp_path / "h.sqlite"))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[2Jname" in out


def test_a_missing_store_is_a_usage_error_and_is_not_created(tmp_path):
    with pytest.raises(UsageError, match=r"--history '.*nothing\.sqlite': no such file"):
        history_command("--history", str(tmp_path / "nothing.sqlite"))
    assert not (tmp_path / "nothing.sqlite").exists()


def test_an_unknown_model_gets_a_suggestion(tmp_path, keyword):
    record(keyword, tmp_path / "h.sqlite")
    with pytest.raises(InvalidArgument, match=r"'sentimnt'.*did you mean 'sentiment'"):
        history_command("--history", str(tmp_path / "h.sqlite"), "--model", "sentimnt")


def test_a_folder_given_as_the_store_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        history_command("--history", str(tmp_path))
    assert stop.value.code == 2 and "is a folder" in capsys.readouterr().err


def test_the_shared_history_options_take_an_optional_path():
    parser = argparse.ArgumentParser()
    add_history_options(parser.add_argument, "--robustcheck-")
    assert parser.parse_args([]).robustcheck_history is None
    assert parser.parse_args(["--robustcheck-history"]).robustcheck_history == DEFAULT_PATH
    args = parser.parse_args(["--robustcheck-history", "h.db",
                              "--robustcheck-history-version", "2.0"])
    assert (args.robustcheck_history, args.robustcheck_history_version) == ("h.db", "2.0")


def test_robustcheck_history_exits_2_on_a_missing_store(tmp_path, capsys):
    from robustcheck import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["history", "--history", str(tmp_path / "missing.sqlite")])
    assert stop.value.code == 2 and "no such file" in capsys.readouterr().err


# -- bad input -------------------------------------------------------------------------------


def test_a_folder_is_refused_as_the_store(tmp_path):
    with pytest.raises(InvalidArgument, match="is a folder; give a file name inside it"):
        History(tmp_path)


def test_a_path_below_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="cannot create its folder"):
        History(tmp_path / "file" / "h.sqlite")


def test_an_sqlite_file_of_another_program_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = path.read_bytes()
    with pytest.raises(InvalidArgument, match="not a robustcheck history"):
        History(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 200)
    with pytest.raises(InvalidArgument, match="is not a robustcheck history"):
        History(path)


def test_a_history_of_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(InvalidArgument, match=r"newer robustcheck.*upgrade"):
        History(path)


@pytest.mark.parametrize("path", [123, "", None, b"h.sqlite"])
def test_a_path_that_is_not_a_file_path_is_refused(path):
    with pytest.raises(InvalidArgument, match=r"path must be a file path .*got"):
        History(path)


@pytest.mark.parametrize(("options", "message"), [
    ({"model": ""}, "model must be non-empty text, got ''"),
    ({"model": 3}, "model must be non-empty text, got 3"),
    ({"version": 1.4}, r"version must be non-empty text, got 1.4; e.g. version='1.4'"),
    ({"commit": " "}, "commit must be non-empty text"),
    ({"when": datetime(2025, 1, 1)}, r"when must be a timezone-aware datetime, got datetime"),
    ({"when": "2025-01-01"}, "when must be a timezone-aware datetime, got '2025-01-01'"),
])
def test_bad_arguments_to_add_are_named_with_the_fix(tmp_path, keyword, options, message):
    history = History(tmp_path / "h.sqlite")
    with pytest.raises(InvalidArgument, match=message):
        history.add(keyword, **options)
    assert len(history) == 0


def test_add_takes_a_run_result_only(tmp_path, keyword):
    with pytest.raises(InvalidArgument, match=r"result must be a RunResult.*got dict"):
        History(tmp_path / "h.sqlite").add(keyword.to_dict())


@pytest.mark.parametrize("run_id", ["1", 1.0, True, 999])
def test_get_names_a_bad_run_id(tmp_path, keyword, run_id):
    history = History(tmp_path / "h.sqlite")
    history.add(keyword)
    with pytest.raises(InvalidArgument, match=f"run_id.*{run_id!r}"):
        history.get(run_id)


def test_render_trend_takes_a_history_only(tmp_path):
    with pytest.raises(InvalidArgument, match=r"history must be a .*History, got str"):
        render_trend(str(tmp_path / "h.sqlite"))


def test_a_store_created_by_another_writer_between_two_reads_is_accepted(tmp_path,
                                                                          monkeypatch):
    """The race the four-process test hit: one process reads the empty file's header,
    another creates the store, then the first looks for tables. It must see the store,
    not "an SQLite file but not a robustcheck history"."""
    import robustcheck.history as history_module

    path = tmp_path / "h.sqlite"
    real, calls = history_module.header, []

    def stale_header(db):
        if calls:
            return real(db)
        calls.append(1)
        seen = real(db)  # the empty file, as the first reader saw it
        History(path)  # meanwhile another writer creates the store
        return seen

    monkeypatch.setattr(history_module, "header", stale_header)
    assert len(History(path)) == 0
