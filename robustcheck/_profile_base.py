"""What the production profile's modality modules and its public API share: the
:class:`Phenomenon` record, its Wilson share and the note of what needs a reference.

Imported by :mod:`robustcheck._profile` (which makes ``Phenomenon`` public) and by the
modality modules :mod:`robustcheck._profile_text` and :mod:`robustcheck._profile_table`;
it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import Metric
from .stats import wilson_interval

NEEDS_REFERENCE = "not measured: pass reference= (the clean data the model was audited on)"


def _share(count: int | None, n: int, confidence: float = 0.95) -> Metric | None:
    if count is None or n == 0:
        return None
    low, high = wilson_interval(count, n, confidence)
    return Metric(count / n, low, high, n)


@dataclass(frozen=True)
class Phenomenon:
    """One thing production inputs may show: how many of the ``n`` inputs show it
    (``count``; None when it could not be measured, ``note`` says why) and the catalogue
    families it stands for (none for the formats merely reported as seen)."""

    name: str
    label: str
    families: tuple[str, ...]
    count: int | None
    n: int
    column: str | None = None
    note: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.column)

    @property
    def title(self) -> str:
        return self.label if self.column is None else f"{self.label} [{self.column}]"

    @property
    def share(self) -> Metric | None:
        """The share of inputs showing it, with its Wilson 95% interval."""
        return _share(self.count, self.n)


_Found = list[tuple["Phenomenon", "np.ndarray | None"]]
"""Each phenomenon found, with a mask of the inputs showing it (None: not measured)."""
