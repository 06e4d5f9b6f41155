"""The short summaries: ``to_markdown()`` for a pull request, ``_repr_html_`` for a notebook,
``robustcheck run --summary``, ``pytest --robustcheck-summary`` and the GitHub Actions step
summary."""

from __future__ import annotations

import copy
import html
import importlib
import math
import re
import textwrap
import uuid
from pathlib import Path

import pytest
from test_plugin import project

# In-process pytester runs drop the modules a run imported; numpy cannot be imported
# twice in one process, so everything heavy is imported here, before any run.
import robustcheck
import robustcheck.comparison
import robustcheck.runner
from robustcheck._findings import LEVELS, findings
from robustcheck._markdown import FINDINGS_SHOWN, md
from robustcheck.cli import main
from robustcheck.errors import RobustnessError

pytest_plugins = ["pytester"]

POSITIVE = ("good", "great", "love", "nice")
TEXTS = [f"{a} {b}" for a in ("good food", "great staff", "love it", "bad food", "awful staff",
                              "hate it", "nice room", "cold room")
         for b in ("today", "again", "honestly", "here")]
LABELS = [int(t.split()[0] in POSITIVE) for t in TEXTS]
HOSTILE = "x|y <script>alert(1)</script> `code` **bold** [link](http://e.vil) _i_\nnext line"
SPECIAL = set("\\`*_[]|~#!<>")


def case_sensitive(batch: list[str]) -> list[int]:
    """Forgets to lower-case: upper and title case flip it."""
    return [int(any(w in t for w in POSITIVE)) for t in batch]


def run(name: str = "sentiment", model=case_sensitive, **kwargs) -> robustcheck.RunResult:
    kwargs.setdefault("perturbations", ["case", "typo.swap", "punctuation.strip"])
    return robustcheck.run(model, TEXTS, LABELS, seed=0, progress=False, name=name, **kwargs)


@pytest.fixture(scope="module")
def unchecked() -> robustcheck.RunResult:
    return run(HOSTILE)


@pytest.fixture(scope="module")
def failed(unchecked: robustcheck.RunResult) -> robustcheck.RunResult:
    result = copy.deepcopy(unchecked)
    with pytest.raises(RobustnessError):
        result.check(max_flip_rate=0.05)
    return result


