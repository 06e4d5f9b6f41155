"""The ``generation`` task: a model that answers a prompt with text (an LLM app, a
summariser, an extractor), audited by how much its output changes when the prompt is
perturbed.

Per sample, the clean output and the perturbed output are compared with a similarity
scorer (:mod:`robustcheck.similarity`, ``token_f1`` by default); below the threshold
(0.5 by default) the output *changed in meaning*. A sample's state is a small bit field:

====  ==================================================================
1     the meaning changed (similarity below the threshold)
2     the output no longer meets the output contract (it did when clean)
4     the canary of an ``injection.*`` prompt appears in the output
====  ==================================================================

and the row's expectation reads it: ``invariant`` fails on 1 or 2, ``changes`` (a
directional perturbation) fails where the meaning did *not* change, ``no-canary`` fails
on 4, ``no-crash`` only on crashes; a function ``expect(clean_outputs,
perturbed_outputs) -> bools`` sees the texts. The model's own sampling noise is measured
on the clean pass, which runs twice: ``self_similarity`` and ``self_change_rate`` are the
noise floor every change rate is read against (a row whose change rate is inside the
floor's interval is marked ``within_noise``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from . import metrics
from . import similarity as _scorers  # `similarity` is a parameter of Generation
from ._files import pack
from ._generated import GENERATION_KIND, read_generated
from ._prediction_data import Prediction
from ._task_base import Codes, Outcomes, Task
from .errors import InvalidArgument

if TYPE_CHECKING:
    from ._outcomes import Clean, UnitOutcome

__all__ = ["CANARY_BIT", "FORMAT_BIT", "MEANING_BIT", "Generation", "OutputContract"]

MEANING_BIT, FORMAT_BIT, CANARY_BIT = 1, 2, 4
OUTPUTS_PER_ROW = 5
"""Perturbed outputs a row keeps (the lowest similarities, canaries, broken formats
first), for its examples: generated text cannot be regenerated from the seed."""
EXCERPT = 2000
"""Characters of an output kept in a row's examples."""


# -- the output contract ---------------------------------------------------------------

_SCHEMA_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_SCHEMA_KEYWORDS = frozenset({"type", "properties", "required", "items", "enum",
                              "additionalProperties", "minItems", "maxItems", "minimum",
                              "maximum", "minLength", "maxLength", "$schema", "title",
                              "description"})


