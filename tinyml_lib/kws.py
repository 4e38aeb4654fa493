"""Keyword spotting: tiny models that hear "yes" and "no", and how to train them.

The pipeline of TensorFlow Lite Micro's ``micro_speech`` example, in a few calls:

1. one-second 16 kHz clips, labelled ``"silence"``, ``"unknown"`` or a keyword;
2. :func:`prepare`: the microcontroller's own features
   (:func:`tinyml_lib.audio.micro_features`, 49 x 40 per clip) and class numbers;
3. a model: :func:`build_tiny_conv` (the ``micro_speech`` architecture: one
   convolution and one dense layer, about 18 KB as int8) or
   :func:`build_ds_cnn` (the depthwise-separable CNN of "Hello Edge", Zhang et
   al. 2017);
4. :func:`train` does it all on the keyword dataset, split by speaker so the
   test voices were never heard in training;
5. :func:`pretrained` loads a ready-made "yes"/"no" spotter shipped with the
   package, trained by :func:`train_pretrained` on the package's own
   synthesized speech, with some voices (:func:`held_out_voices`) kept unheard.

Class order follows ``micro_speech``: ``["silence", "unknown", *words]``
(:func:`label_names`). TensorFlow and Keras load on first use.

Examples
--------
>>> from tinyml_lib import kws
>>> kws.label_names(["yes", "no"])
['silence', 'unknown', 'yes', 'no']
>>> result = kws.train(words=("yes", "no"))                  # doctest: +SKIP
>>> print(result)                                             # doctest: +SKIP
tiny_conv on 319 training clips (offline): 77.8% test accuracy on 81 clips from 63 held-out ...
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import audio, config, plots

#: The first two classes of every keyword spotter, before the keywords.
LABELS_PREFIX = ["silence", "unknown"]
#: Input of the ``micro_speech`` model: 49 frames x 40 channels x 1.
INPUT_SHAPE = (49, 40, 1)
#: The model builders :func:`train` knows by name.
MODEL_NAMES = ("tiny_conv", "ds_cnn")


# --------------------------------------------------------------------------- labels

def label_names(words: Sequence[str]) -> list[str]:
    """The class names in label order: ``["silence", "unknown", *words]``.

    >>> label_names(["yes", "no"])
    ['silence', 'unknown', 'yes', 'no']
    """
    if isinstance(words, str):
        raise ValueError(f"words must be a list of keywords, e.g. ['yes', 'no']; got the "
                         f"single string {words!r}.")
    words = list(words)
    if not words:
        raise ValueError("words is empty: name at least one keyword, e.g. ['yes', 'no'].")
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"every keyword must be a non-empty string; got {word!r}.")
        if word in LABELS_PREFIX:
            raise ValueError(f"{word!r} is a reserved class name ({', '.join(LABELS_PREFIX)} "
                             f"come first automatically); remove it from words.")
    duplicates = sorted({w for w in words if words.count(w) > 1})
    if duplicates:
        raise ValueError(f"words contains duplicates: {', '.join(duplicates)}.")
    return [*LABELS_PREFIX, *words]


def encode_labels(labels, classes: Sequence[str]) -> np.ndarray:
    """Class names to class numbers (int64), by position in ``classes``.

    >>> encode_labels(["no", "silence", "yes"], label_names(["yes", "no"]))
    array([3, 0, 2])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (one name per clip); got shape {labels.shape}.")
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted({str(lab) for lab in labels.tolist() if lab not in index})
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not among the classes {list(classes)}; "
                         f"check the words you asked for.")
    return np.array([index[lab] for lab in labels.tolist()], dtype=np.int64)


# --------------------------------------------------------------------------- features

def prepare(waves, labels, words: Sequence[str], sample_rate: int = audio.SAMPLE_RATE):
    """Features and class numbers for a keyword spotter.

    Parameters
    ----------
    waves : array-like, shape (n_clips, n_samples)
        Equal-length mono clips at 16 kHz (float in [-1, 1] or int16); one
        second (16000 samples) gives the 49 x 40 ``micro_speech`` input.
    labels : array-like of str, shape (n_clips,)
        ``"silence"``, ``"unknown"`` or one of ``words``.
    words : sequence of str
        The keywords; classes are :func:`label_names` ``(words)``.

    Returns
    -------
    x : ndarray of float32, shape (n_clips, n_frames, 40, 1)
        :func:`tinyml_lib.audio.micro_features` of each clip.
    y : ndarray of int64, shape (n_clips,)

    Examples
    --------
    >>> x, y = prepare(np.zeros((2, 16000)), ["yes", "silence"], ["yes", "no"])  # doctest: +SKIP
    >>> x.shape, y.tolist()                                                       # doctest: +SKIP
    ((2, 49, 40, 1), [2, 0])
    """
    classes = label_names(words)
    y = encode_labels(labels, classes)
    batch = audio.as_batch(waves) if not (isinstance(waves, np.ndarray) and waves.dtype == np.int16) \
        else waves
    if len(y) != len(batch):
        raise ValueError(f"waves has {len(batch)} clips but labels has {len(y)}: one label per clip.")
    x = audio.micro_features_batch(batch, sample_rate=sample_rate)
    return x[..., None], y


