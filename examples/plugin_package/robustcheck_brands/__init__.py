"""robustcheck-brands: brand-name perturbations for robustcheck's catalogue.

Importing this module registers ``brand.competitor``. robustcheck imports it through the
``robustcheck.perturbations`` entry point declared in ``pyproject.toml``, so users of an
installed copy never import it themselves: ``perturbations.get("brand.competitor")``.
"""

from __future__ import annotations

import re

import numpy as np

import perturbations

__all__ = ["COMPETITORS", "competitor"]
__version__ = "0.1"

# Each brand and its competitor, both ways.
COMPETITORS: tuple[tuple[str, str], ...] = (
    ("Acme", "Globex"),
    ("Initech", "Hooli"),
    ("Vandelay", "Soylent"),
)


@perturbations.perturbation(
    name="brand.competitor", modality="text", expectation="invariant",
    description="A brand name replaced by its competitor's: 'my Acme phone' -> 'my Globex "
                "phone'. A review should not change its sentiment with the brand. Texts "
                "without a known brand are left unchanged.",
    severity="share of the brand mentions replaced: all of them at 1.0, at least one",
)
def competitor(text: str, *, rng: np.random.Generator, severity: float,
               competitors: tuple[tuple[str, str], ...] = COMPETITORS) -> str:
    swap = {a: b for a, b in competitors} | {b: a for a, b in competitors}
    if not swap:
        return text
    names = sorted(swap, key=len, reverse=True)
    mentions = list(re.finditer(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b", text))
    if not mentions:
        return text
    # Only the given rng, and the same draw at every severity: a stronger severity
    # replaces a superset of the mentions a weaker one replaced.
    order = rng.permutation(len(mentions))
    chosen = set(order[: max(1, round(severity * len(mentions)))].tolist())
    parts, last = [], 0
    for i, m in enumerate(mentions):
        parts += [text[last:m.start()], swap[m.group()] if i in chosen else m.group()]
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)
