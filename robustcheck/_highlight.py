"""Which characters an example's perturbation changed, as segments the report marks.

A character diff of the original and the perturbed text (word by word first for long
texts), turned into ``{"op", "text", "hint"}`` segments: ``equal`` text, ``insert`` /
``replace`` (marked) and ``delete`` (struck); invisible characters get a readable hint,
and bidirectional controls are written out as their code point (``[U+202E]``), after
the diff, so that inserting one still shows as a change. Everything here is plain text:
the template escapes it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

from ._report_format import _inert

Segments = list[dict[str, str]]


_TOKEN = re.compile(r"\S+\s*|\s+")  # a word with the spaces after it


def _segments(before: str, after: str) -> tuple[Segments, Segments]:
    """Character diff: ``before`` as equal/del segments, ``after`` as equal/ins."""
    head, limit = 0, min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    old: list[tuple[str, str]] = [("equal", before[:head])]
    new: list[tuple[str, str]] = [("equal", after[:head])]
    a, b = before[head:len(before) - tail], after[head:len(after) - tail]
    if len(a) + len(b) <= 400:
        _char_diff(a, b, old, new)
    else:
        # Long texts: align words first, then characters inside the changed words, so a
        # 2,000-character review costs thousands of comparisons, not millions. (No
        # autojunk: it drops frequent words from the alignment and marks whole passages.)
        ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
        opcodes: Sequence[tuple[str, int, int, int, int]]
        if len(ta) == len(tb):  # words changed in place (case, typos, homoglyphs)
            opcodes = [("equal" if x == y else "replace", i, i + 1, i, i + 1)
                       for i, (x, y) in enumerate(zip(ta, tb))]
        else:
            opcodes = difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in opcodes:
            x, y = "".join(ta[i1:i2]), "".join(tb[j1:j2])
            if tag == "equal":
                old.append(("equal", x))
                new.append(("equal", y))
            elif len(x) * len(y) <= 40_000:
                _char_diff(x, y, old, new)
            else:
                old.append(("del", x))
                new.append(("ins", y))
    old.append(("equal", before[len(before) - tail:]))
    new.append(("equal", after[len(after) - tail:]))
    return _merge(old), _merge(new)


def _char_diff(a: str, b: str, old: list[tuple[str, str]], new: list[tuple[str, str]]) -> None:
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old.append(("equal" if tag == "equal" else "del", a[i1:i2]))
        new.append(("equal" if tag == "equal" else "ins", b[j1:j2]))


def _merge(parts: list[tuple[str, str]]) -> Segments:
    out: Segments = []
    for op, text in parts:
        if not text:
            continue
        if out and out[-1]["op"] == op:
            out[-1]["text"] += text
        else:
            out.append({"op": op, "text": text})
    for seg in out:
        seg["hint"] = _invisible(seg["text"]) if seg["op"] != "equal" else ""
        seg["text"] = _inert(seg["text"])
    return out


def _invisible(text: str) -> str:
    """Names the code points of a change that would not show (spaces, zero-width)."""
    if not all(unicodedata.category(c)[0] in "ZC" for c in text):
        return ""
    names = dict.fromkeys(f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip() for c in text)
    return ", ".join(list(names)[:4])


def _lead(segs: Segments) -> int | None:
    """Characters of unchanged text before the first change (None: no change)."""
    used = 0
    for seg in segs:
        if seg["op"] != "equal":
            return used
        used += len(seg["text"])
    return None


def _window(segs: Segments, lead: int, width: int = 110) -> Segments:
    """A short excerpt starting a little before character ``lead`` (the first change on
    either side, so both sides of an example show the same stretch of text)."""
    skip = max(0, lead - 30)
    out: Segments = [{"op": "equal", "text": "…", "hint": ""}] if skip else []
    used = 0
    for seg in segs:
        text = seg["text"]
        if skip:
            if seg["op"] == "equal" and len(text) <= skip:
                skip -= len(text)
                continue
            if seg["op"] == "equal":
                text, skip = text[skip:], 0
        room = width - used
        if room <= 0 or len(text) > room:
            out.append({**seg, "text": text[:room]} if room > 0 else {**seg, "text": text})
            out.append({"op": "equal", "text": "…", "hint": ""})
            break
        out.append({**seg, "text": text})
        used += len(text)
    return [s for s in out if s["text"]]
