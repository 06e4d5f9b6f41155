"""``robustcheck run`` for a model that writes text: --task generation, the scorer and
the output contract from the command line, and a chat endpoint's response cache, on by
default under .robustcheck/cache."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from chatserver import ChatServer

from robustcheck.cli import main

GEN_MODEL = '''
import json
import os

from robustcheck.adapters import ChatCompletions


def summarise(prompts):
    """The first three words of each prompt, as JSON."""
    return [json.dumps({"summary": " ".join(p.split()[:3])}) for p in prompts]


def endpoint():
    return ChatCompletions(os.environ["CHAT_URL"], "echo-1")
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "gen_model.py").write_text(GEN_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "gen_model", raising=False)
    monkeypatch.chdir(tmp_path)
    rows = [{"prompt": f"Summarise: the room {i} was clean and quiet.",
             "ref": json.dumps({"summary": "Summarise: the room"})} for i in range(12)]
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def run(project: Path, model: str, *extra: str) -> int:
    return main(["run", "--model", model, "--data", str(project / "prompts.jsonl"),
                 "--input-column", "prompt", "-q", "--perturbations", "case.upper",
                 "--severities", "1", "--json", str(project / "out.json"), *extra])


def result(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((project / "out.json").read_text())
    return loaded


def test_a_text_writing_model_is_audited_with_the_options_given(project: Path) -> None:
    schema = project / "schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["summary"]}))
    assert run(project, "gen_model:summarise", "--label-column", "ref", "--task",
               "generation", "--similarity", "exact", "--similarity-threshold", "0.9",
               "--output-contract", str(schema)) == 0
    out = result(project)
    assert out["task"] == "generation"
    settings = out["clean"]["generation"]
    assert settings["similarity"] == "exact" and settings["threshold"] == 0.9
    assert settings["output"]["kind"] == "json-schema"
    metrics = out["rows"][0]["metrics"]
    assert metrics["format_failure_rate"]["value"] == 0.0
    assert out["clean"]["correctness"]["value"] == 1.0


@pytest.mark.parametrize(("extra", "message"), [
    (["--similarity", "chrf"], "--similarity apply to a model that writes text; add --task "
                               "generation"),
    (["--task", "generate"], "--task 'generate': unknown task; known: classification"),
    (["--task", "generation", "--similarity", "bleu"], "--similarity: .*not a built-in scorer: "
                                                       "use one of 'chrf', 'exact', 'token_f1'"),
    (["--task", "generation", "--output-contract", "missing.json"],
     "--output-contract 'missing.json': cannot read a JSON schema"),
    (["--task", "generation", "--cache", "c.sqlite"], "--cache 'c.sqlite': only a chat "
                                                      "endpoint"),
])
def test_generation_options_used_wrongly_are_usage_errors(
        project: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
        message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(project, "gen_model:summarise", *extra)
    assert exit_.value.code == 2
    assert re.search(message, capsys.readouterr().err, re.I)


def test_a_chat_endpoint_keeps_its_answers_under_robustcheck_cache_by_default(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ChatServer() as server:
        monkeypatch.setenv("CHAT_URL", server.base_url)
        assert run(project, "gen_model:endpoint") == 0
        asked = server.count
        assert asked > 0 and (project / ".robustcheck" / "cache").exists()
        assert result(project)["task"] == "generation"
        assert run(project, "gen_model:endpoint") == 0
        assert server.count == asked  # the rerun is answered from the cache
        assert run(project, "gen_model:endpoint", "--no-cache") == 0
        assert server.count > asked
        elsewhere = project / "other.sqlite"
        assert run(project, "gen_model:endpoint", "--cache", str(elsewhere)) == 0
        assert elsewhere.exists()
