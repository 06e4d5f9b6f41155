"""The image modality: numpy arrays, PIL images or image files.

What a run accepts as images (one kind per data set):

- a numpy array ``(N, H, W)`` or ``(N, H, W, C)`` (C in 1, 3, 4), uint8 or float;
- a list (or tuple) of such images ``(H, W[, C])``, sizes may differ, one dtype;
- a list of PIL images;
- a list of file paths (``pathlib.Path``, or strings ending in an image extension),
  read with Pillow once, when the run starts: the model is then called with PIL images,
  clean and perturbed alike, since a perturbed image has no file.

The model is called with the same kind of batch: an array slice, or a list. How the
catalogue converts each image (value ranges, channels) is written in the image
perturbations' module (``perturbations._image``); this module only asks the catalogue.
It is registered through the entry point group ``robustcheck.modalities`` (see
``pyproject.toml``), like any plug-in modality, which keeps the import graph acyclic.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

import perturbations as catalogue

from ._thumbnails import thumbnail
from .errors import InvalidArgument
from .modalities import Modality

__all__ = ["IMAGE", "Image"]

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def _is_pil(x: Any) -> bool:
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image"
               for c in type(x).__mro__)


def _is_path(x: Any) -> bool:
    return isinstance(x, os.PathLike) or (isinstance(x, str) and x.lower().endswith(EXTENSIONS))


def _kind_of(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return "array"
    if _is_pil(x):
        return "PIL image"
    if _is_path(x):
        return "path"
    return type(x).__name__


def _pixels(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(x)


class Image(Modality):
    """Images: a batch array, or a list of arrays, PIL images or file paths."""

    name = "image"
    batch_size = 64  # image models are heavy per input; 64 images of 224x224x3 are 9.6 MB
    part_size = 2000  # 2000 perturbed 224x224x3 uint8 images alive at once: 300 MB

    def accepts(self, inputs: Any) -> bool:
        if isinstance(inputs, np.ndarray):
            return inputs.ndim in (3, 4) and inputs.dtype.kind in "uif"
        if not isinstance(inputs, (list, tuple)) or not inputs:
            return False
        first = inputs[0]
        if isinstance(first, np.ndarray):
            return first.ndim in (2, 3)
        return _is_pil(first) or isinstance(first, os.PathLike) or (
            all(isinstance(x, str) and x.lower().endswith(EXTENSIONS) for x in inputs)
            and os.path.isfile(first))

    def prepare(self, inputs: Any, labels: Any) -> tuple[Any, Any, Any]:
        if isinstance(labels, str):
            raise InvalidArgument(f"labels={labels!r} names a column, but images have no "
                                  "columns; pass one label per image")
        if not isinstance(inputs, np.ndarray):
            kinds = sorted({_kind_of(x) for x in inputs})
            if len(kinds) > 1:
                raise InvalidArgument(
                    f"inputs mixes {', '.join(kinds)}; pass one kind of image per run "
                    "(all arrays, all PIL images or all paths)")
            dtypes = sorted({x.dtype.str for x in inputs if isinstance(x, np.ndarray)})
            if len(dtypes) > 1:
                raise InvalidArgument(
                    f"inputs mixes the dtypes {', '.join(dtypes)}; convert every image to "
                    "one dtype, e.g. [x.astype(np.uint8) for x in inputs]")
        if len(inputs) == 0:
            raise InvalidArgument("inputs is empty; pass at least one image")
        data = catalogue.copy_images(inputs)
        return (data if isinstance(data, np.ndarray) else list(data)), labels, None

    def hash_into(self, digest: Any, data: Any) -> None:
        if isinstance(data, np.ndarray):
            digest.update(f"{data.shape}{data.dtype.str}".encode())
            digest.update(np.ascontiguousarray(data).tobytes())
            return
        for x in data:
            digest.update(_header(x))
            digest.update(np.ascontiguousarray(_pixels(x)).tobytes())

    def take(self, data: Any, positions: np.ndarray) -> Any:
        # copies: a model that writes into its batch cannot write into the data set
        if isinstance(data, np.ndarray):
            return data[np.asarray(positions, dtype=np.intp)]
        return [x.copy() for x in super().take(data, positions)]

    def changed(self, before: Any, after: Any) -> np.ndarray:
        if isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and \
                before.shape == after.shape and before.dtype == after.dtype:
            if len(before) == 0:
                return np.zeros(0, dtype=bool)
            return (before != after).reshape(len(before), -1).any(axis=1)
        return np.array([not _same(a, b) for a, b in zip(before, after)], dtype=bool)

    def keys(self, after: Any, positions: np.ndarray) -> np.ndarray:
        return np.array([_key(after[i]) for i in positions.tolist()], dtype=np.uint64)

    def show(self, data: Any, position: int) -> Any:
        return shown(data[position])

    def show_all(self, batch: Any) -> list[Any]:
        return [shown(x) for x in batch]


def _header(x: Any) -> bytes:
    pixels = _pixels(x)
    mode = f"PIL:{x.mode}" if _is_pil(x) else "array"
    return f"{mode}{pixels.shape}{pixels.dtype.str}".encode()


def _same(a: Any, b: Any) -> bool:
    if _header(a) != _header(b):
        return False
    return bool(np.array_equal(_pixels(a), _pixels(b)))


def _key(x: Any) -> int:
    digest = hashlib.blake2b(_header(x), digest_size=8)
    digest.update(np.ascontiguousarray(_pixels(x)).tobytes())
    return int.from_bytes(digest.digest(), "little")


def summary(x: Any) -> dict[str, Any]:
    """An image as a result stores it: its shape, dtype, value statistics and a digest
    (JSON-ready and a few dozen bytes whatever the image's size)."""
    pixels = _pixels(x)
    return {
        "image": "×".join(map(str, pixels.shape)) + f" {pixels.dtype}"
                 + (f" PIL {x.mode}" if _is_pil(x) else ""),
        "mean": round(float(pixels.mean()), 4) if pixels.size else None,
        "min": round(float(pixels.min()), 4) if pixels.size else None,
        "max": round(float(pixels.max()), 4) if pixels.size else None,
        "digest": f"{_key(x):016x}",
    }


def shown(x: Any) -> dict[str, Any]:
    """An image as a result stores it: its :func:`summary` and a thumbnail, a PNG
    ``data:`` URI at most 96 pixels a side and 10 000 characters long (see
    ``robustcheck._thumbnails``), for the report to show."""
    out = summary(x)
    picture = thumbnail(x)
    if picture is not None:
        out["thumbnail"] = picture
    return out


IMAGE = Image()

