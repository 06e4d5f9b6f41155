"""The ImageNet-C corruptions (Hendrycks & Dietterich, 2019) and its four extra ones.

Noise (``image_noise.*``), blur (``blur.*``), weather (``weather.*``) and digital
(``digital.*``) corruptions of one image: a float32 array (H, W, 3) with values in [0, 1].
Each returns a float32 array of the same shape; values may leave [0, 1] (the image
modality clips them). All randomness comes from the ``rng`` passed in.

Severity mapping: the paper's five levels sit at severities 0.2, 0.4, 0.6, 0.8 and 1.0.
Between two levels every parameter is interpolated linearly (integer parameters, such as
glass blur's iterations or the JPEG quality, are rounded; spatter switches from water to
mud where its interpolated kind passes one half). Below 0.2 the corruption is applied at
level 1 and the result blended with the input: ``x + (severity / 0.2) * (level1(x) - x)``.
Saturation is not monotone in the paper (levels 1-2 desaturate, 3-5 oversaturate), so
between levels 2 and 3 its factor passes through 1 (no change near severity 0.5).

Everything is numpy; ``digital.jpeg`` alone needs Pillow (imported when first used).
Frost textures are generated procedurally from ``rng``; no image files are shipped.
The weather corruptions and the shared array helpers live in
:mod:`perturbations._image_weather`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._image import PILLOW_HINT, require_pillow
from ._image_weather import (
    _F,
    _as_float,
    _blur,
    _blur_axis,
    _channel_max,
    _channel_min,
    _level,
    _mix,
    _smear,
    _Table,
    _zoom_centre,
    fog,
    frost,
    snow,
    spatter,
)
from ._registry import perturbation

__all__ = [
    "brightness",
    "contrast",
    "defocus_blur",
    "elastic",
    "fog",
    "frost",
    "gaussian_blur",
    "gaussian_noise",
    "glass_blur",
    "impulse_noise",
    "jpeg",
    "motion_blur",
    "pixelate",
    "saturate",
    "shot_noise",
    "snow",
    "spatter",
    "speckle_noise",
    "zoom_blur",
]


# ------------------------------------------------------------------------------- noise

_GAUSSIAN_NOISE: _Table = [[0.08], [0.12], [0.18], [0.26], [0.38]]
_SHOT_NOISE: _Table = [[60], [25], [12], [5], [3]]
_IMPULSE_NOISE: _Table = [[0.03], [0.06], [0.09], [0.17], [0.27]]
_SPECKLE_NOISE: _Table = [[0.15], [0.2], [0.35], [0.45], [0.6]]


@perturbation(name="image_noise.gaussian", modality="image", expectation="invariant",
              description="Adds independent Gaussian noise to every pixel and channel.",
              severity="the noise's standard deviation: 0.08 to 0.38 of the value range")
def gaussian_noise(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (sd,), wt = _level(severity, _GAUSSIAN_NOISE)
    noise = rng.standard_normal(x.shape, dtype=_F)
    noise *= _F(sd)
    noise += x
    return _mix(x, noise, wt)


@perturbation(name="image_noise.shot", modality="image", expectation="invariant",
              description="Photon (Poisson) noise: each value is redrawn as photon counts "
                          "over a fixed exposure.",
              severity="the exposure shrinks from 60 to 3 photons per unit of brightness")
def shot_noise(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (lam,), wt = _level(severity, _SHOT_NOISE)
    if _on_8_bit_grid(x):
        counts = _poisson_by_step(x, float(lam), rng)
    else:
        counts = rng.poisson(np.clip(x, 0, 1) * lam).astype(_F)
    counts *= _F(1 / lam)
    return _mix(x, counts, wt)


_STEPS = 255
"""Values an 8-bit image takes (``k / 255``): shot noise draws them through tables."""
_ON_GRID = 2.0**-23
"""How far a float32 value may sit from ``k / 255`` and still be that 8-bit value: ``k /
255`` and ``k * (1 / 255)`` round to floats up to one unit in the last place apart."""


@functools.lru_cache(maxsize=16)
def _poisson_tables(lam: float) -> tuple[np.ndarray, np.ndarray, int]:
    """For each value ``k / 255``, the distribution function of Poisson(``lam * k /
    255``) over ``0 .. width - 1`` and its guide table: ``guide[k, m]`` is the first count
    whose probability of being reached passes ``m / width``. Both flattened, with
    positions into the flat distribution table, read-only."""
    means = lam * np.arange(_STEPS + 1) / _STEPS
    width = int(lam + 14 * math.sqrt(lam) + 30)  # the tail beyond holds < 1e-30
    counts = np.arange(width)
    log_factorial = np.array([math.lgamma(c + 1.0) for c in counts])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = counts * np.log(means)[:, None] - means[:, None] - log_factorial
    log_pmf[0] = -np.inf  # mean 0: every draw is 0
    log_pmf[0, 0] = 0.0
    cdf = np.cumsum(np.exp(log_pmf), axis=1)
    cdf /= cdf[:, -1:]  # the last entry is exactly 1, so every u < 1 stops by then
    bounds = np.arange(width) / width
    guide = np.stack([np.searchsorted(row, bounds, side="right") for row in cdf])
    guide += (np.arange(_STEPS + 1) * width)[:, None]
    flat_cdf, flat_guide = cdf.ravel(), guide.ravel().astype(np.intp)
    flat_cdf.setflags(write=False)
    flat_guide.setflags(write=False)
    return flat_cdf, flat_guide, width


_BLOCK = 8192
"""Values (shot noise) or pixel positions (bilinear reads) worked on at a time: the
temporaries, a few arrays of 8-byte values, then stay small enough to be reused from the
heap instead of being mapped afresh, and page-faulted in, by each call (a 224 x 224 image
in one block was 1.4 to 1.5 times as slow in a process holding 200 images)."""


def _blocks(n: int) -> range:
    return range(0, n, _BLOCK)


def _on_8_bit_grid(x: np.ndarray) -> bool:
    """Whether every value is an 8-bit level ``k / 255`` (within :data:`_ON_GRID`)."""
    flat = x.ravel()
    for lo in _blocks(flat.size):
        part = flat[lo:lo + _BLOCK]
        off = np.rint(np.clip(part, 0, 1) * _F(_STEPS))
        off *= _F(1 / _STEPS)
        off -= part
        if float(np.abs(off).max()) > _ON_GRID:
            return False
    return True


def _poisson_by_step(x: np.ndarray, lam: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson(``lam * x``) counts for 8-bit values ``x`` (``k / 255``), as float32:
    exact inversion of each value's distribution by one uniform draw, started from its
    guide table (numpy's own Poisson sampler takes about three times as long per
    value). Block by block; the uniform draws are those of one call for the whole image."""
    cdf, guide, width = _poisson_tables(lam)
    flat = x.ravel()
    out = np.empty(flat.size, dtype=_F)
    for lo in _blocks(flat.size):
        row = np.rint(np.clip(flat[lo:lo + _BLOCK], 0, 1) * _F(_STEPS)).astype(np.intp)
        row *= width
        u = rng.random(row.size)
        at = guide[row + (u * width).astype(np.intp)]
        todo = np.flatnonzero(u >= cdf[at])
        while todo.size:  # a few values walk one or two counts past their guide entry
            at[todo] += 1
            todo = todo[u[todo] >= cdf[at[todo]]]
        at -= row
        out[lo:lo + row.size] = at
    return out.reshape(x.shape)


