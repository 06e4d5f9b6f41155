"""The tabular perturbations: the contract on odd frames, then what each one does."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import perturbations
from perturbations import InvalidArgument, ModalityError

TABULAR = perturbations.catalogue(modality="tabular")
NAMES = [p.name for p in TABULAR]
WITH_COLUMNS = [p for p in TABULAR if "columns" in p.parameters]
SEVERITIES = (0.25, 0.5, 1.0)


def mixed(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Every dtype a real table brings, with missing values in most columns."""
    rng = np.random.default_rng(seed)
    price = rng.lognormal(4, 1.5, n).round(2)
    price[::7] = np.nan
    return pd.DataFrame({
        "price": price,
        "score": rng.normal(0, 1, n),
        "count": rng.integers(0, 5000, n),
        "small": rng.integers(0, 100, n).astype(np.uint8),
        "maybe": pd.array([None if i % 5 == 0 else int(i) for i in range(n)], dtype="Int64"),
        "share": pd.array([None if i % 6 == 0 else i / n for i in range(n)], dtype="Float64"),
        "flag": rng.random(n) < 0.5,
        "opt_in": pd.array([None if i % 4 == 0 else i % 3 == 0 for i in range(n)],
                           dtype="boolean"),
        "city": pd.Series([None if i % 9 == 0 else c for i, c in
                           enumerate(rng.choice(["Paris", "oslo", "New York"], n))]),
        "code": pd.array(rng.choice(["a1", "b2"], n), dtype="string"),
        "plan": pd.Categorical(rng.choice(["free", "pro", "team"], n)),
        "when": pd.Timestamp("2024-03-13") + pd.to_timedelta(rng.integers(0, 10**8, n), "s"),
        "local": pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Paris"),
        "day": [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        "empty": np.full(n, np.nan),
        "mixed": [[1, "two", 3.5, None][i % 4] for i in range(n)],
    })


def numbers(n: int = 20_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(10, 2, n), "k": rng.integers(0, 1000, n),
                         "y": rng.uniform(0, 1, n)})


def cell(value: Any, missing: bool) -> Any:
    """A cell in a form where equal cells compare equal: missing is None, strings stay
    distinct from the numbers they spell."""
    if missing:
        return None
    return ("str", value) if isinstance(value, str) else ("other", value)


def cells(frame: pd.DataFrame) -> list[list[Any]]:
    """Each column's cells as :func:`cell` puts them; missing as ``pd.isna`` says of each
    value, asked once per column rather than once per cell."""
    out = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j].astype(object).to_numpy()
        out.append([cell(v, m) for v, m in zip(values, pd.isna(values).tolist())])
    return out


