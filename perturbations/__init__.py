"""The robustcheck perturbation catalogue: pure, seeded input transforms.

>>> import perturbations
>>> typo = perturbations.get("typo.keyboard")
>>> typo("the service was great", severity=1.0, seed=0) != "the service was great"
True

Every perturbation is a :class:`Perturbation` record registered by the
:func:`perturbation` decorator. Third-party packages add theirs through the entry-point
group ``robustcheck.perturbations``. This package knows nothing of models.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing registers the built-in catalogue)
    _image_corruptions,
    _image_faults,
    _tabular,
    _text,
    _text_prompt,
)
from ._errors import (
    InvalidArgument,
    ModalityError,
    PerturbationError,
    RegistrationError,
    UnknownPerturbation,
)
from ._image import copy_images
from ._lexicon import lexicon_rows
from ._nlpaug import from_nlpaug
from ._random import Draws, stable_hash
from ._registry import (
    EXPECTATIONS,
    EXTENDED,
    MODALITIES,
    PROMPT,
    Perturbation,
    add_modality,
    catalogue,
    check_seed,
    check_severity,
    get,
    modalities,
    perturbation,
    register,
    select,
    unregister,
)
from ._tabular_columns import freeze_reference
from ._tabular_columns import kept as kept_with
from ._text_corpus import TextCorpus
from ._text_prompt import CANARY
from ._validity import passes as validity_passes
from ._validity import validity_phrase

__all__ = [
    "CANARY",
    "EXPECTATIONS",
    "EXTENDED",
    "MODALITIES",
    "PROMPT",
    "Draws",
    "InvalidArgument",
    "ModalityError",
    "Perturbation",
    "PerturbationError",
    "RegistrationError",
    "TextCorpus",
    "UnknownPerturbation",
    "add_modality",
    "catalogue",
    "check_seed",
    "check_severity",
    "copy_images",
    "freeze_reference",
    "from_nlpaug",
    "get",
    "kept_with",
    "lexicon_rows",
    "modalities",
    "perturbation",
    "register",
    "select",
    "stable_hash",
    "unregister",
    "validity_passes",
    "validity_phrase",
]
