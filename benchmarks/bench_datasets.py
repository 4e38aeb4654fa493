"""Generation (cold cache) and cache-hit time of every offline dataset loader.

Usage: .venv/bin/python benchmarks/bench_datasets.py [--repeat N]

Each loader runs once on an empty cache (a temporary TINYML_CACHE_DIR), then
``--repeat`` more times reading the cache; the table shows the cold time, the
median cache-hit time and what was built. Imports (scikit-learn, scipy) are
warmed up first so they do not count as generation time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = [
    ("load_gestures(100, negative=True)", "gestures", "load_gestures",
     dict(n_per_class=100, negative=True)),
    ("load_gestures(100, rate=25)", "gestures", "load_gestures", dict(n_per_class=100, rate=25)),
    ("load_machine_sound(200, 100)", "machines", "load_machine_sound",
     dict(n_normal=200, n_anomalous=100)),
    ("load_machine_sound(100, 50, kind='sound')", "machines", "load_machine_sound",
     dict(n_normal=100, n_anomalous=50, kind="sound")),
    ("load_images()  (1,347 digits, 28x28)", "images", "load_images", dict()),
    ("load_person(500)  (1,000 scenes, 96x96)", "images", "load_person",
     dict(n_per_class=500)),
    ("load_adult(n=20000)", "tabular", "load_adult", dict(n=20000)),
]


def shape_of(result) -> str:
    first = result[0]
    return "x".join(map(str, getattr(first, "shape", ())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="cache-hit repetitions")
    args = parser.parse_args()
    os.environ.update({"TINYML_FAST": "1", "TINYML_OFFLINE": "1"})
    import importlib

    import scipy.ndimage  # noqa: F401  (warm imports)
    import sklearn.datasets  # noqa: F401
    import pandas  # noqa: F401

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TINYML_CACHE_DIR"] = cache
        for label, module, name, kwargs in CASES:
            loader = getattr(importlib.import_module(f"tinyml_lib.datasets.{module}"), name)
            start = time.perf_counter()
            result = loader(source="offline", seed=0, **kwargs)
            cold = time.perf_counter() - start
            hits = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                loader(source="offline", seed=0, **kwargs)
                hits.append(time.perf_counter() - start)
            size = result[-1].cache_path.stat().st_size / 1e6
            rows.append((label, shape_of(result), cold, statistics.median(hits), size))

    width = max(len(r[0]) for r in rows)
    print(f"{'loader':<{width}}  {'first array':>14}  {'cold (s)':>8}  {'cache hit (s)':>13}  "
          f"{'cache (MB)':>10}")
    for label, shape, cold, hit, size in rows:
        print(f"{label:<{width}}  {shape:>14}  {cold:8.3f}  {hit:13.4f}  {size:10.2f}")


if __name__ == "__main__":
    main()
