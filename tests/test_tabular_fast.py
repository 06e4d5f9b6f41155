"""Fast tables (issue 17): the vectorised renderers of the ``format.*`` perturbations
against simple per-value references, and the runner's change detection and row keys
(``robustcheck._data``) against naive per-row comparisons."""

from __future__ import annotations

import decimal
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import perturbations
from perturbations import _tabular_render as render
from perturbations._tabular_columns import as_objects
from robustcheck import _data
from robustcheck._data import changed_rows, unit_keys

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
# drawing a whole frame of odd columns costs Hypothesis far more than the check itself
FRAME_SETTINGS = settings(SETTINGS, max_examples=60)

# -- numbers as text ------------------------------------------------------------------


def reference_positional(a: float, negative: bool, style: render.Style) -> str:
    """One non-negative float below 1e15, the renderer's arithmetic done per value with
    Python ints and f-strings: 15 significant digits, trailing zeros dropped."""
    places = 0 if a == 0 else min(max(14 - math.floor(np.log10(a)), 0), 18)
    scaled = float(np.round(a * 10.0**places))
    if scaled < 1e14 and a > 0 and places < 18:
        places += 1
        scaled = float(np.round(a * 10.0**places))
    elif scaled >= 1e15 and places > 0:
        places -= 1
        scaled = float(np.round(a * 10.0**places))
    whole, fraction = divmod(int(scaled), 10**places)
    digits = f"{fraction:0{places}d}" if places else ""
    digits = digits.rstrip("0")
    digits += "0" * max(0, style.min_decimals - len(digits))
    grouped = f"{whole:,}".replace(",", style.group)
    return (f"{'-' if negative else ''}{style.prefix}{grouped}"
            + (style.point + digits if digits else ""))


def reference_number(x: float | int, style: render.Style, integer: bool) -> str:
    if integer:
        grouped = f"{abs(int(x)):,}".replace(",", style.group)
        decimals = style.point + "0" * style.int_decimals if style.int_decimals else ""
        return f"{'-' if x < 0 else ''}{style.prefix}{grouped}{decimals}{style.suffix}"
    a = abs(x)
    if a == 0 or 1e-4 <= a < 1e15:
        return reference_positional(a, x < 0, style) + style.suffix
    mantissa, exponent = f"{a:.14e}".split("e")
    text = reference_positional(float(mantissa), x < 0, style._replace(min_decimals=0))
    power = int(exponent)
    return f"{text}e{'-' if power < 0 else '+'}{abs(power):02d}{style.suffix}"


STYLES = [
    render.Style(),  # format.number_as_string
    render.Style(point=","),  # format.decimal_comma
    render.Style(group=","),  # format.thousands_separator
    render.Style(min_decimals=0, suffix=" kg"),  # format.units
    render.Style(group=",", min_decimals=2, int_decimals=2, prefix="$"),  # format.currency
    render.Style(group=".", point=",", min_decimals=2, int_decimals=2, prefix="€"),
    render.Style(min_decimals=0, suffix="%"),  # format.percent
]

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.sampled_from([0.0, -0.0, 1e-4, 9.9999999999999995e-05, 1e15, 999999999999999.9,
                     0.1 + 0.2, 9.999999999999999, 5e-324, 1.7976931348623157e308, 0.5,
                     123456.7890123456, -2.5, 1000.0, 999.9999999999999]),
)


def rendered(values: list[Any], style: render.Style, dtype: Any,
             scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    s = pd.Series(values, dtype=dtype)
    hit, texts = render.number_texts(s, np.ones(len(s), dtype=bool), style, scale=scale)
    return hit, texts, s


@SETTINGS
@given(st.lists(FLOATS, min_size=1, max_size=40), st.sampled_from(STYLES))
@example([1234567.891, -0.000123, float("nan"), 1e20, -1.5e-7, 0.0], STYLES[4])
def test_float_texts_equal_a_per_value_reference(values: list[float],
                                                  style: render.Style) -> None:
    hit, texts, s = rendered(values, style, np.float64)
    # NaN, inf and what rounds up to inf at 15 digits are left alone
    finite = np.abs(s.to_numpy()) < 1.79769313486231e308
    np.testing.assert_array_equal(hit, finite)
    expected = [reference_number(x, style, integer=False) for x in s[finite]]
    assert texts.tolist() == expected
    for text, x in zip(texts.tolist(), s[finite]):  # and the text reads back as the value
        plain = text.replace(style.prefix, "", 1).removesuffix(style.suffix)
        if style.group:
            plain = plain.replace(style.group, "")
        back = float(plain.replace(style.point, "."))
        assert back == pytest.approx(x, rel=1e-14, abs=0.0)


@SETTINGS
@given(st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), min_size=1,
                max_size=40),
       st.sampled_from(STYLES))
