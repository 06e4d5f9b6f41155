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


def _level(severity: float, table: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], float]:
    """The parameters at ``severity`` and the weight of the change (below level 1), as
    Python floats (so that arithmetic with float32 images stays float32)."""
    rows = np.asarray(table, dtype=np.float64)
    s = 5.0 * float(severity)
    if s <= 1.0:
        return tuple(rows[0].tolist()), max(s, 0.0)
    i = min(math.floor(s), 4)
    f = s - i
    return tuple((rows[i - 1] + f * (rows[i] - rows[i - 1])).tolist()), 1.0


def _channel_max(x: np.ndarray) -> np.ndarray:
    """The largest channel of each pixel (H, W): elementwise over the channel planes,
    much faster than a reduction along a short last axis."""
    out = x[..., 0].copy()
    for c in range(1, x.shape[-1]):
        np.maximum(out, x[..., c], out=out)
    return out


def _channel_min(x: np.ndarray) -> np.ndarray:
    """The smallest channel of each pixel (H, W)."""
    out = x[..., 0].copy()
    for c in range(1, x.shape[-1]):
        np.minimum(out, x[..., c], out=out)
    return out


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
    """``x`` convolved with the symmetric ``taps`` along ``axis`` (borders padded by
    ``mode``): the centre tap, then each pair of mirrored taps added before multiplying,
    in place."""
    radius = len(taps) // 2
    if radius < 1:
        return x
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    xp = np.pad(np.asarray(x, dtype=_F), pad, mode=mode)  # type: ignore[call-overload]
    n = x.shape[axis]
    index: list[slice] = [slice(None)] * x.ndim

    def shifted(k: int) -> np.ndarray:
        index[axis] = slice(k, k + n)
        return xp[tuple(index)]

    t = taps.astype(_F)
    out = shifted(radius) * t[radius]
    tmp = np.empty_like(out)
    for k in range(radius):
        np.add(shifted(k), shifted(2 * radius - k), out=tmp)
        tmp *= t[k]
        out += tmp
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
    """Linear interpolation of ``x`` (H, W[, C]) at fractional positions ``coords``
    along ``axis`` (0 or 1). Along the columns the pixels are gathered from a
    (H, W * C) view, and the blend runs on it, so nothing loops over the short channel
    axis."""
    n = x.shape[axis]
    c = np.clip(coords, 0, n - 1)
    i0 = np.floor(c).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    f = (c - i0).astype(_F)
    if axis == 0:
        lo = np.take(x, i0, axis=0)
        out = np.take(x, i1, axis=0)
        weight = f.reshape(-1, *([1] * (x.ndim - 1)))
    else:
        inner = int(np.prod(x.shape[2:], dtype=np.int64))
        flat = np.ascontiguousarray(x).reshape(x.shape[0], -1)
        within = np.arange(inner)
        lo = flat[:, (i0[:, None] * inner + within).ravel()]
        out = flat[:, (i1[:, None] * inner + within).ravel()]
        weight = np.repeat(f, inner)[None, :]
    out -= lo
    out *= weight
    out += lo
    return out.reshape(*out.shape[:1], len(coords), *x.shape[2:]) if axis else out