def assert_same_cells(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same labels, index and cell values; dtypes may differ (a batch without any touched
    cell keeps a column's dtype that another batch had to widen)."""
    assert list(left.columns) == list(right.columns)
    assert list(left.index) == list(right.index)
    assert cells(left) == cells(right)


def changed(before: pd.DataFrame, after: pd.DataFrame,
            old: list[list[Any]] | None = None) -> np.ndarray:
    """Which cells of ``before``'s columns differ in ``after`` (matched by label);
    ``old`` is ``cells(before)`` when the caller has it already."""
    old = cells(before) if old is None else old
    new = cells(after[before.columns])
    return np.array([[a != b for a, b in zip(o, w)] for o, w in zip(old, new)]).T


# -- the contract ----------------------------------------------------------------------


def test_the_catalogue_has_every_tabular_perturbation_of_the_design() -> None:
    assert {
        "missing.nan", "missing.none", "missing.empty_string", "missing.sentinel",
        "format.number_as_string", "format.decimal_comma", "format.thousands_separator",
        "format.units", "format.currency", "format.percent", "format.date", "format.boolean",
        "category.unseen", "category.case", "category.whitespace", "noise.gaussian",
        "outlier.extreme", "scale.unit", "drift.mean_shift", "drift.variance",
        "drift.subpopulation", "schema.column_order", "schema.extra_column", "schema.dtype",
    } <= set(NAMES)
    assert all(p.batched and p.severity.strip() for p in TABULAR)


@pytest.mark.parametrize("p", TABULAR, ids=NAMES)
def test_every_perturbation_runs_on_a_mixed_frame_and_never_modifies_it(
    p: perturbations.Perturbation,
) -> None:
    frame = mixed().set_axis([f"r{i}" for i in range(60)])
    reference = mixed(120, seed=5)
    frame_before, reference_before = frame.copy(deep=True), reference.copy(deep=True)
    for severity in SEVERITIES:
        for ref in (None, reference):
            out = p.apply(frame, severity=severity, seed=3, reference=ref)
            assert isinstance(out, pd.DataFrame)
            assert list(out.index) == list(frame.index)
    pd.testing.assert_frame_equal(frame, frame_before)
    pd.testing.assert_frame_equal(reference, reference_before)


@pytest.mark.parametrize("p", TABULAR, ids=NAMES)
def test_a_row_depends_on_its_index_not_on_the_batch_it_travels_in(
    p: perturbations.Perturbation,
) -> None:
    frame = mixed(80)
    whole = p.apply(frame, severity=0.5, seed=11)
    perm = np.random.default_rng(2).permutation(len(frame))
    shuffled = p.apply(frame.iloc[perm], severity=0.5, seed=11, indices=perm, reference=frame)
    assert_same_cells(shuffled, whole.iloc[perm])
    halves = [p.apply(frame.iloc[part], severity=0.5, seed=11, indices=part, reference=frame)
              for part in (np.arange(0, 33), np.arange(33, 80))]
    assert_same_cells(pd.concat(halves), whole)


@pytest.mark.parametrize("p", [p for p in TABULAR if p.family != "schema"],
                         ids=[p.name for p in TABULAR if p.family != "schema"])
def test_a_cell_depends_on_its_column_name_not_on_the_column_order(
    p: perturbations.Perturbation,
) -> None:
    frame = mixed(80)
    backwards = list(frame.columns[::-1])
    whole = p.apply(frame, severity=0.5, seed=12)
    assert_same_cells(p.apply(frame[backwards], severity=0.5, seed=12), whole[backwards])


@pytest.mark.parametrize("p", TABULAR, ids=NAMES)
def test_a_higher_severity_changes_a_superset_of_the_cells(p: perturbations.Perturbation) -> None:
    frame = mixed(200)
    old = cells(frame)
    masks = [changed(frame, p.apply(frame, severity=s, seed=6), old)
             for s in (0.1, 0.3, 0.6, 1.0)]
    for weaker, stronger in itertools.pairwise(masks):
        assert not (weaker & ~stronger).any()
    assert masks[-1].any() or p.family == "schema"


@pytest.mark.parametrize("p", TABULAR, ids=NAMES)
def test_the_same_seed_gives_the_same_frame(p: perturbations.Perturbation) -> None:
    frame = mixed()
    assert_same_cells(p.apply(frame, severity=0.7, seed=5), p.apply(frame, severity=0.7, seed=5))


def test_another_seed_blanks_other_cells() -> None:
    p, frame = perturbations.get("missing.nan"), numbers(500)
    assert (changed(frame, p.apply(frame, severity=1.0, seed=1))
            != changed(frame, p.apply(frame, severity=1.0, seed=2))).any()


def test_no_global_random_state_is_used_or_changed() -> None:
    np.random.seed(123)
    random.seed(123)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    for p in TABULAR:
        p.apply(mixed(), severity=1.0, seed=1)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state, after))
    assert random.getstate() == python_state


@pytest.mark.parametrize("p", WITH_COLUMNS, ids=[p.name for p in WITH_COLUMNS])
def test_an_unknown_column_is_rejected_with_its_name_and_the_choices(
    p: perturbations.Perturbation,
) -> None:
    with pytest.raises(InvalidArgument, match=r"columns.*'nope'.*'price'"):
        p.apply(mixed(), severity=0.5, columns=["price", "nope"])


def test_a_list_of_texts_is_not_a_table() -> None:
    with pytest.raises(ModalityError, match="DataFrame"):
        perturbations.get("missing.nan").apply(["a", "b"], severity=0.5)


@pytest.mark.parametrize("name", ["noise.gaussian", "format.currency", "format.date",
                                  "format.boolean", "scale.unit", "drift.variance"])
def test_a_frame_without_a_suitable_column_comes_back_unchanged(name: str) -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c"], "more": pd.Categorical(["x", "y", "x"])})
    pd.testing.assert_frame_equal(perturbations.get(name).apply(frame, severity=1.0), frame)


@pytest.mark.parametrize("p", TABULAR, ids=NAMES)
def test_duplicate_labels_a_repeated_index_and_one_row_are_handled(
    p: perturbations.Perturbation,
) -> None:
    frame = mixed(12)
    frame.columns = [*frame.columns[:-2], "price", "price"]
    frame.index = [7, 7, 3, 3, 1, 1, 0, 0, 9, 9, 8, 8]
    for part in (frame, frame.iloc[:1]):
        out = p.apply(part, severity=1.0, seed=2)
        assert list(out.index) == list(part.index)


