"""The ``Perturbation`` record, the ``@perturbation`` decorator and the registry."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import numbers
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any

import numpy as np

from ._errors import InvalidArgument, ModalityError, RegistrationError, UnknownPerturbation
from ._random import Draws, stable_hash
from ._text_corpus import TextCorpus, apply_in_chunks

__all__ = [
    "EXPECTATIONS",
    "MODALITIES",
    "Perturbation",
    "catalogue",
    "get",
    "perturbation",
    "select",
]

MODALITIES = ("text", "tabular", "image")
_modalities: list[str] = list(MODALITIES)
EXTENDED = "extended"
"""The suite of perturbations kept out of the default suites (their records say why),
except ``no-canary`` ones: those only mean something for a model that writes text."""
PROMPT = "prompt"
"""The suite of perturbations meant for the prompts of generative models (records with
``prompt=True``): injected instructions, distractor sentences, templates."""


def add_modality(name: str) -> None:
    """Make ``name`` a modality perturbations may be registered for (a plug-in's new
    kind of input). Its perturbations take a sequence of inputs and are applied one
    input at a time (``func(x, rng=..., severity=...)``) or on the whole batch
    (``batched=True``: ``func(xs, draws=..., severity=...)``)."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise InvalidArgument(f"a modality name is lower-case letters, digits and _; got "
                              f"{name!r}")
    if name not in _modalities:
        _modalities.append(name)


def modalities() -> tuple[str, ...]:
    """Every modality: the built-in ones and those plug-ins added."""
    return tuple(_modalities)
