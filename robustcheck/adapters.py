"""Model adapters: one way to ask any model for predictions.

The runner talks to every model through one method, :meth:`Adapter.predict`, which takes
a batch of inputs and returns a :class:`Prediction`. Keeping the contract that small lets
a scikit-learn estimator, a Hugging Face pipeline, a plain function and a model behind
an HTTP endpoint be audited by the same code, and lets a user plug in anything else by
writing one method. :func:`adapt` picks the adapter from the object's shape (duck
typing): scikit-learn, pandas and transformers are never imported here.

How a model's outputs are read (labels, score arrays, dicts, floats) is documented, and
done, in :mod:`robustcheck._prediction`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from robustcheck.errors import InvalidArgument, ModelOutputError

from . import tasks
from ._adapter_base import (
    Adapter,
    _check_classes,
    _check_task,
    _describe_object,
    _did_you_mean,
    _length,
)
from ._chat import ChatCompletions
from ._generated import Generated, read_generated
from ._http_adapter import HTTPAdapter, _is_url
from ._prediction import (
    _HF_TASKS,
    _SKLEARN_METHODS,
    Prediction,
    _build,
    _from_scores,
    _is_pandas,
    _label_array,
    _output_items,
    _require_finite,
    _snip,
)
from ._response_cache import ResponseCache

__all__ = [
    "Adapter",
    "CallableAdapter",
    "ChatCompletions",
    "Generated",
    "HTTPAdapter",
    "PipelineAdapter",
    "Prediction",
    "ResponseCache",
    "SklearnAdapter",
    "adapt",
]


# ------------------------------------------------------------------------- adapters
# Adapter (the base class) is in _adapter_base and HTTPAdapter in _http_adapter, so that
# both can be imported without this module; all are public here.


class CallableAdapter(Adapter):
    """A plain function as a model.

    ``batched=True`` calls ``fn(batch)`` once per predict call with a list (a DataFrame or
    array is passed through as is); ``batched=False`` calls ``fn(x)`` per input (rows of a
    DataFrame arrive as ``{column: value}`` dicts). Outputs are read by the rules in the
    module docstring; ``classes`` names the columns of score arrays.
    """

    kind = "callable"

    def __init__(self, fn: Callable[..., Any], *, batched: bool = True, task: str | None = None,
                 classes: Sequence[Any] | None = None, flatten: bool = False) -> None:
        if not callable(fn):
            raise InvalidArgument(f"fn must be callable; got {type(fn).__name__} {_snip(fn)}")
        if not isinstance(batched, bool):
            raise InvalidArgument(f"batched must be True or False; got {batched!r}")
        self.fn = fn
        self.batched = batched
        self.task = _check_task(task)
        self.classes = _check_classes(classes)
        self.flatten = _check_flatten(flatten, batched)

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return self._empty()
        name = self._fn_name()
        if self.batched:
            raw = self.fn(flat_images(inputs) if self.flatten else _as_batch(inputs))
            source, hint = f"model function {name}", " (pass batched=False to call it per input)"
        else:
            raw = [self.fn(x) for x in _items(inputs)]
            source, hint = f"model function {name} (called per input)", ""
        return self._read(raw, n, classes=self.classes, source=source, hint=hint)

    def _fn_name(self) -> str:
        """The function's name as errors give it, read (from modules and attributes)
        once per function rather than at each of an audit's thousands of calls."""
        named = getattr(self, "_named", None)
        if named is None or named[0] is not self.fn:
            named = self._named = (self.fn, _describe_object(self.fn)["class"])
        return named[1]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **_describe_object(self.fn), "task": self.task,
                "batched": self.batched, **({"flatten": True} if self.flatten else {})}