KINDS = {
    "float": st.floats(allow_nan=True, allow_infinity=True),
    "int": st.integers(-(2**63), 2**63 - 1),
    "bool": st.booleans(),
    "text": st.one_of(st.none(), st.text(max_size=6)),
    "object": st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3), st.floats()),
}


@st.composite
def odd_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(1, 8))
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    data = {}
    for i, kind in enumerate(kinds):
        values = draw(st.lists(KINDS[kind], min_size=rows, max_size=rows))
        data[f"{kind}{i}"] = pd.Series(values, dtype=object if kind == "object" else None)
    return pd.DataFrame(data)


@pytest.mark.filterwarnings("error")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=odd_frames(), name=st.sampled_from(NAMES), severity=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**32))
def test_any_small_frame_is_perturbed_without_error(frame: pd.DataFrame, name: str,
                                                     severity: float, seed: int) -> None:
    before = frame.copy(deep=True)
    out = perturbations.get(name).apply(frame, severity=severity, seed=seed)
    assert len(out) == len(frame)
    pd.testing.assert_frame_equal(frame, before)


# -- missing ----------------------------------------------------------------------------


def test_missing_nan_blanks_about_thirty_percent_of_cells_at_full_severity() -> None:
    frame = numbers()
    out = perturbations.get("missing.nan").apply(frame, severity=1.0, seed=0)
    assert abs(out.isna().to_numpy().mean() - 0.3) < 0.01
    assert abs((out["x"].isna() & out["y"].isna()).mean() - 0.09) < 0.01  # columns independent
    half = perturbations.get("missing.nan").apply(frame, severity=0.5, seed=0)
    assert abs(half.isna().to_numpy().mean() - 0.15) < 0.01


def test_missing_none_puts_python_none_in_text_columns_only() -> None:
    frame = mixed(200)
    out = perturbations.get("missing.none").apply(frame, severity=1.0, seed=0)
    for column in ("city", "code", "plan"):
        assert out[column].dtype == object
        assert sum(v is None for v in out[column]) > frame[column].isna().sum()
    pd.testing.assert_series_equal(out["price"], frame["price"])


def test_missing_empty_string_keeps_a_categorical_and_adds_the_empty_category() -> None:
    frame = mixed(200)
    out = perturbations.get("missing.empty_string").apply(frame, severity=1.0, seed=0)
    assert isinstance(out["plan"].dtype, pd.CategoricalDtype)
    assert "" in out["plan"].cat.categories and (out["plan"] == "").any()
    assert (out["code"] == "").any() and out["code"].dtype == frame["code"].dtype
    pd.testing.assert_series_equal(out["count"], frame["count"])


def test_missing_sentinel_writes_the_sentinel_and_keeps_integer_columns_integer() -> None:
    frame = numbers(1000)
    out = perturbations.get("missing.sentinel").apply(frame, severity=1.0, seed=0)
    assert out["k"].dtype == np.int64
    assert 0.25 < (out == -999).to_numpy().mean() < 0.35
    other = perturbations.get("missing.sentinel").apply(frame, severity=1.0, sentinel=-1)
    assert (other["x"] == -1).any() and not (other == -999).any().any()


# -- format ------------------------------------------------------------------------------


def formatted(name: str, values: list[Any], **params: Any) -> list[Any]:
    frame = pd.DataFrame({"v": values})
    return list(perturbations.get(name).apply(frame, severity=1.0, seed=0, **params)["v"])


def test_numbers_as_strings_read_like_python_writes_them() -> None:
    assert formatted("format.number_as_string", [5.0, 0.1, 1234.5678, -2.5, 1e20, 1e-7, 0.0]) \
        == ["5.0", "0.1", "1234.5678", "-2.5", "1e+20", "1e-07", "0.0"]
    assert formatted("format.number_as_string", [12, -3, 0]) == ["12", "-3", "0"]
    assert formatted("format.number_as_string", [-1.5e-5, 2.5e-10, 6.02214076e23]) == [
        "-1.5e-05", "2.5e-10", "6.02214076e+23"]