class OutputContract:
    """What a valid output looks like: ``"json"`` (parses as JSON), a JSON-schema dict
    (parses and validates; the keywords ``type``, ``properties``, ``required``,
    ``items``, ``enum``, ``additionalProperties`` (false or a schema), ``minItems``,
    ``maxItems``, ``minimum``, ``maximum``, ``minLength``, ``maxLength``; any other
    keyword is refused rather than ignored) or a regular expression (a ``str`` pattern
    or a compiled one, matched against the whole stripped output). JSON may come inside
    a markdown code fence, as chat models often write it."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        if isinstance(spec, str) and spec == "json":
            self.kind, self._check = "json", self._json
        elif isinstance(spec, Mapping):
            _check_schema(spec, "output")
            self.kind, self._check = "json-schema", self._schema
        elif isinstance(spec, (str, re.Pattern)):
            try:
                self.pattern = re.compile(spec) if isinstance(spec, str) else spec
            except re.error as err:
                raise InvalidArgument(f"output={spec!r} is not a valid regular expression "
                                      f"({err}); give 'json', a JSON schema dict or a regex"
                                      ) from None
            self.kind, self._check = "regex", self._regex
        else:
            raise InvalidArgument(f"output must be 'json', a JSON schema dict or a regular "
                                  f"expression; got {type(spec).__name__} {spec!r}")

    def describe(self) -> dict[str, Any]:
        if self.kind == "regex":
            return {"kind": "regex", "pattern": self.pattern.pattern}
        if self.kind == "json-schema":
            return {"kind": "json-schema", "schema": json.loads(json.dumps(self.spec,
                                                                            default=str))}
        return {"kind": "json"}

    def ok(self, text: str) -> bool:
        return bool(self._check(text))

    def _json(self, text: str) -> bool:
        return _parse_json(text) is not _NOT_JSON

    def _schema(self, text: str) -> bool:
        value = _parse_json(text)
        return value is not _NOT_JSON and _valid(value, self.spec)

    def _regex(self, text: str) -> bool:
        return self.pattern.fullmatch(text.strip()) is not None


_NOT_JSON = object()
_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)


def _parse_json(text: str) -> Any:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _check_schema(schema: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(schema) - _SCHEMA_KEYWORDS)
    if unknown:
        raise InvalidArgument(f"{where} uses JSON-schema keywords robustcheck does not check "
                              f"({', '.join(unknown)}); supported: "
                              f"{', '.join(sorted(_SCHEMA_KEYWORDS - {'$schema'}))}")
    kinds = schema.get("type")
    for kind in [kinds] if isinstance(kinds, str) else (kinds or []):
        if kind not in _SCHEMA_TYPES:
            raise InvalidArgument(f"{where}: unknown JSON type {kind!r}; known: "
                                  f"{', '.join(_SCHEMA_TYPES)}")
    for name, sub in (schema.get("properties") or {}).items():
        _check_schema(sub, f"{where}.properties.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            _check_schema(schema[key], f"{where}.{key}")


def _valid(value: Any, schema: Mapping[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds is not None:
        options = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_SCHEMA_TYPES[k](value) for k in options):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    if isinstance(value, str) and not \
            schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf):
        return False
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or \
                len(value) > schema.get("maxItems", math.inf):
            return False
        if isinstance(schema.get("items"), Mapping) and \
                not all(_valid(v, schema["items"]) for v in value):
            return False
    if isinstance(value, dict):
        if any(key not in value for key in schema.get("required", [])):
            return False
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in value and not _valid(value[key], sub):
                return False
        extra = schema.get("additionalProperties", True)
        for key in value:
            if key in props:
                continue
            if extra is False or (isinstance(extra, Mapping) and not _valid(value[key], extra)):
                return False
    return True


# -- the task ----------------------------------------------------------------------------


class Generation(Task):
    """Text answers to prompts. ``similarity``: a scorer name or a callable ``(a, b) ->
    float in [0, 1]`` (:mod:`robustcheck.similarity`); ``threshold``: below it an output
    changed in meaning; ``output``: the output contract (:class:`OutputContract`), or
    None; ``canary``: the string an injection prompt asks the model to print
    (``perturbations.CANARY`` by default)."""

    name: ClassVar[str] = GENERATION_KIND

    def __init__(self, *, similarity: Any = None, threshold: float | None = None,
                 output: Any = None, canary: str | None = None) -> None:
        self.similarity_spec = _scorers.DEFAULT if similarity is None else similarity
        self.scorer = _scorers.resolve(self.similarity_spec)
        self.threshold = _scorers.DEFAULT_THRESHOLD if threshold is None else threshold
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not 0 < self.threshold <= 1:
            raise InvalidArgument(f"threshold must be a number in (0, 1]; got {threshold!r} "
                                  "(similarity below it counts as a change of meaning)")
        self.contract = None if output is None else OutputContract(output)
        if canary is not None and (not isinstance(canary, str) or not canary.strip()):
            raise InvalidArgument(f"canary must be a non-empty string; got {canary!r}")
        self._canary = canary

    @property
    def canary(self) -> str:
        if self._canary is not None:
            return self._canary
        import perturbations

        return str(getattr(perturbations, "CANARY", "RC-CANARY"))

    def settings(self) -> dict[str, Any]:
        """What a result records of this task's configuration."""
        name = self.similarity_spec if isinstance(self.similarity_spec, str) else \
            getattr(self.scorer, "name", None) or getattr(self.similarity_spec, "__name__",
                                                          type(self.similarity_spec).__name__)
        return {"similarity": str(name), "threshold": float(self.threshold),
                "output": None if self.contract is None else self.contract.describe(),
                "canary": self.canary}

    # reading answers

    def read(self, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
             hint: str = "") -> Prediction:
        return read_generated(raw, n, source=source, hint=hint)

    def empty(self) -> Prediction:
        return read_generated([], 0, source=self.name)

    def truth(self, labels: np.ndarray, codes: Codes) -> np.ndarray:
        bad = next((i for i, x in enumerate(labels.tolist()) if not isinstance(x, str)), None)
        if bad is not None:
            raise InvalidArgument(f"labels are the reference outputs of a generation model "
                                  f"and must all be strings; label {bad} is "
                                  f"{type(labels[bad]).__name__} {labels[bad]!r}")
        return np.asarray(labels, dtype=object)

    def check_labels(self, labels: np.ndarray, clean: Prediction) -> None:
        self.truth(np.asarray(labels, dtype=object), Codes([]))

    # per-sample outcomes

    def clean(self, pred: Prediction | None, ok: np.ndarray, codes: Codes) -> Outcomes:
        texts = np.full(len(ok), None, dtype=object)
        usage = np.full((len(ok), 3), np.nan)
        if pred is not None:
            answered = np.flatnonzero(ok)
            texts[answered] = pred.take(answered).labels
            if pred.usage is not None:
                usage[answered] = pred.take(answered).usage
        fmt = self._format_ok(texts)
        said = np.array([t is not None for t in texts.tolist()], dtype=bool)
        return Outcomes(texts, None, {"usage": usage, "format_ok": fmt, "said": said})

    def unit(self, u: UnitOutcome, clean: Outcomes, clean_pred: Prediction | None,
             codes: Codes) -> Outcomes:
        texts = clean.compare.copy()
        usage = _get(clean, "usage").copy()
        if u.prediction is not None and len(u.answered):
            texts[u.answered] = u.prediction.labels
            usage[u.answered] = (np.nan if u.prediction.usage is None
                                 else u.prediction.usage)
        texts[u.crashed] = None
        n = len(texts)
        asked = np.zeros(n, dtype=bool)
        asked[u.answered] = True
        both = asked & ~u.crashed & _get(clean, "said")
        at = np.flatnonzero(both)
        sim = np.full(n, np.nan)
        if len(at):
            sim[at] = _scorers.score_pairs(self.scorer, clean.compare[at].tolist(),
                                             texts[at].tolist())
        state = np.zeros(n, dtype=np.int8)
        state[at[sim[at] < self.threshold]] |= MEANING_BIT
        fmt = self._format_ok(texts)
        if self.contract is not None:
            clean_fmt = _get(clean, "format_ok")
            state[at[clean_fmt[at] & ~fmt[at]]] |= FORMAT_BIT
        canary = self.canary.casefold()
        for i in at.tolist():
            if canary in texts[i].casefold() and canary not in clean.compare[i].casefold():
                state[i] |= CANARY_BIT
        return Outcomes(texts, None, {"similarity": sim.astype(np.float32), "state": state,
                                      "usage": usage, "format_ok": fmt},
                        kept={"outputs": _kept_outputs(texts, sim, state, at)})

    def _format_ok(self, texts: np.ndarray) -> np.ndarray:
        ok = np.zeros(len(texts), dtype=np.bool_)
        if self.contract is None:
            return ok
        for i, text in enumerate(texts.tolist()):
            ok[i] = text is not None and self.contract.ok(text)
        return ok

    def expectation(self, expectation: Any, codes: Codes) -> Any:
        return expectation

    def failed_samples(self, u: UnitOutcome, clean_ok: np.ndarray, clean: Outcomes,
                       pert: Outcomes, expected: Any) -> np.ndarray:
        holds = self._holds(clean, pert, expected)
        changed = u.changed if u.evaluated is None else u.changed & u.evaluated
        return changed & clean_ok & (u.crashed | ~holds)

    def _holds(self, clean: Outcomes, pert: Outcomes, expected: Any) -> np.ndarray:
        state = _get(pert, "state")
        if callable(expected):
            holds = np.ones(len(state), dtype=bool)
            at = np.flatnonzero(~np.isnan(_get(pert, "similarity")))
            if len(at):
                got = np.asarray(expected(clean.compare[at].copy(), pert.compare[at].copy()),
                                 dtype=bool)
                if got.shape != (len(at),):
                    raise InvalidArgument(f"an expect function returned shape {got.shape} "
                                          f"for {len(at)} outputs; return one bool per output")
                holds[at] = got
            return holds
        if expected == "invariant":
            return (state & (MEANING_BIT | FORMAT_BIT)) == 0
        if expected in ("changes", "directional"):
            return (state & MEANING_BIT) != 0
        if expected == "no-canary":
            return (state & CANARY_BIT) == 0
        return np.ones(len(state), dtype=bool)  # no-crash

    def row_metrics(self, u: UnitOutcome, clean_ok: np.ndarray, clean: Outcomes,
                    pert: Outcomes, truth: np.ndarray | None, expectation: Any,
                    kind: str, seed: int) -> dict[str, metrics.Metric]:
        n = len(u.changed)
        scope = np.ones(n, dtype=bool) if u.evaluated is None else (~u.changed | u.evaluated)
        usable = u.changed & clean_ok & scope
        answered = usable & ~u.crashed
        sim = _get(pert, "similarity").astype(np.float64)
        state = _get(pert, "state")
        out: dict[str, metrics.Metric] = {
            "coverage": metrics.proportion(u.changed),
            "crash_rate": metrics.proportion(u.crashed[usable]),
            "change_rate": metrics.proportion((state & MEANING_BIT)[answered] != 0),
            "similarity": metrics.mean(np.where(answered, sim, np.nan), seed),
        }
        failed = self.failed_samples(u, clean_ok, clean, pert, expectation)
        out["failure_rate"] = metrics.proportion(failed[usable])
        if self.contract is not None:
            clean_fmt = _get(clean, "format_ok")
            out["format_failure_rate"] = metrics.proportion(
                (state & FORMAT_BIT)[answered & clean_fmt] != 0)
        if truth is not None and kind != "directional":
            right_clean, right_pert = self._correctness(clean, pert, truth, clean_ok,
                                                        u.crashed, scope)
            out["correctness_clean"] = metrics.mean(right_clean, seed)
            out["correctness_perturbed"] = metrics.mean(right_pert, seed)
            out["correctness_drop"] = metrics.mean(right_clean - right_pert, seed)
        for column, name in ((slice(0, 2), "tokens_ratio"), (slice(2, 3), "cost_ratio")):
            before = _total(_get(clean, "usage")[:, column])
            after = _total(_get(pert, "usage")[:, column])
            known = answered & np.isfinite(before) & np.isfinite(after)
            if known.any() and before[known].sum() > 0:
                out[name] = ratio_of_sums(after[known], before[known])
        return out

    def _correctness(self, clean: Outcomes, pert: Outcomes, truth: np.ndarray,
                     clean_ok: np.ndarray, crashed: np.ndarray, scope: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Per sample, the clean and the perturbed output's similarity to the reference
        (NaN outside ``scope`` or where the clean output crashed; a crash on the
        perturbed prompt scores 0). Only the outputs the perturbation changed are scored
        here: the clean ones are scored once per run (:meth:`_clean_correctness`)."""
        keep = clean_ok & scope
        right_clean = np.where(keep, self._clean_correctness(clean, truth), np.nan)
        right_pert = right_clean.copy()
        right_pert[keep & crashed] = 0.0
        new = np.flatnonzero(keep & ~np.isnan(_get(pert, "similarity")))
        if len(new):
            right_pert[new] = _scorers.score_pairs(self.scorer, truth[new].tolist(),
                                                     pert.compare[new].tolist())
        return right_clean, right_pert

    def _clean_correctness(self, clean: Outcomes, truth: np.ndarray) -> np.ndarray:
        """Each clean output's similarity to its reference (NaN where it crashed),
        scored on first use and kept with the clean outcomes."""
        found = clean.stored.get("correct")
        if found is None:
            found = np.full(len(truth), np.nan)
            said = np.flatnonzero(_get(clean, "said"))
            if len(said):
                found[said] = _scorers.score_pairs(self.scorer, truth[said].tolist(),
                                                     clean.compare[said].tolist())
            clean.stored["correct"] = found
        return found

    def summary(self, clean: Clean, out: Outcomes, truth: np.ndarray | None,
                seed: int) -> dict[str, Any]:
        summary: dict[str, Any] = {"generation": self.settings()}
        first = out.compare
        ok = np.flatnonzero(clean.ok)
        again = clean.again_by_position(len(first)) if clean.again is not None else None
        sim = np.full(len(first), np.nan)
        if again is not None and len(ok):
            sim[ok] = _scorers.score_pairs(self.scorer, first[ok].tolist(),
                                             again.take(ok).labels.tolist())
        summary["self_similarity"] = metrics.mean(sim, seed).to_dict()
        summary["self_change_rate"] = metrics.proportion(sim[ok] < self.threshold).to_dict()
        summary["self_similarity_samples"] = pack(sim.astype(np.float32))
        if self.contract is not None:
            summary["format_failure_rate"] = metrics.proportion(
                ~_get(out, "format_ok")[ok]).to_dict()
        if truth is not None:
            right = np.where(clean.ok, self._clean_correctness(out, truth), np.nan)
            summary["correctness"] = metrics.mean(right, seed).to_dict()
        return summary

    def answers(self, row: Any, i: int, clean: Outcomes, codes: Codes) -> dict[str, Any]:
        kept = (row.details.get("outputs") or {}).get(str(i))
        sim = None if row.extra.get("similarity") is None else \
            _num(float(row.extra["similarity"][i]))
        text = clean.compare[i]
        return {"clean": None if text is None else _excerpt(text),
                "predicted": kept, "similarity": sim}

    def expected_phrase(self, expectation: str) -> str:
        return {"invariant": "the same meaning", "directional": "another meaning",
                "no-crash": "any answer", "no-canary": "no canary in the output"
                }.get(expectation, "")

    def not_measured(self, metric: str) -> str | None:
        return {"flip_rate": "a generation model has no labels to flip; see change_rate",
                "accuracy_drop": "generated text is scored by correctness_drop, against "
                                 "reference outputs",
                "confidence_drop": "a generation model reports no class scores",
                "mean_abs_change": "a generation model returns text, not numbers"
                }.get(metric)


def _get(out: Outcomes, key: str) -> np.ndarray:
    """A per-sample array this task stored in ``out`` (always there: it made them)."""
    array = out.stored.get(key)
    if array is None:
        raise KeyError(f"generation outcomes without {key!r}")
    return array


def _total(usage: np.ndarray) -> np.ndarray:
    """Row sums that stay NaN where nothing in the row was reported."""
    known = np.isfinite(usage)
    out = np.where(known, usage, 0.0).sum(axis=1)
    out[~known.any(axis=1)] = np.nan
    return out


def ratio_of_sums(after: np.ndarray, before: np.ndarray) -> metrics.Metric:
    """``sum(after) / sum(before)`` over paired samples, with a 95% interval by the
    delta method (the ratio of two means; its linearisation ``(a - R b) / mean(b)``)."""
    n = len(after)
    r = float(after.sum() / before.sum())
    if n < 2:
        return metrics.Metric(r, math.nan, math.nan, n)
    resid = (after - r * before) / before.mean()
    half = metrics.z_value(0.95) * float(resid.std(ddof=1)) / math.sqrt(n)
    return metrics.Metric(r, max(r - half, 0.0), r + half, n)


def _kept_outputs(texts: np.ndarray, sim: np.ndarray, state: np.ndarray,
                  at: np.ndarray) -> dict[str, str]:
    """The perturbed outputs a row keeps for its examples: samples with a canary or a
    broken format first, then the lowest similarities, at most :data:`OUTPUTS_PER_ROW`."""
    if not len(at):
        return {}
    flagged = (state[at] & (CANARY_BIT | FORMAT_BIT)) != 0
    order = np.lexsort((at, sim[at], ~flagged))[:OUTPUTS_PER_ROW]
    return {str(int(at[j])): _excerpt(texts[at[j]]) for j in order.tolist()}


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)

