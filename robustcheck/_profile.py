"""Production profile: how often real traffic shows what each perturbation family
simulates, so that an audit's failure rates can be weighed by what production sends
(:func:`robustcheck._impact.impact`).

Public as ``robustcheck.profile``, ``robustcheck.compare_profiles`` and
``robustcheck.load_profile``. The module is private on purpose: a submodule named
``profile`` would replace the function ``robustcheck.profile`` as soon as it is imported.

``profile(inputs, reference=clean)`` counts, per phenomenon, the inputs (texts or rows)
that show it at least once, gives the share with a Wilson 95% interval and names the
catalogue families the phenomenon stands for. A family's frequency is the share of
inputs showing any of its phenomena. What cannot be measured without the clean data
(the vocabulary, the categories, the numeric range, the schema) is ``None``, never 0.

Text: emoji (emoji), all-caps words (case), URLs, @mentions and #hashtags (chat),
accented, decomposed or fullwidth letters (unicode), words mixing Latin with Cyrillic
or Greek letters (homoglyph), zero-width or invisible characters and odd whitespace
(whitespace),
slang and abbreviations from the catalogue's lexicons (slang, abbreviation),
contractions (contraction), repeated ``!``/``?`` (punctuation), HTML or Markdown
(markup) and, with a reference, words out of its vocabulary (typo: the proxy counts a
text with a lower-case alphabetic word of three letters or more that is neither in the
reference nor in any lexicon; capitalised words are skipped, as names are no typos,
and so are links, addresses, mentions and hashtags). A coarse proxy: with a reference of
a few hundred texts, new but correct words count too. Words in capitals that the
reference also writes in capitals ("USB") are acronyms, not shouting.

Tables (per column): missing values (NaN, None, NaT, empty or blank strings, "NA",
"null", "-", ..., and the sentinels -999, -9999, -99999) (missing); numbers written as
strings in a column that holds numbers (format); with a reference, values a categorical
column never took (category), numbers outside the column's clean range (outlier,
drift), dates in a format the clean column does not use (format) and columns missing,
extra or reordered (schema). The number and date formats seen ("1,234.5", "1.234,5",
"12%", "$3", "5 kg", ISO, day-first and month-first dates) are reported too.

The JSON holds counts, never an input: ``kind: "robustcheck.profile"``, a
``schema_version``; :func:`compare_profiles` tells which shares moved between two.

The text phenomena are found in :mod:`robustcheck._profile_text`, the table ones in
:mod:`robustcheck._profile_table`; :class:`Phenomenon` lives in
:mod:`robustcheck._profile_base`, which both import.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._data import check_column_names, is_frame
from ._files import dumps, read_json, write_atomic
from ._profile_base import NEEDS_REFERENCE, Phenomenon, _Found, _share
from ._profile_table import _frame_found
from ._profile_text import _profile_texts
from .errors import InvalidArgument, ResultFileError
from .metrics import Metric
from .stats import wilson_interval

__all__ = ["SCHEMA_VERSION", "FamilyFrequency", "Phenomenon", "Profile", "ProfileDrift",
           "compare_profiles", "load_profile", "profile"]

SCHEMA_VERSION = 1
KIND = "robustcheck.profile"
MODALITIES = ("text", "tabular")

# -- the profile -----------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyFrequency:
    """How many inputs show any of a family's measured ``phenomena`` (None: none could
    be measured)."""

    family: str
    count: int | None
    n: int
    phenomena: tuple[str, ...]

    @property
    def share(self) -> Metric | None:
        return _share(self.count, self.n)


def _families(found: _Found, n: int) -> tuple[FamilyFrequency, ...]:
    parts: dict[str, list[tuple[str, np.ndarray]]] = {}
    for p, mask in found:
        for family in p.families:
            parts.setdefault(family, [])
            if mask is not None:
                parts[family].append((p.title, mask))
    return tuple(FamilyFrequency(
        family, None if not masks else int(np.logical_or.reduce([m for _, m in masks]).sum()),
        n, tuple(t for t, _ in masks)) for family, masks in sorted(parts.items()))


@dataclass(frozen=True)
class Profile:
    """How often each phenomenon occurs in a sample of production inputs.

    ``frequency(family)`` is the share of inputs showing any of the family's phenomena;
    ``share(name, column=None)`` that of one phenomenon; ``str(profile)`` a table;
    ``to_json(path)`` a small JSON of counts (:func:`load_profile` reads it back).
    """

    modality: str
    n: int
    phenomena: tuple[Phenomenon, ...]
    families: tuple[FamilyFrequency, ...]
    name: str | None = None
    reference_n: int | None = None

    def frequency(self, family: str) -> Metric | None:
        """The share of inputs showing any phenomenon of ``family`` (Wilson 95%
        interval); None when the profile holds no measured phenomenon of it."""
        if not isinstance(family, str):
            raise InvalidArgument(f"family must be a family name such as 'emoji', got "
                                  f"{family!r}")
        found = next((f for f in self.families if f.family == family), None)
        if found is None:
            import perturbations

            known = sorted({p.family for p in perturbations.catalogue()} |
                           {f.family for f in self.families})
            if family not in known:
                close = difflib.get_close_matches(family, known, n=3)
                hint = f"did you mean {', '.join(close)}? " if close else ""
                raise InvalidArgument(f"family={family!r} is not a perturbation family; "
                                      f"{hint}known: {', '.join(known)}")
        return None if found is None else found.share

    def share(self, name: str, column: str | None = None) -> Metric | None:
        """The share of inputs showing phenomenon ``name`` (in ``column`` for a table);
        None when it was not measured. Unknown names raise with the known ones."""
        for p in self.phenomena:
            if p.key == (name, column):
                return p.share
        known = sorted({p.name if p.column is None else f"{p.name} (column {p.column!r})"
                        for p in self.phenomena})
        raise InvalidArgument(f"name={name!r}, column={column!r} is not a phenomenon of this "
                              f"profile; use one of: {', '.join(known)}")

    def table(self) -> str:
        """A plain-text table: every phenomenon, then every family."""
        unit = _UNITS.get(self.modality, "inputs")
        ref = "no reference" if self.reference_n is None else \
            f"reference of {self.reference_n} {unit}"
        head = f"Production profile {self.name or '(unnamed)'!r}: {self.n} {unit}, {ref}"
        phenomena = _columns(["phenomenon", "families", unit, "share", "95% interval", "note"],
                             [(p.title, ", ".join(p.families) or "(format seen)", p.count,
                               p.n, p.share, p.note) for p in self.phenomena])
        families = _columns(["family", "", unit, "share", "95% interval", "measured by"],
                            [(f.family, "", f.count, f.n, f.share,
                              "; ".join(f.phenomena) or NEEDS_REFERENCE)
                             for f in self.families])
        return "\n".join([head, *phenomena, "",
                          "Families (share of inputs showing any of their phenomena):",
                          *families])

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        return {
            "kind": KIND, "schema_version": SCHEMA_VERSION, "robustcheck_version": __version__,
            "name": self.name, "modality": self.modality, "n": self.n,
            "reference_n": self.reference_n,
            "phenomena": [{"name": p.name, "column": p.column, "label": p.label,
                           "families": list(p.families), "count": p.count, "note": p.note}
                          for p in self.phenomena],
            "families": [{"family": f.family, "count": f.count, "phenomena": list(f.phenomena)}
                         for f in self.families],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The profile as JSON; written atomically to ``path`` when given."""
        text = dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        if path is not None:
            write_atomic(path, text)
        return text

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        """A profile from :meth:`to_dict`; a dict of another shape raises
        :class:`InvalidArgument` naming the field."""
        _check_header(d)
        n = d["n"]
        phenomena = tuple(Phenomenon(
            name=_text(p, "name", f"phenomena[{i}]"),
            label=_text(p, "label", f"phenomena[{i}]"),
            families=_names(p, "families", f"phenomena[{i}]"),
            count=_count(p, n, f"phenomena[{i}]"), n=n,
            column=None if _field(p, "column", f"phenomena[{i}]") is None else
            _text(p, "column", f"phenomena[{i}]"),
            note=str(p.get("note") or "")) for i, p in enumerate(_items(d, "phenomena")))
        families = tuple(FamilyFrequency(
            family=_text(f, "family", f"families[{i}]"), count=_count(f, n, f"families[{i}]"),
            n=n, phenomena=_names(f, "phenomena", f"families[{i}]"))
            for i, f in enumerate(_items(d, "families")))
        name = d.get("name")
        reference_n = d.get("reference_n")
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"profile field 'name' is {name!r}; expected text or null")
        if reference_n is not None and not _is_count(reference_n):
            raise InvalidArgument(f"profile field 'reference_n' is {reference_n!r}; expected a "
                                  "count or null")
        return cls(d["modality"], n, phenomena, families, name, reference_n)