EXPECTATIONS = ("invariant", "directional", "no-crash", "no-canary")
ENTRY_POINT_GROUP = "robustcheck.perturbations"
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_RESERVED = frozenset({"rng", "draws", "severity", "reference"})
TEXT_CHUNK = 2_500
"""Texts a batched text perturbation is handed at once (a longer batch goes in chunks).

Measured on 50,000 texts x the whole text suite x 3 severities, perturbing alone, in
sittings that ran each size in turns with 10,000: chunks of 2,000-5,000 texts took
23.5-25.5 s where chunks of 10,000 took 25.3-26.4 s, and under a Dask worker's
``MALLOC_TRIM_THRESHOLD_`` (which has every array over 128 KB mapped afresh) 25.3-27.4 s
against 28.0-28.9 s; chunks of 1,000 were slower again without that setting. The
100,000-text audit in one process took 62.0 and 62.0 s against 66.5 and 65.1 s. 2,500
divides the round shard sizes (10,000, 25,000, 50,000) and a text part in one process
(10,000), so those are made of whole chunks of the corpus, whose analyses are kept (see
:class:`~perturbations.TextCorpus`)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Perturbation:
    """One registered input transform and what it promises.

    Call it on one input, ``p(x, severity=0.5, seed=0, index=0)``, or on a batch,
    ``p.apply(xs, severity=0.5, seed=0)``. The output for input ``i`` depends only on
    (seed, name, severity, the input's index ``indices[i]`` in the data set): not on the
    batch it travels in. Severity 0 returns the input unchanged.
    """

    name: str
    modality: str
    expectation: str
    description: str
    severity: str
    """What severity scales, in words: 1.0 is the strongest meaning-preserving setting."""
    func: Callable[..., Any] = dataclasses.field(repr=False)
    batched: bool = False
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    direction: str = ""
    """For ``directional`` perturbations: how a robust model's prediction should move."""
    default: bool = True
    """Part of its modality's default suite (``perturbations="text"``)."""
    groups: Callable[[Any, Any], str | None] | None = dataclasses.field(default=None,
                                                                        repr=False)
    """For counterfactual perturbations: ``groups(original, perturbed)`` names the group
    a changed input was moved between (``"male → female"``), or None when it cannot
    tell; robustcheck then reports the flip rate per group."""
    prompt: bool = False
    """Meant for the prompts of generative models: selected by ``select("prompt")``."""
    requires: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Optional modules it imports when applied, each with how to install it
    (``{"PIL": 'pip install "robustcheck[image]"'}``): a run checks them before it
    starts (:meth:`missing`)."""

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    def missing(self) -> dict[str, str]:
        """The modules of :attr:`requires` that cannot be imported here, with their
        install hints (empty when it can run)."""
        gone = {}
        for module, hint in self.requires.items():
            try:
                importlib.import_module(module)
            except ImportError:
                gone[module] = hint
        return gone

    @property
    def suites(self) -> tuple[str, ...]:
        """The suites that select it: ``"default"`` (its modality's), ``"extended"``,
        ``"prompt"``. A ``no-canary`` perturbation is only in ``"prompt"``: its rows need
        a model that writes text."""
        if self.default:
            return ("default", PROMPT) if self.prompt else ("default",)
        extended = () if self.expectation == "no-canary" else (EXTENDED,)
        return (*extended, PROMPT) if self.prompt else extended

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A registered perturbation travels by name (its function may be a closure that
        # plain pickle cannot carry to a worker process); others are pickled as data.
        registered = _REGISTRY.get(self.name)
        if registered is not None and registered.func is self.func:
            return (_registered, (self.name, dict(self.parameters)))
        return super().__reduce_ex__(protocol)

    @property
    def variant(self) -> str:
        return self.name.split(".", 1)[1]

    def record(self) -> dict[str, Any]:
        """The JSON-ready description stored with every result."""
        return {
            "name": self.name,
            "family": self.family,
            "modality": self.modality,
            "expectation": self.expectation,
            "direction": self.direction,
            "description": self.description,
            "severity": self.severity,
            "parameters": {k: _jsonable(v) for k, v in sorted(self.parameters.items())},
            **({"validity": self.validity} if self.validity is not None else {}),
        }

    @property
    def validity(self) -> dict[str, Any] | None:
        """The hand-judged validity study of this perturbation's outputs (counts over its
        pairs; see ``perturbations._validity``), None when it has none."""
        from ._validity import summary

        return summary(self.name)

    def configure(self, **parameters: Any) -> Perturbation:
        """A copy with other parameter defaults:
        ``get("typo.keyboard").configure(layout="de")``."""
        self._check_parameters(parameters)
        return dataclasses.replace(self, parameters={**self.parameters, **parameters})

    def __call__(self, x: Any, *, severity: float, seed: int = 0, index: int = 0,
                 **parameters: Any) -> Any:
        """Perturb one input: a string for text, a one-row DataFrame for tabular."""
        if self.modality == "text":
            if not isinstance(x, str):
                raise _wrong_modality(self, "x", x)
            return self.apply([x], severity=severity, seed=seed, indices=[index], **parameters)[0]
        if self.modality == "tabular":
            return self.apply(x, severity=severity, seed=seed, indices=[index], **parameters)
        return self.apply([x], severity=severity, seed=seed, indices=[index], **parameters)[0]

    def apply(self, inputs: Any, *, severity: float, seed: int = 0,
              indices: Sequence[int] | np.ndarray | None = None,
              reference: Any = None, **parameters: Any) -> Any:
        """Perturb a batch. Returns the same type as ``inputs`` (list, tuple, numpy array,
        pandas Series or DataFrame); ``inputs`` itself is never modified.

        ``indices`` are the inputs' positions in the whole data set (default ``0..n-1``):
        pass them when perturbing a shard so each input gets its own random draws.
        ``reference`` (tabular) is the data whose statistics scale the change (default:
        ``inputs``); pass the full data set when perturbing a shard.
        """
        severity = check_severity(severity)
        seed = check_seed(seed)
        self._check_parameters(parameters)
        params = {**self.parameters, **parameters}
        if self.modality == "text":
            return self._apply_text(inputs, severity, seed, indices, params)
        if self.modality == "tabular":
            return self._apply_tabular(inputs, severity, seed, indices, reference, params)
        if self.modality == "image":  # arrays, PIL images or paths: see perturbations._image
            from ._image import apply_images

            return apply_images(self, inputs, severity, seed, indices, params)
        return self._apply_items(inputs, severity, seed, indices, params)

    def _apply_items(self, inputs: Any, severity: float, seed: int, indices: Any,
                     params: dict[str, Any]) -> list[Any]:
        """A plug-in modality's inputs: a sequence, perturbed input by input."""
        items = list(inputs)
        if severity == 0.0 or not items:
            return items
        draws = self._draws(seed, len(items), indices)
        if self.batched:
            out = list(self.func(items, draws=draws, severity=severity, **params))
        else:
            out = [self.func(x, rng=draws.generator(i), severity=severity, **params)
                   for i, x in enumerate(items)]
        if len(out) != len(items):
            raise RegistrationError(f"perturbation {self.name!r} returned {len(out)} outputs "
                                    f"for {len(items)} inputs")
        return out

    def _draws(self, seed: int, n: int, indices: Any) -> Draws:
        if indices is None:
            idx = np.arange(n, dtype=np.int64)
        else:
            idx = np.asarray(indices)
            if idx.ndim != 1 or len(idx) != n:
                raise InvalidArgument(
                    f"indices has {idx.size} entries for {n} inputs; pass one index per input "
                    "(its position in the whole data set), or leave indices=None"
                )
            if idx.dtype.kind not in "iu":
                raise InvalidArgument(
                    f"indices must be integers, got dtype {idx.dtype}; pass positions like range(n)"
                )
        return Draws(stable_hash(seed, self.name), idx)

    def _apply_text(self, inputs: Any, severity: float, seed: int, indices: Any,
                    params: dict[str, Any]) -> Any:
        texts = _as_text_list(self, inputs)
        if severity == 0.0 or not texts:
            out = list(texts)
        else:
            draws = self._draws(seed, len(texts), indices)
            if self.batched:  # in chunks (a TextCorpus hands over each one's analysis)
                out = apply_in_chunks(self.func, texts, draws, severity, params, TEXT_CHUNK)
            else:
                func = self.func
                out = [func(text, rng=draws.generator(i), severity=severity, **params)
                       for i, text in enumerate(texts)]
            if len(out) != len(texts) or not set(map(type, out)) <= {str}:
                raise RegistrationError(
                    f"perturbation {self.name!r} returned {len(out)} outputs for {len(texts)} "
                    "strings, or a non-string: a bug in the perturbation, please report it"
                )
        return _restore_container(inputs, out)

    def _apply_tabular(self, inputs: Any, severity: float, seed: int, indices: Any,
                       reference: Any, params: dict[str, Any]) -> Any:
        import pandas as pd

        if not isinstance(inputs, pd.DataFrame):
            raise _wrong_modality(self, "inputs", inputs)
        if reference is not None and not isinstance(reference, pd.DataFrame):
            raise InvalidArgument(
                f"reference must be a pandas DataFrame (the full data set), got "
                f"{type(reference).__name__}; leave it None to use the inputs"
            )
        if severity == 0.0 or len(inputs) == 0:
            return inputs.copy()
        draws = self._draws(seed, len(inputs), indices)
        kwargs: dict[str, Any] = dict(params)
        if _accepts_reference(self.func):
            kwargs["reference"] = inputs if reference is None else reference
        out = self.func(inputs, draws=draws, severity=severity, **kwargs)
        if not isinstance(out, pd.DataFrame) or len(out) != len(inputs):
            raise RegistrationError(
                f"perturbation {self.name!r} did not return a DataFrame of {len(inputs)} rows: "
                "a bug in the perturbation, please report it"
            )
        out.index = inputs.index
        return out

    def _check_parameters(self, parameters: Mapping[str, Any]) -> None:
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise InvalidArgument(
                f"{self.name} has no parameter {unknown[0]!r}; its parameters are: {known}"
            )


@functools.cache
def _accepts_reference(func: Callable[..., Any]) -> bool:
    """Whether a tabular function takes ``reference`` (looked up once per function)."""
    return "reference" in inspect.signature(func).parameters


def _registered(name: str, parameters: dict[str, Any]) -> Perturbation:
    p = get(name)
    return p.configure(**parameters) if parameters != dict(p.parameters) else p


def check_severity(severity: Any, argument: str = "severity") -> float:
    """``severity`` as a float in [0, 1], or InvalidArgument naming the argument."""
    if isinstance(severity, bool) or not isinstance(severity, numbers.Real):
        raise InvalidArgument(
            f"{argument} must be a number in [0, 1], got {severity!r} "
            f"({type(severity).__name__}); e.g. {argument}=0.5"
        )
    value = float(severity)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise InvalidArgument(
            f"{argument} must be in [0, 1], got {severity!r}: 0 leaves inputs unchanged, "
            "1 is the strongest meaning-preserving setting"
        )
    return value


def check_seed(seed: Any, argument: str = "seed") -> int:
    """``seed`` as a non-negative int, or InvalidArgument naming the argument."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise InvalidArgument(
            f"{argument} must be a non-negative integer, got {seed!r}; e.g. {argument}=0"
        )
    return int(seed)


def _wrong_modality(p: Perturbation, argument: str, value: Any) -> ModalityError:
    kind = type(value).__name__
    if p.modality == "text":
        want = "a string (p(x)) or a sequence of strings (p.apply(xs))"
    else:
        want = "a pandas DataFrame whose rows are samples"
    return ModalityError(
        f"{p.name} is a {p.modality} perturbation and takes {want}; {argument} is a {kind}. "
        f"Pick a perturbation of the right modality: perturbations.catalogue(modality=...)"
    )


def _as_text_list(p: Perturbation, inputs: Any) -> list[str]:
    module = type(inputs).__module__
    if isinstance(inputs, (str, bytes, Mapping)) or (
        module.startswith("pandas") and type(inputs).__name__ == "DataFrame"
    ):
        raise _wrong_modality(p, "inputs", inputs)
    if isinstance(inputs, np.ndarray) and inputs.ndim != 1:
        raise _wrong_modality(p, "inputs", inputs)
    if isinstance(inputs, TextCorpus) and set(map(type, inputs)) <= {str}:
        return inputs  # perturbed as it is: its chunks come with their analysis
    try:
        texts = list(inputs)
    except TypeError:
        raise _wrong_modality(p, "inputs", inputs) from None
    if set(map(type, texts)) <= {str}:  # the common case, checked in C
        return texts
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidArgument(
                f"inputs[{i}] is {text!r} ({type(text).__name__}), but {p.name} perturbs "
                "strings: fill or drop missing texts before perturbing"
            )
    return [str(t) for t in texts]  # numpy.str_ and subclasses become plain str


def _restore_container(inputs: Any, out: list[str]) -> Any:
    if isinstance(inputs, list):
        return out
    if isinstance(inputs, tuple):
        return tuple(out)
    if isinstance(inputs, np.ndarray):
        return np.array(out, dtype=inputs.dtype if inputs.dtype == object else str)
    if type(inputs).__module__.startswith("pandas") and type(inputs).__name__ == "Series":
        return type(inputs)(out, index=inputs.index, name=inputs.name, dtype=inputs.dtype)
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


# -- the registry -------------------------------------------------------------------

_REGISTRY: dict[str, Perturbation] = {}
_LOCK = threading.Lock()
_entry_points_loaded = False


def perturbation(
    *,
    name: str,
    modality: str,
    expectation: str,
    description: str,
    severity: str,
    batched: bool = False,
    direction: str = "",
    default: bool = True,
    register: bool = True,
    groups: Callable[[Any, Any], str | None] | None = None,
    prompt: bool = False,
    requires: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Perturbation]:
    """Register a function as a perturbation; returns the :class:`Perturbation` record.

    Per-input form: ``f(x, *, rng, severity, **parameters) -> x`` with ``rng`` a numpy
    Generator seeded for that input. Batch form (``batched=True``):
    ``f(xs, *, draws, severity, **parameters) -> xs`` with ``draws`` a
    :class:`~perturbations._random.Draws` (one key per input). Tabular perturbations are
    always batched and may also take ``reference``. Extra keyword-only arguments with
    defaults become the perturbation's parameters. ``groups`` marks a counterfactual
    perturbation (see :attr:`Perturbation.groups`); ``prompt`` puts it in the ``"prompt"``
    suite. A ``no-canary`` perturbation (it asks the model to print
    ``perturbations.CANARY``) needs no direction and is never in a default suite.
    ``requires`` names the optional modules it imports, each with its install hint (see
    :attr:`Perturbation.requires`).
    """

    def wrap(func: Callable[..., Any]) -> Perturbation:
        record = Perturbation(
            name=name, modality=modality, expectation=expectation, description=description,
            severity=severity, func=func, batched=batched or modality == "tabular",
            parameters=_parameters_of(func, name), direction=direction, default=default,
            groups=groups, prompt=prompt, requires=dict(requires or {}),
        )
        _validate(record)
        if register:
            _register(record)
        return record

    return wrap


def _parameters_of(func: Callable[..., Any], name: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        if p.kind is p.KEYWORD_ONLY and p.name not in _RESERVED:
            if p.default is p.empty:
                raise RegistrationError(f"{name}: parameter {p.name!r} needs a default value")
            params[p.name] = p.default
    return params


def _validate(p: Perturbation) -> None:
    problems = []
    if not _NAME.match(p.name):
        problems.append(f"name {p.name!r} must look like 'family.variant' (lower case)")
    if p.modality not in _modalities:
        problems.append(f"modality {p.modality!r} must be one of {modalities()}")
    if p.expectation not in EXPECTATIONS:
        problems.append(f"expectation {p.expectation!r} must be one of {EXPECTATIONS}")
    if p.expectation == "directional" and not p.direction:
        problems.append("a directional perturbation must say its direction")
    if p.expectation == "no-canary" and p.default:
        problems.append("a no-canary perturbation must set default=False: only a model that "
                        "writes text can print the canary, and default suites serve "
                        "classifiers too")
    if not p.description.strip() or not p.severity.strip():
        problems.append("description and severity (what severity scales) must be filled in")
    accepted = inspect.signature(p.func).parameters
    needed = {"draws", "severity"} if p.batched else {"rng", "severity"}
    if not needed <= set(accepted):
        problems.append(f"the function must take keyword arguments {sorted(needed)}")
    if problems:
        raise RegistrationError(f"perturbation {p.name!r}: " + "; ".join(problems))


def _register(p: Perturbation) -> None:
    with _LOCK:
        existing = _REGISTRY.get(p.name)
        if existing is not None and existing.func is not p.func:
            raise RegistrationError(
                f"a perturbation named {p.name!r} is already registered "
                f"(by {existing.func.__module__}); choose another name"
            )
        _REGISTRY[p.name] = p


def register(p: Perturbation) -> Perturbation:
    """Add an already built record (e.g. from :func:`from_nlpaug`) to the registry."""
    if not isinstance(p, Perturbation):
        raise InvalidArgument(f"register takes a Perturbation, got {type(p).__name__}")
    _validate(p)
    _register(p)
    return p


def unregister(name: str) -> None:
    """Remove a perturbation (for tests and notebooks that redefine one)."""
    with _LOCK:
        _REGISTRY.pop(name, None)


def _load_entry_points() -> None:
    """Import third-party catalogues once: each entry point of the group names a module
    (registering on import), a Perturbation, or an iterable of them."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            items = [loaded] if isinstance(loaded, Perturbation) else (
                list(loaded) if isinstance(loaded, (list, tuple)) else [])
            for item in items:
                register(item)
        except Exception as exc:  # a broken plugin must not take the catalogue down
            warnings.warn(
                f"robustcheck: could not load perturbations from entry point "
                f"{ep.name!r} ({ep.value}): {type(exc).__name__}: {exc}",
                RuntimeWarning, stacklevel=2,
            )


