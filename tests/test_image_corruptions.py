"""The ImageNet-C image corruptions (``perturbations._image_corruptions``), called directly.

Each corruption takes a float32 (H, W, 3) image in [0, 1], a numpy Generator and a
severity in (0, 1]; the image modality's clipping and dtype handling are not tested here.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import perturbations
from perturbations import Perturbation, get, unregister

MODULE, WEATHER = "perturbations._image_corruptions", "perturbations._image_weather"
ic: Any = None  # the module, imported by the fixture below


@pytest.fixture(scope="module", autouse=True)
def _corruptions() -> Iterator[None]:
    """Import (and so register) the corruptions for this file's tests only: until the
    package imports the module itself, other tests see the catalogue without them."""
    global ic
    fresh = MODULE not in sys.modules and WEATHER not in sys.modules
    ic = importlib.import_module(MODULE)
    yield
    if fresh:
        for attr in ic.__all__:
            unregister(getattr(ic, attr).name)
        for module in (MODULE, WEATHER):
            sys.modules.pop(module, None)
            if hasattr(perturbations, module.rsplit(".", 1)[1]):
                delattr(perturbations, module.rsplit(".", 1)[1])

NAMES = {
    "gaussian_noise": "image_noise.gaussian", "shot_noise": "image_noise.shot",
    "impulse_noise": "image_noise.impulse", "speckle_noise": "image_noise.speckle",
    "defocus_blur": "blur.defocus", "glass_blur": "blur.glass", "motion_blur": "blur.motion",
    "zoom_blur": "blur.zoom", "gaussian_blur": "blur.gaussian", "snow": "weather.snow",
    "frost": "weather.frost", "fog": "weather.fog", "spatter": "weather.spatter",
    "brightness": "digital.brightness", "contrast": "digital.contrast",
    "elastic": "digital.elastic", "pixelate": "digital.pixelate", "jpeg": "digital.jpeg",
    "saturate": "digital.saturate",
}
DETERMINISTIC = {"defocus_blur", "zoom_blur", "gaussian_blur", "brightness", "contrast",
                 "pixelate", "jpeg", "saturate"}
RANDOM = sorted(set(NAMES) - DETERMINISTIC)
# The paper's own levels are not monotone in the size of the change for these two:
# saturate desaturates at levels 1-2 and oversaturates at 3-5; frost lowers the image's
# weight while raising the ice's (tested on their own below).
NOT_MONOTONE = {"saturate", "frost"}
# The paper's fog (levels 2-4) and snow (levels 2-3) change an image by about the same
# amount at neighbouring levels (the reference: 43.7, 42.8, 47.4 and 65.66, 65.65 on
# the benchmark's images), so a dip of a few percent is allowed.
NEAR_TIES = {"fog": 0.05, "snow": 0.05}
SEVERITIES = (0.2, 0.4, 0.6, 0.8, 1.0)


def scene(h: int, w: int) -> np.ndarray:
    """A float32 test image: gradients, a disc and a texture not aligned to any grid."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(0.9 * xx + 0.7 * yy)], axis=-1)
    disc = (yy - h / 2) ** 2 + (xx - w / 3) ** 2 < (min(h, w) / 4) ** 2
    img[disc] = [0.9, 0.3, 0.1]
    return (0.1 + 0.8 * img).astype(np.float32)


def run(name: str, img: np.ndarray, severity: float, seed: int = 0) -> np.ndarray:
    func = getattr(ic, name).func
    out: np.ndarray = func(img.copy(), rng=np.random.default_rng(seed), severity=severity)
    return out


def change(img: np.ndarray, out: np.ndarray) -> float:
    return float(np.abs(np.clip(out, 0, 1) - img).mean())


IMG = scene(48, 48)


# ---------------------------------------------------------------------------- registry


def test_module_exports_the_nineteen_corruptions() -> None:
    assert set(ic.__all__) == set(NAMES)
    assert len({NAMES[n] for n in ic.__all__}) == 19


@pytest.mark.parametrize("attr", sorted(NAMES))
def test_each_corruption_is_registered_for_images(attr: str) -> None:
    record = getattr(ic, attr)
    assert isinstance(record, Perturbation)
    assert record.name == NAMES[attr]
    assert get(NAMES[attr]) is record
    assert record.modality == "image"
    assert record.expectation == "invariant"
    assert len(record.description.strip()) > 20 and record.description.endswith(".")
    assert record.severity.strip()
    assert record.parameters == {}