@example([0, -1, 999, 1000, -1000, 2**63 - 1, -(2**63) + 1, 1234567], STYLES[4])
def test_integer_texts_equal_a_per_value_reference(values: list[int],
                                                    style: render.Style) -> None:
    hit, texts, _ = rendered(values, style, np.int64)
    assert hit.all()
    assert texts.tolist() == [reference_number(x, style, integer=True) for x in values]


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), min_size=1, max_size=30),
       st.sampled_from(STYLES))
def test_nullable_integers_skip_missing_cells(values: list[int | None],
                                             style: render.Style) -> None:
    hit, texts, _ = rendered(values, style, "Int64")
    np.testing.assert_array_equal(hit, [v is not None for v in values])
    assert texts.tolist() == [reference_number(v, style, integer=True)
                              for v in values if v is not None]


@SETTINGS
@given(st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=1, max_size=30))
def test_percent_of_fractions_is_the_value_times_100(values: list[float]) -> None:
    style = render.Style(min_decimals=0, suffix="%")
    _, texts, _ = rendered(values, style, np.float64, scale=100.0)
    assert texts.tolist() == [reference_number(x * 100.0, style, integer=False)
                              for x in values]


def test_the_two_extreme_int64_values_and_infinities_are_left_alone() -> None:
    values = [np.iinfo(np.int64).min, 5, np.iinfo(np.int64).max]
    hit, texts, _ = rendered(values, render.Style(), np.int64)
    np.testing.assert_array_equal(hit, [False, True, True])
    assert texts.tolist() == ["5", "9223372036854775807"]
    hit, texts, _ = rendered([np.inf, -np.inf, 1.7976931348623157e308], render.Style(),
                             np.float64)
    assert not hit.any() and texts.size == 0  # the largest float rounds up to inf


# -- dates as text --------------------------------------------------------------------


def reference_date(stamp: pd.Timestamp, style: int) -> str:
    clock = f"{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}"
    if stamp.microsecond:
        clock += f".{stamp.microsecond:06d}"
    if stamp.tz is not None:
        minutes = round(stamp.utcoffset().total_seconds() / 60)
        sign = "-" if minutes < 0 else "+"
        clock += f"{sign}{abs(minutes) // 60 % 100:02d}:{abs(minutes) % 60:02d}"
    timed = stamp.tz is not None or (stamp.hour, stamp.minute, stamp.second,
                                     stamp.microsecond) != (0, 0, 0, 0)
    spaced = f" {clock}" if timed else ""
    year = f"{stamp.year:04d}"
    if style == 0:
        return f"{stamp.day:02d}/{stamp.month:02d}/{year}{spaced}"
    if style == 1:
        return f"{stamp.month:02d}/{stamp.day:02d}/{year}{spaced}"
    if style == 2:
        return f"{year}-{stamp.month:02d}-{stamp.day:02d}T{clock}"
    return f"{stamp.day} {stamp.strftime('%b')} {year}{spaced}"


@SETTINGS
@given(st.lists(st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
                             max_value=pd.Timestamp("2200-12-31").to_pydatetime()),
                min_size=1, max_size=30),
       st.sampled_from([None, "UTC", "Europe/Berlin", "America/St_Johns"]),
       st.randoms(use_true_random=False))
def test_date_texts_equal_a_per_value_reference(stamps: list[Any], tz: str | None,
                                                rnd: Any) -> None:
    index = pd.DatetimeIndex(stamps).as_unit("us")
    if tz is not None:
        index = index.tz_localize("UTC").tz_convert(tz)
    style = np.array([rnd.randrange(4) for _ in stamps], dtype=np.intp)
    texts = render.date_texts(index, style)
    assert texts.tolist() == [reference_date(t, int(k)) for t, k in zip(index, style)]


# -- values boxed once per distinct date ---------------------------------------------------


@pytest.mark.parametrize("dtype", ["datetime64[s]", "datetime64[ns]", "timedelta64[ns]",
                                   "datetime64[ns, Europe/Berlin]"])
def test_boxing_repeated_dates_once_gives_what_pandas_gives(dtype: str) -> None:
    if dtype.startswith("timedelta"):
        s = pd.Series(pd.to_timedelta(["1s", None, "1s", "2h", "1s"])).astype(dtype)
    else:
        s = pd.Series(pd.to_datetime(["2024-03-13", None, "2024-03-13", "2024-03-13 10:00",
                                      "2024-03-13"], format="ISO8601"))
        s = s.dt.tz_localize("Europe/Berlin") if "Berlin" in dtype else s.astype(dtype)
    got, want = as_objects(s), s.to_numpy(dtype=object)
    assert [(type(x), repr(x), getattr(x, "unit", None)) for x in got] == \
        [(type(x), repr(x), getattr(x, "unit", None)) for x in want]


