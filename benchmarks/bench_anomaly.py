"""Anomaly detection on the offline machine data: AUC, recall at a 5 % false-alarm
budget and time, per detector, feature scale and sensor.

Usage: .venv/bin/python benchmarks/bench_anomaly.py [--full]

Baseline: a z-score detector (mean absolute z-score of the band energies against
the healthy training clips), the plain thing to beat. Detectors: k-means (distance
to the nearest of 8 healthy centres) and a dense autoencoder (reconstruction
error), float and int8. The threshold is chosen on healthy validation clips
only (a quarter of the healthy clips), then applied to the balanced test set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGET = 0.05


def run(kind: str, scale: str, n_healthy: int, n_faulty: int, epochs: int) -> list[dict]:
    from tinyml_lib import anomaly, quantize
    from tinyml_lib.datasets import load_machine_sound

    x_healthy, x_test, y_test, info = load_machine_sound(n_healthy, n_faulty, kind=kind, seed=0,
                                                         source="offline")
    rate = info.details["rate"]
    n_val = len(x_healthy) // 4
    x_val, x_train = x_healthy[:n_val], x_healthy[n_val:]
    start = time.perf_counter()
    f_train, _ = anomaly.features(x_train, rate, n_bands=32, scale=scale)
    f_val, _ = anomaly.features(x_val, rate, n_bands=32, scale=scale)
    f_test, _ = anomaly.features(x_test, rate, n_bands=32, scale=scale)
    feature_s = time.perf_counter() - start
    mean, std = f_train.mean(axis=0), f_train.std(axis=0) + 1e-3
    z_train, z_val, z_test = ((f - mean) / std for f in (f_train, f_val, f_test))

    rows = []

    def add(name, score_val, score_test, seconds, size=None):
        threshold = anomaly.threshold_for(score_val, max_false_alarm_rate=BUDGET)
        point = anomaly.evaluate(y_test, score_test, threshold)
        rows.append(dict(kind=kind, scale=scale, detector=name, auc=anomaly.auc(y_test, score_test),
                         far=point["false_alarm_rate"], recall=point["recall"],
                         seconds=seconds + feature_s, size=size))

    start = time.perf_counter()
    add("z-score (baseline)", np.abs(z_val).mean(axis=1), np.abs(z_test).mean(axis=1),
        time.perf_counter() - start)

    start = time.perf_counter()
    kmeans = anomaly.KMeansDetector(n_clusters=8, seed=0).fit(z_train)
    add("k-means", kmeans.score(z_val), kmeans.score(z_test), time.perf_counter() - start)

    import keras

    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = anomaly.autoencoder(n_inputs=z_train.shape[1], hidden=(32, 8, 32))
    anomaly.train(model, z_train, epochs=epochs, batch_size=16)
    add("autoencoder", anomaly.reconstruction_error(model, z_val),
        anomaly.reconstruction_error(model, z_test), time.perf_counter() - start)
    start = time.perf_counter()
    tflite = quantize.convert(model, "int8", representative_data=z_train)
    add("autoencoder int8", anomaly.reconstruction_error(tflite, z_val),
        anomaly.reconstruction_error(tflite, z_test), time.perf_counter() - start, len(tflite))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the lesson's full-mode sizes (800 healthy / 400 faulty, 150 epochs)")
    args = parser.parse_args()
    n_healthy, n_faulty, epochs = (800, 400, 150) if args.full else (120, 60, 25)
    print(f"{n_healthy} healthy clips (a quarter for the threshold), test {2 * n_faulty} clips; "
          f"autoencoder {epochs} epochs; budget {BUDGET:.0%} false alarms\n")
    print(f"{'sensor':10s} {'bands':6s} {'detector':20s} {'AUC':>6s} {'test FAR':>9s} "
          f"{'recall':>7s} {'seconds':>8s} {'int8 bytes':>11s}")
    for kind, scale in (("vibration", "auto"), ("sound", "linear"), ("sound", "mel")):
        for row in run(kind, scale, n_healthy, n_faulty, epochs):
            size = f"{row['size']:,}" if row["size"] else ""
            print(f"{row['kind']:10s} {row['scale']:6s} {row['detector']:20s} {row['auc']:6.3f} "
                  f"{row['far']:9.1%} {row['recall']:7.1%} {row['seconds']:8.2f} {size:>11s}")


if __name__ == "__main__":
    main()
