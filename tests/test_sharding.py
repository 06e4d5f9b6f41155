"""Units split into shards (issue: scale, item 4) and the result built one unit at a time
(item 1): the JSON is the same, byte for byte outside timings, for any shard size,
executor and worker count; inputs that repeat across shards, systematic crashes and labels
first seen under a perturbation included; and the worst examples, failures() and cases()
show exactly the inputs the model was sent."""

from __future__ import annotations

import gc
import json
import os
import weakref
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import robustcheck
from robustcheck import _assemble, _systematic
from robustcheck.errors import InvalidArgument

WORDS = ["room", "staff", "view", "food", "pool", "bar", "bed", "desk", "lift", "spa"]
# 40 distinct texts, each 6 times: every shard boundary splits repeated inputs
BASE = [f"the {WORDS[i % 10]} was {'good' if i % 3 else 'bad'} {i}" for i in range(40)]
TEXTS = [BASE[(7 * i) % 40] for i in range(240)]
LABELS = ["pos" if "good" in t else "neg" for t in TEXTS]
SUITE = ["typo", "case.upper", "punctuation", "entity.person"]


def reader(batch: list[str]) -> list[str]:
    """Labels as words; a shouted input gets a label no clean input gets."""
    return ["shouting" if t.isupper() else "pos" if "good" in t else "neg" for t in batch]


def picky(batch: list[str]) -> list[int]:
    """Crashes on capitals: a systematic crash of case.upper."""
    for text in batch:
        if text != text.lower():
            raise ValueError(f"not lower case: {text[:10]!r}")
    return [int("good" in t) for t in batch]


def without_timings(result: robustcheck.RunResult) -> str:
    d = json.loads(result.to_json())
    d.pop("timings")
    for row in d["rows"]:  # per-input seconds measured in this run
        row.pop("latency", None)
    return json.dumps(d, sort_keys=True)


def audit(model: Any, texts: list[str] = TEXTS, **kwargs: Any) -> robustcheck.RunResult:
    return robustcheck.run(model, texts, LABELS[:len(texts)], perturbations=SUITE,
                           severities=(0.5, 1.0), seed=3, progress=False, name="m", **kwargs)


@pytest.fixture(scope="module")
def local() -> str:
    return without_timings(audit(reader))


@pytest.mark.parametrize("shard_size", [7, 64, 239, 240, 10_000])
def test_any_shard_size_gives_the_in_process_json(local: str, shard_size: int) -> None:
    with ThreadPoolExecutor(2) as pool:
        sharded = audit(reader, executor=pool, shard_size=shard_size)
    assert without_timings(sharded) == local


class CountingPool(ThreadPoolExecutor):
    """A thread pool that records every task: its function's name and arguments."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.tasks: list[tuple[str, tuple[Any, ...]]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.tasks.append((fn.__name__, args))
        return super().submit(fn, *args, **kwargs)


def test_a_task_is_one_shard_of_one_perturbation_at_all_its_severities(local: str) -> None:
    # the severities of a perturbation share what it finds in a shard's texts before it
    # draws: tasks of one severity each, on two workers, each found it again
    with CountingPool(2) as pool:
        sharded = audit(reader, executor=pool, shard_size=100)
    assert without_timings(sharded) == local
    tasks = [args for name, args in pool.tasks if name == "evaluate_parts"]
    names = {row["perturbation"] for row in json.loads(local)["rows"]}
    assert len(tasks) == len(names) * 3  # shards 0-100, 100-200, 200-240
    assert sorted((args[2].name, args[-2], args[-1]) for args in tasks) == sorted(
        (name, start, stop) for name in names for start, stop in ((0, 100), (100, 200),
                                                                  (200, 240)))
    assert all(args[3] == [0.5, 1.0] for args in tasks)
    assert {name for name, _ in pool.tasks} <= {"evaluate_parts", "ask"}


def test_shards_of_one_sample_give_the_in_process_json() -> None:
    texts = TEXTS[:80]  # every text twice: repeats cross every shard boundary
    with ThreadPoolExecutor(2) as pool:
        sharded = audit(reader, texts, executor=pool, shard_size=1)
    assert without_timings(sharded) == without_timings(audit(reader, texts))


def test_a_label_first_seen_under_a_perturbation_gets_the_same_codes_in_any_order(
        local: str) -> None:
    result = json.loads(local)
    assert result["classes"] == ["neg", "pos", "shouting"]
    with ThreadPoolExecutor(4) as pool:  # units finish in another order
        assert without_timings(audit(reader, executor=pool, shard_size=40)) == local


def test_a_process_pool_with_shards_gives_the_in_process_json(local: str) -> None:
    with ProcessPoolExecutor(2) as pool:
        sharded = audit(reader, executor=pool, shard_size=128)
    assert without_timings(sharded) == local


@pytest.mark.slow  # starts a local Dask cluster: a scheduler and two worker processes
def test_a_dask_cluster_with_shards_gives_the_in_process_json(local: str) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        sharded = audit(reader, executor=client.get_executor(), shard_size=150)
    assert without_timings(sharded) == local


@pytest.mark.slow  # starts a local Dask cluster: a scheduler and two worker processes
def test_the_readme_worker_setting_starts_workers_without_the_trim_threshold(
        local: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's advice for audits on Dask: the nanny's MALLOC_TRIM_THRESHOLD_ left
    out by setting its key to None; the workers run without it, and the JSON is the same."""
    distributed = pytest.importorskip("distributed")
    import dask

    # an earlier cluster's nanny put the variable in this process, which workers inherit
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
        sharded = audit(reader, executor=client.get_executor(), shard_size=150)
    assert without_timings(sharded) == local


