"""robustcheck.adapters against real models: scikit-learn estimators on its bundled data
sets, a real HTTP server on 127.0.0.1 in front of a fitted model, and a fake of the
transformers text-classification pipeline that follows its exact call contract."""

from __future__ import annotations

import functools
import json
import math
import pickle
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from robustcheck._prediction import _from_scores
from robustcheck.adapters import (
    Adapter,
    CallableAdapter,
    HTTPAdapter,
    PipelineAdapter,
    Prediction,
    SklearnAdapter,
    adapt,
)
from robustcheck.errors import InvalidArgument, ModelOutputError

# ------------------------------------------------------------------------ data, models


@pytest.fixture(scope="module")
def iris() -> SimpleNamespace:
    data = load_iris(as_frame=True)
    # Class names in a non-sorted order, so "classes_ order" and "order of appearance"
    # differ: classes_ is ['ant', 'moose', 'zebra'], the data starts with 'zebra'.
    names = np.array(["zebra", "ant", "moose"])
    return SimpleNamespace(X=data.data, y=names[data.target.to_numpy()])


@pytest.fixture(scope="module")
def iris_model(iris: SimpleNamespace) -> Any:
    return make_pipeline(SimpleImputer(), LogisticRegression(max_iter=1000)).fit(iris.X, iris.y)


@pytest.fixture(scope="module")
def cancer() -> SimpleNamespace:
    X, y = load_breast_cancer(return_X_y=True)
    return SimpleNamespace(X=X, y=y)


SENTENCES = [
    "what a wonderful film", "truly great acting", "i loved every minute", "great fun",
    "a wonderful story", "terrible plot", "boring and awful", "i hated it",
    "awful acting and a terrible script", "boring film",
]
SENTIMENT = ["pos"] * 5 + ["neg"] * 5


# --------------------------------------------------------------------- scikit-learn


def test_logistic_regression_scores_are_predict_proba_in_classes_order(iris, iris_model):
    adapter = SklearnAdapter(iris_model)
    pred = adapter.predict(iris.X)
    assert adapter.method == "predict_proba"
    assert list(pred.classes) == ["ant", "moose", "zebra"] == list(iris_model.classes_)
    np.testing.assert_array_equal(pred.scores, iris_model.predict_proba(iris.X))
    np.testing.assert_array_equal(pred.labels, iris_model.predict(iris.X))
    assert pred.task == "classification" and pred.values is None and len(pred) == 150


def test_scores_follow_classes_even_when_an_estimator_lists_them_unsorted():
    class Fixed:
        classes_ = np.array(["zebra", "ant"])

        def predict_proba(self, X):
            return np.array([[0.2, 0.8], [0.9, 0.1]])[: len(X)]

    pred = SklearnAdapter(Fixed()).predict(["a", "b"])
    assert list(pred.classes) == ["zebra", "ant"]
    assert list(pred.labels) == ["ant", "zebra"]
    np.testing.assert_array_equal(pred.confidence, [0.8, 0.9])


def test_an_estimator_whose_classes_repeat_is_refused_naming_the_class_and_the_method():
    class Repeats:
        classes_ = np.array(["cat", "dog", "cat"])

        def predict_proba(self, X):
            return np.full((len(X), 3), 1 / 3)

    with pytest.raises(ModelOutputError, match=r"Repeats\.predict_proba: .*'cat' appears twice"):
        SklearnAdapter(Repeats()).predict(["a", "b"])


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 6), k=st.integers(1, 5), named=st.sampled_from([None, str, float]),
       data=st.data())
