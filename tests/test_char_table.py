"""A character table's membership test against its lookup, on any code points."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from perturbations._text_chars import _fullwidth, _ocr
from perturbations._text_engine import case_table


def tables():
    return [case_table("upper"), case_table("lower"), _fullwidth(), _ocr()]


def keys_of(table) -> list[int]:
    return np.flatnonzero(table.rows >= 0).tolist()


@given(st.data())
def test_has_is_whether_lookup_finds_a_row(data) -> None:
    for table in tables():
        keys = keys_of(table)
        # the table's keys (its first and last rows included), their neighbours, and any
        # code point up to the last one Unicode has, beyond the table's end too
        points = data.draw(st.lists(st.one_of(st.sampled_from(keys),
                                              st.sampled_from([keys[0], keys[-1],
                                                               keys[-1] + 1, 0]),
                                              st.integers(0, 0x10FFFF)),
                                    min_size=1, max_size=40))
        cps = np.array(points, dtype=np.uint32)
        rows, found = table.lookup(cps)
        assert table.has(cps).tolist() == found.tolist()
        assert found.tolist() == [p in set(keys) for p in points]
        assert (table.values[rows[found], 0] != 0).all()