# ------------------------------------------------------------------ the common contract


@pytest.mark.parametrize("attr", sorted(NAMES))
@pytest.mark.parametrize("shape", [(32, 32), (24, 40), (40, 27)])
def test_shape_dtype_and_finite_values_are_kept(attr: str, shape: tuple[int, int]) -> None:
    img = scene(*shape)
    for severity in (0.05, 0.5, 1.0):
        out = run(attr, img, severity)
        assert out.shape == img.shape
        assert out.dtype == np.float32
        assert np.isfinite(out).all()
        assert change(img, out) > 0


@pytest.mark.parametrize("attr", sorted(NAMES))
def test_tiny_images_do_not_break_it(attr: str) -> None:
    for shape in ((1, 1), (2, 3), (5, 17)):
        img = scene(*shape)
        out = run(attr, img, 1.0)
        assert out.shape == img.shape and np.isfinite(out).all()


@pytest.mark.parametrize("attr", sorted(NAMES))
def test_the_input_array_is_not_modified(attr: str) -> None:
    img = IMG.copy()
    getattr(ic, attr).func(img, rng=np.random.default_rng(0), severity=1.0)
    np.testing.assert_array_equal(img, IMG)


@pytest.mark.parametrize("attr", sorted(NAMES))
def test_same_seed_same_output(attr: str) -> None:
    np.testing.assert_array_equal(run(attr, IMG, 0.7, seed=3), run(attr, IMG, 0.7, seed=3))


@pytest.mark.parametrize("attr", RANDOM)
def test_another_seed_another_output(attr: str) -> None:
    assert not np.array_equal(run(attr, IMG, 0.7, seed=3), run(attr, IMG, 0.7, seed=4))


@pytest.mark.parametrize("attr", sorted(DETERMINISTIC))
def test_deterministic_corruptions_ignore_the_seed(attr: str) -> None:
    np.testing.assert_array_equal(run(attr, IMG, 0.7, seed=3), run(attr, IMG, 0.7, seed=4))


def test_no_global_random_state_is_used() -> None:
    def state() -> dict[str, Any]:
        st = np.random.get_state(legacy=False)
        assert isinstance(st, dict)
        return st

    before = state()
    for attr in NAMES:
        run(attr, IMG, 0.9)
    after = state()
    np.testing.assert_array_equal(before["state"]["key"], after["state"]["key"])
    assert before["state"]["pos"] == after["state"]["pos"]
    assert before["has_gauss"] == after["has_gauss"]


@pytest.mark.parametrize("attr", sorted(set(NAMES) - NOT_MONOTONE))
def test_the_change_grows_with_severity(attr: str) -> None:
    seeds = range(3) if attr in RANDOM else range(1)
    changes = [np.mean([change(IMG, run(attr, IMG, s, seed=k)) for k in seeds])
               for s in SEVERITIES]
    slack = NEAR_TIES.get(attr, 0.0)
    for lower, higher in itertools.pairwise(changes):
        assert higher >= lower * (1 - slack) - 1e-7, changes
    assert changes[-1] > changes[0], changes


@pytest.mark.parametrize("attr", sorted(NAMES))
def test_below_level_one_the_change_is_blended_down(attr: str) -> None:
    level1 = run(attr, IMG, 0.2, seed=5)
    small = run(attr, IMG, 0.02, seed=5)
    # the same draws, a tenth of the way from the image to level 1
    np.testing.assert_allclose(small, IMG + 0.1 * (level1 - IMG), atol=1e-5)
    # unclipped: clipping the brighter level-1 output (water, snow) shrinks its change
    assert np.abs(small - IMG).mean() < 0.11 * np.abs(level1 - IMG).mean() + 1e-6


def test_levels_are_interpolated_linearly() -> None:
    table = [[1.0, 10], [2.0, 20], [3.0, 30], [4.0, 40], [6.0, 60]]
    for severity, row in ((0.2, [1, 10]), (0.4, [2, 20]), (1.0, [6, 60]), (0.5, [2.5, 25]),
                          (0.9, [5, 50]), (0.3, [1.5, 15])):
        values, weight = ic._level(severity, table)
        np.testing.assert_allclose(values, row)
        assert weight == 1.0
    values, weight = ic._level(0.05, table)
    np.testing.assert_allclose(values, [1, 10])
    assert weight == pytest.approx(0.25)