def test_score_rows_read_fast_give_the_prediction_built_with_every_check(rows, k, named, data):
    # the score path skips Prediction's per-row checks: it must build what they accept
    scores = np.array(data.draw(st.lists(
        st.lists(st.floats(-1e6, 1e6), min_size=k, max_size=k), min_size=rows, max_size=rows)),
        dtype=float).reshape(rows, k)
    classes = None if named is None else np.array([named(10 * j + 0.5) for j in range(k)])
    got = _from_scores(scores, classes, rows, "model")
    cls = np.arange(k) if classes is None else classes
    checked = Prediction(labels=cls[np.argmax(scores, axis=1)], scores=scores, classes=cls)
    for name in ("labels", "scores", "classes", "_columns", "values", "usage", "kind"):
        a, b = getattr(got, name), getattr(checked, name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and not a.flags.writeable
            np.testing.assert_array_equal(a, b)
        else:
            assert a is None and b is None
    np.testing.assert_array_equal(got.confidence, checked.confidence)


def test_score_rows_of_another_length_than_the_inputs_are_a_model_output_error():
    with pytest.raises(ModelOutputError, match="model returned 2 outputs for 3 inputs"):
        _from_scores(np.ones((2, 2)), None, 3, "model")


def test_tabular_pipeline_gets_the_dataframe_as_given(iris, iris_model):
    batch = iris.X.iloc[10:20]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an ndarray would warn about missing feature names
        pred = SklearnAdapter(iris_model).predict(batch)
    np.testing.assert_array_equal(pred.labels, iris_model.predict(batch))


def test_binary_decision_function_becomes_logistic_scores_with_the_estimators_labels(cancer):
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(cancer.X, cancer.y)
    adapter = SklearnAdapter(model)
    pred = adapter.predict(cancer.X)
    margins = model.decision_function(cancer.X)
    assert adapter.method == "decision_function"
    np.testing.assert_array_equal(pred.labels, model.predict(cancer.X))
    np.testing.assert_allclose(pred.scores[:, 1], 1 / (1 + np.exp(-margins)))
    np.testing.assert_allclose(pred.scores.sum(axis=1), 1.0)
    assert list(pred.classes) == [0, 1]


def test_svc_without_probability_falls_to_decision_function_for_several_classes(iris):
    model = make_pipeline(StandardScaler(), SVC()).fit(iris.X, iris.y)
    assert not hasattr(model, "predict_proba")
    adapter = SklearnAdapter(model)
    pred = adapter.predict(iris.X)
    assert adapter.method == "decision_function"
    assert list(pred.classes) == list(model.classes_)
    np.testing.assert_array_equal(pred.labels, model.predict(iris.X))
    np.testing.assert_allclose(pred.scores.sum(axis=1), 1.0)
    np.testing.assert_array_equal(pred.scores.argmax(axis=1),
                                  model.decision_function(iris.X).argmax(axis=1))


def test_text_pipeline_takes_a_list_of_strings():
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(SENTENCES, SENTIMENT)
    texts = ["a wonderful film", "terrible and boring", "great script"]
    pred = adapt(model).predict(texts)
    np.testing.assert_array_equal(pred.labels, model.predict(texts))
    np.testing.assert_array_equal(pred.scores, model.predict_proba(texts))
    assert list(pred.classes) == ["neg", "pos"]


def test_regressor_gives_values_and_no_scores():
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y)
    adapter = SklearnAdapter(model)
    pred = adapter.predict(X[:25])
    assert adapter.task == "regression" and pred.task == "regression"
    np.testing.assert_array_equal(pred.values, model.predict(X[:25]))
    np.testing.assert_array_equal(pred.labels, pred.values)
    assert pred.scores is None and pred.classes is None


def test_method_predict_gives_labels_only(iris):
    model = KNeighborsClassifier(n_neighbors=3).fit(iris.X, iris.y)
    pred = SklearnAdapter(model, method="predict").predict(iris.X.iloc[::10])
    np.testing.assert_array_equal(pred.labels, model.predict(iris.X.iloc[::10]))
    assert pred.scores is None and pred.task == "classification"


@pytest.mark.parametrize(("method", "message"), [
    ("predict_prob", "did you mean 'predict_proba'"),
    ("predict_proba", "no usable predict_proba"),
    ("transform", "must be one of"),
])
def test_a_bad_method_is_refused_by_name(iris, method, message):
    model = SVC().fit(iris.X, iris.y)
    with pytest.raises(InvalidArgument, match=message):
        SklearnAdapter(model, method=method)


class _Duck:
    """An estimator by duck typing whose predict_proba fails at call time."""

    classes_ = np.array(["a", "b"])

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.proba_calls = 0

    def predict_proba(self, X):
        self.proba_calls += 1
        raise self.error

    def decision_function(self, X):
        return np.linspace(-1, 1, len(X))

    def predict(self, X):
        return np.where(self.decision_function(X) > 0, "b", "a")


def test_a_response_method_that_says_it_is_unavailable_is_skipped_once_and_for_all():
    duck = _Duck(AttributeError("predict_proba is not available when probability=False"))
    adapter = SklearnAdapter(duck)
    first, second = adapter.predict([1, 2, 3]), adapter.predict([1, 2, 3, 4])
    assert adapter.method == "decision_function"
    assert duck.proba_calls == 1
    assert list(first.labels) == ["a", "a", "b"] and len(second) == 4


def test_an_error_raised_inside_the_model_is_not_hidden_by_a_fallback():
    duck = _Duck(ValueError("could not convert string to float: 'n/a'"))
    adapter = SklearnAdapter(duck)
    with pytest.raises(ValueError, match="n/a"):
        adapter.predict([1, 2])
    assert adapter.method is None


# -------------------------------------------------------------------------- callables


def test_batched_function_is_called_once_per_batch_with_a_list():
    seen: list[Any] = []

    def model(texts):
        seen.append(texts)
        return ["long" if len(t) > 3 else "short" for t in texts]

    pred = CallableAdapter(model).predict(("a", "abcd", "xyz"))
    assert seen == [["a", "abcd", "xyz"]]
    assert list(pred.labels) == ["short", "long", "short"]


