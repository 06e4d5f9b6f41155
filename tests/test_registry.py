"""The registry, the record, bad arguments, entry points and the nlpaug wrapper."""

from __future__ import annotations

import random
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
import pytest

import perturbations
from perturbations import _registry
from perturbations._random import Draws, stable_hash


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A registry that tests may add to without leaking into other tests."""
    table = dict(_registry._REGISTRY)
    monkeypatch.setattr(_registry, "_REGISTRY", table)
    return table


def test_get_returns_the_record_of_that_name() -> None:
    p = perturbations.get("typo.keyboard")
    assert p.name == "typo.keyboard" and p.family == "typo" and p.variant == "keyboard"
    assert p.modality == "text" and p.expectation == "invariant"


def test_an_unknown_name_lists_the_closest_names() -> None:
    with pytest.raises(perturbations.UnknownPerturbation) as err:
        perturbations.get("typo.keybord")
    assert "typo.keyboard" in str(err.value)
    assert "robustcheck list" in str(err.value)
    with pytest.raises(LookupError, match=r"typo\.keyboard"):
        perturbations.get("keyboard")


def test_catalogue_filters_by_modality_and_family() -> None:
    text = perturbations.catalogue(modality="text")
    assert text and all(p.modality == "text" for p in text)
    assert [p.name for p in text] == sorted(p.name for p in text)
    typos = perturbations.catalogue(family="typo")
    assert {p.family for p in typos} == {"typo"} and len(typos) >= 5
    with pytest.raises(perturbations.InvalidArgument, match="modality"):
        perturbations.catalogue(modality="audio")


def test_select_resolves_modalities_families_names_and_records() -> None:
    chosen = perturbations.select(["typo", "case.upper", perturbations.get("slang.word")])
    names = [p.name for p in chosen]
    assert "typo.keyboard" in names and "case.upper" in names and "slang.word" in names
    assert len(names) == len(set(names))
    suite = perturbations.select("text")
    assert all(p.default and p.modality == "text" for p in suite)
    with pytest.raises(perturbations.UnknownPerturbation, match="emoji"):
        perturbations.select(["emojis"])
    with pytest.raises(perturbations.InvalidArgument, match="perturbations must be"):
        perturbations.select([3])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"severity": 1.5}, "severity must be in"),
        ({"severity": -0.1}, "severity must be in"),
        ({"severity": float("nan")}, "severity must be in"),
        ({"severity": "high"}, "severity must be a number"),
        ({"severity": True}, "severity must be a number"),
        ({"severity": 0.5, "seed": -1}, "seed must be a non-negative integer"),
        ({"severity": 0.5, "seed": 1.5}, "seed must be a non-negative integer"),
        ({"severity": 0.5, "indices": [0]}, "indices has 1 entries for 2 inputs"),
        ({"severity": 0.5, "indices": [0.5, 1.5]}, "indices must be integers"),
        ({"severity": 0.5, "layuot": "de"}, "has no parameter 'layuot'"),
        ({"severity": 0.5, "layout": "xx"}, "layout='xx' is not a keyboard layout"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_fix(kwargs: dict[str, Any], message: str
                                                     ) -> None:
    with pytest.raises(perturbations.InvalidArgument, match=message):
        perturbations.get("typo.keyboard").apply(["a text", "another text"], **kwargs)


def test_text_and_tabular_perturbations_refuse_the_other_modality() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(perturbations.ModalityError, match="text perturbation"):
        perturbations.get("typo.keyboard").apply(frame, severity=0.5)
    with pytest.raises(perturbations.ModalityError, match="takes a string"):
        perturbations.get("typo.keyboard")(3, severity=0.5)
    with pytest.raises(perturbations.ModalityError):
        perturbations.get("typo.keyboard").apply("one string, not a list", severity=0.5)
    tabular = perturbations.catalogue(modality="tabular")
    if tabular:
        with pytest.raises(perturbations.ModalityError, match="DataFrame"):
            tabular[0].apply(["a", "b"], severity=0.5)


def test_missing_texts_are_reported_with_their_position() -> None:
    with pytest.raises(perturbations.InvalidArgument, match=r"inputs\[1\] is None"):
        perturbations.get("case.upper").apply(["fine", None], severity=1.0)


def test_the_input_list_is_not_modified() -> None:
    texts = ["the food was great", "slow delivery"]
    copy = list(texts)
    perturbations.get("typo.keyboard").apply(texts, severity=1.0)
    assert texts == copy


def test_configure_changes_parameter_defaults_and_keeps_the_original() -> None:
    typo = perturbations.get("typo.keyboard")
    german = typo.configure(layout="de")
    assert german.parameters["layout"] == "de" and typo.parameters["layout"] == "en"
    assert german.record()["parameters"]["layout"] == "de"


def test_the_decorator_registers_a_custom_perturbation(scratch_registry: dict[str, Any]
                                                       ) -> None:
    @perturbations.perturbation(name="custom.shout", modality="text", expectation="invariant",
                                description="Adds an exclamation mark at the end.",
                                severity="any severity above 0 adds one mark")
    def shout(text: str, *, rng: np.random.Generator, severity: float, mark: str = "!") -> str:
        return text + mark

    assert perturbations.get("custom.shout") is shout
    assert shout("hi", severity=0.5) == "hi!"
    assert shout.apply(["a", "b"], severity=0.5, mark="?") == ["a?", "b?"]
    assert shout.parameters == {"mark": "!"}
    assert perturbations.select("custom") == [shout]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "NoDot"}, "family.variant"),
        ({"modality": "audio"}, "modality"),
        ({"expectation": "maybe"}, "expectation"),
        ({"expectation": "directional"}, "direction"),
        ({"description": " "}, "must be filled in"),
    ],
)
def test_the_decorator_refuses_incomplete_records(kwargs: dict[str, Any], message: str) -> None:
    fields = {"name": "custom.ok", "modality": "text", "expectation": "invariant",
              "description": "A description.", "severity": "what it scales",
              "register": False, **kwargs}

    def func(text: str, *, rng: np.random.Generator, severity: float) -> str:
        return text

    with pytest.raises(perturbations.RegistrationError, match=message):
        perturbations.perturbation(**fields)(func)


def test_a_name_cannot_be_registered_twice(scratch_registry: dict[str, Any]) -> None:
    def other(text: str, *, rng: np.random.Generator, severity: float) -> str:
        return text

    with pytest.raises(perturbations.RegistrationError, match="already registered"):
        perturbations.perturbation(name="typo.keyboard", modality="text",
                                   expectation="invariant", description="Another one.",
                                   severity="nothing")(other)


def test_a_perturbation_returning_the_wrong_count_is_reported_as_a_bug() -> None:
    def broken(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
        return texts[:1]

    p = perturbations.perturbation(name="custom.broken", modality="text",
                                   expectation="invariant", description="Loses inputs.",
                                   severity="nothing", batched=True, register=False)(broken)
    with pytest.raises(perturbations.RegistrationError, match="bug in the perturbation"):
        p.apply(["a", "b"], severity=0.5)


class _EntryPoint:
    def __init__(self, name: str, loaded: Any, fail: bool = False) -> None:
        self.name, self.value, self._loaded, self._fail = name, f"pkg:{name}", loaded, fail

    def load(self) -> Any:
        if self._fail:
            raise ImportError("no module named pkg")
        return self._loaded


def test_third_party_perturbations_arrive_through_the_entry_point_group(
    scratch_registry: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def reverse(text: str, *, rng: np.random.Generator, severity: float) -> str:
        return text[::-1]

    record = perturbations.perturbation(name="thirdparty.reverse", modality="text",
                                        expectation="no-crash", description="Reversed text.",
                                        severity="any severity above 0 reverses",
                                        register=False)(reverse)
    groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[_EntryPoint]:
        groups.append(group)
        return [_EntryPoint("good", [record]), _EntryPoint("bad", None, fail=True)]

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(_registry, "_entry_points_loaded", False)
    with pytest.warns(RuntimeWarning, match="could not load perturbations from entry point"):
        found = perturbations.get("thirdparty.reverse")
    assert found is record and groups == ["robustcheck.perturbations"]


def test_draws_depend_on_seed_name_and_index_only() -> None:
    base = stable_hash(0, "typo.keyboard")
    whole = Draws(base, np.arange(10)).uniform(3)
    part = Draws(base, np.array([7, 2])).uniform(3)
    assert np.array_equal(part, whole[[7, 2]])
    assert not np.array_equal(Draws(stable_hash(1, "typo.keyboard"), np.arange(10)).uniform(3),
                              whole)
    u = Draws(base, np.arange(200_000)).uniform(0)
    assert 0.49 < u.mean() < 0.51 and u.min() >= 0 and u.max() < 1


def test_a_per_input_generator_is_reproducible() -> None:
    draws = Draws(stable_hash(5, "x.y"), np.arange(3))
    first = draws.generator(1).random(4)
    draws.generator(2).random(4)
    assert np.array_equal(draws.generator(1).random(4), first)


def test_a_part_of_the_draws_is_the_draws_of_its_inputs() -> None:
    base = stable_hash(3, "case.upper")
    indices = np.arange(500, 800)
    part = Draws(base, indices).part(40, 95)
    alone = Draws(base, indices[40:95])
    assert part.base == alone.base and np.array_equal(part.indices, alone.indices)
    assert np.array_equal(part.uniform(2, counter=np.arange(55) % 4),
                          alone.uniform(2, counter=np.arange(55) % 4))
    assert np.array_equal(part.generator(9).random(3), alone.generator(9).random(3))


def test_the_integer_mix_is_the_array_mix() -> None:
    from perturbations._random import _mix_int, mix

    values = np.array([0, 1, 0x5DEECE66D, 2**63, 2**64 - 1, 2**64 - 0x9E3779B97F4A7C15],
                      dtype=np.uint64)
    values = np.concatenate([values, np.random.default_rng(0).integers(
        0, 2**64 - 1, 1000, dtype=np.uint64, endpoint=True)])
    assert [_mix_int(int(v)) for v in values] == [int(z) for z in mix(values)]


@pytest.mark.parametrize("owner", [None, slice(3, 9), np.array([5, 0, 5, 11]),
                                   np.array([2, 7], dtype=np.int32), np.array(4)])
@pytest.mark.parametrize("counter", [None, 7, np.array([0, 3, 1, 2**40]),
                                     np.array([9, 1, 4, 4], dtype=np.int32),
                                     np.array([2**64 - 1, 0, 5, 6], dtype=np.uint64)])
def test_draws_are_the_integer_mix_of_key_stream_and_counter(owner: Any, counter: Any) -> None:
    """Every addressing of :meth:`Draws.bits` and :meth:`Draws.uniform` against the
    definition in Python integers; the draws write over temporaries of their own, never
    over the keys or the caller's arrays."""
    from perturbations._random import _mix_int

    draws = Draws(stable_hash(4, "case.random"), np.arange(100, 112))
    keys = [_mix_int(_mix_int(i) ^ draws.base) for i in range(100, 112)]
    assert [int(k) for k in draws.keys] == keys
    kept = [x.copy() if isinstance(x, np.ndarray) else x for x in (owner, counter)]
    before = draws.keys.copy()
    if owner is None:
        chosen = keys
    elif isinstance(owner, slice):
        chosen = keys[owner]
    else:
        chosen = [keys[int(i)] for i in np.atleast_1d(owner)]
    if counter is not None and np.ndim(counter) and len(chosen) != len(counter):
        counter = np.resize(counter, len(chosen))
        kept[1] = counter.copy()
    salt = _mix_int(2)
    if counter is None:
        salts = [salt] * len(chosen)
    else:
        salts = [_mix_int(salt ^ (int(c) % 2**64)) for c in np.broadcast_to(counter, len(chosen))]
    expected = [_mix_int(k ^ s) for k, s in zip(chosen, salts)]
    bits = draws.bits(2, owner, counter)
    uniform = draws.uniform(2, owner, counter)
    assert [int(b) for b in np.atleast_1d(bits)] == expected
    assert np.atleast_1d(uniform).tolist() == [(z >> 11) * 2.0**-53 for z in expected]
    assert np.array_equal(draws.keys, before)
    for was, now in zip(kept, (owner, counter)):
        if isinstance(was, np.ndarray):
            assert np.array_equal(was, now) and was.dtype == now.dtype