@perturbation(name="image_noise.impulse", modality="image", expectation="invariant",
              description="Salt-and-pepper noise: a share of the values is set to 0 or 1.",
              severity="the share of values replaced: 3% to 27%")
def impulse_noise(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (share,), wt = _level(severity, _IMPULSE_NOISE)
    u = rng.random(x.shape, dtype=_F)
    out = np.where(u < share / 2, _F(0), np.where(u < share, _F(1), x))
    return _mix(x, out, wt)


@perturbation(name="image_noise.speckle", modality="image", expectation="invariant",
              description="Multiplicative Gaussian noise: each value is scaled by 1 plus noise.",
              severity="the noise's standard deviation: 0.15 to 0.6")
def speckle_noise(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (sd,), wt = _level(severity, _SPECKLE_NOISE)
    noise = rng.standard_normal(x.shape, dtype=_F)
    noise *= _F(sd)
    noise *= x
    noise += x
    return _mix(x, noise, wt)


# -------------------------------------------------------------------------------- blur

_GAUSSIAN_BLUR: _Table = [[1], [2], [3], [4], [6]]
_GLASS_BLUR: _Table = [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]]
_DEFOCUS_BLUR: _Table = [[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]]
_MOTION_BLUR: _Table = [[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]]
_ZOOM_BLUR: _Table = [[1.10, 0.01], [1.15, 0.01], [1.20, 0.02], [1.25, 0.02], [1.30, 0.03]]


@perturbation(name="blur.gaussian", modality="image", expectation="invariant",
              description="Gaussian blur of the whole image.",
              severity="the blur's standard deviation: 1 to 6 pixels")
def gaussian_blur(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (sigma,), wt = _level(severity, _GAUSSIAN_BLUR)
    return _mix(x, _blur(x, float(sigma)), wt)


@functools.lru_cache(maxsize=32)
def _swap_grids(h: int, w: int, delta: int) -> tuple[np.ndarray, ...]:
    """The flat indices of the pixels that start a swap in each of the ``(2 * delta +
    1)**2`` sub-rounds of :func:`_swap_locally` (a grid of spacing ``2 * delta + 1``
    shifted by one sub-round's offset), read-only."""
    m = 2 * delta + 1
    grids = []
    for a in range(m):
        for b in range(m):
            rows = np.arange(delta + a, h - delta, m)
            cols = np.arange(delta + b, w - delta, m)
            flat = (rows[:, None] * w + cols[None, :]).ravel()
            flat.setflags(write=False)
            grids.append(flat)
    return tuple(grids)


def _swap_locally(x: np.ndarray, delta: int, iterations: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Swap every inner pixel with a random neighbour at most ``delta`` away, once per
    iteration. Pixels starting a swap are visited on a grid of spacing ``2 * delta + 1``
    at a time, so the swaps of one sub-round never overlap; the swaps move the pixels'
    indices, and the pixels are gathered once at the end."""
    h, w = x.shape[:2]
    if delta < 1 or h <= 2 * delta or w <= 2 * delta:
        return x
    grids = _swap_grids(h, w, delta)
    sizes = [g.size for g in grids]
    total = sum(sizes)
    order = np.arange(h * w, dtype=np.intp)
    for _ in range(iterations):
        off = rng.integers(-delta, delta + 1, size=(2, total), dtype=np.int16)
        step = off[0].astype(np.intp) * w + off[1]
        at = 0
        for start, n in zip(grids, sizes):
            if not n:
                continue
            end = start + step[at:at + n]
            at += n
            held = np.take(order, start)
            np.put(order, start, np.take(order, end))
            np.put(order, end, held)
    return np.take(x.reshape(h * w, -1), order, axis=0).reshape(x.shape)


@perturbation(name="blur.glass", modality="image", expectation="invariant",
              description="Frosted-glass blur: a blur, local random pixel swaps, a blur again.",
              severity="the blur (0.7 to 1.5 pixels), swap distance (1 to 4) and rounds (1 to 3)")
def glass_blur(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (sigma, delta, rounds), wt = _level(severity, _GLASS_BLUR)
    y = _blur(x, float(sigma))
    y = _swap_locally(y, round(delta), round(rounds), rng)
    return _mix(x, _blur(y, float(sigma)), wt)


def _disk_blur(x: np.ndarray, radius: float, alias_sigma: float) -> np.ndarray:
    """Mean over the disk ``dx² + dy² <= radius²`` around each pixel (one running sum
    along the rows, read at each row's chord), then the disk's 3 x 3 Gaussian
    anti-aliasing applied to the result; mirrored borders."""
    h, w = x.shape[:2]
    r = int(radius)
    xp = np.pad(x, ((r, r), (r, r), (0, 0)), mode="reflect")
    run = np.zeros((xp.shape[0], xp.shape[1] + 1, xp.shape[2]), dtype=_F)
    np.cumsum(xp, axis=1, out=run[:, 1:])
    out = np.zeros_like(x, dtype=_F)
    count = 0
    for dy in range(-r, r + 1):
        half = int(math.sqrt(max(radius**2 - dy**2, 0.0)))
        rows = run[r + dy:r + dy + h]
        out += rows[:, r + half + 1:r + half + 1 + w] - rows[:, r - half:r - half + w]
        count += 2 * half + 1
    out /= _F(count)
    taps = np.exp(-0.5 * (np.arange(-1, 2) / alias_sigma) ** 2)
    taps /= taps.sum()
    return _blur_axis(_blur_axis(out, taps, 0, "reflect"), taps, 1, "reflect")


@perturbation(name="blur.defocus", modality="image", expectation="invariant",
              description="Out-of-focus blur: the image convolved with a disk.",
              severity="the disk's radius: 3 to 10 pixels")
def defocus_blur(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (radius, alias), wt = _level(severity, _DEFOCUS_BLUR)
    return _mix(x, _disk_blur(x, float(radius), float(alias)), wt)


@perturbation(name="blur.motion", modality="image", expectation="invariant",
              description="Camera-shake blur: a trail of shifted copies at a random angle "
                          "within 45 degrees of horizontal.",
              severity="the trail's length (21 to 41 pixels) and spread (3 to 15 pixels)")
def motion_blur(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (radius, sigma), wt = _level(severity, _MOTION_BLUR)
    angle = float(rng.uniform(-45, 45))
    return _mix(x, _smear(x, round(radius), float(sigma), angle), wt)


@perturbation(name="blur.zoom", modality="image", expectation="invariant",
              description="Zoom blur: the average of the image and copies zoomed into its "
                          "centre.",
              severity="the largest zoom: 1.10 to 1.30")
def zoom_blur(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (top, step), wt = _level(severity, _ZOOM_BLUR)
    count = math.floor((top - 1) / step + 1e-6) + 1
    out = x + x  # the first zoom factor is 1: the image itself
    for factor in 1 + step * np.arange(1, count):
        out += _zoom_centre(x, float(factor))
    return _mix(x, out / (count + 1), wt)


# ----------------------------------------------------------------------------- digital

_BRIGHTNESS: _Table = [[0.1], [0.2], [0.3], [0.4], [0.5]]
_CONTRAST: _Table = [[0.4], [0.3], [0.2], [0.1], [0.05]]
_SATURATE: _Table = [[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [20, 0.2]]
_JPEG: _Table = [[25], [18], [15], [10], [7]]
_PIXELATE: _Table = [[0.6], [0.5], [0.4], [0.3], [0.25]]
_ELASTIC: _Table = [[12.5], [16.25], [21.25], [25.0], [30.0]]


@perturbation(name="digital.brightness", modality="image", expectation="invariant",
              description="Brighter image: the HSV value of every pixel is raised, hue and "
                          "saturation kept.",
              severity="the value added: 0.1 to 0.5 of the range")
def brightness(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (add,), wt = _level(severity, _BRIGHTNESS)
    v = _channel_max(x)
    v2 = np.minimum(v + _F(add), _F(1))
    # each channel scaled by v2 / v keeps hue and saturation; a black pixel turns grey
    gain = np.divide(v2, v, out=np.zeros_like(v), where=v > 0)
    out = x * gain[..., None]
    black = v <= 0
    if black.any():
        out[black] = v2[black][:, None]
    return _mix(x, out, wt)


@perturbation(name="digital.contrast", modality="image", expectation="invariant",
              description="Lower contrast: every channel pulled towards its mean.",
              severity="the share of contrast removed: 60% to 95%")
def contrast(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (keep,), wt = _level(severity, _CONTRAST)
    mean = x.mean(axis=(0, 1), keepdims=True)
    return _mix(x, (x - mean) * _F(keep) + mean, wt)


@perturbation(name="digital.saturate", modality="image", expectation="invariant",
              description="Saturation change in HSV: washed out at levels 1-2, oversaturated "
                          "at levels 3-5.",
              severity="the saturation factor: 0.3, 0.1, then 2, 5 and 20 (plus an offset)")
def saturate(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (factor, offset), wt = _level(severity, _SATURATE)
    v = _channel_max(x)
    delta = v - _channel_min(x)
    s = np.divide(delta, v, out=np.zeros_like(v), where=v > 0)
    s2 = np.clip(s * _F(factor) + _F(offset), 0, 1)
    # with hue and value fixed, each channel is v - v * s2 * g, g = (v - x) / delta;
    # grey pixels (delta 0) have hue 0: g = 0 for red, 1 for green and blue
    scale = np.divide(v * s2, delta, out=np.zeros_like(v), where=delta > 0)
    out = (v[..., None] - x) * scale[..., None]
    grey = delta <= 0
    if grey.any():
        out[grey] = (v * s2)[grey][:, None] * np.array([0, 1, 1], dtype=_F)
    np.subtract(v[..., None], out, out=out)
    return _mix(x, out, wt)


@perturbation(name="digital.jpeg", modality="image", expectation="invariant",
              description="JPEG compression artefacts: the image saved at a low JPEG quality.",
              severity="the JPEG quality falls from 25 to 7", requires={"PIL": PILLOW_HINT})
def jpeg(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    import io

    x = _as_float(img)
    (quality,), wt = _level(severity, _JPEG)
    image = require_pillow("digital.jpeg")
    pixels = (np.clip(x, 0, 1) * _F(255) + _F(0.5)).astype(np.uint8)
    buf = io.BytesIO()
    image.fromarray(pixels).save(buf, "JPEG", quality=round(quality))
    buf.seek(0)
    decoded = image.open(buf)
    out = np.asarray(decoded if decoded.mode == "RGB" else decoded.convert("RGB"))
    return _mix(x, out.astype(_F) * _F(1 / 255), wt)


@functools.lru_cache(maxsize=64)
def _box_cells(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """For ``n_out`` equal cells over ``n_in`` pixels: per tap k, the pixel each cell
    reads (``index[k]``) and the share of the cell it covers (``weight[k]``, 0 for a
    tap a cell does not need). A cell spans at most ``ceil(n_in / n_out) + 1`` pixels."""
    span = n_in / n_out
    taps = math.ceil(span) + 1
    lo = np.arange(n_out) * span
    hi = lo + span
    first = np.floor(lo).astype(np.intp)
    index = np.minimum(first[None, :] + np.arange(taps)[:, None], n_in - 1)
    left = np.maximum(lo[None, :], (first[None, :] + np.arange(taps)[:, None]))
    right = np.minimum(hi[None, :], first[None, :] + np.arange(taps)[:, None] + 1)
    weight = (np.clip(right - left, 0, None) / span).astype(_F)
    index.setflags(write=False)
    weight.setflags(write=False)
    return index, weight


def _box_shrink(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Average ``x`` (H, W[, C]) over ``n_out`` equal cells along ``axis`` (0 or 1),
    fractional overlaps counted."""
    n_in = x.shape[axis]
    if n_in % n_out == 0:  # whole cells of k pixels: the sum of k strided slices
        k = n_in // n_out
        cells: list[slice] = [slice(None)] * x.ndim
        cells[axis] = slice(0, None, k)
        whole = x[tuple(cells)].astype(_F)
        for j in range(1, k):
            cells[axis] = slice(j, None, k)
            whole += x[tuple(cells)]
        whole *= _F(1 / k)
        return whole
    index, weight = _box_cells(n_in, n_out)
    if axis == 0:
        flat = x.reshape(n_in, -1)
        out = np.zeros((n_out, flat.shape[1]), dtype=_F)
        for at, share in zip(index, weight):
            out += np.take(flat, at, axis=0) * share[:, None]
        return out.reshape(n_out, *x.shape[1:])
    inner = int(np.prod(x.shape[2:], dtype=np.int64))
    flat = np.ascontiguousarray(x).reshape(x.shape[0], -1)
    within = np.arange(inner)
    out = np.zeros((x.shape[0], n_out * inner), dtype=_F)
    for at, share in zip(index, weight):
        out += flat[:, (at[:, None] * inner + within).ravel()] * np.repeat(share, inner)
    return out.reshape(x.shape[0], n_out, *x.shape[2:])


@perturbation(name="digital.pixelate", modality="image", expectation="invariant",
              description="Pixelation: the image shrunk by box averaging and blown up again "
                          "with square blocks.",
              severity="the shrunken size: 60% down to 25% of each side")
def pixelate(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (ratio,), wt = _level(severity, _PIXELATE)
    h, w = x.shape[:2]
    sh, sw = max(int(h * ratio), 1), max(int(w * ratio), 1)
    small = _box_shrink(_box_shrink(x, sh, 0), sw, 1).astype(_F)
    ri = np.minimum(((np.arange(h) + 0.5) * sh / h).astype(np.intp), sh - 1)
    ci = np.minimum(((np.arange(w) + 0.5) * sw / w).astype(np.intp), sw - 1)
    inner = int(np.prod(x.shape[2:], dtype=np.int64))
    cols = (ci[:, None] * inner + np.arange(inner)).ravel()
    out = np.take(small, ri, axis=0).reshape(h, -1)[:, cols].reshape(x.shape)
    return _mix(x, out, wt)


@perturbation(name="digital.elastic", modality="image", expectation="invariant",
              description="Elastic warp: pixels moved by a smooth random displacement field.",
              severity="the displacement's scale: 12.5 to 30 (about 1 to 2.5 pixels at 224)")
def elastic(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (alpha,), wt = _level(severity, _ELASTIC)
    h, w = x.shape[:2]
    sigma = (0.01 * h, 0.01 * w)
    most = 0.005 * h
    # the two components of the field as separate planes: blurring an (h, w, 2) array
    # would loop over its short last axis
    moves = []
    for _ in range(2):  # x, then y
        plane = rng.random((h, w), dtype=_F)
        plane *= _F(2 * most)
        plane -= _F(most)
        plane = _blur(plane, sigma, mode="symmetric", truncate=3.0)
        plane *= _F(alpha)
        moves.append(plane)
    dx, dy = moves
    dy += np.arange(h, dtype=_F)[:, None]
    dx += np.arange(w, dtype=_F)[None, :]
    return _mix(x, _sample_bilinear(x, dy, dx), wt)


def _sample_bilinear(x: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """``x`` (H, W, C) read at the fractional positions ``(yy, xx)`` (two arrays of one
    shape, clipped to the image) by bilinear interpolation: four gathers of whole pixels from
    the flattened image, blended in place, :data:`_BLOCK` positions at a time."""
    h, w = x.shape[:2]
    yy, xx = np.broadcast_arrays(yy, xx)
    shape = yy.shape
    yy, xx = yy.ravel(), xx.ravel()
    flat = x.reshape(h * w, -1)
    out = np.empty((yy.size, flat.shape[1]), dtype=_F)
    dy, dx = (w if h > 1 else 0), (1 if w > 1 else 0)
    for lo in _blocks(yy.size):
        ys = np.clip(yy[lo:lo + _BLOCK], 0, h - 1)
        xs = np.clip(xx[lo:lo + _BLOCK], 0, w - 1)
        y0 = np.minimum(ys.astype(np.intp), max(h - 2, 0))  # ys >= 0: truncation is floor
        x0 = np.minimum(xs.astype(np.intp), max(w - 2, 0))
        fy = (ys - y0).astype(_F)[:, None]
        fx = (xs - x0).astype(_F)[:, None]
        at = y0 * w + x0
        top = np.take(flat, at, axis=0)
        right = np.take(flat, at + dx, axis=0)
        right -= top
        right *= fx
        top += right
        bottom = np.take(flat, at + dy, axis=0)
        right = np.take(flat, at + dy + dx, axis=0)
        right -= bottom
        right *= fx
        bottom += right
        bottom -= top
        bottom *= fy
        top += bottom
        out[lo:lo + len(at)] = top
    return out.reshape(*shape, *x.shape[2:])