def test_item_by_item_function_is_called_once_per_input():
    seen: list[Any] = []

    def model(text):
        seen.append(text)
        return len(text) % 2

    pred = CallableAdapter(model, batched=False).predict(["a", "ab", "abc"])
    assert seen == ["a", "ab", "abc"]
    assert list(pred.labels) == [1, 0, 1]


def test_item_by_item_on_a_dataframe_gets_one_dict_per_row():
    frame = pd.DataFrame({"age": [30, 61], "city": ["Oslo", "Lima"]})
    pred = CallableAdapter(lambda row: row["age"] > 50, batched=False).predict(frame)
    assert list(pred.labels) == [False, True]


def test_label_and_score_dicts_give_each_rows_own_score_and_nan_elsewhere():
    outputs = [{"label": "pos", "score": 0.9}, {"label": "neg", "score": 0.7}]
    pred = CallableAdapter(lambda xs: outputs).predict(["x", "y"])
    assert list(pred.classes) == ["neg", "pos"]
    np.testing.assert_array_equal(pred.confidence, [0.9, 0.7])
    np.testing.assert_array_equal(pred.score_of(["pos", "pos"]), [0.9, np.nan])
    assert np.isnan(pred.scores[0, 0])


def test_full_score_dicts_and_score_lists_are_read_as_complete_scores():
    maps = [{"scores": {"b": 0.3, "a": 0.7}}, {"label": "b", "scores": {"a": 0.4, "b": 0.6}}]
    pred = CallableAdapter(lambda xs: maps).predict([0, 1])
    assert list(pred.classes) == ["a", "b"] and list(pred.labels) == ["a", "b"]
    np.testing.assert_array_equal(pred.scores, [[0.7, 0.3], [0.4, 0.6]])
    lists = [{"scores": [0.1, 0.9]}, {"scores": [0.8, 0.2]}]
    pred = CallableAdapter(lambda xs: lists, classes=["cat", "dog"]).predict([0, 1])
    assert list(pred.labels) == ["dog", "cat"]


def test_score_array_gives_argmax_labels_over_range_or_given_classes():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
    pred = CallableAdapter(lambda xs: scores).predict(["p", "q"])
    assert list(pred.labels) == [1, 0] and list(pred.classes) == [0, 1, 2]
    named = CallableAdapter(lambda xs: scores, classes=["x", "y", "z"]).predict(["p", "q"])
    assert list(named.labels) == ["y", "x"]
    np.testing.assert_array_equal(named.scores, scores)


def test_non_integer_floats_are_regression_and_the_task_then_stays_fixed():
    answers = iter([[0.5, 2.25], [1.0, 3.0]])
    adapter = CallableAdapter(lambda xs: next(answers))
    first, second = adapter.predict([1, 2]), adapter.predict([3, 4])
    assert adapter.task == "regression"
    assert first.task == second.task == "regression"
    np.testing.assert_array_equal(second.values, [1.0, 3.0])


def test_whole_number_floats_are_labels_unless_task_says_regression():
    pred = CallableAdapter(lambda xs: [1.0, 0.0]).predict([1, 2])
    assert pred.task == "classification"
    forced = CallableAdapter(lambda xs: [1.0, 0.0], task="regression").predict([1, 2])
    assert forced.task == "regression"
    np.testing.assert_array_equal(forced.values, [1.0, 0.0])


@pytest.mark.parametrize(("output", "kwargs", "fragments"), [
    ([1, 2, 3], {}, ["returned 3 outputs for 5 inputs"]),
    (None, {}, ["returned None", "expected 5 outputs"]),
    ([1, None, 0, 1, 1], {}, ["returned None for input 1"]),
    ("pos", {}, ["single str", "batched=False"]),
    ({"label": "pos"}, {}, ["single dict"]),
    ([[0.1, 0.9]] * 4 + [[0.5, math.nan]], {}, ["nan", "input 4", "finite"]),
    ([0.5, 1.5, 2.5, math.inf, 0.1], {}, ["inf", "input 3"]),
    ([[0.5, 0.5]] * 5, {"classes": ["a", "b", "c"]}, ["2 scores per input; expected 3"]),
    ([{"foo": 1}] * 5, {}, ["keys ['foo']"]),
    ([{"label": "a", "score": math.nan}] * 5, {}, ["score of nan"]),
    ([{"label": "a", "score": "high"}] * 5, {}, ["non-numeric score 'high'"]),
    ([{"label": "a"}, "b", "a", "b", "a"], {}, ["dicts for some inputs"]),
    ([{"label": "z", "score": 0.5}] * 5, {"classes": ["a", "b"]},
     ["'z'", "not one of the classes"]),
    (["x", 1.5, 2, 3, 4], {"task": "regression"}, ["non-numeric", "regression"]),
])
def test_unreadable_model_output_is_a_model_output_error_that_says_what_came_back(
        output, kwargs, fragments):
    def my_model(xs):
        return output

    with pytest.raises(ModelOutputError) as info:
        CallableAdapter(my_model, **kwargs).predict(["a", "b", "c", "d", "e"])
    message = str(info.value)
    assert "my_model" in message
    for fragment in fragments:
        assert fragment in message


