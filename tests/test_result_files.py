"""Result files that cannot hurt (issue 10, items 10, 13 and 14).

Writing: any string a result holds (a scraped input with a lone surrogate, a crash
message, a name) is written as valid UTF-8 and reads back unchanged; files get the
permissions ``open()`` would give. Reading: a damaged, truncated or hostile file (a
zlib bomb, JSON nested a million deep, numbers past any float, arrays of the wrong
length) is a ResultFileError naming the file and what is wrong, with bounded memory;
never another exception, never a result that breaks ``compare`` later.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import os
import re
import stat
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# In-process pytester runs drop the modules a run imported; numpy cannot be imported
# twice in one process, so everything heavy is imported here, before any run.
import robustcheck
import robustcheck.comparison
import robustcheck.runner
from robustcheck.errors import ResultFileError, RobustcheckError
from robustcheck.results import Failures, RunResult, pack, unpack, write_atomic

pytest_plugins = ["pytester"]

TEXTS = [f"review {i}: " + "good food " * (i % 4) + "slow service " * (i % 3)
         for i in range(32)]
LABELS = [len(t) % 2 for t in TEXTS]
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def parity(batch: list[str]) -> list[int]:
    return [len(x) % 2 for x in batch]


@pytest.fixture(scope="module")
def result() -> RunResult:
    return robustcheck.run(parity, TEXTS, LABELS, perturbations=["case.upper", "typo.keyboard"],
                           severities=[1.0], progress=False)


@pytest.fixture(scope="module")
def document(result: RunResult) -> dict[str, Any]:
    """The result as parsed JSON: each test damages a deep copy of it."""
    return json.loads(result.to_json())


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), "utf-8")
    return path


# -- lone surrogates (item 10) ---------------------------------------------------------


def test_a_lone_surrogate_in_any_string_is_written_escaped_and_read_back_unchanged(
    tmp_path: Path,
) -> None:
    texts = [*TEXTS[:31], "scraped \ud800 text"]

    def model(batch: list[str]) -> list[int]:
        for x in batch:
            if "\ud800" in x:
                raise ValueError(f"cannot read {x}")
        return parity(batch)

    result = robustcheck.run(model, texts, LABELS, perturbations=["case.upper"],
                             severities=[1.0], progress=False, name="model \udc80")
    path = tmp_path / "result.json"
    result.to_json(path)
    path.read_bytes().decode("utf-8")  # strict: the file is valid UTF-8
    loaded = robustcheck.load(path)
    # compared through ascii(): a failure report holding a lone surrogate cannot be sent
    # back from an xdist worker
    assert ascii(loaded.name) == ascii("model \udc80")
    assert any("\ud800" in c["message"] and c["input"] == "scraped \ud800 text"
               for c in loaded.crashes)
    assert ascii(loaded.crashes) == ascii(result.crashes)
    assert ascii(loaded.to_json()) == ascii(result.to_json())


def test_failures_with_a_lone_surrogate_are_written_as_valid_utf8_lines(tmp_path: Path) -> None:
    cases = Failures([{"input": "a \ud800 b", "perturbed": "A \udfff B", "index": 3}])
    path = cases.to_jsonl(tmp_path / "failures.jsonl")
    lines = path.read_bytes().decode("utf-8").splitlines()
    assert ascii([json.loads(line) for line in lines]) == ascii(list(cases))


def test_the_session_json_of_a_result_with_a_lone_surrogate_is_valid_utf8(
    tmp_path: Path, result: RunResult,
) -> None:
    from robustcheck.plugin import State, _write_session_json

    state = State(seed=0, severities=(1.0,), thresholds={}, alpha=0.05, report=None,
                  json=None, baseline=None)
    state.record("test_x.py::test_\ud83d", dataclasses.replace(result, name="model \ud800"))
    _write_session_json(state, str(tmp_path / "session.json"))
    data = json.loads((tmp_path / "session.json").read_bytes().decode("utf-8"))
    assert ascii(data["results"][0]["nodeid"]) == ascii("test_x.py::test_\ud83d")
    assert ascii(data["results"][0]["result"]["name"]) == ascii("model \ud800")


# -- packed arrays -----------------------------------------------------------------------


@pytest.mark.parametrize("array", [
    np.array([True, False, True] * 7), np.zeros(0, dtype=bool), np.arange(-3, 40, dtype=np.int32),
    np.array([0.5, np.nan, -1e30], dtype=np.float32), np.linspace(0, 1, 11),
], ids=["bool", "empty", "int32", "float32", "float64"])
def test_a_packed_array_unpacks_to_the_same_values_and_dtype(array: np.ndarray) -> None:
    back = unpack(pack(array))
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize(("packed", "message"), [
    ({"dtype": "bool", "n": 8}, "zlib"),
    ({"dtype": "bool", "n": 8, "zlib": "not base64!"}, "base64"),
    ({"dtype": "bool", "n": 8, "zlib": base64.b64encode(b"not zlib").decode()}, "zlib"),
    ({"dtype": "O", "n": 1, "zlib": pack(np.zeros(1))["zlib"]}, "dtype 'O'"),
    ({"dtype": "f8", "n": 3, "zlib": pack(np.zeros(2))["zlib"]}, "2 entries, expected 3"),
    ({"dtype": "f8", "n": 2, "zlib": pack(np.zeros(2))["zlib"][:-4]}, "zlib"),
    ({"dtype": "f8", "n": -1, "zlib": ""}, "n -1"),
    ("eJz7////fwAJ+gP9", "packed array"),
], ids=["no-data", "bad-base64", "not-zlib", "object-dtype", "too-short", "truncated",
        "negative-n", "not-a-dict"])
def test_a_damaged_packed_array_is_a_result_file_error(packed: Any, message: str) -> None:
    with pytest.raises(ResultFileError, match=message):
        unpack(packed)


# -- damaged and hostile files (item 13) -------------------------------------------------


def test_a_zlib_bomb_in_a_packed_array_is_refused_before_it_fills_memory(
    tmp_path: Path, document: dict[str, Any],
) -> None:
    doc = copy.deepcopy(document)
    bomb = base64.b64encode(zlib.compress(bytes(64 << 20), 9)).decode("ascii")
    doc["rows"][0]["samples"]["changed"]["zlib"] = bomb
    path = write(tmp_path / "bomb.json", doc)
    tracemalloc.start()
    try:
        with pytest.raises(ResultFileError, match=r"rows\[0\]\.samples\.changed"):
            robustcheck.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the bomb inflates to 64 MiB; 32 booleans need 4 bytes


def test_a_per_sample_array_of_the_wrong_length_is_refused_with_its_place(
    tmp_path: Path, document: dict[str, Any],
) -> None:
    doc = copy.deepcopy(document)
    doc["rows"][1]["samples"]["changed"] = pack(np.ones(31, dtype=bool))
    path = write(tmp_path / "short.json", doc)
    with pytest.raises(ResultFileError, match=r"rows\[1\]\.samples\.changed has 31 entries, "
                                              r"expected 32") as err:
        robustcheck.load(path)
    assert str(path) in str(err.value)


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()


@pytest.mark.parametrize(("where", "value", "message"), [
    ("rows", _DELETE, r"rows is missing"),
    ("rows/0", "case.upper", r"rows\[0\] is a string"),
    ("rows/1/metrics/coverage/value", "high", r"rows\[1\]\.metrics\.coverage\.value is"),
    ("rows/0/metrics/failure_rate", _DELETE, r"rows\[0\]\.metrics\.failure_rate is missing"),
    ("rows/0/samples/labels", pack(np.full(32, 7, dtype=np.int32)), r"class code 7"),
    ("rows/0/samples/changed", pack(np.zeros(32)), r"rows\[0\]\.samples\.changed has dtype"),
    ("rows/0/samples/failed", _DELETE, r"rows\[0\]\.samples\.failed is missing"),
    ("rows/0/inputs", {"99": "x"}, r"rows\[0\]\.inputs"),
    ("clean/ok", pack(np.ones(33, dtype=bool)), r"clean\.ok has 33 entries, expected 32"),
    ("clean/labels", _DELETE, r"clean"),
    ("data/n", "32", r"data\.n is a string"),
    ("data/fingerprint", None, r"data\.fingerprint is null"),
    ("seed", 1.5, r"seed is a number"),
    ("complete", "yes", r"complete is a string"),
    ("examples", [], r"examples is an array"),
    ("crashes", [1], r"crashes\[0\] is a number"),
    ("stopped", {"kind": 3}, r"stopped\.kind"),
    ("timings/rows/0/latency_ratio", "fast", r"timings\.rows\[0\]\.latency_ratio"),
])
def test_a_damaged_field_is_a_result_file_error_naming_the_file_and_the_place(
    tmp_path: Path, document: dict[str, Any], where: str, value: Any, message: str,
) -> None:
    doc = copy.deepcopy(document)
    _set(doc, where, value)
    path = write(tmp_path / "damaged.json", doc)
    with pytest.raises(ResultFileError, match=message) as err:
        robustcheck.load(path)
    assert str(path) in str(err.value)


def _deep(text: str) -> str:
    return text.replace('"examples": {}', '"examples": ' + "[" * 100_000 + "]" * 100_000, 1)


@pytest.mark.parametrize(("damage", "message"), [
    (_deep, "nested deeper"),
    (lambda t: t.replace('"value": 0.0', '"value": NaN', 1), "NaN"),
    (lambda t: t.replace('"value": 0.0', '"value": 1e999', 1), "1e999"),
    (lambda t: t.replace('"seed": 0', '"seed": ' + "9" * 5000, 1), "number"),
    (lambda t: t.replace('"name": "model"', '"name": "mod\udcffel"', 1), "UTF-8"),
    (lambda t: "[1, 2]", "not a robustcheck run"),
    (lambda t: "5", "not a robustcheck run"),
    (lambda t: t[: len(t) // 2], "not valid JSON"),
], ids=["deep", "nan", "overflow", "huge-int", "not-utf8", "a-list", "a-number", "truncated"])
def test_a_hostile_file_is_a_result_file_error_never_another_exception(
    tmp_path: Path, result: RunResult, damage: Callable[[str], str], message: str,
) -> None:
    text = damage(result.to_json(indent=None))
    path = tmp_path / "hostile.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ResultFileError, match=message) as err:
        robustcheck.load(path)
    assert str(path) in str(err.value)


def test_a_file_above_the_size_cap_is_refused_unread(
    tmp_path: Path, result: RunResult, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from robustcheck import _files

    path = Path(result.to_json(tmp_path / "r.json") and tmp_path / "r.json")
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(ResultFileError, match="larger than"):
        robustcheck.load(path)


def test_a_result_without_the_newer_keys_still_loads(
    tmp_path: Path, document: dict[str, Any],
) -> None:
    older = copy.deepcopy(document)
    for key in ("stopped", "thresholds"):
        older.pop(key, None)
    older["clean"].pop("crash_rate", None)
    newer = copy.deepcopy(document)
    newer["stopped"] = None
    newer["clean"]["crash_rate"] = {"value": 0.0, "low": 0.0, "high": 0.107, "n": 32}
    for doc in (older, newer):
        loaded = robustcheck.load(write(tmp_path / "r.json", doc))
        assert loaded.n == 32
        assert robustcheck.compare(loaded, loaded).regressions == []


# -- the pytest baseline (item 13) -------------------------------------------------------


def _session(document: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "robustcheck.session", "seed": 0,
            "results": [{"nodeid": "test_x.py::test_y", "index": 0,
                         "result": copy.deepcopy(document)}]}


def _short_array(session: dict[str, Any]) -> None:
    session["results"][0]["result"]["rows"][0]["samples"]["changed"] = pack(np.ones(31, bool))


@pytest.mark.parametrize(("damage", "message"), [
    (_short_array, r"results\[0\]\.result: rows\[0\]\.samples\.changed has 31 entries"),
    (lambda s: s.update(schema_version=99), r"schema_version 99"),
    (lambda s: s["results"][0]["result"].update(schema_version=2),
     r"results\[0\]\.result: schema_version 2"),
    (lambda s: s["results"].append({"nodeid": 3}), r"results\[1\]"),
], ids=["short-array", "session-schema", "run-schema", "bad-entry"])
def test_a_damaged_baseline_is_a_usage_error_before_any_test_runs(
    pytester: pytest.Pytester, document: dict[str, Any],
    damage: Callable[[dict[str, Any]], None], message: str,
) -> None:
    session = _session(document)
    damage(session)
    write(pytester.path / "base.json", session)
    pytester.makepyfile(test_x="def test_y():\n    open('ran', 'w').close()\n")
    out = pytester.runpytest("--robustcheck-baseline=base.json", "-p", "no:randomly")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*--robustcheck-baseline base.json*"])
    assert any(re.search(message, line) for line in out.errlines)
    assert not (pytester.path / "ran").exists()


def test_a_sound_baseline_is_accepted(pytester: pytest.Pytester, document: dict[str, Any]
                                      ) -> None:
    write(pytester.path / "base.json", _session(document))
    pytester.makepyfile(test_x="def test_y():\n    pass\n")
    pytester.runpytest("--robustcheck-baseline=base.json").assert_outcomes(passed=1)


# -- permissions and atomicity (item 14) ----------------------------------------------


@pytest.fixture
def umask() -> Any:
    """Set the process umask for one test, and put it back."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@POSIX_ONLY
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_permissions_open_would_give(
    tmp_path: Path, umask: Callable[[int], int], mask: int, mode: int,
) -> None:
    umask(mask)
    path = write_atomic(tmp_path / "result.json", "{}\n")
    assert stat.S_IMODE(path.stat().st_mode) == mode


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_overwriting_a_file_keeps_its_permissions(
    tmp_path: Path, umask: Callable[[int], int], mode: int,
) -> None:
    umask(0o077)
    path = tmp_path / "result.json"
    path.write_text("old")
    path.chmod(mode)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "result.json"
    path.write_text("old")

    def fail(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


# -- comparison files --------------------------------------------------------------------


def test_a_comparison_file_is_read_bounded_and_validated(
    tmp_path: Path, result: RunResult,
) -> None:
    from robustcheck import _files

    path = tmp_path / "cmp.json"
    robustcheck.compare(result, result).to_json(path)
    version = robustcheck.comparison.SCHEMA_VERSION
    data = _files.load_comparison_dict(path, schema_version=version)
    assert data["kind"] == "robustcheck.comparison"
    data["rows"][0]["metrics"] = []
    write(path, data)
    with pytest.raises(ResultFileError, match=r"rows\[0\]\.metrics is an array"):
        _files.load_comparison_dict(path, schema_version=version)
    result.to_json(path)
    with pytest.raises(ResultFileError, match="not a robustcheck comparison"):
        _files.load_comparison_dict(path, schema_version=version)


# -- fuzz ------------------------------------------------------------------------------


# Raw JSON that Python's json module would write or read but no result holds; put in
# place of a placeholder string after json.dumps.
RAW = {"@nan": "NaN", "@inf": "-Infinity", "@big": "1e999", "@long": "7" * 5000,
       "@deep": "[" * 50_000 + "]" * 50_000, "@deepish": "[" * 200 + "]" * 200}
BOMB = base64.b64encode(zlib.compress(bytes(1 << 20), 9)).decode("ascii")

replacement = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 31, 33, 2**64, 1.5, -0.0, "", "x", [], {},
                     [1, "a"], {"a": 1}, *RAW]),
    st.builds(lambda n, dtype: pack(np.zeros(n, dtype=dtype)), st.integers(0, 40),
              st.sampled_from(["bool", "i4", "i8", "u1", "f4", "f8"])),
    st.builds(lambda n, dtype: {"dtype": dtype, "n": n, "zlib": BOMB},
              st.sampled_from([32, 2**40, -5]), st.sampled_from(["bool", "f8", "i4"])),
    st.builds(lambda s: {"dtype": "bool", "n": 32, "zlib": s}, st.text(max_size=30)),
    st.text(max_size=20),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


