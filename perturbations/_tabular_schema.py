"""The ``schema.*`` perturbations: the frame's shape changes while its data does not
(columns reordered, extra columns appended, dtypes changed as another reader gives them).

Which columns move is decided per column *name* (:func:`pick_movers`), the same for every
batch. Layer 4 of the tabular catalogue: imports the writers and the column layer below
it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._random import Draws
from ._registry import perturbation
from ._tabular_columns import (
    any_dtype,
    as_objects,
    column_draw,
    draw_choices,
    dtype_kind,
    floats,
    is_categorical,
    is_numeric,
    pick_columns,
    pick_movers,
    reference_spread,
)
from ._tabular_writers import ArrayLike, copy_on_write, set_column, start_frame

_EXTRA_COLUMNS = 3  # schema.extra_column at severity 1

@perturbation(
    name="schema.column_order", modality="tabular", expectation="invariant",
    description="Permutes the columns, as a new export or a SELECT * does; every moved "
                "column lands in a new position (same permutation for every batch).",
    severity="share of the columns that move: max(2, ceil(severity x columns)) of them "
             "(all at 1.0); frames with fewer than two columns are unchanged",
)
def schema_column_order(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        columns: Sequence[str] | None = None) -> pd.DataFrame:
    candidates = [j for j, _, _ in pick_columns(frame, columns, any_dtype)]
    labels = [frame.columns[j] for j in candidates]
    picked = [candidates[i] for i in pick_movers(draws, labels, severity, least=2)]
    if len(picked) < 2:
        return start_frame(frame)
    # one cycle through the movers, in an order drawn per name: each one moves
    cycle = sorted(picked, key=lambda j: column_draw(draws, 2, frame.columns[j]))
    order = list(range(frame.shape[1]))
    for source, target in zip(cycle, cycle[1:] + cycle[:1]):
        order[target] = source
    return frame.iloc[:, order].copy(deep=not copy_on_write())


@perturbation(
    name="schema.extra_column", modality="tabular", expectation="invariant",
    description="Appends unexpected columns a model should ignore: a float, then a text, "
                "then an integer column, named `name`, `name`_2, ... (made unique).",
    severity="number of extra columns: ceil(3 x severity) (3 at 1.0)",
)
def schema_extra_column(frame: pd.DataFrame, *, draws: Draws, severity: float,
                        name: str = "extra") -> pd.DataFrame:
    out = start_frame(frame)
    words = np.array(["alpha", "beta", "gamma", "delta"], dtype=object)
    makers = (
        lambda: np.round(draws.uniform(1), 6),
        lambda: words[draw_choices(draws, 2, "extra", len(words))],
        lambda: (draws.bits(3) % np.uint64(100)).astype(np.int64),
    )
    taken = set(frame.columns)
    for k, make in enumerate(makers[: math.ceil(_EXTRA_COLUMNS * severity)]):
        label = name if k == 0 else f"{name}_{k + 1}"
        while label in taken:
            label = f"_{label}"
        taken.add(label)
        out.insert(out.shape[1], label, make(), allow_duplicates=False)
    return out


def _other_dtype(s: pd.Series) -> ArrayLike:
    """The same values in the dtype another reader would give them."""
    dtype = s.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return as_objects(s)  # categories or strings lost: objects
    if not isinstance(dtype, np.dtype):  # nullable Int64/Float64/boolean: numpy floats
        return np.array(floats(s), dtype=np.float64, copy=True)
    if dtype.kind == "b":
        return s.to_numpy(dtype=np.int64)
    return s.to_numpy(dtype=np.float32 if dtype == np.float64 else np.float64)


def _convertible(s: pd.Series, largest: float) -> bool:
    """Whether :func:`_other_dtype` keeps the values of the reference column, whose
    largest finite absolute value is ``largest``: integers up to 2**53 in a float64,
    floats within float32's range in a float32."""
    if is_categorical(s) or isinstance(s.dtype, pd.StringDtype) or dtype_kind(s) == "b":
        return True
    if dtype_kind(s) not in "iuf":
        return False
    if dtype_kind(s) in "iu":
        return largest <= 2.0**53
    return s.dtype != np.float64 or largest <= float(np.finfo(np.float32).max)


@perturbation(
    name="schema.dtype", modality="tabular", expectation="invariant",
    description="Changes column dtypes, as another reader or a parquet round trip does: "
                "int -> float64, float64 -> float32 (7 significant digits), float32 -> "
                "float64, bool -> int64, nullable Int64/Float64/boolean -> float64 with NaN, "
                "categorical and string -> object. A column whose reference values would not "
                "survive the change (integers above 2**53, floats beyond float32) is kept.",
    severity="share of the convertible columns converted: at least one, all at 1.0 "
             "(which ones is drawn per column name)",
)
def schema_dtype(frame: pd.DataFrame, *, draws: Draws, severity: float,
                 columns: Sequence[str] | None = None,
                 reference: pd.DataFrame | None = None) -> pd.DataFrame:
    out = start_frame(frame)
    targets = [(j, label, s) for j, label, s in pick_columns(frame, columns, any_dtype)
               if _convertible(s, reference_spread(reference, label, s).largest
                               if is_numeric(s) else 0.0)]
    for i in pick_movers(draws, [label for _, label, _ in targets], severity, least=1):
        j, _, s = targets[i]
        set_column(out, j, _other_dtype(s))
    return out
