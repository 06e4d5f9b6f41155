"""Scale benchmark for ``robustcheck.run`` (issue 17 "Scale"; run by hand, not in CI).

    python benchmarks/bench_scale.py [--quick] [--only NAME] [--repeats N]
                                     [--shard-size N] [--timeout S]

Every configuration runs in a fresh child process (this script with ``--child KIND``),
so one configuration's memory never hides another's; the child reports its own peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and its timings as one JSON line. Figures
(``--only`` takes these names, repeatable):

``text``     100,000 texts, the whole text suite x severities (0.2, 0.5, 1.0), a trivial
             model: wall time of ``robustcheck.run`` against the *perturbation floor*
             (``p.apply(corpus, severity=s, seed=0)`` for every perturbation and severity
             of the same suite, nothing else, on a fresh ``perturbations.TextCorpus`` of
             the texts: the catalogue's fastest way to perturb a corpus at several
             severities, which the run uses too), in the same child, in turns; peak RSS.
``tabular``  1,000,000 x 10 mixed-dtype rows (``bench_perturbations.make_table``), the
             whole tabular suite, a trivial vectorised model: wall time, peak RSS; then,
             untargeted, the wall time of perturbing the table with the same units alone
             (the floor, as for text): what the run costs beyond perturbing.
``sharded``  the 100k text audit on a 2-worker Dask ``LocalCluster`` (processes) through
             ``executor=client.get_executor(), shard_size=N`` against in-process, in the
             same child, in turns; twice: with Dask's defaults, and with workers that
             keep glibc's malloc defaults (the nanny's ``MALLOC_TRIM_THRESHOLD_=65536``
             left out, as the README advises); each result's JSON compared with the
             in-process one (timings removed). The workers' page faults and system CPU
             are printed for the timed run and for a second run on the same workers
             (timed apart, not judged).
``memory``   peak RSS at 10k / 100k / 300k texts (whole suite) and at 100k with a third
             of the units (the whole suite at severity 1; a third of the suite, shown):
             linear in n, flat in the number of units.
``hgb``      100,000 rows, the tabular suite, scikit-learn HistGradientBoostingClassifier
             fitted on the clean numeric columns (numbers rendered as strings make it
             raise: systematic crashes), ``OMP_NUM_THREADS=1`` in the child.
``overhead`` runner overhead and HTTP concurrency: measured by ``bench_overhead.py``; the
             command is printed (``--only overhead`` runs it).

The corpus and the table come from ``bench_perturbations`` (fixed seeds). A child that
runs past ``--timeout`` is stopped and reported with the units it had finished.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_perturbations, from anywhere
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # robustcheck from a checkout

from bench_perturbations import machine_facts, make_corpus, make_table, print_table

HERE = Path(__file__).resolve().parent
SCRIPT = "benchmarks/bench_scale.py"
SEVERITIES = (0.2, 0.5, 1.0)
SEED = 0  # the run's seed; the floor applies the perturbations with the same one
NUMERIC = ["price", "score", "ratio", "income", "age", "visits"]
FIGURES = ("text", "tabular", "sharded", "memory", "hgb", "overhead")
OVERHEAD_ARGS = ["--texts", "5000", "--repeats", "3"]

TARGETS = {
    "run_over_floor": 1.3,  # text run / perturbation floor
    "text_rss_mb": 600.0,
    "tabular_seconds": 90.0,
    "tabular_rss_mb": 2500.0,
    "sharded_speedup": 1.6,  # in-process / sharded on 2 workers
    "hgb_seconds": 180.0,
    "linear": 1.25,  # this script's reading: MB per 1,000 inputs, largest n / middle n
    "flat": 0.75,  # this script's reading: run MB, the whole suite at one severity / at three
}
FULL = {"texts": 100_000, "rows": 1_000_000, "memory": (10_000, 100_000, 300_000),
        "hgb_rows": 100_000, "shard_size": 50_000, "repeats": 1,
        "timeouts": {"text": 3000, "tabular": 600, "memory": 1800, "hgb": 600}}
QUICK = {"texts": 10_000, "rows": 100_000, "memory": (2_000, 10_000, 30_000),
         "hgb_rows": 10_000, "shard_size": 2_500, "repeats": 1,
         "timeouts": {"text": 900, "tabular": 600, "memory": 600, "hgb": 600}}


# -- the trivial models (module level: a Dask worker gets them by pickling) -------------------


def text_model(batch: Sequence[str]) -> list[int]:
    return [len(t) % 2 for t in batch]


def tabular_model(frame: Any) -> np.ndarray:
    # whether the first cell is missing: vectorised, so that robustcheck's own cost shows
    # (rendering the column as text, as an earlier version did, cost more than the audit)
    return frame.iloc[:, 0].isna().to_numpy().astype(np.int64)


# -- the child: one configuration, one process -------------------------------------------------


def maxrss_mb() -> float:
    """Peak RSS of this process so far (since :func:`reset_peak`), MB (Linux: kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def faults_and_system() -> tuple[int, float]:
    """This process's page faults (minor) and system CPU seconds so far: what a Dask
    worker spends mapping fresh memory, read by ``client.run`` around a run."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_stime


def spent(since: dict[str, tuple[int, float]], until: dict[str, tuple[int, float]]
          ) -> list[tuple[int, float]]:
    """Each worker's page faults and system CPU between two :func:`faults_and_system`
    readings of ``client.run`` (by worker address, in address order)."""
    return [(until[w][0] - since[w][0], until[w][1] - since[w][1]) for w in sorted(since)]


def reset_peak() -> tuple[float, bool]:
    """``(RSS now in MB, whether the peak was reset to it)``: what a run's memory is
    measured from. Linux resets a process's peak RSS when ``5`` is written to its
    ``/proc/self/clear_refs``, so the peak after a run is the run's own, not an earlier
    and higher one (imports, building the data); without that the peak so far is
    returned, and a run that stays under it shows no memory of its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return maxrss_mb(), False
    return rss_kb / 1024, True


def progress_printer(label: str) -> Callable[[int, int, str], None]:
    """A ``run(progress=...)`` callback writing one line per unit to stderr: what the
    parent reports when a child is stopped by its timeout."""
    start = time.perf_counter()

    def report(done: int, total: int, unit: str) -> None:
        print(f"progress {label}: {done}/{total} units done ({unit}) after "
              f"{time.perf_counter() - start:.0f} s, peak RSS so far {maxrss_mb():.0f} MB",
              file=sys.stderr, flush=True)

    return report


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def comparable(result: Any) -> dict[str, Any]:
    """A result's JSON without what depends on the clock: timings, row latencies."""
    d = json.loads(result.to_json())
    d.pop("timings", None)
    for row in d.get("rows", []):
        row.pop("latency", None)
    return d


def differences(a: Any, b: Any, path: str = "", limit: int = 5) -> list[str]:
    """Up to ``limit`` paths where two JSON values differ."""
    if type(a) is not type(b):
        return [path or "/"]
    if isinstance(a, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}/{key}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}", limit - len(out))
            if len(out) >= limit:
                break
        return out[:limit]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path} (length {len(a)} vs {len(b)})"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}/{i}", limit - len(out))
            if len(out) >= limit:
                break
        return out[:limit]
    return [] if a == b else [path or "/"]


