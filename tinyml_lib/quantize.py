"""From a Keras model to a ``.tflite`` model a microcontroller can run.

- :func:`convert` turns a Keras model into TensorFlow Lite flatbuffer bytes:
  ``"float32"``, ``"float16"`` (half-size weights), ``"dynamic"`` (int8
  weights, float math) or ``"int8"`` (full integer: int8 weights,
  activations, input and output; what TensorFlow Lite Micro runs fastest).
- :func:`train_qat` is quantization-aware training written for Keras 3: it
  fine-tunes a copy of the model while simulating int8 rounding (fake
  quantization of weights and activations, straight-through gradients), so
  the int8 model loses less accuracy than post-training quantization alone.
- :func:`compare` measures several versions of a model side by side: size,
  accuracy, and agreement with the float model; :func:`plot_compare` draws it.

TensorFlow loads on the first call, never on import.

Examples
--------
>>> from tinyml_lib import quantize
>>> tflite = quantize.convert(model, "int8", representative_data=x_train)  # doctest: +SKIP
>>> len(tflite)                                                            # doctest: +SKIP
18712
>>> table = quantize.compare({"float": model, "int8": tflite}, x_test, y_test)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _quiet, _tflite_graph, plots

__all__ = ["MODES", "convert", "quantization_aware", "train_qat", "compare", "plot_compare",
           "make_fragile", "Int8Weights", "int8_weights"]

#: The conversion modes of :func:`convert`.
MODES = ("float32", "float16", "dynamic", "int8")

#: At most this many examples calibrate the int8 ranges (more adds time, not accuracy).
MAX_CALIBRATION_SAMPLES = 500


# --------------------------------------------------------------------------- helpers

def _tf():
    import tensorflow as tf

    return tf


def _keras():
    import keras

    return keras


def _check_keras_model(model, what: str = "model"):
    if isinstance(model, (bytes, bytearray, memoryview, str, os.PathLike)):
        raise TypeError(f"{what} is already a .tflite model (bytes or a path); convert() takes "
                        f"the Keras model it came from. Run a .tflite model with "
                        f"tinyml_lib.mcu.run_tflite.")
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"{what} must be a Keras model (keras.Model, e.g. keras.Sequential); "
                        f"got {type(model).__name__}.")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(f"{what} has no defined input yet: start it with keras.Input(shape=...) "
                         f"or call it on data once, so its input shape is known.")
    if len(inputs) != 1:
        raise ValueError(f"{what} has {len(inputs)} inputs; convert() handles models with one "
                         f"input.")
    shape = tuple(inputs[0].shape)[1:]
    if any(d is None for d in shape):
        raise ValueError(f"{what} takes inputs of shape {shape} with unknown sizes; a "
                         f"microcontroller model needs a fixed input shape, e.g. keras.Input("
                         f"shape=(49, 40, 1)).")
    return model, tuple(int(d) for d in shape)


def _check_representative(data, shape: tuple[int, ...]) -> np.ndarray:
    try:
        array = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError("representative_data must be an array of example inputs, shape "
                        f"(n, {', '.join(map(str, shape))}).") from error
    if array.ndim == len(shape) and array.shape == shape:
        array = array[None]
    if array.ndim != len(shape) + 1 or tuple(array.shape[1:]) != shape:
        raise ValueError(f"representative_data has shape {array.shape} but the model takes "
                         f"examples of shape {shape}: pass (n, {', '.join(map(str, shape))}) "
                         f"typical inputs, e.g. part of the training set.")
    if array.shape[0] == 0:
        raise ValueError("representative_data is empty: pass some typical inputs (100-500 "
                         "training examples are plenty).")
    if not np.all(np.isfinite(array)):
        raise ValueError("representative_data contains NaN or infinite values.")
    if array.shape[0] > MAX_CALIBRATION_SAMPLES:
        index = np.linspace(0, array.shape[0] - 1, MAX_CALIBRATION_SAMPLES).astype(int)
        array = array[index]
    return array


# --------------------------------------------------------------------------- convert

def convert(model, mode: str = "float32", representative_data=None) -> bytes:
    """Convert a Keras model to a TensorFlow Lite model (flatbuffer bytes).

    Parameters
    ----------
    model : keras.Model
        A model with one input of fixed shape. The ``.tflite`` model takes one
        example at a time (batch size 1), as a microcontroller does.
    mode : {"float32", "float16", "dynamic", "int8"}
        ``"float32"``: no quantization. ``"float16"``: weights stored as
        float16 (half the size; computed in float). ``"dynamic"``: weights of
        large layers stored as int8, activations stay float (the converter
        leaves layers under 1,024 weights in float32). ``"int8"``: full
        integer quantization, int8 weights and activations, int8 input and
        output; needs ``representative_data``.
    representative_data : array of shape (n, *input_shape), optional
        Typical inputs (e.g. part of the training set) from which the int8
        converter measures the range of every activation. At most
        :data:`MAX_CALIBRATION_SAMPLES` evenly spaced examples are used.

    Returns
    -------
    bytes
        The ``.tflite`` flatbuffer. Run it with :func:`tinyml_lib.mcu.run_tflite`.

    Examples
    --------
    >>> tflite = convert(model, "int8", representative_data=x_train[:300])  # doctest: +SKIP
    >>> open("model.tflite", "wb").write(tflite)                             # doctest: +SKIP
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(map(repr, MODES))}.")
    model, shape = _check_keras_model(model)
    if mode == "int8":
        if representative_data is None:
            raise ValueError("mode='int8' needs representative_data: an array of typical inputs "
                             "(e.g. 100-500 training examples) to measure activation ranges.")
        calibration = _check_representative(representative_data, shape)
    elif representative_data is not None:
        raise ValueError(f"representative_data is only used by mode='int8'; mode={mode!r} "
                         f"does not calibrate. Drop the argument or use mode='int8'.")
    tf = _tf()
    with tempfile.TemporaryDirectory(prefix="tinyml_export_") as folder:
        export_dir = str(Path(folder) / "saved_model")
        dtype = model.inputs[0].dtype
        dtype = getattr(dtype, "name", dtype) or "float32"
        logger = tf.get_logger()           # silence "INFO:tensorflow:Assets written to ..."
        level = logger.level
        logger.setLevel("ERROR")
        try:
            model.export(export_dir, format="tf_saved_model", verbose=False,
                         input_signature=[tf.TensorSpec((1, *shape), tf.as_dtype(dtype))])
        finally:
            logger.setLevel(level)
        converter = tf.lite.TFLiteConverter.from_saved_model(export_dir)
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "int8":
            def representative_dataset():
                for example in calibration:
                    yield [example[None]]

            converter.representative_dataset = representative_dataset
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with _quiet.quiet_stderr():       # the converter's C++ "fully_quantize: 0, ..." line
            return bytes(converter.convert())