def augment(waves, seed: int = 0, max_shift_ms: float = 100.0, noise_rms: float = 0.02,
            noise_prob: float = 0.8, background=None) -> np.ndarray:
    """Randomly shifted, noisier copies of the clips, as ``micro_speech`` was trained.

    Each clip moves by up to ``max_shift_ms`` earlier or later (the gap is
    filled with silence), and with probability ``noise_prob`` gets background
    noise at a random level up to ``noise_rms``: a random one-second stretch of
    ``background`` (e.g. the "silence" clips) or, without it, white noise.

    Parameters
    ----------
    waves : array-like, shape (n_clips, n_samples)
    seed : int
        The same seed gives the same copies.
    background : array-like, shape (n_background, n_samples), optional

    Returns
    -------
    ndarray of float32, same shape as ``waves``, in [-1, 1]

    Examples
    --------
    >>> augment(np.zeros((4, 16000)), seed=1).shape
    (4, 16000)
    """
    x = audio.as_batch(waves)
    if max_shift_ms < 0 or not 0 <= noise_prob <= 1 or noise_rms < 0:
        raise ValueError("need max_shift_ms >= 0, noise_rms >= 0 and 0 <= noise_prob <= 1; got "
                         f"{max_shift_ms}, {noise_rms}, {noise_prob}.")
    rng = np.random.default_rng(seed)
    n, length = x.shape
    limit = int(audio.SAMPLE_RATE * max_shift_ms / 1000)
    out = np.zeros_like(x)
    shifts = rng.integers(-limit, limit + 1, size=n) if limit else np.zeros(n, dtype=int)
    for i, s in enumerate(shifts):
        if s >= 0:
            out[i, s:] = x[i, :length - s]
        else:
            out[i, :s] = x[i, -s:]
    if noise_rms > 0 and noise_prob > 0:
        noisy = rng.random(n) < noise_prob
        levels = rng.uniform(0, noise_rms, size=n) * noisy
        if background is not None:
            bg = audio.as_batch(background, name="background")
            if bg.shape[1] < length:
                raise ValueError(f"background clips ({bg.shape[1]} samples) must be at least "
                                 f"as long as the clips ({length}).")
            picks = rng.integers(0, len(bg), size=n)
            starts = rng.integers(0, bg.shape[1] - length + 1, size=n)
            noise = np.stack([bg[p, s:s + length] for p, s in zip(picks, starts)]).astype(np.float64)
            rms = np.sqrt(np.mean(noise ** 2, axis=1, keepdims=True))
            noise = np.where(rms > 1e-6, noise / np.maximum(rms, 1e-6), 0.0)
        else:
            noise = rng.standard_normal((n, length))
        out = out + (levels[:, None] * noise).astype(np.float32)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- models

def _keras(seed):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    return keras


def _check_model_args(n_classes, input_shape, dropout):
    if isinstance(n_classes, bool) or int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be a whole number >= 2; got {n_classes!r}.")
    shape = tuple(input_shape)
    if len(shape) != 3 or any(int(d) != d or d < 1 for d in shape):
        raise ValueError(f"input_shape must be (frames, channels, 1), e.g. {INPUT_SHAPE}; "
                         f"got {input_shape!r}.")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
    return int(n_classes), tuple(int(d) for d in shape)