def child_text(args: argparse.Namespace) -> dict[str, Any]:
    import robustcheck
    from perturbations import TextCorpus
    from robustcheck._suite import select  # what run(perturbations="text") runs

    parts = args.parts.split(",")
    start = time.perf_counter()
    corpus = make_corpus(args.n)
    out: dict[str, Any] = {"n": args.n, "corpus_seconds": time.perf_counter() - start,
                           "chars": sum(map(len, corpus))}
    suite = select("text", "text")
    if args.units == "third":
        suite = suite[::3]
    spec: Any = "text" if args.units != "third" else [p.name for p in suite]
    severities = (1.0,) if args.units == "one" else SEVERITIES  # "one": a third of the
    # units, the same perturbations (and so the same largest working set) as "all"
    out.update(perturbations=len(suite), units=len(suite) * len(severities))

    def run(corpus: list[str] = corpus, **kwargs: Any) -> Any:
        return robustcheck.run(text_model, corpus, perturbations=spec, severities=severities,
                               seed=SEED, **kwargs)

    def floor() -> None:
        # a fresh corpus, as run() makes one: each chunk is analysed, and what a
        # perturbation finds in it before it draws is found, once for every severity
        texts = TextCorpus(corpus)
        for p in suite:
            for s in severities:
                p.apply(texts, severity=s, seed=SEED)

    # warm-up on 200 texts: imports, lazy lexicons and caches, for every contender alike
    robustcheck.run(text_model, corpus[:200], perturbations=spec, severities=severities,
                    seed=SEED, progress=False)
    out["rss_start_peak_mb"] = maxrss_mb()  # imports, corpus, warm-up: the child's peak
    out["rss_base_mb"], out["peak_reset"] = reset_peak()
    times: dict[str, list[float]] = {k: [] for k in parts}
    results: dict[str, Any] = {}
    for round_ in range(args.repeats):
        if "run" in parts:
            t, results["run"] = timed(lambda: run(progress=progress_printer("run")))
            times["run"].append(t)
            if round_ == 0:
                out["rss_run_mb"] = maxrss_mb()  # before the floor or Dask add theirs
                out["rss_peak_mb"] = max(out["rss_start_peak_mb"], out["rss_run_mb"])
                out["inner_seconds"] = float(results["run"].timings["seconds"])
        if "floor" in parts:
            times["floor"].append(timed(floor)[0])
        for key in ("dask", "dask_glibc"):
            if key not in parts:
                continue
            # one cluster at a time (an idle one costs CPU), started and warmed untimed
            client, cluster, out[f"{key}_cluster_seconds"] = start_cluster(
                glibc_malloc=key == "dask_glibc")
            try:
                out[f"{key}_worker_malloc"] = sorted(set(client.run(
                    os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()), key=str)
                run(corpus=corpus[:200], executor=client.get_executor(),
                    shard_size=args.shard_size, progress=False)  # the workers' warm-up
                before = client.run(faults_and_system)
                t, results[key] = timed(functools.partial(
                    run, executor=client.get_executor(), shard_size=args.shard_size,
                    progress=progress_printer(key)))
                times[key].append(t)
                out.setdefault(f"{key}_worker_peak_mb", []).append(
                    sorted(round(v) for v in client.run(maxrss_mb).values()))
                # not a contender: the same audit again on the same workers, whose heaps
                # the first one grew; it shows what of the first was the workers' start
                first = client.run(faults_and_system)
                again, _ = timed(functools.partial(
                    run, executor=client.get_executor(), shard_size=args.shard_size,
                    progress=False))
                last = client.run(faults_and_system)
                out.setdefault(f"{key}_again", []).append({
                    "seconds": again, "first": spent(before, first),
                    "again": spent(first, last)})
            finally:
                client.close()
                cluster.close()
    out["times"] = times
    for key, result in results.items():
        out[f"{key}_complete"] = bool(result.complete)
        out[f"{key}_crashes"] = int(sum(int(r.crashed.sum()) for r in result.rows))
        out[f"{key}_model_calls"] = int(sum(r.model_calls for r in result.rows))
    if "run" in results:
        a = comparable(results["run"])
        out["json_chars"] = len(json.dumps(a))
        for key in ("dask", "dask_glibc"):
            if key in results:
                b = comparable(results[key])
                out[f"{key}_json_identical"] = a == b
                out[f"{key}_json_differences"] = differences(a, b)
    return out


ENVIRON = dict(os.environ)  # this process's environment before any Dask nanny adds to it


def start_cluster(glibc_malloc: bool = False) -> tuple[Any, Any, float]:
    """A 2-worker LocalCluster: Dask's defaults, or (``glibc_malloc``) workers started
    without the ``MALLOC_TRIM_THRESHOLD_=65536`` that Dask's nanny puts in their
    environment (``distributed.nanny.pre-spawn-environ``), as the README recommends for
    audits."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    start = time.perf_counter()
    # a nanny also sets its pre-spawn environment in this process, which workers inherit:
    # the variable is put back as it was before any cluster (or removed), then left to
    # the config
    if "MALLOC_TRIM_THRESHOLD_" in ENVIRON and not glibc_malloc:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = ENVIRON["MALLOC_TRIM_THRESHOLD_"]
    else:
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    config = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None} \
        if glibc_malloc else {}
    with dask.config.set(config):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    return client, cluster, time.perf_counter() - start


def child_tabular(args: argparse.Namespace) -> dict[str, Any]:
    import robustcheck
    from robustcheck._suite import select  # what run(perturbations="tabular") runs

    start = time.perf_counter()
    frame = make_table(args.n)
    out: dict[str, Any] = {"n": args.n, "columns": frame.shape[1],
                           "table_seconds": time.perf_counter() - start}
    robustcheck.run(tabular_model, frame.iloc[:500], perturbations="tabular", seed=SEED,
                    progress=False)  # warm-up: imports
    out["rss_base_mb"] = maxrss_mb()
    t, result = timed(lambda: robustcheck.run(tabular_model, frame, perturbations="tabular",
                                              seed=SEED, progress=progress_printer("run")))
    out.update(seconds=t, rss_mb=maxrss_mb(), **summary(result))  # before the floor's

    def floor() -> None:  # the same units' perturbing alone, each over the whole table
        for p in select("tabular", "tabular"):
            for s in result.severities:
                p.apply(frame, severity=s, seed=SEED)

    out["floor_seconds"] = timed(floor)[0]
    return out


def hgb_labels(frame: Any) -> np.ndarray:
    """A learnable binary target: a noisy threshold on two of the columns."""
    rng = np.random.default_rng(1)
    signal_ = frame["score"].to_numpy() + 2.0 * (frame["ratio"].to_numpy() - 0.5)
    return (signal_ + rng.normal(0.0, 0.5, len(frame)) > 0).astype(np.int64)


def child_hgb(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    import robustcheck

    start = time.perf_counter()
    frame = make_table(args.n)[NUMERIC]
    built = time.perf_counter() - start
    labels = hgb_labels(frame)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    fit_seconds, _ = timed(lambda: model.fit(frame, labels))
    out: dict[str, Any] = {"n": args.n, "columns": frame.shape[1], "fit_seconds": fit_seconds,
                           "table_seconds": built,
                           "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    robustcheck.run(model, frame.iloc[:500], labels[:500], perturbations="tabular",
                    seed=SEED, progress=False)  # warm-up: imports
    out["rss_base_mb"] = maxrss_mb()
    t, result = timed(lambda: robustcheck.run(model, frame, labels, perturbations="tabular",
                                              seed=SEED, progress=progress_printer("run")))
    out.update(seconds=t, rss_mb=maxrss_mb(), **summary(result))
    out["clean_accuracy"] = float((model.predict(frame) == labels).mean())
    return out


def summary(result: Any) -> dict[str, Any]:
    rows = result.rows
    systematic = [r.key for r in rows if (r.details or {}).get("systematic")]
    crashing = [r.key for r in rows if r.crashed.any()]
    return {"units": len(rows), "severities": list(result.severities),
            "complete": bool(result.complete),
            "model_calls": int(sum(r.model_calls for r in rows)),
            "crashes": int(sum(int(r.crashed.sum()) for r in rows)),
            "crashing_units": len(crashing), "systematic_units": systematic,
            "inner_seconds": float(result.timings["seconds"])}


CHILDREN = {"text": child_text, "tabular": child_tabular, "hgb": child_hgb}


def child_main(args: argparse.Namespace) -> int:
    out = CHILDREN[args.child](args)
    # the child's peak so far, unless it measured its own (the text child: the run's,
    # not the floor's or the Dask client's that come after it)
    out.setdefault("rss_peak_mb", maxrss_mb())
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# -- the parent: one child per configuration, the tables ------------------------------------


class Child:
    """What a child process reported: its result (None when it failed or timed out)."""

    def __init__(self, argv: list[str], result: dict[str, Any] | None, seconds: float,
                 error: str, progress: str, load: tuple[float, float, float]) -> None:
        self.argv, self.result, self.seconds = argv, result, seconds
        self.error, self.progress, self.load = error, progress, load

    @property
    def command(self) -> str:
        return "python " + shlex.join([SCRIPT, *self.argv])


def run_child(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> Child:
    """This script with ``argv`` in a new process (group), stopped after ``timeout`` s."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    start = time.perf_counter()
    error = ""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and the Dask workers it started
        stdout, stderr = proc.communicate()
        error = f"stopped after the timeout of {timeout:.0f} s"
    seconds = time.perf_counter() - start
    result = None
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    if result is None and not error:
        tail = [x for x in stderr.splitlines() if not x.startswith("progress ")][-25:]
        error = f"exit code {proc.returncode}:\n" + "\n".join("    " + x for x in tail)
    progress = [x for x in stderr.splitlines() if x.startswith("progress ")]
    return Child(argv, result, seconds, error, progress[-1] if progress else "",
                 os.getloadavg())


def fmt_load(load: Sequence[float]) -> str:
    return " ".join(f"{x:.1f}" for x in load)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


class Report:
    def __init__(self, args: argparse.Namespace, reproduce_extra: list[str]) -> None:
        self.args = args
        self.extra = reproduce_extra
        self.summary: list[list[str]] = []

    def reproduce(self, name: str) -> str:
        return "python " + shlex.join([SCRIPT, "--only", name, *self.extra])

    def child_line(self, child: Child) -> None:
        print(f"child:       {child.command}")
        print(f"             {child.seconds:.0f} s wall; load average at its end "
              f"{fmt_load(child.load)}")
        if child.error:
            print(f"FAILED:      {child.error}")
            if child.progress:
                print(f"last unit:   {child.progress.split(' ', 1)[1]}")

    def figure(self, name: str, rows: list[list[str]]) -> None:
        """``rows``: [measure, value, target, verdict]; printed and kept for the summary."""
        print_table(["measure", "value", "target", "verdict"], rows, align="lrrl")
        print(f"reproduce:   {self.reproduce(name)}\n", flush=True)
        for row in rows:
            self.summary.append([name, *row])

    def absolute(self, ok: bool) -> bool | None:
        """Absolute targets (seconds, MB) are for the issue's sizes, not --quick's."""
        return None if self.args.quick else ok


def text_figures(report: Report, args: argparse.Namespace, want: set[str]
                 ) -> dict[str, Any] | None:
    parts = ["run"] + (["floor"] if "text" in want else []) + \
        (["dask", "dask_glibc"] if "sharded" in want else [])
    argv = ["--child", "text", "--n", str(args.texts), "--parts", ",".join(parts),
            "--repeats", str(args.repeats)]
    if "dask" in parts:
        argv += ["--shard-size", str(args.shard_size)]
    what = " + ".join({"run": "in-process run", "floor": "perturbation floor",
                       "dask": "sharded run", "dask_glibc": "sharded run (glibc malloc)"}[p]
                      for p in parts)
    print(f"## Text, {args.texts:,} inputs: {what}\n")
    print(f"whole text suite (perturbations=\"text\") x severities {SEVERITIES}, seed {SEED}, "
          f"model text_model (len(t) % 2), batch_size 256 (the default)")
    child = run_child(argv, args.timeout or args.timeouts["text"])
    report.child_line(child)
    r = child.result
    if r is None:
        print()
        for name in ("text", "sharded"):
            if name in want:
                report.figure(name, [[f"{name}: did not finish", "-", "-", "MISS"]])
        return None
    times = r["times"]
    print(f"corpus:      {r['n']:,} sentences, {r['chars']:,} characters (built in "
          f"{r['corpus_seconds']:.1f} s); {r['perturbations']} perturbations x "
          f"{len(SEVERITIES)} = {r['units']} units")
    print(f"RSS:         {r['rss_base_mb']:.0f} MB before the run (imports, corpus, a "
          f"200-text warm-up run; peak so far {r['rss_start_peak_mb']:.0f} MB); the run's "
          f"peak {r['rss_run_mb']:.0f} MB"
          + ("" if r["peak_reset"] else " (the peak could not be reset: the peak so far)"))
    print(f"timed:       {args.repeats} round(s), contenders in turns ({', '.join(parts)}), "
          f"best = min wall time")
    for key in parts:
        print(f"  {key:10} {', '.join(f'{t:.1f}' for t in times[key])} s; "
              + (f"{r[key + '_model_calls']:,} inputs sent to the model, "
                 f"{r[key + '_crashes']:,} crashes, complete={r[key + '_complete']}"
                 if key != "floor" else
                 f"{r['units']} x p.apply(corpus, severity=s, seed=0), corpus a TextCorpus"))
    run_s = min(times["run"])
    print(f"run split:   {r['inner_seconds']:.1f} s in clean predictions + units "
          f"(result.timings['seconds']) of {times['run'][0]:.1f} s (first round)\n")
    if "text" in want:
        print(f"### 1. Text: run vs the perturbation floor, peak RSS ({r['n']:,} inputs)\n")
        floor_s = min(times["floor"])
        ratio = run_s / floor_s
        report.figure("text", [
            ["run s", f"{run_s:.1f}", "-", ""],
            ["perturbation floor s", f"{floor_s:.1f}", "-", ""],
            ["run / floor", f"{ratio:.2f}x", f"<= {TARGETS['run_over_floor']}x",
             verdict(ratio <= TARGETS["run_over_floor"])],
            ["peak RSS (child, to the end of the run)", f"{r['rss_peak_mb']:.0f} MB",
             f"<= {TARGETS['text_rss_mb']:.0f} MB",
             verdict(report.absolute(r["rss_peak_mb"] <= TARGETS["text_rss_mb"]))]])
    if "sharded" in want:
        print(f"### 3. Sharded: 2-worker Dask LocalCluster (processes), shard_size="
              f"{args.shard_size:,}, vs in-process ({r['n']:,} inputs)\n")
        print("cluster:     LocalCluster(n_workers=2, threads_per_worker=1, processes=True, "
              "host=\"127.0.0.1\", dashboard_address=None), executor=client.get_executor(); "
              "one cluster per contender and round, started and warmed (a 200-text run) "
              "untimed, closed after its run and a second one on the same workers (timed "
              "apart, not a contender: how much of the first was the workers' start)")
        print(f"             dask:       Dask's defaults, workers' MALLOC_TRIM_THRESHOLD_ "
              f"{r.get('dask_worker_malloc')}, workers' peak RSS per round "
              f"{r.get('dask_worker_peak_mb')} MB")
        print(f"             dask_glibc: pre-spawn-environ without it (the README's advice), "
              f"workers' MALLOC_TRIM_THRESHOLD_ {r.get('dask_glibc_worker_malloc')}, workers' "
              f"peak RSS per round {r.get('dask_glibc_worker_peak_mb')} MB")

        def workers(pairs: list[list[float]]) -> str:
            return ", ".join(f"{int(f):,} page faults and {t:.2f} s of system CPU"
                             for f, t in pairs)

        for key in ("dask", "dask_glibc"):
            for k, seen in enumerate(r.get(f"{key}_again", [])):
                print(f"             {key}, round {k + 1}: the workers in the timed run "
                      f"{workers(seen['first'])}; in a second run on the same workers "
                      f"(not a contender: {seen['seconds']:.1f} s) "
                      f"{workers(seen['again'])}")
        rows = [["in-process s", f"{run_s:.1f}", "-", ""]]
        for key, label in (("dask", "Dask's defaults"), ("dask_glibc", "glibc malloc")):
            dask_s = min(times[key])
            speedup = run_s / dask_s
            same = r.get(f"{key}_json_identical")
            print(f"JSON {key + ':':11} {r.get('json_chars', 0):,} characters each, without "
                  f"'timings' (and rows' 'latency'); "
                  + ("identical" if same else
                     f"DIFFERENT at {r.get(f'{key}_json_differences')}"))
            rows += [[f"sharded s, {label}", f"{dask_s:.1f}", "-", ""],
                     [f"speedup, {label}", f"{speedup:.2f}x",
                      f">= {TARGETS['sharded_speedup']}x",
                      verdict(speedup >= TARGETS["sharded_speedup"])],
                     [f"JSON identical, {label}", "yes" if same else "no", "yes",
                      verdict(bool(same))]]
        print()
        report.figure("sharded", rows)
    return r


def tabular_figure(report: Report, args: argparse.Namespace) -> None:
    print(f"## 2. Tabular: {args.rows:,} rows x 10 columns, whole tabular suite\n")
    print("table: bench_perturbations.make_table (float, int, bool, category, str, datetime); "
          "model tabular_model (whether column 0 is missing), default severities and "
          "batch_size (4,096 rows)")
    child = run_child(["--child", "tabular", "--n", str(args.rows)],
                      args.timeout or args.timeouts["tabular"])
    report.child_line(child)
    r = child.result
    if r is None:
        unfinished(report, "tabular", child, TARGETS["tabular_seconds"])
        return
    describe_run(r, "table")
    # no target: what the run costs beyond perturbing (keys, changed rows, gathering,
    # calls, combining). Not a gauge of the machine's speed: a memory-bound process on
    # the other core slowed the run 6% and not the floor (3.00 -> 3.40)
    print(f"floor:       {r['floor_seconds']:.1f} s to perturb the table with every unit of "
          f"the suite alone (p.apply over the whole table), after the run; run / floor "
          f"{r['seconds'] / r['floor_seconds']:.2f}\n")
    report.figure("tabular", [
        ["run s", f"{r['seconds']:.1f}", f"<= {TARGETS['tabular_seconds']:.0f}",
         verdict(report.absolute(r["seconds"] <= TARGETS["tabular_seconds"]))],
        ["run / floor", f"{r['seconds'] / r['floor_seconds']:.2f}", "-", ""],
        ["peak RSS (child)", f"{r['rss_mb']:.0f} MB", f"<= {TARGETS['tabular_rss_mb']:.0f} MB",
         verdict(report.absolute(r["rss_mb"] <= TARGETS["tabular_rss_mb"]))]])


def unfinished(report: Report, name: str, child: Child, target: float) -> None:
    """The figure of a child stopped at its timeout: a time over the timeout, a miss."""
    print()
    report.figure(name, [["run s", f"> {child.seconds:.0f} (did not finish)",
                          f"<= {target:.0f}", verdict(report.absolute(False))]])


def describe_run(r: dict[str, Any], what: str) -> None:
    print(f"{what}:       {r['n']:,} x {r['columns']} built in {r['table_seconds']:.1f} s; RSS "
          f"{r.get('rss_base_mb', float('nan')):.0f} MB before the run")
    print(f"run:         {r['units']} units (severities {r['severities']}), "
          f"{r['model_calls']:,} inputs sent to the model, {r['crashes']:,} crashed samples "
          f"in {r['crashing_units']} units, {len(r['systematic_units'])} systematic-crash "
          f"units, complete={r['complete']}; {r['inner_seconds']:.1f} s in clean predictions "
          f"+ units\n")


def hgb_figure(report: Report, args: argparse.Namespace) -> None:
    print(f"## 5. HistGradientBoostingClassifier: {args.hgb_rows:,} rows, tabular suite\n")
    print(f"frame: make_table's numeric columns {NUMERIC}; labels: score + 2 (ratio - 0.5) "
          f"+ N(0, 0.5) > 0; HistGradientBoostingClassifier(max_iter=100, random_state=0) "
          f"fitted on the clean frame (not timed); OMP_NUM_THREADS=1 in the child")
    child = run_child(["--child", "hgb", "--n", str(args.hgb_rows)],
                      args.timeout or args.timeouts["hgb"], env={"OMP_NUM_THREADS": "1"})
    report.child_line(child)
    r = child.result
    if r is None:
        unfinished(report, "hgb", child, TARGETS["hgb_seconds"])
        return
    print(f"fit:         {r['fit_seconds']:.1f} s; clean accuracy {r['clean_accuracy']:.3f}; "
          f"OMP_NUM_THREADS={r['omp_num_threads']}")
    describe_run(r, "frame")
    print("systematic:  " + (", ".join(r["systematic_units"]) or "none") + "\n")
    report.figure("hgb", [
        ["run s", f"{r['seconds']:.1f}", f"<= {TARGETS['hgb_seconds']:.0f}",
         verdict(report.absolute(r["seconds"] <= TARGETS["hgb_seconds"]))],
        ["peak RSS (child)", f"{r['rss_mb']:.0f} MB", "-", ""]])


def memory_figure(report: Report, args: argparse.Namespace,
                  reuse: dict[str, Any] | None) -> None:
    sizes = list(args.memory)
    middle = sizes[len(sizes) // 2]
    print(f"## 4. Memory: peak RSS at {' / '.join(f'{n:,}' for n in sizes)} texts (whole text "
          f"suite x severities {SEVERITIES}) and at {middle:,} with a third of the units: "
          "the whole suite at severity 1 ('one'), a third of the suite ('third')\n")
    print("each configuration in its own child (parts=run: the in-process run, nothing "
          "else); 'run MB' = the run's peak RSS - the RSS before it (imports, corpus, a "
          "200-text warm-up), the peak being reset before the run (Linux: "
          "/proc/self/clear_refs) so that an earlier, higher one does not hide it")
    configs = ([(n, "all") for n in sizes[:-1]]
               + [(middle, "one"), (middle, "third"), (sizes[-1], "all")])
    found: dict[tuple[int, str], dict[str, Any]] = {}
    failed: list[Child] = []
    headers = ["texts", "suite", "units", "peak MB", "before MB", "run MB",
               "run MB / 1,000 inputs", "run s", "child"]
    widths = [7, 5, 5, 7, 9, 6, 21, 6]

    def line(values: Sequence[str]) -> None:  # a row as soon as its child is back
        cells = [v.rjust(w) if i not in (1,) else v.ljust(w)
                 for i, (v, w) in enumerate(zip(values, widths))]
        print("  ".join([*cells, values[-1]]).rstrip(), flush=True)

    print()
    line(headers)
    print("  ".join("-" * w for w in [*widths, 30]))
    for n, units in configs:
        if reuse is not None and units == "all" and reuse["n"] == n:
            found[(n, units)] = reuse
            note = "figure 1's child"
        else:
            child = run_child(["--child", "text", "--n", str(n), "--parts", "run",
                               "--repeats", "1", "--units", units],
                              args.timeout or args.timeouts["memory"])
            if child.result is None:
                failed.append(child)
                line([f"{n:,}", units, "-", "-", "-", "-", "-", "-",
                      f"failed after {child.seconds:.0f} s (below)"])
                continue
            found[(n, units)] = child.result
            note = f"{child.seconds:.0f} s, load {fmt_load(child.load)}"
        r = found[(n, units)]
        if not r["peak_reset"]:
            note += "; peak not reset: the child's peak so far"
        run_mb = r["rss_run_mb"] - r["rss_base_mb"]
        line([f"{n:,}", units, str(r["units"]), f"{r['rss_run_mb']:.0f}",
              f"{r['rss_base_mb']:.0f}", f"{run_mb:.0f}", f"{run_mb / (n / 1000):.2f}",
              f"{min(r['times']['run']):.1f}", note])
    print()
    for child in failed:
        report.child_line(child)
    if failed:
        print()

    def per_k(key: tuple[int, str]) -> float | None:
        r = found.get(key)
        return None if r is None else (r["rss_run_mb"] - r["rss_base_mb"]) / (key[0] / 1000)

    figure = []
    big, mid = per_k((sizes[-1], "all")), per_k((middle, "all"))
    if big is not None and mid is not None and mid > 0:
        linear = big / mid
        figure.append([f"linear in n: MB/1,000 at {sizes[-1]:,} / at {middle:,}",
                       f"{linear:.2f}", f"<= {TARGETS['linear']}",
                       verdict(linear <= TARGETS["linear"])])
    def run_mb(key: tuple[int, str]) -> float | None:
        r = found.get(key)
        return None if r is None else r["rss_run_mb"] - r["rss_base_mb"]

    whole, one, third = (run_mb((middle, k)) for k in ("all", "one", "third"))
    if whole is not None and one is not None:
        flat = one / max(whole, 1e-9)
        figure.append([f"flat in units: run MB, severity 1 / 3 severities at {middle:,}",
                       f"{flat:.2f}", f">= {TARGETS['flat']}", verdict(flat >= TARGETS["flat"])])
    if whole is not None and third is not None:
        figure.append([f"(a third of the suite / the whole suite at {middle:,})",
                       f"{third / max(whole, 1e-9):.2f}", "-", ""])
    if not figure:
        figure.append(["memory", "incomplete", "-", "MISS"])
    print("targets: the issue asks to show 'linear in n, flat in the number of units'; "
          "the thresholds are this script's reading of that (1.0 = exactly linear / flat; a "
          "footprint proportional to the units would give 0.33). 'Flat in units' compares "
          "the whole suite at one severity with the same suite at three: the same "
          "perturbations, so the same largest working set, and a third of the units. A "
          "third of the suite leaves out the perturbations with the largest working set "
          "(unicode.fullwidth at severity 1: 76 MB traced at 30,000 texts, against 49 MB "
          "for the largest of the third), so its ratio mixes two peaks; it is printed, "
          "not judged\n")
    report.figure("memory", figure)


def overhead_figure(report: Report, run_it: bool) -> None:
    command = ["benchmarks/bench_overhead.py", *OVERHEAD_ARGS]
    print("## 6. Runner overhead and HTTP concurrency: bench_overhead.py\n")
    print("targets: run / fair baseline <= 1.10; HTTP through run at 16 connections >= 10x "
          "sequential")
    if not run_it:
        print(f"not measured here; run:  python {shlex.join(command)}")
        print(f"(or:  {report.reproduce('overhead')})\n", flush=True)
        report.summary.append(["overhead", "see bench_overhead.py", "-", "-", "-"])
        return
    print(f"running:     python {shlex.join(command)}\n", flush=True)
    code = subprocess.call([sys.executable, str(HERE / "bench_overhead.py"), *OVERHEAD_ARGS])
    print(f"\n(bench_overhead.py exit code {code})\n")
    report.summary.append(["overhead", "printed by bench_overhead.py above", "-", "-", "-"])


def fresh_memory_seconds(mib: int = 1024) -> float:
    """Seconds to write ``mib`` MiB of memory this process has never touched: on a
    virtual machine, memory untouched since boot, or that the kernel reported free to the
    host (a balloon's free page reporting), is backed by the host as it is written, many
    times slower (a machine fact, like the load average)."""
    start = time.perf_counter()
    block = np.ones(mib * 2**20 // 8)
    took = time.perf_counter() - start
    del block
    return took


def print_header(args: argparse.Namespace, argv: Sequence[str]) -> None:
    import importlib

    print("# robustcheck scale benchmark (issue 17 \"Scale\")\n")
    facts = machine_facts()
    facts.pop("nlpaug", None)
    for module in ("sklearn", "distributed"):
        try:
            facts[module] = importlib.import_module(module).__version__
        except ImportError:
            facts[module] = "not installed"
    for key, value in facts.items():
        print(f"{key + ':':12} {value}")
    print(f"{'load avg:':12} {fmt_load(os.getloadavg())} (1, 5, 15 min, at the start)")
    print(f"{'memory:':12} 1 GiB of fresh memory written in {fresh_memory_seconds():.2f} s "
          "(here memory untouched since boot, or reported free to the host, took 2.5-3.5 s; "
          "written again at once, 0.14-0.19 s)")
    memory = " / ".join(f"{n:,}" for n in args.memory)
    print(f"{'sizes:':12} {'quick' if args.quick else 'full'}: texts {args.texts:,}, "
          f"rows {args.rows:,}, memory at {memory} texts, hgb rows {args.hgb_rows:,}, "
          f"shard_size {args.shard_size:,}, repeats {args.repeats}")
    print("reproduce:   python " + shlex.join([SCRIPT, *argv]))
    if args.quick:
        print("\n--quick: smaller than the issue's sizes; absolute targets (s, MB) are not "
              "judged ('-'), ratios are")
    print(flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="10k texts, 100k rows, memory at 2k/10k/30k, 10k hgb rows")
    parser.add_argument("--only", choices=FIGURES, action="append",
                        help="run this figure only (repeatable)")
    parser.add_argument("--texts", type=int, help="texts for figures 1 and 3 (100,000)")
    parser.add_argument("--rows", type=int, help="rows for figure 2 (1,000,000)")
    parser.add_argument("--hgb-rows", type=int, help="rows for figure 5 (100,000)")
    parser.add_argument("--shard-size", type=int,
                        help="shard_size of figure 3 (50,000, run's default; shards of 25,000 were "
                             "0.83x when the analysis grid was 10,000 texts)")
    parser.add_argument("--repeats", type=int,
                        help="rounds of the text contenders, in turns (1)")
    parser.add_argument("--timeout", type=float,
                        help="seconds after which a child is stopped (default per figure: "
                             "text 3000, tabular 600, memory 1800 each, hgb 600; "
                             "--quick: 900 / 600)")
    # the child side
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parts", default="run", help=argparse.SUPPRESS)
    parser.add_argument("--units", choices=["all", "one", "third"], default="all",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    args.memory, args.timeouts = defaults["memory"], defaults["timeouts"]
    for key in ("texts", "rows", "hgb_rows", "shard_size", "repeats"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    if args.child and args.n is None:
        parser.error("--child needs --n")
    if min(args.texts, args.rows, args.hgb_rows, args.shard_size, args.repeats) < 1:
        parser.error("sizes and repeats must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    want = set(args.only or FIGURES)
    extra = [a for i, a in enumerate(argv)  # the reproduce command of one figure
             if a != "--only" and not a.startswith("--only=")
             and not (i and argv[i - 1] == "--only")]
    report = Report(args, extra)
    print_header(args, argv)
    started = time.perf_counter()
    reuse = None
    if want & {"text", "sharded"}:
        reuse = text_figures(report, args, want)
    if "tabular" in want:
        tabular_figure(report, args)
    if "hgb" in want:
        hgb_figure(report, args)
    if "memory" in want:
        memory_figure(report, args, reuse)
    if "overhead" in want:
        overhead_figure(report, run_it=bool(args.only))
    print("## Summary\n")
    print_table(["figure", "measure", "value", "target", "verdict"], report.summary,
                align="llrrl")
    print(f"load average at the end: {fmt_load(os.getloadavg())}")
    print(f"total wall time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
