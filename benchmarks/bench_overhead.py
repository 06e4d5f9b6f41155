"""Overhead benchmark for ``robustcheck.run`` (run by hand, not in CI).

    python benchmarks/bench_overhead.py [--quick] [--texts N] [--repeats N]
                                        [--http-texts N] [--no-profile]

Measures, in one process:

1. **Runner overhead.** ``robustcheck.run`` with the whole default text suite at
   severities (0.25, 0.5, 1.0) on a fast model defined here (a numpy hashed bag-of-words
   linear classifier, a few microseconds per input), against a bare loop doing the same
   perturbation and prediction work by hand: ``p.apply`` for every perturbation x
   severity, the model on the perturbed texts that changed (as ``run`` asks, no
   deduplication, no crash handling) in batches of 256, plus the clean prediction once.
   The two are timed in turns (run, bare, run, bare, ...), best of ``--repeats``. When
   run/bare exceeds the target (1.10), one run is profiled with cProfile and the hot
   spots inside robustcheck and perturbations are printed.
2. **HTTP concurrency.** The same model behind a local HTTP server on 127.0.0.1
   (``ThreadingHTTPServer`` in a thread, an ephemeral port, 20 ms of sleep per request;
   HTTP/1.1 with keep-alive and TCP_NODELAY, as a model server answers),
   called through ``HTTPAdapter(url, batch_size=8, concurrency=16)`` against
   ``concurrency=1``: ``adapter.predict`` on the texts directly, and ``robustcheck.run``
   with ``["typo.keyboard"]`` at severity 1.0.

Every timing is the minimum wall time (``time.perf_counter``). The corpus is
``bench_perturbations.make_corpus`` (fixed seed); the model's weights come from
``np.random.default_rng(0)`` (no global random state). Prints plain-text tables; no
traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import cProfile
import http.server
import json
import math
import pstats
import shlex
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_perturbations, run from anywhere
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # robustcheck from a checkout

from bench_perturbations import machine_facts, make_corpus, print_table

import perturbations
import robustcheck
from robustcheck.adapters import HTTPAdapter

SEVERITIES = (0.25, 0.5, 1.0)
BATCH = 256
RATIO_TARGET = 1.10  # run / bare wall time
SPEEDUP_TARGET = 10.0  # concurrency 16 / concurrency 1
HTTP_SLEEP = 0.020  # seconds the server sleeps per request
HTTP_SUITE = ["typo.keyboard"]
FULL = {"texts": 10_000, "repeats": 3, "http_texts": 2_000, "http_run_texts": 1_000,
        "http_repeats": 2}
QUICK = {"texts": 1_000, "repeats": 3, "http_texts": 500, "http_run_texts": 250,
         "http_repeats": 1}

# -- the fast model -----------------------------------------------------------------------


class HashedBowModel:
    """A linear classifier on hashed lower-cased whitespace tokens: crc32 into 2**18
    buckets, fixed random weights, 3 classes, softmax scores. Counts inputs it sees."""

    buckets = 2**18
    n_classes = 3

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.weights = rng.normal(size=(self.buckets, self.n_classes))
        self.bias = rng.normal(size=self.n_classes)
        self.inputs_seen = 0
        self.seconds = 0.0  # wall time spent inside the model

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        out = self.scores(texts)
        self.seconds += time.perf_counter() - start
        self.inputs_seen += len(texts)
        return out

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        mask = self.buckets - 1
        tokens = [t.lower().split() for t in texts]
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        ids = np.fromiter(
            (zlib.crc32(w.encode("utf-8", "surrogatepass")) & mask for ws in tokens for w in ws),
            dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(texts)), lengths)
        picked = self.weights[ids]
        logits = np.column_stack([np.bincount(rows, weights=picked[:, c], minlength=len(texts))
                                  for c in range(self.n_classes)]) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def reset(self) -> None:
        self.inputs_seen = 0
        self.seconds = 0.0


def model_cost(model: HashedBowModel, texts: list[str], repeats: int = 5) -> float:
    """Best seconds per input of the model alone, in batches of BATCH."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(texts), BATCH):
            model.scores(texts[i:i + BATCH])
        best = min(best, time.perf_counter() - start)
    return best / len(texts)


