"""Image inputs and how an image perturbation sees them.

Inputs ``Perturbation.apply`` takes for the ``image`` modality:

- a numpy array batch, ``(N, H, W)`` (grayscale) or ``(N, H, W, C)`` with C in 1, 3, 4
  (a 3-d array is always N grayscale images: wrap one colour image in a list);
- a list or tuple of arrays ``(H, W)`` / ``(H, W, C)``, sizes may differ;
- PIL images (modes L, RGB, RGBA kept; other modes come back as RGB, or RGBA when
  they carry transparency);
- file paths (``str`` or ``os.PathLike``), read with Pillow as stored (EXIF orientation
  is *not* applied, as ``PIL.Image.open`` does not). A perturbed image has no file, so a
  path comes back as a PIL image.

Dtypes: ``uint8`` (0-255) or float. A float image is taken to be in [0, 1] when its
maximum is <= 1, else in [0, 255]; decided per image, so an image's output never depends
on its batch. Floats must be finite and in [0, 255]: normalise (mean/std) after
perturbing, not before.

The default form of an image perturbation, ``f(img, *, rng, severity, **params) -> img``,
sees every image as ``float32 (H, W, 3)`` in [0, 1]: grayscale is replicated to three
channels (and brought back by luminance), an alpha channel is set aside (and restored,
resized by nearest neighbour if the size changed). The output is clipped to [0, 1] and
returned in the input's container, type, dtype (uint8 rounded), value range and channel
count. A function that returns the float image it was given unchanged means "does not
apply": the input comes back bit for bit.

The escape hatch, for pipeline faults that change the container on purpose (value range,
an alpha channel added, another size, a rotation of the raw array): decorate the function
with :func:`raw_pixels` (below ``@perturbation``). It then receives a copy of the image as
the user gave it (``(H, W)`` or ``(H, W, C)``, own dtype and range) and what it returns
goes back as is: into a PIL image (uint8, clipped and rounded if it is not), or into the
batch array, which becomes a list of arrays when the outputs no longer share one shape
and dtype.

The batch form (``@perturbation(..., batched=True)``), ``f(imgs, *, draws, severity,
**params) -> imgs``, gets the whole batch at once as a list of the same per-image arrays
(float32 ``(H, W, 3)`` in [0, 1], or with :func:`raw_pixels` the images as given) and
returns one image per input, in order; each output then goes back exactly as above.
``draws`` (:class:`perturbations._random.Draws`) holds one key per image: image ``i``'s
own numbers come from ``draws.uniform(stream, counter=...)[i]`` or ``draws.generator(i)``,
so an image's output never depends on the batch it came in.

Randomness: image ``i`` draws from ``draws.generator(i)``, keyed by (seed, name, the
image's index in the data set). Severity 0 returns an unchanged copy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._errors import InvalidArgument, ModalityError, RegistrationError

if TYPE_CHECKING:
    from ._registry import Perturbation

__all__ = ["apply_images", "raw_pixels", "require_pillow"]

RAW = "_robustcheck_raw_pixels"
PILLOW_HINT = 'pip install "robustcheck[image]"'
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_KEPT_MODES = ("L", "RGB", "RGBA")


def raw_pixels(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an image perturbation that works on the image as given (see module docstring)."""
    setattr(func, RAW, True)
    return func


