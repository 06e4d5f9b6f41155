"""Tabular perturbations (pandas DataFrames, rows are samples)."""

from __future__ import annotations
