"""Weather corruptions of ImageNet-C (snow, frost, fog, spatter) and the array helpers
every image corruption shares (levels, blending, blurs, zoom, motion smear, fractal).

See :mod:`perturbations._image_corruptions` for the contract and the severity mapping;
that module imports this one, so importing either registers all nineteen corruptions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._registry import perturbation

__all__ = ["fog", "frost", "snow", "spatter"]

_F = np.float32
_Table = list[list[float]]  # one row of parameters per ImageNet-C level


# ----------------------------------------------------------------------------- helpers


def _level(severity: float, table: Sequence[Sequence[float]]) -> tuple[np.ndarray, float]:
    """The parameters at ``severity`` and the weight of the change (below level 1)."""
    rows = np.asarray(table, dtype=np.float64)
    s = 5.0 * float(severity)
    if s <= 1.0:
        return rows[0], max(s, 0.0)
    i = min(math.floor(s), 4)
    f = s - i
    return rows[i - 1] + f * (rows[i] - rows[i - 1]), 1.0


def _mix(img: np.ndarray, out: np.ndarray, weight: float) -> np.ndarray:
    if weight >= 1.0:
        return np.asarray(out, dtype=_F)
    return (img + _F(weight) * (np.asarray(out, dtype=_F) - img)).astype(_F)


def _gray(x: np.ndarray) -> np.ndarray:
    return x[..., 0] * _F(0.299) + x[..., 1] * _F(0.587) + x[..., 2] * _F(0.114)


def _taps(sigma: float, truncate: float) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    if sigma <= 0 or radius < 1:
        return np.ones(1)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return taps / taps.sum()


def _blur_axis(x: np.ndarray, taps: np.ndarray, axis: int, mode: str) -> np.ndarray:
    radius = len(taps) // 2
    if radius < 1:
        return x
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    xp = np.pad(x, pad, mode=mode)  # type: ignore[call-overload]
    n = x.shape[axis]
    index: list[slice] = [slice(None)] * x.ndim
    out = np.zeros_like(x, dtype=_F)
    for k, t in enumerate(taps.astype(_F)):
        index[axis] = slice(k, k + n)
        out += t * xp[tuple(index)]
    return out


def _blur(x: np.ndarray, sigma: float | tuple[float, float], *, mode: str = "edge",
          truncate: float = 4.0) -> np.ndarray:
    """Separable Gaussian blur over the first two axes (``edge`` = scipy's ``nearest``,
    ``symmetric`` = scipy's ``reflect``)."""
    sy, sx = (sigma, sigma) if isinstance(sigma, (int, float)) else sigma
    x = np.asarray(x, dtype=_F)
    ty, tx = _taps(float(sy), truncate), _taps(float(sx), truncate)
    return _blur_axis(_blur_axis(x, ty, 0, mode), tx, 1, mode)


def _resample_axis(x: np.ndarray, coords: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``x`` at fractional positions ``coords`` along ``axis``."""
    n = x.shape[axis]
    c = np.clip(coords, 0, n - 1)
    i0 = np.floor(c).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    f = (c - i0).astype(_F)
    shape = [1] * x.ndim
    shape[axis] = len(coords)
    f = f.reshape(shape)
    return np.take(x, i0, axis=axis) * (1 - f) + np.take(x, i1, axis=axis) * f


def _zoom_centre(x: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the centre by ``factor`` (bilinear), keeping the array's size."""
    out = x
    for axis in (0, 1):
        n = x.shape[axis]
        crop = math.ceil(n / factor)
        top = (n - crop) // 2
        size = max(round(crop * factor), 2)
        coords = top + np.arange(n) * ((crop - 1) / (size - 1))
        out = _resample_axis(out, np.minimum(coords, top + crop - 1), axis)
    return out


def _smear(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """Motion blur: a one-sided Gaussian trail of ``2 * radius + 1`` shifted copies
    along ``angle`` (degrees), borders repeated."""
    width = 2 * radius + 1
    weights = np.exp(-0.5 * (np.arange(width) / sigma) ** 2)
    weights /= weights.sum()
    h, w = x.shape[:2]
    sin, cos = math.sin(math.radians(angle)), math.cos(math.radians(angle))
    shifts = [(-math.ceil(i * sin - 0.5), -math.ceil(i * cos - 0.5)) for i in range(width)]
    py = min(max(abs(dy) for dy, _ in shifts), h - 1)
    px = min(max(abs(dx) for _, dx in shifts), w - 1)
    pad = [(py, py), (px, px)] + [(0, 0)] * (x.ndim - 2)
    xp = np.pad(np.asarray(x, dtype=_F), pad, mode="edge")
    out = np.zeros_like(x, dtype=_F)
    for (dy, dx), wt in zip(shifts, weights):
        if abs(dy) >= h or abs(dx) >= w:
            break
        out += _F(wt) * xp[py - dy:py - dy + h, px - dx:px - dx + w]
    return out


def _plasma(rng: np.random.Generator, size: int, decay: float) -> np.ndarray:
    """A ``size`` x ``size`` diamond-square fractal (size a power of two) in [0, 1]."""
    a = np.zeros((size, size))
    step, amp = size, 100.0
    while step >= 2:
        h = step // 2
        c = a[0:size:step, 0:size:step]
        centre = (c + np.roll(c, -1, 0) + np.roll(c, -1, 1) + np.roll(c, (-1, -1), (0, 1))) / 4
        a[h:size:step, h:size:step] = centre + rng.uniform(-amp, amp, centre.shape)
        c = a[0:size:step, 0:size:step]
        m = a[h:size:step, h:size:step]
        top = (c + np.roll(c, -1, 1) + m + np.roll(m, 1, 0)) / 4
        left = (c + np.roll(c, -1, 0) + m + np.roll(m, 1, 1)) / 4
        a[0:size:step, h:size:step] = top + rng.uniform(-amp, amp, top.shape)
        a[h:size:step, 0:size:step] = left + rng.uniform(-amp, amp, left.shape)
        step, amp = h, amp / decay
    a -= a.min()
    return a / max(a.max(), 1e-12)


def _pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()


def _as_float(img: np.ndarray) -> np.ndarray:
    return np.asarray(img, dtype=_F)


# ----------------------------------------------------------------------------- weather

# loc, scale, zoom, threshold, blur radius, blur sigma, share of the image kept
_SNOW: _Table = [[0.1, 0.3, 3, 0.5, 10, 4, 0.8], [0.2, 0.3, 2, 0.5, 12, 4, 0.7],
         [0.55, 0.3, 4, 0.9, 12, 8, 0.7], [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65],
         [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55]]
_FROST: _Table = [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]]
_FOG: _Table = [[1.5, 2], [2.0, 2], [2.5, 1.7], [2.5, 1.5], [3.0, 1.4]]
# loc, scale, sigma, threshold, intensity, mud (0 water, 1 mud)
_SPATTER: _Table = [[0.65, 0.3, 4, 0.69, 0.6, 0], [0.65, 0.3, 3, 0.68, 0.6, 0],
            [0.65, 0.3, 2, 0.68, 0.5, 0], [0.65, 0.3, 1, 0.65, 1.5, 1],
            [0.67, 0.4, 1, 0.65, 1.5, 1]]


@perturbation(name="weather.snow", modality="image", expectation="invariant",
              description="Falling snow: streaks of motion-blurred flakes over a paler image.",
              severity="the flakes' amount and size, their streak and the image's fading")
def snow(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (loc, scale, zoom, thresh, radius, sigma, keep), wt = _level(severity, _SNOW)
    h, w = x.shape[:2]
    layer = rng.normal(loc, scale, (h, w)).astype(_F)
    layer = _zoom_centre(layer, float(zoom))
    layer[layer < thresh] = 0
    layer = np.clip(layer, 0, 1)
    layer = _smear(layer, round(radius), float(sigma), float(rng.uniform(-135, -45)))
    layer = layer[..., None]
    faded = keep * x + (1 - keep) * np.maximum(x, _gray(x)[..., None] * 1.5 + 0.5)
    return _mix(x, faded + layer + layer[::-1, ::-1], wt)


def _frost_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A procedural ice texture (H, W, 3): a fractal haze with crystal needles, tinted
    pale blue, with a random overall brightness."""
    size = _pow2(max(h, w))
    haze = _plasma(rng, size, 1.6)[:h, :w]
    needles = np.zeros((h, w))
    n = max(8, (h * w) // 400)
    length = max(4, min(h, w) // 6)
    starts = rng.random((n, 2)) * (h, w)
    angles = rng.uniform(0, np.pi, n)
    steps = np.arange(length)
    rr = (starts[:, :1] + np.sin(angles)[:, None] * steps).astype(np.intp) % h
    cc = (starts[:, 1:] + np.cos(angles)[:, None] * steps).astype(np.intp) % w
    np.add.at(needles, (rr.ravel(), cc.ravel()), 1.0)
    needles = _blur(needles[..., None].astype(_F), 0.7)[..., 0]
    needles /= max(float(needles.max()), 1e-6)
    grain = _blur(rng.random((h, w, 1)).astype(_F), 0.8)[..., 0]
    tex = 0.55 * haze + 0.3 * needles + 0.6 * (grain - 0.5)
    tex = (tex - tex.mean()) / max(float(tex.std()), 1e-6)
    base = rng.uniform(0.4, 0.88)
    tint = np.array([0.82, 0.94, 1.0]) * base + np.array([0.0, 0.02, 0.04])
    out = tint + 0.3 * tex[..., None]
    return np.clip(out, 0, 1).astype(_F)


@perturbation(name="weather.frost", modality="image", expectation="invariant",
              description="Frost on a window: a generated ice texture laid over the image.",
              severity="the texture's weight (0.4 to 0.75) and the image's (1 to 0.6)")
def frost(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (keep, ice), wt = _level(severity, _FROST)
    tex = _frost_texture(rng, *x.shape[:2])
    return _mix(x, _F(keep) * x + _F(ice) * tex, wt)


@perturbation(name="weather.fog", modality="image", expectation="invariant",
              description="Fog: a fractal haze added over the image, which loses contrast.",
              severity="the haze's thickness (1.5 to 3) and its coarseness")
def fog(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (thick, decay), wt = _level(severity, _FOG)
    h, w = x.shape[:2]
    top = float(x.max())
    haze = _plasma(rng, _pow2(max(h, w)), float(decay))[:h, :w, None].astype(_F)
    out = (x + _F(thick) * haze) * _F(top / (top + thick))
    return _mix(x, out, wt)


def _box3(v: np.ndarray) -> np.ndarray:
    """3 x 3 mean with mirrored borders."""
    h, w = v.shape
    p = np.pad(v, 1, mode="reflect")
    out = np.zeros((h, w))
    for i in range(3):
        for j in range(3):
            out += p[i:i + h, j:j + w]
    return out / 9.0


def _edge_distance(inside: np.ndarray, cap: int) -> np.ndarray:
    """Distance (in 8-neighbour steps, at most ``cap``) to the edge of ``inside``."""
    h, w = inside.shape
    p = np.pad(inside, 1, mode="edge")
    edge = np.zeros((h, w), dtype=bool)
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        edge |= p[dy:dy + h, dx:dx + w] != inside
    edge &= inside
    dist = np.full((h, w), float(cap))
    dist[edge] = 0
    front = edge
    for step in range(1, cap):
        q = np.pad(front, 1)
        grown = np.zeros((h, w), dtype=bool)
        for dy in range(3):
            for dx in range(3):
                grown |= q[dy:dy + h, dx:dx + w]
        new = grown & (dist == cap)
        if not new.any():
            break
        dist[new] = step
        front = grown
    return dist


def _equalise(v: np.ndarray) -> np.ndarray:
    """Histogram equalisation of an array to values in [0, 255]."""
    flat = v.ravel()
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    cdf = np.cumsum(counts)
    lo = cdf[0]
    scale = 255.0 / max(cdf[-1] - lo, 1)
    return np.round((cdf[inverse] - lo) * scale).reshape(v.shape)


@perturbation(name="weather.spatter", modality="image", expectation="invariant",
              description="Spatter on the lens: pale water drops (levels 1-3) or mud blots "
                          "(levels 4-5).",
              severity="the drops' size and density, then water turns to mud")
def spatter(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (loc, scale, sigma, thresh, strength, mud), wt = _level(severity, _SPATTER)
    h, w = x.shape[:2]
    liquid = _blur(rng.normal(loc, scale, (h, w, 1)).astype(_F), float(sigma))[..., 0]
    liquid[liquid < thresh] = 0
    if mud >= 0.5:
        m = _blur((liquid > thresh).astype(_F)[..., None], float(strength))[..., 0]
        m[m < 0.8] = 0
        colour = np.array([63, 42, 20], dtype=_F) / 255
        out = x * (1 - m[..., None]) + colour * m[..., None]
        return _mix(x, out, wt)
    # water: shading inside the drops from an embossed, equalised depth map
    shade = _equalise(np.floor(_box3(_edge_distance(liquid > 0, 20))))
    k = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)
    pad = np.pad(shade, 1, mode="reflect")
    emb = sum(k[i, j] * pad[i:i + h, j:j + w] for i in range(3) for j in range(3))
    emb = _box3(np.clip(np.round(emb), 0, 255))
    m = liquid * emb
    m = m / max(float(m.max()), 1e-6) * _F(strength)
    colour = np.array([175, 238, 238], dtype=_F) / 255
    return _mix(x, x + m[..., None] * colour, wt)