# --------------------------------------------------------------------------- QAT

_QAT_CLASSES: dict = {}


def _fake_quant_kernel(kernel, depthwise: bool):
    """Symmetric per-output-channel int8 rounding of a kernel, as the int8 converter does."""
    tf = _tf()
    shape = tf.shape(kernel)
    width = (kernel.shape[-2] * kernel.shape[-1]) if depthwise else kernel.shape[-1]
    flat = tf.reshape(kernel, (-1, width))
    bound = tf.stop_gradient(tf.maximum(tf.reduce_max(tf.abs(flat), axis=0), 1e-8))
    quantized = tf.quantization.fake_quant_with_min_max_vars_per_channel(
        flat, -bound, bound, num_bits=8, narrow_range=True)
    return tf.reshape(quantized, shape)


def _qat_classes():
    """The Keras layers of quantization-aware training (built once, on first use)."""
    if _QAT_CLASSES:
        return _QAT_CLASSES
    keras = _keras()
    tf = _tf()

    class ActivationQuantizer(keras.layers.Layer):
        """Fake int8 quantization of a tensor over a calibrated min/max range.

        The range is measured like the int8 converter measures it (min and
        max over representative inputs, always holding 0) by
        :func:`_calibrate`, and stays fixed while training.
        """

        def build(self, input_shape):
            zeros = keras.initializers.Zeros()
            self.range_min = self.add_weight(shape=(), initializer=zeros, trainable=False,
                                             name="range_min")
            self.range_max = self.add_weight(shape=(), initializer=zeros, trainable=False,
                                             name="range_max")
            self.calibrating = self.add_weight(shape=(), initializer=zeros, trainable=False,
                                               name="calibrating")

        def call(self, x, training=None):
            if not training:
                measuring = self.calibrating > 0
                self.range_min.assign(tf.where(
                    measuring, tf.minimum(self.range_min, tf.cast(tf.reduce_min(x), "float32")),
                    self.range_min))
                self.range_max.assign(tf.where(
                    measuring, tf.maximum(self.range_max, tf.cast(tf.reduce_max(x), "float32")),
                    self.range_max))
            low = tf.cast(self.range_min, x.dtype)
            high = tf.maximum(tf.cast(self.range_max, x.dtype), low + 1e-6)
            return tf.quantization.fake_quant_with_min_max_vars(
                x, tf.stop_gradient(low), tf.stop_gradient(high), num_bits=8)

    class QuantizedLayer(keras.layers.Layer):
        """Runs a Dense / Conv / DepthwiseConv layer with int8-rounded weights and output.

        The wrapped layer's own variables are used (and trained), so after
        training the original layer holds the quantization-aware weights.
        """

        def __init__(self, layer, **kwargs):
            super().__init__(name=f"qat_{layer.name}", **kwargs)
            self.layer = layer
            self.output_quantizer = ActivationQuantizer(name=f"{layer.name}_output_range")
            self.kind = _wrappable(layer)

        def build(self, input_shape):
            if not self.layer.built:
                self.layer.build(input_shape)
            self.output_quantizer.build(None)

        def call(self, x, training=None):
            layer = self.layer
            kernel = _fake_quant_kernel(layer.kernel, depthwise=self.kind == "depthwise")
            if self.kind == "dense":
                y = tf.matmul(x, kernel) if len(x.shape) == 2 else tf.tensordot(x, kernel, 1)
            elif self.kind == "depthwise":
                y = keras.ops.depthwise_conv(x, kernel, strides=layer.strides,
                                             padding=layer.padding, data_format="channels_last",
                                             dilation_rate=layer.dilation_rate)
            else:
                y = keras.ops.conv(x, kernel, strides=layer.strides, padding=layer.padding,
                                   data_format="channels_last", dilation_rate=layer.dilation_rate)
            if layer.use_bias:
                y = y + layer.bias
            y = layer.activation(y)
            return self.output_quantizer(y, training=training)

        def snap_weights(self):
            """Round the kernel onto the int8 grid the converter will use."""
            self.layer.kernel.assign(
                _fake_quant_kernel(self.layer.kernel, depthwise=self.kind == "depthwise"))

    class Recalibrate(keras.callbacks.Callback):
        """Measure the activation ranges again before every epoch (weights moved)."""

        def __init__(self, data):
            super().__init__()
            self.data = data

        def on_epoch_begin(self, epoch, logs=None):
            if epoch > 0:
                _calibrate(self.model, self.data)

    _QAT_CLASSES.update(ActivationQuantizer=ActivationQuantizer, QuantizedLayer=QuantizedLayer,
                        Recalibrate=Recalibrate)
    return _QAT_CLASSES


