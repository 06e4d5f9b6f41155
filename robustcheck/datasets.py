"""The labelled data set robustcheck ships with, for the demo and for trying things out.

``load_reviews()`` returns 1,050 short English product and service reviews (6 to 30 words
each) labelled ``"positive"`` or ``"negative"`` (525 of each, as strings on purpose), 150
from each of seven domains: restaurants, hotels, electronics, delivery, apps, airlines and
clothing. Some reviews are plain, some contrastive ("the food was bland, but the staff
were lovely") and some negated ("wasn't bad at all"), and many hold names, places,
numbers and contractions, so that perturbations have something to act on and a
bag-of-words model gets roughly nine in ten right rather than all of them.

The reviews are synthetic: they were generated for robustcheck, from hand-written phrase
lists and a seeded random generator, by ``scripts/make_reviews.py``, which writes
``robustcheck/data/reviews.csv`` (columns ``text,label,domain``; UTF-8) byte for byte
the same on every run. No existing data set was copied or downloaded.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReviewData", "load_reviews"]


@dataclass(frozen=True)
class ReviewData:
    """Reviews as three parallel lists: ``texts[i]`` has label ``labels[i]`` and comes
    from domain ``domains[i]``."""

    texts: list[str]
    labels: list[str]
    domains: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def frame(self) -> pd.DataFrame:
        """The reviews as a DataFrame with columns ``text``, ``label`` and ``domain``."""
        import pandas as pd

        return pd.DataFrame({"text": self.texts, "label": self.labels, "domain": self.domains})


@functools.cache
def _read_reviews() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    resource = files("robustcheck").joinpath("data").joinpath("reviews.csv")
    text = resource.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return (tuple(row["text"] for row in rows), tuple(row["label"] for row in rows),
            tuple(row["domain"] for row in rows))


def load_reviews() -> ReviewData:
    """The review data set bundled with robustcheck (read once, then cached).

    Every call returns new lists, so changing them does not change the next call's.

    >>> data = load_reviews()
    >>> len(data), sorted(set(data.labels))
    (1050, ['negative', 'positive'])
    """
    texts, labels, domains = _read_reviews()
    return ReviewData(texts=list(texts), labels=list(labels), domains=list(domains))
