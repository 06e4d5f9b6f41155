"""``robustcheck run``'s options for a model that writes text: ``--task generation``, how
its outputs are compared (``--similarity``, ``--similarity-threshold``), what a valid
output looks like (``--output-contract``) and the response cache of a chat endpoint
(``--cache``, on by default under ``.robustcheck/cache``; ``--no-cache``)."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

from ._cli_io import UsageError
from .errors import InvalidArgument

__all__ = ["DEFAULT_CACHE", "add_generation_options", "generation_setup"]

DEFAULT_CACHE = ".robustcheck/cache"
"""Where ``robustcheck run`` keeps a chat endpoint's answers unless told otherwise."""
_GENERATION_ONLY = (("--similarity", "similarity"), ("--similarity-threshold", "threshold"),
                    ("--output-contract", "output_contract"))


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", metavar="NAME",
                        help="what the model's outputs are when its adapter does not say: "
                             "classification, regression or generation (text answers to "
                             "prompts; --label-column then holds reference outputs)")
    parser.add_argument("--similarity", metavar="NAME",
                        help="generation: how two outputs are compared: token_f1 (default), "
                             "exact or chrf")
    parser.add_argument("--similarity-threshold", type=float, dest="threshold",
                        metavar="X", help="generation: below this similarity an output "
                                          "changed in meaning (default 0.5)")
    parser.add_argument("--output-contract", metavar="SPEC",
                        help="generation: what a valid output is: json, a JSON schema file "
                             "(*.json) or a regular expression the whole output must match")
    parser.add_argument("--cache", metavar="PATH",
                        help=f"a chat endpoint's response cache (default {DEFAULT_CACHE}): a "
                             "rerun pays only for prompts not asked before")
    parser.add_argument("--no-cache", action="store_true",
                        help="ask a chat endpoint every prompt, with no response cache")


def generation_setup(args: argparse.Namespace, model: Any) -> tuple[Any, Any]:
    """``(task, model)`` for :func:`robustcheck.run` from the options: the task (None,
    a name, or a configured ``Generation``), and the model, a copy with a response cache
    when it is a chat endpoint that has none (the loaded object is not modified)."""
    from . import tasks

    given = [option for option, key in _GENERATION_ONLY if getattr(args, key) is not None]
    task: Any = args.task
    if task is not None:
        try:
            tasks.get(task)
        except InvalidArgument:
            raise UsageError(f"--task {task!r}: unknown task; known: "
                             f"{', '.join(tasks.names())}") from None
    if given and task != tasks.GENERATION.name:
        raise UsageError(f"{' and '.join(given)} apply to a model that writes text; add "
                         "--task generation")
    if given:
        try:
            task = tasks.Generation(similarity=args.similarity, threshold=args.threshold,
                                    output=_contract(args.output_contract))
        except (InvalidArgument, TypeError, ValueError) as exc:
            raise UsageError(f"{' / '.join(given)}: {exc}") from None
    return task, _with_cache(args, model)


def _contract(spec: str | None) -> Any:
    """``json``, a JSON schema read from a ``*.json`` file, or a regular expression."""
    if spec is None or spec == "json":
        return spec
    if spec.endswith(".json"):
        path = Path(spec)
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--output-contract {spec!r}: cannot read a JSON schema from it "
                             f"({exc})") from None
        if not isinstance(schema, dict):
            raise UsageError(f"--output-contract {spec!r}: a JSON schema is an object; the "
                             f"file holds {type(schema).__name__}")
        return schema
    return spec


def _with_cache(args: argparse.Namespace, model: Any) -> Any:
    from ._chat import ChatCompletions
    from ._response_cache import ResponseCache

    if not isinstance(model, ChatCompletions):
        if args.cache is not None:
            raise UsageError(f"--cache {args.cache!r}: only a chat endpoint "
                             "(robustcheck.adapters.ChatCompletions) keeps a response cache; "
                             f"the model is {type(model).__name__}")
        return model
    if args.no_cache:
        if args.cache is not None:
            raise UsageError("--cache and --no-cache: give one of them")
        return model
    if model.cache is not None and args.cache is None:
        return model  # the model's own cache
    try:
        cache = ResponseCache(args.cache or DEFAULT_CACHE)
    except InvalidArgument as exc:
        raise UsageError(f"--cache: {exc}") from None
    cached = copy.copy(model)
    cached.cache = cache
    return cached