def unescaped(text: str) -> list[str]:
    """The Markdown-significant characters of ``text`` that are not escaped."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in SPECIAL:
            found.append(text[i])
        i += 1
    return found


def plain(text: str) -> str:
    """What Markdown shows for text escaped by ``md``."""
    return html.unescape(re.sub(r"\\(.)", r"\1", text))


# -- the verdict line -----------------------------------------------------------------------


def first_line(result: robustcheck.RunResult) -> str:
    return result.to_markdown().splitlines()[0]


def test_the_first_line_says_not_checked_with_model_n_seed_and_score(
    unchecked: robustcheck.RunResult,
) -> None:
    line = first_line(unchecked)
    assert line.startswith("**robustcheck: NOT CHECKED** · model ")
    assert f"n={len(TEXTS)} · seed=0 · score {unchecked.score:g}" in line
    assert "no thresholds were applied" in unchecked.to_markdown()


def test_the_first_line_says_fail_and_pass_after_a_check(
    failed: robustcheck.RunResult,
) -> None:
    assert first_line(failed).startswith("**robustcheck: FAIL** · model ")
    passing = run("lenient")
    passing.check(max_crash_rate=0)
    text = passing.to_markdown()
    assert text.startswith("**robustcheck: PASS** · model lenient · n=32")
    assert "rows are within their thresholds" in text


def test_an_incomplete_run_and_too_few_samples_qualify_the_verdict(
    unchecked: robustcheck.RunResult,
) -> None:
    stopped = copy.deepcopy(unchecked)
    stopped.complete = False
    stopped.stopped = {"kind": "outage", "message": "503 from <the> *endpoint*"}
    line = first_line(stopped)
    assert line.startswith("**robustcheck: NOT CHECKED** (INCOMPLETE) · model ")
    assert "The run stopped early (outage: 503 from &lt;the&gt; \\*endpoint\\*)." in \
        stopped.to_markdown()
    few = copy.deepcopy(unchecked)
    with pytest.raises(RobustnessError):
        few.check(max_flip_rate=0.5, min_samples=1000)
    assert first_line(few).startswith("**robustcheck: FAIL** (INSUFFICIENT DATA) · model ")


# -- findings and table ---------------------------------------------------------------------


def finding_lines(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.startswith("- **") and line.split("**")[1] in LEVELS]


def test_findings_are_listed_most_severe_first_with_their_level(
    failed: robustcheck.RunResult, unchecked: robustcheck.RunResult,
) -> None:
    for result in (failed, unchecked):
        lines = finding_lines(result.to_markdown())
        expected = findings(result)
        assert len(lines) == len(expected) > 1
        levels = [line.split("**")[1] for line in lines]
        assert levels == [f.level for f in expected]
        assert levels == sorted(levels, key=LEVELS.index)
        assert [plain(line.split("** ", 1)[1]) for line in lines] == \
            [f.sentence for f in expected]
    assert finding_lines(failed.to_markdown())[0].startswith("- **major** case.")


def test_more_findings_than_fit_are_counted(
    unchecked: robustcheck.RunResult, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import robustcheck._markdown as markdown
    from robustcheck._findings import Finding

    many = [Finding("minor", f"p{i}", 1.0, "failure_rate", 0.1, 0.05, 0.2, 10, None, False,
                    f"p{i} fails.") for i in range(FINDINGS_SHOWN + 4)]
    monkeypatch.setattr(markdown, "findings", lambda result: many)
    text = unchecked.to_markdown()
    assert len(finding_lines(text)) == FINDINGS_SHOWN
    assert "- … and 4 more" in text
    assert "(19 minor)" in text


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| ---")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_the_table_has_one_row_per_perturbation_at_its_worst_severity(
    failed: robustcheck.RunResult,
) -> None:
    header, *body = table_rows(failed.to_markdown())
    assert header == ["perturbation", "severity", "failure rate [95% CI]", "status"]
    names = list(dict.fromkeys(r.perturbation for r in failed.rows))
    assert [row[0] for row in body] == names
    for name, severity, rate, status in body:
        rows = failed[name]
        measured = [r for r in rows if not math.isnan(r.metrics["failure_rate"].value)]
        if not measured:  # the perturbation changed no input
            assert (rate, status) == ("-", "n/a")
            continue
        worst = max(r.metrics["failure_rate"].value for r in measured)
        m = rows[[f"{r.severity:g}" for r in rows].index(severity)].metrics["failure_rate"]
        assert m.value == worst
        assert rate == f"{100 * m.value:.1f}% [{100 * m.low:.1f}, {100 * m.high:.1f}]"
        assert status == ("fail" if any(r.passed is False for r in rows) else "pass")
    assert ["case.upper", "1", "50.0% [33.6, 66.4]", "fail"] in body
    assert ["punctuation.strip", "1", "-", "n/a"] in body


# -- escaping ---------------------------------------------------------------------------------


def test_md_escapes_everything_markdown_would_read_and_keeps_the_text() -> None:
    escaped = md(HOSTILE)
    assert unescaped(escaped) == []
    assert "\n" not in escaped and "<" not in escaped and ">" not in escaped
    assert plain(escaped) == HOSTILE.replace("\n", " ")
    assert plain(md("a\\*b")) == "a\\*b"  # a backslash in the data stays a backslash


def test_a_hostile_model_name_becomes_no_markup_in_the_summary(
    failed: robustcheck.RunResult,
) -> None:
    text = failed.to_markdown()
    line = first_line(failed)
    assert "<script>" not in text and "**bold**" not in text
    assert re.search(r"(?<!\\)\]\(", text) is None  # no link
    assert "next line" in line  # the newline did not start a new block
    name = line.split(" · model ", 1)[1].split(" · n=")[0]
    assert unescaped(name) == [] and plain(name) == HOSTILE.replace("\n", " ")


def test_the_notebook_view_is_a_compact_summary_with_every_value_escaped(
    failed: robustcheck.RunResult,
) -> None:
    view = failed._repr_html_()
    assert "<script>" not in view and "&lt;script&gt;" in view
    assert "<strong>bold</strong>" not in view
    assert '<strong style="color:#cf222e">FAIL</strong>' in view
    assert view.count("<li>") == len(findings(failed))
    assert view.count("<tr>") == 1 + len({r.perturbation for r in failed.rows})
    assert "<html" not in view and "<style" not in view  # not the whole report


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    module = f"rc_md_model_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(f"""
        POSITIVE = {POSITIVE!r}

        def model(batch):
            return [int(any(w in t for w in POSITIVE)) for t in batch]
    """), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    lines = ["text,label", *(f"{t},{y}" for t, y in zip(TEXTS, LABELS))]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", "utf-8")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return ["run", "--model", f"{module}:model", "--data", str(tmp_path / "data.csv"),
            "--input-column", "text", "--label-column", "label", "--perturbations", "case",
            "--quiet", "--name", "cli <model>"]


def test_run_summary_writes_the_markdown_summary(
    cli_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "out" / "summary.md"
    assert main([*cli_args, "--threshold", "max_flip_rate=0.05",
                 "--summary", str(target)]) == 1
    text = target.read_text("utf-8")
    assert text.startswith("**robustcheck: FAIL** · model cli &lt;model&gt; · n=32 · seed=0")
    assert "- **major** case.upper" in text and "| case.upper | 1 |" in text
    assert f"summary: {target}" in capsys.readouterr().err
    assert list(target.parent.iterdir()) == [target]  # written atomically: no stray file


def test_run_summary_to_a_folder_is_a_usage_error_before_the_audit(
    cli_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*cli_args, "--summary", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--summary" in capsys.readouterr().err


def test_under_github_actions_the_summary_is_appended_to_the_step_summary(
    cli_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    step = tmp_path / "step_summary.md"
    step.write_text("# an earlier step\n", "utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    assert main(cli_args) == 0  # without --summary too
    assert main(cli_args) == 0
    text = step.read_text("utf-8")
    assert text.startswith("# an earlier step\n**robustcheck: NOT CHECKED**")
    assert text.count("**robustcheck: NOT CHECKED**") == 2  # appended, never truncated


def test_a_step_summary_that_cannot_be_written_is_a_warning_not_a_failure(
    cli_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a folder
    assert main(cli_args) == 0
    assert "cannot append to $GITHUB_STEP_SUMMARY" in capsys.readouterr().err


# -- the pytest plugin ------------------------------------------------------------------------

TWO_TESTS = """
@pytest.mark.robustcheck(max_flip_rate=0.05)
def test_strict(robustcheck):
    robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper"], name="strict")

