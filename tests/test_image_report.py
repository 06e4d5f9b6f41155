"""Images in the report: inline PNG thumbnails (encoder, validator, page budget), the
before/after pictures of an example, hostile thumbnails in a result file, and the
severity curves per ImageNet-C group of image corruptions."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import perturbations
import robustcheck
from robustcheck import _report_charts, _report_examples, adapters, report
from robustcheck._image_modality import IMAGE
from robustcheck._thumbnails import (
    MAX_SIDE,
    PREFIX,
    TARGET_CHARS,
    THUMBNAIL_LIMIT,
    encode_png,
    is_thumbnail,
    thumbnail,
    thumbnail_size,
)

RNG = np.random.default_rng(7)
IMG_TAG = re.compile(r"<img\b[^>]*>")


# -- a PNG decoder, independent of the encoder -----------------------------------------


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced PNG (filters none, sub and up), checking
    every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    assert header is not None and pos == len(data)
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    stride = width * channels
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        above = out[y - 1] if y else np.zeros(stride, dtype=np.uint8)
        if kind == 0:
            out[y] = line
        elif kind == 2:
            out[y] = line + above  # uint8: modulo 256
        elif kind == 1:
            for x in range(stride):
                left = out[y, x - channels] if x >= channels else 0
                out[y, x] = (int(line[x]) + int(left)) % 256
        else:
            raise AssertionError(f"filter {kind} not expected")
    return out.reshape(height, width, channels)


def pixels_of(uri: str) -> np.ndarray:
    assert uri.startswith(PREFIX)
    return decode_png(base64.b64decode(uri[len(PREFIX):]))


# -- the encoder -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 7), (9, 4, 1), (6, 3, 2), (17, 11, 3), (4, 13, 4)])
def test_encode_png_round_trips_every_channel_count(shape: tuple[int, ...]) -> None:
    pixels = RNG.integers(0, 256, size=shape, dtype=np.uint8)
    decoded = decode_png(encode_png(pixels))
    expected = pixels if pixels.ndim == 3 else pixels[:, :, None]
    assert decoded.shape == expected.shape
    assert np.array_equal(decoded, expected)


def test_pillow_reads_the_png_as_written() -> None:
    image_module = pytest.importorskip("PIL.Image")
    import io

    for pixels, mode in ((RNG.integers(0, 256, (12, 20), dtype=np.uint8), "L"),
                         (RNG.integers(0, 256, (12, 20, 3), dtype=np.uint8), "RGB"),
                         (RNG.integers(0, 256, (12, 20, 4), dtype=np.uint8), "RGBA")):
        with image_module.open(io.BytesIO(encode_png(pixels))) as opened:
            opened.load()
            assert opened.mode == mode and opened.size == (20, 12)
            assert np.array_equal(np.asarray(opened), pixels)


def test_encode_png_refuses_what_is_not_uint8_pixels() -> None:
    for bad in (np.zeros((4, 4), dtype=np.float32), np.zeros((4, 4, 5), dtype=np.uint8),
                np.zeros((0, 4), dtype=np.uint8), np.zeros(4, dtype=np.uint8)):
        with pytest.raises(ValueError):
            encode_png(bad)


def test_small_images_are_kept_pixel_for_pixel() -> None:
    digit = RNG.integers(0, 256, (8, 8), dtype=np.uint8)
    assert np.array_equal(pixels_of(thumbnail(digit) or "")[:, :, 0], digit)
    as_float = digit.astype(np.float32) / 255  # a float image in [0, 1]
    assert np.array_equal(pixels_of(thumbnail(as_float) or "")[:, :, 0], digit)
    in_255 = digit.astype(np.float64)  # a float image in [0, 255]
    assert np.array_equal(pixels_of(thumbnail(in_255) or "")[:, :, 0], digit)


def test_large_images_are_downscaled_by_a_box_filter() -> None:
    blocks = (RNG.integers(0, 4, (96, 48, 3)) * 60).astype(np.uint8)  # compressible
    big = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)  # 192 x 96: each pixel 2 x 2
    big[0::2, 0::2] = np.clip(big[0::2, 0::2].astype(int) + 2, 0, 255).astype(np.uint8)
    shrunk = pixels_of(thumbnail(big) or "")
    assert shrunk.shape == (96, 48, 3)
    means = big.reshape(96, 2, 48, 2, 3).astype(float).mean(axis=(1, 3))
    assert np.abs(shrunk.astype(float) - means).max() <= 0.5 + 1e-9


@pytest.mark.parametrize("shape", [(224, 224, 3), (300, 100, 3), (500, 40), (97, 97, 4)])
def test_a_thumbnail_is_at_most_96_pixels_a_side_and_bounded_in_size(
        shape: tuple[int, ...]) -> None:
    noise = RNG.integers(0, 256, shape, dtype=np.uint8)  # incompressible: the worst case
    uri = thumbnail(noise)
    assert uri is not None and len(uri) <= TARGET_CHARS and is_thumbnail(uri)
    size = thumbnail_size(uri)
    assert size is not None and max(size) <= MAX_SIDE
    ratio = shape[1] / shape[0]
    assert abs(size[0] / size[1] - ratio) / ratio < 0.2  # the aspect ratio is kept


def test_a_smooth_large_image_keeps_the_full_96_pixels() -> None:
    ramp = np.tile(np.arange(256, dtype=np.uint8), (128, 1))
    assert thumbnail_size(thumbnail(ramp)) == (96, 48)


def test_pil_images_and_files_give_the_same_thumbnail_as_their_pixels(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    pixels = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    path.write_bytes(encode_png(pixels))
    expected = thumbnail(pixels)
    assert thumbnail(image_module.fromarray(pixels)) == expected
    assert thumbnail(path) == expected and thumbnail(str(path)) == expected
    palette = image_module.fromarray(pixels).convert("P")  # another mode: shown as RGB
    assert thumbnail_size(thumbnail(palette)) == (40, 30)


def test_what_is_not_an_image_has_no_thumbnail(tmp_path: Path) -> None:
    (tmp_path / "not.png").write_text("not an image")
    for value in ("some text", None, 3, {"a": 1}, np.zeros((2, 2, 2, 2)),
                  np.zeros((4, 4, 2)), np.array([["a"]]), tmp_path / "not.png"):
        assert thumbnail(value) is None


# -- the validator ---------------------------------------------------------------------


def test_the_validator_accepts_thumbnails_and_nothing_else() -> None:
    good = thumbnail(RNG.integers(0, 256, (10, 12, 3), dtype=np.uint8))
    assert good is not None and is_thumbnail(good)
    payload = good[len(PREFIX):]
    not_png = PREFIX + base64.b64encode(b"GIF89a" + b"\0" * 40).decode()
    html = "data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode()
    huge = thumbnail(RNG.integers(0, 256, (96, 96, 3), dtype=np.uint8))  # under TARGET
    oversized = PREFIX + base64.b64encode(
        encode_png(RNG.integers(0, 256, (96, 96, 4), dtype=np.uint8))).decode()
    assert huge is not None and len(oversized) > THUMBNAIL_LIMIT
    for bad in ("javascript:alert(1)", '"><script>alert(1)</script>', html,
                "data:image/svg+xml;base64," + payload, "DATA:image/png;base64," + payload,
                " " + good, good + "\n", good[:-4] + "!!!!", good[:40] + "\n" + good[40:],
                PREFIX, PREFIX + payload[:-1], PREFIX + "%3Cscript%3E", not_png, oversized,
                PREFIX + payload + '" onerror="alert(1)', good.encode(), None, 7,
                {"thumbnail": good}, [good]):
        assert not is_thumbnail(bad), bad
        assert thumbnail_size(bad) is None


def test_the_validator_checks_the_png_header() -> None:
    png = bytearray(encode_png(np.zeros((4, 4), dtype=np.uint8)))
    assert is_thumbnail(PREFIX + base64.b64encode(bytes(png)).decode())
    png[24] = 16  # 16 bits a channel: never written by the encoder
    assert not is_thumbnail(PREFIX + base64.b64encode(bytes(png)).decode())
    wide = bytearray(encode_png(np.zeros((4, 4), dtype=np.uint8)))
    wide[16:20] = struct.pack(">I", 100_000)  # a header claiming a huge image
    assert not is_thumbnail(PREFIX + base64.b64encode(bytes(wide)).decode())


# -- what a result stores ----------------------------------------------------------------


def test_show_stores_the_summary_and_a_thumbnail() -> None:
    batch = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    shown = IMAGE.show(batch, 1)
    assert set(shown) == {"image", "mean", "min", "max", "digest", "thumbnail"}
    assert shown["image"] == "28×28 uint8" and is_thumbnail(shown["thumbnail"])
    assert np.array_equal(pixels_of(shown["thumbnail"])[:, :, 0], batch[1])
    assert json.loads(json.dumps(shown)) == shown
    assert [s["thumbnail"] for s in IMAGE.show_all(batch)] == [
        IMAGE.show(batch, i)["thumbnail"] for i in range(3)]


# -- the report --------------------------------------------------------------------------


def digits(n: int) -> tuple[np.ndarray, np.ndarray, Any]:
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    d = load_digits()
    images = np.rint(d.images * (255 / 16)).astype(np.uint8)
    train = images[600:].reshape(-1, 64)
    svc = SVC(gamma=0.001 * (16 / 255) ** 2).fit(train, d.target[600:])
    return images[:n], d.target[:n], adapters.adapt(svc, flatten=True)


@pytest.fixture(scope="module")
def digits_result() -> robustcheck.RunResult:
    images, labels, model = digits(300)
    return robustcheck.run(model, images, labels,
                           perturbations=["orientation.rotate", "exposure.under"],
                           severities=(0.5, 1.0), seed=0, progress=False, name="digits svc")


def imgs(html: str) -> list[dict[str, str]]:
    return [{k: unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}
            for tag in IMG_TAG.findall(html)]


def section(html: str, element_id: str) -> str:
    start = html.index(f'<section id="{element_id}"')
    return html[start:html.index("</section>", start)]


def policy(html: str) -> str:
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert found
    return unescape(found.group(1))


def test_a_digits_report_shows_clean_and_perturbed_thumbnails(
        digits_result: robustcheck.RunResult) -> None:
    html = report.render_run(digits_result)
    examples = section(html, "examples")
    tags = imgs(examples)
    assert tags and all(is_thumbnail(t["src"]) for t in tags)
    alts = [t["alt"] for t in tags]
    assert "clean input, 8x8 grayscale" in alts and "perturbed input, 8x8 grayscale" in alts
    assert alts.count("clean input, 8x8 grayscale") == alts.count(
        "perturbed input, 8x8 grayscale") == sum(
        len(v) for v in digits_result.examples.values())
    for t in tags:  # 8 x 8 drawn at 96 x 96, pixel by pixel
        assert (t["width"], t["height"], t.get("class")) == ("96", "96", "pixelated")
    assert 'src="data:image/png;base64,' in examples
    first = digits_result.examples["orientation.rotate"][0]
    assert tags[0]["src"] == first["input"]["thumbnail"]
    assert tags[1]["src"] == first["perturbed"]["thumbnail"]
    assert "image-rendering: pixelated" in html
    csp = policy(html)
    assert "img-src data:;" in csp and "default-src 'none'" in csp
    assert "img-src 'none'" not in csp
    # the summary fields as plain text; no character diff of a digest, no base64 as text
    assert "<td>mean</td>" in examples and "<td>digest</td>" in examples
    digest_rows = re.findall(r"<tr><td>digest</td>.*?</tr>", examples, re.S)
    assert digest_rows and not any("<mark" in r or "<del" in r for r in digest_rows)
    assert "iVBOR" not in re.sub(r'src="[^"]*"', "", html)  # a PNG's base64 only in src
    glance = section(html, "worst")
    assert any(t["alt"].startswith("clean input") for t in imgs(glance))
    assert len(html) < 200_000, len(html)


def test_the_other_pages_of_a_run_never_show_thumbnails_as_text(
        digits_result: robustcheck.RunResult) -> None:
    html = report.render_run(digits_result)
    crashes = section(html, "crashes")
    assert "iVBOR" not in crashes and "thumbnail" not in crashes
    shown = _report_examples._without_pixels(
        digits_result.examples["exposure.under"][0]["input"])
    assert "thumbnail" not in shown and "digest" not in shown and "mean" in shown


HOSTILE = ["javascript:alert(1)", '"><script>window.__pwned=1</script>',
           "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
           PREFIX + "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="]


def test_hostile_thumbnails_in_a_result_file_render_as_inert_text(
        digits_result: robustcheck.RunResult, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    digits_result.to_json(path)
    d = json.loads(Path(path).read_text("utf-8"))
    entries = [e for v in d["examples"].values() for e in v]
    assert len(entries) >= 2
    entries[0]["input"]["thumbnail"] = HOSTILE[0]
    entries[0]["perturbed"]["thumbnail"] = HOSTILE[1]
    entries[1]["input"]["thumbnail"] = HOSTILE[2]
    entries[1]["perturbed"]["thumbnail"] = HOSTILE[3]
    entries[1]["perturbed"]["image"] = '"><img src=x onerror=alert(1)>'
    Path(path).write_text(json.dumps(d), "utf-8")
    html = report.render_run(robustcheck.load(path))
    tags = imgs(html)
    assert tags and all(is_thumbnail(t["src"]) and t["src"].startswith(PREFIX) for t in tags)
    assert not any(any(h in t["src"] for h in HOSTILE) for t in tags)
    assert "<script>window" not in html and "<img src=x" not in html
    text = unescape(re.sub(r"<[^>]+>", "", section(html, "examples")))
    for h in HOSTILE:
        assert h in text, h  # shown, as text
    assert "&#34;&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert html.count("no picture") >= 4


def test_the_thumbnails_of_a_page_are_bounded(tmp_path: Path) -> None:
    noise = RNG.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8)  # large thumbnails

    def model(batch: Any) -> list[int]:
        # depends on where the pixels are, not only on their values
        return [int(np.asarray(x, dtype=np.float64).reshape(-1)[:60] @ np.arange(60)) % 5
                for x in batch]

    result = robustcheck.run(model, noise, perturbations="image", severities=(0.5, 1.0),
                             seed=0, progress=False)
    stored = [s for v in result.examples.values() for e in v
              for s in (e["input"], e["perturbed"]) if isinstance(s, dict)]
    total = sum(len(s.get("thumbnail", "")) for s in stored)
    assert total > _report_examples.IMAGE_BYTES_PER_PAGE or \
        len(stored) > _report_examples.IMAGES_PER_PAGE  # more than a page may show
    html = report.render_run(result)
    tags = imgs(html)
    assert 0 < len(tags) <= _report_examples.IMAGES_PER_PAGE
    assert sum(len(t["src"]) for t in tags) <= _report_examples.IMAGE_BYTES_PER_PAGE
    assert len(html) < _report_examples.IMAGE_BYTES_PER_PAGE + 600_000, len(html)
    note = re.search(r'id="pictures-left-out">(.*?)</p>', html)
    assert note and "were left out to keep this page small" in note.group(1)
    left = int(re.search(r"The pictures of (\d+) example", note.group(1)).group(1))
    shown_examples = len(re.findall(r'<div class="pictures">', section(html, "examples")))
    assert left > 0 and shown_examples + left == sum(len(v) for v in result.examples.values())
    worst = section(html, "examples").split('<article class="perturbation"')[1]
    assert '<div class="pictures">' in worst.split('<div class="example">')[1]  # kept


# -- severity curves per group ------------------------------------------------------------


def _toy(name: str, kind: str) -> perturbations.Perturbation:
    def f(img: np.ndarray, *, rng: np.random.Generator, severity: float) -> np.ndarray:
        if kind == "noise":
            return img + rng.normal(0, 0.4 * severity, img.shape)
        if kind == "blur":
            return (img + np.roll(img, 1, 0) + np.roll(img, 1, 1)) / 3
        if kind == "dim":
            return img * (1 - 0.7 * severity)
        return np.clip(img + 0.5 * severity, 0, 1)

    return perturbations.perturbation(
        name=name, modality="image", expectation="invariant",
        description=f"a toy {kind} for the tests", severity="how strong", default=False)(f)


TOYS = {"image_noise.toy": "noise", "blur.toy": "blur", "blur.toy_dim": "dim",
        "weather.toy": "bright", "digital.toy": "dim"}


@pytest.fixture
def toy_corruptions() -> Iterator[list[str]]:
    for name, kind in TOYS.items():
        _toy(name, kind)
    try:
        yield list(TOYS)
    finally:
        for name in TOYS:
            perturbations.unregister(name)


def test_image_corruptions_get_curves_per_group(toy_corruptions: list[str]) -> None:
    images, labels, model = digits(150)
    result = robustcheck.run(model, images, labels,
                             perturbations=[*toy_corruptions, "orientation.rotate"],
                             severities=(0.5, 1.0), seed=0, progress=False)
    html = report.render_run(result)
    curves = section(html, "curves")
    assert 'id="group-curves-chart"' in curves and 'id="curves-chart"' in curves
    group = curves[curves.index('id="group-curves"'):]
    legend = re.findall(r'<span dir="auto">([^<]*)</span>', group)
    assert sorted(x.split(" (")[0] for x in legend) == ["blur", "digital", "noise", "weather"]
    assert "orientation" not in group and "image_noise (" not in group
    drawn = _report_charts._group_curves(result)
    assert drawn is not None
    blur = next(s for s in drawn["series"] if s["legend"].startswith("blur"))
    rates = [result[name][1].metrics["failure_rate"].value
             for name in ("blur.toy", "blur.toy_dim")]
    mean = sum(rates) / 2  # the group's point: the mean over its perturbations
    assert rates[0] != rates[1]
    assert f"blur at severity 1: {100 * mean:.1f}%" in [d["title"] for d in blur["dots"]]
    colours = {s["legend"].split(" (")[0]: s["color"] for s in drawn["series"]}
    assert colours == {group: _report_charts.PALETTE[i]  # one colour per group, always
                       for i, group in enumerate(("noise", "blur", "weather", "digital"))}


def test_no_group_curves_without_image_corruptions(
        digits_result: robustcheck.RunResult) -> None:
    assert _report_charts._group_curves(digits_result) is None
    html = report.render_run(digits_result)
    assert 'id="curves-chart"' in html and "group-curves" not in html


# -- in a real browser ------------------------------------------------------------------


@pytest.mark.slow  # a real headless Chromium, twice (~8 s)
def test_chromium_draws_the_thumbnails_under_the_page_policy_and_axe_finds_nothing(
        digits_result: robustcheck.RunResult, tmp_path: Path) -> None:
    browser = pytest.importorskip("test_report_browser")
    if browser.BROWSER is None:
        pytest.skip("needs Chromium")
    page = tmp_path / "digits.html"
    page.write_text(report.render_run(digits_result), "utf-8")
    # The policy stays in: an image it refused would be a console error.
    _, console = browser.chromium(tmp_path, page, f"--screenshot={tmp_path / 'shot.png'}",
                                  "--hide-scrollbars", "--window-size=1280,2400")
    assert browser.console_problems(console) == []
    shot = browser.png_pixels(tmp_path / "shot.png")[..., :3]
    assert shot.shape[:2] == (2400, 1280)
    # The glance draws the first example's pictures: black digit backgrounds on white.
    assert (shot.max(axis=2) < 30).sum() > 48 * 48
    if not browser.AXE.is_file():
        pytest.skip("axe-core is not installed in tests/axe")
    seen = browser.layout(tmp_path, page, browser.AXE.read_text("utf-8"),
                          ("phone", *browser.PHONE, "all"), ("desktop", *browser.DESKTOP, ""))
    for name in ("phone", "desktop"):
        browser.assert_fits(seen[name], f"image run ({name})")
    assert browser.serious(seen["phone"]) == []