_UNITS = {"text": "texts", "tabular": "rows"}


def _columns(header: list[str],
             rows: Iterable[tuple[str, str, int | None, int, Metric | None, str]]) -> list[str]:
    cells = [header]
    for title, families, count, n, share, note in rows:
        if share is None or count is None:
            cells.append([title, families, "—", "", "", note or "not measured"])
        else:
            cells.append([title, families, f"{count}/{n}", f"{100 * share.value:.1f}%",
                          f"[{100 * share.low:.1f}, {100 * share.high:.1f}]", note])
    widths = [max(len(c[k]) for c in cells) for k in range(5)]
    return [f"  {c[0].ljust(widths[0])}  {c[1].ljust(widths[1])}  {c[2].rjust(widths[2])}  "
            f"{c[3].rjust(widths[3])}  {c[4].ljust(widths[4])}  {c[5]}".rstrip()
            for c in cells]


# -- reading a profile back ------------------------------------------------------------


def _check_header(d: Any) -> None:
    if not isinstance(d, Mapping):
        raise InvalidArgument(f"a profile is a dict (from Profile.to_dict), got "
                              f"{type(d).__name__}")
    if d.get("kind") != KIND:
        other = f"a {d['kind']!r} file" if isinstance(d.get("kind"), str) else \
            "no 'kind' field"
        raise InvalidArgument(f"not a robustcheck profile: it has {other}, expected kind "
                              f"{KIND!r}; make one with robustcheck.profile(inputs)"
                              ".to_json(path)")
    version = d.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InvalidArgument(f"profile schema_version {version!r} is not {SCHEMA_VERSION}, "
                              "the version this robustcheck reads; profile the inputs again "
                              "with this version")
    if not _is_count(d.get("n")) or d["n"] < 1:
        raise InvalidArgument(f"profile field 'n' is {d.get('n')!r}; expected a positive count")
    if d.get("modality") not in MODALITIES:
        raise InvalidArgument(f"profile field 'modality' is {d.get('modality')!r}; expected "
                              f"one of {', '.join(MODALITIES)}")


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _items(d: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = d.get(key)
    if not isinstance(items, list) or not all(isinstance(x, Mapping) for x in items):
        raise InvalidArgument(f"profile field {key!r} must be a list of objects, got "
                              f"{type(items).__name__}")
    return items


def _field(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise InvalidArgument(f"profile {where} has no field {key!r}")
    return d[key]


def _text(d: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(d, key, where)
    if not isinstance(value, str):
        raise InvalidArgument(f"profile {where}.{key} is {value!r}; expected text")
    return value


def _names(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = _field(d, key, where)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise InvalidArgument(f"profile {where}.{key} is {value!r}; expected a list of names")
    return tuple(value)


def _count(d: Mapping[str, Any], n: int, where: str) -> int | None:
    value = _field(d, "count", where)
    if value is not None and not (_is_count(value) and value <= n):
        raise InvalidArgument(f"profile {where}.count is {value!r}; expected null or a count "
                              f"from 0 to n={n}")
    return value


def load_profile(path: str | os.PathLike[str] | Profile) -> Profile:
    """Read a profile written by :meth:`Profile.to_json` (a :class:`Profile` is returned
    as it is). A missing, damaged or foreign file raises
    :class:`~robustcheck.errors.ResultFileError` naming the file and what is wrong."""
    if isinstance(path, Profile):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidArgument(f"path must be a file path or a Profile, got "
                              f"{type(path).__name__}")
    d = read_json(path, expected="a robustcheck profile JSON (Profile.to_json)")
    try:
        return Profile.from_dict(d)
    except InvalidArgument as exc:
        raise ResultFileError(f"{path}: {exc}") from None


# -- making one ------------------------------------------------------------------------


def _as_texts(value: Any, argument: str) -> list[str]:
    if isinstance(value, (str, bytes)):
        raise InvalidArgument(f"{argument} is a single string; pass a list of texts, one per "
                              "input")
    if isinstance(value, (Mapping, set, frozenset)) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{argument} must be a list of texts, a pandas Series or a "
                              f"DataFrame; got {type(value).__name__}")
    texts = list(value.tolist() if hasattr(value, "tolist") else value)
    bad = next((i for i, x in enumerate(texts) if not isinstance(x, str)), None)
    if bad is not None:
        raise InvalidArgument(f"{argument}[{bad}] is {texts[bad]!r} "
                              f"({type(texts[bad]).__name__}); every text must be a string: "
                              "fill or drop missing texts first")
    return texts


def _as_frame(value: Any, argument: str) -> Any:
    check_column_names(value)
    names = [str(c) for c in value.columns]
    if len(set(names)) < len(names):
        raise InvalidArgument(f"{argument} has columns whose names read the same as text "
                              f"({names}); rename them so each is unique")
    return value


def profile(inputs: Any, *, reference: Any = None, name: str | None = None) -> Profile:
    """Count how often production ``inputs`` show what each perturbation family simulates.

    ``inputs``: a list, tuple or Series of texts, or a pandas DataFrame (one row per
    input). ``reference``: the clean data the model was audited on (texts or a frame like
    ``inputs``): the vocabulary, categories, numeric ranges, date formats and columns the
    phenomena that need one are measured against; without it they are not measured
    (None). ``name`` labels the profile (e.g. "prod-2024-06"). Nothing passed is changed.
    """
    if name is not None and not isinstance(name, str):
        raise InvalidArgument(f"name must be text or None, got {name!r}; e.g. "
                              "name='prod-2024-06'")
    tabular = is_frame(inputs)
    if reference is not None and is_frame(reference) != tabular:
        raise InvalidArgument(
            f"reference is {'a DataFrame' if is_frame(reference) else type(reference).__name__}"
            f" but inputs {'are a DataFrame' if tabular else 'are texts'}; pass the clean data "
            "in the same form as the production inputs")
    if tabular:
        frame = _as_frame(inputs, "inputs")
        ref = None if reference is None else _as_frame(reference, "reference")
        found, n, kind = _frame_found(frame, ref), len(frame), MODALITIES[1]
    else:
        texts = _as_texts(inputs, "inputs")
        ref = None if reference is None else _as_texts(reference, "reference")
        n, kind = len(texts), MODALITIES[0]
        found = _profile_texts(texts, ref) if n else []
    if n == 0:
        raise InvalidArgument("inputs is empty; profile needs at least one input (a text or "
                              "a row)")
    if ref is not None and len(ref) == 0:
        raise InvalidArgument("reference is empty; pass the clean data the model was audited "
                              "on, or reference=None")
    return Profile(kind, n, tuple(p for p, _ in found), _families(found, n), name,
                   None if ref is None else len(ref))


# -- drift -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftRow:
    """One phenomenon (or a family, ``name`` "family") in two profiles: both shares,
    ``difference`` = new - old with its interval, and whether the interval excludes 0."""

    name: str
    column: str | None
    label: str
    old: Metric | None
    new: Metric | None
    difference: Metric | None
    significant: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "label": self.label,
                **{k: None if m is None else m.to_dict()
                   for k, m in (("old", self.old), ("new", self.new),
                                ("difference", self.difference))},
                "significant": self.significant}


@dataclass(frozen=True)
class ProfileDrift:
    """Which shares moved between two profiles. Each difference has a Newcombe hybrid
    score interval (built from the two Wilson intervals; the samples are independent)
    at a Bonferroni-adjusted level, so that all intervals hold together with probability
    ``confidence``: a row is significant when its interval excludes 0."""

    old_name: str | None
    new_name: str | None
    confidence: float
    level: float
    """The confidence of each interval: ``1 - (1 - confidence) / rows compared``."""
    rows: tuple[DriftRow, ...]

    @property
    def significant(self) -> tuple[DriftRow, ...]:
        return tuple(r for r in self.rows if r.significant)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "robustcheck.profile_drift", "old": self.old_name,
                "new": self.new_name, "confidence": self.confidence, "level": self.level,
                "method": "Newcombe hybrid score interval of new - old, Bonferroni-adjusted",
                "rows": [r.to_dict() for r in self.rows]}

    def __str__(self) -> str:
        head = (f"Profile drift {self.old_name or '(old)'!r} -> {self.new_name or '(new)'!r}: "
                f"{len(self.significant)} of "
                f"{sum(r.difference is not None for r in self.rows)} shares moved (Newcombe "
                f"intervals, {100 * self.confidence:g}% for all rows together)")
        cells = [["", "phenomenon", "old", "new", "difference", "interval"]]
        for r in self.rows:
            title = r.label if r.column is None else f"{r.label} [{r.column}]"
            if r.name == "family":
                title = f"family {r.label}"
            d = r.difference
            cells.append(["*" if r.significant else "", title, _pct(r.old), _pct(r.new),
                          "—" if d is None else f"{100 * d.value:+.1f}",
                          "" if d is None else f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}]"])
        widths = [max(len(c[k]) for c in cells) for k in range(6)]
        lines = [head] + [f"{c[0]:1} {c[1].ljust(widths[1])}  {c[2].rjust(widths[2])}  "
                          f"{c[3].rjust(widths[3])}  {c[4].rjust(widths[4])}  {c[5]}".rstrip()
                          for c in cells]
        return "\n".join([*lines, "* the interval of the difference excludes 0"])


def _pct(m: Metric | None) -> str:
    return "—" if m is None else f"{100 * m.value:.1f}%"


def _newcombe(old: tuple[int, int], new: tuple[int, int], level: float) -> Metric:
    """Newcombe's hybrid score interval (his method 10) of ``p_new - p_old``."""
    (k1, n1), (k2, n2) = old, new
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p2 - p1
    return Metric(d, d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1),
                  n1 + n2)


