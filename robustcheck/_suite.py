"""Suite selection: the perturbations and attacks a run asks for, by name, family,
modality or object, checked against the data's modality; and the lookup of one of them
by name (to regenerate a loaded result's perturbed inputs)."""

from __future__ import annotations

from typing import Any

import perturbations as catalogue
from perturbations import Perturbation

from .attack import ATTACKS, Attack
from .errors import InvalidArgument, ModalityMismatch

__all__ = ["lookup", "select"]


def select(spec: Any, modality: str) -> list[Any]:
    """Perturbations (and attacks: ``"attack.text"``, Attack objects) in the order given."""
    items = [spec] if isinstance(spec, (str, Perturbation, Attack)) else spec
    suite: dict[str, Any] = {}
    try:
        for item in items:
            found: list[Any]
            if isinstance(item, Attack) or (isinstance(item, str) and item in ATTACKS):
                found = [item if isinstance(item, Attack) else ATTACKS[item]]
            else:
                found = catalogue.select([item])
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
    return list(suite.values())


def lookup(name: str) -> Any:
    """The perturbation or attack called ``name``."""
    return ATTACKS[name] if name in ATTACKS else catalogue.get(name)
