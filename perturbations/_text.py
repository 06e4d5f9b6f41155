"""Text perturbations."""

from __future__ import annotations
