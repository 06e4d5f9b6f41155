"""How the text engine chooses the words (or characters) a perturbation touches: its
share of each text's candidates, by draws that do not depend on the share."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from perturbations._random import Draws
from perturbations._text_engine import rank_select

N_TEXTS = 6


@st.composite
def candidates(draw):
    """Candidates of up to six texts, in any order: each its text and its position there
    (distinct within a text)."""
    counts = draw(st.lists(st.integers(0, 12), min_size=N_TEXTS, max_size=N_TEXTS))
    pairs = [(text, k) for text, n in enumerate(counts) for k in range(n)]
    pairs = draw(st.permutations(pairs))
    owner = np.array([t for t, _ in pairs], dtype=np.int64)
    counter = np.array([k for _, k in pairs], dtype=np.int64)
    return owner, counter, counts


@given(candidates(), st.lists(st.floats(0.0, 1.0), min_size=2, max_size=4),
       st.integers(0, 2**32))
def test_each_text_gets_its_share_and_a_larger_share_a_superset(cands, shares, seed):
    owner, counter, counts = cands
    draws = Draws(seed, np.arange(N_TEXTS))
    chosen = {}
    for share in sorted({*shares, 1.0}):
        picked = rank_select(draws, 3, owner, counter, share, N_TEXTS)
        assert picked.dtype == np.intp
        assert picked.tolist() == sorted(set(picked.tolist()))  # distinct and sorted
        got = np.bincount(owner[picked], minlength=N_TEXTS).tolist()
        want = [0 if share <= 0 or n == 0 else max(1, math.ceil(n * share - 1e-9))
                for n in counts]
        assert got == want, share
        for before in chosen.values():
            assert before <= set(picked.tolist())
        chosen[share] = set(picked.tolist())
    assert chosen[1.0] == set(range(len(owner)))  # every candidate at a share of 1