class SklearnAdapter(Adapter):
    """A scikit-learn style estimator (Pipelines included), read through one response method.

    The method is ``predict_proba`` if available, else ``decision_function``, else
    ``predict`` (``method=`` overrides). "Available" means the attribute exists on the
    estimator and on a Pipeline's final step, and calling it does not raise an
    AttributeError or NotImplementedError that names it (old SVC without probability);
    the method that first answers is kept, so clean and perturbed inputs are scored alike.

    Score columns follow ``classes_``. ``decision_function`` margins are squashed to look
    like probabilities: a binary margin d becomes ``[logistic(-d), logistic(d)]`` with the
    label ``classes_[d > 0]`` (the estimator's own ``predict`` rule), several columns go
    through a softmax with the label at the largest margin. They are monotone in the
    margins, not calibrated. Regressors (by their scikit-learn tags) give ``values``.
    The batch is passed as given: a list of strings for text pipelines, a DataFrame for
    tabular ones; ``flatten=True`` reshapes a batch of images to ``(N, H * W * C)`` first
    (see :func:`flat_images`).
    """

    kind = "sklearn"

    def __init__(self, estimator: Any, *, task: str | None = None,
                 method: str | None = None, flatten: bool = False) -> None:
        self.estimator = estimator
        self.flatten = _check_flatten(flatten, True)
        self.task = _check_task(task) or _sklearn_task(estimator)
        scored = self.task is None or tasks.get(self.task).scored
        available = [m for m in _SKLEARN_METHODS if _has_method(estimator, m)]
        if method is not None:
            if method not in _SKLEARN_METHODS:
                raise InvalidArgument(f"method must be one of {list(_SKLEARN_METHODS)}; got "
                                      f"{method!r}{_did_you_mean(method, _SKLEARN_METHODS)}")
            if method not in available:
                raise InvalidArgument(f"method={method!r}, but {type(estimator).__name__} has no "
                                      f"usable {method}; it offers {available}")
            if not scored and method != "predict":
                raise InvalidArgument(f"method={method!r} makes no sense for a {self.task} "
                                      "model, which has no class scores; use 'predict' or "
                                      "leave method=None")
        candidates = available if scored else ["predict"]
        if method is None and not candidates:
            raise InvalidArgument(f"{type(estimator).__name__} has none of "
                                  f"{list(_SKLEARN_METHODS)}")
        self._candidates = [method] if method else candidates
        self.method: str | None = method or (candidates[0] if len(candidates) == 1 else None)

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return self._empty()
        if self.method is not None:
            return self._call(self.method, inputs, n)
        error: BaseException | None = None
        for name in self._candidates:
            try:
                pred = self._call(name, inputs, n)
            except (AttributeError, NotImplementedError) as err:
                if isinstance(err, AttributeError) and name not in str(err):
                    raise  # a bug or a bad input inside the model, not a missing method
                error = err
                continue
            self.method = name
            return pred
        raise error if error is not None else RuntimeError("no response method tried")

    def _call(self, name: str, inputs: Sequence[Any], n: int) -> Prediction:
        out = getattr(self.estimator, name)(flat_images(inputs) if self.flatten else inputs)
        source = f"{type(self.estimator).__name__}.{name}"
        if name == "predict":
            return self._read(out, n, classes=None, source=source)
        _output_items(out, n, source, "")
        classes = getattr(self.estimator, "classes_", None)
        classes = None if classes is None else _label_array(classes, "classes_")
        if name == "predict_proba":
            return self._learn(_from_scores(out, classes, n, source))
        return self._learn(_from_decision(out, classes, n, source))

    def describe(self) -> dict[str, Any]:
        info = {"kind": self.kind, **_describe_object(self.estimator), "task": self.task,
                "method": self.method, **({"flatten": True} if self.flatten else {})}
        steps = getattr(self.estimator, "steps", None)
        if isinstance(steps, list):
            info["steps"] = [[str(s[0]), _describe_object(s[1])["class"]] for s in steps
                             if isinstance(s, tuple) and len(s) == 2]
        return info


def _from_decision(out: Any, classes: np.ndarray | None, n: int, source: str) -> Prediction:
    try:
        margins = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise ModelOutputError(f"{source} returned non-numeric margins: {_snip(out)}") from None
    _require_finite(margins, "margin", source)
    if margins.ndim == 2 and margins.shape[1] == 1:
        margins = margins[:, 0]
    if margins.ndim == 1:
        cls = np.array([0, 1]) if classes is None else classes
        if len(cls) != 2:
            raise ModelOutputError(f"{source} returned one margin per input, which means two "
                                   f"classes, but classes_ has {len(cls)}")
        scores = np.column_stack([_logistic(-margins), _logistic(margins)])
        return _build(n, source, labels=cls[(margins > 0).astype(np.intp)], scores=scores,
                      classes=cls)
    shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
    return _from_scores(shifted / shifted.sum(axis=1, keepdims=True), classes, n, source)


