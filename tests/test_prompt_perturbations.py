"""The prompt-level perturbations for generative models: injected instructions with a
canary, distractor sentences and templates (``perturbations.select("prompt")``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import perturbations
from perturbations import _registry, _text_prompt

CANARY = perturbations.CANARY
INJECTION = ["injection.append", "injection.prefix", "injection.embedded"]
DISTRACTOR = ["distractor.before", "distractor.after"]
TEMPLATE = ["template.quoted", "template.markdown", "template.question"]
PROMPT = INJECTION + DISTRACTOR + TEMPLATE
KEEP_TEXT = ["injection.append", "injection.prefix", *DISTRACTOR, *TEMPLATE]
SEVERITIES = (0.01, 0.25, 1 / 3, 0.5, 0.7, 1.0)

PROMPTS = [
    "Summarise the following article in two sentences. The council voted to close the "
    "library on Sundays. Residents have started a petition.",
    "Translate into French: the train leaves at nine.",
    "Write a haiku about autumn leaves",
    "What is the capital of Australia?",
    "Explain recursion to a ten-year-old. Use an example! Keep it short.",
    "hello",
    "👋🏽 Résumé this: ｆｕｌｌ ｗｉｄｔｈ and ﬁ ligatures 🇯🇵",
    "ترجم هذه الجملة إلى الإنجليزية: الطقس جميل اليوم. שלום עולם",
    "Reply with {braces} and ```fenced``` code `here`",
    "  leading and trailing white space  \n",
    "x" * 5_000,
]
BLANK = ["", " ", "\n\t", "\u00a0"]


def names(spec: Any) -> list[str]:
    return [p.name for p in perturbations.select(spec)]


def outputs(name: str, severity: float, seed: int = 0) -> list[str]:
    return perturbations.get(name).apply(PROMPTS, severity=severity, seed=seed)


# -- the canary -----------------------------------------------------------------------


def test_the_canary_is_one_unusual_token_exported_by_the_package() -> None:
    assert "CANARY" in perturbations.__all__
    assert CANARY == _text_prompt.CANARY and CANARY.isascii() and " " not in CANARY
    assert len(CANARY) >= 10 and any(c.isdigit() for c in CANARY)


@pytest.mark.parametrize("name", INJECTION)
@pytest.mark.parametrize("severity", SEVERITIES)
def test_every_injection_output_holds_the_canary(name: str, severity: float) -> None:
    for before, after in zip(PROMPTS, outputs(name, severity, seed=4)):
        assert CANARY in after and CANARY not in before


@pytest.mark.parametrize("name", sorted(set(p.name for p in perturbations.catalogue("text"))
                                        - set(INJECTION)))
def test_no_other_text_perturbation_ever_writes_the_canary(name: str) -> None:
    for severity in (0.25, 0.5, 1.0):
        assert not any(CANARY in t for t in outputs(name, severity))


def test_every_phrasing_at_every_level_names_the_canary_once() -> None:
    for level in _text_prompt.INJECTIONS:
        assert len(level) == len(_text_prompt.INJECTIONS[0])
        assert all(phrasing.count(CANARY) == 1 for phrasing in level)


def test_a_stronger_level_is_a_longer_version_of_the_same_phrasing() -> None:
    for weaker, stronger in zip(_text_prompt.INJECTIONS, _text_prompt.INJECTIONS[1:]):
        assert all(len(a) < len(b) for a, b in zip(weaker, stronger))
    loudest = _text_prompt.INJECTIONS[-1]
    assert any("IGNORE ALL PREVIOUS INSTRUCTIONS" in p for p in loudest)
    assert all(p.startswith("(") for p in _text_prompt.INJECTIONS[0])  # polite asides


# -- the request survives --------------------------------------------------------------


@pytest.mark.parametrize("name", KEEP_TEXT)
@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_original_prompt_is_still_in_the_output_word_for_word(
    name: str, severity: float,
) -> None:
    for before, after in zip(PROMPTS, outputs(name, severity, seed=2)):
        assert before in after and len(after) > len(before)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_an_embedded_injection_is_the_only_thing_added(severity: float) -> None:
    level = _text_prompt.INJECTIONS[_text_prompt._level(severity)]
    for before, after in zip(PROMPTS, outputs("injection.embedded", severity, seed=7)):
        phrasing = next(p for p in level if p in after)
        if " " in before.strip():  # a middle to put it in
            assert after.replace(phrasing + " ", "", 1) == before
            assert not after.startswith(phrasing) and not after.endswith(phrasing)
        else:
            assert after == f"{before} {phrasing}"


def test_an_embedded_injection_starts_a_sentence_when_there_is_more_than_one() -> None:
    text = "First sentence here. Second one follows! Third ends it?"
    heads = set()
    for index in range(30):
        out = perturbations.get("injection.embedded")(text, severity=1.0, index=index)
        phrasing = next(p for p in _text_prompt.INJECTIONS[-1] if p in out)
        heads.add(out[:out.index(phrasing)])
    assert heads == {"First sentence here. ", "First sentence here. Second one follows! "}


def test_the_markdown_fence_is_longer_than_any_backtick_run_in_the_prompt() -> None:
    text = "Explain ```` this ```` block"
    out = perturbations.get("template.markdown")(text, severity=1.0)
    assert out.splitlines()[2] == "`````text" and out.endswith("\n`````")


# -- severity ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROMPT)
def test_severity_zero_and_blank_prompts_are_left_as_they_are(name: str) -> None:
    p = perturbations.get(name)
    texts = PROMPTS + BLANK
    copy = list(texts)
    assert p.apply(texts, severity=0.0, seed=1) == copy
    for severity in SEVERITIES:
        assert p.apply(BLANK, severity=severity, seed=1) == BLANK
    assert texts == copy  # the caller's list is never modified


def test_the_three_levels_are_the_documented_thirds() -> None:
    level = _text_prompt._level
    assert [level(s) for s in (0.01, 1 / 3, 0.34, 2 / 3, 0.67, 1.0)] == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("name", DISTRACTOR)
def test_severity_adds_one_to_three_distractor_sentences_keeping_the_weaker_ones(
    name: str,
) -> None:
    text = PROMPTS[1]
    found = []
    for severity in (0.2, 0.5, 0.9):
        out = perturbations.get(name)(text, severity=severity, seed=3, index=5)
        found.append([s for s in _text_prompt.DISTRACTORS if s in out])
    assert [len(f) for f in found] == [1, 2, 3]
    assert set(found[0]) < set(found[1]) < set(found[2])


@pytest.mark.parametrize("name", TEMPLATE)
def test_each_template_level_is_a_heavier_wrapping(name: str) -> None:
    sizes = [len(perturbations.get(name)(PROMPTS[2], severity=s)) for s in (0.2, 0.5, 0.9)]
    assert sizes == sorted(set(sizes))


def test_the_templates_look_as_documented() -> None:
    text = "What is the capital of Australia?"
    get = perturbations.get
    assert get("template.quoted")(text, severity=0.1) == f'"{text}"'
    assert get("template.markdown")(text, severity=0.1) == f"- {text}"
    assert get("template.question")(text, severity=0.5) == f"Question: {text}\nAnswer:"


# -- determinism and draws ----------------------------------------------------------------


@pytest.mark.parametrize("name", PROMPT)
def test_the_same_seed_and_index_give_the_same_output_alone_or_in_a_batch(name: str) -> None:
    p = perturbations.get(name)
    whole = p.apply(PROMPTS, severity=0.6, seed=9)
    assert whole == p.apply(list(PROMPTS), severity=0.6, seed=9)
    assert [p(t, severity=0.6, seed=9, index=i) for i, t in enumerate(PROMPTS)] == whole
    perm = np.random.default_rng(1).permutation(len(PROMPTS))
    shuffled = p.apply([PROMPTS[i] for i in perm], severity=0.6, seed=9, indices=perm)
    assert shuffled == [whole[i] for i in perm]


@pytest.mark.parametrize("name", INJECTION + DISTRACTOR)
def test_phrasings_vary_across_indices_and_seeds(name: str) -> None:
    p = perturbations.get(name)
    text = PROMPTS[0]
    by_index = {p(text, severity=1.0, seed=0, index=i) for i in range(30)}
    by_seed = {p(text, severity=1.0, seed=s, index=0) for s in range(30)}
    assert len(by_index) >= 3 and len(by_seed) >= 3


def test_the_embedded_position_varies_across_indices() -> None:
    p = perturbations.get("injection.embedded")
    text = "one two three four five six seven eight nine ten"
    places = {p(text, severity=1.0, index=i).index(CANARY) for i in range(40)}
    assert len(places) >= 4


def test_every_phrasing_is_used() -> None:
    p = perturbations.get("injection.append")
    out = p.apply(["a request"] * 200, severity=0.2, seed=0)
    assert set(out) == {f"a request {s}" for s in _text_prompt.INJECTIONS[0]}


# -- selection and the registry --------------------------------------------------------------


def test_select_prompt_returns_exactly_the_three_families() -> None:
    assert sorted(names("prompt")) == sorted(PROMPT)
    assert {perturbations.get(n).family for n in PROMPT} == {"injection", "distractor",
                                                             "template"}
    for name in PROMPT:
        p = perturbations.get(name)
        assert p.modality == "text" and not p.default and p.prompt


def test_the_new_families_have_the_documented_expectations() -> None:
    assert {perturbations.get(n).expectation for n in INJECTION} == {"no-canary"}
    assert {perturbations.get(n).expectation for n in DISTRACTOR + TEMPLATE} == {"invariant"}
    assert all(not perturbations.get(n).direction for n in INJECTION)


def test_extended_leaves_out_no_canary_perturbations() -> None:
    extended = perturbations.select("extended")
    assert not any(p.expectation == "no-canary" for p in extended)
    assert not set(INJECTION) & set(names("extended"))
    assert {"entity.number", "counterfactual.gender"} <= set(names("extended"))
    assert all(not p.default for p in extended)


def test_the_default_text_suite_has_none_of_the_new_names() -> None:
    text = names("text")
    assert not set(PROMPT) & set(text)
    assert all(n.split(".")[0] not in {"injection", "distractor", "template"} for n in text)
    assert "typo.keyboard" in text


def test_an_unknown_selector_suggests_prompt() -> None:
    with pytest.raises(perturbations.UnknownPerturbation, match="prompt"):
        perturbations.select("prompts")


def _record(**kwargs: Any) -> Any:
    def func(text: str, *, rng: np.random.Generator, severity: float) -> str:
        return text

    fields = {"name": "custom.thing", "modality": "text", "expectation": "no-canary",
              "description": "A custom perturbation.", "severity": "nothing at all",
              "default": False, "register": False, **kwargs}
    return perturbations.perturbation(**fields)(func)


def test_the_registry_accepts_no_canary_without_a_direction() -> None:
    assert "no-canary" in perturbations.EXPECTATIONS
    record = _record()
    assert record.expectation == "no-canary" and record.direction == ""
    assert record.suites == () and _record(prompt=True).suites == ("prompt",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expectation": "canary"}, "expectation 'canary' must be one of"),
        ({"expectation": "no_canary"}, "expectation 'no_canary' must be one of"),
        ({"expectation": "No-Canary"}, "expectation 'No-Canary' must be one of"),
        ({"default": True}, "no-canary perturbation must set default=False"),
    ],
)
def test_the_registry_rejects_unknown_expectations_and_default_no_canary(
    kwargs: dict[str, Any], message: str,
) -> None:
    with pytest.raises(perturbations.RegistrationError, match=message):
        _record(**kwargs)


def test_suites_follow_default_expectation_and_prompt() -> None:
    assert perturbations.get("typo.keyboard").suites == ("default",)
    assert perturbations.get("entity.number").suites == ("extended",)
    assert perturbations.get("template.quoted").suites == ("extended", "prompt")
    assert perturbations.get("injection.prefix").suites == ("prompt",)
    assert _registry.PROMPT == "prompt"
