"""Quantization and the virtual microcontroller on the yes/no keyword spotter.

Trains the KWS yes/no model offline (tinyml_lib.kws, synthesized speech), then
prints: the size and held-out accuracy of the float32 / float16 / dynamic /
int8 conversions; the int8 - float accuracy gap; post-training quantization
(PTQ) against quantization-aware training (QAT), on the KWS model and on a
model where PTQ is known to lose accuracy; LiteRT against TFLM outputs on the
int8 model; the tensor arena, MACs and estimated latency on each board.

Usage: .venv/bin/python benchmarks/bench_quantize.py [--n-per-word N] [--epochs E]
       [--qat-epochs Q]   (TINYML_FAST=1 for the small, quick sizes)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TINYML_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIZE_TARGET = 20 * 1024   # bytes: the int8 KWS model must fit in 20 KB
GAP_TARGET = 0.01         # int8 accuracy within 1 point of float


def _ok(flag: bool) -> str:
    return "PASS" if flag else "FAIL"


def _accuracy(scores, y) -> float:
    return float(np.mean(np.asarray(scores).argmax(axis=1) == y))


def _time_per_inference(tflite: bytes, x, runtime: str) -> float:
    from tinyml_lib import mcu

    mcu.run_tflite(tflite, x[:2], runtime=runtime)             # warm up
    start = time.perf_counter()
    mcu.run_tflite(tflite, x, runtime=runtime)
    return (time.perf_counter() - start) / len(x)


def fragile_model_demo(qat_epochs: int) -> tuple[float, float, float]:
    """Float, PTQ and QAT int8 accuracy of an MLP with one 200x louder hidden unit.

    Rescaling a ReLU unit's input weights by 200 and its output weights by
    1/200 leaves the float model unchanged but sets the int8 range of its layer
    (a known failure of post-training quantization; see quantize.make_fragile).
    QAT recovers most of it.
    """
    import keras

    from tinyml_lib import mcu, quantize

    centres = np.random.default_rng(42).normal(0, 1, (4, 16)) * 0.35

    def blobs(n, seed):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 4, n)
        return (centres[y] + rng.normal(0, 0.3, (n, 16))).astype("float32"), y

    (x, y), (x_test, y_test) = blobs(1500, 0), blobs(600, 1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    model = quantize.make_fragile(model, unit=0, factor=200)
    float_acc = _accuracy(model.predict(x_test, verbose=0), y_test)
    ptq = quantize.convert(model, "int8", representative_data=x)
    qat_model = quantize.train_qat(model, x, y, epochs=qat_epochs, learning_rate=1e-3)
    qat = quantize.convert(qat_model, "int8", representative_data=x)
    return (float_acc, _accuracy(mcu.run_tflite(ptq, x_test), y_test),
            _accuracy(mcu.run_tflite(qat, x_test), y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-word", type=int, default=None,
                        help="clips per class (default: kws.train's, 60 fast / 400 full)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: kws.train's)")
    parser.add_argument("--qat-epochs", type=int, default=3, help="QAT fine-tuning epochs")
    parser.add_argument("--model", default="tiny_conv", help="kws architecture")
    args = parser.parse_args()

    from tinyml_lib import kws, mcu, quantize

    start = time.perf_counter()
    result = kws.train(("yes", "no"), n_per_word=args.n_per_word, epochs=args.epochs,
                       model=args.model, source="offline")
    print(result)
    model = result.model
    x_train, y_train = result.x_train, result.y_train
    x_test, y_test = result.x_test, result.y_test
    calibration = x_train

    print("\n== Conversions (held-out speakers: "
          f"{len(y_test)} clips, classes {', '.join(result.classes)})")
    tflite = {mode: quantize.convert(model, mode,
                                     representative_data=calibration if mode == "int8" else None)
              for mode in quantize.MODES}
    table = quantize.compare({"keras float": model, **tflite}, x_test, y_test)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    float_acc = float(table.loc[table.name == "keras float", "accuracy"].iloc[0])
    int8_acc = float(table.loc[table.name == "int8", "accuracy"].iloc[0])
    int8_bytes = len(tflite["int8"])
    gap = float_acc - int8_acc
    print(f"\nint8 model size: {int8_bytes:,} bytes ({int8_bytes / 1024:.1f} KB; target <= 20 KB) "
          f"-> {_ok(int8_bytes <= SIZE_TARGET)}; {len(tflite['float32']) / int8_bytes:.2f}x "
          f"smaller than float32")
    print(f"accuracy float {100 * float_acc:.1f}% vs int8 {100 * int8_acc:.1f}%: gap "
          f"{100 * gap:+.1f} points (target <= 1 point) -> {_ok(gap <= GAP_TARGET + 1e-9)}")

    print("\n== PTQ vs QAT")
    qat_model = quantize.train_qat(model, x_train, y_train, epochs=args.qat_epochs)
    qat = quantize.convert(qat_model, "int8", representative_data=calibration)
    qat_acc = _accuracy(mcu.run_tflite(qat, x_test), y_test)
    print(f"KWS {args.model}: float {100 * float_acc:.1f}%, PTQ int8 {100 * int8_acc:.1f}%, "
          f"QAT int8 {100 * qat_acc:.1f}% (QAT - PTQ: {100 * (qat_acc - int8_acc):+.1f} points)")
    f_acc, p_acc, q_acc = fragile_model_demo(args.qat_epochs)
    print(f"MLP with a 200x louder hidden unit (same float function): float {100 * f_acc:.1f}%, "
          f"PTQ int8 {100 * p_acc:.1f}%, QAT int8 {100 * q_acc:.1f}% "
          f"(QAT - PTQ: {100 * (q_acc - p_acc):+.1f} points)")

    print("\n== LiteRT vs TFLM (the microcontroller runtime)")
    raw_litert = mcu.run_tflite(tflite["int8"], x_test, runtime="litert", dequantize=False)
    raw_tflm = mcu.run_tflite(tflite["int8"], x_test, runtime="tflm", dequantize=False)
    diff = int(np.abs(raw_litert.astype(int) - raw_tflm.astype(int)).max())
    print(f"int8 model, {len(x_test)} clips: max |LiteRT - TFLM| of the int8 outputs = {diff} "
          f"-> {'identical' if diff == 0 else 'DIFFERENT'}")
    f_litert = mcu.run_tflite(tflite["float32"], x_test, runtime="litert")
    f_tflm = mcu.run_tflite(tflite["float32"], x_test, runtime="tflm")
    print(f"float32 model: max |LiteRT - TFLM| = {np.abs(f_litert - f_tflm).max():.2e}")
    t_int8 = _time_per_inference(tflite["int8"], x_test, "tflm")
    t_float = _time_per_inference(tflite["float32"], x_test, "tflm")
    print(f"TFLM on this computer: int8 {1000 * t_int8:.3f} ms, float32 {1000 * t_float:.3f} ms "
          f"per inference (int8 / float32 = {t_int8 / t_float:.2f}x)")

    print("\n== On the boards")
    for key in mcu.BOARDS:
        for mode in ("int8", "float32"):
            report = mcu.profile(tflite[mode], board=key)
            print(f"{report.board.name:<28} {mode:<8} flash {report.model_bytes:>7,} B  "
                  f"arena {report.arena_bytes:>7,} B  MACs {report.macs:>9,}  "
                  f"latency ~{report.latency_ms:8.2f} ms (estimate)  "
                  f"fits: {'yes' if report.fits else 'no'}")
    print("\n" + str(mcu.profile(tflite["int8"], board="nano33ble")))
    print(f"\nbenchmark wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
