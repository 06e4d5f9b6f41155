"""Audit a model that only exists behind an HTTP endpoint.

The script trains a small scikit-learn text classifier on the reviews robustcheck ships,
serves it with FastAPI and uvicorn on 127.0.0.1 (a free port, in a background thread) at
``POST /predict``, and audits it through its URL only, the way you would audit a model
deployed by another team:

    robustcheck.run("http://127.0.0.1:PORT/predict", texts, labels, ...)

A URL goes through robustcheck's HTTP adapter, whose default shapes this server speaks:
the request body is ``{"inputs": [text, ...]}`` and the answer
``{"predictions": [{"label": ..., "scores": {label: probability}}, ...]}``. (For another
API, build ``robustcheck.adapters.HTTPAdapter(url, request=..., response=...)``.) The
adapter sends requests of 32 inputs, 8 at a time, with timeouts and retries on
connection errors and 5xx answers.

The API rejects texts longer than 2,000 characters with HTTP 422, as many APIs do: the
audit records those answers as crashes of ``length.repeat`` (a 4xx is never retried).

Run it from the repository root (``pip install ".[examples,sklearn]"``):

    python examples/http_model.py                  # writes examples-output/http_model/
    python examples/http_model.py --out /tmp/http
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, StringConstraints
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import robustcheck
from robustcheck.datasets import load_reviews

MAX_CHARS = 2000
SUITE = ["typo.keyboard", "slang.word", "emoji.append", "homoglyph.cyrillic",
         "whitespace.zero_width", "length.repeat"]


class PredictRequest(BaseModel):
    inputs: list[Annotated[str, StringConstraints(max_length=MAX_CHARS)]]


def make_app(model: Any) -> tuple[FastAPI, dict[str, int]]:
    """The service: ``POST /predict``; ``stats`` counts the requests it answered."""
    app = FastAPI(title="review sentiment")
    stats = {"requests": 0, "rejected": 0, "texts": 0}
    lock = threading.Lock()

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        with lock:
            stats["requests"] += 1
            stats["rejected"] += response.status_code >= 400
        return response

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, list[dict[str, Any]]]:
        with lock:
            stats["texts"] += len(body.inputs)
        if not body.inputs:
            return {"predictions": []}
        probabilities = model.predict_proba(body.inputs)
        classes = [str(c) for c in model.classes_]
        return {"predictions": [
            {"label": classes[int(np.argmax(row))],
             "scores": {c: float(p) for c, p in zip(classes, row)}}
            for row in probabilities]}

    return app, stats


class BackgroundServer:
    """uvicorn in a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        # Port 0: the operating system picks a free port when uvicorn binds, so there is
        # no race between finding a port and taking it.
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self, timeout: float = 15.0) -> int:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server stopped during start-up (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {timeout} s")
            time.sleep(0.02)
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=15)


def split_reviews(audit_size: int = 200, seed: int = 0):
    """A seeded split of the shipped reviews: ``audit_size`` to audit, the rest to train."""
    data = load_reviews()
    order = np.random.default_rng(seed).permutation(len(data))
    audit, train = order[:audit_size].tolist(), order[audit_size:].tolist()
    return ([data.texts[i] for i in train], [data.labels[i] for i in train],
            [data.texts[i] for i in audit], [data.labels[i] for i in audit])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output/http_model"),
                        help="folder for the report and the JSON result")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    train_texts, train_labels, texts, labels = split_reviews()
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2),
                          LogisticRegression(max_iter=1000))
    model.fit(train_texts, train_labels)
    app, stats = make_app(model)

    server = BackgroundServer(app)
    try:
        port = server.start()
        url = f"http://127.0.0.1:{port}/predict"
        print(f"serving the model at {url}")
        started = time.perf_counter()
        result = robustcheck.run(url, texts, labels, perturbations=SUITE, seed=0,
                                 name="sentiment-api", progress=False)
        seconds = time.perf_counter() - started
    finally:
        server.stop()  # also when the audit raised (or was interrupted)
    print("server stopped\n")

    print(result.table())
    print(f"\nthe audit took {seconds:.1f} s; the server answered {stats['requests']} HTTP "
          f"requests: {stats['rejected']} rejected, the others predicted {stats['texts']} "
          "texts (the clean inputs twice, every perturbed input that changed, and the "
          "halves of rejected batches)")
    rejected = [c for c in result.crashes if c["perturbation"] == "length.repeat"]
    if rejected:
        print(f"length.repeat: e.g. {rejected[0]['type']}: "
              f"{rejected[0]['message'].splitlines()[0][:150]}")
        for row in result["length.repeat"]:
            m = row.metrics["crash_rate"]
            print(f"  severity {row.severity:g}: {m.value:.1%} of the inputs rejected "
                  f"[{m.low:.1%}, {m.high:.1%}]")

    html = result.to_html(args.out / "sentiment-api.html")
    result.to_json(args.out / "sentiment-api.json")
    print(f"\nreport: {html}  result: {args.out / 'sentiment-api.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