@example([5e-324, -2.5e-310, 1e-5, 9.999999999999999e14, 1.7976931348623157e308])
@example([1.0304574375959252e-35])  # rounded the wrong way when scaled by powers of ten
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_numbers_as_strings_parse_back_to_the_same_value(values: list[float]) -> None:
    for before, after in zip(values, formatted("format.number_as_string", values)):
        if isinstance(after, str):  # 15 significant digits, as spreadsheets export them
            assert float(after) == pytest.approx(before, rel=5e-15, abs=0.0)
        else:  # the largest floats would round up to inf: left alone
            assert after == before and abs(before) >= 1.79769313486231e308


def test_decimal_comma_writes_a_comma_for_the_point_in_float_columns_only() -> None:
    assert formatted("format.decimal_comma", [5.25, -0.5, 3.0]) == ["5,25", "-0,5", "3,0"]
    frame = numbers(100)
    out = perturbations.get("format.decimal_comma").apply(frame, severity=1.0)
    pd.testing.assert_series_equal(out["k"], frame["k"])
    assert all(float(s.replace(",", ".")) == pytest.approx(x, rel=1e-14)
               for s, x in zip(out["x"], frame["x"]))


def test_thousands_separators_group_large_numbers_and_leave_small_ones_alone() -> None:
    assert formatted("format.thousands_separator", [12345.6, 999.0, -1234567.0, 1e6]) == [
        "12,345.6", 999.0, "-1,234,567.0", "1,000,000.0"]
    assert formatted("format.thousands_separator", [1000, 25]) == ["1,000", 25]


def test_units_follow_the_number_and_the_unit_is_a_parameter() -> None:
    assert formatted("format.units", [5.0, 2.5, -1.25]) == ["5 kg", "2.5 kg", "-1.25 kg"]
    assert formatted("format.units", [12], unit="lb") == ["12 lb"]


def test_currency_cells_look_like_money() -> None:
    assert formatted("format.currency", [1234.5, -3.0, 0.0, 1234567.891, 0.125]) == [
        "$1,234.50", "-$3.00", "$0.00", "$1,234,567.891", "$0.125"]
    assert formatted("format.currency", [1500, -2], symbol="€") == ["€1,500.00", "-€2.00"]
    frame = numbers(300)
    out = perturbations.get("format.currency").apply(frame, severity=1.0)
    money = re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d{2,}$")
    assert all(money.match(v) for v in out.to_numpy().ravel())


def test_percent_reads_fractions_as_fractions_and_other_numbers_as_points() -> None:
    assert formatted("format.percent", [0.25, 0.5, 1.0, 0.0, 0.07]) == [
        "25%", "50%", "100%", "0%", "7%"]
    assert formatted("format.percent", [12.5, 150.0, -3.0]) == ["12.5%", "150%", "-3%"]


def test_format_date_rewrites_each_date_in_a_convention_that_reads_back_to_it() -> None:
    frame = mixed(400)
    out = perturbations.get("format.date").apply(frame, severity=1.0, seed=0)
    layouts = {"day-first": r"\d\d/\d\d/\d{4}", "ISO": r"\d{4}-\d\d-\d\dT",
               "month name": r"\d{1,2} [A-Z][a-z]{2} \d{4}"}
    seen = set()
    for before, after in zip(frame["when"], out["when"]):
        assert isinstance(after, str)
        seen |= {name for name, pattern in layouts.items() if re.match(pattern, after)}
        readings = [pd.to_datetime(after, format=f, errors="coerce") for f in (
            "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
            "%d %b %Y %H:%M:%S", "%d/%m/%Y", "%m/%d/%Y", "%d %b %Y")]
        assert before in readings, (before, after)
    assert seen == set(layouts)
    for before, after in zip(frame["local"], out["local"]):  # with their UTC offset
        assert before in [pd.to_datetime(after, format=f + "%z", errors="coerce") for f in (
            "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d %b %Y %H:%M:%S")]
    assert (out["day"] != frame["day"]).all()  # date strings are recognised too
    assert out["city"].equals(frame["city"])


def test_format_boolean_writes_words_that_keep_the_truth_value() -> None:
    frame = mixed(300)
    out = perturbations.get("format.boolean").apply(frame, severity=1.0, seed=0)
    truth = {"yes": True, "no": False, "Y": True, "N": False, "1": True, "0": False,
             "true": True, "false": False, "TRUE": True, "FALSE": False}
    assert {truth[w] for w in out["flag"]} == {True, False}
    assert [truth[w] for w in out["flag"]] == list(frame["flag"])
    assert len(set(out["flag"])) == len(truth)
    assert out["opt_in"].isna().sum() == frame["opt_in"].isna().sum()


