"""The ``category.*`` perturbations: text and categorical values as other sources spell
them (values never seen in training, another case, stray whitespace).

Layer 4 of the tabular catalogue: imports the writers, the rendering and the column
layer below it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ._random import Draws
from ._registry import perturbation
from ._tabular_columns import (
    IS_INSTANCE,
    any_dtype,
    draw_choices,
    is_categorical,
    is_textlike,
    pick_cells,
    pick_columns,
    reference_kept,
    string_cells,
)
from ._tabular_render import join
from ._tabular_writers import ArrayLike, set_column, start_frame, write_text

_UNSEEN_SHARE = 0.3  # category.unseen

def _holds_any(column: pd.Series, names: list[str]) -> bool:
    if is_categorical(column):  # unused categories count as seen too
        return bool(pd.Index(names).isin(column.cat.categories).any())
    if isinstance(column.dtype, pd.StringDtype):
        return bool(column.isin(names).any())
    values, is_str = string_cells(column)
    return bool(pd.Series(values[is_str], dtype=object).isin(names).any())


def _unseen_values(s: pd.Series, reference: pd.DataFrame | None, k: int = 3) -> list[str]:
    """``k`` category names that occur neither in the column nor in the reference."""
    def in_reference(names: list[str]) -> bool:  # kept: the reference is read once
        return bool(reference_kept(reference, s.name, s, ("holds", tuple(names)),
                                   lambda column: _holds_any(column, names)))

    stem = "unseen_value_"
    while True:
        names = [f"{stem}{i}" for i in range(1, k + 1)]
        if not (_holds_any(s, names) or in_reference(names)):
            return names
        stem = "_" + stem


@perturbation(
    name="category.unseen", modality="tabular", expectation="invariant",
    description="Replaces category values by values never seen in the reference (a new "
                "product code, a new country): text and categorical columns by default.",
    severity="share of the non-missing cells replaced: 0.3 x severity (30% at 1.0)",
)
def category_unseen(frame: pd.DataFrame, *, draws: Draws, severity: float,
                    columns: Sequence[str] | None = None,
                    reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_textlike, any_dtype):
        hit = pick_cells(draws, 1, label, _UNSEEN_SHARE * severity) & s.notna().to_numpy()
        rows = np.flatnonzero(hit)
        if rows.size == 0 and not is_categorical(s):  # a categorical gains the names anyway
            continue
        names = np.array(_unseen_values(s, reference), dtype=object)
        picked = names[draw_choices(draws, 2, label, len(names), rows)]
        set_column(out, j, write_text(s, hit, picked, categories=list(names)))
    return out


Variant = Callable[[np.ndarray], np.ndarray]


def _restyle(s: pd.Series, hit: np.ndarray, choice: np.ndarray,
             variants: Sequence[Variant]) -> ArrayLike | None:
    """Rewrite the str cells under ``hit`` with ``variants[choice]`` (``choice``: one
    per row). Categorical columns are rewritten through their categories, which are few;
    they gain every new spelling of their categories (in the order of the variants, then
    of the categories), used or not, so that their dtype does not depend on the rows
    rewritten. None when there is nothing to rewrite."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.array
        categories = np.asarray(cat.categories, dtype=object)
        is_str = IS_INSTANCE(categories, str).astype(bool)
        if not is_str.any():
            return None
        texts = categories[is_str].astype(str)
        table = [categories]
        for variant in variants:
            spelled = categories.copy()
            spelled[is_str] = variant(texts).astype(object)
            table.append(spelled)
        codes, uniques = pd.factorize(np.concatenate(table))  # codes[:n] == range(n)
        n = len(categories)
        new = np.asarray(cat.codes, dtype=np.intp).copy()
        touched = hit & (new >= 0)
        touched[touched] = is_str[new[touched]]
        new[touched] = codes[(choice[touched] + 1) * n + new[touched]]
        return pd.Categorical.from_codes(new, categories=uniques, ordered=cat.ordered)
    values, is_str = string_cells(s)
    hit = hit & is_str
    rows = np.flatnonzero(hit)
    if rows.size == 0:
        return None
    picked = choice[rows]
    codes, distinct = pd.factorize(values[rows])
    if len(distinct) * len(variants) <= rows.size:  # repeated values: spell each once
        texts = np.asarray(distinct, dtype=object).astype(str)
        spellings = np.stack([variant(texts).astype(object) for variant in variants])
        return write_text(s, hit, spellings[picked, codes])
    texts = values[rows].astype(str)
    new = np.empty(rows.size, dtype=object)
    for k, variant in enumerate(variants):
        mine = picked == k
        if mine.any():
            new[mine] = variant(texts[mine]).astype(object)
    return write_text(s, hit, new)


def _restyle_columns(frame: pd.DataFrame, draws: Draws, severity: float,
                     columns: Sequence[str] | None, variants: Sequence[Variant]) -> pd.DataFrame:
    out = start_frame(frame)
    for j, label, s in pick_columns(frame, columns, is_textlike):
        hit = pick_cells(draws, 1, label, severity)
        written = _restyle(s, hit, draw_choices(draws, 2, label, len(variants)), variants)
        if written is not None:
            set_column(out, j, written)
    return out


_CASES: tuple[Variant, ...] = (np.char.upper, np.char.lower, np.char.title)


@perturbation(
    name="category.case", modality="tabular", expectation="invariant",
    description='Changes the case of text values, chosen per cell: upper ("PARIS"), lower '
                '("paris") or title ("Paris"); text and categorical columns by default.',
    severity="share of the text cells re-cased: severity (every cell at 1.0; a cell already "
             "in the chosen case is unchanged)",
)
def category_case(frame: pd.DataFrame, *, draws: Draws, severity: float,
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    return _restyle_columns(frame, draws, severity, columns, _CASES)


def _padded(before: str, after: str) -> Variant:
    return lambda texts: join(before, texts, after)


_PADDINGS: tuple[Variant, ...] = (
    _padded(" ", ""), _padded("", " "), _padded(" ", " "), _padded("\t", ""),
    _padded("", "\t"), _padded("  ", "  "),
)


@perturbation(
    name="category.whitespace", modality="tabular", expectation="invariant",
    description="Surrounds text values with spaces or tabs (leading, trailing or both, "
                "chosen per cell), as hand-typed data and fixed-width exports do.",
    severity="share of the text cells padded: severity (every cell at 1.0)",
)
def category_whitespace(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        columns: Sequence[str] | None = None) -> pd.DataFrame:
    return _restyle_columns(frame, draws, severity, columns, _PADDINGS)