class _GlobalRandomAugmenter:
    """Behaves like an nlpaug augmenter: draws from the global generators."""

    aug_p = 0.5

    def augment(self, text: str) -> list[str]:
        words = text.split()
        k = random.randrange(len(words))
        words[k] = words[k].upper() + str(np.random.randint(0, 1000))
        return [" ".join(words)]


def test_from_nlpaug_is_deterministic_and_restores_global_random_state() -> None:
    p = perturbations.from_nlpaug(_GlobalRandomAugmenter(), name="wrapped.upper")
    texts = ["one two three four", "five six seven eight"] * 3
    random.seed(123)
    np.random.seed(123)
    before_py, before_np = random.random(), np.random.random()
    random.seed(123)
    np.random.seed(123)
    first = p.apply(texts, severity=1.0, seed=7)
    assert (random.random(), np.random.random()) == (before_py, before_np)
    assert p.apply(texts, severity=1.0, seed=7) == first
    assert p.apply(texts[::-1], severity=1.0, seed=7, indices=range(5, -1, -1)) == first[::-1]
    assert first != texts


def test_from_nlpaug_wraps_a_real_nlpaug_augmenter() -> None:
    nac = pytest.importorskip("nlpaug.augmenter.char")
    p = perturbations.from_nlpaug(nac.KeyboardAug(aug_word_p=0.5), name="nlpaug.keyboard")
    texts = ["the delivery was fast and the food was great"] * 2
    out = p.apply(texts, severity=1.0, seed=0)
    assert out != texts and p.apply(texts, severity=1.0, seed=0) == out
    assert p.parameters == {} and p.record()["modality"] == "text"
    with pytest.raises(perturbations.InvalidArgument, match="nlpaug augmenter"):
        perturbations.from_nlpaug(object(), name="nlpaug.none")


def test_the_public_names_of_robustcheck_are_not_shadowed_by_submodules() -> None:
    import importlib

    import robustcheck

    for module in ("adapters", "comparison", "results", "runner", "report", "plugin"):
        importlib.import_module(f"robustcheck.{module}")
    assert callable(robustcheck.compare) and callable(robustcheck.run)
    assert callable(robustcheck.load) and callable(robustcheck.adapt)
    assert sorted(robustcheck.__all__) == robustcheck.__all__