def _wrappable(layer) -> str | None:
    """"dense", "conv" or "depthwise" for the layers QAT rounds; None for the others."""
    keras = _keras()
    layers = keras.layers
    if isinstance(layer, layers.DepthwiseConv2D):
        kind = "depthwise"
    elif isinstance(layer, (layers.Conv1D, layers.Conv2D)) and \
            not isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose,
                                   layers.SeparableConv1D, layers.SeparableConv2D)):
        kind = "conv" if getattr(layer, "groups", 1) == 1 else None
    elif isinstance(layer, layers.Dense):
        kind = "dense"
    else:
        return None
    if kind and getattr(layer, "data_format", "channels_last") != "channels_last":
        return None
    if getattr(layer, "quantization_mode", None) or getattr(layer, "lora_enabled", False):
        return None
    return kind


def _calibrate(qat, data: np.ndarray) -> None:
    """Set every activation range to the min/max (holding 0) over ``data``."""
    quantizers = [layer for layer in _all_layers(qat)
                  if isinstance(layer, _qat_classes()["ActivationQuantizer"])]
    quantizers += [layer.output_quantizer for layer in _all_layers(qat)
                   if isinstance(layer, _qat_classes()["QuantizedLayer"])]
    for q in quantizers:
        q.range_min.assign(0.0)
        q.range_max.assign(0.0)
        q.calibrating.assign(1.0)
    try:
        for start in range(0, len(data), 128):
            qat(data[start:start + 128], training=False)
    finally:
        for q in quantizers:
            q.calibrating.assign(0.0)