# ------------------------------------------------------------------------- each family


def test_gaussian_noise_has_the_paper_standard_deviation() -> None:
    grey = np.full((64, 64, 3), 0.5, dtype=np.float32)
    noise = run("gaussian_noise", grey, 1.0) - grey
    assert noise.std() == pytest.approx(0.38, rel=0.05)
    assert abs(noise.mean()) < 0.02


def test_shot_noise_values_are_photon_counts() -> None:
    out = run("shot_noise", IMG, 1.0)  # level 5: 3 photons per unit
    np.testing.assert_allclose(out * 3, np.round(out * 3), atol=1e-5)


@pytest.mark.parametrize("severity", [0.2, 0.5, 1.0])  # 60, 18.5 and 3 photons per unit
@pytest.mark.parametrize("step", [0, 1, 3, 77, 200, 255])
@pytest.mark.parametrize("convert", ["divide", "multiply"])
def test_shot_noise_on_8_bit_values_draws_poisson_counts(severity: float, step: int,
                                                         convert: str) -> None:
    """8-bit values (k / 255, or k * (1 / 255) as the image modality converts them: the
    two differ in the last bit for 3 and many others) are drawn through per-value tables:
    the counts must have the Poisson distribution's mean, variance and chance of zero."""
    lam = {0.2: 60.0, 0.5: 18.5, 1.0: 3.0}[severity]
    value = (np.float32(step) / np.float32(255) if convert == "divide"
             else np.float32(step) * np.float32(1 / 255))
    img = np.full((200, 200, 3), value, dtype=np.float32)
    counts = run("shot_noise", img, severity, seed=step) * lam
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    mean, n = lam * step / 255, counts.size
    assert counts.mean() == pytest.approx(mean, abs=4 * np.sqrt(mean / n) + 1e-9)
    assert counts.var() == pytest.approx(mean, abs=6 * mean * np.sqrt(2 / n) + 0.01 * mean)
    assert (np.round(counts) == 0).mean() == pytest.approx(np.exp(-mean), abs=0.005)


@pytest.mark.parametrize(("pixels", "tables"), [
    (np.arange(48 * 48 * 3).reshape(48, 48, 3) % 256, True),  # uint8: the modality's floats
    (np.linspace(0, 1, 48 * 48 * 3).reshape(48, 48, 3) ** 2, False),  # floats off the grid
])
def test_shot_noise_uses_the_tables_exactly_for_8_bit_images(
        monkeypatch: pytest.MonkeyPatch, pixels: np.ndarray, tables: bool) -> None:
    """Through the image modality, which converts 8-bit values as k * (1 / 255)."""
    calls: list[int] = []
    draw = ic._poisson_by_step

    def counted(*args: Any) -> np.ndarray:
        calls.append(1)
        out: np.ndarray = draw(*args)
        return out

    monkeypatch.setattr(ic, "_poisson_by_step", counted)
    images = pixels.astype(np.uint8 if tables else np.float32)[None]
    out = get("image_noise.shot").apply(images, severity=0.6, seed=0)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert bool(calls) is tables


def test_shot_noise_on_values_off_the_8_bit_grid_draws_poisson_counts_too() -> None:
    img = np.full((200, 200, 3), 0.3001, dtype=np.float32)  # not k / 255
    counts = run("shot_noise", img, 1.0) * 3.0
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    assert counts.mean() == pytest.approx(0.9003, abs=0.02)
    assert counts.var() == pytest.approx(0.9003, abs=0.03)


def test_impulse_noise_sets_a_share_of_values_to_zero_or_one() -> None:
    grey = np.full((64, 64, 3), 0.5, dtype=np.float32)
    out = run("impulse_noise", grey, 1.0)
    salt, pepper = (out == 1).mean(), (out == 0).mean()
    assert salt + pepper == pytest.approx(0.27, abs=0.03)
    assert salt == pytest.approx(pepper, abs=0.03)
    assert set(np.unique(out)) == {0.0, 0.5, 1.0}


def test_speckle_noise_scales_with_the_value() -> None:
    img = IMG.copy()
    img[:, :24] = 0.0
    out = run("speckle_noise", img, 1.0)
    np.testing.assert_array_equal(out[:, :24], 0.0)
    assert np.abs(out[:, 24:] - img[:, 24:]).mean() > 0.05


@pytest.mark.parametrize("attr", ["gaussian_blur", "defocus_blur", "glass_blur",
                                  "motion_blur", "zoom_blur"])