# -- 1. runner overhead ---------------------------------------------------------------------


@dataclass
class BareResult:
    seconds_perturb: float
    flips: int


@dataclass
class Trial:
    """One timed call: wall time, time inside the model, inputs the model saw, result."""

    wall: float
    model: float
    inputs: int
    result: Any


def bare_loop(model: HashedBowModel, texts: list[str], suite: list[Any]) -> BareResult:
    """What a careful user would write by hand: perturb (on a
    ``perturbations.TextCorpus``, as the catalogue advises for many perturbations and
    severities of one corpus, and as ``run`` does), predict the texts the perturbation
    changed (as ``run`` does; the others keep their clean answer), count label flips."""
    def predict(batch: list[str]) -> np.ndarray:
        if not batch:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([model(batch[i:i + BATCH]).argmax(axis=1)
                               for i in range(0, len(batch), BATCH)])

    t_perturb = 0.0
    flips = 0
    clean = predict(texts)
    corpus = perturbations.TextCorpus(texts)  # each chunk analysed on first use, once
    for p in suite:
        for s in SEVERITIES:
            start = time.perf_counter()
            shifted = p.apply(corpus, severity=s, seed=0)
            t_perturb += time.perf_counter() - start
            changed = [i for i, (a, b) in enumerate(zip(texts, shifted)) if a != b]
            flips += int((predict([shifted[i] for i in changed]) != clean[changed]).sum())
    return BareResult(t_perturb, flips)


def runner(model: HashedBowModel, texts: list[str]) -> Any:
    return robustcheck.run(model, texts, perturbations="text", severities=SEVERITIES, seed=0,
                           batch_size=BATCH, progress=False)


