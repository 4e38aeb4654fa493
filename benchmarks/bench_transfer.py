"""Transfer learning against training from scratch for visual wake words (tinyml_lib.transfer).

For a few numbers of labelled person / no-person scenes per class, trains
(a) a new head on the shipped pretrained backbone (frozen; pretrained by this
package on synthetic scenes of objects, never a person), and (b) the same
architecture from scratch, for the same epochs, and prints their accuracy on
held-out scenes, the training seconds, and the int8 model's size, measured
tensor arena and estimated latency on the Arduino Nano 33 BLE Sense. Also prints
the backbone's own pretraining record.

Usage: .venv/bin/python benchmarks/bench_transfer.py [--n 50,100,200] [--epochs E]
       [--seeds 0,1] [--n-test N]   (TINYML_FAST=1: --n 30,60 --seeds 0)
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


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> int:
    from tinyml_lib import config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=_ints, default=config.pick(fast=[30, 60], full=[50, 100, 200]))
    parser.add_argument("--epochs", type=int, default=config.pick(fast=10, full=20))
    parser.add_argument("--seeds", type=_ints, default=config.pick(fast=[0], full=[0, 1]))
    parser.add_argument("--n-test", type=int, default=config.pick(fast=100, full=300))
    args = parser.parse_args()

    from tinyml_lib import mcu, quantize, transfer
    from tinyml_lib.datasets import load_person
    import keras

    info = transfer.backbone_info()
    print(f"backbone: {info['params']:,} weights, pretrained on {info['pretrained_on']}")
    print(f"  {info['made_by']}: {info['n_train']:,} scenes, {info['seconds']:.0f} s, "
          f"test accuracy {info['test_accuracy']:.1%} on its own task (chance {info['chance']:.1%})")
    x_test, y_test, _ = load_person(args.n_test, split="test")
    print(f"\n{len(x_test)} held-out scenes; {args.epochs} epochs; seeds {args.seeds}")
    print(f"{'labelled/class':>14s} {'method':>13s} {'accuracy':>15s} {'train s':>8s}")
    last = None
    for n in args.n:
        x, y, _ = load_person(n, split="train")
        for method in ("transfer", "from scratch"):
            accs, secs = [], []
            for seed in args.seeds:
                keras.utils.set_random_seed(seed)
                if method == "transfer":
                    model = transfer.build_classifier(transfer.load_backbone("offline"), 2)
                    rate = 1e-2
                else:
                    model = transfer.build_classifier(transfer.build_backbone(), 2)
                    rate = 3e-3
                model.compile(optimizer=keras.optimizers.Adam(rate),
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
                start = time.perf_counter()
                model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0)
                secs.append(time.perf_counter() - start)
                accs.append(model.evaluate(x_test, y_test, verbose=0)[1])
                if method == "transfer":
                    last = (model, x)
            spread = f" ± {np.std(accs):.1%}" if len(accs) > 1 else ""
            print(f"{n:>14d} {method:>13s} {np.mean(accs):>8.1%}{spread:>7s} {np.mean(secs):>8.1f}",
                  flush=True)

    model, x = last
    start = time.perf_counter()
    tflite = quantize.convert(model, "int8", representative_data=x)
    convert_s = time.perf_counter() - start
    int8_acc = float(np.mean(mcu.run_tflite(tflite, x_test).argmax(axis=1) == y_test))
    print(f"\nint8 conversion {convert_s:.1f} s; int8 accuracy {int8_acc:.1%} "
          f"(last transfer model)")
    for cut in (None, "block6_pw_relu", "block5_pw_relu"):
        backbone = transfer.load_backbone("offline")
        if cut:
            backbone = keras.Model(backbone.input, backbone.get_layer(cut).output, name="backbone")
            backbone.trainable = False
        data = quantize.convert(transfer.build_classifier(backbone, 2), "int8",
                                representative_data=x)
        report = mcu.profile(data, board="nano33ble")
        print(f"int8, backbone up to {cut or 'block7_pw_relu':15s}: flash {report.model_bytes / 1024:5.1f} KB, "
              f"arena {report.arena_bytes / 1024:5.1f} KB, {report.macs / 1e6:.2f} M MACs, "
              f"~{report.latency_ms:.0f} ms on the {report.board.name}; fits: {report.fits}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