def require_pillow(purpose: str) -> Any:
    """The ``PIL.Image`` module, or an ImportError that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{purpose} needs Pillow: {PILLOW_HINT}") from None
    return Image


@dataclass
class _Item:
    """One image as an array, and how to give its output back."""

    pixels: np.ndarray
    kind: str  # "array" or "pil"


def _is_pil(x: Any) -> bool:
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image"
               for c in type(x).__mro__)


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {str(x)[:60]!r}"


def check_pixels(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` if it is a valid image, else InvalidArgument naming ``where``."""
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise InvalidArgument(
            f"{where} is {_describe(arr)}; an image is (H, W) or (H, W, C) with C in 1, 3, 4"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidArgument(f"{where} is an empty image (shape {arr.shape}); drop it")
    if arr.dtype != np.uint8 and arr.dtype.kind != "f":
        raise InvalidArgument(
            f"{where} has dtype {arr.dtype}; images are uint8 (0-255) or float (0-1 or "
            f"0-255): convert it, e.g. arr.astype(np.float32)"
        )
    if arr.dtype.kind == "f":
        low, high = float(np.min(arr)), float(np.max(arr))
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 255:
            raise InvalidArgument(
                f"{where} has values in [{low}, {high}]; float images must be finite and in "
                "[0, 1] or [0, 255]: perturb before normalising (mean/std)"
            )
    return arr


def _read_item(x: Any, where: str) -> _Item:
    if isinstance(x, np.ndarray):
        return _Item(check_pixels(x, where), "array")
    if isinstance(x, (str, os.PathLike)):
        image_module = require_pillow("reading image files")
        try:
            with image_module.open(x) as opened:
                opened.load()
                return _Item(_pil_pixels(opened, where), "pil")
        except OSError as err:
            raise InvalidArgument(f"{where} is the path {str(x)!r}, which Pillow cannot read "
                                  f"as an image ({err}); pass an image file") from None
    if _is_pil(x):
        return _Item(_pil_pixels(x, where), "pil")
    raise ModalityError(
        f"{where} is {_describe(x)}; an image perturbation takes numpy arrays, PIL images "
        "or file paths. Pick a perturbation of the right modality: "
        "perturbations.catalogue(modality=...)"
    )


def _pil_pixels(image: Any, where: str) -> np.ndarray:
    if image.mode not in _KEPT_MODES:
        transparent = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    return check_pixels(np.array(image), where)


def _read(inputs: Any) -> tuple[list[_Item], str]:
    """The images of ``inputs`` and the container they came in."""
    if isinstance(inputs, np.ndarray):
        if inputs.ndim not in (3, 4) or inputs.dtype == object:
            raise InvalidArgument(
                f"inputs is {_describe(inputs)}; a batch array is (N, H, W) or (N, H, W, C). "
                "For one image use p(image) or p.apply([image])"
            )
        if inputs.ndim == 4 and inputs.shape[3] not in (1, 3, 4):
            raise InvalidArgument(f"inputs is {_describe(inputs)}; the last axis holds the "
                                  "channels, 1, 3 or 4 of them")
        return [_Item(check_pixels(x, f"inputs[{i}]"), "array")
                for i, x in enumerate(inputs)], "array"
    if isinstance(inputs, (str, bytes)) or _is_pil(inputs) or not hasattr(inputs, "__iter__"):
        raise ModalityError(
            f"inputs is {_describe(inputs)}; an image perturbation takes a batch: an array "
            "(N, H, W[, C]) or a list of arrays, PIL images or paths. For one image use p(x)"
        )
    container = "tuple" if isinstance(inputs, tuple) else "list"
    return [_read_item(x, f"inputs[{i}]") for i, x in enumerate(inputs)], container


# -- the float form --------------------------------------------------------------------


def _is_float_range(pixels: np.ndarray) -> bool:
    """Whether a float image is in [0, 1] (else [0, 255]); uint8 is never."""
    return pixels.dtype.kind == "f" and float(np.max(pixels)) <= 1.0


def to_float(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(float32 (H, W, 3) in [0, 1], alpha or None)``."""
    scale = 1.0 if _is_float_range(pixels) else 1.0 / 255.0
    img = pixels.astype(np.float32) * np.float32(scale)
    alpha = None
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 4:
        img, alpha = img[:, :, :3], img[:, :, 3]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img), alpha


def from_float(img: np.ndarray, alpha: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """``img`` (float (H', W', 3) in [0, 1]) in the dtype, range and channels of ``like``."""
    img = np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)
    gray = like.ndim == 2 or like.shape[2] == 1
    out = img @ LUMA if gray else img
    if gray and like.ndim == 3:
        out = out[:, :, None]
    if alpha is not None:
        if alpha.shape != img.shape[:2]:
            alpha = _nearest(alpha, *img.shape[:2])
        out = np.concatenate([out, alpha[:, :, None]], axis=2)
    if like.dtype == np.uint8:
        return np.rint(out * 255.0).astype(np.uint8)
    if not _is_float_range(like):
        out = out * np.float32(255.0)
    return out.astype(like.dtype, copy=False)


def _nearest(channel: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.arange(height) * channel.shape[0] // height
    cols = np.arange(width) * channel.shape[1] // width
    return channel[rows[:, None], cols[None, :]]


def _perturb_float(p: Perturbation, pixels: np.ndarray, rng: Any, severity: float,
                   params: dict[str, Any]) -> np.ndarray:
    img, alpha = to_float(pixels)
    given = img.copy()
    return _float_back(p, p.func(img, rng=rng, severity=severity, **params), given, alpha,
                       pixels)


def _float_back(p: Perturbation, out: Any, given: np.ndarray, alpha: np.ndarray | None,
                pixels: np.ndarray) -> np.ndarray:
    """A default-form output (float (H, W, 3)) in the form of the input ``pixels``."""
    if not isinstance(out, np.ndarray) or out.ndim != 3 or out.shape[2] != 3:
        raise RegistrationError(
            f"perturbation {p.name!r} returned {_describe(out)}; an image perturbation "
            "returns a float array (H, W, 3): a bug in the perturbation, please report it"
        )
    if out.shape == given.shape and np.array_equal(out, given):
        return pixels.copy()  # does not apply: the input comes back bit for bit
    return from_float(out, alpha, pixels)


def _perturb_raw(p: Perturbation, pixels: np.ndarray, rng: Any, severity: float,
                 params: dict[str, Any]) -> np.ndarray:
    return _raw_back(p, p.func(pixels.copy(), rng=rng, severity=severity, **params))


def _raw_back(p: Perturbation, out: Any) -> np.ndarray:
    if not isinstance(out, np.ndarray) or out.ndim not in (2, 3):
        raise RegistrationError(
            f"perturbation {p.name!r} returned {_describe(out)}; a raw-pixel perturbation "
            "returns an array (H, W) or (H, W, C): a bug in the perturbation, please report it"
        )
    return out


def _perturb_batch(p: Perturbation, items: list[_Item], draws: Any, severity: float,
                   params: dict[str, Any]) -> list[np.ndarray]:
    """The batch form: every image of the batch handed over in one call."""
    if getattr(p.func, RAW, False):
        outs = _batch_outputs(p, [item.pixels.copy() for item in items], draws, severity,
                              params)
        return [_raw_back(p, out) for out in outs]
    floats = [to_float(item.pixels) for item in items]
    given = [img.copy() for img, _ in floats]
    outs = _batch_outputs(p, [img for img, _ in floats], draws, severity, params)
    return [_float_back(p, out, before, alpha, item.pixels)
            for out, before, (_, alpha), item in zip(outs, given, floats, items)]


def _batch_outputs(p: Perturbation, images: list[np.ndarray], draws: Any, severity: float,
                   params: dict[str, Any]) -> list[Any]:
    outs = p.func(images, draws=draws, severity=severity, **params)
    outs = list(outs) if isinstance(outs, (list, tuple)) else outs
    if not isinstance(outs, list) or len(outs) != len(images):
        got = f"a list of {len(outs)}" if isinstance(outs, list) else _describe(outs)
        raise RegistrationError(
            f"perturbation {p.name!r} returned {got} for a batch of "
            f"{len(images)} images; a batched image perturbation returns a list with one "
            "image per input: a bug in the perturbation, please report it"
        )
    return outs


# -- the apply path --------------------------------------------------------------------


def copy_images(inputs: Any) -> Any:
    """A validated copy of a batch of images, in the form a perturbation returns it
    (files read into PIL images); bad images raise InvalidArgument."""
    items, container = _read(inputs)
    return _restore(inputs, container, items, [item.pixels.copy() for item in items])


def apply_images(p: Perturbation, inputs: Any, severity: float, seed: int, indices: Any,
                 params: dict[str, Any]) -> Any:
    """``p`` applied to a batch of images, returned in the batch's own container."""
    if severity == 0.0:
        return copy_images(inputs)
    items, container = _read(inputs)
    if not items:
        outputs = [item.pixels.copy() for item in items]
    elif p.batched:
        outputs = _perturb_batch(p, items, p._draws(seed, len(items), indices), severity,
                                 params)
    else:
        draws = p._draws(seed, len(items), indices)
        perturb = _perturb_raw if getattr(p.func, RAW, False) else _perturb_float
        outputs = [perturb(p, item.pixels, draws.generator(i), severity, params)
                   for i, item in enumerate(items)]
    return _restore(inputs, container, items, outputs)


def _restore(inputs: Any, container: str, items: list[_Item], outputs: list[np.ndarray]
             ) -> Any:
    if container == "array":
        shapes = {(o.shape, o.dtype.str) for o in outputs}
        if len(shapes) == 1:
            return np.stack(outputs).reshape((len(outputs), *outputs[0].shape))
        if not outputs:
            return inputs.copy()
        return outputs
    restored = [_to_pil(o) if item.kind == "pil" else o for item, o in zip(items, outputs)]
    return tuple(restored) if container == "tuple" else restored


def _to_pil(pixels: np.ndarray) -> Any:
    image_module = require_pillow("returning PIL images")
    if pixels.dtype != np.uint8:
        scale = 255.0 if _is_float_range(pixels) else 1.0
        pixels = np.rint(np.clip(pixels * scale, 0, 255)).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return image_module.fromarray(pixels)
