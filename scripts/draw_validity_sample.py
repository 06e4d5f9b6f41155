"""Draw the validity study's sample: for every text perturbation, 30 (original, perturbed)
pairs from the shipped reviews at severity 1.0, seed 0.

Each perturbation gets ``perturbations/data/validity/<name>.jsonl``, one pair per line:
the review's index, its label, both texts and the judgement fields, which a person fills
in by reading the pair::

    {"index": 17, "label": "negative", "original": "...", "perturbed": "...",
     "label_after": "negative", "meaning_kept": true, "plausible": true, "note": ""}

``label_after`` is the label a reader gives the perturbed text (``positive``,
``negative`` or ``unclear``); ``meaning_kept`` whether it says the same thing;
``plausible`` whether a person could have written it. Judgements already in a file are
kept for every pair that is drawn again unchanged, so re-running the script after a
perturbation changed leaves exactly the changed pairs to judge again (their judgement
fields are null). The pairs are the reviews the perturbation changes, 30 of them drawn
with a generator seeded by the perturbation's name, in index order.

    python scripts/draw_validity_sample.py                # every text perturbation
    python scripts/draw_validity_sample.py typo.keyboard  # only these
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

import perturbations
from robustcheck.datasets import load_reviews

PAIRS = 30
SEVERITY = 1.0
SEED = 0
FOLDER = Path(__file__).resolve().parent.parent / "perturbations" / "data" / "validity"
JUDGEMENT = ("label_after", "meaning_kept", "plausible", "note")


def draw(name: str) -> list[dict[str, Any]]:
    """The sample of one perturbation, judgement fields empty."""
    reviews = load_reviews()
    p = perturbations.get(name)
    after = p.apply(reviews.texts, severity=SEVERITY, seed=SEED)
    changed = [i for i, (a, b) in enumerate(zip(reviews.texts, after)) if a != b]
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    rng = np.random.default_rng(key)
    chosen = sorted(rng.choice(changed, size=min(PAIRS, len(changed)), replace=False).tolist())
    return [{"index": i, "label": reviews.labels[i], "original": reviews.texts[i],
             "perturbed": after[i], **dict.fromkeys(JUDGEMENT)} for i in chosen]


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def write(path: Path, pairs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="perturbations (default: every text one)")
    args = parser.parse_args()
    names = args.names or [p.name for p in perturbations.catalogue(modality="text")]
    for name in names:
        path = FOLDER / f"{name}.jsonl"
        judged = {(p["index"], p["original"], p["perturbed"]): p for p in read(path)}
        pairs = []
        for pair in draw(name):
            old = judged.get((pair["index"], pair["original"], pair["perturbed"]))
            pairs.append(old if old is not None else pair)
        write(path, pairs)
        todo = sum(p["label_after"] is None for p in pairs)
        print(f"{name:28} {len(pairs)} pairs, {todo} to judge")


if __name__ == "__main__":
    main()
