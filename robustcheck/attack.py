"""Black-box attacks: the smallest input change found that flips a model's label.

Random perturbations measure average-case brittleness; an engineer debugging a model
wants the worst case, as a concrete input: *this* review, with *these* two letters
changed, is read as negative. The attacks here search for such inputs using nothing but
the model's answers (labels, and scores when it gives them), so they work on any model
:func:`robustcheck.adapt` accepts, an HTTP endpoint included.

- :func:`attack_text` ranks the words of a text by how much leaving each one out lowers
  the model's score for its clean label (or whether it changes the label, for models
  that return labels only), then greedily edits one character of the most important
  words first (the catalogue's typo kinds: keyboard neighbour, swap, delete, homoglyph),
  keeping the edit that lowers the clean label's score most, until the label flips or a
  budget runs out.
- :func:`attack_tabular` moves a row's numeric features along random directions measured
  in standard deviations of a reference data set, finds a direction that flips the label
  within a radius, bisects the radius to the boundary, and tries swapping categorical
  values for values seen in the reference.

Budgets are exact: every input sent to the model counts as one query (the clean input,
leave-one-out variants, candidates, inputs re-sent while isolating a crash), and no input
is sent once ``max_queries`` for that input is spent. A model error never aborts an
attack: the failing candidate is isolated (a failing batch is split in halves, as the
runner does), recorded and skipped. Randomness comes from generators keyed by ``(seed,
index of the input)``, so the same seed gives the same result, whatever the order or the
subset of inputs attacked (pass ``indices`` when attacking a shard).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perturbations.edits import EDIT_KINDS, Edit, word_edits, word_spans
from perturbations.edits import text_edits as text_edits

from ._attack_common import STATUSES as STATUSES
from ._attack_common import AttackResult
from ._attack_tabular import attack_tabular
from ._attack_text import apply_edits, attack_text, random_edits
from ._files import jsonable
from .errors import InvalidArgument

# The attacks live in private modules (_attack_common, _attack_text, _attack_tabular);
# this module is their public face and holds the records that run them in a run.
__all__ = [
    "EDIT_KINDS",
    "AttackResult",
    "Edit",
    "apply_edits",
    "attack_tabular",
    "attack_text",
    "random_edits",
    "word_edits",
    "word_spans",
]


# -- attacks as rows of robustcheck.run ---------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """An attack run as a row of :func:`robustcheck.run`, next to the perturbations:
    ``perturbations=["text", "attack.text"]``. It fills the same record fields as a
    :class:`~perturbations.Perturbation` (name, family, modality, expectation, what
    severity scales), so results, checks, comparisons and the report treat it alike.

    A row's coverage is the share of inputs attacked, its flip rate the attack's success
    rate; the attack's own numbers (edits, queries) are in ``row.details``.
    """

    name: str
    modality: str
    description: str
    severity: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    expectation: str = "invariant"
    direction: str = ""
    default: bool = False
    minimal: bool = False
    """Whether a run asked for ``minimal=True`` also searches its smallest breaking change."""

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def variant(self) -> str:
        return self.name.split(".", 1)[1]

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "modality": self.modality,
                "expectation": self.expectation, "direction": self.direction,
                "description": self.description, "severity": self.severity,
                "parameters": {k: jsonable(v) for k, v in sorted(self.parameters.items())}}

    def configure(self, **parameters: Any) -> Attack:
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            raise InvalidArgument(f"{self.name} has no parameter {unknown[0]!r}; its "
                                  f"parameters are: {', '.join(sorted(self.parameters))}")
        return dataclasses.replace(self, parameters={**self.parameters, **parameters})

    def run(self, model: Any, inputs: Any, *, severity: float, seed: int,
            timeout: float | None = None) -> AttackResult:
        """The attack at ``severity`` (which scales its budget) on every input; each
        query under the run's ``timeout``."""
        raise NotImplementedError(f"{type(self).__name__} must implement run")


@dataclass(frozen=True)
class TextAttack(Attack):
    """:func:`attack_text` as a row: severity scales the number of edited characters."""

    def run(self, model: Any, inputs: Any, *, severity: float, seed: int,
            timeout: float | None = None) -> AttackResult:
        params = dict(self.parameters)
        max_edits = max(1, math.ceil(severity * params.pop("max_edits") - 1e-9))
        return attack_text(model, inputs, seed=seed, max_edits=max_edits, timeout=timeout,
                           **params)


@dataclass(frozen=True)
class TabularAttack(Attack):
    """:func:`attack_tabular` as a row: severity scales the search radius."""

    def run(self, model: Any, inputs: Any, *, severity: float, seed: int,
            timeout: float | None = None) -> AttackResult:
        params = dict(self.parameters)
        radius = params.pop("radius") * severity
        return attack_tabular(model, inputs, seed=seed, radius=radius, timeout=timeout,
                              **params)


ATTACKS = {
    "attack.text": TextAttack(
        name="attack.text", modality="text",
        description="Black-box attack: words ranked by how much leaving each out lowers the "
                    "model's confidence, then one-character edits (keyboard, swap, delete, "
                    "homoglyph) to the most important words first, until the label flips "
                    "or the budget is spent. The row's flip rate is its success rate.",
        severity="edit budget: ceil(5 x severity) edited characters (5 at 1.0), 200 model "
                 "queries per input",
        parameters={"max_edits": 5, "max_queries": 200, "candidates": 8},
        minimal=True,
    ),
    "attack.tabular": TabularAttack(
        name="attack.tabular", modality="tabular",
        description="Black-box search for the smallest change that flips a row's label: "
                    "random directions over the numeric features in standard deviations, "
                    "bisected to the decision boundary, and swaps of categorical values.",
        severity="search radius: 3 x severity standard deviations (3 at 1.0), 200 model "
                 "queries per row",
        parameters={"radius": 3.0, "max_queries": 200, "directions": 16},
    ),
}
