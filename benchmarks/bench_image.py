"""Image corruptions: robustcheck's against the reference ``imagecorruptions-imaug``.

    python benchmarks/bench_image.py [--quick] [--images N] [--glass-images N]
                                     [--reference-python PATH] [--json PATH]

The reference runs in its own interpreter (a scratch venv, never a robustcheck
dependency), started here as a subprocess on the same images and fed one corruption at
a time; ours runs right after the reference on each, so that on a shared machine both
sides of a ratio see the same stretch of load::

    python3 -m venv /tmp/icvenv && /tmp/icvenv/bin/pip install imagecorruptions-imaug

For each of the 19 corruptions and each ImageNet-C level 1..5 (robustcheck severity
level / 5) it measures, on N images of 224 x 224 x 3 (default 200, ``--quick`` 20):

* the mean absolute pixel change (0-255 scale, outputs clipped, before any rounding):
  PASS when ours is within 15% of the reference's;
* the time per image (``time.perf_counter``, one warm-up call first for both: the
  reference compiles its glass-blur loop with numba on first use), until the corrupted
  pixels exist as an array: the reference's JPEG returns a Pillow image that decodes
  only when read, so its timing includes ``np.asarray`` of the result (a no-op for the
  corruptions that return arrays).

The installed reference compiles glass blur's per-pixel loop with numba; the benchmark
also times that same loop run as plain Python (the original ImageNet-C code path,
seconds per image) on the first ``--glass-images`` images only (default 10). Verdicts:
no corruption more than 2x slower than the reference, the whole suite at least 5x
faster, glass blur at least 20x; the suite and glass figures are given against both
the numba-compiled reference and the plain-Python one.

Images: random 224 x 224 crops of scikit-learn's two bundled sample photographs when
scikit-learn is installed (every other image), the rest generated here (gradients,
shapes and texture), all from a fixed seed with ``np.random.default_rng``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perturbations import _image_corruptions as ours

SEED = 20261128
SIZE = 224
TOLERANCE = 0.15
CORRUPTIONS = [  # (robustcheck name, function in our module, reference function)
    ("image_noise.gaussian", "gaussian_noise", "gaussian_noise"),
    ("image_noise.shot", "shot_noise", "shot_noise"),
    ("image_noise.impulse", "impulse_noise", "impulse_noise"),
    ("image_noise.speckle", "speckle_noise", "speckle_noise"),
    ("blur.defocus", "defocus_blur", "defocus_blur"),
    ("blur.glass", "glass_blur", "glass_blur"),
    ("blur.motion", "motion_blur", "motion_blur"),
    ("blur.zoom", "zoom_blur", "zoom_blur"),
    ("blur.gaussian", "gaussian_blur", "gaussian_blur"),
    ("weather.snow", "snow", "snow"),
    ("weather.frost", "frost", "frost"),
    ("weather.fog", "fog", "fog"),
    ("weather.spatter", "spatter", "spatter"),
    ("digital.brightness", "brightness", "brightness"),
    ("digital.contrast", "contrast", "contrast"),
    ("digital.elastic", "elastic", "elastic_transform"),
    ("digital.pixelate", "pixelate", "pixelate"),
    ("digital.jpeg", "jpeg", "jpeg_compression"),
    ("digital.saturate", "saturate", "saturate"),
]

REFERENCE_SCRIPT = r'''
import json, sys, time, warnings
import numpy as np
from PIL import Image
from imagecorruptions import corruptions as C
warnings.filterwarnings("ignore")
images = np.load(sys.argv[1])
np.random.seed(0)
compiled = C._shuffle_pixels_njit_glass_blur
def loop(d0, d1, x, c, seed=None):  # the numba function's own Python code, not compiled
    return compiled.py_func(d0, d1, x, c, None if seed is None else int(seed) % 2**32)
for line in sys.stdin:  # one job per line: [name, images]; one JSON line back
    name, n = json.loads(line)
    C._shuffle_pixels_njit_glass_blur = loop if name == "glass_blur_python" else compiled
    f = C.glass_blur if name == "glass_blur_python" else getattr(C, name)
    f(Image.fromarray(images[0]), 1)  # warm-up (numba compiles glass blur here)
    out = {}
    for level in range(1, 6):
        changes, secs = [], 0.0
        for img in images[:n]:
            t = time.perf_counter()
            y = np.asarray(f(Image.fromarray(img), level))  # a PIL result decodes lazily
            secs += time.perf_counter() - t
            y = np.clip(np.asarray(y, dtype=np.float64), 0, 255)
            changes.append(float(np.abs(y - img).mean()))
        out[str(level)] = {"mad": float(np.mean(changes)), "sec": secs / n, "n": n}
    print(json.dumps(out), flush=True)
'''


def make_images(n: int, seed: int = SEED) -> np.ndarray:
    """``n`` uint8 images (224, 224, 3): photo crops and generated scenes, alternating."""
    rng = np.random.default_rng(seed)
    photos: list[np.ndarray] = []
    try:
        from sklearn.datasets import load_sample_images

        photos = list(load_sample_images().images)
    except Exception:  # scikit-learn missing or its data not readable
        photos = []
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    out = np.empty((n, SIZE, SIZE, 3), dtype=np.uint8)
    for i in range(n):
        if photos and i % 2 == 0:
            p = photos[int(rng.integers(len(photos)))]
            r = int(rng.integers(p.shape[0] - SIZE + 1))
            c = int(rng.integers(p.shape[1] - SIZE + 1))
            crop = p[r:r + SIZE, c:c + SIZE]
            out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
            continue
        a, b = rng.uniform(-1, 1, (2, 3))
        img = 0.5 + 0.35 * (a * xx[..., None] + b * yy[..., None]) / 2
        for _ in range(int(rng.integers(2, 6))):  # discs and rectangles
            cy, cx, rad = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.3)
            colour = rng.uniform(0, 1, 3)
            if rng.random() < 0.5:
                mask = (yy - cy) ** 2 + (xx - cx) ** 2 < rad**2
            else:
                mask = (np.abs(yy - cy) < rad) & (np.abs(xx - cx) < rad * rng.uniform(0.3, 1))
            img[mask] = colour
        freq = rng.uniform(5, 40)
        img += 0.06 * np.sin(freq * (xx + rng.uniform() * yy))[..., None]
        img += rng.normal(0, 0.02, img.shape)
        out[i] = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    return out


def run_ours(func_name: str, images: np.ndarray, floats: np.ndarray
             ) -> dict[str, dict[str, float]]:
    """One corruption of ours at levels 1..5 on every image."""
    results: dict[str, dict[str, float]] = {}
    func = getattr(ours, func_name).func
    func(floats[0], rng=np.random.default_rng(0), severity=0.2)  # warm-up
    for level in range(1, 6):
        changes, secs = [], 0.0
        for i, img in enumerate(floats):
            rng = np.random.default_rng([SEED, level, i])
            t = time.perf_counter()
            y = func(img, rng=rng, severity=level / 5)
            secs += time.perf_counter() - t
            y = np.clip(y, 0, 1) * 255
            changes.append(float(np.abs(y - images[i]).mean()))
        results[str(level)] = {"mad": float(np.mean(changes)), "sec": secs / len(floats),
                               "n": len(floats)}
    return results


def run_both(python: str, images: np.ndarray, glass_images: int
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each corruption by the reference (a subprocess kept open, fed one job at a time),
    then by us, so that both sides of each ratio see the same stretch of load."""
    mine: dict[str, Any] = {}
    ref: dict[str, Any] = {}
    floats = images.astype(np.float32) / 255
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "images.npy"
        np.save(path, images)
        proc = subprocess.Popen([python, "-c", REFERENCE_SCRIPT, str(path)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        send, receive = proc.stdin, proc.stdout
        if send is None or receive is None:
            raise SystemExit("could not talk to the reference's interpreter")

        def reference(name: str, n: int) -> dict[str, Any]:
            send.write(json.dumps([name, n]) + "\n")
            send.flush()
            line = receive.readline()
            if not line:
                raise SystemExit(f"the reference failed on {name} (exit {proc.wait()})")
            result: dict[str, Any] = json.loads(line)
            return result

        try:
            for name, func_name, ref_name in CORRUPTIONS:
                ref[ref_name] = reference(ref_name, len(images))
                mine[func_name] = run_ours(func_name, images, floats)
                print(f"{name} done", file=sys.stderr, flush=True)
            ref["glass_blur_python"] = reference("glass_blur_python",
                                                 min(glass_images, len(images)))
        finally:
            send.close()
            proc.wait()
    return mine, ref


def report(mine: dict[str, Any], ref: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    rows, within, total = [], 0, 0
    ours_total = ref_total = 0.0
    slow: list[str] = []
    glass_speedup = 0.0
    header = (f"{'corruption':22} {'lvl':>3} {'ours Δ':>8} {'ref Δ':>8} {'ratio':>6} "
              f"{'agree':>5} {'ours ms':>8} {'ref ms':>8} {'speedup':>8}")
    print(header)
    print("-" * len(header))
    for name, func_name, ref_name in CORRUPTIONS:
        o_sec = r_sec = 0.0
        for level in range(1, 6):
            o, r = mine[func_name][str(level)], ref[ref_name][str(level)]
            ratio = o["mad"] / r["mad"] if r["mad"] > 0 else float("inf")
            ok = abs(ratio - 1) <= TOLERANCE
            within += ok
            total += 1
            o_sec += o["sec"]
            r_sec += r["sec"]
            rows.append({"name": name, "level": level, "ours_mad": o["mad"],
                         "ref_mad": r["mad"], "ratio": ratio, "pass": ok,
                         "ours_ms": o["sec"] * 1e3, "ref_ms": r["sec"] * 1e3,
                         "ref_images": r["n"]})
            print(f"{name:22} {level:>3} {o['mad']:8.2f} {r['mad']:8.2f} {ratio:6.2f} "
                  f"{'PASS' if ok else 'FAIL':>5} {o['sec'] * 1e3:8.1f} {r['sec'] * 1e3:8.1f} "
                  f"{r['sec'] / o['sec']:7.1f}x")
        ours_total += o_sec
        ref_total += r_sec
        if o_sec > 2 * r_sec:
            slow.append(f"{name} ({o_sec / r_sec:.1f}x slower)")
        if name == "blur.glass":
            glass_speedup = r_sec / o_sec
    suite = ref_total / ours_total
    py = ref["glass_blur_python"]
    py_sec = sum(py[str(level)]["sec"] for level in range(1, 6))
    glass_ours = sum(mine["glass_blur"][str(level)]["sec"] for level in range(1, 6))
    glass_ref = sum(ref["glass_blur"][str(level)]["sec"] for level in range(1, 6))
    glass_py_speedup = py_sec / glass_ours
    suite_py = (ref_total - glass_ref + py_sec) / ours_total
    print()
    print("glass blur, reference loop as plain Python (ms/image by level): "
          + ", ".join(f"{py[str(level)]['sec'] * 1e3:.0f}" for level in range(1, 6))
          + f" on {py['1']['n']} images")
    print(f"agreement: {within}/{total} (corruption, level) pairs within "
          f"{TOLERANCE:.0%} of the reference's mean absolute change")
    print(f"no corruption > 2x slower than the reference: "
          f"{'PASS' if not slow else 'FAIL: ' + ', '.join(slow)}")
    print(f"whole suite (19 x 5 levels, per image): ours {ours_total * 1e3:.0f} ms, reference "
          f"{ref_total * 1e3:.0f} ms: {suite:.1f}x faster ({'PASS' if suite >= 5 else 'FAIL'}, "
          f"target 5x; numba-compiled reference glass blur)")
    print(f"whole suite against the reference with its plain-Python glass loop: "
          f"{suite_py:.1f}x faster ({'PASS' if suite_py >= 5 else 'FAIL'}, target 5x)")
    print(f"glass blur: {glass_speedup:.1f}x faster than the numba-compiled reference "
          f"({'PASS' if glass_speedup >= 20 else 'FAIL'}, target 20x); "
          f"{glass_py_speedup:.0f}x faster than its plain-Python loop "
          f"({'PASS' if glass_py_speedup >= 20 else 'FAIL'})")
    cmd = "python benchmarks/bench_image.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    print(f"reproduce: {cmd.strip()}")
    return {"rows": rows, "within": within, "total": total, "suite_speedup": suite,
            "suite_speedup_python_glass": suite_py, "glass_speedup_python": glass_py_speedup,
            "glass_python_ms": py_sec * 1e3 / 5,
            "glass_speedup": glass_speedup, "slower_than_2x": slow,
            "ours_ms": ours_total * 1e3, "ref_ms": ref_total * 1e3, "command": cmd}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="20 images instead of 200")
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--glass-images", type=int, default=10,
                    help="images the reference's glass blur runs on as plain Python (slow)")
    ap.add_argument("--reference-python", default="/tmp/icvenv/bin/python")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    args.images = args.images or (20 if args.quick else 200)
    images = make_images(args.images)
    print(f"{args.images} images {SIZE}x{SIZE}x3; reference: {args.reference_python}",
          file=sys.stderr)
    t = time.perf_counter()
    mine, ref = run_both(args.reference_python, images, args.glass_images)
    print(f"done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    summary = report(mine, ref, args)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
