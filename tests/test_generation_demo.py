"""The demo's generative section (an extractive summariser audited with
``task="generation"``) and ``examples/llm_chat_endpoint.py``, which audits an
OpenAI-compatible endpoint: its own, served on 127.0.0.1, when no URL is given."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import robustcheck
from robustcheck import demo
from robustcheck.datasets import load_reviews

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm_chat_endpoint.py"

# -- the summariser ---------------------------------------------------------------------


def test_the_summary_is_one_sentence_of_the_review_as_written() -> None:
    reviews = load_reviews().texts
    for review, summary in zip(reviews, demo.summarise(reviews)):
        assert summary in demo.sentences(review)
        assert summary and summary in review


def test_the_summariser_is_deterministic() -> None:
    reviews = load_reviews().texts[:200]
    assert demo.summarise(reviews) == demo.summarise(list(reviews))
    assert demo.summarise(reviews) == [demo.extractive_summary(r) for r in reviews]


def test_the_summary_is_the_sentence_with_the_most_content_words_ties_to_the_first() -> None:
    assert demo.extractive_summary("Great value. The hotel staff were friendly and "
                                   "helpful!") == "The hotel staff were friendly and helpful!"
    # two content words each: the first wins
    assert demo.extractive_summary("Good pasta. Slow service.") == "Good pasta."
    # "pasta" is also in another sentence, so it counts twice: 3 against 2
    assert demo.extractive_summary("Awful bread. The pasta again. Lovely pasta!") == \
        "The pasta again."


@pytest.mark.parametrize(("text", "expected"), [
    ("", []), ("   ", []), ("One sentence", ["One sentence"]),
    ("Wait... what? Yes!! ok", ["Wait...", "what?", "Yes!!", "ok"]),
    ("$4.50 for tea. Fine.", ["$4.50 for tea.", "Fine."]),
])
def test_sentences_end_at_punctuation_followed_by_space(text: str,
                                                        expected: list[str]) -> None:
    assert demo.sentences(text) == expected
    assert demo.first_sentence(text) == (expected[0] if expected else "")
    assert demo.extractive_summary(text) in [*expected, ""]


# -- the demo's section -----------------------------------------------------------------


def test_the_generation_section_writes_a_report_and_a_json_of_a_generation_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 60 reviews rather than the demo's 150: nothing below depends on how many (the
    # slow whole-demo test in test_augment.py runs the section at full size)
    monkeypatch.setattr(demo, "GENERATION_REVIEWS", 60)
    said: list[str] = []
    files: dict[str, Path] = {}
    results: dict[str, robustcheck.RunResult] = {}
    result = demo.generation_section(tmp_path, progress=False, say=said.append,
                                     files=files, results=results)
    assert results[demo.SUMMARISER] is result
    assert files["summariser report"].is_file()
    html = files["summariser report"].read_text("utf-8")
    assert demo.SUMMARISER in html and "Noise floor" in html and "change rate" in html
    loaded = robustcheck.load(files["summariser json"])
    assert loaded.task == "generation" and loaded.n == demo.GENERATION_REVIEWS
    assert loaded.rows and all("change_rate" in r.metrics for r in loaded.rows)
    assert {r.family for r in loaded.rows} >= {"typo", "case", "whitespace"}
    # a pure function: it never changes its own answers, and perturbations do change some
    assert loaded.clean["self_change_rate"]["value"] == 0
    assert max(r.metrics["change_rate"].value for r in loaded.rows) > 0.2
    assert 0 < loaded.clean["correctness"]["value"] < 1
    line = demo.generation_summary(loaded)
    assert line.startswith(f"Generation ({demo.SUMMARISER}, {demo.GENERATION_REVIEWS} reviews")
    assert said and "summariser" in said[0]


# -- the example ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_example(tmp_path: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path / "out"),
                           "--cache", str(tmp_path / "cache"), "--n", "8", *args],
                          capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return float(found.group(1))


@pytest.mark.slow  # the example end to end twice, each in its own interpreter with a server
def test_the_example_audits_its_own_endpoint_and_a_rerun_is_answered_by_the_cache(
        tmp_path: Path) -> None:
    port = str(free_port())
    first = run_example(tmp_path, "--port", port)
    assert f"127.0.0.1:{port}/v1" in first
    calls = number(r"calls made: (\d+)", first)
    assert calls > 8 * 20  # the prompts under every perturbation went over HTTP
    result = robustcheck.load(tmp_path / "out" / "llm_chat_endpoint.json")
    assert result.task == "generation" and result.n == 8 and result.complete
    assert {r.family for r in result.rows} >= {"typo", "case", "injection", "distractor"}
    assert (tmp_path / "out" / "llm_chat_endpoint.html").is_file()
    # the assistant obeys injected orders: the canary shows up, and the example says so
    assert number(r"injection failure rate \(canary printed\): ([\d.]+)%", first) > 0
    assert re.search(r"clean correctness .*: 0\.\d+", first)

    again = run_example(tmp_path, "--port", port)
    assert number(r"calls made: (\d+)", again) == 0
    assert number(r"cache hits: (\d+)", again) >= calls
    rerun = robustcheck.load(tmp_path / "out" / "llm_chat_endpoint.json")
    assert [r.metrics["change_rate"].value for r in rerun.rows] == \
        [r.metrics["change_rate"].value for r in result.rows]


def test_the_example_refuses_a_model_name_without_an_endpoint(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE), "--model", "gpt-4o-mini",
                           "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "--model needs --base-url" in done.stderr