def _float_copy(model):
    keras = _keras()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _wrap(model):
    """A model computing like ``model`` but with int8 rounding; shares ``model``'s variables."""
    keras = _keras()
    classes = _qat_classes()

    def clone_function(layer):
        if _wrappable(layer):
            return classes["QuantizedLayer"](layer)
        return layer                      # shared as is (pooling, batch norm, dropout, ...)

    try:
        body = keras.models.clone_model(model, clone_function=clone_function, recursive=True)
    except TypeError:  # pragma: no cover - older Keras without recursive=
        body = keras.models.clone_model(model, clone_function=clone_function)
    wrapped = sum(isinstance(layer, classes["QuantizedLayer"]) for layer in _all_layers(body))
    if wrapped == 0:
        raise ValueError("the model has no Dense, Conv1D, Conv2D or DepthwiseConv2D layer "
                         "(channels_last) to train with int8 rounding.")
    _, shape = _check_keras_model(model)
    inputs = keras.Input(shape=shape, name="qat_input")
    x = classes["ActivationQuantizer"](name="input_range")(inputs)
    return keras.Model(inputs, body(x), name=f"qat_{model.name}")


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def quantization_aware(model, representative_data):
    """A copy of ``model`` that simulates int8 rounding, ready to fine-tune.

    Every Dense, Conv1D, Conv2D and DepthwiseConv2D layer computes with its
    kernel rounded to int8 (symmetric, one scale per output channel, as the
    int8 converter does) and rounds its output to 256 levels over the range
    it takes on ``representative_data`` (as the converter calibrates it); the
    model input is rounded too. Gradients pass through the rounding unchanged
    (the straight-through estimator), so ordinary training works. The copy has
    its own weights: ``model`` is left untouched.

    Parameters
    ----------
    model : keras.Model
        A trained float model.
    representative_data : array of shape (n, *input_shape)
        Typical inputs that set the activation ranges (at most
        :data:`MAX_CALIBRATION_SAMPLES` evenly spaced examples are used).

    Returns
    -------
    keras.Model
        The quantization-aware model. ``qat.float_model`` is the plain float
        model whose variables it trains (convert that one).

    Examples
    --------
    >>> qat = quantization_aware(model, x_train)                        # doctest: +SKIP
    >>> qat.compile(optimizer="adam", loss="sparse_categorical_crossentropy")  # doctest: +SKIP
    """
    model, shape = _check_keras_model(model)
    calibration = _check_representative(representative_data, shape)
    if _keras().backend.backend() != "tensorflow":
        raise RuntimeError("quantization-aware training needs the TensorFlow backend of Keras "
                           "(KERAS_BACKEND=tensorflow), which converts to TensorFlow Lite.")
    float_model = _float_copy(model)
    qat = _wrap(float_model)
    _calibrate(qat, calibration)
    qat.float_model = float_model
    qat.calibration_data = calibration
    return qat


