"""Images (issue 15): the containers image perturbations take and give back, the pipeline
faults doing what they say, the image modality, the adapters for images, and a whole
audit of a scikit-learn model on the digits data set."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import perturbations
import robustcheck
from perturbations._image import raw_pixels
from robustcheck import adapters, modalities
from robustcheck.errors import InvalidArgument

PIL = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(15)
UINT8 = RNG.integers(0, 256, (6, 10, 14, 3), dtype=np.uint8)


def get(name: str) -> perturbations.Perturbation:
    return perturbations.get(name)


# -- containers ------------------------------------------------------------------------


@pytest.mark.parametrize("images", [
    UINT8,
    UINT8.astype(np.float32) / 255,
    UINT8.astype(np.float64),
    UINT8[..., 0],
    UINT8[..., :1],
    np.concatenate([UINT8, UINT8[..., :1]], axis=3),
], ids=["uint8", "float01", "float255", "gray", "gray1", "rgba"])
def test_a_batch_array_comes_back_with_its_shape_dtype_and_range(images):
    before = images.copy()
    out = get("exposure.under").apply(images, severity=1.0, seed=0)
    assert isinstance(out, np.ndarray)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.max() <= (1.0 if images.max() <= 1 else 255)
    assert not np.array_equal(out, images)
    np.testing.assert_array_equal(images, before)


def test_float_images_in_0_255_keep_their_range_and_uint8_is_rounded():
    img = np.full((1, 4, 4, 3), 200.0)
    out = get("exposure.under").apply(img, severity=1.0)  # gain 0.4
    np.testing.assert_allclose(out, 80.0, rtol=1e-5)
    out8 = get("exposure.under").apply(img.astype(np.uint8), severity=1.0)
    assert out8.dtype == np.uint8 and (out8 == 80).all()


def test_an_alpha_channel_is_set_aside_and_restored():
    rgba = np.concatenate([UINT8, RNG.integers(0, 256, (6, 10, 14, 1), dtype=np.uint8)], axis=3)
    out = get("exposure.over").apply(rgba, severity=1.0)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    assert not np.array_equal(out[..., :3], rgba[..., :3])


def test_grayscale_stays_grayscale():
    gray = UINT8[..., 0]
    out = get("occlusion.patch").apply(gray, severity=1.0, seed=1)
    assert out.shape == gray.shape


def test_a_list_of_images_of_different_sizes_comes_back_as_a_list():
    images = [UINT8[0], UINT8[1, :5, :7], UINT8[2, :, :, 0]]
    out = get("resize.down_up").apply(images, severity=1.0)
    assert isinstance(out, list) and [o.shape for o in out] == [i.shape for i in images]
    assert isinstance(get("resize.down_up").apply(tuple(images), severity=1.0), tuple)


def test_pil_images_and_paths_come_back_as_pil_images(tmp_path):
    rgb = PIL.fromarray(UINT8[0])
    gray = PIL.fromarray(UINT8[1, :, :, 0])
    path = tmp_path / "x.png"
    PIL.fromarray(UINT8[2]).save(path)
    out = get("exposure.under").apply([rgb, gray, path, str(path)], severity=1.0)
    assert [o.mode for o in out] == ["RGB", "L", "RGB", "RGB"]
    assert all(o.size == (14, 10) for o in out)
    assert np.array_equal(np.asarray(out[2]), np.asarray(out[3]))
    assert np.array_equal(np.asarray(rgb), UINT8[0])  # the input is untouched
    same = get("exposure.under").apply([path], severity=0.0)[0]
    np.testing.assert_array_equal(np.asarray(same), UINT8[2])


def test_one_image_is_perturbed_by_calling_the_perturbation():
    one = get("channels.bgr")(UINT8[0], severity=1.0, seed=0)
    np.testing.assert_array_equal(one, UINT8[0][:, :, ::-1])


@pytest.mark.parametrize(("inputs", "message"), [
    (UINT8[0, 0], "batch array is"),
    (np.zeros((2, 4, 4, 2), np.uint8), "channels"),
    ([np.zeros((4, 4), np.int64)], "dtype int64"),
    ([np.full((4, 4), -0.5)], "perturb before normalising"),
    ([np.full((4, 4), np.nan)], "finite"),
    ([np.zeros((0, 4))], "empty image"),
    ([3.5], "numpy arrays, PIL images or file paths"),
    (["missing.png"], "Pillow cannot read"),
    (PIL.fromarray(UINT8[0]), "takes a batch"),
])
def test_bad_image_inputs_raise_invalid_argument_naming_the_fix(inputs, message):
    with pytest.raises(perturbations.InvalidArgument, match=message):
        get("exposure.over").apply(inputs, severity=0.5)


# -- the contract ----------------------------------------------------------------------


def test_the_same_seed_gives_each_image_the_same_output_whatever_its_batch():
    p = get("sensor.dead_pixels")
    whole = p.apply(UINT8, severity=1.0, seed=3)
    perm = np.array([4, 0, 5, 2, 1, 3])
    shuffled = p.apply(UINT8[perm], severity=1.0, seed=3, indices=perm)
    np.testing.assert_array_equal(shuffled, whole[perm])
    alone = p(UINT8[4], severity=1.0, seed=3, index=4)
    np.testing.assert_array_equal(alone, whole[4])
    assert not np.array_equal(p.apply(UINT8, severity=1.0, seed=4), whole)


def test_severity_zero_returns_an_unchanged_copy():
    out = get("resize.wrong_size").apply(UINT8, severity=0.0)
    np.testing.assert_array_equal(out, UINT8)
    assert out is not UINT8 and not np.shares_memory(out, UINT8)


def test_a_function_that_does_not_apply_gives_the_input_back_bit_for_bit():
    images = [np.linspace(0, 0.9, 48, dtype=np.float64).reshape(4, 4, 3)[:, :, :1]]
    out = get("channels.bgr").apply(images, severity=1.0)  # grayscale: nothing to swap
    assert out[0].dtype == np.float64 and np.array_equal(out[0], images[0])


def test_a_function_returning_the_wrong_thing_is_a_registration_error():
    broken = perturbations.perturbation(
        name="broken.image", modality="image", expectation="invariant",
        description="Returns a scalar instead of an image.", severity="nothing",
        register=False)(lambda img, *, rng, severity: 0.0)
    with pytest.raises(perturbations.RegistrationError, match=r"broken\.image"):
        broken.apply(UINT8, severity=1.0)


def _brighten_batch(imgs: list[np.ndarray], *, draws: Any, severity: float
                    ) -> list[np.ndarray]:
    """A batch-form test perturbation: each image brightened by its own draw."""
    shift = draws.uniform(0) * severity * 0.5
    return [np.clip(img + np.float32(s), 0, 1) for img, s in zip(imgs, shift)]


BATCHED = perturbations.perturbation(
    name="test.brighten_batch", modality="image", expectation="invariant", batched=True,
    description="Brightens each image by a random amount.", severity="the largest shift",
    register=False)(_brighten_batch)


def test_a_batched_image_perturbation_gets_the_batch_and_keys_draws_per_image():
    whole = BATCHED.apply(UINT8, severity=1.0, seed=3)
    assert whole.shape == UINT8.shape and whole.dtype == np.uint8
    assert (whole.astype(int) >= UINT8).all() and (whole != UINT8).any()
    perm = np.array([4, 0, 5, 2, 1, 3])
    shuffled = BATCHED.apply(UINT8[perm], severity=1.0, seed=3, indices=perm)
    np.testing.assert_array_equal(shuffled, whole[perm])
    halves = [BATCHED.apply(UINT8[i:i + 3], severity=1.0, seed=3, indices=range(i, i + 3))
              for i in (0, 3)]
    np.testing.assert_array_equal(np.concatenate(halves), whole)
    np.testing.assert_array_equal(BATCHED.apply(UINT8, severity=0.0), UINT8)


def test_a_batched_image_perturbation_keeps_each_images_own_form():
    images = [UINT8[0], UINT8[1].astype(np.float32) / 255, UINT8[2, :5, :7, 0]]
    out = BATCHED.apply(images, severity=1.0, seed=1)
    assert [o.shape for o in out] == [i.shape for i in images]
    assert [o.dtype for o in out] == [i.dtype for i in images]
    assert out[1].max() <= 1.0


def test_a_batched_raw_pixel_perturbation_gets_the_images_as_given():
    seen: list[tuple[tuple[int, ...], str]] = []

    @perturbations.perturbation(
        name="test.raw_batch", modality="image", expectation="no-crash", batched=True,
        description="Flips each image upside down.", severity="none", register=False)
    @raw_pixels
    def flip(imgs: list[np.ndarray], *, draws: Any, severity: float) -> list[np.ndarray]:
        seen.extend((img.shape, img.dtype.str) for img in imgs)
        return [img[::-1] for img in imgs]

    out = flip.apply(UINT8, severity=1.0)
    np.testing.assert_array_equal(out, UINT8[:, ::-1])
    assert seen == [(UINT8.shape[1:], UINT8.dtype.str)] * len(UINT8)


@pytest.mark.parametrize("result", [[], "not a list", None])
def test_a_batched_image_perturbation_returning_the_wrong_count_is_a_registration_error(
        result: Any):
    broken = perturbations.perturbation(
        name="broken.batch", modality="image", expectation="invariant", batched=True,
        description="Returns the wrong thing for a batch.", severity="nothing",
        register=False)(lambda imgs, *, draws, severity: result)
    with pytest.raises(perturbations.RegistrationError, match=r"broken\.batch.*batch of 6"):
        broken.apply(UINT8, severity=1.0)


# -- the faults ------------------------------------------------------------------------


def test_channel_swap_reverses_the_channels_exactly():
    out = get("channels.bgr").apply(UINT8, severity=1.0)
    np.testing.assert_array_equal(out, UINT8[..., ::-1])


def test_rotating_by_180_twice_is_the_identity_and_90_changes_the_shape():
    p = get("orientation.rotate").configure(angle=180)
    once = p.apply(UINT8, severity=1.0)
    np.testing.assert_array_equal(once, UINT8[:, ::-1, ::-1])
    np.testing.assert_array_equal(p.apply(once, severity=1.0), UINT8)
    quarter = get("orientation.rotate").apply(UINT8, severity=1.0, angle=90)
    assert quarter.shape == (6, 14, 10, 3)
    with pytest.raises(perturbations.InvalidArgument, match="angle must be 90, 180 or 270"):
        get("orientation.rotate").apply(UINT8, severity=1.0, angle=45)


def test_a_share_of_images_is_hit_and_a_higher_severity_hits_a_superset():
    images = RNG.integers(0, 256, (200, 4, 4, 3), dtype=np.uint8)
    hit = {s: ~(get("orientation.mirror").apply(images, severity=s, seed=0) == images).all(
        axis=(1, 2, 3)) for s in (0.25, 0.5)}
    assert 0.15 < hit[0.25].mean() < 0.35 and 0.4 < hit[0.5].mean() < 0.6
    assert not (hit[0.25] & ~hit[0.5]).any()


def test_rotated_non_square_images_come_back_as_a_list():
    out = get("orientation.rotate").apply(UINT8, severity=0.5, seed=0)
    assert isinstance(out, list) and {o.shape for o in out} == {(10, 14, 3), (14, 10, 3)}


def test_grayscale_gives_equal_channels():
    out = get("color.grayscale").apply(UINT8, severity=1.0)
    assert (np.abs(out[..., 0].astype(int) - out[..., 2]) <= 1).all()


def test_value_range_faults_scale_by_255_in_the_input_dtype():
    floats = UINT8.astype(np.float32) / 255
    divided = get("value_range.divided_twice").apply(floats, severity=1.0)
    np.testing.assert_allclose(divided, floats / 255, rtol=1e-6)
    multiplied = get("value_range.multiplied_twice").apply(floats, severity=1.0)
    np.testing.assert_allclose(multiplied, floats * 255, rtol=1e-5)
    saturated = get("value_range.multiplied_twice").apply(UINT8, severity=1.0)
    assert saturated.dtype == np.uint8 and set(np.unique(saturated)) <= {0, 255}


def test_the_alpha_fault_adds_an_opaque_fourth_channel():
    out = get("channels.alpha_added").apply(UINT8, severity=1.0)
    assert out.shape == (6, 10, 14, 4) and (out[..., 3] == 255).all()
    np.testing.assert_array_equal(out[..., :3], UINT8)
    pil = get("channels.alpha_added").apply([PIL.fromarray(UINT8[0])], severity=1.0)[0]
    assert pil.mode == "RGBA"


def test_geometry_faults_keep_the_size_and_wrong_size_does_not():
    for name in ("resize.nearest", "resize.down_up", "resize.stretch", "framing.letterbox",
                 "framing.center_crop"):
        out = get(name).apply(UINT8, severity=1.0, seed=0)
        assert out.shape == UINT8.shape and not np.array_equal(out, UINT8), name
    assert get("resize.wrong_size").apply(UINT8, severity=1.0).shape == (6, 15, 21, 3)
    box = get("framing.letterbox").apply(np.full((1, 10, 10, 3), 255, np.uint8), severity=1.0)
    assert (box[0, 0] == 0).all() and (box[0, 5, 5] == 255).all()


def test_jpeg_quality_falls_with_severity():
    images = RNG.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    errors = [np.abs(get("compression.jpeg").apply(images, severity=s).astype(int) - images)
              .mean() for s in (0.25, 1.0)]
    assert 0 < errors[0] < errors[1]


def test_occlusion_and_dead_pixels_grow_with_severity():
    images = np.full((20, 32, 32, 3), 128, np.uint8)
    for name in ("occlusion.patch", "sensor.dead_pixels"):
        shares = [(get(name).apply(images, severity=s, seed=2) != 128).mean()
                  for s in (0.25, 0.5, 1.0)]
        assert 0 < shares[0] < shares[1] < shares[2], (name, shares)


# -- the modality ----------------------------------------------------------------------


def test_image_inputs_pick_the_image_modality_and_texts_stay_text(tmp_path):
    path = tmp_path / "a.png"
    PIL.fromarray(UINT8[0]).save(path)
    for inputs in (UINT8, UINT8[..., 0], list(UINT8), [PIL.fromarray(UINT8[0])], [path],
                   [str(path)]):
        assert modalities.for_inputs(inputs).name == "image"
    assert modalities.for_inputs(["a text", "photo.png"]).name == "text"
    assert modalities.for_inputs(np.array(["a", "b"])).name == "text"


@pytest.mark.parametrize(("inputs", "message"), [
    ([UINT8[0], PIL.fromarray(UINT8[1])], "mixes PIL image, array"),
    ([UINT8[0], UINT8[1].astype(np.float32)], "mixes the dtypes"),
    (UINT8[:0], "inputs is empty"),
])
def test_a_run_rejects_mixed_or_empty_images(inputs, message):
    with pytest.raises(InvalidArgument, match=message):
        robustcheck.run(lambda batch: [0] * len(batch), inputs, perturbations="image",
                        progress=False)


@pytest.mark.parametrize("attack", ["attack.text", "attack.tabular"])
def test_an_attack_on_images_is_refused_before_the_run_naming_the_image_catalogue(attack):
    calls: list[int] = []

    def model(batch: Any) -> list[int]:
        calls.append(len(batch))
        return [0] * len(batch)

    with pytest.raises(robustcheck.errors.ModalityMismatch, match="--modality image"):
        robustcheck.run(model, UINT8, [0] * len(UINT8), perturbations=[attack],
                        progress=False)
    assert calls == []


def _counting_model(calls: list[int]) -> Any:
    def model(batch: Any) -> list[int]:
        calls.append(len(batch))
        return [int(np.asarray(image).mean() > 127) for image in batch]
    return model


def test_without_pillow_a_suite_leaves_out_the_jpeg_perturbations_with_a_warning(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now fails
    assert get("digital.jpeg").missing() == {"PIL": 'pip install "robustcheck[image]"'}
    with pytest.warns(robustcheck.errors.RobustcheckWarning,
                      match=r"compression\.jpeg.*digital\.jpeg.*robustcheck\[image\]"):
        result = robustcheck.run(_counting_model([]), UINT8, [0] * len(UINT8),
                                 perturbations="image", severities=(0.5,), progress=False)
    names = {row.perturbation for row in result.rows}
    assert "digital.jpeg" not in names and "compression.jpeg" not in names
    assert {"blur.glass", "channels.bgr"} <= names


@pytest.mark.parametrize("asked", [["digital.jpeg"], ["blur.glass", "compression.jpeg"],
                                   "digital"])
def test_without_pillow_a_jpeg_perturbation_asked_for_is_refused_before_any_call(
        monkeypatch: pytest.MonkeyPatch, asked: Any):
    monkeypatch.setitem(sys.modules, "PIL", None)
    calls: list[int] = []
    with pytest.raises(ImportError, match=r"jpeg.*PIL \(pip install \"robustcheck\[image\]\"\)"):
        robustcheck.run(_counting_model(calls), UINT8, [0] * len(UINT8), perturbations=asked,
                        progress=False)
    assert calls == []


def test_a_suite_left_with_nothing_to_run_is_refused_too(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    jpegs = [get("digital.jpeg"), get("compression.jpeg")]
    monkeypatch.setattr(perturbations, "select", lambda spec: list(jpegs))  # a suite of two
    with pytest.raises(ImportError, match=r"compression\.jpeg.*digital\.jpeg"):
        robustcheck.run(_counting_model([]), UINT8, perturbations="image", progress=False)


def test_with_pillow_nothing_is_missing():
    assert get("digital.jpeg").missing() == {} and get("blur.glass").missing() == {}
    assert dict(get("compression.jpeg").requires) == {"PIL": 'pip install "robustcheck[image]"'}


def test_augment_makes_labelled_image_copies_in_the_input_form_deterministically():
    labels = np.arange(len(UINT8)) % 2
    first = robustcheck.augment(UINT8, labels, perturbations="image", size=2.0, seed=4)
    again = robustcheck.augment(UINT8, labels, perturbations="image", size=2.0, seed=4)
    images, ys = first
    assert isinstance(images, np.ndarray) and images.dtype == np.uint8
    assert images.shape == (2 * len(UINT8), *UINT8.shape[1:])
    where = first.sources["source_index"].to_numpy()
    np.testing.assert_array_equal(ys, labels[where])
    np.testing.assert_array_equal(images, again.inputs)
    for image, source in zip(images, where):
        assert not np.array_equal(image, UINT8[source])
    names = {p.name for p in perturbations.catalogue(modality="image")}
    assert {row["perturbation"] for row in first.plan} <= names


def test_the_modality_keys_and_changes_follow_the_pixels():
    image = modalities.get("image")
    data, _, _ = image.prepare(UINT8, None)
    assert data is not UINT8
    after = data.copy()
    after[2, 0, 0, 0] ^= 1
    assert image.changed(data, after).tolist() == [False, False, True, False, False, False]
    keys = image.keys([*data, data[0].copy()], np.arange(7))
    assert keys.dtype == np.uint64 and keys[0] == keys[6] and len(set(keys[:6])) == 6
    listed = image.changed(list(data), [*after[:5], after[5, :, :, 0]])
    assert listed.tolist() == [False, False, True, False, False, True]
    shown = image.show(data, 0)
    assert shown["image"] == "10×14×3 uint8" and json.dumps(shown)


# -- adapters --------------------------------------------------------------------------


def test_flatten_reshapes_image_batches_for_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    images = RNG.integers(0, 256, (40, 4, 4), dtype=np.uint8)
    labels = (images.mean(axis=(1, 2)) > 127).astype(int)
    model = LogisticRegression(max_iter=500).fit(images.reshape(40, -1), labels)
    adapter = adapters.adapt(model, flatten=True)
    assert adapter.describe()["flatten"] is True
    np.testing.assert_array_equal(adapter.predict(images).labels,
                                  model.predict(images.reshape(40, -1)))
    np.testing.assert_array_equal(adapter.predict(list(images)).labels,
                                  model.predict(images.reshape(40, -1)))
    with pytest.raises(ValueError, match="images of one size"):
        adapter.predict([images[0], images[1, :3]])
    with pytest.raises(InvalidArgument, match="flatten"):
        adapters.adapt("http://localhost:1/x", flatten=True)
    with pytest.raises(InvalidArgument, match="flatten must be True or False"):
        adapters.adapt(model, flatten=1)


class FakeImagePipeline:
    """Follows the call contract of transformers' ImageClassificationPipeline (4.x): a
    list of PIL images in, a list (one per image) of ``top_k`` {"label", "score"} dicts
    sorted by score out; ``top_k`` defaults to 5."""

    __module__ = "transformers.pipelines.image_classification"
    task = "image-classification"

    class model:  # mirrors pipe.model.config.id2label
        name_or_path = "fake/brightness"

        class config:
            id2label: ClassVar[dict[int, str]] = {0: "dark", 1: "bright"}

    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], dict[str, Any]]] = []

    def __call__(self, images: list[Any], top_k: int = 5) -> list[list[dict[str, Any]]]:
        self.calls.append((images, {"top_k": top_k}))
        out = []
        for image in images:
            assert isinstance(image, PIL.Image), type(image)
            bright = float(np.asarray(image).mean()) / 255
            ranked = sorted([("dark", 1 - bright), ("bright", bright)], key=lambda x: -x[1])
            out.append([{"label": k, "score": v} for k, v in ranked[:top_k]])
        return out


def test_an_image_classification_pipeline_gets_pil_images_and_every_score():
    pipe = FakeImagePipeline()
    adapter = adapters.adapt(pipe)
    images = np.stack([np.full((4, 4, 3), 20, np.uint8), np.full((4, 4, 3), 230, np.uint8)])
    pred = adapter.predict(images)
    assert pred.labels.tolist() == ["dark", "bright"]
    assert pred.scores.shape == (2, 2) and not np.isnan(pred.scores).any()
    assert pipe.calls[0][1] == {"top_k": 2}
    floats = adapter.predict([np.full((4, 4), 0.9, np.float32)])
    assert floats.labels.tolist() == ["bright"]


def test_a_real_image_classification_pipeline_built_offline():
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    config = transformers.ViTConfig(image_size=8, patch_size=4, num_channels=3, hidden_size=8,
                                    num_hidden_layers=1, num_attention_heads=2,
                                    intermediate_size=8, num_labels=2,
                                    id2label={0: "a", 1: "b"}, label2id={"a": 0, "b": 1})
    model = transformers.ViTForImageClassification(config).eval()
    processor = transformers.ViTImageProcessor(size={"height": 8, "width": 8})
    pipe = transformers.pipeline("image-classification", model=model,
                                 image_processor=processor)
    pred = adapters.adapt(pipe).predict(UINT8[:3])
    assert len(pred.labels) == 3 and set(pred.labels.tolist()) <= {"a", "b"}
    np.testing.assert_allclose(pred.scores.sum(axis=1), 1.0, rtol=1e-4)


# -- end to end ------------------------------------------------------------------------


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images * (255 / 16)).round().astype(np.uint8), d.target


def test_an_audit_of_a_digits_classifier_runs_saves_compares_and_renders(tmp_path: Path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    images, target = digits()
    train, test, labels = images[:800], images[800:1000], target[800:1000]
    flat = train.reshape(len(train), -1)
    svc = SVC(gamma=0.001 * (16 / 255) ** 2).fit(flat, target[:800])  # sklearn's digits example
    logistic = LogisticRegression(max_iter=2000).fit(flat, target[:800])
    chosen = ["channels.bgr", "orientation.rotate", "resize.wrong_size", "exposure.under",
              "occlusion.patch"]
    a = robustcheck.run(adapters.adapt(svc, flatten=True), test, labels,
                        perturbations=chosen, severities=(0.5, 1.0), seed=0, progress=False,
                        name="svc")
    assert a.data["modality"] == "image"
    assert a["exposure.under"][1].metrics["accuracy_clean"].value > 0.9
    assert a["channels.bgr"][1].metrics["coverage"].value == 0  # grayscale: nothing to swap
    assert a["orientation.rotate"][1].metrics["flip_rate"].value > 0.3
    assert a["resize.wrong_size"][1].metrics["crash_rate"].value == 1.0
    a.to_json(tmp_path / "a.json")
    loaded = robustcheck.load(tmp_path / "a.json")
    assert loaded.table() == a.table()
    b = robustcheck.run(adapters.adapt(logistic, flatten=True), test, labels,
                        perturbations=chosen, severities=(0.5, 1.0), seed=0, progress=False,
                        name="logistic")
    comparison = robustcheck.compare(loaded, b)
    assert len(comparison.rows) == 10
    assert "orientation.rotate" in comparison.to_html(tmp_path / "c.html").read_text("utf-8")
    html = a.to_html(tmp_path / "a.html").read_text("utf-8")
    shown = a.examples["orientation.rotate"][0]
    assert shown["input"]["image"] == "8×8 uint8" and json.dumps(shown)
    assert "orientation.rotate" in html and "<td>digest</td>" in html
    again = robustcheck.run(adapters.adapt(svc, flatten=True), test, labels,
                            perturbations=chosen, severities=(0.5, 1.0), seed=0,
                            progress=False, name="svc", batch_size=7)
    assert again.data["fingerprint"] == a.data["fingerprint"]
    assert [r.labels.tolist() for r in again.rows] == [r.labels.tolist() for r in a.rows]


def test_the_image_suite_is_selected_by_the_modality_name():
    names = [p.name for p in perturbations.select("image")]
    assert {"channels.bgr", "orientation.rotate", "compression.jpeg"} <= set(names)
    assert all(perturbations.get(n).modality == "image" for n in names)


def brightness(batch: Any) -> list[int]:
    """A model of PIL images only: bright (1) or dark (0)."""
    assert all(isinstance(x, PIL.Image) for x in batch), [type(x) for x in batch]
    return [int(np.asarray(x).mean() > 127) for x in batch]


def test_runs_on_pil_images_and_on_files_call_the_model_with_pil_images(tmp_path):
    arrays = [RNG.integers(0, 256, (8 + i % 3, 9, 3), dtype=np.uint8) for i in range(30)]
    paths = []
    for i, a in enumerate(arrays):
        paths.append(tmp_path / f"{i}.png")
        PIL.fromarray(a).save(paths[-1])
    labels = brightness([PIL.fromarray(a) for a in arrays])
    chosen = ["exposure.over", "orientation.rotate"]
    on_pil = robustcheck.run(brightness, [PIL.fromarray(a) for a in arrays], labels,
                             perturbations=chosen, severities=[1.0], progress=False)
    on_files = robustcheck.run(brightness, paths, labels, perturbations=chosen,
                               severities=[1.0], progress=False)
    assert on_pil.data["modality"] == on_files.data["modality"] == "image"
    assert on_pil.data["fingerprint"] == on_files.data["fingerprint"]
    assert [r.labels.tolist() for r in on_pil.rows] == [r.labels.tolist() for r in on_files.rows]
    assert on_pil["exposure.over"][0].metrics["flip_rate"].value > 0
    assert on_pil["orientation.rotate"][0].metrics["flip_rate"].value == 0
    assert on_pil["orientation.rotate"][0].metrics["crash_rate"].value == 0


def test_a_run_on_images_of_different_sizes_with_a_pipeline(tmp_path):
    images = [RNG.integers(0, 256, (6 + i % 4, 7, 3), dtype=np.uint8) for i in range(24)]
    pipe = FakeImagePipeline()
    labels = adapters.adapt(pipe).predict(images).labels
    result = robustcheck.run(pipe, images, labels, perturbations=["exposure.under"],
                             severities=[1.0], progress=False)
    assert result.data["modality"] == "image"
    assert result["exposure.under"][0].metrics["confidence_drop"].value != 0