def test_empty_inputs_give_an_empty_prediction_without_calling_the_model():
    def model(xs):
        raise AssertionError("called")

    assert len(CallableAdapter(model).predict([])) == 0
    assert CallableAdapter(model, task="regression").predict([]).task == "regression"


# ------------------------------------------------------------------------- Prediction


def test_take_and_concat_give_back_the_same_rows():
    pred = Prediction(labels=np.array(["a", "b", "a", "c"]),
                      scores=np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1],
                                       [0.1, 0.1, 0.8]]),
                      classes=np.array(["a", "b", "c"]))
    assert list(pred.take([3, 0]).labels) == ["c", "a"]
    assert list(pred.take(np.array([True, False, False, True])).labels) == ["a", "c"]
    again = Prediction.concat([pred.take(slice(0, 1)), pred.take([1, 2]), pred.take([3])])
    np.testing.assert_array_equal(again.labels, pred.labels)
    np.testing.assert_array_equal(again.scores, pred.scores)
    np.testing.assert_array_equal(again.confidence, [0.6, 0.7, 0.5, 0.8])


def test_concat_aligns_columns_of_batches_that_saw_different_classes():
    one = Prediction(labels=np.array(["pos"]), scores=np.array([[0.9]]),
                     classes=np.array(["pos"]))
    two = Prediction(labels=np.array(["neg"]), scores=np.array([[0.2, 0.8]]),
                     classes=np.array(["pos", "neg"]))
    both = Prediction.concat([two, one])
    assert list(both.classes) == ["pos", "neg"]
    np.testing.assert_array_equal(both.scores, [[0.2, 0.8], [0.9, np.nan]])
    np.testing.assert_array_equal(both.score_of(["pos", "pos"]), [0.2, 0.9])


def test_concat_keeps_mixed_label_types_apart():
    both = Prediction.concat([Prediction(labels=np.array([1])),
                              Prediction(labels=np.array(["1"]))])
    assert both.labels.tolist() == [1, "1"]


def test_concat_refuses_to_mix_regression_and_classification():
    values = Prediction(labels=np.array([0.5]), values=np.array([0.5]))
    with pytest.raises(ModelOutputError, match="regression"):
        Prediction.concat([values, Prediction(labels=np.array(["a"]))])
    with pytest.raises(InvalidArgument, match="at least one"):
        Prediction.concat([])


def test_prediction_is_frozen_and_read_only_but_leaves_the_callers_array_alone():
    labels = np.array([1, 2])
    pred = Prediction(labels=labels)
    with pytest.raises(AttributeError):
        pred.labels = np.array([3, 4])  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        pred.labels[0] = 9
    labels[0] = 7  # the caller's array stays writable
    assert pickle.loads(pickle.dumps(pred)).labels.tolist() == [7, 2]


@pytest.mark.parametrize(("fields", "message"), [
    ({"labels": ["a"], "scores": [[0.5, 0.5]]}, "give both or neither"),
    ({"labels": ["a"], "scores": [[0.5, 0.5]], "classes": ["a"]}, r"shape \(1, 2\)"),
    ({"labels": ["z"], "scores": [[0.5]], "classes": ["a"]}, "not one of the classes"),
    ({"labels": ["a"], "scores": [[math.nan, 0.5]], "classes": ["a", "b"]}, "not a finite"),
    ({"labels": ["a"], "scores": [[math.inf, 0.5]], "classes": ["a", "b"]}, "infinity"),
    ({"labels": ["a"], "scores": [[0.5, 0.5]], "classes": ["a", "a"]}, "distinct"),
    ({"labels": [0.5], "values": [math.nan]}, "nan"),
    ({"labels": [[1, 2]]}, "one entry per input"),
])
def test_an_inconsistent_prediction_cannot_be_built(fields, message):
    with pytest.raises(ModelOutputError, match=message):
        Prediction(**{k: np.array(v) for k, v in fields.items()})


# ------------------------------------------------------- transformers pipeline (fake)


class FakeTextClassificationPipeline:
    """Follows the call contract of transformers' TextClassificationPipeline (4.x):

    ``pipe(texts)`` -> one ``{"label", "score"}`` dict per text (the top label);
    ``pipe(texts, top_k=None)`` -> per text, a list of every label's dict, best first;
    a single string in legacy mode comes back wrapped in a list.
    """

    __module__ = "transformers.pipelines.text_classification"

    def __init__(self, *, knows_top_k: bool = True, task: str = "text-classification") -> None:
        self.task = task
        self.knows_top_k = knows_top_k
        id2label = {0: "NEGATIVE", 1: "POSITIVE", 2: "MIXED"}  # id order is not sorted
        self.model = SimpleNamespace(name_or_path="fake/tiny-sentiment",
                                     config=SimpleNamespace(id2label=id2label))
        self.calls: list[dict[str, Any]] = []

    def __call__(self, inputs, **kwargs):
        if "top_k" in kwargs and not self.knows_top_k:
            raise TypeError("_sanitize_parameters() got an unexpected keyword argument 'top_k'")
        self.calls.append(kwargs)
        legacy = "top_k" not in kwargs
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        results = [self._postprocess(self._scores(t), kwargs.get("top_k", 1), legacy)
                   for t in texts]
        if isinstance(inputs, str):
            return [results[0]] if legacy else results[0]
        return results

    def predict(self, X):  # real pipelines have it too, so dispatch must not take it for sklearn
        return self(X)

    def _scores(self, text: str) -> np.ndarray:
        words = text.split()
        logits = np.array([words.count("bad"), words.count("good"), 0.5])
        return np.exp(logits) / np.exp(logits).sum()

    def _postprocess(self, scores, top_k, legacy):
        labels = self.model.config.id2label
        if top_k == 1 and legacy:
            return {"label": labels[int(scores.argmax())], "score": float(scores.max())}
        out = [{"label": labels[i], "score": float(s)} for i, s in enumerate(scores)]
        out.sort(key=lambda d: d["score"], reverse=True)
        return out if top_k is None else out[:top_k]


TEXTS = ["good good film", "bad bad bad", "fine", "good but bad"]


def test_pipeline_top_k_none_gives_every_score_in_id2label_order():
    pipe = FakeTextClassificationPipeline()
    pred = PipelineAdapter(pipe).predict(TEXTS)
    assert pipe.calls == [{"top_k": None}]
    assert list(pred.classes) == ["NEGATIVE", "POSITIVE", "MIXED"]
    expected = np.array([pipe._scores(t) for t in TEXTS])
    np.testing.assert_allclose(pred.scores, expected)
    assert list(pred.labels) == [d["label"] for d in pipe(TEXTS)]


def test_a_pipeline_without_top_k_gives_the_top_label_score_only():
    pipe = FakeTextClassificationPipeline(knows_top_k=False)
    adapter = PipelineAdapter(pipe)
    pred = adapter.predict(TEXTS)
    assert adapter.all_scores is False
    flat = pipe(TEXTS)
    assert list(pred.labels) == [d["label"] for d in flat]
    np.testing.assert_allclose(pred.confidence, [d["score"] for d in flat])
    assert np.isnan(pred.scores).sum() == 2 * len(TEXTS)  # only the top label is known
    adapter.predict(TEXTS[:1])
    assert pipe.calls[-1] == {}  # not asked for top_k again


def test_a_pipeline_is_recognised_without_importing_transformers():
    loaded = "transformers" in sys.modules
    adapter = adapt(FakeTextClassificationPipeline())
    assert isinstance(adapter, PipelineAdapter)
    assert ("transformers" in sys.modules) == loaded
    info = adapter.describe()
    assert info["model"] == "fake/tiny-sentiment" and info["pipeline_task"] == "text-classification"


def test_a_pipeline_for_another_task_is_refused():
    with pytest.raises(InvalidArgument, match="'fill-mask' pipeline"):
        adapt(FakeTextClassificationPipeline(task="fill-mask"))


def test_a_real_tiny_transformers_pipeline_built_offline(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"]))
    tokenizer = transformers.BertTokenizer(str(vocab))
    config = transformers.BertConfig(
        vocab_size=7, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=8, num_labels=2, id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1})
    model = transformers.BertForSequenceClassification(config).eval()
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer)
    pred = adapt(pipe).predict(["good good", "bad", "good bad"])
    assert list(pred.classes) == ["NEG", "POS"]
    assert list(pred.labels) == [d["label"] for d in pipe(["good good", "bad", "good bad"])]
    np.testing.assert_allclose(pred.scores.sum(axis=1), 1.0, rtol=1e-5)


# ------------------------------------------------------------------- HTTP (real server)


class ModelServer:
    """A real HTTP server on 127.0.0.1 in a thread, in front of ``app(payload) -> body``.

    Misbehaviour is switched on by attributes: ``fail_every`` (500 on every k-th request),
    ``drop_every`` (close the connection without answering), ``status`` (always that
    status), ``hold`` (wait up to this long before answering), ``barrier`` (the first
    requests wait for each other, which only happens if they are in flight together).
    """

    def __init__(self, app: Callable[[Any], Any]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.requests = self.in_flight = self.max_in_flight = 0
        self.bodies: list[bytes] = []
        self.fail_every = self.drop_every = self.status = 0
        self.hold = 0.0
        self.barrier: threading.Barrier | None = None
        self.released = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/predict"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def _answer(self, number: int, body: bytes) -> tuple[int, bytes] | None:
        if self.barrier is not None and number <= self.barrier.parties:
            self.barrier.wait()
        if self.hold:
            self.released.wait(self.hold)
        if self.status:
            return self.status, b'{"error": "inputs must be a list of records"}'
        if self.fail_every and number % self.fail_every == 0:
            return 500, b"model worker restarting"
        if self.drop_every and number % self.drop_every == 0:
            return None
        return 200, json.dumps(self.app(json.loads(body))).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server.lock:
                    server.requests += 1
                    number = server.requests
                    server.bodies.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    answer = server._answer(number, body)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                if answer is None:
                    self.close_connection = True
                    return
                self.send_response(answer[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def server(iris, iris_model):
    def app(payload):
        frame = pd.DataFrame.from_records(payload["inputs"], columns=list(iris.X.columns))
        proba = iris_model.predict_proba(frame.astype(float))
        names = [str(c) for c in iris_model.classes_]
        return {"predictions": [{"scores": dict(zip(names, row.tolist(), strict=True))}
                                for row in proba]}

    srv = ModelServer(app)
    yield srv
    srv.close()


@pytest.fixture
def iris_with_gaps(iris) -> pd.DataFrame:
    frame = iris.X.copy()
    frame.iloc[::7, 1] = np.nan
    return frame


def test_http_predictions_equal_the_in_process_models(server, iris_model, iris_with_gaps):
    adapter = HTTPAdapter(server.url, batch_size=16, concurrency=4)
    pred = adapter.predict(iris_with_gaps)
    local = SklearnAdapter(iris_model).predict(iris_with_gaps)
    np.testing.assert_array_equal(pred.labels, local.labels)
    np.testing.assert_array_equal(pred.classes, local.classes)
    np.testing.assert_array_equal(pred.scores, local.scores)
    assert adapter.requests_made == server.requests == 10
    sent = b"".join(server.bodies)
    assert b"null" in sent and b"NaN" not in sent  # missing values arrive as JSON null


def test_http_request_and_response_mappings_are_configurable():
    app = ModelServer(lambda p: {"outputs": [len(t) > 4 for t in p["instances"]]})
    try:
        adapter = HTTPAdapter(app.url, request=lambda batch: {"instances": batch},
                              response=lambda body: body["outputs"], batch_size=2)
        pred = adapter.predict(["tiny", "enormous", "mid", "gigantic", "x"])
    finally:
        app.close()
    assert pred.labels.tolist() == [False, True, False, True, False]
    assert adapter.requests_made == 3


def test_http_5xx_answers_are_retried_until_every_batch_is_answered(server, iris_model, iris):
    server.fail_every = 3
    adapter = HTTPAdapter(server.url, batch_size=15, concurrency=1, retries=3, backoff=0.001)
    pred = adapter.predict(iris.X)
    np.testing.assert_array_equal(pred.labels, iris_model.predict(iris.X))
    # 10 batches; attempts 3, 6, 9, 12 fail, so 14 requests answer all ten.
    assert adapter.requests_made == server.requests == 14


def test_http_dropped_connections_are_retried(server, iris_model, iris):
    server.drop_every = 2
    adapter = HTTPAdapter(server.url, batch_size=50, concurrency=1, backoff=0.001)
    pred = adapter.predict(iris.X)
    np.testing.assert_array_equal(pred.labels, iris_model.predict(iris.X))
    assert adapter.requests_made == 5


def test_http_4xx_is_not_retried_and_the_error_names_the_status(server, iris):
    server.status = 422
    adapter = HTTPAdapter(server.url, retries=3, backoff=0.001)
    with pytest.raises(ModelOutputError, match="HTTP 422") as info:
        adapter.predict(iris.X.iloc[:5])
    assert "inputs must be a list of records" in str(info.value)
    assert adapter.requests_made == server.requests == 1


def test_http_500_on_every_attempt_raises_after_the_retries(server, iris):
    server.status = 500  # the model server's own exception (503 is an outage: test_http_faults)
    adapter = HTTPAdapter(server.url, retries=2, backoff=0.001)
    with pytest.raises(ModelOutputError, match="HTTP 500"):
        adapter.predict(iris.X.iloc[:5])
    assert adapter.requests_made == 3


def test_http_timeout_raises_and_is_not_retried(server, iris):
    server.hold = 10.0  # released when the fixture closes the server
    adapter = HTTPAdapter(server.url, timeout=0.2, retries=3)
    with pytest.raises(TimeoutError, match=r"within 0\.2 s"):
        adapter.predict(iris.X.iloc[:3])
    assert adapter.requests_made == 1


def test_http_requests_are_in_flight_together_when_concurrency_allows(server, iris):
    server.barrier = threading.Barrier(3, timeout=5)  # breaks unless 3 requests overlap
    adapter = HTTPAdapter(server.url, batch_size=20, concurrency=4)
    assert len(adapter.predict(iris.X)) == 150
    assert server.max_in_flight >= 3 and not server.barrier.broken


def test_http_concurrency_one_sends_one_request_at_a_time(server, iris):
    adapter = HTTPAdapter(server.url, batch_size=20, concurrency=1)
    adapter.predict(iris.X)
    assert server.max_in_flight == 1 and server.requests == 8


def test_http_connection_refused_is_retried_then_raised():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    adapter = HTTPAdapter(f"http://127.0.0.1:{port}/", retries=2, backoff=0.001)
    with pytest.raises(ConnectionError, match="after 3 attempts"):
        adapter.predict(["x"])
    assert adapter.requests_made == 3


@pytest.mark.parametrize(("app", "message"), [
    (lambda p: {"predictions": p["inputs"][:-1]}, "returned 4 outputs for 5 inputs"),
    (lambda p: {"result": []}, "'predictions'"),
])
def test_http_answers_that_cannot_be_read_are_model_output_errors(app, message):
    srv = ModelServer(app)
    try:
        with pytest.raises(ModelOutputError, match=message):
            HTTPAdapter(srv.url).predict(["a", "b", "c", "d", "e"])
    finally:
        srv.close()


def test_http_adapter_pickles_and_keeps_credentials_out_of_its_description():
    adapter = HTTPAdapter("https://user:secret@models.example:8443/v1/predict?key=abc",
                          headers={"Authorization": "Bearer secret"})
    info = adapter.describe()
    assert info["url"] == "https://models.example:8443/v1/predict"
    assert "secret" not in json.dumps(info)
    clone = pickle.loads(pickle.dumps(adapter))
    assert clone.url == adapter.url and clone.requests_made == 0


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"concurrency": True}, "concurrency"),
    ({"timeout": 0}, "timeout"),
    ({"retries": -1}, "retries"),
    ({"backoff": math.nan}, "backoff"),
    ({"request": "inputs"}, "request"),
])
def test_http_adapter_arguments_are_checked(kwargs, name):
    with pytest.raises(InvalidArgument, match=name):
        HTTPAdapter("http://127.0.0.1:9/", **kwargs)


# --------------------------------------------------------------------------- dispatch


class _MyAdapter(Adapter):
    def predict(self, inputs):
        return Prediction(labels=np.zeros(len(inputs), dtype=int))


def _fitted_lr():
    return LogisticRegression().fit([[0.0], [1.0]], [0, 1])


class _PredictOnly:
    def predict(self, X):
        return [0] * len(X)


@pytest.mark.parametrize(("make", "kind"), [
    (_MyAdapter, _MyAdapter),
    (lambda: "http://127.0.0.1:8000/predict", HTTPAdapter),
    (lambda: "https://models.example/v1", HTTPAdapter),
    (FakeTextClassificationPipeline, PipelineAdapter),
    (_fitted_lr, SklearnAdapter),
    (_PredictOnly, SklearnAdapter),
    (lambda: (lambda xs: xs), CallableAdapter),
    (lambda: functools.partial(sorted, reverse=True), CallableAdapter),
])
def test_adapt_picks_the_adapter_from_the_objects_shape(make, kind):
    model = make()
    adapter = adapt(model)
    assert type(adapter) is kind
    if isinstance(model, Adapter):
        assert adapter is model


@pytest.mark.parametrize(("model", "fragments"), [
    (42, ["model must be", "got int"]),
    (None, ["got NoneType"]),
    (b"http://x", ["got bytes"]),
    (object(), ["got object"]),
    ("model.pkl", ["'model.pkl'", "not an http:// or https:// URL"]),
    ("mypkg.model:load", ["module:attr", "command line"]),
    ("ftp://models.example/m", ["not an http://"]),
    (LogisticRegression, ["class LogisticRegression", "fitted instance"]),
])
def test_adapt_refuses_what_it_cannot_call_and_says_what_it_accepts(model, fragments):
    with pytest.raises(InvalidArgument) as info:
        adapt(model)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(("task", "message"), [
    ("regresion", "did you mean 'regression'"),
    ("multiclass", "must be None or one of 'classification', 'regression'"),
    (1, "got 1"),
])
def test_adapt_checks_task(task, message):
    with pytest.raises(InvalidArgument, match=message):
        adapt(lambda xs: xs, task=task)


def test_task_overrides_what_the_outputs_look_like():
    assert adapt(lambda xs: [1.0] * len(xs), task="regression").predict([1, 2]).task == \
        "regression"
    assert adapt(lambda xs: [0.5] * len(xs), task="classification").predict([1]).task == \
        "classification"
    fixed = CallableAdapter(lambda xs: xs, task="classification")
    assert adapt(fixed, task="classification") is fixed
    with pytest.raises(InvalidArgument, match="pass task to its constructor"):
        adapt(fixed, task="regression")


def test_describe_is_json_ready_and_names_the_library(iris_model):
    described = [adapt(iris_model).describe(), adapt(lambda xs: xs).describe(),
                 adapt(FakeTextClassificationPipeline()).describe(),
                 adapt("http://127.0.0.1:8000/p").describe(), _MyAdapter().describe()]
    for info in described:
        json.dumps(info)
        assert {"kind", "class", "library", "version", "task"} <= set(info)
    sk = described[0]
    assert sk["kind"] == "sklearn" and sk["library"] == "sklearn"
    assert sk["version"] == sklearn.__version__ and sk["class"] == "sklearn.pipeline.Pipeline"
    assert [step for step, _ in sk["steps"]] == ["simpleimputer", "logisticregression"]
    assert [info["kind"] for info in described] == [
        "sklearn", "callable", "transformers", "http", "custom"]


_OUTPUT = st.one_of(
    st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(), st.none(), st.sampled_from(["pos", "neg"]),
    st.integers(-3, 3).map(np.int64), st.floats(-2, 2).map(np.float32),
    st.lists(st.integers(0, 2), min_size=1, max_size=2), st.just({"label": 1}),
    st.complex_numbers(max_magnitude=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(_OUTPUT, min_size=1, max_size=6), st.sampled_from([None, False, True]))
def test_a_list_of_numbers_is_read_as_by_the_general_rules(
        outputs: list[Any], numbers: bool | None) -> None:
    """The one-pass read of a list of numbers (``_numbers``) gives what the general rules
    give, error messages included, for any mix of outputs."""
    from robustcheck import _prediction

    def read() -> Any:
        try:
            pred = _prediction._parse_outputs(list(outputs), len(outputs), numbers=numbers,
                                              classes=None, source="m")
        except ModelOutputError as err:
            return str(err)
        return (pred.task, pred.labels.dtype.str, pred.labels.tolist(),
                None if pred.values is None else pred.values.tolist())

    fast = read()
    original = _prediction._numbers
    _prediction._numbers = lambda items: None  # type: ignore[assignment]
    try:
        general = read()
    finally:
        _prediction._numbers = original
    assert fast == general


def test_a_callable_adapters_errors_name_the_function_it_calls_now() -> None:
    def first(batch: list[str]) -> list[Any]:
        return [None] * len(batch)

    def second(batch: list[str]) -> list[Any]:
        return [None] * len(batch)

    adapter = CallableAdapter(first)
    for fn in (first, second):
        adapter.fn = fn
        with pytest.raises(ModelOutputError, match=f"{fn.__qualname__} returned None"):
            adapter.predict(["a", "b"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True),
       st.lists(st.integers(-7, 7), max_size=8), st.sampled_from(["i1", "i8", "u2", "u8"]),
       st.sampled_from(["i4", "i8", "u1", "u8"]), st.booleans())
def test_integer_labels_find_their_class_columns_as_a_lookup_by_value_does(
        classes: list[int], labels: list[int], label_dtype: str, class_dtype: str,
        missing_ok: bool) -> None:
    """The table of integer classes gives each label the column a dictionary of the
    classes gives it (-1 when absent), and refuses a missing label with the same error."""
    from robustcheck._prediction_data import _label_columns

    if class_dtype[0] == "u":
        classes = [c for c in classes if c >= 0] or [0]
    if label_dtype[0] == "u":
        labels = [v for v in labels if v >= 0]
    cls = np.array(classes, dtype=class_dtype)
    arr = np.array(labels, dtype=label_dtype)
    index = {c: j for j, c in enumerate(classes)}
    want = [index.get(v, -1) for v in labels]
    if not missing_ok and -1 in want and labels:
        i = want.index(-1)
        shown = rf"label (np\.\w+\()?{labels[i]}\)? of input {i} is not one of the classes"
        with pytest.raises(ModelOutputError, match=shown):
            _label_columns(arr, cls)
        return
    assert _label_columns(arr, cls, missing_ok=missing_ok).tolist() == want


@pytest.mark.parametrize("labels, classes, want", [
    ([2**63 + 5, 2**63 - 1, 7], ("i8", [2**63 - 2, 2**63 - 1]), [-1, 1, -1]),
    ([1, 2**64 - 1], ("u8", [2**64 - 2, 2**64 - 1]), [-1, 1]),
    ([2**64 - 1, 0], ("i8", [-1, 0]), [-1, 1]),
])
def test_integer_labels_at_the_ends_of_64_bits_find_their_columns(
        labels: list[int], classes: tuple[str, list[int]], want: list[int]) -> None:
    """Unsigned 64-bit labels against classes near 2**63 or 2**64: no overflow, and no
    label taken for a class it only equals as a float."""
    from robustcheck._prediction_data import _label_columns

    cls = np.array(classes[1], dtype=classes[0])
    got = _label_columns(np.array(labels, dtype="u8"), cls, missing_ok=True)
    assert got.tolist() == want


@pytest.mark.parametrize("outputs", [[1 + 2j, 3 + 0j], np.array([1 + 2j, 3 + 0j])])
def test_complex_numbers_from_a_regression_model_are_refused_not_cut_to_their_real_part(
        outputs: Any) -> None:
    adapter = CallableAdapter(lambda batch: outputs, task="regression")
    with pytest.raises(ModelOutputError, match=r"returned complex numbers .*real numbers"):
        adapter.predict(["a", "b"])