def get(name: str) -> Perturbation:
    """The perturbation called ``name`` (``family.variant``); close matches on a miss."""
    _load_entry_points()
    if not isinstance(name, str):
        raise InvalidArgument(f"name must be a string like 'typo.keyboard', got {name!r}")
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownPerturbation(name, _REGISTRY) from None


def catalogue(modality: str | None = None, family: str | None = None) -> list[Perturbation]:
    """Every registered perturbation, sorted by name, optionally of one modality/family."""
    _load_entry_points()
    if modality is not None and modality not in _modalities:
        raise InvalidArgument(f"modality must be one of {', '.join(_modalities)}; got "
                              f"{modality!r}")
    found = [p for p in _REGISTRY.values()
             if (modality is None or p.modality == modality)
             and (family is None or p.family == family)]
    if family is not None and not found:
        raise UnknownPerturbation(family, {p.family for p in _REGISTRY.values()})
    return sorted(found, key=lambda p: p.name)


def select(spec: str | Perturbation | Iterable[str | Perturbation]) -> list[Perturbation]:
    """Resolve what a user asked for: a modality (its default suite), ``"extended"`` (the
    perturbations kept out of default suites, ``no-canary`` ones excepted), ``"prompt"``
    (the perturbations meant for prompts of generative models: ``injection``,
    ``distractor``, ``template``), a family, a name, a Perturbation, or a list of those.
    Order kept, duplicates dropped."""
    _load_entry_points()
    items: Iterable[str | Perturbation] = [spec] if isinstance(spec, (str, Perturbation)) else spec
    chosen: dict[str, Perturbation] = {}
    families = {p.family for p in _REGISTRY.values()}
    for item in items:
        if isinstance(item, Perturbation):
            found = [item]
        elif not isinstance(item, str):
            raise InvalidArgument(
                f"perturbations must be names, families, modalities or Perturbation "
                f"objects; got {item!r} ({type(item).__name__})"
            )
        elif item in _modalities:
            found = [p for p in catalogue(modality=item) if p.default]
        elif item in (EXTENDED, PROMPT):
            found = [p for p in _REGISTRY.values() if item in p.suites]
        elif item in _REGISTRY:
            found = [_REGISTRY[item]]
        elif item in families:
            found = catalogue(family=item)
        else:
            raise UnknownPerturbation(item, [*_REGISTRY, *families, *_modalities, EXTENDED,
                                                PROMPT])
        for p in found:
            chosen.setdefault(p.name, p)
    return list(chosen.values())