def test_recasing_repeated_values_equals_recasing_each_cell() -> None:
    # few distinct values are re-cased once each; all-distinct values cell by cell
    base = pd.DataFrame({"city": pd.Series(["Paris", "oslo", None, "LIMA"] * 50,
                                           dtype=object)})
    out = perturbations.get("category.case").apply(base, severity=1.0, seed=4)
    unique = base.copy()
    unique["city"] = [None if v is None else f"{v}{'-' * i}" for i, v in
                      enumerate(base["city"])]
    spelled = perturbations.get("category.case").apply(unique, severity=1.0, seed=4)
    for got, each, original in zip(out["city"], spelled["city"], base["city"]):
        if original is None:
            assert got is None
        else:
            assert got == each[: len(original)]  # the same case chosen for the same row


# -- change detection and row keys ----------------------------------------------------------

KINDS = {float: "float", np.float64: "float", np.float32: "float", int: "int",
         np.int64: "int", bool: "bool", np.bool_: "bool", str: "str", np.str_: "str"}


def naive_cell(value: Any) -> Any:
    """A cell as row keys should see it: missing, or (kind, value)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ("missing",)
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return ("missing",)
    if isinstance(value, decimal.Decimal) and value.is_nan():
        return ("missing",)
    kind = KINDS.get(type(value), type(value))
    if kind == "float":
        return (kind, float(value) + 0.0)
    return (kind, value)


def same_partition(a: np.ndarray, b: list[Any]) -> bool:
    pairs = set(zip(np.asarray(a).tolist(), b))
    return len(pairs) == len(set(np.asarray(a).tolist())) == len(set(b))


def naive_keys(frame: pd.DataFrame) -> list[Any]:
    return [tuple(naive_cell(frame.iat[i, j]) for j in range(frame.shape[1]))
            for i in range(len(frame))]


POOL: list[Any] = [0, 1, 5, "5", 5.0, -0.0, 0.0, True, False, 1.0, "a", "A", "",
                   None, np.nan, pd.NA, (1, 2), np.float32(2.5), np.int64(7),
                   decimal.Decimal("1.5"), decimal.Decimal("NaN"), pd.Timestamp("2024-01-01")]


COLUMN_KINDS = ("float", "int", "bool", "object", "category", "string", "Int64", "Float64",
                "datetime", "float32", "uint8")


@st.composite
def frames(draw: Any, rows: int | None = None, kinds: tuple[str, ...] = COLUMN_KINDS,
           min_columns: int = 1, names: bool = False, pool: list[Any] | None = None
           ) -> pd.DataFrame:
    """Small frames of the given column kinds, with few distinct values (many equal rows);
    ``names``: columns sometimes named by their kind, sometimes not; ``pool``: the cells
    of object columns (default :data:`POOL`)."""
    n = rows if rows is not None else draw(st.integers(0, 30))
    small = st.integers(0, 3)  # few distinct values: many equal rows
    columns: dict[str, Any] = {}
    for k, kind in enumerate(draw(st.lists(st.sampled_from(kinds), min_size=min_columns,
                                           max_size=6))):
        codes = draw(st.lists(small, min_size=n, max_size=n))
        if kind == "float":
            col: Any = np.array([[0.5, -0.0, 0.0, np.nan][c] for c in codes])
        elif kind == "float32":
            col = np.array([[0.5, -0.0, 1e-40, np.nan][c] for c in codes], dtype=np.float32)
        elif kind == "int":
            col = np.array([[-(2**63), 2**63 - 1, 0, 7][c] for c in codes], dtype=np.int64)
        elif kind == "uint8":
            col = np.array(codes, dtype=np.uint8)
        elif kind == "bool":
            col = np.array([c % 2 == 0 for c in codes])
        elif kind == "object":
            picks = draw(st.lists(st.sampled_from(pool or POOL), min_size=n, max_size=n))
            col = pd.Series(picks, dtype=object)
        elif kind == "category":
            col = pd.Categorical([["x", "y", None, "x"][c] for c in codes])
        elif kind == "intcat":
            col = pd.Categorical([[1, 5, None, 5][c] for c in codes])
        elif kind == "string":
            col = pd.array([["x", "y", None, ""][c] for c in codes], dtype="string")
        elif kind == "str":
            col = pd.Series([["x", "5", None, ""][c] for c in codes], dtype="str")
        elif kind == "Int64":
            col = pd.array([[1, 2, None, 2][c] for c in codes], dtype="Int64")
        elif kind == "Float64":
            col = pd.array([[1.5, -0.0, None, 0.0][c] for c in codes], dtype="Float64")
        else:
            col = pd.to_datetime(pd.Series([["2024-01-01", None, "2024-01-02", "2024-01-01"]
                                             [c] for c in codes], dtype=object))
        columns[f"{kind}_{k}" if not names or draw(st.booleans()) else f"c{k}"] = col
    return pd.DataFrame(columns, index=range(n))


def naive_changed(before: pd.DataFrame, after: pd.DataFrame) -> list[bool]:
    def differ(x: Any, y: Any) -> bool:
        x_missing, y_missing = bool(pd.isna(x)), bool(pd.isna(y))
        if x_missing or y_missing:
            return x_missing != y_missing
        try:
            return bool(x != y)
        except (TypeError, ValueError):
            return x is not y

    return [any(differ(before.iat[i, j], after.iat[i, j]) for j in range(before.shape[1]))
            for i in range(len(before))]


@FRAME_SETTINGS
@given(st.data())
def test_changed_rows_agree_with_a_naive_comparison(data: Any) -> None:
    before = data.draw(frames())
    other = data.draw(frames(rows=len(before)))
    after = before.copy()
    # cells of the same dtype from another frame, column by column
    for j, column in enumerate(before.columns):
        donors = [c for c in other.columns if other[c].dtype == before[column].dtype]
        if donors and len(before):
            mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(before),
                                               max_size=len(before))))
            values = before[column].to_numpy(dtype=object).copy()
            values[mask] = other[donors[0]].to_numpy(dtype=object)[mask]
            after.isetitem(j, pd.Series(values, dtype=object).astype(before[column].dtype)
                           if before[column].dtype != object else pd.Series(values,
                                                                            dtype=object))
    if list(after.dtypes) != list(before.dtypes):
        return  # a cast changed the dtype: every row counts as changed, nothing to compare
    assert changed_rows(before, after).tolist() == naive_changed(before, after)


@pytest.mark.parametrize("cells", [1, 7, 1 << 23])
def test_wide_frames_are_compared_and_keyed_block_by_block(
        cells: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_data, "_BLOCK_CELLS", cells)  # blocks of 1 column, a few, all
    rng = np.random.default_rng(3)
    n, m = 40, 25
    before = pd.DataFrame(rng.integers(0, 2, (n, m)).astype(float),
                          columns=[f"c{i}" for i in range(m)])
    before.iloc[::5, 3] = np.nan
    before["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 2, n),
                                                                   unit="D")
    before["n"] = rng.integers(0, 2, n)
    after = before.copy()
    after.iloc[1, 0] = 5.0
    after.iloc[2, 3] = np.nan if not np.isnan(before.iloc[2, 3]) else 1.0
    after.iloc[7, before.columns.get_loc("when")] = pd.NaT
    after.iloc[9, before.columns.get_loc("n")] = 9
    assert changed_rows(before, after).tolist() == naive_changed(before, after)
    assert same_partition(unit_keys(after, np.arange(n)), naive_keys(after))


# -- the runner's tabular path ------------------------------------------------------------


def test_a_model_that_writes_into_its_batch_changes_neither_the_data_nor_the_result() -> None:
    # batches of consecutive rows are slices of the data (copy-on-write, pandas 3)
    import robustcheck

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=600), "y": rng.normal(size=600)})
    before = frame.copy()

    def reads(batch: pd.DataFrame) -> list[int]:
        return (batch["x"] > 0).astype(int).tolist()

    def reads_then_writes(batch: pd.DataFrame) -> list[int]:
        out = reads(batch)
        batch.iloc[:, 0] = -1.0  # scales its input in place, say
        batch.loc[batch.index, "y"] = 0.0
        return out

    kwargs = {"perturbations": ["noise.gaussian", "missing.nan"], "severities": [0.5],
              "batch_size": 50, "progress": False}
    clean = robustcheck.run(reads, frame, **kwargs)
    writing = robustcheck.run(reads_then_writes, frame, **kwargs)
    pd.testing.assert_frame_equal(frame, before)
    assert len(writing.rows) == 2
    for a, b in zip(writing.rows, clean.rows):
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.changed, b.changed)
        assert a.metrics["flip_rate"].value == b.metrics["flip_rate"].value


def test_model_calls_take_4096_rows_or_256_texts_unless_batch_size_says() -> None:
    import robustcheck

    sizes: list[int] = []

    def model(batch: Any) -> list[int]:
        sizes.append(len(batch))
        return [0] * len(batch)

    frame = pd.DataFrame({"x": np.arange(10_000, dtype=float)})
    robustcheck.run(model, frame, perturbations=["missing.nan"], progress=False)
    assert max(sizes) == 4096
    sizes.clear()
    robustcheck.run(model, frame, perturbations=["missing.nan"], batch_size=1000,
                    progress=False)
    assert max(sizes) == 1000
    sizes.clear()
    robustcheck.run(model, [f"text {i}" for i in range(1000)], perturbations=["case.upper"],
                    progress=False)
    assert max(sizes) == 256