# -- category ------------------------------------------------------------------------------


def test_unseen_categories_are_absent_from_the_reference() -> None:
    frame = mixed(300)
    reference = pd.concat([frame, pd.DataFrame({"city": ["unseen_value_1"]})])
    out = perturbations.get("category.unseen").apply(frame, severity=1.0, seed=0,
                                                     reference=reference)
    for column in ("city", "code", "plan"):
        new = set(out[column].dropna()) - set(frame[column].dropna())
        assert new and not new & set(reference[column].dropna())
        assert 0.2 < (out[column].astype(object) != frame[column].astype(object)).mean() < 0.4
    assert isinstance(out["plan"].dtype, pd.CategoricalDtype)


def test_case_variants_differ_only_in_case() -> None:
    frame = mixed(200)
    out = perturbations.get("category.case").apply(frame, severity=1.0, seed=0)
    for column in ("city", "code", "plan"):
        pairs = [(a, b) for a, b in zip(frame[column], out[column]) if isinstance(a, str)]
        assert all(a.lower() == b.lower() for a, b in pairs)
        assert any(a != b for a, b in pairs)
    assert all(a is b for a, b in zip(frame["mixed"], out["mixed"]) if not isinstance(a, str))


def test_whitespace_variants_strip_back_to_the_value() -> None:
    frame = mixed(200)
    out = perturbations.get("category.whitespace").apply(frame, severity=1.0, seed=0)
    for column in ("city", "code", "plan"):
        pairs = [(a, b) for a, b in zip(frame[column], out[column]) if isinstance(a, str)]
        assert all(b.strip() == a and b != a for a, b in pairs)
    assert {b[0] for b in out["city"].dropna()} | {b[-1] for b in out["city"].dropna()} >= {
        " ", "\t"}


# -- noise, outliers, units --------------------------------------------------------------


@pytest.mark.parametrize("severity", [0.25, 0.5, 1.0])
def test_gaussian_noise_sigma_is_a_share_of_the_standard_deviation(severity: float) -> None:
    frame = numbers()
    out = perturbations.get("noise.gaussian").apply(frame, severity=severity, seed=0)
    delta = out["x"] - frame["x"]
    assert delta.std() == pytest.approx(0.2 * severity * frame["x"].std(), rel=0.03)
    assert abs(delta.mean()) < 0.01
    assert out["k"].dtype == np.int64 and (out["k"] != frame["k"]).any()


def test_gaussian_noise_is_scaled_by_the_reference_not_the_batch() -> None:
    frame, reference = numbers(2000), numbers()
    reference["x"] *= 10
    out = perturbations.get("noise.gaussian").apply(frame, severity=1.0, reference=reference)
    assert (out["x"] - frame["x"]).std() == pytest.approx(0.2 * reference["x"].std(), rel=0.05)


def test_outliers_land_far_outside_the_reference_range() -> None:
    frame = numbers()
    out = perturbations.get("outlier.extreme").apply(frame, severity=1.0, seed=0)
    hit = out["x"] != frame["x"]
    assert 0.09 < hit.mean() < 0.11
    spread = frame["x"].std(ddof=0)
    far = (out["x"][hit] > frame["x"].max() + 9.99 * spread) | (
        out["x"][hit] < frame["x"].min() - 9.99 * spread)
    assert far.all() and (out["x"][hit] > frame["x"].max()).any() and (
        out["x"][hit] < frame["x"].min()).any()
    near = perturbations.get("outlier.extreme").apply(frame, severity=1.0, distance=1.0)
    assert near["x"].max() < frame["x"].max() + 1.01 * spread
    assert out["k"].dtype == np.int64


def test_unit_change_multiplies_the_chosen_cells_by_the_factor() -> None:
    frame = numbers(1000)
    out = perturbations.get("scale.unit").apply(frame, severity=0.5, seed=0)
    hit = (out != frame).to_numpy()
    assert 0.4 < hit.mean() < 0.6
    np.testing.assert_allclose(out.to_numpy()[hit], 1000 * frame.to_numpy()[hit])
    assert out["k"].dtype == np.int64
    whole = perturbations.get("scale.unit").apply(frame, severity=1.0, factor=0.001)
    np.testing.assert_allclose(whole.to_numpy(), frame.to_numpy() / 1000)
    assert whole["k"].dtype == np.float64


# -- drift --------------------------------------------------------------------------------


