"""Generation endpoint benchmark: ``ChatCompletions`` against a loopback server (run by
hand, not in CI).

    python benchmarks/bench_generation.py [--calls 400] [--delay 0.05] [--concurrency 8]
                                          [--batch 64] [--quick]

The server is ``tests/chatserver.py`` (an OpenAI-compatible responder on 127.0.0.1 that
sleeps ``--delay`` seconds per request), in a process of its own as a real server would
be (``--in-process`` runs it in a thread of this one, where its Python work competes with
the client's for the GIL: about 1 ms a request more here). Measures:

a. **Concurrency.** ``--calls`` distinct prompts through ``ChatCompletions.predict`` in
   batches of ``--batch``, ``--concurrency`` requests at a time, with a response cache
   being filled: wall time against the floor ``calls x delay / concurrency`` (every
   connection busy all the time). Target: within 1.3x of the floor.
b. **Cache.** The same prompts again through a new adapter on the same cache file: the
   server must see zero requests, and the time must be under 5% of (a)'s.

Wall times are ``time.perf_counter``, single runs. No traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # chatserver
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # robustcheck from a checkout

from chatserver import ChatServer, respond

from robustcheck._chat import ChatCompletions

FLOOR_TARGET = 1.3  # (a): wall time / floor
CACHE_TARGET = 0.05  # (b): cached time / (a)'s time


class Remote:
    """A ChatServer in a child process: its URL and, on demand, its counters."""

    def __init__(self, conn: Connection, base_url: str) -> None:
        self.conn, self.base_url = conn, base_url

    def counts(self) -> tuple[int, int]:
        self.conn.send("counts")
        count, most = self.conn.recv()
        return int(count), int(most)


def _serve(delay: float, conn: Connection) -> None:
    with ChatServer(delay=delay) as server:
        conn.send(server.base_url)
        while conn.recv() == "counts":
            conn.send((server.count, server.max_concurrent))


@contextlib.contextmanager
def server(delay: float, in_process: bool) -> Iterator[Remote | ChatServer]:
    if in_process:
        with ChatServer(delay=delay) as local:
            yield local
        return
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=_serve, args=(delay, theirs),
                                                         daemon=True)
    child.start()
    try:
        yield Remote(ours, ours.recv())
    finally:
        ours.send("stop")
        child.join(10)


def counts(srv: Remote | ChatServer) -> tuple[int, int]:
    return srv.counts() if isinstance(srv, Remote) else (srv.count, srv.max_concurrent)


def prompts(n: int) -> list[str]:
    return [f"Customer {i} wrote that the delivery took {i % 9 + 2} days. Rate it." for i in
            range(n)]


def timed_run(base_url: str, cache: Path, texts: list[str], batch: int,
              concurrency: int) -> tuple[float, list[str], ChatCompletions]:
    adapter = ChatCompletions(base_url, "bench", concurrency=concurrency, cache=cache,
                              prices={"prompt": 1.5e-7, "completion": 6e-7})
    answers: list[str] = []
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        answers.extend(adapter.predict(texts[i: i + batch]).labels)
    return time.perf_counter() - start, answers, adapter


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="100 calls")
    parser.add_argument("--in-process", action="store_true",
                        help="the server in a thread of this process")
    args = parser.parse_args(argv)
    if args.delay <= 0 or args.calls < 1 or args.concurrency < 1 or args.batch < 1:
        parser.error("--delay must be > 0, --calls, --concurrency and --batch >= 1")
    calls = 100 if args.quick else args.calls
    texts = prompts(calls)
    floor = calls * args.delay / args.concurrency
    with tempfile.TemporaryDirectory() as tmp, server(args.delay, args.in_process) as srv:
        cache = Path(tmp) / "cache.sqlite"
        first, answers, adapter = timed_run(srv.base_url, cache, texts, args.batch,
                                            args.concurrency)
        asked, most = counts(srv)
        second, again, cached = timed_run(srv.base_url, cache, texts, args.batch,
                                          args.concurrency)
        extra = counts(srv)[0] - asked
    right = answers == again == [respond(t) for t in texts]
    ratio, share = first / floor, second / first
    where = "in this process" if args.in_process else "in its own process"
    print(f"{calls} prompts, {args.delay * 1e3:g} ms per request, concurrency "
          f"{args.concurrency}, batches of {args.batch}, server {where}; answers correct "
          f"and in order: {right}")
    print(f"(a) first run:  {first:.3f} s for {asked} requests (cost {adapter.cost_spent:.6f}); "
          f"floor {floor:.3f} s; {ratio:.2f}x the floor (target <= {FLOOR_TARGET}x): "
          f"{verdict(ratio <= FLOOR_TARGET and asked == calls)}; most requests at once "
          f"{most}")
    print(f"(b) cached run: {second:.4f} s, {extra} requests, {cached.cache.hits} cache "
          f"hits; {100 * share:.2f}% of (a) (target < {100 * CACHE_TARGET:g}%, 0 requests): "
          f"{verdict(share < CACHE_TARGET and extra == 0)}")
    print("reproduce:   python " + shlex.join(["benchmarks/bench_generation.py", *argv]))
    return 0 if right and ratio <= FLOOR_TARGET and share < CACHE_TARGET and extra == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
