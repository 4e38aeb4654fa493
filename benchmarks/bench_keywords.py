"""Offline keywords: are they realistic, and how long do they take to make?

1. Realism. A micro_speech-sized model (TFLM micro frontend features, one conv
   layer, as course 2 trains) is trained ONLY on synthesized "yes"/"no" plus
   silence/unknown from 4 English accents x half of the voice variants, and
   tested on clips it never heard: the other half of the variants (unseen
   voices) in the same accents, and in the 4 other accents, with unknown words
   it never saw; and on "yes"/"no" read by other languages' voices. Optionally also on
   real recordings (``--real DIR``: a folder like Speech Commands,
   ``DIR/yes/*.wav``, ``DIR/no/*.wav``, other folders = unknown), and a
   reference model trained on real speech (``--reference-model``: the TFLM
   micro_speech ``.tflite``, int8 49x40 input, classes silence/unknown/yes/no)
   is run on the synthesized held-out clips.
2. Time to synthesize 1,000 clips (cold, empty cache) with 2 worker processes
   and with 1 (the plain baseline), and the cache-hit time.

Usage: .venv/bin/python benchmarks/bench_keywords.py [--n-train 300] [--epochs 30]
       [--real DIR] [--reference-model micro_speech.tflite]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TINYML_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tinyml_lib.datasets import keywords as kw  # noqa: E402
from tinyml_lib.datasets import load_folder, load_keywords  # noqa: E402

WORDS = ["yes", "no"]
CLASSES = ["silence", "unknown", *WORDS]  # micro_speech's order
TRAIN_ACCENTS = ["en-us", "en", "en-gb-x-rp", "en-us-nyc"]
TEST_ACCENTS = ["en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
FOREIGN = ["de", "nl", "es", "it", "fr", "pl"]


def features(waves: np.ndarray) -> np.ndarray:
    """(N, 49, 40) micro frontend features, x 10/256 (micro_speech's units)."""
    try:
        from tinyml_lib import audio

        return audio.micro_features_batch(waves)
    except (ImportError, AttributeError):
        import tensorflow as tf
        from tensorflow.lite.experimental.microfrontend.python.ops import (
            audio_microfrontend_op as frontend)

        out = []
        for clip in np.clip(np.round(waves * 32768), -32768, 32767).astype(np.int16):
            f = frontend.audio_microfrontend(tf.constant(clip), sample_rate=16000, window_size=30,
                                             window_step=20, num_channels=40, out_scale=1,
                                             out_type=tf.float32)
            out.append(f.numpy() * (10 / 256))
        return np.stack(out).astype(np.float32)


def tiny_conv(n_classes: int):
    """micro_speech's "tiny_conv": one 8-filter 10x8 convolution, then a dense layer."""
    import keras

    return keras.Sequential([
        keras.Input((49, 40, 1)),
        keras.layers.Conv2D(8, (10, 8), strides=2, padding="same", activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Flatten(),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])


def encode(labels: np.ndarray) -> np.ndarray:
    return np.array([CLASSES.index(label) for label in labels])


def report(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    acc = np.mean(y_true == y_pred)
    per = ", ".join(f"{c} {np.mean(y_pred[y_true == i] == i):.0%}"
                    for i, c in enumerate(CLASSES) if np.any(y_true == i))
    print(f"  {name}: accuracy {acc:.1%} on {len(y_true)} clips ({per})")


def realism(args) -> None:
    import keras

    variants = list(kw.HUMAN_VARIANTS)
    train_voices = kw.available_voices(TRAIN_ACCENTS, variants[0::2])
    test_voices = kw.available_voices(TEST_ACCENTS, variants[1::2])
    unknown_vocab = [w for w in kw.DEFAULT_UNKNOWN_WORDS if w not in WORDS]
    t0 = time.perf_counter()
    x_tr, l_tr, info_tr = load_keywords(WORDS, args.n_train, source="offline", seed=0,
                                        silence=True, unknown=True, voices=train_voices,
                                        unknown_words=unknown_vocab[0::2])
    x_te, l_te, info_te = load_keywords(WORDS, args.n_train // 2, source="offline", seed=1,
                                        silence=True, unknown=True, voices=test_voices,
                                        unknown_words=unknown_vocab[1::2])
    print(f"data: train {len(l_tr)} clips from {len(train_voices)} voices "
          f"({', '.join(TRAIN_ACCENTS)}); held-out test {len(l_te)} clips from "
          f"{len(test_voices)} other voices ({', '.join(TEST_ACCENTS)}, other variants, other "
          f"unknown words) [{time.perf_counter() - t0:.1f} s]")
    spoken = lambda info, labels: set(info.details["speakers"][labels != "silence"])  # noqa: E731
    assert not spoken(info_tr, l_tr) & spoken(info_te, l_te), "a test voice was heard in training"
    t0 = time.perf_counter()
    f_tr, f_te = features(x_tr)[..., None], features(x_te)[..., None]
    print(f"features: micro frontend 49x40 [{time.perf_counter() - t0:.1f} s]")

    keras.utils.set_random_seed(0)
    model = tiny_conv(len(CLASSES))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(f_tr, encode(l_tr), epochs=args.epochs, batch_size=64, verbose=0,
              validation_split=0.1)
    print(f"model: tiny_conv ({model.count_params()} parameters), {args.epochs} epochs "
          f"[{time.perf_counter() - t0:.1f} s]")
    print("\nmodel trained only on offline (synthesized) keywords:")
    report("training voices (seen)", encode(l_tr), model.predict(f_tr, verbose=0).argmax(1))
    x_sv, l_sv, _ = load_keywords(WORDS, args.n_train // 2, source="offline", seed=3,
                                  silence=True, unknown=True,
                                  voices=kw.available_voices(TRAIN_ACCENTS, variants[1::2]),
                                  unknown_words=unknown_vocab[1::2])
    report("same accents, unseen voices and unknown words", encode(l_sv),
           model.predict(features(x_sv)[..., None], verbose=0).argmax(1))
    report("unseen accents, voices and unknown words", encode(l_te),
           model.predict(f_te, verbose=0).argmax(1))
    foreign, l_fo, _ = load_keywords(WORDS, max(args.n_train // 6, 10), source="offline", seed=2,
                                     voices=FOREIGN)
    report(f"'yes'/'no' read by {'/'.join(FOREIGN)} voices (their spelling rules)",
           encode(l_fo), model.predict(features(foreign)[..., None], verbose=0).argmax(1))

    if args.real:
        waves, labels, info = load_folder(args.real)
        keep = labels != "_background_noise_"
        waves, labels = waves[keep], labels[keep]
        labels = np.where(np.isin(labels, WORDS), labels, "unknown")
        report(f"REAL recordings in {args.real}", encode(labels),
               model.predict(features(waves)[..., None], verbose=0).argmax(1))
    else:
        print("  real recordings: none given (--real DIR); this machine has no network to "
              "fetch Speech Commands, so held-out voices/accents stand in for them.")

    if args.reference_model:
        reference(args.reference_model, f_te[..., 0], encode(l_te))
    else:
        print("\nreference model trained on real speech: not measured (no --reference-model "
              "given; the TFLM micro_speech .tflite is not shipped by any installed package "
              "and nothing may be downloaded here).")


def reference(path: str, feats: np.ndarray, y_true: np.ndarray) -> None:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interp = Interpreter(model_path=path)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zero = inp["quantization"]
    preds = []
    for f in feats:
        x = f.reshape(inp["shape"])
        if inp["dtype"] == np.int8:
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        preds.append(int(np.argmax(interp.get_tensor(out["index"]))))
    print(f"\nreference model trained on real speech ({path}) on the synthesized held-out clips:")
    report("all classes", y_true, np.array(preds))


def _burn(_) -> float:
    start, total = time.perf_counter(), 0
    for i in range(4_000_000):
        total += i
    return time.perf_counter() - start


def cpu_scaling() -> float:
    """How much faster 2 processes run 2 pure-Python tasks than 1 process, right now."""
    import multiprocessing

    start = time.perf_counter()
    _burn(0), _burn(0)
    serial = time.perf_counter() - start
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [0, 0])  # start-up
        start = time.perf_counter()
        pool.map(_burn, [0, 1])
        parallel = time.perf_counter() - start
    return serial / parallel


def timing() -> None:
    print(f"\nCPU context: 2 processes run a pure-Python loop {cpu_scaling():.2f}x faster than 1 "
          f"on this machine right now (2.0x = two free cores); load average "
          f"{os.getloadavg()[0]:.1f}")
    print("generation time, 1,000 clips ('yes', 'no', silence, unknown x 250), empty cache:")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TINYML_CACHE_DIR"] = tmp
        load_keywords(["up"], 1, source="offline", seed=99)  # imports (scipy) out of the timing
        times = {}
        for jobs in (2, 1):
            os.environ["TINYML_CACHE_DIR"] = os.path.join(tmp, f"jobs{jobs}")
            t0 = time.perf_counter()
            waves, _, info = load_keywords(WORDS, 250, source="offline", silence=True,
                                           unknown=True, n_jobs=jobs)
            times[jobs] = time.perf_counter() - t0
            assert not info.details["cache_hit"] and waves.shape == (1000, 16000)
            print(f"  n_jobs={jobs}: {times[jobs]:.1f} s ({times[jobs]:.1f} ms per clip)")
        print(f"  speed-up of 2 processes over 1 (baseline): {times[1] / times[2]:.2f}x")
        t0 = time.perf_counter()
        _, _, info = load_keywords(WORDS, 250, source="offline", silence=True, unknown=True)
        hit = time.perf_counter() - t0
        size = Path(info.cache_path).stat().st_size / 1e6
        print(f"  cache hit: {hit * 1000:.0f} ms ({size:.0f} MB .npz; {times[2] / hit:.0f}x faster "
              "than generating)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=300,
                        help="training clips per class (test: half as many)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--real", help="folder of real recordings (DIR/yes/*.wav, DIR/no/*.wav, "
                                       "other folders = unknown)")
    parser.add_argument("--reference-model",
                        help="TFLM micro_speech .tflite trained on real speech")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    command = [".venv/bin/python", "benchmarks/bench_keywords.py", *sys.argv[1:]]
    print("command:", shlex.join(command))
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average "
          f"{os.getloadavg()[0]:.1f}\n")
    realism(args)
    if not args.skip_timing:
        timing()


if __name__ == "__main__":
    main()