def _logistic(x: np.ndarray) -> np.ndarray:
    # exp of -|x| only: no overflow, and full relative precision in the far tails
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sklearn_task(estimator: Any) -> str | None:
    try:
        kind = estimator.__sklearn_tags__().estimator_type  # scikit-learn >= 1.6
    except Exception:  # older versions, duck-typed or third-party estimators with odd tags
        kind = getattr(estimator, "_estimator_type", None)
    return {"regressor": tasks.REGRESSION.name, "classifier": tasks.CLASSIFICATION.name}.get(kind)


def _has_method(estimator: Any, name: str) -> bool:
    if not callable(getattr(estimator, name, None)):
        return False
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        final = steps[-1][-1]
        if final is not None and final != "passthrough":
            return _has_method(final, name)
    return True


class PipelineAdapter(Adapter):
    """A Hugging Face ``transformers`` text-classification or image-classification
    pipeline, or one that writes text (``text-generation``, ``text2text-generation``,
    ``summarization``: the ``generation`` task, one text per prompt; ``text-generation``
    is called with ``return_full_text=False``, so the answer does not repeat the prompt).

    Calls ``pipe(texts, top_k=None)``, which returns every label's score per text, so
    ``scores`` are complete, in the order of ``model.config.id2label``. A pipeline too old
    to know ``top_k`` (a TypeError naming it) is called as ``pipe(texts)`` from then on; it
    returns the top label and its score only, so each row holds its own label's score and
    NaN elsewhere: ``confidence`` is exact, ``score_of(clean_labels)`` is known only where
    the label did not change. ``call_kwargs`` (``batch_size=``, ``truncation=``...) are
    passed on every call.

    An ``image-classification`` pipeline is called with PIL images (arrays are converted
    by :func:`pil_images`) and ``top_k`` set to the number of labels in
    ``model.config.id2label``, so that every label's score comes back (its default is 5);
    without ``id2label`` it returns its default top labels, the others' scores are NaN.
    """

    kind = "transformers"

    def __init__(self, pipe: Any, **call_kwargs: Any) -> None:
        if not _is_hf_pipeline(pipe):
            raise InvalidArgument(f"pipe must be a transformers pipeline; got "
                                  f"{type(pipe).__name__}")
        if pipe.task not in (*_HF_TASKS, IMAGE_TASK, *GENERATION_PIPELINES):
            raise InvalidArgument(f"pipe is a {pipe.task!r} pipeline; PipelineAdapter reads "
                                  f"{[*_HF_TASKS, IMAGE_TASK, *GENERATION_PIPELINES]} "
                                  "pipelines. Wrap others in a function returning labels (or "
                                  "texts) and pass that function instead")
        self.pipe = pipe
        self.call_kwargs = call_kwargs
        if pipe.task in GENERATION_PIPELINES:
            self.task = tasks.GENERATION.name
            if pipe.task in _ECHOING_PIPELINES:  # the answer, not the prompt and the answer
                self.call_kwargs = {"return_full_text": False, **call_kwargs}
            self.classes = None
            self.all_scores = False
            return
        self.task = tasks.CLASSIFICATION.name
        self.classes = _hf_classes(pipe)
        self.all_scores = True

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        if self.pipe.task == IMAGE_TASK:
            return self._predict_images(inputs)
        if self.pipe.task in GENERATION_PIPELINES:
            return self._generate(inputs)
        texts = list(inputs)
        if not texts:
            return self._empty()
        raw = None
        if self.all_scores:
            try:
                raw = self.pipe(texts, top_k=None, **self.call_kwargs)
            except TypeError as err:
                if "top_k" not in str(err):
                    raise
                self.all_scores = False
        if raw is None:
            raw = self.pipe(texts, **self.call_kwargs)
        return self._read(raw, len(texts), classes=self.classes,
                          source=f"transformers pipeline {_hf_model_name(self.pipe)}")

    def _generate(self, inputs: Sequence[Any]) -> Prediction:
        """A text-generation, text2text-generation or summarization pipeline: one text
        per prompt, read from ``generated_text`` / ``summary_text`` (the first of the
        sequences when the pipeline returns several)."""
        prompts = list(inputs)
        source = f"transformers pipeline {_hf_model_name(self.pipe)}"
        if not prompts:
            return read_generated([], 0, source=source)
        raw = self.pipe(prompts, **self.call_kwargs)
        if len(prompts) == 1 and isinstance(raw, (dict, list)) and (
                isinstance(raw, dict) or (raw and isinstance(raw[0], dict))):
            raw = [raw]  # some versions unwrap a single input
        if not isinstance(raw, list) or len(raw) != len(prompts):
            raise ModelOutputError(f"{source} returned {_snip(raw)} for {len(prompts)} "
                                   "prompts; expected one answer per prompt")
        return read_generated([_generated_text(item, i, source) for i, item in enumerate(raw)],
                              len(prompts), source=source)

    def _predict_images(self, inputs: Sequence[Any]) -> Prediction:
        images = pil_images(inputs)
        if not images:
            return self._empty()
        kwargs = dict(self.call_kwargs)
        if self.classes is not None:
            kwargs.setdefault("top_k", len(self.classes))
        raw = self.pipe(images, **kwargs)
        if len(images) == 1 and _is_one_answer(raw):  # some versions unwrap a single input
            raw = [raw]
        return self._read(raw, len(images), classes=self.classes,
                          source=f"transformers pipeline {_hf_model_name(self.pipe)}")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **_describe_object(self.pipe), "task": self.task,
                "pipeline_task": str(self.pipe.task), "model": _hf_model_name(self.pipe),
                "classes": None if self.classes is None else [str(c) for c in self.classes]}