def _zoom_centre(x: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the centre by ``factor`` (bilinear), keeping the array's size."""
    x = np.asarray(x, dtype=_F)
    out = x
    for axis in (0, 1):
        n = x.shape[axis]
        crop = math.ceil(n / factor)
        top = (n - crop) // 2
        size = max(round(crop * factor), 2)
        coords = top + np.minimum(np.arange(n) * ((crop - 1) / (size - 1)), crop - 1)
        out = _resample_axis(out, coords, axis)
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


def _ahead(c: np.ndarray, axis: int) -> np.ndarray:
    """``c`` moved one cell back along ``axis``, wrapping: cell i holds cell i + 1."""
    if axis == 0:
        return np.concatenate((c[1:], c[:1]), axis=0)
    return np.concatenate((c[:, 1:], c[:, :1]), axis=1)


def _behind(c: np.ndarray, axis: int) -> np.ndarray:
    """``c`` moved one cell on along ``axis``, wrapping: cell i holds cell i - 1."""
    if axis == 0:
        return np.concatenate((c[-1:], c[:-1]), axis=0)
    return np.concatenate((c[:, -1:], c[:, :-1]), axis=1)


def _jitter(rng: np.random.Generator, amp: float, shape: tuple[int, ...]) -> np.ndarray:
    noise = rng.random(shape, dtype=_F)
    noise *= _F(2 * amp)
    noise -= _F(amp)
    return noise


def _plasma(rng: np.random.Generator, size: int, decay: float) -> np.ndarray:
    """A ``size`` x ``size`` diamond-square fractal (size a power of two) in [0, 1],
    float32, wrapping around its edges."""
    a = np.zeros((size, size), dtype=_F)
    step, amp = size, 100.0
    while step >= 2:
        h = step // 2
        c = a[0:size:step, 0:size:step]
        right = _ahead(c, 1)
        centre = (c + _ahead(c, 0) + right + _ahead(right, 0)) * _F(0.25)
        a[h:size:step, h:size:step] = centre + _jitter(rng, amp, centre.shape)
        c = a[0:size:step, 0:size:step]
        m = a[h:size:step, h:size:step]
        top = (c + _ahead(c, 1) + m + _behind(m, 0)) * _F(0.25)
        left = (c + _ahead(c, 0) + m + _behind(m, 1)) * _F(0.25)
        a[0:size:step, h:size:step] = top + _jitter(rng, amp, top.shape)
        a[h:size:step, 0:size:step] = left + _jitter(rng, amp, left.shape)
        step, amp = h, amp / decay
    a -= a.min()
    a /= max(float(a.max()), 1e-12)
    return a


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
    layer = rng.standard_normal((h, w), dtype=_F)
    layer *= _F(scale)
    layer += _F(loc)
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
    grain = _blur(rng.random((h, w, 1), dtype=_F), 0.8)[..., 0]
    tex = 0.55 * haze + 0.3 * needles + 0.6 * (grain - 0.5)
    tex = (tex - tex.mean()) / max(float(tex.std()), 1e-6)
    base = rng.uniform(0.4, 0.88)
    tint = (np.array([0.82, 0.94, 1.0]) * base + np.array([0.0, 0.02, 0.04])).astype(_F)
    out = _F(0.3) * tex.astype(_F)[..., None] + tint
    return np.clip(out, 0, 1, out=out)


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
    """3 x 3 mean with mirrored borders, as float32: a sum along the rows, then along
    the columns."""
    h, w = v.shape
    p = np.pad(np.asarray(v, dtype=_F), 1, mode="reflect")
    rows = p[:, :w] + p[:, 1:w + 1]
    rows += p[:, 2:]
    out = rows[:h] + rows[1:h + 1]
    out += rows[2:]
    out /= _F(9)
    return out


def _dilate3(v: np.ndarray) -> np.ndarray:
    """3 x 3 binary dilation (outside the array counts as False), as two 1-D passes."""
    rows = v.copy()
    rows[:, 1:] |= v[:, :-1]
    rows[:, :-1] |= v[:, 1:]
    out = rows.copy()
    out[1:] |= rows[:-1]
    out[:-1] |= rows[1:]
    return out


def _cross3(v: np.ndarray) -> np.ndarray:
    """Binary dilation by the 4-neighbour cross (outside the array counts as False)."""
    out = v.copy()
    out[:, 1:] |= v[:, :-1]
    out[:, :-1] |= v[:, 1:]
    out[1:] |= v[:-1]
    out[:-1] |= v[1:]
    return out


def _edge_distance(inside: np.ndarray, cap: int) -> np.ndarray:
    """Octagonal distance (at most ``cap``) to the edge of ``inside``: the number of
    dilations of the edge a pixel waits for before it is reached, the dilations
    alternating between the 3 x 3 square and the cross. Closer to the Euclidean distance
    the reference measures than the square alone (its drops' shading then changes the
    image 1.08, 0.92 and 0.88 times as much as the reference's at levels 1-3, against
    1.19, 0.96 and 0.93)."""
    h, w = inside.shape
    p = np.pad(inside, 1, mode="edge")
    edge = np.zeros((h, w), dtype=bool)
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        edge |= p[dy:dy + h, dx:dx + w] != inside
    edge &= inside
    dist = np.zeros((h, w), dtype=np.int64)
    reached = edge
    for step in range(1, cap + 1):
        unreached = ~reached
        if step == cap or not unreached.any():
            dist += unreached * (cap - step + 1)  # the rest of the steps at once
            break
        dist += unreached
        reached = _dilate3(reached) if step % 2 else _cross3(reached)
    return dist


def _equalise(v: np.ndarray) -> np.ndarray:
    """Histogram equalisation of an array of small non-negative integers (as floats) to
    values in [0, 255], as float32 (every value is a whole number)."""
    levels = v.astype(np.intp).ravel()
    cdf = np.cumsum(np.bincount(levels))
    lo = cdf[levels.min()]
    scale = 255.0 / max(int(cdf[-1] - lo), 1)
    table = np.round((cdf - lo) * scale).astype(_F)
    return table[levels].reshape(v.shape)


_EMBOSS = ((-2, -1, 0), (-1, 1, 1), (0, 1, 2))


def _emboss(v: np.ndarray) -> np.ndarray:
    """``v`` correlated with :data:`_EMBOSS` (mirrored borders), in float32: ``v`` holds
    whole numbers up to 255, so every sum is exact."""
    h, w = v.shape
    pad = np.pad(np.asarray(v, dtype=_F), 1, mode="reflect")
    out = np.zeros((h, w), dtype=_F)
    for i, row in enumerate(_EMBOSS):
        for j, tap in enumerate(row):
            if tap == 1:
                out += pad[i:i + h, j:j + w]
            elif tap:
                out += _F(tap) * pad[i:i + h, j:j + w]
    return out


@perturbation(name="weather.spatter", modality="image", expectation="invariant",
              description="Spatter on the lens: pale water drops (levels 1-3) or mud blots "
                          "(levels 4-5).",
              severity="the drops' size and density, then water turns to mud")
def spatter(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
    x = _as_float(img)
    (loc, scale, sigma, thresh, strength, mud), wt = _level(severity, _SPATTER)
    h, w = x.shape[:2]
    drops = rng.standard_normal((h, w, 1), dtype=_F)
    drops *= _F(scale)
    drops += _F(loc)
    liquid = _blur(drops, float(sigma))[..., 0]
    liquid[liquid < thresh] = 0
    if mud >= 0.5:
        m = _blur((liquid > thresh).astype(_F)[..., None], float(strength))[..., 0]
        m[m < 0.8] = 0
        colour = np.array([63, 42, 20], dtype=_F) / 255
        out = x * (1 - m[..., None]) + colour * m[..., None]
        return _mix(x, out, wt)
    # water: shading inside the drops from an embossed, equalised depth map
    shade = _equalise(np.floor(_box3(_edge_distance(liquid > 0, 20))))
    emb = _box3(np.clip(_emboss(shade), 0, 255))
    m = liquid * emb
    m = m / max(float(m.max()), 1e-6) * _F(strength)
    colour = np.array([175, 238, 238], dtype=_F) / 255
    return _mix(x, x + m[..., None] * colour, wt)
