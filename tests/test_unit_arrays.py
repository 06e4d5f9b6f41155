"""The array helpers a unit is decided with (issue: scale): each against a plain
reference, on keys with and without repeats, so the fast paths (a plain sort instead of
a stable argsort, a partial selection instead of a full sort) cannot change a decision."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robustcheck import _systematic
from robustcheck._arrays import SortedRuns, contains, distinct, merge_distinct
from robustcheck._units import Seen, _first_of_equal

# small values make repeats common; the full range keeps most keys distinct
KEYS = st.one_of(
    hnp.arrays(np.uint64, st.integers(0, 60), elements=st.integers(0, 5)),
    hnp.arrays(np.uint64, st.integers(0, 60), elements=st.integers(0, 2**64 - 1)),
)


def first_of_equal_reference(keys: np.ndarray) -> list[int]:
    seen: dict[int, int] = {}
    return [seen.setdefault(int(k), i) for i, k in enumerate(keys.tolist())]


@given(KEYS)
def test_first_of_equal_is_the_first_position_of_each_key(keys):
    assert _first_of_equal(keys).tolist() == first_of_equal_reference(keys)


def test_first_of_equal_with_repeats_among_many_distinct_keys():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**63, 5000, dtype=np.uint64)
    keys[::7] = rng.integers(0, 20, len(keys[::7])).astype(np.uint64)  # 20 repeated keys
    assert _first_of_equal(keys).tolist() == first_of_equal_reference(keys)


@given(KEYS, KEYS)
def test_merge_distinct_is_the_sorted_union(a, b):
    assert merge_distinct(a, b).tolist() == sorted(set(a.tolist()) | set(b.tolist()))
    assert distinct(a).tolist() == sorted(set(a.tolist()))


@given(KEYS, KEYS)
def test_contains_is_membership(pool, values):
    assert contains(distinct(pool), values).tolist() == [v in set(pool.tolist())
                                                         for v in values.tolist()]


@given(KEYS, st.sampled_from([np.uint64, np.int64]), st.integers(0, 2**32))
def test_contains_sifts_many_values_without_losing_one(pool, dtype, seed):
    # from 4,096 values on, contains sifts them through slot flags before searching: the
    # sifting must never drop a value that is held (negative integers, repeats included)
    rng = np.random.default_rng(seed)
    if dtype == np.int64:
        pool = pool.view(np.int64)
    values = np.concatenate([rng.choice(pool, 3000) if len(pool) else pool[:0],
                             rng.integers(-50, 50, 3000).astype(dtype),
                             rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, 3000,
                                          dtype=dtype, endpoint=True)])
    held = set(pool.tolist())
    assert contains(distinct(pool), values).tolist() == [v in held for v in values.tolist()]


@given(st.lists(KEYS, max_size=12), KEYS, st.sampled_from([0, 5, 300, 10_000]))
def test_sorted_runs_hold_every_value_added_and_no_other(parts, probe, capacity):
    runs, added = SortedRuns(capacity), set()
    for values in parts:
        runs.add(values)
        added |= set(values.tolist())
        everything = np.concatenate([*parts, probe]) if parts else probe
        assert runs.contains(everything).tolist() == [v in added for v in everything.tolist()]
    sizes = [len(r) for r in runs.runs]
    assert all(older >= 2 * newer for older, newer in itertools.pairwise(sizes)), sizes
    assert len(sizes) <= max(1, len(added)).bit_length()  # at most log2(n) + 1 runs


def test_sorted_runs_stay_few_when_each_part_adds_fewer_new_values():
    runs = SortedRuns()
    for k in range(100):  # 10,000 new keys, then 9,990, 9,980, ...: no run is larger
        runs.add(np.arange(10_000 - 10 * k, dtype=np.uint64) + np.uint64(k * 10_000))
    assert len(runs.runs) <= 20

def test_sorted_runs_made_for_their_capacity_keep_one_table_of_slots():
    rng = np.random.default_rng(6)
    runs = SortedRuns(30_000)
    table = runs._taken
    assert len(table) >= 30_000 * SortedRuns._LOAD
    added = [rng.integers(0, 2**64, 3_000, dtype=np.uint64) for _ in range(10)]
    for values in added:
        runs.add(values)
    assert runs._taken is table  # never rebuilt: 30,000 values fit
    held = np.concatenate(added)
    assert runs.contains(held).all()
    assert not runs.contains(rng.integers(0, 2**64, 5_000, dtype=np.uint64)).any()
    runs.add(rng.integers(0, 2**64, 3_000, dtype=np.uint64))  # past the capacity
    assert runs._taken is not table and runs._taken.mean() <= 1 / SortedRuns._LOAD


def test_sorted_runs_answer_from_their_slots_as_they_grow():
    # counters and hashes alike: the slots spread small consecutive values too
    rng = np.random.default_rng(5)
    runs, added = SortedRuns(), []
    for k in range(40):
        values = (rng.integers(0, 2**64, 3_000, dtype=np.uint64) if k % 2
                  else np.arange(k * 3_000, (k + 1) * 3_000, dtype=np.uint64))
        runs.add(values)
        added.append(values)
    held = np.concatenate(added)
    assert runs.size == len(np.unique(held)) and runs.contains(held).all()
    new = np.concatenate([rng.integers(0, 2**64, 20_000, dtype=np.uint64),
                          np.arange(10**6, 10**6 + 20_000, dtype=np.uint64)])
    new = new[~np.isin(new, held)]
    assert not runs.contains(new).any()
    assert runs._taken.mean() <= 1 / SortedRuns._LOAD  # rebuilt larger as the set grew


# the selections below read their size at run time (``k``, ``_systematic.PROBES``): a few
# dozen keys take every path they take at 300 (more keys than k, fewer, exactly k), and
# draw in a fraction of the time unique arrays of hundreds of 64-bit keys took (1.3 s)
PRIORITIES = hnp.arrays(np.uint64, st.integers(0, 50), elements=st.integers(0, 2**64 - 1),
                        unique=True)


@given(PRIORITIES, st.integers(1, 30))
def test_lowest_is_the_head_of_the_full_priority_order(keys, k):
    unit = (0, "case.upper", 1.0)
    full = np.argsort(_systematic.priority(keys, unit), kind="stable")
    assert _systematic.lowest(keys, unit, k).tolist() == full[:k].tolist()


@given(st.lists(PRIORITIES, max_size=4), st.integers(1, 30))
def test_seen_keeps_the_lowest_priorities_of_every_part(parts, probes):
    # a part's priorities are those of its distinct inputs; parts may share inputs
    if parts and len(parts[0]) > 1:
        parts.append(parts[0][: len(parts[0]) // 2])  # a later part sees earlier inputs
    with mock.patch.object(_systematic, "PROBES", probes):
        seen = Seen()
        for priorities in parts:
            seen.see(priorities)
    every = sorted(set(np.concatenate(parts).tolist())) if parts else []
    assert seen.lowest.tolist() == every[:probes]


def test_seen_keeps_the_probes_lowest_of_parts_of_thousands():
    # the real number of probes, over parts larger than it
    rng = np.random.default_rng(7)
    parts = [rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
             for n in (5000, 120, 2000)]
    parts.append(parts[0][:2500])
    seen = Seen()
    for priorities in parts:
        seen.see(np.unique(priorities))
    every = np.unique(np.concatenate(parts))
    assert seen.lowest.tolist() == every[:_systematic.PROBES].tolist()
    assert len(seen.lowest) == _systematic.PROBES == 300


def test_an_input_asked_at_two_positions_takes_the_answer_of_the_lower_one():
    # two shards each asked their own copy of one input (positions 2 and 7 hold it);
    # the answers come back in either order, and the lower position's answer wins
    from robustcheck._calls import Answers
    from robustcheck._outcomes import Crash
    from robustcheck._units import _best_entries

    changed = np.zeros(8, dtype=bool)
    changed[[2, 5, 7]] = True
    first = _first_of_equal(np.array([11, 22, 11], dtype=np.uint64))  # [0, 1, 0]
    for late_first in (False, True):
        later = Answers(np.array([7]), None, np.zeros(1), [], [])
        earlier = Answers(np.array([5]), None, np.zeros(1), [Crash(2, "ValueError", "x")], [])
        answers = [later, earlier] if late_first else [earlier, later]
        best = _best_entries(answers, changed, first).tolist()
        crash_entry = 2  # after the two answered positions
        assert best[0] == crash_entry  # position 2 (a crash) beats position 7
        assert best[1] == (1 if late_first else 0)  # position 5's answer
        assert best[2] == -1  # not an owner


def test_the_lower_position_wins_even_when_its_answer_comes_before_a_crash():
    # as above, but the lower position (2) was answered and the higher (7) crashed: the
    # crashes are listed after every answer, so "the last one listed" would pick the
    # crash; the answer at position 2 must win, in whichever order the shards came back
    from robustcheck._calls import Answers
    from robustcheck._outcomes import Crash
    from robustcheck._units import _best_entries

    changed = np.zeros(8, dtype=bool)
    changed[[2, 5, 7]] = True
    first = _first_of_equal(np.array([11, 22, 11], dtype=np.uint64))  # [0, 1, 0]
    for late_first in (False, True):
        later = Answers(np.array([5]), None, np.zeros(1), [Crash(7, "ValueError", "x")], [])
        earlier = Answers(np.array([2]), None, np.zeros(1), [], [])
        answers = [later, earlier] if late_first else [earlier, later]
        best = _best_entries(answers, changed, first).tolist()
        assert best[0] == (1 if late_first else 0)  # position 2's answer
        assert best[1] == (0 if late_first else 1)  # position 5's answer
        assert best[2] == -1  # not an owner