def test_unchecked(robustcheck):
    robustcheck.run(model, TEXTS, LABELS, perturbations=["typo.swap"], name="loose <b>")
    pytest.skip("after recording")

def test_without_robustcheck():
    pass
"""


def test_the_session_summary_lists_each_test_with_its_outcome_verdict_and_findings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    project(pytester, TWO_TESTS, model="model_v2")
    out = pytester.runpytest("--robustcheck-summary=out/summary.md")
    out.assert_outcomes(failed=1, skipped=1, passed=1)
    text = (pytester.path / "out" / "summary.md").read_text("utf-8")
    assert text.startswith("## robustcheck\n\n2 results (1 FAIL, 1 NOT CHECKED).")
    strict = text.index("### test\\_robust.py::test\\_strict \\[strict\\] (test failed)")
    loose = text.index("### test\\_robust.py::test\\_unchecked \\[loose &lt;b&gt;\\] "
                       "(test skipped)")
    assert strict < text.index("**robustcheck: FAIL** · model strict") < loose
    assert "- **major** case.upper flips 50% \\[31.4, 68.6\\] of predictions" in text
    assert "test\\_without\\_robustcheck" not in text
    out.stdout.fnmatch_lines(["robustcheck summary: */out/summary.md"])


def test_an_ini_key_sets_the_summary_path(pytester: pytest.Pytester,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    project(pytester, TWO_TESTS)
    pytester.makeini("[pytest]\nrobustcheck_summary = from_ini.md\n")
    pytester.runpytest()
    assert (pytester.path / "from_ini.md").read_text("utf-8").startswith("## robustcheck")


def test_the_session_summary_lists_regressions_against_the_baseline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    body = """
        def test_sentiment(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper", "typo.swap"],
                            name="sentiment")
    """
    project(pytester, body, model="model_v1")
    pytester.runpytest("--robustcheck-json=v1.json").assert_outcomes(passed=1)
    project(pytester, body, model="model_v2")
    worse = pytester.runpytest("--robustcheck-baseline=v1.json", "--robustcheck-summary=s.md")
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    text = (pytester.path / "s.md").read_text("utf-8")
    section = text.split("### Regressions against the baseline (failing the session)\n\n")[1]
    assert section.startswith(
        "- test\\_robust.py::test\\_sentiment \\[sentiment\\]: case.upper at severity 1: "
        "failure\\_rate 0.0% → 50.0% (p ")


def test_under_github_actions_the_session_summary_is_appended_only_with_results(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    step = tmp_path / "step.md"
    step.write_text("earlier\n", "utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert step.read_text("utf-8") == "earlier\n"
    project(pytester, TWO_TESTS)
    pytester.runpytest("test_robust.py")
    text = step.read_text("utf-8")
    assert text.startswith("earlier\n## robustcheck\n") and "test\\_strict" in text


@pytest.mark.slow  # an xdist session: a controller and two worker interpreters
def test_outcomes_from_xdist_workers_reach_the_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("xdist")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    project(pytester, TWO_TESTS, model="model_v2")
    out = pytester.runpytest_subprocess("-n", "2", "--robustcheck-summary=s.md")
    out.assert_outcomes(failed=1, skipped=1, passed=1)
    text = (pytester.path / "s.md").read_text("utf-8")
    assert "\\[strict\\] (test failed)" in text
    assert "\\[loose &lt;b&gt;\\] (test skipped)" in text


def test_a_clean_pass_that_breaks_a_threshold_is_one_finding_listed_first():
    from robustcheck._markdown import run_summary_markdown

    texts = [f"review number {i}" for i in range(40)]

    def fragile(batch):
        if any(t.endswith("7") for t in batch):
            raise ValueError("cannot read a seven")
        return ["pos"] * len(batch)

    result = robustcheck.run(fragile, texts, ["pos"] * 40, perturbations=["case.upper"],
                             severities=[1.0], progress=False, name="fragile")
    with pytest.raises(RobustnessError):
        result.check(max_crash_rate=0)
    text = run_summary_markdown(result)
    listed = [line for line in text.splitlines() if line.startswith("- **")]
    assert listed[0].startswith("- **major** The model crashes on 10% \\[4.0, 23.1\\] of "
                                "the clean inputs")
    assert sum("clean inputs" in line for line in listed) == 1
