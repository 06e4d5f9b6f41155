"""A process's first perturbing job against the next ones: page faults and glibc's heap
(run by hand, not in CI; Linux with glibc).

    python benchmarks/bench_heap.py [--texts N] [--jobs N]

The whole text suite at severities (0.2, 0.5, 1.0) perturbs a fresh
``perturbations.TextCorpus`` of ``--texts`` sentences (default 50,000), ``--jobs`` times
(default 3) in a thread, as a Dask worker runs its tasks; after each job the script prints
its wall time, page faults and system CPU (``getrusage``) and glibc's main arena
(``mallinfo2``: its size, the free bytes in it, the free block at its top). It does this
in two child processes: one with ``MALLOC_TRIM_THRESHOLD_=65536`` in its environment, as
Dask's nanny starts a worker, and one without it.

What it shows: with the variable set, glibc's thresholds stay fixed, and a request of
128 KB or more that no free block of the heap holds is mapped fresh from the kernel. The
first job maps most of its large arrays so, while the heap grows; the heap then keeps
large free holes that serve the later jobs. See the README's Scale section ("Dask's
worker memory setting").
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_perturbations
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # robustcheck from a checkout

from bench_perturbations import make_corpus, print_table
from bench_scale import faults_and_system

SEVERITIES = (0.2, 0.5, 1.0)
TRIM = "65536"  # the value Dask's nanny sets (distributed.nanny.pre-spawn-environ)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def heap() -> dict[str, float]:
    """glibc's main arena in MB: its size, the free bytes in it, its free top block."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return {"arena_mb": info.arena / 1e6, "free_mb": info.fordblks / 1e6,
            "top_mb": info.keepcost / 1e6}


def child(texts: int, jobs: int) -> list[dict[str, float]]:
    from perturbations import TextCorpus
    from robustcheck._suite import select

    corpus = make_corpus(texts)
    suite = select("text", "text")
    for p in suite:  # imports, lazy lexicons and caches, on 200 texts
        p.apply(TextCorpus(corpus[:200]), severity=1.0, seed=0)

    def job() -> None:
        fresh = TextCorpus(corpus)
        for p in suite:
            for s in SEVERITIES:
                p.apply(fresh, severity=s, seed=0)

    rows = []
    for _ in range(jobs):
        (faults, system), start = faults_and_system(), time.perf_counter()
        worker = threading.Thread(target=job)
        worker.start()
        worker.join()
        seconds = time.perf_counter() - start
        faults_after, system_after = faults_and_system()
        rows.append({"seconds": seconds, "faults": faults_after - faults,
                     "system_s": system_after - system, **heap()})
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.texts < 1 or args.jobs < 1:
        parser.error(f"--texts and --jobs must be positive, got {args.texts} and {args.jobs}")
    if args.child:
        print(json.dumps(child(args.texts, args.jobs)))
        return 0
    print(f"# first job against the next: {args.texts:,} texts, the whole text suite x "
          f"{SEVERITIES}, {args.jobs} jobs per process\n")
    for label, trim in ((f"MALLOC_TRIM_THRESHOLD_={TRIM} (Dask's nanny)", TRIM),
                        ("glibc's defaults", None)):
        env = {k: v for k, v in os.environ.items()
                               if k != "MALLOC_TRIM_THRESHOLD_"}
        if trim is not None:
            env["MALLOC_TRIM_THRESHOLD_"] = trim
        out = subprocess.run([sys.executable, __file__, "--child", "--texts",
                              str(args.texts), "--jobs", str(args.jobs)],
                             env=env, check=True, capture_output=True, text=True).stdout
        rows = json.loads(out.splitlines()[-1])
        print(f"## {label}\n")
        print_table(["job", "s", "page faults", "system s", "arena MB", "free MB", "top MB"],
                    [[str(i + 1), f"{r['seconds']:.2f}", f"{r['faults']:,}",
                      f"{r['system_s']:.2f}", f"{r['arena_mb']:.1f}", f"{r['free_mb']:.1f}",
                      f"{r['top_mb']:.2f}"] for i, r in enumerate(rows)])
    print("reproduce:   " + shlex.join(["python", "benchmarks/bench_heap.py", *argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
