"""tinyml_lib.quantize: conversion modes, quantization-aware training, comparison table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

import keras  # noqa: E402

from tinyml_lib import _tflite_graph, mcu, quantize  # noqa: E402


def _blobs(n: int, seed: int):
    """Four classes of 16-feature points around fixed centres: easy to learn."""
    centres = np.random.default_rng(42).normal(0, 1, (4, 16)) * 0.35
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = centres[y] + rng.normal(0, 0.3, (n, 16))
    return x.astype("float32"), y


@pytest.fixture(scope="module")
def data():
    return _blobs(1500, seed=0), _blobs(600, seed=1)


@pytest.fixture(scope="module")
def trained(data):
    """A trained 16-64-32-4 classifier (big enough for float16/dynamic to shrink it)."""
    (x, y), _ = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def converted(trained, data):
    (x, _), _ = data
    return {mode: quantize.convert(trained, mode, representative_data=x if mode == "int8" else None)
            for mode in quantize.MODES}


def _accuracy(model, x, y) -> float:
    if isinstance(model, bytes):
        scores = mcu.run_tflite(model, x)
    else:
        scores = model.predict(x, verbose=0)
    return float(np.mean(scores.argmax(axis=1) == y))


# --------------------------------------------------------------------------- convert

def test_every_mode_gives_a_tflite_model_of_its_kind(converted):
    kinds = {mode: _tflite_graph.parse(tflite).kind for mode, tflite in converted.items()}
    assert kinds == {"float32": "float32", "float16": "float16", "dynamic": "dynamic",
                     "int8": "int8"}
    for tflite in converted.values():
        assert tflite[4:8] == b"TFL3"


def test_quantized_models_are_smaller(converted):
    size = {mode: len(b) for mode, b in converted.items()}
    assert size["float16"] < 0.75 * size["float32"]
    assert size["dynamic"] < 0.6 * size["float32"]
    assert size["int8"] < 0.6 * size["float32"]


def test_int8_model_has_int8_input_and_output(converted):
    graph = _tflite_graph.parse(converted["int8"])
    for index in (graph.inputs[0], graph.outputs[0]):
        tensor = graph.tensors[index]
        assert tensor.dtype == "int8" and len(tensor.scales) == 1
    assert graph.tensors[graph.inputs[0]].shape == (1, 16)   # one example at a time


def test_converted_models_keep_the_accuracy(trained, converted, data):
    _, (x, y) = data
    reference = _accuracy(trained, x, y)
    assert reference > 0.9
    for mode, tflite in converted.items():
        tolerance = 1e-6 if mode == "float32" else 0.03
        assert _accuracy(tflite, x, y) >= reference - tolerance, mode
    float_scores = mcu.run_tflite(converted["float32"], x[:50])
    np.testing.assert_allclose(float_scores, trained.predict(x[:50], verbose=0), atol=1e-5)


def test_convert_rejects_bad_arguments(trained, converted, data):
    (x, _), _ = data
    with pytest.raises(ValueError, match="unknown mode 'int4'.*'float32', 'float16', "
                                         "'dynamic', 'int8'"):
        quantize.convert(trained, "int4")
    with pytest.raises(ValueError, match="mode='int8' needs representative_data"):
        quantize.convert(trained, "int8")
    with pytest.raises(ValueError, match=r"representative_data has shape \(10, 15\).*\(16,\)"):
        quantize.convert(trained, "int8", representative_data=x[:10, :15])
    with pytest.raises(ValueError, match="NaN"):
        quantize.convert(trained, "int8", representative_data=np.full((4, 16), np.nan))
    with pytest.raises(ValueError, match="only used by mode='int8'"):
        quantize.convert(trained, "float16", representative_data=x)
    with pytest.raises(TypeError, match="must be a Keras model"):
        quantize.convert(lambda v: v, "float32")
    with pytest.raises(TypeError, match="already a .tflite model"):
        quantize.convert(converted["float32"], "int8", representative_data=x)
    with pytest.raises(ValueError, match="no defined input"):
        quantize.convert(keras.Sequential([keras.layers.Dense(2)]), "float32")


# --------------------------------------------------------------------------- QAT

@pytest.fixture(scope="module")
def fragile(trained):
    """The trained model, rescaled so one hidden unit is 200x louder (same float function).

    ReLU commutes with positive scaling, so multiplying a unit's incoming
    weights by 200 and dividing its outgoing weights by 200 changes nothing in
    float, but the int8 range of that layer is now set by the loud unit: a
    known way post-training quantization loses accuracy.
    """
    model = keras.models.clone_model(trained)
    w1, b1, w2, b2, w3, b3 = trained.get_weights()
    w1[:, 0] *= 200
    b1[0] *= 200
    w2[0, :] /= 200
    w2[:, 0] *= 200
    b2[0] *= 200
    w3[0, :] /= 200
    model.set_weights([w1, b1, w2, b2, w3, b3])
    return model


def test_qat_int8_at_least_as_accurate_as_ptq(fragile, trained, data):
    (x, y), (x_test, y_test) = data
    assert _accuracy(fragile, x_test, y_test) == pytest.approx(_accuracy(trained, x_test, y_test),
                                                               abs=0.002)
    before = [w.copy() for w in fragile.get_weights()]
    ptq = quantize.convert(fragile, "int8", representative_data=x)
    qat_model = quantize.train_qat(fragile, x, y, epochs=3, learning_rate=1e-3)
    qat = quantize.convert(qat_model, "int8", representative_data=x)
    ptq_acc, qat_acc = _accuracy(ptq, x_test, y_test), _accuracy(qat, x_test, y_test)
    assert qat_acc >= ptq_acc - 0.01, (ptq_acc, qat_acc)
    assert qat_acc > 0.85
    # The original model is untouched; the result has the same architecture.
    for old, new in zip(before, fragile.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert [w.shape for w in qat_model.get_weights()] == [w.shape for w in before]
    assert len(qat_model.qat_history.history["loss"]) == 3


def test_qat_weights_sit_on_the_int8_grid(fragile, data):
    (x, y), _ = data
    qat_model = quantize.train_qat(fragile, x[:256], y[:256], epochs=1)
    kernel = qat_model.layers[0].kernel.numpy()             # (16, 64): one scale per column
    scale = np.abs(kernel).max(axis=0) / 127
    steps = kernel / scale
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)


def test_quantization_aware_model_rounds_like_int8(trained, data):
    (x, y), _ = data
    qat = quantize.quantization_aware(trained, x[:256])
    assert qat.float_model is not trained
    qat.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    qat.fit(x[:256], y[:256], epochs=1, verbose=0)          # learns the activation ranges
    first = qat.predict(x[:64], verbose=0)
    assert first.shape == (64, 4)
    outputs = np.unique(np.round(first / (first.max() / 255), 3))
    assert len(outputs) <= 256                                # output lands on an 8-bit grid


def test_train_qat_rejects_bad_input(trained, data):
    (x, y), _ = data
    with pytest.raises(ValueError, match="x has 100 examples but y has 99 labels"):
        quantize.train_qat(trained, x[:100], y[:99])
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        quantize.train_qat(trained, x[:100], y[:100], epochs=0)
    with pytest.raises(ValueError, match=r"x has shape \(100, 8\)"):
        quantize.train_qat(trained, x[:100, :8], y[:100])
    with pytest.raises(ValueError, match="integer class labels"):
        quantize.train_qat(trained, x[:100], y[:100] + 0.5)
    pool_only = keras.Sequential([keras.Input((8, 1)), keras.layers.MaxPooling1D(2)])
    with pytest.raises(ValueError, match="no Dense, Conv1D, Conv2D or DepthwiseConv2D"):
        quantize.quantization_aware(pool_only, np.zeros((4, 8, 1)))


# --------------------------------------------------------------------------- compare

def test_compare_table(trained, converted, data):
    _, (x, y) = data
    table = quantize.compare({"float": trained, "int8": converted["int8"],
                              "float16": converted["float16"]}, x, y)
    assert list(table.columns) == ["name", "format", "bytes", "size_ratio", "accuracy",
                                   "agreement"]
    rows = table.set_index("name")
    assert rows.loc["float", "agreement"] == 1.0
    assert rows.loc["float", "accuracy"] == pytest.approx(_accuracy(trained, x, y))
    assert rows.loc["int8", "accuracy"] == pytest.approx(_accuracy(converted["int8"], x, y))
    assert rows.loc["int8", "bytes"] == len(converted["int8"])
    assert rows.loc["float", "bytes"] == len(converted["float32"])
    assert rows.loc["int8", "size_ratio"] == pytest.approx(len(converted["int8"])
                                                           / len(converted["float32"]))
    assert rows.loc["int8", "format"] == "tflite int8"
    agree = np.mean(mcu.run_tflite(converted["int8"], x).argmax(1)
                    == trained.predict(x, verbose=0).argmax(1))
    assert rows.loc["int8", "agreement"] == pytest.approx(agree)

    ax = quantize.plot_compare(table)
    assert len(ax.collections[0].get_offsets()) == 3
    assert ax.get_xlabel() == "model size (KB)"
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_compare_rejects_bad_input(trained, converted, data):
    _, (x, y) = data
    with pytest.raises(ValueError, match="non-empty dict"):
        quantize.compare({}, x, y)
    with pytest.raises(ValueError, match="reference 'base' is not one of the models"):
        quantize.compare({"int8": converted["int8"]}, x, y, reference="base")
    with pytest.raises(ValueError, match="x has 600 examples but y has 10 labels"):
        quantize.compare({"int8": converted["int8"]}, x, y[:10])
    with pytest.raises(TypeError, match=r"models\['bad'\]: .*Keras model"):
        quantize.compare({"bad": 42}, x, y)
    with pytest.raises(ValueError, match="what compare\\(\\) returns"):
        quantize.plot_compare({"name": []})
