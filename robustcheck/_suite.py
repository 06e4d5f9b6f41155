"""Suite selection: the perturbations and attacks a run asks for, by name, family,
modality or object, checked against the data's modality; and the lookup of one of them
by name (to regenerate a loaded result's perturbed inputs)."""

from __future__ import annotations

import warnings
from typing import Any

import perturbations as catalogue
from perturbations import Perturbation

from .attack import ATTACKS, Attack
from .errors import InvalidArgument, ModalityMismatch, RobustcheckWarning

__all__ = ["lookup", "select"]


def select(spec: Any, modality: str) -> list[Any]:
    """Perturbations (and attacks: ``"attack.text"``, Attack objects) in the order given.

    A perturbation whose optional modules are missing (:meth:`Perturbation.missing`) is
    left out of a whole suite (``"image"``, ``"extended"``) with a warning, and refused
    with an ImportError when asked for by name, family or object: either way before the
    model is called."""
    items = [spec] if isinstance(spec, (str, Perturbation, Attack)) else spec
    suite: dict[str, Any] = {}
    asked: set[str] = set()  # not from a whole suite
    try:
        for item in items:
            found: list[Any]
            if isinstance(item, Attack) or (isinstance(item, str) and item in ATTACKS):
                found = [item if isinstance(item, Attack) else ATTACKS[item]]
            else:
                found = catalogue.select([item])
            if not _whole_suite(item):
                asked.update(p.name for p in found)
            for p in found:
                suite.setdefault(p.name, p)
    except catalogue.UnknownPerturbation as exc:
        everything = catalogue.catalogue()
        known = [*(p.name for p in everything), *{p.family for p in everything},
                 *catalogue.MODALITIES, *ATTACKS]
        raise InvalidArgument(
            f"perturbations: {catalogue.UnknownPerturbation(exc.name, known)}") from None
    except catalogue.InvalidArgument as exc:
        raise InvalidArgument(str(exc)) from None
    except TypeError:
        raise InvalidArgument(f"perturbations must be a name, a list of names or "
                              f"Perturbation objects; got {spec!r}") from None
    if not suite:
        raise InvalidArgument(f"perturbations={spec!r} selects nothing; use e.g. "
                              f"perturbations={modality!r}")
    wrong = [p.name for p in suite.values() if p.modality != modality]
    if wrong:
        raise ModalityMismatch(
            f"perturbations {wrong[:5]} are not {modality} perturbations, but the inputs "
            f"are {modality} data; choose from `robustcheck list --modality {modality}` "
            f"or pass perturbations={modality!r}")
    return _available(suite, asked)


def _whole_suite(item: Any) -> bool:
    """Whether ``item`` names a whole suite (a modality's, ``"extended"``, ``"prompt"``),
    not perturbations the user picked; plug-in modalities included."""
    return isinstance(item, str) and (item in catalogue.modalities()
                                      or item in (catalogue.EXTENDED, catalogue.PROMPT))


def _available(suite: dict[str, Any], asked: set[str]) -> list[Any]:
    missing = {name: gone for name, p in suite.items()
               if isinstance(p, Perturbation) and (gone := p.missing())}
    named = sorted(set(missing) & asked) or (sorted(missing) if len(missing) == len(suite)
                                              else [])
    if named:  # asked for by name, or nothing would be left to run
        hints = sorted({f"{module} ({hint})" for name in named
                        for module, hint in missing[name].items()})
        raise ImportError(
            f"perturbations {named} need modules that are not installed: "
            f"{', '.join(hints)}; install them, or leave those perturbations out")
    if missing:
        hints = sorted({hint for gone in missing.values() for hint in gone.values()})
        warnings.warn(
            f"left out of the suite, their modules are not installed: {sorted(missing)}; "
            f"to run them: {'; '.join(hints)}", RobustcheckWarning, stacklevel=4)
    return [p for name, p in suite.items() if name not in missing]


def lookup(name: str) -> Any:
    """The perturbation or attack called ``name``."""
    return ATTACKS[name] if name in ATTACKS else catalogue.get(name)
