"""Universal adversarial noise against a keyword spotter: success, loudness, queries, transfer.

Usage: .venv/bin/python benchmarks/bench_attacks.py [--figures DIR] [--seed N]

Figures, not assertions. The victim is the lesson's model: ``tiny_conv``
trained by ``kws.train`` in fast + offline mode (yes/no with silence and
unknown, 100 clips per class, split by speaker). The noise is made on the
training speakers' non-"yes" clips and measured on the held-out speakers'
non-"yes" clips, always through the real micro frontend:

- white box at epsilon 0.05 (gradients through the stand-in frontend):
  success on the float Keras model and on its int8 version run by TFLM,
  the noise's SNR, the clean accuracy (the model is not touched), and two
  controls at the same peak level: uniform random noise and a quiet
  recording of "yes" (a different voice, from a separate draw);
- black box at epsilon 0.1 against the int8 ``.tflite`` (queries only): success,
  queries and seconds, against the quiet-"yes" baseline at 0.1;
- transfer: both noises against models they were not made on (a DS-CNN and a
  tiny_conv with another seed, trained on the same clips).

It also writes three pictures (noise waveform, features clean vs attacked,
success bars) to ``--figures`` (default: a new temporary folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TINYML_FAST", "1")
os.environ.setdefault("TINYML_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, default=None,
                        help="folder for the PNG figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="data / model / attack seed")
    args = parser.parse_args()

    import numpy as np

    from tinyml_lib import attacks, audio, config, kws, plots, quantize
    from tinyml_lib.datasets import load_keywords

    seed = args.seed
    n = config.pick(fast=100, full=400)
    waves, labels, info = load_keywords(["yes", "no"], n, seed=seed, silence=True, unknown=True)
    speakers = np.asarray(info.details["speakers"])
    data = (waves, labels, speakers)
    result = kws.train(("yes", "no"), data=data, seed=seed)        # = kws.train() in fast mode
    train_i, test_i = kws.split_by_speaker(speakers, 0.2, seed)   # the split train() used
    train, test = waves[train_i], waves[test_i]
    train_labels, test_labels = labels[train_i], labels[test_i]
    non_yes = test_labels != "yes"
    print(f"victim: {result}")
    print(f"attack made on {int(np.sum(train_labels != 'yes'))} training non-'yes' clips; "
          f"measured on {int(non_yes.sum())} held-out non-'yes' clips "
          f"({len(result.test_speakers)} unseen speakers); data source: {info.source}\n")

    int8 = quantize.convert(result.model, "int8", representative_data=result.x_train)
    zero = np.zeros(attacks.CLIP_SAMPLES, np.float32)

    def rate(model, noise, runtime="tflm"):
        return attacks.attack_success(model, test, noise, "yes", labels=test_labels,
                                      runtime=runtime)

    def accuracy(model, runtime="tflm"):
        predicted = attacks.predict_waves(model, test, runtime=runtime)
        return float(np.mean(predicted == kws.encode_labels(test_labels, result.classes)))

    # controls: random noise, and a quiet "yes" from another draw of voices
    rng = np.random.default_rng(seed + 1)
    yes_waves, _, _ = load_keywords(["yes"], 5, seed=seed + 1000)

    def quiet_yes(epsilon):
        clips = [w / np.max(np.abs(w)) * attacks._bound(epsilon) for w in yes_waves]
        return [np.asarray(c, np.float32) for c in clips]

    # ---- white box at 0.05
    eps = 0.05
    white = attacks.craft_noise(result.model, train, "yes", eps, seed=seed, labels=train_labels)
    random_noise = rng.uniform(-eps, eps, attacks.CLIP_SAMPLES).astype(np.float32)
    rows = [
        ("clean (no noise)", rate(result.model, zero), rate(int8, zero)),
        (f"uniform random noise, peak {eps}", rate(result.model, random_noise),
         rate(int8, random_noise)),
        (f"quiet 'yes' recording, peak {eps} (mean of 5 voices)",
         float(np.mean([rate(result.model, c) for c in quiet_yes(eps)])),
         float(np.mean([rate(int8, c) for c in quiet_yes(eps)]))),
        (f"white-box universal noise, epsilon {eps}", rate(result.model, white.noise),
         rate(int8, white.noise)),
    ]
    print(f"White box ({white}):")
    print(f"  {'held-out non-yes clips heard as yes':58s} {'float':>7s} {'int8 TFLM':>10s}")
    for name, f, q in rows:
        print(f"  {name:58s} {100 * f:6.1f}% {100 * q:9.1f}%")
    print(f"  noise peak {float(np.max(np.abs(white.noise))):.4f}; SNR over held-out clips "
          f"{attacks.snr_db(test, white.noise):.1f} dB (over non-yes clips "
          f"{attacks.snr_db(test[non_yes], white.noise):.1f} dB)")
    print(f"  clean accuracy (unchanged: the attack never touches the model): float "
          f"{100 * accuracy(result.model):.1f}%, int8 TFLM {100 * accuracy(int8):.1f}%\n")

    # ---- black box at 0.1 against the int8 .tflite
    eps_b = 0.1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "kws_int8.tflite")
        path.write_bytes(int8)
        black = attacks.craft_noise(str(path), train, "yes", eps_b, seed=seed, labels=train_labels)
    yes_b = float(np.mean([rate(int8, c) for c in quiet_yes(eps_b)]))
    black_rate = rate(int8, black.noise)
    print(f"Black box against the int8 .tflite ({black}):")
    print(f"  held-out non-yes clips heard as yes (int8, TFLM): {100 * black_rate:.1f}% "
          f"(target >= 50%); quiet 'yes' at peak {eps_b}: {100 * yes_b:.1f}%; clean "
          f"{100 * rate(int8, zero):.1f}%")
    print(f"  {black.queries:,} queries (one clip through the model each) in "
          f"{black.seconds:.1f} s; SNR {attacks.snr_db(test, black.noise):.1f} dB; the same "
          f"noise on the float model: {100 * rate(result.model, black.noise):.1f}%\n")

    # ---- transfer
    others = [("DS-CNN (same clips)", kws.train(("yes", "no"), data=data, seed=seed,
                                                model="ds_cnn")),
              # another seed would split differently: train it on training speakers only
              ("tiny_conv, another seed", kws.train(("yes", "no"), seed=seed + 1,
                                                    data=(train, train_labels,
                                                          speakers[train_i])))]
    print("Transfer (noise made on the victim, played to models it never saw), float models:")
    for name, other in others:
        print(f"  {name:28s} clean acc {100 * accuracy(other.model):5.1f}%: clean "
              f"{100 * rate(other.model, zero):5.1f}%, white-box noise "
              f"{100 * rate(other.model, white.noise):5.1f}%, black-box noise "
              f"{100 * rate(other.model, black.noise):5.1f}% heard as yes")

    # ---- pictures
    folder = args.figures or Path(tempfile.mkdtemp(prefix="bench_attacks_"))
    folder.mkdir(parents=True, exist_ok=True)
    ax = attacks.plot_noise(white.noise, epsilon=eps)
    ax.figure.savefig(folder / "noise.png", dpi=100)
    print(f"\nfigures in {folder}:\n  noise.png: {attacks.describe_noise(white.noise, eps)}")
    example = test[np.flatnonzero(test_labels == "no")[0]]
    fig, axes = plots.figure(1, 2, figsize=(9, 3.2))
    audio.plot_spectrogram(audio.micro_features(example), ax=axes[0], title="'no', clean",
                           colorbar=False)
    attacked = np.clip(example + white.noise, -1, 1)
    heard = result.classes[int(attacks.predict_waves(result.model, attacked[None])[0])]
    audio.plot_spectrogram(audio.micro_features(attacked), ax=axes[1],
                           title=f"'no' + noise (float model hears {heard!r})", colorbar=False)
    fig.savefig(folder / "features.png", dpi=100)
    print("  features.png: micro-frontend features of a held-out 'no', clean and with the noise.")
    fig, ax = plots.figure(figsize=(8, 3.5))
    bars = [("clean", rows[0][2]), ("random", rows[1][2]), ("quiet yes", rows[2][2]),
            ("white box\n0.05", rows[3][2]), ("quiet yes\n0.1", yes_b),
            ("black box\n0.1", black_rate)]
    ax.bar([b[0] for b in bars], [100 * b[1] for b in bars], color="tab:red")
    ax.set_ylabel("non-yes clips heard as 'yes' (%)")
    ax.set_title("int8 model on TFLM, held-out speakers")
    ax.set_ylim(0, 100)
    fig.savefig(folder / "success.png", dpi=100)
    print("  success.png: bars of the share heard as 'yes' (int8 TFLM): "
          + ", ".join(f"{b[0].replace(chr(10), ' ')} {100 * b[1]:.0f}%" for b in bars) + ".")


if __name__ == "__main__":
    main()