def _labels(y, n: int, what: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)                    # one-hot
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what} must hold one class label per example; got shape {y.shape}.")
    if y.shape[0] != n:
        raise ValueError(f"x has {n} examples but {what} has {y.shape[0]} labels; they must "
                         f"match.")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_)
            or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))):
        raise ValueError(f"{what} must hold integer class labels (or one-hot rows); got "
                         f"{y.dtype} values.")
    return y.astype(np.int64)


def train_qat(model, x, y, epochs: int = 3, batch_size: int = 32, learning_rate: float = 1e-4,
              loss=None, validation_data=None, verbose: int = 0, seed: int | None = 0):
    """Quantization-aware training: fine-tune so the int8 model keeps its accuracy.

    Fine-tunes a copy of the (already trained) ``model`` with int8 rounding
    simulated in the forward pass (see :func:`quantization_aware`), then
    rounds the trained weights onto the int8 grid. Convert the result with
    ``convert(result, "int8", representative_data=...)``.

    Parameters
    ----------
    model : keras.Model
        A trained float model; it is not modified.
    x, y : arrays
        Training examples and integer class labels (or one-hot rows).
    epochs, batch_size, learning_rate : training settings
        A few epochs at a small learning rate are enough: QAT adjusts
        weights, it does not learn the task again.
    loss : Keras loss, optional
        Default: ``model.loss`` if the model was compiled, else sparse
        categorical cross-entropy.
    validation_data : (x_val, y_val), optional
    verbose : int
        Keras ``fit`` verbosity.
    seed : int or None
        Seeds Keras (shuffling, dropout) for a repeatable run.

    Returns
    -------
    keras.Model
        A float Keras model with the same architecture as ``model`` and the
        quantization-aware weights; ``result.qat_history`` holds the training
        history.

    Examples
    --------
    >>> qat_model = train_qat(model, x_train, y_train, epochs=3)            # doctest: +SKIP
    >>> tflite = convert(qat_model, "int8", representative_data=x_train)    # doctest: +SKIP
    """
    keras = _keras()
    model, shape = _check_keras_model(model)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise ValueError(f"x has shape {x.shape} but the model takes examples of shape {shape}.")
    y = _labels(y, x.shape[0])
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1; got {epochs!r}.")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}.")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if loss is None:
        loss = getattr(model, "loss", None) or "sparse_categorical_crossentropy"
    qat = quantization_aware(model, x)
    qat.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
    if validation_data is not None:
        x_val, y_val = validation_data
        validation_data = (np.asarray(x_val, dtype=np.float32),
                           _labels(y_val, len(x_val), "validation labels"))
    history = qat.fit(x, y, epochs=int(epochs), batch_size=int(batch_size),
                      validation_data=validation_data, verbose=verbose,
                      callbacks=[_qat_classes()["Recalibrate"](qat.calibration_data)])
    for layer in _all_layers(qat):
        if isinstance(layer, _qat_classes()["QuantizedLayer"]):
            layer.snap_weights()
    result = qat.float_model
    result.qat_history = history
    return result


# --------------------------------------------------------------------------- compare

def _is_tflite(model) -> bool:
    return isinstance(model, (bytes, bytearray, memoryview, str, os.PathLike))


def _predict(model, x, runtime: str) -> tuple[np.ndarray, int, str]:
    """Scores, size in bytes and format of one model."""
    if _is_tflite(model):
        from . import mcu

        data = _tflite_graph.model_bytes(model)
        graph = _tflite_graph.parse(data)
        scores = mcu.run_tflite(data, x, runtime=runtime)
        return scores, len(data), f"tflite {graph.kind}"
    model, _ = _check_keras_model(model)
    scores = np.asarray(model.predict(np.asarray(x, dtype=np.float32), verbose=0,
                                      batch_size=256))
    # Its size on a board: the float32 .tflite file it converts to.
    return scores, len(convert(model, "float32")), "keras (float32)"


