"""Modalities: what differs between kinds of input (text, tables; images come next).

A :class:`Modality` owns everything the harness needs to know about one kind of input:
recognising and validating the user's inputs, fingerprinting them, taking a subset,
applying a perturbation, telling changed inputs from unchanged ones, keying equal inputs
so each is predicted once, showing an input in a result, and building a batch from an
attack's adversarial inputs. The runner, the result, the report and the comparison ask
these objects; nothing else in robustcheck switches on a modality's name.

A new modality is one class and one :func:`register` call (or an entry point in the
group ``robustcheck.modalities`` naming the instance), next to its perturbations
registered in the catalogue under the same modality name.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

import perturbations as catalogue
from perturbations import Perturbation

from ._data import (
    changed_rows,
    check_column_names,
    column_keys,
    hash_rows,
    is_frame,
    labels_of,
    pack_rows,
    texts_of,
    unit_keys,
    untouched_columns,
)
from .errors import InvalidArgument, load_plugins

__all__ = ["TABULAR", "TEXT", "Dataset", "Modality", "get", "make_dataset", "register"]


class Modality:
    """Base class of a kind of input. Subclasses set ``name`` and implement the methods
    below; ``data`` is what :meth:`prepare` returned (a validated copy)."""

    name: ClassVar[str] = ""
    batch_size: ClassVar[int] = 256
    """Inputs per model call unless ``run(batch_size=...)`` says otherwise."""
    part_size: ClassVar[int] = 10_000
    """Samples a unit predicts at a time in one process (results do not depend on it).
    A part's first probes decide whether the rest of it is predicted or only probed (see
    :mod:`robustcheck._systematic`), so a part also bounds the calls a systematic crash
    costs when those probes miss it."""
    perturb_parts: ClassVar[int] = 1
    """Parts a unit perturbs at a time in one process: ``part_size * perturb_parts``
    samples bound the memory of the perturbed inputs (results do not depend on it)."""
    gather: ClassVar[bool] = False
    """Whether the scattered inputs a part sends to the model are taken out once, then
    sent in consecutive slices (see :meth:`take`): worth it where a take costs much more
    per call than per input and a slice is cheap (a frame); not for images."""

    def accepts(self, inputs: Any) -> bool:
        """Whether ``inputs`` (as the user passed them) are of this modality."""
        raise NotImplementedError(f"{type(self).__name__}.accepts")

    def prepare(self, inputs: Any, labels: Any) -> tuple[Any, Any, Any]:
        """``(data, labels, label column or None)``: a validated copy of the inputs;
        ``labels`` may name a part of the inputs (a column) that is split off."""
        raise NotImplementedError(f"{type(self).__name__}.prepare")

    def hash_into(self, digest: Any, data: Any) -> None:
        """Feed ``data`` into a hashlib digest (the fingerprint of a result)."""
        raise NotImplementedError(f"{type(self).__name__}.hash_into")

    def take(self, data: Any, positions: np.ndarray) -> Any:
        """The inputs at ``positions``, in the form the model is called with."""
        run = _run(positions)
        if run is not None and isinstance(data, list):
            return data[run[0]:run[1]]  # a new list, as below, without a loop
        return [data[i] for i in positions.tolist()]

    def batches(self, perturbed: Any) -> Any:
        """A part's perturbed inputs in the form :meth:`take` reads the model's batches
        from: made once per part, taken from once per model call (by default the inputs
        as they are)."""
        return perturbed

    def perturb(self, p: Perturbation, data: Any, severity: float, seed: int,
                positions: np.ndarray | None = None) -> Any:
        """``p`` applied to all inputs, or to those at ``positions`` (keyed by their
        positions, so the same input gets the same draws either way)."""
        if positions is None:
            return p.apply(data, severity=severity, seed=seed)
        return p.apply(self.take(data, positions), severity=severity, seed=seed,
                       indices=positions)

    def changed(self, before: Any, after: Any) -> np.ndarray:
        """Per input: whether the perturbation changed it."""
        return np.array([a != b for a, b in zip(before, after)], dtype=bool)

    def keys(self, after: Any, positions: np.ndarray) -> np.ndarray:
        """Hashable keys of the perturbed inputs at ``positions``: equal inputs, equal
        keys, and different inputs, different keys (each distinct input is predicted
        once). A key identifies the input itself, never its position: shards of a unit
        are matched by their keys."""
        return np.array([repr(after[i]) for i in positions.tolist()], dtype=object)

    def changes(self, data: Any, positions: np.ndarray | None, before: Any,
                after: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`changed`, and the :meth:`keys` of the changed inputs, at once: what the
        runner asks of each part of a unit. ``before`` is ``data`` (all the clean inputs,
        never changed during a run) at ``positions`` (all of it when None), ``after`` the
        perturbed ``before``. A modality may override this to share work between the two
        or across the units of a run."""
        changed = np.asarray(self.changed(before, after), dtype=bool)
        return changed, self.keys(after, np.flatnonzero(changed))

    def show(self, data: Any, position: int) -> Any:
        """One input as a result stores it (JSON-ready, bounded in size)."""
        return _jsonable(data[position])

    def show_all(self, batch: Any) -> list[Any]:
        """Every input of a batch (e.g. perturbed inputs) as a result stores it."""
        return [_jsonable(x) for x in batch]

    def adversarial(self, data: Any, positions: np.ndarray, found: dict[int, Any]) -> Any:
        """A batch of an attack's adversarial inputs (``found[i]`` for each position)."""
        return [found[int(i)] for i in positions.tolist()]