def test_inputs_repeated_across_shards_are_counted_once(local: str) -> None:
    row = next(r for r in json.loads(local)["rows"]
               if r["perturbation"] == "case.upper" and r["severity"] == 1.0)
    # 40 distinct texts: however they are sharded, the model is asked 40 distinct inputs
    assert row["model_calls"] == 40


def test_a_systematic_crash_is_decided_the_same_in_shards() -> None:
    texts = [f"the {WORDS[i % 10]} was {WORDS[(i // 10) % 10]} {i}" for i in range(900)]
    kwargs = {"perturbations": ["case.upper", "typo"], "severities": [1.0], "seed": 1,
              "progress": False}
    local = robustcheck.run(picky, texts, **kwargs)
    row = local["case.upper"][0]
    assert row.details["systematic"]["probes"] == _systematic.PROBES
    assert int((row.changed & row.evaluated).sum()) == _systematic.PROBES
    for shard_size in (100, 333, 900):
        with ThreadPoolExecutor(2) as pool:
            sharded = robustcheck.run(picky, texts, executor=pool, shard_size=shard_size,
                                      **kwargs)
        assert without_timings(sharded) == without_timings(local)


def test_shards_that_stopped_at_their_probes_are_completed_when_the_unit_is_not_systematic(
) -> None:
    # the first 120 samples crash, the other 1,080 do not: the shard of the first 400
    # (30% crash) stops at its probes, but the unit as a whole (10%) is not dense enough
    # to be a systematic crash
    texts = [f"the {WORDS[i % 10]} {i}" for i in range(1200)]

    def half(batch: list[str]) -> list[int]:
        for text in batch:
            if int(text.split()[-1].rstrip(".!?,;:")) < 120 and text != text.lower():
                raise ValueError("early rows refuse capitals")
        return [len(t) % 2 for t in batch]

    kwargs = {"perturbations": ["case.upper"], "severities": [1.0], "seed": 0,
              "progress": False}
    local = robustcheck.run(half, texts, **kwargs)
    row = local.rows[0]
    assert "systematic" not in row.details and row.evaluated is None
    assert int(row.crashed.sum()) == 120
    with ThreadPoolExecutor(2) as pool:
        sharded = robustcheck.run(half, texts, executor=pool, shard_size=400, **kwargs)
    assert without_timings(sharded) == without_timings(local)


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "10"])
def test_a_bad_shard_size_is_refused_with_the_value(bad: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"shard_size must be a positive integer.*"
                                              + repr(bad).replace(".", r"\.")):
        audit(reader, texts=TEXTS[:10], shard_size=bad)


def test_tabular_shards_give_the_in_process_json() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "n": rng.integers(0, 5, 300),
                          "c": rng.choice(["a", "b", "c"], 300)})

    def model(df: pd.DataFrame) -> list[int]:
        return (pd.to_numeric(df["x"], errors="coerce").fillna(0) > 0).astype(int).tolist()

    kwargs = {"perturbations": ["missing", "noise", "format"], "severities": [0.5],
              "seed": 2, "progress": False}
    local = robustcheck.run(model, frame, **kwargs)
    assert any(r.model_calls for r in local.rows)
    with ThreadPoolExecutor(2) as pool:
        sharded = robustcheck.run(model, frame, executor=pool, shard_size=45, **kwargs)
    assert without_timings(sharded) == without_timings(local)


