"""The shape of the code: imports inside ``robustcheck`` flow one way, and the harness
uses only the catalogue's public surface (DESIGN §2, §12).

The graph is built from the source with ``ast``, counting imports at any scope (inside
functions and ``TYPE_CHECKING`` blocks too), because an import hidden in a function is
still a dependency: it only moves the cycle from import time to run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "robustcheck"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")

# The one back-edge allowed: a result renders itself (``to_html``) through the report,
# which reads results. It is a convenience, imported lazily inside the method.
ALLOWED = {("results", "report"), ("comparison", "report")}


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.Module]:
    """``{file name: syntax tree}`` of every source file of ``robustcheck``, parsed once
    for the module: the import graph and the scans below walk the same files, and parsing
    them is the cost. Module-scoped, so the trees are freed when the module is done."""
    return {path.name: ast.parse(path.read_text("utf-8")) for path in sorted(PACKAGE.glob("*.py"))}


@pytest.fixture(scope="module")
def graph(trees: dict[str, ast.Module]) -> dict[str, dict[str, bool]]:
    """``{module: imports_of(module)}`` for every module but ``__init__``."""
    return {m: imports_of(m, trees[f"{m}.py"]) for m in MODULES}


def imports_of(module: str, tree: ast.Module) -> dict[str, bool]:
    """``{imported robustcheck module: imported at module level}`` of ``module``, whose
    syntax tree is ``tree``."""
    top_level = {id(node) for node in tree.body}
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                names = [node.module.split(".")[0]] if node.module else \
                    [a.name for a in node.names]
            elif node.level == 0 and (node.module or "").startswith("robustcheck"):
                parts = (node.module or "").split(".")
                names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names
                     if a.name.startswith("robustcheck.")]
        for name in names:
            if name in MODULES and name != module:
                found[name] = found.get(name, False) or id(node) in top_level
    return found



def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_of_robustcheck_has_no_cycle(graph):
    edges = {m: {d for d in deps if (m, d) not in ALLOWED} for m, deps in graph.items()}
    assert find_cycle(edges) is None, f"import cycle: {' -> '.join(find_cycle(edges) or [])}"


@pytest.mark.parametrize(("module", "target"), sorted(ALLOWED))
def test_the_allowed_back_edge_is_a_lazy_import(module, target, graph):
    assert graph[module].get(target) is False, f"{module} must import {target} lazily"


def test_a_cycle_is_found_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_robustcheck_never_imports_a_private_perturbations_module(trees):
    offenders = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [f"{name}: {n}" for n in names
                          if n.startswith("perturbations.") and
                          n.split(".")[1].startswith("_")]
    assert offenders == []


def _name_of(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def test_only_tasks_and_modalities_compare_a_task_or_modality_with_a_literal(trees):
    # ``task == "regression"`` or ``modality in ("text", ...)`` outside their own objects
    # is the surgery a new task or modality would need (DESIGN §12).
    offenders = []
    for name, tree in trees.items():
        if name in ("tasks.py", "modalities.py"):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            named = any(_name_of(s) in ("task", "modality") for s in sides)
            literal = any((isinstance(s, ast.Constant) and isinstance(s.value, str)) or
                          (isinstance(s, (ast.Tuple, ast.List, ast.Set)) and
                          any(isinstance(e, ast.Constant) for e in s.elts)) for s in sides)
            if named and literal:
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []
