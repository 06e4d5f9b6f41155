"""The runner on other executors: a process pool and a real Dask cluster on loopback
give exactly the in-process result."""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import perturbations
import robustcheck

TEXTS = [f"{a} {b}" for a in ("great food", "awful service", "lovely staff", "cold pizza",
                              "fast delivery", "rude waiter") for b in ("today", "in Paris",
                                                                        "isn't it", "again")]
LABELS = [int(t.startswith(("great", "lovely", "fast"))) for t in TEXTS]
SUITE = ["typo", "homoglyph", "entity.person", "case.upper"]


@pytest.fixture(scope="module")
def model() -> Any:
    return make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)),
                         LogisticRegression()).fit(TEXTS, LABELS)


def without_timings(result: robustcheck.RunResult) -> str:
    d = json.loads(result.to_json())
    d.pop("timings")
    return json.dumps(d, sort_keys=True)


def test_registered_perturbations_pickle_by_name_even_when_built_by_a_closure() -> None:
    homoglyph = perturbations.get("homoglyph.cyrillic")
    copy = pickle.loads(pickle.dumps(homoglyph))
    assert copy is homoglyph
    german = perturbations.get("typo.keyboard").configure(layout="de")
    assert pickle.loads(pickle.dumps(german)).parameters["layout"] == "de"


def test_a_process_pool_gives_the_in_process_result(model: Any) -> None:
    local = robustcheck.run(model, TEXTS, LABELS, perturbations=SUITE, seed=1)
    with ProcessPoolExecutor(2) as pool:
        pooled = robustcheck.run(model, TEXTS, LABELS, perturbations=SUITE, seed=1,
                                 executor=pool)
    assert without_timings(pooled) == without_timings(local)


@pytest.mark.slow  # starts a local Dask cluster: a scheduler and two worker processes
def test_a_dask_cluster_gives_the_in_process_result(model: Any) -> None:
    distributed = pytest.importorskip("distributed")
    local = robustcheck.run(model, TEXTS, LABELS, perturbations=SUITE, seed=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_cluster = robustcheck.run(model, TEXTS, LABELS, perturbations=SUITE, seed=2,
                                     executor=client.get_executor())
        assert len(client.scheduler_info()["workers"]) == 2
    assert without_timings(on_cluster) == without_timings(local)
