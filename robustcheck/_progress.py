"""Progress of a run: the caller's callback, or a tqdm bar on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(progress: Any, total: int) -> Callable[[int, str], None]:
    """``update(done, label)`` for a run of ``total`` units; ``update(-1, "")`` closes.
    ``progress``: a callable ``(done, total, label)``, True/False for a tqdm bar, or None
    for a bar on a terminal only."""
    if callable(progress) and not isinstance(progress, bool):
        def call(done: int, label: str) -> None:
            if done >= 0:
                progress(done, total, label)
        return call
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return lambda done, label: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="run", desc="robustcheck", leave=False, dynamic_ncols=True)

    def update(done: int, label: str) -> None:
        if done < 0:
            bar.close()
            return
        bar.set_postfix_str(label, refresh=False)
        bar.update(done - bar.n)

    return update
