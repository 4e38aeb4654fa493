"""Transfer learning for visual wake words: a small pretrained backbone and a new head.

A network that has already learned to see (edges, textures, shapes) needs far
fewer labelled examples to learn a new visual task. This module gives the
course such a network, small enough for a microcontroller:

:func:`load_backbone`
    ``"offline"``: a compact MobileNet-style CNN (depthwise-separable blocks,
    96x96 grayscale input, about 35,000 weights, ~60 KB as int8) **pretrained by
    this package on synthetic scenes, not on ImageNet**: rooms drawn by the
    offline scene renderer, each with one kind of furniture or object, labelled
    with that kind (:data:`PRETRAIN_CLASSES`, 11 classes). It has never seen a
    person. Its weights ship with the package (``tinyml_lib/data/``), made by
    :func:`pretrain_backbone`. ``"mobilenet"``: Keras' MobileNetV2 (alpha 0.35)
    with ImageNet weights, downloaded (online only), wrapped to take the same
    grayscale input.
:func:`build_classifier`
    The backbone (frozen), global average pooling and a new dense head.
:func:`unfreeze`
    Fine-tuning: make the last blocks of the backbone trainable again.
:func:`build_backbone`, :func:`load_objects`, :func:`pretrain_backbone`
    The untrained architecture, its pretraining data, and the reproducible
    function that produced the shipped weights.

Examples
--------
>>> from tinyml_lib import transfer
>>> backbone = transfer.load_backbone("offline")            # doctest: +SKIP
>>> model = transfer.build_classifier(backbone, n_classes=2)  # doctest: +SKIP
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
...               metrics=["accuracy"])                      # doctest: +SKIP
>>> model.fit(x_few, y_few, epochs=10)                        # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from . import config

__all__ = ["PRETRAIN_CLASSES", "SOURCES", "BACKBONE_PATH", "INPUT_SHAPE", "load_objects",
           "build_backbone", "pretrain_backbone", "save_backbone", "load_backbone",
           "backbone_info", "build_classifier", "unfreeze", "trainable_summary"]

#: The pretraining task: which kind of object is in the room (never a person).
PRETRAIN_CLASSES = ("table", "shelf", "door", "window", "plant", "lamp", "pole", "frame",
                    "ball", "chair", "coat_rack")
SOURCES = ("auto", "offline", "mobilenet")
INPUT_SHAPE = (96, 96, 1)
#: The shipped weights of the offline backbone, written by :func:`pretrain_backbone`.
BACKBONE_PATH = Path(__file__).parent / "data" / "vww_backbone.npz"
#: What ``source="mobilenet"`` loads (``keras.applications.MobileNetV2(weights=...)``).
MOBILENET_WEIGHTS = "imagenet"
MOBILENET_ALPHA = 0.35
#: (channels as a multiple of ``width``, stride) of each depthwise-separable block.
BLOCKS = ((2, 1), (4, 2), (4, 1), (8, 2), (8, 1), (16, 2), (16, 1))
_BLOCK = re.compile(r"^block_?(\d+)_")


def _keras():
    import keras

    return keras


# --------------------------------------------------------------------------- pretraining data

class _OneKind:
    """A NumPy Generator that makes the scene renderer draw only objects of ``kind``.

    The renderer picks each object's kind with ``rng.choice(list_of_kinds)``;
    this proxy answers that one question and passes every other call through.
    """

    def __init__(self, rng, kind: str):
        self._rng = rng
        self._kind = kind
        self.forced = 0

    def choice(self, a, *args, **kwargs):
        if isinstance(a, list) and a and all(isinstance(v, str) for v in a):
            if self._kind not in a:
                raise ValueError(f"the scene renderer has no object kind {self._kind!r}; "
                                 f"it draws {', '.join(a)}.")
            self.forced += 1
            return self._kind
        return self._rng.choice(a, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._rng, name)


def _check_split(split) -> int:
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is not one of 'train', 'test'.")
    return ("train", "test").index(split)


def load_objects(n_per_class: int, seed: int = 0, size: int = 96, split: str = "train"):
    """The pretraining data: rooms with one kind of object, labelled with that kind.

    Scenes come from the same renderer as the offline person / no-person data
    (wall, floor, texture, lighting, blur, sensor noise) but **never contain a
    person**: every object in a scene (1 to 5 of them) is of one kind from
    :data:`PRETRAIN_CLASSES`, and that kind is the label.

    Parameters
    ----------
    n_per_class : int
        Scenes per kind (11 kinds).
    seed : int
        The same seed gives the same scenes.
    size : int
        Height and width in pixels.
    split : {"train", "test"}
        Two disjoint random streams.

    Returns
    -------
    x : ndarray, float32, shape (11 * n_per_class, size, size, 1), values in [0, 1]
    y : ndarray, int64, labels indexing :data:`PRETRAIN_CLASSES`
    classes : list of str

    Examples
    --------
    >>> x, y, classes = load_objects(n_per_class=2, size=48)
    >>> x.shape, classes[:3]
    ((22, 48, 48, 1), ['table', 'shelf', 'door'])
    """
    from .datasets import _scenes
    from .datasets._core import cached_arrays, check_count, check_seed, progress

    n_per_class = check_count("n_per_class", n_per_class)
    seed = check_seed(seed)
    if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 256:
        raise ValueError(f"size must be an integer number of pixels between 32 and 256; "
                         f"got {size!r}.")
    stream = _check_split(split)
    settings = {"v": 1, "n": n_per_class, "seed": seed, "size": size, "split": split}

    def build():
        rng = np.random.default_rng([seed, stream, 11])
        labels = rng.permutation(np.repeat(np.arange(len(PRETRAIN_CLASSES)), n_per_class))
        seeds = rng.integers(0, 2**63 - 1, size=labels.size)
        x = np.empty((labels.size, size, size, 1), dtype=np.float32)
        for i in progress(range(labels.size), total=labels.size, desc="rendering objects"):
            proxy = _OneKind(np.random.default_rng(seeds[i]), PRETRAIN_CLASSES[labels[i]])
            x[i, :, :, 0], _ = _scenes.render(proxy, size, person=False)
            if not proxy.forced:
                raise RuntimeError("the scene renderer drew no object through rng.choice; "
                                   "tinyml_lib.transfer.load_objects must be updated with it.")
        return {"x": x, "y": labels.astype(np.int64)}

    arrays, _, _ = cached_arrays("objects", settings, build)
    return arrays["x"], arrays["y"], list(PRETRAIN_CLASSES)


# --------------------------------------------------------------------------- the backbone

def build_backbone(input_shape=INPUT_SHAPE, width: int = 8, name: str = "backbone"):
    """An untrained MobileNet-style backbone: feature maps, no classifier.

    A 3x3 convolution with stride 2, then the depthwise-separable blocks of
    :data:`BLOCKS` (a 3x3 depthwise convolution, each followed by batch
    normalisation and ReLU6, then a 1x1 pointwise convolution, likewise), as in
    MobileNet v1. With ``width=8`` a 96x96x1 image becomes 6x6x128 features.

    Parameters
    ----------
    input_shape : tuple of int
        (height, width, channels); height and width divisible by 16.
    width : int
        Channels of the first layer; every block scales with it.
    name : str

    Returns
    -------
    keras.Model
        Trainable; layers named ``stem_*`` and ``block{i}_*``.

    Examples
    --------
    >>> backbone = build_backbone()             # doctest: +SKIP
    >>> backbone.output_shape                   # doctest: +SKIP
    (None, 6, 6, 128)
    """
    shape = tuple(input_shape)
    if (len(shape) != 3 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in shape)
            or shape[0] % 16 or shape[1] % 16):
        raise ValueError(f"input_shape must be (height, width, channels) with height and width "
                         f"divisible by 16, e.g. (96, 96, 1); got {input_shape!r}.")
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
        raise ValueError(f"width must be an integer from 1 to 64 channels; got {width!r}.")
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for i, (multiple, stride) in enumerate(BLOCKS, start=1):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                                   name=f"block{i}_dw")(x)
        x = layers.BatchNormalization(name=f"block{i}_dw_bn")(x)
        x = layers.ReLU(6.0, name=f"block{i}_dw_relu")(x)
        x = layers.Conv2D(multiple * width, 1, use_bias=False, name=f"block{i}_pw")(x)
        x = layers.BatchNormalization(name=f"block{i}_pw_bn")(x)
        x = layers.ReLU(6.0, name=f"block{i}_pw_relu")(x)
    return keras.Model(inputs, x, name=name)


def _weights_key(variable) -> str:
    """``"block1_dw|depthwise_kernel"``: the variable's layer and name (``/`` cannot be a key)."""
    path = getattr(variable, "path", None) or variable.name
    return "|".join(path.split("/")[-2:])