def test_a_unit_outcome_is_dropped_once_its_row_is_built(monkeypatch: Any) -> None:
    """Memory O(n), not O(n x units): no unit's predictions outlive its row."""
    alive: list[weakref.ref[Any]] = []
    seen_alive: list[int] = []
    add = _assemble.Assembly.add

    def spying(self: Any, index: int, u: Any) -> Any:
        gc.collect()
        seen_alive.append(sum(ref() is not None for ref in alive))
        alive.append(weakref.ref(u.prediction)) if u.prediction is not None else None
        return add(self, index, u)

    monkeypatch.setattr(_assemble.Assembly, "add", spying)
    result = audit(reader, texts=TEXTS[:100])
    assert len(seen_alive) == len(result.rows) > 10
    assert max(seen_alive) == 0  # earlier units' predictions were freed


def test_examples_failures_and_cases_show_the_inputs_the_model_was_sent() -> None:
    sent: set[str] = set()

    def recording(batch: list[str]) -> list[str]:
        sent.update(batch)
        return reader(batch)

    with ThreadPoolExecutor(2) as pool:
        result = audit(recording, executor=pool, shard_size=50)
    cases = result.cases()
    changed = cases[~cases.crashed]
    assert len(changed) and set(changed["perturbed"]) <= sent
    failures = result.failures()
    answered = [f["perturbed"] for f in failures if f.get("predicted") is not None]
    assert answered and set(answered) <= sent
    shown = [e["perturbed"] for examples in result.examples.values() for e in examples]
    assert shown and set(shown) <= sent


def test_tabular_keys_name_the_row_not_its_position() -> None:
    """Shards are matched by key: a row's key must be the same in any shard, and two
    different rows must not share one, even with cells Python cannot hash."""
    from robustcheck.modalities import TABULAR

    frame = pd.DataFrame({"a": [1, 2, 1], "b": [[1], [2], [1]]})
    first = TABULAR.keys(frame.iloc[:2].reset_index(drop=True), np.array([0, 1]))
    second = TABULAR.keys(frame.iloc[1:].reset_index(drop=True), np.array([0, 1]))
    assert first[0] == second[1] and first[1] == second[0] and first[0] != first[1]


def test_a_number_and_the_same_number_as_text_are_two_inputs() -> None:
    """pandas hashes object cells by their text: 5 and "5" must still be told apart, or a
    model that crashes on numbers written as strings is answered for the number."""
    frame = pd.DataFrame({"x": pd.Series([5, "5", 5.0, "a"], dtype=object)})

    def model(df: pd.DataFrame) -> list[int]:
        if any(isinstance(v, str) for v in df["x"]):
            raise TypeError("strings are not numbers")
        return [1] * len(df)

    from robustcheck.modalities import TABULAR

    keys = TABULAR.keys(frame, np.arange(4))
    assert keys[0] != keys[1] and keys[1] != keys[3]
    result = robustcheck.run(model, pd.DataFrame({"x": [5, 6, 7, 8]}),
                             perturbations=["format.number_as_string"], severities=[0.5],
                             progress=False)
    row = result.rows[0]
    assert (row.crashed == row.changed).all()


# -- in one process, a unit in parts ------------------------------------------------------


@pytest.mark.parametrize(("part_size", "perturb_parts"),
                         [(1, 1), (7, 1), (64, 1), (239, 1), (1, 3), (7, 4), (64, 3)])