def compare_profiles(old: Profile | str | os.PathLike[str],
                     new: Profile | str | os.PathLike[str], *,
                     confidence: float = 0.95) -> ProfileDrift:
    """Compare two profiles (or their JSON files) of the same kind of input: per
    phenomenon and per family, both shares, the difference ``new - old`` with its
    Newcombe interval, and whether it is significant (see :class:`ProfileDrift`).
    Phenomena measured in only one of them are listed with None on the other side."""
    if not isinstance(confidence, float) or not 0.5 <= confidence < 1:
        raise InvalidArgument(f"confidence must be a float in [0.5, 1), got {confidence!r}; "
                              "e.g. confidence=0.95")
    a, b = load_profile(old), load_profile(new)
    if a.modality != b.modality:
        raise InvalidArgument(f"old profiles {a.modality} inputs and new {b.modality} "
                              "inputs; compare profiles of the same kind of input")
    pairs: dict[tuple[str, str | None], list[Any]] = {}
    for side, prof in enumerate((a, b)):
        for p in prof.phenomena:
            pairs.setdefault(p.key, [p.label, None, None])[side + 1] = (p.count, p.n)
        for f in prof.families:
            pairs.setdefault(("family", f.family), [f.family, None, None])[side + 1] = \
                (f.count, f.n)
    both = [k for k, (_, x, y) in pairs.items()
            if x is not None and y is not None and x[0] is not None and y[0] is not None]
    level = 1 - (1 - confidence) / max(1, len(both))
    rows = []
    for key, (label, x, y) in pairs.items():
        diff = _newcombe(x, y, level) if key in both else None
        rows.append(DriftRow(key[0], key[1], label,
                             None if x is None else _share(*x), None if y is None else _share(*y),
                             diff, None if diff is None else diff.low > 0 or diff.high < 0))
    return ProfileDrift(a.name, b.name, confidence, level, tuple(rows))

