"""The README stays true to the code."""

from __future__ import annotations

from pathlib import Path

import perturbations
from perturbations import _docs

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_catalogue_table_is_current() -> None:
    text = README.read_text("utf-8")
    block = text.split(_docs.BEGIN, 1)[1].split(_docs.END, 1)[0]
    assert block.strip() == _docs.catalogue_markdown().strip(), (
        "README catalogue is stale: run `python -m perturbations._docs`"
    )


def test_the_readme_names_every_registered_perturbation() -> None:
    text = README.read_text("utf-8")
    missing = [p.name for p in perturbations.catalogue() if f"`{p.name}`" not in text]
    assert missing == []


def test_the_quick_start_has_the_two_commands_ci_runs() -> None:
    text = README.read_text("utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[1].endswith("pytest") and "[test]" in commands[1]
