"""Fairness thresholds at lesson scale and beyond: is it interactive?

On offline UCI-Adult-like data (scored by a logistic model that never sees
``sex``), prints:
- ``threshold_strategies`` on N rows (default 100,000): all five strategies,
  and each one alone (best of 3);
- ``explore``: building the view, one slider update's metric recomputation,
  and one full update with the ROC figure re-drawn;
- the baseline, Fairlearn's ``ThresholdOptimizer`` fitted on the same scores
  (demographic parity and true-positive-rate parity), as a ratio to ours, with
  both accuracies and parity gaps;
- Fairlearn's ``MetricFrame`` on one set of predictions (why the table counts
  instead, and the tests check that both agree).

Usage: .venv/bin/python benchmarks/bench_fairness.py [--n N] [--repeats R]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TINYML_OFFLINE", "1")

INTERACTIVE = 0.1      # seconds: a slider update should feel instant
TABLE_TARGET = 1.0     # seconds: recomputing every strategy on 100k rows


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def scored_adult(n: int):
    from sklearn.linear_model import LogisticRegression

    from tinyml_lib.datasets import load_adult

    df, _ = load_adult(source="offline", n=2 * n, seed=0)
    features = df[["age", "education_num", "hours_per_week", "capital_gain"]].astype(float)
    features["married"] = (df["marital_status"] == "Married-civ-spouse").astype(float)
    features = (features - features.mean()) / features.std()
    y = df["income_over_50k"].to_numpy()
    model = LogisticRegression(max_iter=500).fit(features[:n], y[:n])
    return y[n:], model.predict_proba(features[n:])[:, 1], df["sex"].to_numpy()[n:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows scored (default 100,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    args = parser.parse_args(argv)

    import fairlearn

    from tinyml_lib import fairness

    start = time.perf_counter()
    y, scores, sex = scored_adult(args.n)
    print(f"data: {len(y):,} rows of offline Adult scored by logistic regression "
          f"({time.perf_counter() - start:.1f} s to generate and score); "
          f"{len(np.unique(scores)):,} distinct scores; fairlearn {fairlearn.__version__}")

    fairness.threshold_strategies(y[:1000], scores[:1000], sex[:1000])      # warm up imports
    table = fairness.threshold_strategies(y, scores, sex)
    ours = _best(lambda: fairness.threshold_strategies(y, scores, sex), args.repeats)
    print(f"\nthreshold_strategies, all {len(fairness.STRATEGIES)} strategies: {ours:.3f} s "
          f"(target < {TABLE_TARGET} s: {'PASS' if ours < TABLE_TARGET else 'FAIL'})")
    for name in fairness.STRATEGIES:
        t = _best(lambda name=name: fairness.threshold_strategies(y, scores, sex, name),
                  args.repeats)
        rows = table[table["strategy"] == name].set_index("group")
        print(f"  {name:<20} {t:.3f} s   overall accuracy {rows['overall_accuracy'].iloc[0]:.4f}"
              f"   gaps: selection {np.ptp(rows['selection_rate']):.4f}, "
              f"TPR {np.ptp(rows['tpr']):.4f}, accuracy {np.ptp(rows['accuracy']):.4f}")

    sink = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        view = fairness.explore(y, scores, sex)
    build = time.perf_counter() - start
    values = np.linspace(0.2, 0.8, 41)
    metric_times, full_times = [], []
    with contextlib.redirect_stdout(sink):
        for v in values:
            start = time.perf_counter()
            view.sliders["Female"].value = float(v)
            full_times.append(time.perf_counter() - start)
            metric_times.append(view.last_update_seconds)
    quick = fairness.explore(y, scores, sex, plot=False)
    bare = []
    for v in values:
        start = time.perf_counter()
        quick.sliders["Male"].value = float(v)
        bare.append(time.perf_counter() - start)
    metric = statistics.median(metric_times)
    print(f"\nexplore: build {build:.2f} s (includes the strategies table and the first figure)")
    print(f"  slider update, metric recomputation: {metric * 1e3:.3f} ms (median of "
          f"{len(values)}; target < {INTERACTIVE * 1e3:.0f} ms: "
          f"{'PASS' if metric < INTERACTIVE else 'FAIL'})")
    print(f"  slider update, whole callback without the figure: "
          f"{statistics.median(bare) * 1e3:.2f} ms")
    print(f"  slider update with the ROC figure re-drawn (PNG): "
          f"{statistics.median(full_times) * 1e3:.0f} ms")

    print("\nbaseline: Fairlearn ThresholdOptimizer (prefit on the same scores, randomized "
          "thresholds)")
    for ours_name, constraint, metric_name in (
            ("demographic_parity", "demographic_parity", "selection_rate"),
            ("equal_opportunity", "true_positive_rate_parity", "tpr")):
        fitted = []
        theirs = _best(lambda c=constraint, out=fitted: out.append(
            fairness.fairlearn_optimizer(y, scores, sex, c)), args.repeats)
        optimizer = fitted[-1]
        ours_one = _best(lambda s=ours_name: fairness.threshold_strategies(y, scores, sex, s),
                         args.repeats)
        pred = optimizer.predict(scores.reshape(-1, 1), sensitive_features=sex, random_state=0)
        by_group = fairness.metrics_at(y, pred.astype(float), sex, 0.5)
        rows = table[table["strategy"] == ours_name].set_index("group")
        print(f"  {constraint:<26} fit {theirs:.3f} s vs ours {ours_one:.3f} s "
              f"(Fairlearn / ours = {theirs / ours_one:.1f}x; all 5 of ours: "
              f"{theirs / ours:.1f}x);  accuracy {np.mean(pred == y):.4f} vs "
              f"{rows['overall_accuracy'].iloc[0]:.4f};  {metric_name} gap "
              f"{np.ptp(by_group[metric_name]):.4f} (sampled) vs {np.ptp(rows[metric_name]):.4f}")

    thresholds = fairness.strategy_thresholds(table, "single")
    mf = _best(lambda: fairness.metric_frame(y, scores, sex, thresholds), 1)
    counting = _best(lambda: fairness.threshold_strategies(y, scores, sex, "single"),
                     args.repeats)
    print(f"\nFairlearn MetricFrame, one set of {len(y):,} predictions: {mf:.2f} s "
          f"(the count-based table for the same strategy: {counting:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
