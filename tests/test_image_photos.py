"""scikit-learn's sample photographs in the demo and the example: tiles, model, report.

The photographs need Pillow (scikit-learn reads the JPEGs with it); the quick start's
``pip install ".[sklearn]"`` has none, so the demo must skip them and say why.
"""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import robustcheck
from robustcheck import demo
from robustcheck._thumbnails import thumbnail
from robustcheck.errors import InvalidArgument

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "image_photos.py"
URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def png_header(uri_body: str) -> tuple[int, int, int]:
    """Width, height and colour type (2: RGB) from a PNG's IHDR chunk."""
    png = base64.b64decode(uri_body)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height, png[25]


def photo_thumbnails(html: str) -> list[str]:
    return [f"data:image/png;base64,{body}" for body in URI.findall(html)]


# -- tiles and model ----------------------------------------------------------------------


def test_the_tiles_are_the_same_for_a_seed_and_differ_across_seeds() -> None:
    tiles, labels = demo.photo_tiles(0, per_photo=10, side=32)
    again, again_labels = demo.photo_tiles(0, per_photo=10, side=32)
    other, _ = demo.photo_tiles(1, per_photo=10, side=32)
    assert tiles.shape == (20, 32, 32, 3) and tiles.dtype == np.uint8
    assert np.array_equal(tiles, again) and list(labels) == list(again_labels)
    assert not np.array_equal(tiles, other)
    assert sorted(labels) == ["china"] * 10 + ["flower"] * 10
    assert len({t.tobytes() for t in tiles}) == 20  # distinct crops, not one repeated
    assert tiles.std() > 20  # photographs, not flat colour


def test_each_tile_is_a_crop_of_its_own_photograph() -> None:
    from sklearn.datasets import load_sample_images

    data = load_sample_images()
    photos = {Path(f).stem: image for f, image in zip(data.filenames, data.images)}
    tiles, labels = demo.photo_tiles(3, per_photo=4, side=16)
    for tile, label in zip(tiles, labels):
        assert crop_found(photos[str(label)], tile) or crop_found(photos[str(label)],
                                                                 tile[:, ::-1]), label


def crop_found(photo: np.ndarray, tile: np.ndarray) -> bool:
    """Whether ``tile`` is a window of ``photo``: every top-left pixel that matches, checked."""
    side = tile.shape[0]
    corners = photo[:photo.shape[0] - side + 1, :photo.shape[1] - side + 1]
    tops, lefts = np.nonzero((corners == tile[0, 0]).all(axis=2))
    return any(np.array_equal(photo[y:y + side, x:x + side], tile)
               for y, x in zip(tops, lefts))


@pytest.mark.parametrize(("argument", "value"), [
    ("per_photo", 0), ("per_photo", 2.5), ("per_photo", True),
    ("side", 0), ("side", 428), ("side", "64"),
])
def test_bad_tile_arguments_raise_an_error_naming_them(argument: str, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=f"{argument}="):
        demo.photo_tiles(0, **{argument: value})


def test_the_model_tells_the_photographs_apart_on_held_out_tiles() -> None:
    for seed in (0, 1):
        train, labels, held, held_labels = demo.photo_split(seed)
        assert len(held) == len(train) // 3 == 2 * demo.PHOTO_TILES // 4
        model = demo.photo_model(train, labels)
        predicted = model.predict(held.reshape(len(held), -1))
        assert np.mean(predicted == held_labels) >= 0.9, seed
        assert set(predicted) == set(demo.PHOTOS)  # not one class for every tile


def test_the_model_crashes_on_four_channel_tiles_as_a_real_one_would() -> None:
    train, labels, held, _ = demo.photo_split(0)
    model = demo.photo_model(train, labels)
    rgba = np.concatenate([held, np.full((*held.shape[:3], 1), 255, np.uint8)], axis=3)
    with pytest.raises(ValueError, match="square RGB tiles"):
        model.predict(rgba.reshape(len(rgba), -1))


# -- the demo -----------------------------------------------------------------------------


def test_the_demo_writes_a_photographs_report_whose_thumbnails_are_the_tiles(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    files: dict[str, Path] = {}
    results: dict[str, Any] = {}
    result = demo.photo_section(tmp_path, seed=0, progress=False, say=said.append,
                                files=files, results=results)
    assert result is not None and results[demo.PHOTO_MODEL] is result
    assert result.clean["accuracy"]["value"] >= 0.9
    assert {r.family for r in result.rows} == set(demo.PHOTO_PERTURBATIONS)
    assert robustcheck.load(files["photos json"]).score == result.score
    uris = photo_thumbnails(files["photos report"].read_text("utf-8"))
    assert len(uris) >= 20
    headers = [png_header(u.split(",", 1)[1]) for u in uris]
    assert all(w > 8 and h > 8 for w, h, _ in headers)
    assert max(w for w, _, _ in headers) == demo.PHOTO_SIDE
    assert {kind for _, _, kind in headers} == {2}  # RGB: colour photographs
    _, _, held, _ = demo.photo_split(0)
    assert {thumbnail(t) for t in held} & set(uris)  # the clean side: a held-out tile
    assert demo.photo_summary(result).startswith("Photographs (40 held-out 64x64 tiles")


def test_without_pillow_the_vision_section_skips_the_photographs_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    # the digits part is not under test (the slow whole-demo test in test_augment.py runs
    # it at full size): 10 held-out digits are enough to write its reports
    monkeypatch.setattr(demo, "DIGITS_AUDIT", 10)
    said: list[str] = []
    files: dict[str, Path] = {}
    vision = demo.vision_section(tmp_path, seed=0, progress=False, say=said.append,
                                 files=files)
    assert vision.photos is None
    assert said.count(demo.NEEDS_IMAGE_EXTRA) == 1 and "\n" not in demo.NEEDS_IMAGE_EXTRA
    assert 'pip install "robustcheck[image]"' in demo.NEEDS_IMAGE_EXTRA
    assert not any("Training a colour classifier" in line for line in said)
    assert "photos report" not in files and files["digits comparison report"].is_file()
    assert not list(tmp_path.glob(f"{demo.PHOTO_MODEL}*"))
    assert "Photographs: skipped" in vision.summary()
    with pytest.raises(ImportError):  # what the section would have hit
        demo.photo_tiles(0)


# -- the example --------------------------------------------------------------------------


@pytest.mark.slow  # the whole image suite on 100 tiles of 96x96 (~30 s)
def test_the_photographs_example_audits_an_accurate_model_and_writes_its_report(
    tmp_path: Path,
) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    accuracy = re.search(r"clean accuracy ([\d.]+)%, robustness score ([\d.]+)", done.stdout)
    assert accuracy is not None, done.stdout
    assert float(accuracy[1]) >= 90
    result = robustcheck.load(tmp_path / "photos-logistic.json")
    assert result.n == 100 and str(result.score) == accuracy[2]
    assert {"weather", "blur", "image_noise", "digital", "resize"} <= {
        r.family for r in result.rows}
    html = (tmp_path / "photos-logistic.html").read_text("utf-8")
    sizes = [png_header(u.split(",", 1)[1])[:2] for u in photo_thumbnails(html)]
    assert sizes and max(w for w, _ in sizes) == 96
    assert "  weather " in done.stdout  # the per-family lines
