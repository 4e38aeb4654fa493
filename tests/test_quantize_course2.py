"""tinyml_lib.quantize additions for Course 2: make_fragile and int8_weights."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

import keras  # noqa: E402

from tinyml_lib import mcu, quantize  # noqa: E402


def _blobs(n: int, seed: int):
    centres = np.random.default_rng(42).normal(0, 1, (4, 16)) * 0.35
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    return (centres[y] + rng.normal(0, 0.3, (n, 16))).astype("float32"), y


@pytest.fixture(scope="module")
def data():
    return _blobs(1500, seed=0), _blobs(600, seed=1)


@pytest.fixture(scope="module")
def trained(data):
    (x, y), _ = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16,)),
        keras.layers.Dense(64, activation="relu", name="hidden"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(32, activation="relu", name="hidden2"),
        keras.layers.Dense(4, activation="softmax", name="output"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    return model


def _accuracy(scores, y) -> float:
    return float(np.mean(np.asarray(scores).argmax(axis=1) == y))


def test_make_fragile_keeps_the_float_function_and_breaks_ptq(trained, data):
    (x, _), (x_test, y_test) = data
    before = [w.copy() for w in trained.get_weights()]
    fragile = quantize.make_fragile(trained, unit=3, factor=200)
    np.testing.assert_allclose(fragile.predict(x_test, verbose=0),
                               trained.predict(x_test, verbose=0), atol=1e-4)
    for old, new in zip(before, trained.get_weights()):          # the original is untouched
        np.testing.assert_array_equal(old, new)
    kernel, bias = fragile.get_layer("hidden").get_weights()
    np.testing.assert_allclose(kernel[:, 3], 200 * before[0][:, 3], rtol=1e-6)
    np.testing.assert_allclose(bias[3], 200 * before[1][3], rtol=1e-6)
    np.testing.assert_allclose(fragile.get_layer("output").get_weights()[0][3],
                               before[4][3] / 200, rtol=1e-6)
    normal = _accuracy(mcu.run_tflite(quantize.convert(trained, "int8", x), x_test), y_test)
    broken = _accuracy(mcu.run_tflite(quantize.convert(fragile, "int8", x), x_test), y_test)
    assert broken < normal - 0.05, (normal, broken)


def test_make_fragile_rejects_what_it_cannot_rescale(trained):
    with pytest.raises(ValueError, match="positive"):
        quantize.make_fragile(trained, factor=0)
    with pytest.raises(ValueError, match="unit 40 does not exist"):
        quantize.make_fragile(trained, unit=40)
    with pytest.raises(ValueError, match="whole number"):
        quantize.make_fragile(trained, unit=-1)
    sigmoid = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid"),
                                keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="'relu'"):
        quantize.make_fragile(sigmoid)
    conv = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3),
                             keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="stack of Dense layers"):
        quantize.make_fragile(conv)
    single = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="at least one hidden Dense layer"):
        quantize.make_fragile(single)
    with pytest.raises(TypeError, match="Keras model"):
        quantize.make_fragile("model.tflite")


def test_int8_weights_reads_the_kernel_and_its_mapping(trained, data):
    (x, _), _ = data
    tflite = quantize.convert(trained, "int8", representative_data=x)
    w = quantize.int8_weights(tflite, "hidden")
    assert w.values.dtype == np.int8
    assert w.values.shape == (64, 16)                      # TFLite layout: (units, inputs)
    assert w.scales.shape == (64,) and w.axis == 0         # one scale per output unit
    assert np.all(w.zero_points == 0)                      # weights are symmetric
    assert np.abs(w.values).max() == 127
    kernel = trained.get_layer("hidden").get_weights()[0].T
    np.testing.assert_allclose(w.dequantize(), kernel, atol=w.scales.max() / 2 + 1e-7)
    np.testing.assert_allclose(w.scales, np.abs(kernel).max(axis=1) / 127, rtol=1e-5)
    # "hidden" does not pick "hidden2"
    assert quantize.int8_weights(tflite, "hidden2").values.shape == (32, 64)


def test_int8_weights_rejects_bad_input(trained, data):
    (x, _), _ = data
    with pytest.raises(ValueError, match="holds no int8 weights"):
        quantize.int8_weights(quantize.convert(trained, "float32"), "hidden")
    tflite = quantize.convert(trained, "int8", representative_data=x[:50])
    with pytest.raises(ValueError, match="no int8 weights belong to a layer named 'conv'"):
        quantize.int8_weights(tflite, "conv")
    with pytest.raises(ValueError, match="non-empty string"):
        quantize.int8_weights(tflite, "")
    with pytest.raises(TypeError, match=".tflite bytes"):
        quantize.int8_weights(trained, "hidden")