def bench_overhead(texts: list[str], repeats: int, profile: bool) -> dict[str, Any]:
    suite = perturbations.select("text")
    model = HashedBowModel()
    per_input = model_cost(model, texts)
    print(f"## 1. Runner overhead: {len(suite)} text perturbations x {len(SEVERITIES)} "
          f"severities {SEVERITIES} = {len(suite) * len(SEVERITIES)} units, {len(texts):,} "
          f"texts, batch_size={BATCH}\n")
    print(f"model: hashed bag-of-words (crc32 -> 2**18 buckets, 3 classes, softmax), "
          f"{per_input * 1e6:.2f} us per input alone (batches of {BATCH}, best of 5)\n")

    trials, warmup = interleaved({"run": lambda: runner(model, texts),
                                  "bare": lambda: bare_loop(model, texts, suite)},
                                 model, repeats)
    run = min(trials["run"], key=lambda t: t.wall)
    best_bare = min(range(repeats), key=lambda i: trials["bare"][i].wall)
    bare = trials["bare"][best_bare]
    # the run calls p.apply(corpus, severity=s, seed=0) on a TextCorpus of the texts
    # exactly as the bare loop does: its perturbing time is taken from the bare loop of
    # the same round
    run_round = trials["run"].index(run)
    perturb_run = trials["bare"][run_round].result.seconds_perturb
    perturb_bare = bare.result.seconds_perturb
    result = run.result
    ratio = run.wall / bare.wall
    saved = sum(row.to_dict()["calls_saved"] for row in result.rows)
    unit_calls = sum(row.model_calls for row in result.rows)
    inner = float(result.timings["seconds"])

    print_table(
        ["approach", "best s", "in model s", "perturbing s", "everything else s",
         "inputs sent", "clean", "perturbed"],
        [["robustcheck.run", f"{run.wall:.2f}", f"{run.model:.2f}", f"~{perturb_run:.2f}",
          f"~{run.wall - run.model - perturb_run:.2f}", f"{run.inputs:,}",
          f"{run.inputs - unit_calls:,}", f"{unit_calls:,}"],
         ["bare loop", f"{bare.wall:.2f}", f"{bare.model:.2f}", f"{perturb_bare:.2f}",
          f"{bare.wall - bare.model - perturb_bare:.2f}", f"{bare.inputs:,}",
          f"{len(texts):,}", f"{bare.inputs - len(texts):,}"]])
    verdict = "meets" if ratio <= RATIO_TARGET else "MISSES"
    print(f"ratio run/bare: {ratio:.3f}  ({verdict} the target <= {RATIO_TARGET})")
    print(f"every repeat (s, in turns, after one untimed warm-up round of each: run "
          f"{warmup['run']:.2f}, bare {warmup['bare']:.2f}):")
    print(f"  run  {_join([t.wall for t in trials['run']])}")
    print(f"  bare {_join([t.wall for t in trials['bare']])}")
    ratios = [r.wall / b.wall for r, b in zip(trials["run"], trials["bare"])]
    print(f"  per-round ratios run/bare {_join(ratios)}")
    print(f"model calls saved by the runner: {saved:,} (sum of rows' calls_saved: perturbed "
          f"inputs unchanged or duplicated; {saved / (len(result.rows) * len(texts)):.1%} "
          f"of {len(result.rows) * len(texts):,})")
    print(f"inputs sent: run {run.inputs:,} vs bare {bare.inputs:,} "
          f"({run.inputs / bare.inputs:.1%}); the run predicts the clean inputs twice "
          f"(self-flip check) plus 3 single-input probes (call cost fit)")
    print("~ perturbing s of the run = the bare loop's in the same round (same p.apply "
          "calls); everything else = best s - in model s - perturbing s")
    print(f"run split (best repeat): clean predictions + units {inner:.2f} s "
          f"(result.timings['seconds']); before and after them (validation, fingerprint, "
          f"metrics with their intervals, result assembly) {run.wall - inner:.2f} s\n")
    report = {"seconds_run": run.wall, "seconds_bare": bare.wall, "ratio": ratio,
              "calls_saved": saved, "inputs_run": run.inputs, "inputs_bare": bare.inputs}
    if ratio > RATIO_TARGET and profile:
        profile_run(model, texts)
    return report


def interleaved(funcs: dict[str, Callable[[], Any]], model: HashedBowModel, repeats: int,
                ) -> tuple[dict[str, list[Trial]], dict[str, float]]:
    """Each contender once untimed (warm-up: lazy lexicons and caches), then ``repeats``
    timed calls in turns (a, b, a, b, ...) so a burst of load on a shared machine hits
    both alike."""
    trials: dict[str, list[Trial]] = {k: [] for k in funcs}
    warmup: dict[str, float] = {}
    for round_ in range(repeats + 1):
        for key, func in funcs.items():
            model.reset()
            start = time.perf_counter()
            out = func()
            wall = time.perf_counter() - start
            if round_ == 0:
                warmup[key] = wall
            else:
                trials[key].append(Trial(wall, model.seconds, model.inputs_seen, out))
    return trials, warmup


