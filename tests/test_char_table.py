"""A character table's membership test against its lookup, and the case forms the case
perturbations write, on any code points."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import perturbations
from perturbations._text_chars import _fullwidth, _ocr
from perturbations._text_engine import case_forms, case_table
from perturbations.edits import word_spans


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


@given(st.data())
def test_case_forms_are_the_case_tables_forms_and_the_code_point_elsewhere(data) -> None:
    for kind in ("upper", "lower"):
        table = case_table(kind)
        keys = keys_of(table)
        # the dense table stops at the BMP unless the code points go past it: both ways
        top = data.draw(st.sampled_from([0xFFFF, 0x10FFFF]))
        points = data.draw(st.lists(st.one_of(st.sampled_from(keys), st.integers(0, top)),
                                    min_size=1, max_size=40))
        cps = np.array(points, dtype=np.uint32)
        rows, found = table.lookup(cps)
        expected = np.where(found, table.values[rows, 0], cps)
        assert case_forms(kind, cps).tolist() == expected.tolist()
        assert cps.tolist() == points  # the code points given are left as they were


CASE_TEXTS = st.lists(st.text(st.sampled_from([*"aZßǅǄǆİıſΣσς'’ -.1", "\U00010400",
                                               "\U00010428", "\U0001d400"]), max_size=30),
                      min_size=1, max_size=8)


@given(texts=CASE_TEXTS, seed=st.integers(0, 3), severity=st.sampled_from([0.3, 1.0]))
def test_a_change_of_case_changes_letters_only_to_their_case_tables_forms(texts, seed,
                                                                          severity) -> None:
    upper, lower = case_table("upper"), case_table("lower")

    def form(table, c: str) -> str | None:
        rows, found = table.lookup(np.array([ord(c)], dtype=np.uint32))
        return chr(table.values[rows[0], 0]) if found[0] else None

    for name in ("case.upper", "case.lower", "case.title", "case.random"):
        out = perturbations.get(name).apply(texts, severity=severity, seed=seed)
        for before, after in zip(texts, out):
            assert len(after) == len(before)
            heads = {start for start, _ in word_spans(before)}
            for i, (b, a) in enumerate(zip(before, after)):
                if a == b:
                    continue
                allowed = {"case.upper": form(upper, b), "case.lower": form(lower, b),
                           "case.title": form(upper if i in heads else lower, b),
                           # a letter with a lower-case form is lowered, even one (such
                           # as 'ǅ') that also has an upper-case form
                           "case.random": form(lower, b) or form(upper, b)}[name]
                assert a == allowed, (name, before, after)