def test_blurs_remove_fine_detail_and_keep_a_flat_image(attr: str) -> None:
    rng = np.random.default_rng(0)
    noisy = rng.random((48, 48, 3)).astype(np.float32)
    out = run(attr, noisy, 1.0)
    assert np.abs(np.diff(out, axis=1)).mean() < 0.6 * np.abs(np.diff(noisy, axis=1)).mean()
    flat = np.full((40, 40, 3), 0.3, dtype=np.float32)
    np.testing.assert_allclose(run(attr, flat, 1.0), flat, atol=1e-5)


def test_glass_blur_swaps_are_a_local_permutation() -> None:
    img = np.arange(30 * 34, dtype=np.float32).reshape(30, 34, 1)
    out = ic._swap_locally(img.copy(), 3, 2, np.random.default_rng(0))
    assert not np.array_equal(out, img)
    np.testing.assert_array_equal(np.sort(out.ravel()), img.ravel())
    rows, cols = np.divmod(out.ravel().astype(int), 34)
    moved = np.maximum(np.abs(rows - np.repeat(np.arange(30), 34)),
                       np.abs(cols - np.tile(np.arange(34), 30)))
    assert moved.mean() < 4


def test_motion_blur_smears_along_one_direction() -> None:
    img = np.zeros((101, 101, 3), dtype=np.float32)
    img[50, 50] = 1.0
    out = run("motion_blur", img, 1.0)[..., 0]
    ys, xs = np.nonzero(out > 1e-4)
    assert len(ys) >= 10  # a trail, not a spot
    assert np.ptp(xs) >= 10 or np.ptp(ys) >= 10
    assert out.sum() == pytest.approx(1.0, rel=1e-4)


def test_zoom_blur_leaves_the_centre_sharper_than_the_corners() -> None:
    out = run("zoom_blur", IMG, 1.0)
    diff = np.abs(out - IMG).mean(axis=2)
    assert diff[20:28, 20:28].mean() < diff[:8, :8].mean()


def test_snow_brightens() -> None:
    assert run("snow", IMG, 1.0).mean() > IMG.mean() + 0.05


def test_frost_lays_a_pale_blue_texture() -> None:
    black = np.zeros((48, 64, 3), dtype=np.float32)
    ice = [run("frost", black, s) for s in SEVERITIES]
    means = [float(i.mean()) for i in ice]
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(means))  # the ice's weight rises
    tex = ice[-1]
    assert tex[..., 2].mean() > tex[..., 0].mean()  # bluish
    assert tex.std() > 0.02  # textured, not a flat tint
    other = run("frost", black, 1.0, seed=1)
    assert not np.allclose(tex, other)
    white = np.ones((48, 64, 3), dtype=np.float32)
    kept = [float(run("frost", white, s).mean() - ice[i].mean()) for i, s in
            enumerate(SEVERITIES)]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(kept))  # the image's weight falls


def test_frost_texture_is_generated_for_any_size() -> None:
    for h, w in ((8, 8), (37, 91), (300, 20)):
        tex = sys.modules[WEATHER]._frost_texture(np.random.default_rng(0), h, w)
        assert tex.shape == (h, w, 3) and tex.min() >= 0 and tex.max() <= 1


def test_fog_lowers_contrast_and_adds_haze() -> None:
    out = run("fog", IMG, 1.0)
    assert out.std() < IMG.std() * 1.5
    assert not np.allclose(out, IMG)
    assert out.max() <= IMG.max() + 1e-6


def test_spatter_is_water_then_mud() -> None:
    grey = np.full((64, 64, 3), 0.4, dtype=np.float32)
    water = run("spatter", grey, 0.6) - grey
    assert water.min() >= -1e-6  # water drops only add a pale colour
    assert water.max() > 0
    mud = run("spatter", grey, 1.0) - grey
    assert mud.min() < 0  # mud covers the image with brown
    brown = run("spatter", grey, 1.0)[mud[..., 0] < -0.15]
    assert brown.size and (brown[:, 0] > brown[:, 2]).all()


def test_brightness_raises_the_mean_and_keeps_hue() -> None:
    out = run("brightness", IMG, 1.0)
    assert out.mean() > IMG.mean() + 0.1
    assert out.max() <= 1 + 1e-6
    colour = np.array([[[0.4, 0.2, 0.1]]], dtype=np.float32)
    np.testing.assert_allclose(run("brightness", colour, 0.6), [[[0.7, 0.35, 0.175]]],
                               atol=1e-6)