def _damage(doc: Any, data: st.DataObject) -> bytes:
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        paths = _paths(doc)[1:]
        where = data.draw(st.sampled_from(paths), label="where")
        parent: Any = doc
        for key in where[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.booleans(), label="delete"):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(replacement, label="value")
    text = json.dumps(doc)
    for placeholder, raw in RAW.items():
        text = text.replace(json.dumps(placeholder), raw)
    blob = text.encode("utf-8")
    cut = data.draw(st.sampled_from(["none", "truncate", "flip"]), label="bytes")
    if cut != "none" and blob:
        at = data.draw(st.integers(0, len(blob) - 1), label="at")
        if cut == "truncate":
            blob = blob[:at]
        else:
            blob = blob[:at] + bytes([blob[at] ^ data.draw(st.integers(1, 255))]) + blob[at + 1:]
    return blob


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200, deadline=5000, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_damage_loads_as_a_result_or_a_result_file_error_and_compares_cleanly(
    fuzz_dir: Path, result: RunResult, document: dict[str, Any], data: st.DataObject,
) -> None:
    path = fuzz_dir / "damaged.json"
    path.write_bytes(_damage(copy.deepcopy(document), data))
    try:
        loaded = robustcheck.load(path)
    except ResultFileError:
        return
    try:
        comparison = robustcheck.compare(result, loaded)
    except RobustcheckError:
        return
    assert isinstance(comparison, robustcheck.Comparison)