GENERATION_PIPELINES = ("text2text-generation", "text-generation", "summarization")
"""transformers pipelines that write text: read as the ``generation`` task."""
_TEXT_KEYS = ("generated_text", "summary_text")
_ECHOING_PIPELINES = frozenset({"text-generation"})
"""Pipelines whose answer starts with the prompt unless told otherwise."""


def _generated_text(item: Any, i: int, source: str) -> str:
    if isinstance(item, list) and item:  # several sequences per prompt: the first
        item = item[0]
    if isinstance(item, dict):
        for key in _TEXT_KEYS:
            if isinstance(item.get(key), str):
                return str(item[key])
    raise ModelOutputError(f"{source} answered prompt {i} with {_snip(item)}; expected a dict "
                           f"with {' or '.join(_TEXT_KEYS)}")


def _is_hf_pipeline(obj: Any) -> bool:
    modules = (getattr(c, "__module__", "") or "" for c in type(obj).__mro__)
    return hasattr(obj, "task") and callable(obj) and \
        any(m == "transformers" or m.startswith("transformers.") for m in modules)


def _hf_classes(pipe: Any) -> np.ndarray | None:
    id2label = getattr(getattr(getattr(pipe, "model", None), "config", None), "id2label", None)
    if not isinstance(id2label, Mapping) or not id2label:
        return None
    return _label_array([id2label[i] for i in sorted(id2label, key=int)], "id2label")


def _hf_model_name(pipe: Any) -> str:
    model = getattr(pipe, "model", None)
    name = getattr(model, "name_or_path", None) or getattr(
        getattr(model, "config", None), "_name_or_path", None)
    return str(name) if name else type(pipe).__name__


# --------------------------------------------------------------------------- dispatch