@pytest.mark.parametrize("severity", [0.5, 1.0])
def test_mean_shift_moves_every_value_by_severity_standard_deviations(severity: float) -> None:
    frame = numbers()
    out = perturbations.get("drift.mean_shift").apply(frame, severity=severity)
    np.testing.assert_allclose(out["x"] - frame["x"], severity * frame["x"].std(ddof=0))
    down = perturbations.get("drift.mean_shift").apply(frame, severity=severity, shift=-2.0)
    assert down["y"].mean() == pytest.approx(frame["y"].mean() - 2 * severity * frame["y"].std(),
                                             rel=1e-3)


@pytest.mark.parametrize("severity", [0.5, 1.0])
def test_variance_drift_stretches_the_spread_and_keeps_the_mean(severity: float) -> None:
    frame = numbers()
    out = perturbations.get("drift.variance").apply(frame, severity=severity)
    assert out["x"].std() == pytest.approx((1 + severity) * frame["x"].std(), rel=1e-9)
    assert out["x"].mean() == pytest.approx(frame["x"].mean(), rel=1e-9)


def test_subpopulation_replaces_rows_by_reference_rows_of_the_top_quartile() -> None:
    frame = numbers(4000)
    p = perturbations.get("drift.subpopulation")
    out = p.apply(frame, severity=1.0, seed=0, by="y")
    replaced = (out != frame).any(axis=1)
    assert 0.45 < replaced.mean() < 0.55
    assert (out["y"][replaced] >= frame["y"].quantile(0.75)).all()
    rows = set(map(tuple, frame.to_numpy()))
    assert all(tuple(r) in rows for r in out[replaced].to_numpy())
    chosen = p.apply(frame, severity=1.0, seed=0)  # `by` drawn from the seed
    assert (chosen != frame).any(axis=1).mean() > 0.4


def test_subpopulation_rejects_a_bad_column_or_quantile() -> None:
    p = perturbations.get("drift.subpopulation")
    with pytest.raises(InvalidArgument, match=r"by: 'nope'.*'x'"):
        p.apply(numbers(10), severity=1.0, by="nope")
    with pytest.raises(InvalidArgument, match="quantile"):
        p.apply(numbers(10), severity=1.0, quantile=1.0)


# -- schema -------------------------------------------------------------------------------


def test_column_order_is_a_permutation_that_moves_more_columns_with_severity() -> None:
    frame = mixed(20)
    p = perturbations.get("schema.column_order")
    moved = []
    for severity in (0.1, 0.5, 1.0):
        out = p.apply(frame, severity=severity, seed=4)
        assert sorted(out.columns) == sorted(frame.columns)
        assert_same_cells(out[frame.columns], frame)
        moved.append(sum(a != b for a, b in zip(out.columns, frame.columns)))
    assert moved == [2, 8, 16]
    chunk = p.apply(frame.iloc[5:9], severity=0.5, seed=4, indices=range(5, 9))
    assert list(chunk.columns) == list(p.apply(frame, severity=0.5, seed=4).columns)


def test_extra_columns_are_appended_without_touching_the_others() -> None:
    frame = numbers(50).assign(extra=1)
    p = perturbations.get("schema.extra_column")
    one, three = p.apply(frame, severity=0.25), p.apply(frame, severity=1.0)
    assert list(one.columns[:4]) == list(frame.columns) and one.shape[1] == 5
    assert three.shape[1] == 7 and len(set(three.columns)) == 7
    pd.testing.assert_frame_equal(three[frame.columns], frame)
    assert three.iloc[:, 4].dtype == np.float64 and three.iloc[:, 6].dtype == np.int64
    assert three.iloc[:, 5].map(type).eq(str).all()


def test_schema_dtype_changes_dtypes_but_not_values() -> None:
    frame = mixed(30)
    out = perturbations.get("schema.dtype").apply(frame, severity=1.0, seed=0)
    convertible = ["price", "score", "count", "small", "maybe", "share", "flag", "opt_in",
                   "code", "plan", "empty"]
    for column in convertible:
        assert out[column].dtype != frame[column].dtype, column
        for old, new in zip(frame[column].astype(object), out[column].astype(object)):
            assert (pd.isna(old) and pd.isna(new)) or (
                old == new if isinstance(old, str) else float(new) == pytest.approx(float(old),
                                                                                  rel=1e-6))
    some = perturbations.get("schema.dtype").apply(frame, severity=0.2, seed=0)
    assert 1 <= sum(some[c].dtype != frame[c].dtype for c in frame.columns) < len(convertible)
