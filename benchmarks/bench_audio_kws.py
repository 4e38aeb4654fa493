"""Micro-frontend feature speed, and fast-mode keyword-spotter training (time, accuracy, size).

Usage: .venv/bin/python benchmarks/bench_audio_kws.py [--clips N] [--models tiny_conv ds_cnn]

Figures, not assertions. Feature speed is seconds of audio processed per CPU
second (process time, all threads), one clip at a time and as a batch. Training
runs ``kws.train`` in fast + offline mode (the lesson settings); the float model
size is its float32 weights and its float ``.tflite`` file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def feature_speed(n_clips: int, repeat: int) -> list[tuple[str, float, float]]:
    import numpy as np

    from tinyml_lib import audio

    rng = np.random.default_rng(0)
    t = np.arange(audio.SAMPLE_RATE) / audio.SAMPLE_RATE
    clips = (0.05 * rng.standard_normal((n_clips, audio.SAMPLE_RATE))
             + 0.3 * np.sin(2 * np.pi * rng.uniform(200, 4000, (n_clips, 1)) * t)).astype(np.float32)
    audio.micro_features(clips[0])          # load TensorFlow and the op once
    audio.micro_features_batch(clips[:2])   # build the batch graph once
    rows = []
    for name, run in (("micro_features, one clip at a time",
                       lambda: [audio.micro_features(c) for c in clips]),
                      ("micro_features_batch", lambda: audio.micro_features_batch(clips)),
                      ("log_mel (NumPy), one clip at a time",
                       lambda: [audio.log_mel(c) for c in clips])):
        best_cpu = best_wall = float("inf")
        for _ in range(repeat):  # best of `repeat`: the machine may be busy
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            best_wall = min(best_wall, time.perf_counter() - wall)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        rows.append((name, n_clips / best_cpu, n_clips / best_wall))
    return rows


def float_tflite_bytes(model) -> int:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its export
        return len(converter.convert())


def train_figures(model_name: str):
    from tinyml_lib import kws

    cpu = time.process_time()
    result = kws.train(("yes", "no"), model=model_name, source="offline", seed=0)
    cpu = time.process_time() - cpu
    params = result.model.count_params()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "model.keras")
        result.model.save(path)
        keras_bytes = path.stat().st_size
    return {
        "model": model_name,
        "train clips": len(result.y_train),
        "test clips": len(result.y_test),
        "epochs": len(result.history["loss"]),
        "train s (wall)": result.train_seconds,
        "load+features+train CPU s": cpu,
        "float test acc": result.test_accuracy,
        "params": params,
        "float32 weights KB": params * 4 / 1024,
        "float .tflite KB": float_tflite_bytes(result.model) / 1024,
        ".keras file KB": keras_bytes / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=500, help="one-second clips for the speed test")
    parser.add_argument("--repeat", type=int, default=3, help="speed-test repetitions (best counts)")
    parser.add_argument("--models", nargs="+", default=["tiny_conv", "ds_cnn"])
    args = parser.parse_args()
    os.environ.update({"TINYML_FAST": "1", "TINYML_OFFLINE": "1"})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    print(f"Feature extraction, {args.clips} one-second 16 kHz clips ({os.cpu_count()} cores):")
    print(f"{'method':40s} {'audio s / CPU s':>16s} {'audio s / wall s':>17s}")
    for name, per_cpu, per_wall in feature_speed(args.clips, args.repeat):
        print(f"{name:40s} {per_cpu:16.0f} {per_wall:17.0f}")

    print("\nKeyword spotter (yes/no + silence + unknown), fast mode, offline speech:")
    rows = [train_figures(name) for name in args.models]
    for key in rows[0]:
        cells = []
        for row in rows:
            value = row[key]
            cells.append(f"{value:>12.3f}" if isinstance(value, float) and value < 1.5 else
                         f"{value:>12.1f}" if isinstance(value, float) else f"{value!s:>12s}")
        print(f"{key:28s}" + "".join(cells))


if __name__ == "__main__":  # load_keywords synthesizes in worker processes (spawn)
    main()