def adapt(model: Any, task: str | None = None, *, flatten: bool = False) -> Adapter:
    """The adapter for ``model``: an Adapter itself, an ``http(s)://`` URL, a transformers
    pipeline, a scikit-learn style estimator, or a callable, checked in that order (a
    pipeline also has ``predict``, a fitted estimator may be callable).

    ``flatten=True`` (scikit-learn estimators and batched callables): each batch of
    images is reshaped to ``(N, H * W * C)`` before the model sees it."""
    task = _check_task(task)
    if flatten is not False:
        _check_flatten(flatten, True)
        sklearn = any(_has_method(model, m) for m in _SKLEARN_METHODS)
        if isinstance(model, (Adapter, str)) or _is_hf_pipeline(model) or not (
                sklearn or callable(model)):
            raise InvalidArgument(
                f"flatten=True applies to scikit-learn estimators and functions; got "
                f"{type(model).__name__}. Leave flatten=False, or reshape in your own adapter")
        if sklearn:
            return SklearnAdapter(model, task=task, flatten=True)
        return CallableAdapter(model, task=task, flatten=True)
    if isinstance(model, Adapter):
        if task is not None and model.task != task:
            raise InvalidArgument(f"task={task!r}, but the {type(model).__name__} given as model "
                                  f"has task={model.task!r}; pass task to its constructor")
        return model
    if isinstance(model, str):
        if _is_url(model):
            return HTTPAdapter(model, task=task)
        raise InvalidArgument(
            f"model is the string {model!r}, which is not an http:// or https:// URL. To load "
            "a model from a 'module:attr' path use the command line (robustcheck run --model "
            "module:attr) or import it and pass the object")
    if isinstance(model, type):
        raise InvalidArgument(f"model is the class {model.__name__}, not a model; pass a fitted "
                              "instance (or a function)")
    if _is_hf_pipeline(model):
        adapter = PipelineAdapter(model)
        if task is not None and task != adapter.task:
            raise InvalidArgument(f"task={task!r}, but a transformers {model.task!r} pipeline "
                                  f"answers as {adapter.task!r}; leave task out, or wrap the "
                                  "pipeline in a function")
        return adapter
    if any(_has_method(model, m) for m in _SKLEARN_METHODS):
        return SklearnAdapter(model, task=task)
    if callable(model):
        return CallableAdapter(model, task=task)
    raise InvalidArgument(
        f"model must be a robustcheck Adapter, a scikit-learn style estimator (predict_proba, "
        f"decision_function or predict), a transformers text-classification pipeline, a "
        f"callable or an http(s):// URL; got {type(model).__name__} {_snip(model, 60)}")


# --------------------------------------------------------------------------- images

IMAGE_TASK = "image-classification"


def _check_flatten(flatten: Any, batched: bool) -> bool:
    if not isinstance(flatten, bool):
        raise InvalidArgument(f"flatten must be True or False; got {flatten!r}")
    if flatten and not batched:
        raise InvalidArgument("flatten=True needs batched=True (a batch is flattened to "
                              "(N, H * W * C)); flatten a single image in your function")
    return flatten


def flat_images(inputs: Any) -> np.ndarray:
    """A batch of images (an array, or a list of arrays or PIL images) as ``(N, features)``:
    each image's pixels in one row. Images of different sizes cannot share the rows of
    one matrix: that raises a ValueError (a crash of the model, as it would be in
    production)."""
    if isinstance(inputs, np.ndarray):
        return inputs.reshape(len(inputs), -1)
    arrays = [np.asarray(x) for x in inputs]
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise ValueError(f"flatten=True needs images of one size, but this batch holds the "
                         f"shapes {shapes[:4]}; resize every image to one size first")
    if not arrays:
        return np.zeros((0, 0))
    return np.stack(arrays).reshape(len(arrays), -1)


def pil_images(inputs: Any) -> list[Any]:
    """Images as PIL images: arrays are converted (uint8 as is, float from its 0-1 or
    0-255 range), PIL images are passed as they are."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('image-classification pipelines need Pillow: '
                          'pip install "robustcheck[image]"') from None
    images = []
    for x in inputs:
        if not isinstance(x, np.ndarray):
            images.append(x)
            continue
        if x.dtype != np.uint8:
            scale = 255.0 if x.size and float(np.max(x)) <= 1.0 else 1.0
            x = np.rint(np.clip(x * scale, 0, 255)).astype(np.uint8)
        images.append(Image.fromarray(x[:, :, 0] if x.ndim == 3 and x.shape[2] == 1 else x))
    return images


def _is_one_answer(raw: Any) -> bool:
    return isinstance(raw, list) and bool(raw) and all(isinstance(d, Mapping) for d in raw)


# --------------------------------------------------------------------------- helpers


def _as_batch(inputs: Any) -> Any:
    if isinstance(inputs, (list, np.ndarray)) or _is_pandas(inputs, ("DataFrame",)):
        return inputs
    return list(inputs)


def _items(inputs: Any) -> Iterable[Any]:
    if _is_pandas(inputs, ("DataFrame",)):
        return inputs.to_dict(orient="records")
    return inputs