def _classes(scores: np.ndarray) -> np.ndarray:
    scores = scores.reshape(scores.shape[0], -1)
    if scores.shape[1] == 1:                     # one sigmoid unit
        return (scores[:, 0] > 0.5).astype(np.int64)
    return scores.argmax(axis=1)


def compare(models: dict, x, y, reference: str | None = None, runtime: str = "litert"):
    """Size, accuracy and agreement of several versions of one classifier.

    Parameters
    ----------
    models : dict of name -> model
        Keras models or ``.tflite`` models (bytes or paths), e.g.
        ``{"float": model, "int8": convert(model, "int8", x_train)}``.
    x, y : arrays
        Held-out examples and their integer labels (or one-hot rows).
    reference : str, optional
        The name of the model the others should agree with (default: the
        first one, normally the float model).
    runtime : {"litert", "tflm"}
        How ``.tflite`` models are run (see :func:`tinyml_lib.mcu.run_tflite`).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``name``, ``format``, ``bytes`` (the ``.tflite``
        file; for a Keras model, its float32 ``.tflite`` conversion), ``size_ratio`` (bytes /
        the reference's), ``accuracy`` and ``agreement`` (fraction of
        examples where its predicted class equals the reference's).

    Examples
    --------
    >>> table = compare({"float": model, "int8": tflite_int8}, x_test, y_test)  # doctest: +SKIP
    >>> plots.show(plot_compare(table).figure, alt="...")                       # doctest: +SKIP
    """
    import pandas as pd

    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> model, e.g. "
                         "{'float': keras_model, 'int8': tflite_bytes}.")
    if reference is None:
        reference = next(iter(models))
    if reference not in models:
        raise ValueError(f"reference {reference!r} is not one of the models: "
                         f"{', '.join(map(repr, models))}.")
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch of examples (examples along the first "
                         f"axis); got shape {x.shape}.")
    labels = _labels(y, x.shape[0])
    results = {}
    for name, model in models.items():
        try:
            scores, n_bytes, fmt = _predict(model, x, runtime)
        except (TypeError, ValueError) as error:
            raise type(error)(f"models[{name!r}]: {error}") from None
        results[name] = (_classes(scores), n_bytes, fmt)
    ref_pred, ref_bytes, _ = results[reference]
    rows = []
    for name, (pred, n_bytes, fmt) in results.items():
        rows.append({"name": name, "format": fmt, "bytes": n_bytes,
                     "size_ratio": n_bytes / ref_bytes,
                     "accuracy": float(np.mean(pred == labels)),
                     "agreement": float(np.mean(pred == ref_pred))})
    table = pd.DataFrame(rows)
    table.attrs["reference"] = reference
    return table


def plot_compare(table, ax=None):
    """Size against accuracy for the rows of :func:`compare`; returns the Axes.

    Each model is a point (size in KB on the x axis, accuracy on the y axis)
    labelled with its name and its agreement with the reference.

    Examples
    --------
    >>> ax = plot_compare(table)                                           # doctest: +SKIP
    >>> plots.show(ax.figure, alt="int8 is 4x smaller at the same accuracy.")  # doctest: +SKIP
    """
    required = {"name", "bytes", "accuracy", "agreement"}
    columns = set(getattr(table, "columns", ()))
    if not required <= columns:
        raise ValueError(f"table must be what compare() returns (columns "
                         f"{', '.join(sorted(required))}); missing "
                         f"{', '.join(sorted(required - columns)) or 'all'}.")
    if ax is None:
        _, ax = plots.figure()
    kb = table["bytes"].to_numpy() / 1024
    accuracy = 100 * table["accuracy"].to_numpy()
    ax.scatter(kb, accuracy, s=40, color="tab:blue", zorder=3)
    placed: list[tuple[float, float]] = []
    x_near, y_near = 0.08 * max(kb.max(), 1), 1.5
    for name, size, acc, agree in zip(table["name"], kb, accuracy, table["agreement"]):
        # Points at (almost) the same place get their labels stacked downwards.
        stack = sum(abs(size - px) < x_near and abs(acc - py) < y_near for px, py in placed)
        placed.append((size, acc))
        ax.annotate(f"{name}\n({100 * agree:.0f}% agree)", (size, acc),
                    textcoords="offset points", xytext=(6, 4 - 24 * stack), fontsize=8)
    ax.set_xlabel("model size (KB)")
    ax.set_ylabel("accuracy on held-out data (%)")
    ax.set_xlim(0, max(kb.max() * 1.35, 1))
    low = min(accuracy.min(), 100) - 5
    ax.set_ylim(max(low, 0), 100.5)
    ax.grid(alpha=0.3)
    ax.set_title("Smaller models, same answers?")
    return ax


