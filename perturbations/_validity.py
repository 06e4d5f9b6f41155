"""The validity study: for every text perturbation, pairs (original, perturbed) drawn from
robustcheck's shipped reviews at severity 1.0, seed 0, each judged by a person reading it
(``data/validity/<name>.jsonl``, drawn by ``scripts/draw_validity_sample.py``).

A judgement says which sentiment the reader gives the perturbed text (``label_after``),
whether it still says the same thing (``meaning_kept``) and whether a person or their
software could plausibly have produced it (``plausible``). The summary of a perturbation's
pairs is part of its record, shown in the catalogue and the report. Default suites hold
only perturbations that pass: an invariant one keeps the label in at least
:data:`INVARIANT_MIN` of its pairs, a directional one changes it as stated in at least
:data:`DIRECTIONAL_MIN`; the others sit in the ``extended`` suite.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

__all__ = ["DIRECTIONAL_MIN", "INVARIANT_MIN", "judged_pairs", "summary"]

INVARIANT_MIN = 0.9
DIRECTIONAL_MIN = 0.8
OPPOSITE = {"positive": "negative", "negative": "positive"}


@functools.cache
def judged_pairs(name: str) -> tuple[dict[str, Any], ...]:
    """The judged pairs of perturbation ``name`` (empty when it has none)."""
    resource = files("perturbations").joinpath("data").joinpath("validity").joinpath(
        f"{name}.jsonl")
    if not resource.is_file():
        return ()
    lines = resource.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def summary(name: str) -> dict[str, Any] | None:
    """Counts over the judged pairs: ``pairs``, ``label_kept``, ``label_changed`` (to
    the opposite label), ``meaning_kept``, ``plausible``; None without a study."""
    pairs = judged_pairs(name)
    if not pairs:
        return None
    return {
        "pairs": len(pairs),
        "label_kept": sum(p["label_after"] == p["label"] for p in pairs),
        "label_changed": sum(p["label_after"] == OPPOSITE.get(p["label"]) for p in pairs),
        "meaning_kept": sum(bool(p["meaning_kept"]) for p in pairs),
        "plausible": sum(bool(p["plausible"]) for p in pairs),
    }


def passes(expectation: str, counts: dict[str, Any] | None) -> bool | None:
    """Whether a perturbation with this study may be in a default suite (None: the rule
    does not apply, e.g. no-crash perturbations or no study)."""
    if counts is None or not counts["pairs"]:
        return None
    if expectation == "invariant":
        return counts["label_kept"] >= INVARIANT_MIN * counts["pairs"]
    if expectation == "directional":
        return counts["label_changed"] >= DIRECTIONAL_MIN * counts["pairs"]
    return None


def describe(expectation: str, counts: Mapping[str, Any] | None, *, long: bool = False
             ) -> str:
    """The study in words: "label kept 29/30" ("label changed 15/16" for a directional
    perturbation); ``long``: "label kept in 29 of 30 judged pairs, meaning in 28,
    plausible in 30"."""
    if not counts or not counts.get("pairs"):
        return "not studied"
    n = counts["pairs"]
    kept = "changed as stated" if expectation == "directional" else "kept"
    count = counts["label_changed" if expectation == "directional" else "label_kept"]
    if not long:
        return f"label {kept.split()[0]} {count}/{n}"
    return (f"label {kept} in {count} of {n} judged pairs, meaning in "
            f"{counts.get('meaning_kept')}, plausible in {counts.get('plausible')}")


def validity_phrase(record: Mapping[str, Any], *, long: bool = False) -> str:
    """The validity study of a perturbation's record (``Perturbation.record()``, or the
    record a result stores) in words, as :func:`describe` writes it ("" without one)."""
    study = record.get("validity")
    if not isinstance(study, Mapping) or not study.get("pairs"):
        return ""
    return describe(str(record.get("expectation")), study, long=long)