def save_backbone(backbone, path, meta: dict | None = None) -> Path:
    """Write a backbone from :func:`build_backbone` (its weights and how it was made) to ``.npz``."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"the backbone file must end in .npz; got {path.name!r}.")
    arrays = {_weights_key(v): np.asarray(v.numpy(), dtype=np.float32) for v in backbone.weights}
    if len(arrays) != len(backbone.weights):
        raise ValueError("the backbone has variables with the same layer and name; give its "
                         "layers unique names.")
    meta = dict(meta or {})
    meta.setdefault("input_shape", list(backbone.input_shape[1:]))
    meta.setdefault("width", int(backbone.get_layer("stem_conv").filters))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    return path


def _read_backbone_file(path) -> tuple[dict, dict]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no backbone weights at {path}; create them with "
                                f"tinyml_lib.transfer.pretrain_backbone(path=...).")
    with np.load(path, allow_pickle=False) as data:
        if "__meta__" not in data.files:
            raise ValueError(f"{path} is not a backbone file written by save_backbone().")
        meta = json.loads(str(data["__meta__"]))
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
    return meta, arrays


def backbone_info(path=None) -> dict:
    """How the shipped offline backbone was made: task, classes, data, accuracy, seconds.

    Examples
    --------
    >>> info = backbone_info()
    >>> info["pretrained_on"].startswith("synthetic scenes")
    True
    """
    meta, _ = _read_backbone_file(path or BACKBONE_PATH)
    return meta


def _offline_backbone(path, trainable: bool):
    meta, arrays = _read_backbone_file(path)
    backbone = build_backbone(tuple(meta["input_shape"]), width=int(meta["width"]))
    expected = {_weights_key(v): tuple(v.shape) for v in backbone.weights}
    found = {k: tuple(a.shape) for k, a in arrays.items()}
    if expected != found:
        raise ValueError(f"{path} does not match the backbone architecture (width "
                         f"{meta['width']}): recreate it with pretrain_backbone(path=...).")
    for variable in backbone.weights:
        variable.assign(arrays[_weights_key(variable)])
    backbone.trainable = bool(trainable)
    return backbone


def _mobilenet_backbone(trainable: bool):
    keras = _keras()
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=MOBILENET_ALPHA,
                                          include_top=False, weights=MOBILENET_WEIGHTS)
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    rgb = keras.layers.Concatenate(name="gray_to_rgb")([inputs, inputs, inputs])
    # MobileNetV2 expects pixels in [-1, 1] (keras.applications.mobilenet_v2.preprocess_input)
    scaled = keras.layers.Rescaling(2.0, offset=-1.0, name="mobilenet_preprocess")(rgb)
    backbone = keras.Model(inputs, base(scaled), name="backbone")
    backbone.trainable = bool(trainable)
    return backbone


def load_backbone(source: str = "auto", trainable: bool = False, path=None):
    """A pretrained feature extractor for 96x96 grayscale images (values in [0, 1]).

    Parameters
    ----------
    source : {"auto", "offline", "mobilenet"}
        ``"offline"``: the compact MobileNet-style CNN shipped with this package,
        pretrained **by this package on synthetic scenes** (which kind of object
        is in a room, 11 kinds, no person ever), not on ImageNet; see
        :func:`backbone_info`. ``"mobilenet"``: Keras' MobileNetV2 (alpha 0.35,
        96x96) with ImageNet weights (downloaded, about 2 MB; online only), the
        grayscale image repeated to three channels and scaled to [-1, 1].
        ``"auto"``: ``"offline"`` in offline mode, else ``"mobilenet"``.
    trainable : bool
        False (the default) freezes every weight: the backbone only extracts
        features. Unfreeze later with :func:`unfreeze` to fine-tune.
    path : path, optional
        Another weights file for ``"offline"`` (from :func:`pretrain_backbone`).

    Returns
    -------
    keras.Model named ``"backbone"``, input (None, 96, 96, 1), output feature maps
    ((None, 6, 6, 128) offline, (None, 3, 3, 1280) for MobileNetV2).

    Examples
    --------
    >>> backbone = load_backbone("offline")     # doctest: +SKIP
    >>> backbone.output_shape                   # doctest: +SKIP
    (None, 6, 6, 128)
    """
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is not one of {', '.join(map(repr, SOURCES))}.")
    if not isinstance(trainable, bool):
        raise ValueError(f"trainable must be True or False; got {trainable!r}.")
    if source == "auto":
        source = "offline" if config.offline_mode() else "mobilenet"
    if source == "mobilenet":
        if path is not None:
            raise ValueError("path= is for the offline backbone's weights; MobileNetV2 loads "
                             "its ImageNet weights from Keras. Drop path= or use source='offline'.")
        if config.offline_mode():
            raise RuntimeError("source='mobilenet' downloads MobileNetV2's ImageNet weights, but "
                               "offline mode is on (TINYML_OFFLINE=1 or no network): use "
                               "source='offline' (the backbone shipped with tinyml_lib) or "
                               "source='auto'.")
        return _mobilenet_backbone(trainable)
    return _offline_backbone(path or BACKBONE_PATH, trainable)


def pretrain_backbone(n_per_class: int = 600, epochs: int = 25, width: int = 8, seed: int = 0,
                      batch_size: int = 64, path=None, verbose: int = 0):
    """Pretrain :func:`build_backbone` on :func:`load_objects`: which kind of object is in the room.

    This is how the shipped weights (:data:`BACKBONE_PATH`) were made::

        pretrain_backbone(n_per_class=600, epochs=25, width=8, seed=0, path=BACKBONE_PATH)

    The task never shows a person, so what the backbone brings to person
    detection is general visual features (edges, blobs, limbs of furniture,
    textures), not the answer.

    Parameters
    ----------
    n_per_class : int
        Training scenes per object kind (a tenth as many test scenes are scored).
    epochs, batch_size : int
        Adam, learning rate 2e-3 with cosine decay; random horizontal flips.
    width : int
        See :func:`build_backbone`.
    seed : int
        Seeds the data and Keras.
    path : path, optional
        Where to write the weights (``.npz``); nothing is written when None.
    verbose : int
        Passed to ``model.fit``.

    Returns
    -------
    backbone : keras.Model
        The pretrained backbone (trainable).
    meta : dict
        What it was trained on and how well it does (also stored in the file).

    Examples
    --------
    >>> backbone, meta = pretrain_backbone(n_per_class=4, epochs=1, width=2)  # doctest: +SKIP
    >>> meta["pretrain_classes"][:2]                                          # doctest: +SKIP
    ['table', 'shelf']
    """
    from .datasets._core import check_count

    n_per_class = check_count("n_per_class", n_per_class)
    epochs = check_count("epochs", epochs)
    batch_size = check_count("batch_size", batch_size)
    keras = _keras()
    start = time.perf_counter()
    x, y, classes = load_objects(n_per_class, seed=seed, split="train")
    x_test, y_test, _ = load_objects(max(1, n_per_class // 10), seed=seed, split="test")
    keras.utils.set_random_seed(seed)
    backbone = build_backbone(width=width)
    inputs = keras.Input(shape=INPUT_SHAPE)
    h = keras.layers.RandomFlip("horizontal", seed=seed)(inputs)
    h = backbone(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dropout(0.2)(h)
    outputs = keras.layers.Dense(len(classes), activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    steps = epochs * -(-len(x) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    meta = {
        "pretrained_on": ("synthetic scenes rendered by tinyml_lib (not ImageNet): which kind "
                          "of object is in a room; no person in any scene"),
        "pretrain_classes": list(classes),
        "n_train": int(len(x)), "n_test": int(len(x_test)),
        "epochs": epochs, "batch_size": batch_size, "seed": seed, "width": width,
        "train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "test_accuracy": round(float(test_accuracy), 4),
        "chance": round(1 / len(classes), 4),
        "seconds": round(time.perf_counter() - start, 1),
        "made_by": (f"tinyml_lib.transfer.pretrain_backbone(n_per_class={n_per_class}, "
                    f"epochs={epochs}, width={width}, seed={seed})"),
        "params": int(backbone.count_params()),
    }
    if path is not None:
        save_backbone(backbone, path, meta)
    return backbone, meta


# --------------------------------------------------------------------------- classifier

def build_classifier(backbone, n_classes: int = 2, dropout: float = 0.2,
                     name: str = "classifier"):
    """The backbone, then global average pooling, dropout and a new softmax layer.

    A frozen backbone (from :func:`load_backbone`) is called with
    ``training=False``, so its batch normalisation keeps the statistics learned
    in pretraining, also after :func:`unfreeze` for fine-tuning. A trainable
    backbone (from :func:`build_backbone`, to train from scratch) learns them.

    Parameters
    ----------
    backbone : keras.Model
        From :func:`load_backbone` (pretrained) or :func:`build_backbone` (from scratch).
    n_classes : int
        Output neurons (2 for person / no person).
    dropout : float
        Dropout rate before the output layer, in [0, 1).
    name : str

    Returns
    -------
    keras.Model, not compiled.

    Examples
    --------
    >>> model = build_classifier(load_backbone("offline"), n_classes=2)   # doctest: +SKIP
    >>> model.output_shape                                               # doctest: +SKIP
    (None, 2)
    """
    keras = _keras()
    if not hasattr(backbone, "output_shape") or not hasattr(backbone, "trainable"):
        raise ValueError(f"backbone must be a Keras model (from load_backbone or "
                         f"build_backbone); got {type(backbone).__name__}.")
    if len(backbone.output_shape) != 4:
        raise ValueError(f"the backbone must output feature maps (batch, height, width, "
                         f"channels); its output shape is {backbone.output_shape}.")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2; got {n_classes!r}.")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
    inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
    # a pretrained (frozen) backbone keeps its batch-norm statistics, even when unfrozen later
    # for fine-tuning; a backbone trained from scratch learns them
    x = backbone(inputs, training=False if not backbone.trainable else None)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def _leaves(layer):
    sub = getattr(layer, "layers", None)
    if not sub:
        return [layer]
    return [leaf for child in sub for leaf in _leaves(child)]


def _find_backbone(model):
    if model.name == "backbone":
        return model
    for layer in getattr(model, "layers", []):
        if layer.name == "backbone":
            return layer
    raise ValueError("no layer named 'backbone' in this model: pass a model from "
                     "build_classifier() or the backbone itself.")


def unfreeze(model, n_blocks: int = 2) -> list[str]:
    """Fine-tuning: make the last ``n_blocks`` blocks of the backbone trainable.

    Everything before them stays frozen, and so do all batch-normalisation
    layers (their statistics came from far more data than a few-shot training
    set). Compile the model again afterwards, with a small learning rate.

    Parameters
    ----------
    model : keras.Model
        A classifier from :func:`build_classifier`, or a backbone.
    n_blocks : int
        How many blocks, counted from the end (0 freezes the whole backbone).

    Returns
    -------
    list of str
        The names of the layers that now learn.

    Examples
    --------
    >>> unfreeze(model, n_blocks=2)                              # doctest: +SKIP
    ['block6_dw', 'block6_pw', 'block7_dw', 'block7_pw']
    """
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 0:
        raise ValueError(f"n_blocks must be a non-negative integer; got {n_blocks!r}.")
    backbone = _find_backbone(model)
    leaves = _leaves(backbone)
    blocks = sorted({int(m.group(1)) for leaf in leaves if (m := _BLOCK.match(leaf.name))})
    if n_blocks > len(blocks):
        raise ValueError(f"the backbone has {len(blocks)} blocks; n_blocks={n_blocks} is too many.")
    keras = _keras()
    backbone.trainable = n_blocks > 0
    first = None
    if n_blocks:
        first_block = blocks[-n_blocks]
        first = next(i for i, leaf in enumerate(leaves)
                     if (m := _BLOCK.match(leaf.name)) and int(m.group(1)) == first_block)
    learning = []
    for i, leaf in enumerate(leaves):
        learns = (first is not None and i >= first
                  and not isinstance(leaf, keras.layers.BatchNormalization))
        leaf.trainable = learns
        if learns and leaf.weights:
            learning.append(leaf.name)
    return learning


def trainable_summary(model) -> dict:
    """Weights that learn and weights that are frozen: ``{"trainable": n, "frozen": n}``.

    Examples
    --------
    >>> trainable_summary(build_classifier(load_backbone("offline")))   # doctest: +SKIP
    {'trainable': 258, 'frozen': 37248}
    """
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    frozen = int(sum(int(np.prod(w.shape)) for w in model.non_trainable_weights))
    return {"trainable": trainable, "frozen": frozen}
