"""The comparison report of two image models: flipped samples as pictures, and the mCE
line (read defensively from the file)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import robustcheck
from robustcheck import report

sklearn = pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    digits = load_digits()
    images = (digits.images * 255 / 16).round().astype(np.uint8)
    x, y = images[:600].reshape(600, -1) / 255, digits.target[:600]
    test, truth = images[600:800], digits.target[600:800]
    a = robustcheck.run(robustcheck.adapt(SVC().fit(x * 255, y),
                                          flatten=True), test, truth, name="svc",
                        perturbations=["orientation.mirror"], severities=[1.0],
                        progress=False)
    b = robustcheck.run(robustcheck.adapt(LogisticRegression(max_iter=300).fit(x * 255, y),
                                          flatten=True), test, truth, name="logistic",
                        perturbations=["orientation.mirror"], severities=[1.0],
                        progress=False)
    return dict(json.loads(robustcheck.compare(a, b).to_json()))


def test_flipped_image_samples_show_as_pictures(comparison: dict[str, Any]) -> None:
    html = report.render_comparison(comparison)
    flips = html[html.index('id="flips"'):]
    assert flips.count('<img src="data:image/png;base64,') >= 2


def test_the_mce_line_is_written_and_hostile_values_stay_text(
        comparison: dict[str, Any]) -> None:
    good = {**comparison, "mce": {
        "mce": {"value": 1.25, "low": 1.1, "high": 1.4, "per_corruption": [{}, {}, {}]},
        "relative_mce": None, "why": {"relative_mce": "<script>alert(1)</script>"}}}
    html = report.render_comparison(good)
    assert "mCE of B against A: 1.250 [1.100, 1.400] over 3 corruptions" in html
    assert "relative mCE of B against A: undefined (&lt;script&gt;alert(1)&lt;/script&gt;)" \
        in html
    hostile = {**comparison, "mce": {"mce": {"value": "<i>x</i>", "low": [], "high": {}}}}
    html = report.render_comparison(hostile)
    assert "mCE of B against A: undefined (not defined)" in html and "<i>x</i>" not in html
    assert 'id="mce"' not in report.render_comparison({**comparison, "mce": "nonsense"})
