"""Image pipeline faults: what goes wrong between a camera and a model's input tensor.

Not corruptions of the scene (those are the ImageNet-C ones) but bugs and mismatches in
the code that loads and prepares images: channels in BGR order, a value range scaled
twice, EXIF orientation ignored, another resize interpolation, a stretched aspect ratio,
letterbox instead of crop, grayscale, JPEG re-compression, down-then-up sampling, over or
under exposure, an occluded patch, dead pixels, an alpha channel added.

Functions taking the float form see ``float32 (H, W, 3)`` in [0, 1]; those marked
:func:`~perturbations._image.raw_pixels` see the image as given (geometry moves the
alpha channel with the colours; value-range and alpha faults change the container on
purpose). Faults that hit a share of the images draw the hit first, so a stronger
severity hits a superset of the images a weaker one hit.
"""

from __future__ import annotations

import io

import numpy as np

from ._errors import InvalidArgument
from ._image import PILLOW_HINT, raw_pixels, require_pillow
from ._registry import perturbation

__all__: list[str] = []  # the catalogue is reached through perturbations.get()

SHARE = "share of images hit (each image independently, with probability severity)"


def _hit(rng: np.random.Generator, severity: float) -> bool:
    return bool(rng.random() < severity)


def _axis_coords(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(x).astype(np.intp)
    return low, np.minimum(low + 1, n_in - 1), (x - low).astype(np.float32)


def resize(pixels: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """``pixels`` ((H, W) or (H, W, C), any image dtype) resized, in its own dtype."""
    height, width = max(1, int(height)), max(1, int(width))
    if method == "nearest":
        rows = np.minimum((np.arange(height) + 0.5) * pixels.shape[0] / height,
                          pixels.shape[0] - 1).astype(np.intp)
        cols = np.minimum((np.arange(width) + 0.5) * pixels.shape[1] / width,
                          pixels.shape[1] - 1).astype(np.intp)
        return pixels[rows[:, None], cols[None, :]]
    img = pixels.astype(np.float32)
    r0, r1, rt = _axis_coords(height, pixels.shape[0])
    c0, c1, ct = _axis_coords(width, pixels.shape[1])
    if img.ndim == 3:  # the weights broadcast over the channels
        rt, ct = rt[:, None, None], ct[None, :, None]
    else:
        rt, ct = rt[:, None], ct[None, :]
    upper = img[r0]  # separable: rows first (H' x W), then columns (H' x W')
    rows = upper + (img[r1] - upper) * rt
    left = rows[:, c0]
    return _like(left + (rows[:, c1] - left) * ct, pixels)


def _like(values: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return np.rint(np.clip(values, 0, 255)).astype(np.uint8)
    return values.astype(pixels.dtype, copy=False)


# -- channels --------------------------------------------------------------------------


@perturbation(name="channels.bgr", modality="image", expectation="invariant",
              description="Colour channels in BGR order read as RGB (OpenCV's cv2.imread fed "
                          "to an RGB model): red and blue swapped. Grayscale is unaffected.",
              severity=SHARE)
def bgr(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    return img[:, :, ::-1] if _hit(rng, severity) else img


@perturbation(name="channels.alpha_added", modality="image", expectation="no-crash",
              description="An opaque alpha channel added (a PNG loaded as RGBA): 4 channels "
                          "where the model expects 1 or 3. Images with alpha are unaffected.",
              severity=SHARE)
@raw_pixels
def alpha_added(pixels: np.ndarray, *, rng: np.random.Generator,
                severity: float) -> np.ndarray:
    if not _hit(rng, severity) or (pixels.ndim == 3 and pixels.shape[2] == 4):
        return pixels
    colour = pixels if pixels.ndim == 3 else pixels[:, :, None]
    colour = np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour
    opaque = 255 if pixels.dtype == np.uint8 or float(pixels.max()) > 1 else 1
    alpha = np.full((*pixels.shape[:2], 1), opaque, dtype=pixels.dtype)
    return np.concatenate([colour, alpha], axis=2)


# -- value range -----------------------------------------------------------------------


@perturbation(name="value_range.divided_twice", modality="image", expectation="no-crash",
              description="Values divided by 255 once more (an image already in 0-1 "
                          "normalised again), kept in the input's dtype: a near-black image "
                          "(uint8 values become 0 or 1).",
              severity=SHARE)
@raw_pixels
def divided_twice(pixels: np.ndarray, *, rng: np.random.Generator,
                  severity: float) -> np.ndarray:
    if not _hit(rng, severity):
        return pixels
    return _like(pixels.astype(np.float32) / 255.0, pixels)


@perturbation(name="value_range.multiplied_twice", modality="image", expectation="no-crash",
              description="Values multiplied by 255 (an image already in 0-255 scaled as if it "
                          "were 0-1): floats leave their range, uint8 saturates at 255.",
              severity=SHARE)
@raw_pixels
def multiplied_twice(pixels: np.ndarray, *, rng: np.random.Generator,
                     severity: float) -> np.ndarray:
    if not _hit(rng, severity):
        return pixels
    return _like(pixels.astype(np.float64) * 255.0, pixels)


# -- orientation -----------------------------------------------------------------------


@perturbation(name="orientation.rotate", modality="image", expectation="invariant",
              description="EXIF orientation ignored: the image rotated by 90, 180 or 270 "
                          "degrees (drawn per image, or fixed by angle). A non-square image "
                          "changes shape; meaning may change for digits and text.",
              severity=SHARE)
@raw_pixels
def rotate(pixels: np.ndarray, *, rng: np.random.Generator, severity: float,
           angle: int = 0) -> np.ndarray:
    if angle not in (0, 90, 180, 270):
        raise InvalidArgument(f"angle must be 90, 180 or 270 (or 0: drawn per image); got "
                              f"{angle!r}")
    hit, drawn = _hit(rng, severity), int(rng.integers(1, 4))
    if not hit:
        return pixels
    return np.ascontiguousarray(np.rot90(pixels, k=angle // 90 if angle else drawn))


@perturbation(name="orientation.mirror", modality="image", expectation="invariant",
              description="EXIF mirroring ignored (a front camera's selfie): the image flipped "
                          "left to right.",
              severity=SHARE)
@raw_pixels
def mirror(pixels: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    return np.ascontiguousarray(pixels[:, ::-1]) if _hit(rng, severity) else pixels


# -- resize ----------------------------------------------------------------------------


def _round_trip(pixels: np.ndarray, factor: float, down: str, up: str) -> np.ndarray:
    height, width = pixels.shape[:2]
    small = resize(pixels, round(height * factor), round(width * factor), down)
    return resize(small, height, width, up)


@perturbation(name="resize.nearest", modality="image", expectation="invariant",
              description="Resized with nearest-neighbour instead of bilinear interpolation: "
                          "shrunk and enlarged back with nearest neighbour (jagged, aliased).",
              severity="scale of the round trip: 1 - 0.5 x severity of the size (0.5 at 1)")
@raw_pixels
def nearest(pixels: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    return _round_trip(pixels, 1 - 0.5 * severity, "nearest", "nearest")


@perturbation(name="resize.down_up", modality="image", expectation="invariant",
              description="Down-sampled then up-sampled (a thumbnail served at full size), "
                          "bilinear both ways: the image loses detail.",
              severity="scale of the round trip: 1 - 0.6 x severity of the size (0.4 at 1)")
@raw_pixels
def down_up(pixels: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    return _round_trip(pixels, 1 - 0.6 * severity, "bilinear", "bilinear")


@perturbation(name="resize.stretch", modality="image", expectation="invariant",
              description="Another aspect ratio: the central part of the image stretched to the "
                          "full size along one axis (drawn per image), as a resize that ignores "
                          "the aspect ratio does. The size is kept.",
              severity="stretch factor: 1 + 0.5 x severity (1.5 at 1)")
@raw_pixels
def stretch(pixels: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    axis = int(rng.integers(0, 2))
    height, width = pixels.shape[:2]
    keep = 1 / (1 + 0.5 * severity)
    if axis == 0:
        cut = max(1, round(height * keep))
        top = (height - cut) // 2
        return resize(pixels[top:top + cut], height, width, "bilinear")
    cut = max(1, round(width * keep))
    left = (width - cut) // 2
    return resize(pixels[:, left:left + cut], height, width, "bilinear")


@perturbation(name="resize.wrong_size", modality="image", expectation="no-crash",
              description="Not resized to the model's input size: the image enlarged (bilinear) "
                          "to another size, as a pipeline that skips its resize step sends it.",
              severity="size factor: 1 + 0.5 x severity on both sides (1.5 at 1)")
@raw_pixels
def wrong_size(pixels: np.ndarray, *, rng: np.random.Generator, severity: float
               ) -> np.ndarray:
    height, width = pixels.shape[:2]
    factor = 1 + 0.5 * severity
    return resize(pixels, max(height + 1, round(height * factor)),
                  max(width + 1, round(width * factor)), "bilinear")


# -- framing ---------------------------------------------------------------------------


@perturbation(name="framing.letterbox", modality="image", expectation="invariant",
              description="Letterboxed instead of cropped: the image shrunk (bilinear, aspect "
                          "kept) and centred on a black canvas of the original size.",
              severity="shrink: the image fills 1 - 0.3 x severity of each side (0.7 at 1)")
@raw_pixels
def letterbox(pixels: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    height, width = pixels.shape[:2]
    inner_h = max(1, round(height * (1 - 0.3 * severity)))
    inner_w = max(1, round(width * (1 - 0.3 * severity)))
    if (inner_h, inner_w) == (height, width):
        return pixels
    canvas = np.zeros_like(pixels)
    top, left = (height - inner_h) // 2, (width - inner_w) // 2
    canvas[top:top + inner_h, left:left + inner_w] = resize(pixels, inner_h, inner_w,
                                                            "bilinear")
    return canvas


@perturbation(name="framing.center_crop", modality="image", expectation="invariant",
              description="Center-cropped instead of letterboxed: the central part of the image "
                          "enlarged (bilinear) to the full size; the borders are lost.",
              severity="crop: 1 - 0.3 x severity of each side is kept (0.7 at 1)")
@raw_pixels
def center_crop(pixels: np.ndarray, *, rng: np.random.Generator, severity: float
                ) -> np.ndarray:
    height, width = pixels.shape[:2]
    cut_h = max(1, round(height * (1 - 0.3 * severity)))
    cut_w = max(1, round(width * (1 - 0.3 * severity)))
    if (cut_h, cut_w) == (height, width):
        return pixels
    top, left = (height - cut_h) // 2, (width - cut_w) // 2
    return resize(pixels[top:top + cut_h, left:left + cut_w], height, width, "bilinear")


# -- colour, compression, exposure -----------------------------------------------------


@perturbation(name="color.grayscale", modality="image", expectation="invariant",
              description="Loaded as grayscale (PIL mode L, cv2.IMREAD_GRAYSCALE) and fed as "
                          "three equal channels: colour removed by luminance.",
              severity="share of the colour removed: 1 is fully grayscale")
def grayscale(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    gray = img @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return img + np.float32(severity) * (gray[:, :, None] - img)


@perturbation(name="compression.jpeg", modality="image", expectation="invariant",
              description="Re-compressed as JPEG with Pillow (an upload path, a CDN, a "
                          "screenshot): blocks and ringing. Needs Pillow.",
              severity="JPEG quality: round(95 - 85 x severity) (10 at 1)",
              requires={"PIL": PILLOW_HINT})
def jpeg(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    image_module = require_pillow("compression.jpeg")
    buffer = io.BytesIO()
    pixels = np.rint(img * 255.0).astype(np.uint8)
    image_module.fromarray(pixels).save(buffer, format="JPEG", quality=round(95 - 85 * severity))
    buffer.seek(0)
    with image_module.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / np.float32(255.0)


@perturbation(name="exposure.over", modality="image", expectation="invariant",
              description="Over-exposed: every value multiplied by a gain, highlights "
                          "clipped (auto-exposure fooled by a dark scene).",
              severity="gain: 1 + 1.0 x severity (2 at 1)")
def over(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    return img * np.float32(1 + severity)


@perturbation(name="exposure.under", modality="image", expectation="invariant",
              description="Under-exposed: every value multiplied by a gain below 1 (a dim "
                          "room, a back-lit subject).",
              severity="gain: 1 - 0.6 x severity (0.4 at 1)")
def under(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    return img * np.float32(1 - 0.6 * severity)


# -- occlusion, sensor -----------------------------------------------------------------


@perturbation(name="occlusion.patch", modality="image", expectation="invariant",
              description="A black rectangle over part of the image (a sticker, a finger, "
                          "a watermark), centred at a point drawn per image.",
              severity="patch area: up to 0.2 x severity of the image (less at the borders)")
def patch(img: np.ndarray, *, rng: np.random.Generator, severity: float,
          fill: float = 0.0) -> np.ndarray:
    if not 0.0 <= fill <= 1.0:
        raise InvalidArgument(f"fill must be a value in [0, 1] (0 black, 1 white); got {fill!r}")
    height, width = img.shape[:2]
    cy, cx = rng.random(2) * np.array([height, width])
    half = np.sqrt(0.2 * severity) / 2
    top, bottom = round(float(cy - half * height)), round(float(cy + half * height))
    left, right = round(float(cx - half * width)), round(float(cx + half * width))
    out = img.copy()
    out[max(0, top):max(0, bottom), max(0, left):max(0, right)] = fill
    return out


@perturbation(name="sensor.dead_pixels", modality="image", expectation="invariant",
              description="Dead and stuck pixels: scattered pixels black or white in every "
                          "channel (a damaged sensor or a bad transfer).",
              severity="share of pixels hit: 0.02 x severity (2% at 1)")
def dead_pixels(img: np.ndarray, *, rng: np.random.Generator, severity: float
                ) -> np.ndarray:
    draws = rng.random(img.shape[:2])
    stuck = rng.random(img.shape[:2]) < 0.5
    hit = draws < 0.02 * severity
    out = img.copy()
    out[hit] = np.where(stuck[hit], 1.0, 0.0)[:, None]
    return out