# --------------------------------------------------------------------------- demos and inspection

def make_fragile(model, unit: int = 0, factor: float = 200.0):
    """A copy of an MLP with one "loud" hidden unit: same float function, hard to quantize.

    ReLU commutes with positive scaling (``relu(f * z) = f * relu(z)``), so
    multiplying a hidden unit's incoming weights and bias by ``factor`` and
    dividing its outgoing weights by ``factor`` leaves the float model's
    outputs unchanged. But that unit's outputs now set the int8 range of its
    whole layer, so every other unit is left with a few of the 256 levels: a
    known way post-training quantization loses accuracy, and a demonstration
    of what quantization-aware training recovers. Unit ``unit`` of every
    hidden Dense layer is rescaled.

    Parameters
    ----------
    model : keras.Model
        A Sequential stack of Dense layers (Dropout in between is fine); the
        hidden layers use ReLU (or no) activation. It is not modified.
    unit : int
        Which unit of each hidden layer to make loud.
    factor : float
        How much louder (> 0); 200 costs a typical model tens of accuracy
        points under post-training int8 quantization.

    Returns
    -------
    keras.Model
        A new model computing the same function (up to float rounding).

    Examples
    --------
    >>> fragile = make_fragile(model, unit=0, factor=200)                     # doctest: +SKIP
    >>> np.allclose(fragile.predict(x), model.predict(x), atol=1e-4)          # doctest: +SKIP
    True
    """
    keras = _keras()
    model, _ = _check_keras_model(model)
    if not (isinstance(factor, (int, float, np.integer, np.floating)) and np.isfinite(factor)
            and factor > 0):
        raise ValueError(f"factor must be a positive number (e.g. 200); got {factor!r}.")
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or unit < 0:
        raise ValueError(f"unit must be a whole number >= 0; got {unit!r}.")
    dense = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            dense.append(layer)
        elif not isinstance(layer, (keras.layers.Dropout, keras.layers.InputLayer)):
            raise ValueError(f"make_fragile works on a stack of Dense layers (Dropout in between "
                             f"is fine); {layer.name!r} is a {type(layer).__name__}. Build the "
                             f"model with keras.Input((n_features,)) and Dense layers only.")
    if len(dense) < 2:
        raise ValueError("make_fragile needs at least one hidden Dense layer followed by "
                         f"another Dense layer; the model has {len(dense)} Dense layer(s).")
    for layer in dense[:-1]:
        name = getattr(layer.activation, "__name__", str(layer.activation))
        if name not in ("relu", "linear"):
            raise ValueError(f"hidden layer {layer.name!r} uses {name!r}; make_fragile keeps the "
                             f"function unchanged only for 'relu' (or no) activation.")
        if unit >= layer.units:
            raise ValueError(f"unit {unit} does not exist: layer {layer.name!r} has "
                             f"{layer.units} units (0 to {layer.units - 1}).")
        if not layer.use_bias:
            raise ValueError(f"layer {layer.name!r} has no bias; make_fragile needs use_bias=True.")
    copy = _float_copy(model)
    layers = [layer for layer in copy.layers if isinstance(layer, keras.layers.Dense)]
    weights = [[w.copy() for w in layer.get_weights()] for layer in layers]
    for i in range(len(layers) - 1):
        kernel, bias = weights[i]
        kernel[:, unit] *= factor
        bias[unit] *= factor
        weights[i + 1][0][unit, :] /= factor
    for layer, w in zip(layers, weights):
        layer.set_weights(w)
    return copy


