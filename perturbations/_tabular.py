"""Tabular perturbations (pandas DataFrames, rows are samples).

Every one of them is a batch perturbation: ``f(frame, *, draws, severity, ...)``. Cell
``(i, c)`` draws its random numbers from row ``i``'s key and a counter derived from the
column *name* (never its position), so a row's output depends on the seed, the
perturbation, the severity, the row's index in the data set and the ``reference``
statistics only: not on the other rows present, the batch size or the column order.
Whole-frame decisions (which columns move, which are converted) come from
:meth:`Draws.shared`-style draws keyed by column name.

A cell is touched when its draw falls below a severity-dependent share, so a stronger
setting touches a superset of what a weaker one touched. Nothing here loops over rows:
values are drawn, masked and rendered as numpy arrays.

The catalogue is built in four layers, each importing only the ones below it:

- :mod:`._tabular_columns`: which columns and cells are touched, reading their values,
  and the seeded per-cell draws;
- :mod:`._tabular_writers`: writing values back into a column of any dtype (nullable
  ones included) without breaking it;
- :mod:`._tabular_render`: numbers, currency, percentages and dates written as text;
- the perturbations by family: :mod:`._tabular_missing`, :mod:`._tabular_format`,
  :mod:`._tabular_category`, :mod:`._tabular_numeric` (noise, outlier, scale, drift)
  and :mod:`._tabular_schema`.

Importing this module registers them all.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing registers the tabular catalogue)
    _tabular_category,
    _tabular_format,
    _tabular_missing,
    _tabular_numeric,
    _tabular_schema,
)

__all__: list[str] = []  # the catalogue is reached through perturbations.get()