def _join(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def profile_run(model: HashedBowModel, texts: list[str], top: int = 15) -> None:
    """One profiled run; the functions of robustcheck/ and perturbations/ that cost most."""
    profiler = cProfile.Profile()
    model.reset()
    start = time.perf_counter()
    profiler.enable()
    runner(model, texts)
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    ours = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        path = Path(filename).as_posix()
        for package in ("/robustcheck/", "/perturbations/"):
            if package in path:
                short = package.strip("/") + "/" + path.split(package, 1)[1]
                ours.append((tottime, cumtime, calls, f"{short}:{line}({func})"))
                break
    print(f"profile of one run (cProfile, {wall:.1f} s under the profiler, {model.seconds:.1f} s "
          f"of it inside the model), functions in robustcheck/ and perturbations/. The "
          f"profiler charges every Python call (generator steps included), so it inflates "
          f"per-item Python code: read the order, not the seconds.\n")
    for title, key in (("by tottime", 0), ("by cumtime", 1)):
        rows = sorted(ours, key=lambda r: r[key], reverse=True)[:top]
        print(f"top {top} {title}:")
        print_table(["tottime s", "cumtime s", "calls", "function"],
                    [[f"{t:.3f}", f"{c:.3f}", f"{n:,}", f] for t, c, n, f in rows],
                    align="rrrl")


# -- 2. HTTP concurrency --------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # 16 clients connecting at once must not overflow the backlog
    daemon_threads = True
    sleep = HTTP_SLEEP  # seconds per request; 0 for the CPU-cost diagnostic


def make_handler(model: HashedBowModel) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a model server; needs Content-Length
        # TCP_NODELAY, as model servers set it: the headers and the body are two writes, and
        # Nagle would hold the body on a kept-alive connection until the client's delayed
        # ACK of the headers (40 ms on Linux)
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            scores = model(body["inputs"])
            time.sleep(self.server.sleep)  # type: ignore[attr-defined]
            payload = json.dumps({"predictions": scores.tolist()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # silence per-request logs
            pass

    return Handler


def start_server(model: HashedBowModel) -> tuple[_Server, threading.Thread, str]:
    server = _Server(("127.0.0.1", 0), make_handler(model))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True, name="bench-http")
    thread.start()
    host, port = server.server_address[:2]
    return server, thread, f"http://{host}:{port}/predict"


def stop_server(server: _Server, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def adapter_for(url: str, concurrency: int) -> HTTPAdapter:
    # retries=0: a failed request would distort the timing; it is reported instead
    return HTTPAdapter(url, batch_size=8, concurrency=concurrency, timeout=10.0, retries=0)


def time_http(func: Callable[[HTTPAdapter], Any], url: str, repeats: int,
              ) -> dict[int, tuple[float, int, Any]]:
    """Best wall time, requests made (last repeat) and result, per concurrency; in turns."""
    best: dict[int, tuple[float, int, Any]] = {16: (math.inf, 0, None), 1: (math.inf, 0, None)}
    for _ in range(repeats):
        for concurrency in best:
            adapter = adapter_for(url, concurrency)
            start = time.perf_counter()
            out = func(adapter)
            elapsed = time.perf_counter() - start
            best[concurrency] = (min(best[concurrency][0], elapsed), adapter.requests_made, out)
    return best


def bench_http(corpus: list[str], n_predict: int, n_run: int, repeats: int) -> dict[str, Any]:
    print(f"## 2. HTTP concurrency: local server on 127.0.0.1 (HTTP/1.1, keep-alive, "
          f"TCP_NODELAY), {HTTP_SLEEP * 1000:.0f} ms sleep per request, HTTPAdapter(url, "
          f"batch_size=8, concurrency=16 | 1, retries=0)\n")
    model = HashedBowModel()
    server, thread, url = start_server(model)
    rows, report = [], {}
    try:
        texts = corpus[:n_predict]
        direct = time_http(lambda a: a.predict(texts), url, repeats)
        run_texts = corpus[:n_run]
        via_run = time_http(
            lambda a: robustcheck.run(a, run_texts, perturbations=HTTP_SUITE, severities=(1.0,),
                                      seed=0, progress=False),  # the adapter's call size
            url, repeats)
        server.sleep = 0.0
        no_sleep = time_http(lambda a: a.predict(texts), url, repeats)
    finally:
        stop_server(server, thread)
    for label, timings in ((f"adapter.predict({n_predict:,} texts)", direct),
                           (f"robustcheck.run({n_run:,} texts, {HTTP_SUITE}@1.0)",
                            via_run)):
        (t16, r16, _), (t1, r1, out1) = timings[16], timings[1]
        speedup = t1 / t16
        ideal = r1 * HTTP_SLEEP
        rows.append([label, f"{t1:.2f}", f"{t16:.2f}", f"{r1:,}", f"{r16:,}",
                     f"{ideal:.2f}", f"{speedup:.1f}x"])
        report[label] = {"seconds_c1": t1, "seconds_c16": t16, "requests_c1": r1,
                         "requests_c16": r16, "speedup": speedup}
        crashes = _crash_count(timings[16][2]) + _crash_count(out1)
        if crashes:
            print(f"warning: {crashes} crashed inputs in {label}")
    print_table(["call", "c=1 s", "c=16 s", "requests c=1", "requests c=16", "sleep floor c=1 s",
                 "speedup"], rows)
    print(f"speedup = c=1 time / c=16 time (target >= {SPEEDUP_TARGET:g}x); best of {repeats}, "
          f"c=16 and c=1 in turns. 'sleep floor' = requests x {HTTP_SLEEP * 1000:.0f} ms, the "
          f"least a sequential client can take.")
    (z16, n16, _), (z1, n1, _) = no_sleep[16], no_sleep[1]
    print(f"without the sleep (same {n_predict:,} texts): c=1 {z1:.2f} s = {z1 / n1 * 1000:.2f} ms "
          f"per request, c=16 {z16:.2f} s = {z16 / n16 * 1000:.2f} ms per request: the CPU "
          f"cost of a request (client and server share this process, its GIL and the "
          f"machine's cores), which concurrency cannot hide.")
    report["no_sleep"] = {"seconds_c1": z1, "seconds_c16": z16, "requests": n1}
    per_call = adapter_for(url, 16).inputs_per_call
    print(f"robustcheck.run calls adapter.predict with at most {per_call:,} inputs at a time "
          f"at c=16 (HTTPAdapter.inputs_per_call: {per_call // 8} requests, 8 rounds of 16), "
          f"{BATCH} at c=1 (the text default).\n")
    return report


def _crash_count(out: Any) -> int:
    rows = getattr(out, "rows", None)
    return int(sum(row.crashed.sum() for row in rows)) if rows else 0


# -- main -----------------------------------------------------------------------------------


def print_header(facts: dict[str, Any], args: argparse.Namespace, argv: Sequence[str]) -> None:
    print("# robustcheck runner overhead benchmark\n")
    for key, value in facts.items():
        if key != "nlpaug":
            print(f"{key + ':':12} {value}")
    print(f"{'texts:':12} {args.texts:,}   repeats: {args.repeats} (best = min wall time)   "
          f"http texts: {args.http_texts:,} predict, {args.http_run_texts:,} run, "
          f"repeats: {args.http_repeats}")
    print("reproduce:   python " + shlex.join(["benchmarks/bench_overhead.py", *argv]))
    print()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1,000 texts, small HTTP section (under a minute)")
    parser.add_argument("--texts", type=int, help="corpus size for the overhead (default 10,000)")
    parser.add_argument("--repeats", type=int, help="run/bare timings each (default 3)")
    parser.add_argument("--http-texts", type=int, help="texts for adapter.predict (default 2,000)")
    parser.add_argument("--http-run-texts", type=int,
                        help="texts for robustcheck.run over HTTP (default 1,000)")
    parser.add_argument("--http-repeats", type=int, help="HTTP timings each (default 2)")
    parser.add_argument("--skip", choices=["overhead", "http"], action="append", default=[],
                        help="skip a section (repeatable)")
    parser.add_argument("--no-profile", action="store_true",
                        help="do not profile even when run/bare exceeds the target")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.texts, args.repeats, args.http_texts, args.http_run_texts,
           args.http_repeats) < 1:
        parser.error("counts and repeats must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    print_header(machine_facts(), args, argv)
    started = time.perf_counter()
    corpus = make_corpus(max(args.texts, args.http_texts, args.http_run_texts))
    if "overhead" not in args.skip:
        bench_overhead(corpus[:args.texts], args.repeats, not args.no_profile)
    if "http" not in args.skip:
        bench_http(corpus, args.http_texts, args.http_run_texts, args.http_repeats)
    print(f"total wall time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