@dataclass(frozen=True)
class Int8Weights:
    """The int8 weights of one layer of a ``.tflite`` model, with their affine mapping.

    ``real = scales * (values - zero_points)``, with one scale and zero point
    per slice along ``axis`` (per output channel) or a single one.

    Attributes
    ----------
    name : str
        The tensor's name in the ``.tflite`` model.
    values : ndarray of int8
        The stored integers, in the ``.tflite`` layout (Dense: (units, inputs);
        Conv2D: (filters, height, width, channels)).
    scales, zero_points : ndarray
        The quantization parameters (length 1 or one per slice along ``axis``).
    axis : int
        The quantized dimension.
    """

    name: str
    values: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray
    axis: int

    def dequantize(self) -> np.ndarray:
        """The real numbers the integers stand for: ``scale * (q - zero_point)``."""
        shape = [1] * self.values.ndim
        if self.scales.size > 1:
            shape[self.axis] = self.scales.size
        scales = self.scales.reshape(shape)
        zero_points = self.zero_points.reshape(shape) if self.zero_points.size > 1 else \
            self.zero_points.reshape([1] * self.values.ndim)
        return (scales * (self.values.astype(np.float64) - zero_points)).astype(np.float32)


def int8_weights(model, layer: str) -> Int8Weights:
    """The int8 kernel of one layer of a quantized ``.tflite`` model.

    Parameters
    ----------
    model : bytes or path
        A ``.tflite`` model converted with ``mode="int8"`` or ``"dynamic"``.
    layer : str
        The Keras layer name (e.g. ``"hidden"``); the tensor whose name
        contains it and holds int8 weights is returned.

    Returns
    -------
    Int8Weights
        ``values`` (int8), ``scales``, ``zero_points``, ``axis`` and
        ``dequantize()``.

    Examples
    --------
    >>> w = int8_weights(convert(model, "int8", x_train), "hidden")   # doctest: +SKIP
    >>> w.values.dtype, w.scales.shape                                 # doctest: +SKIP
    (dtype('int8'), (32,))
    """
    data = _tflite_graph.model_bytes(model)
    if not isinstance(layer, str) or not layer:
        raise ValueError(f"layer must be the name of a Keras layer (a non-empty string); "
                         f"got {layer!r}.")
    graph = _tflite_graph.parse(data)
    pattern = re.compile(rf"(^|[/;]){re.escape(layer)}(_\d+)?/")
    found = [t for t in graph.tensors if t.constant and t.dtype == "int8" and len(t.shape) >= 2
             and t.scales and pattern.search(t.name)]
    if not found:
        names = sorted({t.name for t in graph.tensors if t.constant and t.dtype == "int8"})
        if not names:
            raise ValueError("the model holds no int8 weights: convert it with mode='int8' (or "
                             "'dynamic') first.")
        raise ValueError(f"no int8 weights belong to a layer named {layer!r}; the int8 weight "
                         f"tensors are: {', '.join(names)}.")
    tensor = found[0]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    interpreter.allocate_tensors()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}[tensor.index]
    values = np.array(interpreter.get_tensor(tensor.index))
    q = details["quantization_parameters"]
    return Int8Weights(name=tensor.name, values=values,
                       scales=np.asarray(q["scales"], dtype=np.float64),
                       zero_points=np.asarray(q["zero_points"], dtype=np.int64),
                       axis=int(q["quantized_dimension"]))
