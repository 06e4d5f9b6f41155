"""What two crashes of one bug have in common: the exception message with the values that
vary between inputs masked. The report groups crashes by it, and the runner recognises a
*systematic* crash (one exception on a dense share of a unit's inputs) by it."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PATTERN_LIMIT", "pattern"]

PATTERN_LIMIT = 160
"""Characters of a pattern kept (the rest is cut with "…")."""

# What differs between two crashes of one bug is the value the message quotes. Quoted
# values go first, in either quotes (a quoted number is a value; repr() picks the quote
# by the value), then addresses and ids, then numbers; runs of numbers, bulleted lists,
# runs of one character and very long words are shortened last.
_MASKS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"""(?<![\w'"])'[^'\n]*'(?!\w)"""), "'…'"),
    (re.compile(r"""(?<![\w'"])"[^"\n]*"(?!\w)"""), "'…'"),  # repr's other quotes
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), "0x…"),
    (re.compile(r"\b(?=[0-9a-fA-F-]*\d)(?=[0-9a-fA-F-]*[a-fA-F])"
                r"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*\b"), "…"),
    (re.compile(r"(?<![\w.\-])-?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?(?!\w)"), "N"),
    (re.compile(r"\bN(?:(?:,\s*|\s+)N\b){2,}"), "N, N, …"),
    (re.compile(r"(?m)^[ \t]*[-*•] .*(?:\n[ \t]*[-*•] .*)*"), "- …"),  # a bulleted list
    (re.compile(r"(\S)\1{7,}"), r"\1\1\1…"),
    (re.compile(r"\S{41,}"), lambda m: m.group()[:30] + "…"),
    (re.compile(r"\s+"), " "),
)


def pattern(message: str) -> str:
    """A crash message with what varies between inputs masked: ``could not convert
    string to float: '…'`` for every value the model could not convert."""
    for mask, replacement in _MASKS:
        message = mask.sub(replacement, message)
    message = message.strip()
    return message if len(message) <= PATTERN_LIMIT else message[:PATTERN_LIMIT] + "…"