def test_contrast_lowers_the_std_and_keeps_the_mean() -> None:
    out = run("contrast", IMG, 1.0)
    np.testing.assert_allclose(out.std(axis=(0, 1)), IMG.std(axis=(0, 1)) * 0.05, rtol=1e-3)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), IMG.mean(axis=(0, 1)), atol=1e-5)


def saturation(x: np.ndarray) -> float:
    v = x.max(axis=2)
    return float(np.where(v > 0, (v - x.min(axis=2)) / np.maximum(v, 1e-9), 0).mean())


def test_saturate_washes_out_then_oversaturates() -> None:
    s0 = saturation(IMG)
    s = [saturation(run("saturate", IMG, sev)) for sev in SEVERITIES]
    assert s[1] < s[0] < s0  # levels 1-2: 0.3 and 0.1 of the saturation
    assert s0 < s[2] < s[3] < s[4]  # levels 3-5: 2x, 5x, 20x
    assert s[1] == pytest.approx(0.1 * s0, rel=0.01)
    out = run("saturate", IMG, 0.4)  # hue and value are kept
    np.testing.assert_allclose(out.max(axis=2), IMG.max(axis=2), atol=1e-6)


def test_pixelate_produces_blocks() -> None:
    img = scene(32, 32)
    out = run("pixelate", img, 1.0)  # level 5: 8 x 8 cells of 4 x 4 pixels
    blocks = out.reshape(8, 4, 8, 4, 3)
    np.testing.assert_array_equal(blocks, np.broadcast_to(blocks[:, :1, :, :1], blocks.shape))
    np.testing.assert_allclose(blocks[:, 0, :, 0], img.reshape(8, 4, 8, 4, 3).mean(axis=(1, 3)),
                               atol=1e-5)
    odd = run("pixelate", scene(30, 45), 0.6)  # 12 x 18 cells over 30 x 45 pixels
    assert len(np.unique(odd[..., 2], axis=0)) == 12
    assert len(np.unique(odd[..., 2], axis=1)[0]) == 18


def test_jpeg_is_lossy_and_blocky() -> None:
    out = run("jpeg", IMG, 1.0)
    assert change(IMG, out) > 0.005
    assert change(IMG, out) > change(IMG, run("jpeg", IMG, 0.2))
    np.testing.assert_allclose(out * 255, np.round(out * 255), atol=1e-3)  # 8-bit values


def test_jpeg_without_pillow_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"robustcheck\[image\]"):
        run("jpeg", IMG, 0.5)


def test_elastic_moves_pixels_by_a_few_pixels() -> None:
    # the field is smoothed over 1% of the image's side, so look at a large image
    ramp = np.repeat((np.arange(200, dtype=np.float32) / 200)[None, :, None], 200, axis=0)
    ramp = np.repeat(ramp, 3, axis=2)
    shift = (run("elastic", ramp, 1.0) - ramp)[..., 0] * 200  # horizontal shift, pixels
    assert 0.5 < np.abs(shift).mean() < 5
    assert np.abs(shift).max() < 20
    assert np.abs(np.diff(shift, axis=1)).mean() < 0.5 * np.abs(shift).mean()  # smooth
    out = run("elastic", IMG, 1.0)  # bilinear sampling stays within the image's range
    assert out.min() >= IMG.min() - 1e-6 and out.max() <= IMG.max() + 1e-6


# ------------------------------------------- the fast helpers against plain definitions


