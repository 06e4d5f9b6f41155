"""A new modality is one class and one registration (DESIGN §12): a toy modality of
number vectors, defined only in this file, runs end to end through run, to_json, load,
compare and to_html."""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import perturbations
import robustcheck
import robustcheck.tasks
from robustcheck import modalities


class Vectors(modalities.Modality):
    """Samples that are tuples of numbers."""

    name = "vector"

    def accepts(self, inputs: Any) -> bool:
        return isinstance(inputs, list) and bool(inputs) and \
            all(isinstance(x, tuple) for x in inputs)

    def prepare(self, inputs: Any, labels: Any) -> tuple[Any, Any, Any]:
        return [tuple(float(v) for v in x) for x in inputs], labels, None

    def hash_into(self, digest: Any, data: Any) -> None:
        digest.update(repr(data).encode())


def flip_some(x: tuple[float, ...], *, rng: np.random.Generator, severity: float
              ) -> tuple[float, ...]:
    """Negates each coordinate with probability ``severity / 2``."""
    flips = rng.random(len(x)) < severity / 2
    return tuple(-v if f else v for v, f in zip(x, flips))


@pytest.fixture(scope="module")
def toy() -> Iterator[None]:
    modalities.register(Vectors())
    perturbations.perturbation(
        name="vecnoise.flip", modality="vector", expectation="invariant",
        description="Negates some coordinates of a vector.",
        severity="probability severity / 2 per coordinate")(flip_some)
    yield
    perturbations.unregister("vecnoise.flip")


def sign_of_sum(batch: list[tuple[float, ...]]) -> list[int]:
    return [int(sum(x) > 0) for x in batch]


def sign_of_first(batch: list[tuple[float, ...]]) -> list[int]:
    return [int(x[0] > 0) for x in batch]


VECTORS = [tuple(float(v) for v in np.random.default_rng(i).normal(size=4)) for i in range(40)]
LABELS = sign_of_sum(VECTORS)


def test_a_toy_modality_runs_end_to_end(toy, tmp_path):
    a = robustcheck.run(sign_of_sum, VECTORS, LABELS, perturbations="vecnoise",
                        severities=(0.5, 1.0), progress=False, name="sum")
    assert a.data["modality"] == "vector"
    row = a["vecnoise.flip"][1]
    assert row.metrics["coverage"].value > 0.5
    assert 0 < row.metrics["flip_rate"].value < 1
    loaded = robustcheck.load(a.to_json(tmp_path / "a.json") and tmp_path / "a.json")
    assert loaded.table() == a.table()
    b = robustcheck.run(sign_of_first, VECTORS, LABELS, perturbations="vecnoise",
                        severities=(0.5, 1.0), progress=False, name="first")
    comparison = robustcheck.compare(loaded, b)
    assert len(comparison.rows) == 2
    html = comparison.to_html(tmp_path / "c.html").read_text("utf-8")
    assert "vecnoise.flip" in html
    report = a.to_html(tmp_path / "a.html").read_text("utf-8")
    assert "vecnoise.flip" in report
    failures = a.failures()
    assert failures and all(isinstance(f["perturbed"], list) for f in failures)


def test_the_toy_modality_is_deterministic_and_fingerprinted(toy):
    one = robustcheck.run(sign_of_sum, VECTORS, LABELS, perturbations=["vecnoise.flip"],
                          severities=[1.0], progress=False, batch_size=3)
    two = robustcheck.run(sign_of_sum, VECTORS, LABELS, perturbations=["vecnoise.flip"],
                          severities=[1.0], progress=False, batch_size=40)
    assert one.data["fingerprint"] == two.data["fingerprint"]
    expected = hashlib.sha256(b"vector" + repr(VECTORS).encode() +
                              repr(LABELS).encode()).hexdigest()
    assert one.data["fingerprint"] == "sha256:" + expected
    assert (one.rows[0].labels == two.rows[0].labels).all()


def test_text_stays_the_fallback_when_a_modality_is_registered(toy):
    assert modalities.for_inputs(["a text"]) is modalities.TEXT
    assert modalities.for_inputs([(1.0, 2.0)]).name == "vector"


class _EntryPoint:
    def __init__(self, name: str, obj: Any) -> None:
        self.name, self.obj = name, obj

    def load(self) -> Any:
        if isinstance(self.obj, Exception):
            raise self.obj
        return self.obj


@pytest.mark.parametrize(("registry", "group", "obj"), [
    (modalities, "robustcheck.modalities", Vectors()),
    (robustcheck.tasks, "robustcheck.tasks", robustcheck.tasks.Regression()),
])
def test_modalities_and_tasks_of_installed_plugins_load_from_entry_points(
        monkeypatch, registry, group, obj):
    groups: list[str] = []

    def entry_points(*, group: str) -> list[_EntryPoint]:
        groups.append(group)
        return [_EntryPoint("good", obj), _EntryPoint("broken", ImportError("no module"))]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    with pytest.warns(UserWarning, match="plug-in 'broken' failed to load"):
        assert registry.get(obj.name) is obj
    assert groups == [group]


def test_a_plug_in_modalitys_suite_leaves_out_what_lacks_its_modules(toy):
    """Asking for the whole "vector" suite is a suite, as for the built-in modalities: a
    perturbation whose module is missing is left out with a warning, not refused."""
    needy = perturbations.perturbation(
        name="vecnoise.needy", modality="vector", expectation="invariant",
        description="Needs a module that is not installed.", severity="none",
        requires={"robustcheck_no_such_module": "pip install nothing"})(flip_some)
    try:
        with pytest.warns(robustcheck.errors.RobustcheckWarning, match=r"vecnoise\.needy"):
            result = robustcheck.run(sign_of_sum, VECTORS, LABELS, perturbations="vector",
                                     severities=(1.0,), progress=False)
        assert [row.perturbation for row in result.rows] == ["vecnoise.flip"]
        with pytest.raises(ImportError, match="pip install nothing"):
            robustcheck.run(sign_of_sum, VECTORS, LABELS, perturbations="vecnoise.needy",
                            progress=False)
    finally:
        perturbations.unregister(needy.name)


@pytest.mark.parametrize(("attribute", "value"), [
    ("part_size", 0), ("perturb_parts", 0), ("perturb_parts", 2.5), ("batch_size", True),
    ("part_size", "10000"),
])
def test_a_modality_whose_sizes_cannot_work_is_refused_at_registration(attribute, value):
    bad = type("Bad", (Vectors,), {"name": "bad-sizes", attribute: value})()
    with pytest.raises(robustcheck.InvalidArgument,
                       match=rf"modality 'bad-sizes': {attribute} must be a positive integer, "
                             rf"got {value!r}; e\.g\. {attribute} = "):
        modalities.register(bad)
    with pytest.raises(robustcheck.InvalidArgument, match="unknown modality 'bad-sizes'"):
        modalities.get("bad-sizes")  # nothing registered
