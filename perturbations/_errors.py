"""The catalogue's exceptions.

::

    PerturbationError                     anything the catalogue raises on purpose
     +-- InvalidArgument (ValueError)     a bad argument: names it, the value and the fix
     |    +-- ModalityError (TypeError)   text given to a tabular perturbation or the reverse
     +-- UnknownPerturbation (LookupError)  a name not in the catalogue, with close matches
     +-- RegistrationError                a perturbation defined wrongly (a developer error)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "InvalidArgument",
    "ModalityError",
    "PerturbationError",
    "RegistrationError",
    "UnknownPerturbation",
]


class PerturbationError(Exception):
    """Base class of every error the catalogue raises on purpose."""


class InvalidArgument(PerturbationError, ValueError):
    """An argument has a bad value; the message names the argument, the value and the fix."""


class ModalityError(InvalidArgument, TypeError):
    """Data of one modality was given to a perturbation of another."""


class UnknownPerturbation(PerturbationError, LookupError):
    """No perturbation or family of that name is registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
        if not close:  # "keyboard" should find "typo.keyboard"
            close = [k for k in known if name and name.lower() in k.lower()][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(
            f"unknown perturbation {name!r}.{hint} "
            "`robustcheck list` or perturbations.catalogue() shows every name."
        )
        self.name = name
        self.suggestions = close

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0])


class RegistrationError(PerturbationError):
    """A perturbation was defined with a missing or inconsistent record."""
