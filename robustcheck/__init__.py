"""robustcheck: robustness tests for machine-learning models.

The public names are imported on first use, so ``import robustcheck`` (and the pytest
plugin, which lives in this package) stays cheap until a run is made.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

_EXPORTS: dict[str, str] = {
    "Adapter": ".adapters",
    "Augmented": ".augmentation",
    "augment": ".augmentation",
    "CallableAdapter": ".adapters",
    "HTTPAdapter": ".adapters",
    "PipelineAdapter": ".adapters",
    "SklearnAdapter": ".adapters",
    "Prediction": ".adapters",
    "adapt": ".adapters",
    "run": ".runner",
    "RunResult": ".results",
    "load": ".results",
    "compare": ".comparison",
    "attack_text": ".attack",
    "attack_tabular": ".attack",
    "AttackResult": ".attack",
    "minimal_failure": ".strategies",
    "Counterexample": ".strategies",
    "Comparison": ".comparison",
    "History": ".history",
    "Impact": "._impact",
    "Profile": "._profile",
    "ProfileDrift": "._profile",
    "compare_profiles": "._profile",
    "load_profile": "._profile",
    "profile": "._profile",
    "RobustcheckError": ".errors",
    "RobustnessError": ".errors",
    "InvalidArgument": ".errors",
    "InfrastructureError": ".errors",
    "CallTimeout": ".errors",
    "RobustcheckWarning": ".errors",
}

# Submodules a user reaches as attributes (``robustcheck.adapters.HTTPAdapter``) without
# importing them first, as with an eager package.
_SUBMODULES = frozenset({
    "adapters", "attack", "cli", "comparison", "datasets", "demo", "errors", "history",
    "metrics", "report", "results", "runner", "stats", "strategies",
})

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'robustcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})