def _compile(model, keras, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_tiny_conv(n_classes: int, input_shape=INPUT_SHAPE, dropout: float = 0.5,
                    learning_rate: float = 0.001, seed: int | None = None):
    """The ``micro_speech`` model: Conv2D(8, 10x8, stride 2) + ReLU, dropout, dense, softmax.

    With 4 classes it has 16,652 parameters (about 18 KB as an int8 ``.tflite``).

    Parameters
    ----------
    n_classes : int
        Number of classes (``len(label_names(words))``).
    input_shape : tuple
        (frames, channels, 1); (49, 40, 1) for one second of micro features.
    dropout : float
        Dropout rate after the convolution (training only).
    learning_rate : float
        Adam's learning rate; the model comes compiled with sparse categorical
        cross-entropy and accuracy.
    seed : int, optional
        Seeds Python, NumPy and TensorFlow before the weights are drawn.

    Returns
    -------
    keras.Model
        Float32; outputs class probabilities.

    Examples
    --------
    >>> model = build_tiny_conv(4)           # doctest: +SKIP
    >>> model.count_params()                 # doctest: +SKIP
    16652
    """
    n_classes, shape = _check_model_args(n_classes, input_shape, dropout)
    keras = _keras(seed)
    layers = keras.layers
    inputs = keras.Input(shape, name="features")
    x = layers.Conv2D(8, (10, 8), strides=(2, 2), padding="same", activation="relu",
                      name="conv")(inputs)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    return _compile(keras.Model(inputs, outputs, name="tiny_conv"), keras, learning_rate)


def build_ds_cnn(n_classes: int, input_shape=INPUT_SHAPE, filters: int = 64, blocks: int = 4,
                 dropout: float = 0.2, learning_rate: float = 0.001, seed: int | None = None):
    """A depthwise-separable CNN (DS-CNN, "Hello Edge", Zhang et al. 2017).

    A Conv2D (``filters``, 10x4, stride 2) then ``blocks`` times a 3x3
    depthwise convolution and a 1x1 pointwise convolution (each with batch
    normalization and ReLU), global average pooling, dropout and a dense
    softmax. The defaults are the paper's DS-CNN-S (about 24k parameters).

    Parameters
    ----------
    n_classes, input_shape, dropout, learning_rate, seed
        As in :func:`build_tiny_conv`.
    filters : int
        Channels of every convolution.
    blocks : int
        Number of depthwise-separable blocks.

    Examples
    --------
    >>> model = build_ds_cnn(4, filters=32, blocks=2)    # doctest: +SKIP
    """
    n_classes, shape = _check_model_args(n_classes, input_shape, dropout)
    for label, value in (("filters", filters), ("blocks", blocks)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{label} must be a whole number >= 1; got {value!r}.")
    keras = _keras(seed)
    layers = keras.layers
    inputs = keras.Input(shape, name="features")
    x = layers.Conv2D(int(filters), (10, 4), strides=(2, 2), padding="same", use_bias=False,
                      name="conv")(inputs)
    x = layers.BatchNormalization(momentum=0.9, name="conv_bn")(x)
    x = layers.ReLU(name="conv_relu")(x)
    for i in range(int(blocks)):
        x = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False, name=f"dw{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = layers.Conv2D(int(filters), (1, 1), use_bias=False, name=f"pw{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"pw{i}_bn")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    return _compile(keras.Model(inputs, outputs, name="ds_cnn"), keras, learning_rate)


def build_model(name: str, n_classes: int, input_shape=INPUT_SHAPE, seed: int | None = None,
                **kwargs):
    """:func:`build_tiny_conv` or :func:`build_ds_cnn` by name (see :data:`MODEL_NAMES`)."""
    builders = {"tiny_conv": build_tiny_conv, "ds_cnn": build_ds_cnn}
    if name not in builders:
        raise ValueError(f"model={name!r} is not one of {', '.join(map(repr, MODEL_NAMES))}.")
    return builders[name](n_classes, input_shape=input_shape, seed=seed, **kwargs)


# --------------------------------------------------------------------------- data split

def split_by_speaker(speakers, test_fraction: float = 0.2, seed: int = 0):
    """Indices of a train / test split in which no speaker is on both sides.

    Whole speakers go to the test side, in random order, until it holds at
    least ``test_fraction`` of the clips; at least one speaker stays on each
    side.

    Returns
    -------
    train_index, test_index : ndarray of int

    Examples
    --------
    >>> train_i, test_i = split_by_speaker(["a", "a", "b", "b", "c"], 0.4, seed=0)
    >>> sorted(train_i.tolist() + test_i.tolist())
    [0, 1, 2, 3, 4]
    """
    speakers = np.asarray(speakers).astype(str)
    if speakers.ndim != 1 or speakers.size == 0:
        raise ValueError(f"speakers must be a non-empty 1-D list (one id per clip); got shape "
                         f"{speakers.shape}.")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1; got {test_fraction!r}.")
    unique = np.unique(speakers)
    if unique.size < 2:
        raise ValueError("all clips come from one speaker, so no speaker is left to test on: "
                         "a keyword spotter must be tested on voices it never heard.")
    order = np.random.default_rng(seed).permutation(unique)
    test_speakers: list[str] = []
    count = 0
    for speaker in order[:-1]:
        if count >= test_fraction * speakers.size:
            break
        test_speakers.append(speaker)
        count += int(np.sum(speakers == speaker))
    is_test = np.isin(speakers, test_speakers)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


# --------------------------------------------------------------------------- training

@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : keras.Model
        The trained float32 model.
    classes : list of str
        Class names in label order.
    history : dict of str -> list of float
        Per epoch: ``loss``, ``accuracy`` (training, with dropout and
        augmentation) and ``val_loss``, ``val_accuracy`` (held-out speakers).
    x_train, y_train, x_test, y_test : ndarray
        Features (clean, not augmented) and labels; the test clips come from
        speakers never used in training.
    test_accuracy : float
        Accuracy of ``model`` on ``(x_test, y_test)``.
    train_seconds : float
        Wall time of the training itself (not data loading or features).
    model_name, source : str
        The architecture and the data source used (``"offline"``, ...).
    test_speakers : list of str
    """

    model: Any
    classes: list
    history: dict
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_accuracy: float
    train_seconds: float
    model_name: str
    source: str
    test_speakers: list = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.model_name} on {len(self.y_train)} training clips ({self.source}): "
                f"{100 * self.test_accuracy:.1f}% test accuracy on {len(self.y_test)} clips from "
                f"{len(self.test_speakers)} held-out speakers; {self.model.count_params():,} "
                f"parameters; trained in {self.train_seconds:.1f} s.")


def _check_data(data):
    try:
        waves, labels, speakers = data
    except (TypeError, ValueError):
        raise ValueError("data must be a tuple (waves, labels, speakers), one label and one "
                         "speaker id per clip.") from None
    labels = np.asarray(labels)
    speakers = np.asarray(speakers)
    if not len(labels) == len(speakers) == len(waves):
        raise ValueError(f"data has {len(waves)} clips, {len(labels)} labels and {len(speakers)} "
                         f"speaker ids: they must match.")
    return waves, labels, speakers


def train(words: Sequence[str] = ("yes", "no"), n_per_word: int | None = None,
          model: str = "tiny_conv", epochs: int | None = None, seed: int = 0,
          source: str = "auto", data=None, test_fraction: float = 0.2, batch_size: int = 32,
          learning_rate: float | None = None, copies: int | None = None, verbose: int = 0,
          **model_kwargs) -> TrainResult:
    """Train a keyword spotter end to end and test it on unseen speakers.

    Loads the keyword clips (with silence and unknown words) with
    :func:`tinyml_lib.datasets.load_keywords`, splits them by speaker
    (:func:`split_by_speaker`), computes micro features, and trains the model.
    The training set also holds ``copies`` time-shifted copies of every
    training clip (up to 100 ms earlier or later, :func:`augment`), as
    ``micro_speech`` was trained; the offline clips already carry background
    noise, so no more is added.

    Parameters
    ----------
    words : sequence of str
        The keywords; classes are ``["silence", "unknown", *words]``.
    n_per_word : int, optional
        Clips per class; default ``config.pick(fast=100, full=400)``.
    model : {"tiny_conv", "ds_cnn"}
        The architecture (see :func:`build_model`).
    epochs : int, optional
        Passes over the training set (with its shifted copies); default
        ``config.pick(fast=10, full=30)``.
    seed : int
        Seeds the data, the split, the augmentation and the weights.
    source : str
        Passed to ``load_keywords`` (``"auto"``, ``"offline"``, ...).
    data : tuple (waves, labels, speakers), optional
        Your own clips instead of ``load_keywords``: 16 kHz mono clips of equal
        length, their class names, and a speaker id per clip.
    test_fraction : float
        Share of the clips (whole speakers) held out for testing.
    batch_size : int
    learning_rate : float, optional
        Adam's learning rate; default 0.001 for tiny_conv and 0.002 for ds_cnn.
    copies : int, optional
        Shifted copies of each training clip (0: none); default
        ``config.pick(fast=3, full=4)``.
    verbose : int
        Keras' verbosity (0 silent).
    **model_kwargs
        Passed to the model builder (e.g. ``filters=32`` for ds_cnn).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> result = train(("yes", "no"), model="tiny_conv")       # doctest: +SKIP
    >>> result.test_accuracy > 0.5                              # doctest: +SKIP
    True
    """
    classes = label_names(words)
    if model not in MODEL_NAMES:
        raise ValueError(f"model={model!r} is not one of {', '.join(map(repr, MODEL_NAMES))}.")
    n_per_word = config.pick(fast=100, full=400) if n_per_word is None else n_per_word
    epochs = config.pick(fast=10, full=30) if epochs is None else epochs
    copies = config.pick(fast=3, full=4) if copies is None else copies
    for label, value, low in (("n_per_word", n_per_word, 1), ("epochs", epochs, 1),
                              ("batch_size", batch_size, 1), ("copies", copies, 0)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{label} must be a whole number >= {low}; got {value!r}.")
    if learning_rate is None:
        learning_rate = {"tiny_conv": 0.001, "ds_cnn": 0.002}[model]

    if data is None:
        from .datasets import load_keywords

        waves, labels, info = load_keywords(list(words), int(n_per_word), source=source,
                                            seed=seed, silence=True, unknown=True)
        speakers = np.asarray(info.details["speakers"])
        used_source = info.source
    else:
        waves, labels, speakers = _check_data(data)
        used_source = "your data"
    waves = audio.as_batch(waves)
    y_all = encode_labels(labels, classes)
    train_i, test_i = split_by_speaker(speakers, test_fraction, seed)

    x_all = audio.micro_features_batch(waves)[..., None]
    x_train, y_train = x_all[train_i], y_all[train_i]
    x_test, y_test = x_all[test_i], y_all[test_i]

    net = build_model(model, len(classes), input_shape=x_all.shape[1:], seed=seed,
                      learning_rate=learning_rate, **model_kwargs)
    history: dict[str, list[float]] = {}
    start = time.perf_counter()
    x_fit, y_fit = x_train, y_train
    if copies:
        shifted = [augment(waves[train_i], seed=seed * 1000 + k, noise_rms=0.0)
                   for k in range(1, int(copies) + 1)]
        x_fit = np.concatenate([x_train] + [audio.micro_features_batch(c)[..., None]
                                            for c in shifted])
        y_fit = np.tile(y_train, int(copies) + 1)
    fit = net.fit(x_fit, y_fit, batch_size=int(batch_size), epochs=int(epochs),
                  validation_data=(x_test, y_test), shuffle=True, verbose=verbose)
    history = {key: [float(v) for v in values] for key, values in fit.history.items()}
    seconds = time.perf_counter() - start

    return TrainResult(model=net, classes=classes, history=history, x_train=x_train,
                       y_train=y_train, x_test=x_test, y_test=y_test,
                       test_accuracy=evaluate(net, x_test, y_test), train_seconds=seconds,
                       model_name=model, source=used_source,
                       test_speakers=sorted(set(np.asarray(speakers)[test_i].astype(str))))


# --------------------------------------------------------------------------- using a model

def _check_features(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"x must be a batch of features (n, frames, channels[, 1]); got shape "
                         f"{np.shape(x)}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values.")
    return x


def probabilities(model, x, batch_size: int = 256) -> np.ndarray:
    """Class probabilities, shape (N, classes), for a batch of features."""
    x = _check_features(x)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def predict(model, x, batch_size: int = 256) -> np.ndarray:
    """Class numbers (argmax of the probabilities) for a batch of features."""
    return np.argmax(probabilities(model, x, batch_size=batch_size), axis=1)


def evaluate(model, x, y) -> float:
    """Accuracy of ``model`` on features ``x`` and class numbers ``y`` (0 to 1)."""
    x = _check_features(x)
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must hold one class number per example ({len(x)}); got shape {y.shape}.")
    return float(np.mean(predict(model, x) == y))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts: row = true class, column = predicted class.

    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and the same length; got shapes "
                         f"{y_true.shape} and {y_pred.shape}.")
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.size and (values.dtype.kind not in "iu" or values.min() < 0):
            raise ValueError(f"{name} must hold class numbers 0, 1, 2, ...; got {values[:5]}.")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    elif max(y_true.max(initial=-1), y_pred.max(initial=-1)) >= n_classes:
        raise ValueError(f"a class number is >= n_classes={n_classes}.")
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _clip_features(waveform, frames: int) -> np.ndarray:
    """Micro features of exactly ``frames`` frames: pad short clips, pick the loudest second."""
    x = audio.as_waveform(waveform)
    window = audio.SAMPLE_RATE * audio.WINDOW_MS // 1000
    stride = audio.SAMPLE_RATE * audio.STRIDE_MS // 1000
    needed = window + (frames - 1) * stride
    if x.size < needed:
        target = max(needed, audio.SAMPLE_RATE if frames == INPUT_SHAPE[0] else needed)
        left = (target - x.size) // 2
        x = np.pad(x, (left, target - x.size - left))
    features = audio.micro_features(x)
    if len(features) > frames:
        energy = np.convolve(features.sum(axis=1), np.ones(frames), mode="valid")
        start = int(np.argmax(energy))
        features = features[start:start + frames]
    return features


def predict_clip(model, waveform, classes: Sequence[str] | None = None,
                 sample_rate: int = audio.SAMPLE_RATE):
    """What the model hears in one clip: ``(label, probabilities)``.

    Short clips are padded with silence to one second; in longer clips the
    loudest second (by feature energy) is used.

    Parameters
    ----------
    model : keras.Model
        A model taking (frames, 40, 1) micro features.
    waveform : array-like, 1-D
        Mono 16 kHz audio, float in [-1, 1] or int16.
    classes : sequence of str, optional
        Class names; without them the label is the class number.

    Returns
    -------
    label : str or int
    probabilities : ndarray of float32, shape (n_classes,)

    Examples
    --------
    >>> label, probs = predict_clip(result.model, clip, result.classes)   # doctest: +SKIP
    """
    audio._require_16k(sample_rate)
    frames = int(model.input_shape[1])
    features = _clip_features(waveform, frames)
    probs = np.asarray(model.predict(features[None, ..., None], verbose=0)[0], dtype=np.float32)
    index = int(np.argmax(probs))
    if classes is None:
        return index, probs
    if len(classes) != probs.size:
        raise ValueError(f"classes has {len(classes)} names but the model has {probs.size} outputs.")
    return classes[index], probs


# --------------------------------------------------------------------------- pictures

def plot_history(history, ax=None, metric: str = "accuracy"):
    """Training and held-out ``metric`` per epoch. Returns the Axes.

    ``history`` is a dict of lists (``TrainResult.history``) or a Keras
    ``History``.
    """
    history = getattr(history, "history", history)
    if not isinstance(history, dict) or metric not in history:
        raise ValueError(f"history has no {metric!r} values; it has "
                         f"{sorted(history) if isinstance(history, dict) else type(history).__name__}.")
    if ax is None:
        _, ax = plots.figure()
    epochs = np.arange(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], marker="o", markersize=3, label="training")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], marker="o", markersize=3,
                label="held-out speakers")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if metric == "accuracy":
        ax.set_ylim(0, 1.02)
    ax.legend()
    return ax


def plot_confusion(matrix, classes: Sequence[str], ax=None, normalize: bool = False):
    """A confusion matrix as a labelled heat map. Returns the Axes.

    With ``normalize`` each row shows fractions of its true class.
    """
    matrix = np.asarray(matrix)
    n = len(classes)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix must be {n} x {n} for {n} classes; got shape {matrix.shape}.")
    values = matrix.astype(float)
    if normalize:
        values = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plots.figure(figsize=(4 + 0.3 * n, 3.5 + 0.3 * n))
    ax.imshow(values, cmap="Blues", vmin=0)
    peak = values.max() if values.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if values[i, j] > 0.6 * peak else "black")
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return ax


def describe_confusion(matrix, classes: Sequence[str]) -> str:
    """One or two sentences of alt text for :func:`plot_confusion`."""
    matrix = np.asarray(matrix)
    if matrix.shape != (len(classes), len(classes)):
        raise ValueError(f"matrix must be {len(classes)} x {len(classes)}; got {matrix.shape}.")
    total = int(matrix.sum())
    correct = int(np.trace(matrix))
    text = (f"A confusion matrix of {len(classes)} classes ({', '.join(classes)}): "
            f"{correct} of {total} clips are on the diagonal (correct).")
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    if off.sum():
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        text += (f" The most common mistake is {classes[i]!r} heard as {classes[j]!r} "
                 f"({int(off[i, j])} clips).")
    return text


# --------------------------------------------------------------------------- a pretrained model

#: espeak-ng voice variants the shipped pretrained model never heard (in any
#: accent): synthesize test clips with them to try the model on "new people".
PRETRAINED_HELD_OUT_VARIANTS = ("f2", "m3", "klatt4", "Annie", "grandpa", "travis")
#: Keyword sets for which a pretrained model ships with the package.
PRETRAINED_WORDS = (("yes", "no"),)
#: How the shipped model was made (the defaults of :func:`train_pretrained`).
PRETRAINED_SETTINGS = {"n_per_word": 600, "epochs": 30, "copies": 4, "seed": 0}


def _pretrained_file(words) -> "Path":
    from pathlib import Path

    return Path(__file__).with_name("data") / f"kws_{'_'.join(words)}.npz"


def training_voices(held_out: Sequence[str] = PRETRAINED_HELD_OUT_VARIANTS) -> list[str]:
    """The offline voices (``"<accent>+<variant>"``) left after holding out some variants.

    Every English accent of the offline source with every human voice variant
    except those in ``held_out``.

    Examples
    --------
    >>> voices = training_voices()                         # doctest: +SKIP
    >>> len(voices), "en-us+f2" in voices                  # doctest: +SKIP
    (528, False)
    """
    from .datasets.keywords import ENGLISH_ACCENTS, HUMAN_VARIANTS

    if isinstance(held_out, str):
        raise ValueError(f"held_out must be a list of voice variants, e.g. ['f2', 'm3']; got the "
                         f"single string {held_out!r}.")
    held_out = list(held_out)
    unknown = sorted(set(held_out) - set(HUMAN_VARIANTS))
    if unknown:
        raise ValueError(f"held_out names variants that are not voice variants of the offline "
                         f"source: {unknown}; choose from datasets.keywords.HUMAN_VARIANTS.")
    keep = [v for v in HUMAN_VARIANTS if v not in held_out]
    if not keep:
        raise ValueError("held_out leaves no voice to train on.")
    return [f"{accent}+{variant}" for accent in ENGLISH_ACCENTS for variant in keep]


def held_out_voices(held_out: Sequence[str] = PRETRAINED_HELD_OUT_VARIANTS) -> list[str]:
    """The voices :func:`training_voices` leaves out: every English accent x each held-out variant.

    >>> held_out_voices(["f2"])[:2]
    ['en-us+f2', 'en+f2']
    """
    from .datasets.keywords import ENGLISH_ACCENTS, HUMAN_VARIANTS

    if isinstance(held_out, str) or not list(held_out):
        raise ValueError(f"held_out must be a non-empty list of voice variants, e.g. ['f2']; "
                         f"got {held_out!r}.")
    unknown = sorted(set(held_out) - set(HUMAN_VARIANTS))
    if unknown:
        raise ValueError(f"held_out names variants that are not voice variants of the offline "
                         f"source: {unknown}; choose from datasets.keywords.HUMAN_VARIANTS.")
    return [f"{accent}+{variant}" for variant in held_out for accent in ENGLISH_ACCENTS]


def train_pretrained(path=None, words: Sequence[str] = ("yes", "no"),
                     n_per_word: int = PRETRAINED_SETTINGS["n_per_word"],
                     epochs: int = PRETRAINED_SETTINGS["epochs"],
                     copies: int = PRETRAINED_SETTINGS["copies"],
                     seed: int = PRETRAINED_SETTINGS["seed"],
                     held_out: Sequence[str] = PRETRAINED_HELD_OUT_VARIANTS,
                     verbose: int = 0) -> TrainResult:
    """Train the model :func:`pretrained` loads, and save its weights.

    This is exactly how the model shipped in ``tinyml_lib/data/`` was made:
    :func:`train` (``tiny_conv``, split by speaker) on this package's own
    synthesized speech (:func:`tinyml_lib.datasets.load_keywords`, offline
    source), spoken only by :func:`training_voices` so that every accent of
    the voice variants in ``held_out`` stays unheard. No recording of a real
    person is involved. Run it again with the defaults to reproduce the file
    (up to TensorFlow's floating-point nondeterminism on other machines).

    Parameters
    ----------
    path : str or Path, optional
        Where to write the ``.npz`` (weights and a JSON description); default:
        nothing is written.
    words : sequence of str
        The keywords; classes are :func:`label_names` ``(words)``.
    n_per_word, epochs, copies, seed
        As in :func:`train`; the defaults are :data:`PRETRAINED_SETTINGS`.
    held_out : sequence of str
        Voice variants never used in training (:data:`PRETRAINED_HELD_OUT_VARIANTS`).

    Returns
    -------
    TrainResult
        The trained model and its test accuracy on held-out training-set speakers.

    Examples
    --------
    >>> result = train_pretrained("kws_yes_no.npz")                  # doctest: +SKIP
    >>> model = pretrained(path="kws_yes_no.npz")                    # doctest: +SKIP
    """
    import json
    from pathlib import Path

    from .datasets import load_keywords

    classes = label_names(words)
    voices = training_voices(held_out)
    waves, labels, info = load_keywords(list(words), int(n_per_word), source="offline", seed=seed,
                                        silence=True, unknown=True, voices=voices)
    speakers = np.asarray(info.details["speakers"])
    result = train(words, model="tiny_conv", epochs=epochs, seed=seed, copies=copies,
                   data=(waves, labels, speakers), verbose=verbose)
    result.source = "offline (synthesized speech)"
    if path is not None:
        description = {
            "words": list(words), "classes": classes, "model": "tiny_conv",
            "trained_by": "tinyml_lib.kws.train_pretrained",
            "data": "offline synthesized speech (espeak-ng), tinyml_lib.datasets.load_keywords",
            "n_per_word": int(n_per_word), "epochs": int(epochs), "copies": int(copies),
            "seed": int(seed), "held_out_variants": list(held_out),
            "test_accuracy": round(float(result.test_accuracy), 4),
            "n_test_clips": int(len(result.y_test)),
        }
        weights = {f"w{i}": w for i, w in enumerate(result.model.get_weights())}
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(target, description=np.array(json.dumps(description)), **weights)
    return result


def pretrained_info(words: Sequence[str] = ("yes", "no"), path=None) -> dict:
    """How the pretrained model was made: words, classes, settings, held-out voices, test accuracy.

    >>> pretrained_info()["trained_by"]                    # doctest: +SKIP
    'tinyml_lib.kws.train_pretrained'
    """
    import json

    with np.load(_pretrained_path(words, path)) as stored:
        return json.loads(str(stored["description"]))


def _pretrained_path(words, path):
    from pathlib import Path

    if path is not None:
        target = Path(path)
        if not target.is_file():
            raise FileNotFoundError(f"no pretrained model at {str(target)!r}; make one with "
                                    f"kws.train_pretrained({str(target)!r}).")
        return target
    words = tuple(label_names(words)[len(LABELS_PREFIX):])
    if words not in PRETRAINED_WORDS:
        raise ValueError(f"no pretrained model ships for the words {list(words)}; available: "
                         f"{[list(w) for w in PRETRAINED_WORDS]}. Train your own with "
                         f"kws.train(words=...).")
    target = _pretrained_file(words)
    if not target.is_file():  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"the pretrained model file {target} is missing from the "
                                f"installation; reinstall tinyml_lib or run "
                                f"kws.train_pretrained({str(target)!r}).")
    return target


def pretrained(words: Sequence[str] = ("yes", "no"), path=None):
    """A small keyword spotter ready to use: ``tiny_conv`` trained by this package.

    The shipped model was trained by :func:`train_pretrained` (with its
    defaults) on the package's own *synthetic* speech, never on recordings of
    real people, and without the voice variants
    :data:`PRETRAINED_HELD_OUT_VARIANTS`, so you can test it on voices it never
    heard (:func:`held_out_voices`). Its classes are :func:`label_names`
    ``(words)``: ``["silence", "unknown", "yes", "no"]``. How it was made and
    its test accuracy: :func:`pretrained_info`.

    Parameters
    ----------
    words : sequence of str
        The keywords; only ``("yes", "no")`` ships (see :data:`PRETRAINED_WORDS`).
    path : str or Path, optional
        Load a model saved by :func:`train_pretrained` instead of the shipped one.

    Returns
    -------
    keras.Model
        Float32, input (49, 40, 1) micro features, output class probabilities.

    Examples
    --------
    >>> model = pretrained()                                         # doctest: +SKIP
    >>> predict_clip(model, clip, label_names(["yes", "no"]))        # doctest: +SKIP
    ('yes', array([0.01, 0.02, 0.95, 0.02], dtype=float32))
    """
    target = _pretrained_path(words, path)
    info = pretrained_info(path=target)
    with np.load(target) as stored:
        weights = [stored[f"w{i}"] for i in range(sum(k.startswith("w") for k in stored.files))]
    model = build_tiny_conv(len(info["classes"]))
    try:
        model.set_weights(weights)
    except ValueError as error:
        raise ValueError(f"{target} does not hold tiny_conv weights for {info['classes']}: "
                         f"{error}") from None
    return model