def _naive_box_shrink(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Each cell's mean over the pixels it covers, weighted by the share covered."""
    x = np.moveaxis(x.astype(np.float64), axis, 0)
    n_in, span = x.shape[0], x.shape[0] / n_out
    out = np.zeros((n_out, *x.shape[1:]))
    for o in range(n_out):
        lo, hi = o * span, (o + 1) * span
        for i in range(int(lo), min(int(np.ceil(hi)), n_in)):
            out[o] += x[i] * (min(hi, i + 1) - max(lo, i)) / span
    return np.moveaxis(out, 0, axis)


@pytest.mark.parametrize(("n_in", "n_out"), [(224, 134), (224, 56), (45, 27), (7, 3),
                                             (30, 12), (5, 5), (9, 1)])
@pytest.mark.parametrize("axis", [0, 1])
def test_box_shrink_is_the_covered_share_weighted_mean(n_in: int, n_out: int,
                                                       axis: int) -> None:
    rng = np.random.default_rng(n_in * 31 + n_out)
    shape = (n_in, 4, 3) if axis == 0 else (4, n_in, 3)
    x = rng.random(shape).astype(np.float32)
    np.testing.assert_allclose(ic._box_shrink(x, n_out, axis),
                               _naive_box_shrink(x, n_out, axis), atol=1e-5)


def test_bilinear_sampling_reads_pixels_and_blends_between_them() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((6, 7, 3)).astype(np.float32)
    yy, xx = np.meshgrid(np.arange(6.0), np.arange(7.0), indexing="ij")
    np.testing.assert_allclose(ic._sample_bilinear(x, yy, xx), x, atol=1e-6)
    half = ic._sample_bilinear(x, yy[:5, :6] + 0.5, xx[:5, :6] + 0.25)
    want = (0.75 * (x[:-1, :-1] + x[1:, :-1]) + 0.25 * (x[:-1, 1:] + x[1:, 1:])) / 2
    np.testing.assert_allclose(half, want, atol=1e-6)
    # outside the image: the border pixel
    far = ic._sample_bilinear(x, np.full((6, 7), -3.0), np.full((6, 7), 99.0))
    np.testing.assert_allclose(far, np.broadcast_to(x[0, -1], x.shape), atol=1e-6)


def test_brightness_and_saturate_match_an_hsv_round_trip() -> None:
    import colorsys

    rng = np.random.default_rng(4)
    x = rng.random((5, 6, 3)).astype(np.float32)
    x[0, 0] = 0.0  # black
    x[1, 1] = 0.4  # grey
    for attr, severity, change in (("brightness", 0.6, lambda h, s, v: (h, s, min(v + 0.3, 1))),
                                   ("saturate", 0.2, lambda h, s, v: (h, s * 0.3, v)),
                                   ("saturate", 1.0, lambda h, s, v: (h, min(s * 20 + 0.2, 1),
                                                                       v))):
        out = run(attr, x, severity)
        for i, j in itertools.product(range(5), range(6)):
            want = colorsys.hsv_to_rgb(*change(*colorsys.rgb_to_hsv(*x[i, j].tolist())))
            np.testing.assert_allclose(out[i, j], want, atol=1e-5, err_msg=f"{attr} {i},{j}")


def test_spatter_edge_distance_is_the_octagonal_distance_to_the_nearest_edge() -> None:
    """Brute force: after k dilations, alternately by the 3 x 3 square (odd steps) and the
    cross, a pixel (dy, dx) from an edge pixel is reached when max(|dy|, |dx|) <= k and
    |dy| + |dx| <= k + ceil(k / 2)."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:27, :41]
    inside = (rng.random((27, 41)) < 0.55) & (xx < 12)  # speckle: short distances
    inside |= (yy - 13) ** 2 + (xx - 27) ** 2 <= 11**2  # a drop: long ones, inside and out
    cap = 6
    got = ic_weather()._edge_distance(inside, cap)
    h, w = inside.shape
    edge = np.zeros_like(inside)
    for i, j in itertools.product(range(h), range(w)):
        nbrs = [(min(max(i + a, 0), h - 1), min(max(j + b, 0), w - 1))
                for a, b in ((-1, 0), (1, 0), (0, -1), (0, 1))]
        edge[i, j] = inside[i, j] and any(inside[p] != inside[i, j] for p in nbrs)
    sources = list(zip(*np.nonzero(edge)))

    def steps(dy: int, dx: int) -> int:
        k = 0
        while max(dy, dx) > k or dy + dx > k + (k + 1) // 2:
            k += 1
        return k

    # the steps of every offset a pixel can have from a source, each found by the loop
    # above once, then the minimum over the sources of every pixel
    table = np.array([[steps(dy, dx) for dx in range(w)] for dy in range(h)])
    ys, xs = (np.array(v, dtype=np.intp) for v in zip(*sources))
    want = np.minimum(cap, table[np.abs(yy[..., None] - ys),
                                 np.abs(xx[..., None] - xs)].min(axis=2, initial=cap))
    np.testing.assert_array_equal(got, want)
    assert {2, 3, 4, 5, cap} <= set(got.ravel().tolist())


def ic_weather() -> Any:
    return importlib.import_module(WEATHER)