def test_any_part_size_in_one_process_gives_the_same_json(
        local: str, part_size: int, perturb_parts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from robustcheck.modalities import Text

    texts = TEXTS if part_size > 1 else TEXTS[:80]
    whole = local if part_size > 1 else without_timings(audit(reader, texts))
    monkeypatch.setattr(Text, "part_size", part_size)
    monkeypatch.setattr(Text, "perturb_parts", perturb_parts)  # several parts perturbed at once
    assert without_timings(audit(reader, texts)) == whole


@pytest.mark.parametrize("perturb_parts", [1, 3])
def test_in_one_process_only_one_block_of_perturbed_inputs_is_alive_at_a_time(
        perturb_parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from robustcheck import _units
    from robustcheck.modalities import Text

    class Tracked(list):  # a list that can be weakly referenced
        pass

    alive: list[weakref.ref[Any]] = []
    most = [0]
    perturb, batches = _units.perturb, Text.batches

    def tracking(*args: Any, **kwargs: Any) -> Any:
        out = Tracked(perturb(*args, **kwargs))
        alive.append(weakref.ref(out))
        return out

    def tracked_batches(self: Text, perturbed: Any) -> Any:  # the form the part keeps
        out = batches(self, perturbed)
        alive.append(weakref.ref(out))
        return out

    def model(batch: list[str]) -> list[str]:
        gc.collect()
        most[0] = max(most[0], sum(len(x) for r in alive if (x := r()) is not None))
        return reader(batch)

    monkeypatch.setattr(_units, "perturb", tracking)
    monkeypatch.setattr(Text, "batches", tracked_batches)
    monkeypatch.setattr(Text, "part_size", 40)
    monkeypatch.setattr(Text, "perturb_parts", perturb_parts)
    robustcheck.run(model, TEXTS, perturbations=["case.upper"], progress=False)
    # one block's inputs (parts perturbed at once), not the 240 of the unit
    assert 40 * (perturb_parts - 1) < most[0] <= 40 * perturb_parts


@pytest.mark.parametrize("perturb_parts", [1, 3])
def test_a_systematic_crash_in_parts_asks_only_possible_probes_after_the_first_part(
        perturb_parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from robustcheck.modalities import Text

    texts = [f"the {WORDS[i % 10]} was {WORDS[(i // 10) % 10]} {i}" for i in range(2000)]
    sent: set[str] = set()

    def counting(batch: list[str]) -> list[int]:
        sent.update(batch)
        return picky(batch)

    kwargs = {"perturbations": ["case.upper"], "severities": [1.0], "seed": 1,
              "progress": False}
    whole = robustcheck.run(counting, texts, **kwargs)
    assert len(sent - set(texts)) == _systematic.PROBES  # one part: the probes alone
    sent.clear()
    monkeypatch.setattr(Text, "part_size", 500)
    # perturbed several parts at once, a part is still predicted on its own
    monkeypatch.setattr(Text, "perturb_parts", perturb_parts)
    parted = robustcheck.run(counting, texts, **kwargs)
    assert without_timings(parted) == without_timings(whole)
    # the first part's 300 probes, then in each later part only inputs whose priority
    # is below the 300th lowest so far: about 300 x (1 + 1/2 + 1/3 + 1/4) = 625 in all,
    # not the 2,000 of the unit
    assert _systematic.PROBES < len(sent - set(texts)) < 800


def test_a_table_part_is_perturbed_with_the_dtypes_of_the_whole_table() -> None:
    import pandas as pd

    from perturbations import get
    from robustcheck.modalities import make_dataset, perturb

    frame = pd.DataFrame({"price": [5.0, 7.5, 2500.0, 3.0, 9.0, 4.0, 6.0, 8.0],
                          "n": list(range(8))})
    data = make_dataset(frame, None)
    p = get("format.thousands_separator")
    whole = perturb(data, p, 1.0, 0, None)
    assert whole["price"].dtype == object  # 2,500.0 written as text
    part = perturb(data, p, 1.0, 0, np.arange(4, 8))  # no value of 1,000 or more
    assert part.dtypes.tolist() == whole.iloc[4:8].dtypes.tolist()


@pytest.mark.parametrize("perturb_parts", [1, 4])
def test_a_model_that_reads_dtypes_gets_the_same_json_for_any_part_size(
        perturb_parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from robustcheck.modalities import Tabular

    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame({
        # values of 1,000 or more only in the first rows: most parts have none to write
        "price": np.where(np.arange(n) < 12, 2500.0, rng.uniform(1, 99, n).round(2)),
        "small": pd.array(rng.integers(0, 200, n), dtype="UInt8"),
        "kind": pd.Categorical(rng.choice(["a", "b"], n)),
        "flag": rng.uniform(size=n) > 0.5,
    })

    def by_dtypes(df: pd.DataFrame) -> list[int]:
        # a model whose answer depends on the batch's dtypes, as a tree model's does
        # when it refuses object columns or reads a categorical's codes
        described = "|".join(f"{c}:{d}" for c, d in zip(df.columns, df.dtypes))
        return [zlib.crc32(described.encode()) % 3] * len(df)

    kwargs = {"perturbations": ["format", "missing.sentinel", "category", "noise"],
              "severities": [0.1, 1.0], "seed": 4, "progress": False}
    whole = without_timings(robustcheck.run(by_dtypes, frame, **kwargs))
    monkeypatch.setattr(Tabular, "part_size", 40)
    monkeypatch.setattr(Tabular, "perturb_parts", perturb_parts)  # 160 rows, then 80
    assert without_timings(robustcheck.run(by_dtypes, frame, **kwargs)) == whole


def test_inputs_still_unanswered_after_they_were_asked_raise_a_bug_not_a_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from robustcheck import _calls, _units
    from robustcheck.modalities import Text

    # as in the test above: parts stop at their probes, the unit is not systematic, so
    # the inputs the parts did not ask are asked at the end
    texts = [f"the {WORDS[i % 10]} {i}" for i in range(1200)]

    def half(batch: list[str]) -> list[int]:
        for text in batch:
            if int(text.split()[-1]) < 120 and text != text.lower():
                raise ValueError("early rows refuse capitals")
        return [len(t) % 2 for t in batch]

    asked = []

    def loses_the_answers(*args: Any) -> _calls.Answers:
        if len(asked) == 3:  # the old code asked for ever
            raise AssertionError("the same inputs asked again and again")
        asked.append(args[-1])
        got = real_ask(*args)
        return _calls.Answers(np.zeros(0, dtype=np.int64), None, np.zeros(0), [],
                              got.calls, got.sent)

    real_ask = _units.ask
    monkeypatch.setattr(_units, "ask", loses_the_answers)
    monkeypatch.setattr(Text, "part_size", 400)
    with pytest.raises(RuntimeError, match=r"robustcheck bug: unit case\.upper@1 has no "
                                           r"answer for the inputs at positions \["):
        robustcheck.run(half, texts, perturbations=["case.upper"], severities=[1.0], seed=0,
                        progress=False)
    assert len(asked) == 1


_LABEL = st.one_of(st.integers(-2, 3), st.sampled_from([0.5, 1.0, -0.0]),
                   st.sampled_from(["neg", "pos", "1"]), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(_LABEL, max_size=5), st.lists(_LABEL, max_size=6),
       st.one_of(st.none(), st.lists(_LABEL, min_size=1, max_size=3, unique=True)))
def test_the_label_codes_grow_exactly_as_collecting_every_label_does(
        seen: list[Any], answered: list[Any], classes: list[Any] | None) -> None:
    """A unit's labels told covered by the codes' look-up (Codes.covers) leave the codes as
    they are; whatever the labels' types, the codes are those of collecting every label
    (the base Task.grow)."""
    from types import SimpleNamespace

    from robustcheck import tasks
    from robustcheck._task_base import Codes, Task

    def array(values: list[Any]) -> np.ndarray:
        try:
            return np.asarray(values) if len({type(v) for v in values}) == 1 else \
                np.array(values, dtype=object)
        except ValueError:
            return np.array(values, dtype=object)

    codes = Codes([array(seen)])
    pred = SimpleNamespace(labels=array(answered),
                           classes=None if classes is None else array(classes))
    unit = SimpleNamespace(prediction=pred)
    grown = tasks.CLASSIFICATION.grow(codes, unit)  # type: ignore[arg-type]
    full = Task.grow(tasks.CLASSIFICATION, codes, unit)  # type: ignore[arg-type]
    assert grown.classes == full.classes
    assert (grown is codes) == (full is codes)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(-6, 6), st.sampled_from([2**63 - 1, 2**64 - 1])),
                min_size=1, max_size=5, unique=True),
       st.lists(st.integers(-8, 8), max_size=8), st.sampled_from(["i1", "i8", "u2", "u8"]))
def test_integer_labels_get_the_codes_a_lookup_of_the_sorted_classes_gives(
        classes: list[int], labels: list[int], label_dtype: str) -> None:
    """Integer labels are coded by a table of the classes' span where it is small, by a
    binary search where not (classes past int64): either way a label's code is its rank
    among the sorted classes, and a label that is none of them is not covered."""
    from robustcheck._task_base import Codes

    if label_dtype[0] == "u":
        labels = [v for v in labels if v >= 0]
    codes = Codes([np.array(classes, dtype=object)])
    rank = {c: j for j, c in enumerate(sorted(classes))}
    arr = np.array(labels, dtype=label_dtype)
    assert codes.covers(arr) == all(v in rank for v in labels)
    if all(v in rank for v in labels):
        assert codes.encode(arr).tolist() == [rank[v] for v in labels]
    else:
        with pytest.raises(KeyError):
            codes.encode(arr)
