"""Lazy loading of the catalogue's data files.

Our own lexicons live in ``perturbations/data/`` as UTF-8 tab-separated files: lines
starting with ``#`` are the header comment, each other line is one entry whose first
field is the key and whose later fields hold ``|``-separated alternatives. Keyboard
layouts, OCR confusions and the misspelling list come from the resources nlpaug ships;
they are read from its package folder without importing nlpaug.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from importlib import resources
from pathlib import Path

__all__ = ["keyboard", "lexicon_rows", "mapping", "misspellings", "ocr", "rows", "words"]


@functools.cache
def rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The entries of ``data/<name>.tsv``, comments and blank lines dropped."""
    folder = resources.files("perturbations").joinpath("data")
    text = folder.joinpath(f"{name}.tsv").read_text("utf-8")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            out.append(tuple(field.strip() for field in line.split("\t")))
    return tuple(out)


def lexicon_rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The entries of the catalogue's lexicon ``name`` (``perturbations/data/<name>.tsv``):
    one tuple of fields per entry, the key first, later fields holding ``|``-separated
    alternatives; comments and blank lines dropped. Public as
    ``perturbations.lexicon_rows``, for code outside the catalogue that reads the same
    word lists (the production profile). The result is shared and immutable."""
    if not isinstance(name, str) or name not in _names():
        from ._errors import InvalidArgument

        raise InvalidArgument(f"name={name!r} is not a lexicon of the catalogue; use one of "
                              f"{sorted(_names())}")
    return rows(name)


@functools.cache
def _names() -> frozenset[str]:
    folder = resources.files("perturbations").joinpath("data")
    return frozenset(f.name[:-4] for f in folder.iterdir() if f.name.endswith(".tsv"))


@functools.cache
def mapping(name: str, column: int = 1) -> dict[str, tuple[str, ...]]:
    """``key -> alternatives`` from column ``column`` of ``data/<name>.tsv``."""
    table: dict[str, tuple[str, ...]] = {}
    for row in rows(name):
        if len(row) > column and row[column]:
            table[row[0]] = tuple(v for v in row[column].split("|") if v)
    return table


@functools.cache
def words(name: str) -> tuple[str, ...]:
    """The first field of every entry of ``data/<name>.tsv``."""
    return tuple(row[0] for row in rows(name))


def _nlpaug_res() -> Path:
    spec = importlib.util.find_spec("nlpaug")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "nlpaug is not installed; it ships the keyboard layouts, OCR map and spelling "
            "list these perturbations use: pip install nlpaug"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "res"


@functools.cache
def keyboard(layout: str = "en") -> dict[str, tuple[str, ...]]:
    """Letter -> neighbouring letters on nlpaug's ``layout`` keyboard (same case)."""
    path = _nlpaug_res() / "char" / "keyboard" / f"{layout}.json"
    if not path.exists():
        from ._errors import InvalidArgument

        available = sorted(p.stem for p in path.parent.glob("*.json"))
        raise InvalidArgument(
            f"layout={layout!r} is not a keyboard layout nlpaug ships; use one of {available}"
        )
    raw = json.loads(path.read_text("utf-8"))
    table: dict[str, tuple[str, ...]] = {}
    for key, near in raw.items():
        near = [near] if isinstance(near, str) else near
        letters = tuple(dict.fromkeys(c for c in near if c.isalpha() and c != key))
        if key.isalpha() and letters:
            table[key] = letters
    for key, near in list(table.items()):  # the files list lower case; add upper case
        up = key.upper()
        if up != key and up not in table:
            table[up] = tuple(c.upper() for c in near)
    return table


@functools.cache
def ocr() -> dict[str, tuple[str, ...]]:
    """Character -> characters an OCR engine confuses it with (nlpaug's English map,
    made symmetric: if '0' is misread as 'o', 'o' is misread as '0' too)."""
    raw = json.loads((_nlpaug_res() / "char" / "ocr" / "en.json").read_text("utf-8"))
    table: dict[str, list[str]] = {}
    for key, alternatives in raw.items():
        for alt in alternatives:
            if len(key) == 1 and len(alt) == 1 and alt != key:
                table.setdefault(key, []).append(alt)
                table.setdefault(alt, []).append(key)
    return {k: tuple(dict.fromkeys(v)) for k, v in sorted(table.items())}


@functools.cache
def misspellings() -> dict[str, tuple[str, ...]]:
    """Word -> real misspellings of it (nlpaug's English spelling list)."""
    table: dict[str, tuple[str, ...]] = {}
    text = (_nlpaug_res() / "word" / "spelling" / "spelling_en.txt").read_text("utf-8")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 1:
            table.setdefault(parts[0], tuple(dict.fromkeys(parts[1:])))
    return table