class Text(Modality):
    """A list (or Series) of strings, one per sample."""

    name = "text"
    TEXT_LIMIT = 2000

    def accepts(self, inputs: Any) -> bool:
        # the fallback: anything else must be texts (not an image array of 2+ axes)
        return not is_frame(inputs) and not (isinstance(inputs, np.ndarray) and inputs.ndim > 1)

    def prepare(self, inputs: Any, labels: Any) -> tuple[Any, Any, Any]:
        # a corpus: the batched perturbations analyse each chunk of the clean texts once
        # per run (code points, words), not once per perturbation and severity
        return catalogue.TextCorpus(texts_of(inputs, labels)), labels, None

    def take(self, data: Any, positions: np.ndarray) -> Any:
        if isinstance(data, np.ndarray):  # a part's perturbed texts (see batches)
            return data[positions].tolist()
        return super().take(data, positions)

    def batches(self, perturbed: Any) -> Any:
        # an object array, which the comparison with the clean texts needs anyway: a
        # batch of 256 is then a fancy index and a tolist (2.3 us, against 6.3 us for a
        # list comprehension), the same list of the same strings
        return np.array(perturbed, dtype=object)

    def perturb(self, p: Perturbation, data: Any, severity: float, seed: int,
                positions: np.ndarray | None = None) -> Any:
        # a contiguous shard of a corpus (an executor's part of a unit) is perturbed as a
        # span of it, which shares its analyses; other subsets are analysed as they come
        span = self._span(data, positions)
        if span is None:
            return super().perturb(p, data, severity, seed, positions)
        return p.apply(data.span(*span), severity=severity, seed=seed, indices=positions)

    @staticmethod
    def _span(data: Any, positions: np.ndarray | None) -> tuple[int, int] | None:
        """``(start, stop)`` when ``positions`` are ``start, start + 1, ..., stop - 1`` of
        a corpus, else None."""
        if positions is None or not isinstance(data, catalogue.TextCorpus):
            return None
        positions = np.asarray(positions)
        if positions.ndim != 1 or len(positions) == 0 or positions.dtype.kind not in "iu":
            return None
        start = int(positions[0])
        stop = start + len(positions)
        if start < 0 or stop > len(data) or not np.array_equal(
                positions, np.arange(start, stop)):
            return None
        return start, stop

    def hash_into(self, digest: Any, data: Any) -> None:
        for text in data:
            encoded = text.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "little"))
            digest.update(encoded)

    def changed(self, before: Any, after: Any) -> np.ndarray:
        return np.array(after, dtype=object) != np.array(before, dtype=object)

    def keys(self, after: Any, positions: np.ndarray) -> np.ndarray:
        return np.array(after, dtype=object)[positions]

    def changes(self, data: Any, positions: np.ndarray | None, before: Any,
                after: Any) -> tuple[np.ndarray, np.ndarray]:
        # the perturbed texts made an array once (or already one: see batches), for the
        # comparison and the keys both
        shifted = np.asarray(after, dtype=object)
        changed = shifted != np.array(before, dtype=object)
        return changed, shifted[changed]

    def show(self, data: Any, position: int) -> Any:
        return self.excerpt(data[position])

    def show_all(self, batch: Any) -> list[Any]:
        return [self.excerpt(t) for t in batch]

    @classmethod
    def excerpt(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > cls.TEXT_LIMIT:
            return value[:cls.TEXT_LIMIT] + "…"
        return value


class Tabular(Modality):
    """A pandas DataFrame whose rows are samples; labels may name one of its columns."""

    name = "tabular"
    batch_size = 4096  # table models are vectorised: at 256 rows a call is mostly overhead
    gather = True  # one take per part, not one per model call (1.3 ms each at 4,096 rows)
    # a part whose first probes miss a systematic crash is isolated crash by crash
    # before the unit's probes decide it (at 50,000 rows: 59 s for one
    # HistGradientBoosting unit, against 2 s at 20,000), so parts stay small; but
    # perturbing, comparing and keying cost about 4 ms a time whatever the rows (pandas
    # calls per column, per stage), so a unit does those for five parts at once
    part_size = 20_000
    perturb_parts = 5

    def accepts(self, inputs: Any) -> bool:
        return is_frame(inputs)

    def prepare(self, inputs: Any, labels: Any) -> tuple[Any, Any, Any]:
        check_column_names(inputs)
        frame, column = inputs, None
        if isinstance(labels, (str, int)) and not isinstance(labels, bool):
            if labels not in frame.columns:
                raise InvalidArgument(
                    f"labels={labels!r} is not a column of inputs; columns are "
                    f"{[str(c) for c in frame.columns][:20]}")
            column = labels
            labels = frame[column].to_numpy()
            frame = frame.drop(columns=[column])
        return frame.reset_index(drop=True).copy(), labels, column

    def hash_into(self, digest: Any, data: Any) -> None:
        digest.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
        digest.update(hash_rows(data).tobytes())

    def take(self, data: Any, positions: np.ndarray) -> Any:
        run = _run(positions)
        if run is not None and _copy_on_write():
            # a slice: 4x cheaper than a take per model call, and with copy-on-write a
            # model that writes into its batch cannot write into ``data``
            return data.iloc[run[0]:run[1]]
        return data.iloc[positions]

    def perturb(self, p: Perturbation, data: Any, severity: float, seed: int,
                positions: np.ndarray | None = None) -> Any:
        # ``reference``: a shard's noise is scaled by the whole data set's statistics,
        # which are read once: ``data`` is the run's private copy, never changed
        catalogue.freeze_reference(data)
        if positions is None:
            return p.apply(data, severity=severity, seed=seed, reference=data)
        return p.apply(self.take(data, positions), severity=severity, seed=seed,
                       indices=positions, reference=data)

    def changed(self, before: Any, after: Any) -> np.ndarray:
        return changed_rows(before, after)

    def keys(self, after: Any, positions: np.ndarray) -> np.ndarray:
        return self._keys(after, positions)

    def changes(self, data: Any, positions: np.ndarray | None, before: Any,
                after: Any) -> tuple[np.ndarray, np.ndarray]:
        # the columns a perturbation left alone share their memory with ``before`` (a
        # copy-on-write copy): they are not compared, and their cells' keys are the
        # clean table's, computed once per run (most units write one or a few columns)
        untouched = untouched_columns(before, after)
        changed = changed_rows(before, after, untouched)
        local = np.flatnonzero(changed)
        at = local if positions is None else np.asarray(positions)[local]
        known = {j: functools.partial(_clean_keys_at, data, j, at) for j in untouched}
        return changed, self._keys(after, local, known)

    @staticmethod
    def _keys(after: Any, positions: np.ndarray,
              known: dict[int, Any] | None = None) -> np.ndarray:
        # a 64-bit key of each row's content (column names and dtypes, each cell's type
        # and value: 5 and "5" are two inputs), computed on the rows at ``positions`` only
        try:
            return unit_keys(after, positions, known)
        except InvalidArgument:  # a cell Python cannot hash (a list): the row's repr
            return np.array([repr(tuple(after.iloc[i].tolist())) for i in positions.tolist()],
                            dtype=object)

    def show(self, data: Any, position: int) -> Any:
        return {str(k): _jsonable(v) for k, v in data.iloc[position].items()}

    def show_all(self, batch: Any) -> list[Any]:
        return [{str(k): _jsonable(v) for k, v in row.items()} for _, row in batch.iterrows()]

    def adversarial(self, data: Any, positions: np.ndarray, found: dict[int, Any]) -> Any:
        import pandas as pd

        rows = []
        for i in positions.tolist():
            row = data.iloc[[i]].reset_index(drop=True)
            change = {c: found[i][str(c)] for c in data.columns
                      if str(c) in found[i] and found[i][str(c)] != row[c].iloc[0]}
            rows.append(pack_rows(row, [change]))
        return pd.concat(rows, ignore_index=True) if rows else data.iloc[:0]


def clean_cell_keys(data: Any, j: int) -> np.ndarray:
    """The cell keys of every row of column ``j`` of the run's table, kept with it while
    it lives (the runner freezes its private copy: see ``perturbations.kept_with``); a
    column Python cannot hash is refused once, its message kept rather than the
    exception and the frames of its traceback."""
    def compute() -> np.ndarray | str:
        try:
            return column_keys(data, j)
        except InvalidArgument as exc:
            return str(exc)

    keys = catalogue.kept_with(data, ("robustcheck", "cell keys", j), compute)
    if isinstance(keys, str):
        raise InvalidArgument(keys)
    return keys


def _clean_keys_at(data: Any, j: int, at: np.ndarray) -> np.ndarray:
    return clean_cell_keys(data, j).take(at)  # a new array


def _jsonable(value: Any) -> Any:
    from ._files import jsonable

    return jsonable(value)


# -- the registry ---------------------------------------------------------------------

TEXT = Text()
TABULAR = Tabular()
_REGISTRY: dict[str, Modality] = {TEXT.name: TEXT, TABULAR.name: TABULAR}
_ENTRY_POINTS_LOADED = False


def register(modality: Modality) -> Modality:
    """Add a modality (an instance of a :class:`Modality` subclass with a ``name``).
    Later registrations are asked first whether they accept the user's inputs, so a
    specific modality wins over text, which takes anything that is not a table."""
    if not isinstance(modality, Modality) or not modality.name:
        raise InvalidArgument(f"register takes a Modality instance with a name; got "
                              f"{modality!r}")
    for attribute in ("batch_size", "part_size", "perturb_parts"):
        value = getattr(modality, attribute)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgument(
                f"modality {modality.name!r}: {attribute} must be a positive integer, got "
                f"{value!r}; e.g. {attribute} = {getattr(Modality, attribute)} (the default)")
    _REGISTRY[modality.name] = modality
    catalogue.add_modality(modality.name)
    return modality


def get(name: str) -> Modality:
    _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InvalidArgument(f"unknown modality {name!r}; known: "
                              f"{', '.join(_REGISTRY)}") from None


def for_inputs(inputs: Any) -> Modality:
    """The modality whose ``accepts`` claims ``inputs``, newest registration first."""
    _load_entry_points()
    for modality in reversed(list(_REGISTRY.values())):
        if modality.accepts(inputs):
            return modality
    return TEXT


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    load_plugins("robustcheck.modalities", "modality", register)


def _run(positions: np.ndarray) -> tuple[int, int] | None:
    """``(start, stop)`` when ``positions`` are ``start, start + 1, ..., stop - 1``."""
    if len(positions) == 0 or getattr(positions, "dtype", None) is None \
            or positions.dtype.kind not in "iu":
        return None
    start, last = int(positions[0]), int(positions[-1])
    if last - start != len(positions) - 1 or not (np.diff(positions) == 1).all():
        return None
    return start, last + 1


def _copy_on_write() -> bool:
    """Whether pandas copies a slice before anything writes into it (always from pandas
    3; an option in pandas 2, read on each call)."""
    import pandas as pd

    return _pandas_major() >= 3 or pd.options.mode.copy_on_write is True


@functools.cache
def _pandas_major() -> int:
    import pandas as pd

    return int(pd.__version__.split(".")[0])


# -- the data set of a run ----------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Validated inputs of one modality, their labels and their fingerprint."""

    inputs: Any
    labels: np.ndarray | None
    kind: Modality
    fingerprint: str

    @property
    def modality(self) -> str:
        return self.kind.name

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, positions: np.ndarray) -> Any:
        return self.kind.take(self.inputs, positions)

    def like(self, inputs: Any) -> Dataset:
        """Other inputs of the same modality (perturbed ones), unlabelled, unhashed."""
        return Dataset(inputs, None, self.kind, "")


def make_dataset(inputs: Any, labels: Any) -> Dataset:
    """Check and copy the user's data; nothing the user passed is modified."""
    kind = for_inputs(inputs)
    data, labels, column = kind.prepare(inputs, labels)
    if len(data) == 0:
        raise InvalidArgument("inputs is empty; pass at least one sample")
    truth = None if labels is None else labels_of(labels, len(data), column)
    return Dataset(data, truth, kind, fingerprint(data, truth, kind))


def fingerprint(data: Any, truth: np.ndarray | None, kind: Modality) -> str:
    """A hash of the inputs and labels: two results are comparable only when equal."""
    digest = hashlib.sha256(kind.name.encode())
    kind.hash_into(digest, data)
    if truth is not None:
        digest.update(repr(truth.tolist()).encode())
    return "sha256:" + digest.hexdigest()


def perturb(data: Dataset, p: Perturbation, severity: float, seed: int,
            positions: np.ndarray | None = None) -> Any:
    """The perturbed inputs (all, or those at ``positions``): the same for a position
    whether perturbed alone or with the whole data set."""
    return data.kind.perturb(p, data.inputs, severity, seed, positions)

