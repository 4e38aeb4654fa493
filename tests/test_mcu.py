"""tinyml_lib.mcu: the virtual microcontroller (LiteRT and TFLM runs, profile, C export)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml_lib import _tflite_graph, mcu

pytest.importorskip("tflite_micro")
pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def sine() -> bytes:
    """The float sine model that ships inside the tflite-micro wheel (16-16 dense net)."""
    import tflite_micro

    path = Path(tflite_micro.__file__).parent / "python" / "tflite_micro" / "sine_float.tflite"
    return path.read_bytes()


@pytest.fixture(scope="module")
def int8_model() -> bytes:
    """A small conv net (random weights) converted to full-integer int8."""
    pytest.importorskip("tensorflow")
    import keras

    from tinyml_lib import quantize

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((10, 8, 1)),
        keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu"),
        keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="softmax"),
    ])
    calibration = np.random.default_rng(0).uniform(-1, 1, (64, 10, 8, 1)).astype("float32")
    return quantize.convert(model, "int8", representative_data=calibration)


# --------------------------------------------------------------------------- run_tflite

def test_sine_model_computes_sine_on_both_runtimes(sine):
    x = np.linspace(0, 2 * np.pi, 9, dtype=np.float32)[:, None]
    for runtime in mcu.RUNTIMES:
        y = mcu.run_tflite(sine, x, runtime=runtime)
        assert y.shape == (9, 1)
        assert np.allclose(y[:, 0], np.sin(x[:, 0]), atol=0.1), runtime


def test_float_model_same_on_litert_and_tflm(sine, tmp_path):
    x = np.random.default_rng(0).uniform(0, 6, (20, 1))
    path = tmp_path / "sine.tflite"
    path.write_bytes(sine)
    a = mcu.run_tflite(str(path), x, runtime="litert")      # a path works as well as bytes
    b = mcu.run_tflite(sine, x, runtime="tflm")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_int8_model_identical_on_litert_and_tflm(int8_model):
    x = np.random.default_rng(3).uniform(-1, 1, (30, 10, 8, 1))
    raw_litert = mcu.run_tflite(int8_model, x, runtime="litert", dequantize=False)
    raw_tflm = mcu.run_tflite(int8_model, x, runtime="tflm", dequantize=False)
    assert raw_litert.dtype == np.int8 and raw_tflm.dtype == np.int8
    assert raw_litert.shape == (30, 4)
    np.testing.assert_array_equal(raw_litert, raw_tflm)


def test_int8_io_quantized_and_dequantized_with_model_scale(int8_model):
    graph = _tflite_graph.parse(int8_model)
    inp, out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    x = np.random.default_rng(4).uniform(-1, 1, (5, 10, 8, 1))
    q = np.clip(np.round(x / inp.scales[0]) + inp.zero_points[0], -128, 127).astype(np.int8)
    # Floats are quantized exactly like an int8 array the caller quantized itself.
    raw_from_float = mcu.run_tflite(int8_model, x, dequantize=False)
    raw_from_int8 = mcu.run_tflite(int8_model, q, dequantize=False)
    np.testing.assert_array_equal(raw_from_float, raw_from_int8)
    probs = mcu.run_tflite(int8_model, x)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs, (raw_from_float.astype(np.float32) - out.zero_points[0])
                               * out.scales[0], rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=0.05)   # softmax survived int8


@pytest.mark.parametrize("x, match", [
    (np.zeros((3, 2)), r"shape \(3, 2\).*examples of shape \(1,\)"),
    (np.zeros((0, 1)), "empty"),
    (np.array([[np.nan]]), "NaN"),
    (np.array([["a"]]), "numbers"),
])
def test_run_tflite_rejects_bad_inputs(sine, x, match):
    with pytest.raises((ValueError, TypeError), match=match):
        mcu.run_tflite(sine, x)


def test_run_tflite_single_example_needs_a_batch(int8_model):
    with pytest.raises(ValueError, match=r"x\[None\]"):
        mcu.run_tflite(int8_model, np.zeros((10, 8, 1)))


def test_run_tflite_rejects_bad_model_and_runtime(sine, tmp_path):
    with pytest.raises(ValueError, match="runtime must be one of 'litert', 'tflm'"):
        mcu.run_tflite(sine, np.zeros((1, 1)), runtime="tfl")
    with pytest.raises(ValueError, match="not a TensorFlow Lite flatbuffer"):
        mcu.run_tflite(b"this is not a model", np.zeros((1, 1)))
    with pytest.raises(FileNotFoundError, match="no .tflite file"):
        mcu.run_tflite(tmp_path / "missing.tflite", np.zeros((1, 1)))
    with pytest.raises(TypeError, match="Convert a Keras model first"):
        mcu.run_tflite(object(), np.zeros((1, 1)))


def test_tflm_refuses_models_it_cannot_run(sine):
    float16 = _float16_copy(sine)
    assert _tflite_graph.parse(float16).kind == "float16"
    with pytest.raises(ValueError, match="TensorFlow Lite Micro runs float32 and full-integer"):
        mcu.run_tflite(float16, np.zeros((1, 1)), runtime="tflm")


def _float16_copy(model: bytes) -> bytes:
    """The model with its first tensor retyped float16 (enough for the kind check)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    import flatbuffers

    root = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    root.subgraphs[0].tensors[1].type = schema.TensorType.FLOAT16
    builder = flatbuffers.Builder(1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


COLLAPSED = """
import numpy as np, keras
from tinyml_lib import mcu, quantize
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
w, b = model.layers[0].get_weights()
model.layers[0].set_weights([w * 1e-9, b * 0])       # activations collapse to ~0
x = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
tflite = quantize.convert(model, "int8", representative_data=x)
print("litert", mcu.run_tflite(tflite, x[:1]).round(2).tolist(), flush=True)
try:
    mcu.run_tflite(tflite, x[:1], runtime="tflm")
except ValueError as error:
    print("refused:", error, flush=True)
report = mcu.profile(tflite)
print("profile:", report.arena_bytes, " ".join(report.notes), flush=True)
"""


def test_tflm_refuses_a_collapsed_int8_model_instead_of_aborting():
    """TFLM aborts the process on an int8 softmax whose input has (almost) no range; the
    virtual microcontroller (and the grader's trusted side, which calls it) must not die."""
    result = subprocess.run([sys.executable, "-c", COLLAPSED], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    refusals = [line for line in lines if line.startswith("refused:")]
    assert len(refusals) == 1, result.stdout
    assert "softmax input has almost no range" in refusals[0]
    assert "representative_data" in refusals[0]
    profile = next(line for line in lines if line.startswith("profile:"))
    assert profile.startswith("profile: None") and "almost no range" in profile, profile


# --------------------------------------------------------------------------- profile

def test_profile_counts_macs_and_measures_arena(sine):
    report = mcu.profile(sine, board="nano33ble")
    assert report.macs == 1 * 16 + 16 * 16 + 16 * 1           # three dense layers
    assert mcu.count_macs(sine) == report.macs
    assert report.kind == "float32" and report.model_bytes == len(sine)
    assert 200 < report.arena_bytes < 20_000
    assert report.arena_bytes == mcu.arena_bytes(sine)
    board = mcu.BOARDS["nano33ble"]
    assert board.clock_hz == 64_000_000 and board.ram_bytes == 256 * 1024
    assert board.flash_bytes == 1024 * 1024
    expected_ms = report.macs * board.cycles_per_mac_float32 / board.clock_hz * 1000
    assert report.latency_ms == pytest.approx(expected_ms)
    assert report.fits
    text = str(report)
    assert "estimate" in text and "Arduino Nano 33 BLE Sense" in text and "fits" in text
    assert "<table>" in report._repr_html_()


def test_profile_int8_conv_macs(int8_model):
    report = mcu.profile(int8_model, board="pico")
    conv = 5 * 4 * 6 * 3 * 3 * 1          # 'same' conv, stride 2: 5x4 outputs x 6 ch x 3x3x1
    depthwise = 5 * 4 * 6 * 3 * 3
    dense = 4 * (5 * 4 * 6)
    assert report.macs == conv + depthwise + dense
    assert dict(report.ops)["CONV_2D"] == conv
    assert report.kind == "int8" and report.arena_bytes > 0
    assert report.latency_ms == pytest.approx(
        report.macs * mcu.BOARDS["pico"].cycles_per_mac_int8 / 133e6 * 1000)


def test_profile_knows_the_boards_and_says_when_a_model_is_too_big(sine):
    assert {"nano33ble", "pico", "esp32s3"} <= set(mcu.BOARDS)
    tiny = mcu.Board(key="tiny", name="Tiny", mcu="test core", clock_hz=1_000_000,
                     ram_bytes=8 * 1024, flash_bytes=4 * 1024, cycles_per_mac_int8=1,
                     cycles_per_mac_float32=10, reserved_flash_bytes=2 * 1024,
                     reserved_ram_bytes=7 * 1024)
    report = mcu.profile(sine, board=tiny)
    assert not report.fits_flash and not report.fits
    assert "TOO BIG" in str(report)
    assert mcu.profile(sine, board="Raspberry Pi Pico").board.key == "pico"


def test_profile_rejects_unknown_board(sine):
    with pytest.raises(ValueError, match="unknown board 'uno'.*nano33ble, pico, esp32s3"):
        mcu.profile(sine, board="uno")
    with pytest.raises(TypeError, match="board must be"):
        mcu.profile(sine, board=3)


# --------------------------------------------------------------------------- C arrays

def _compile(path: Path, tmp_path: Path) -> None:
    result = subprocess.run(["cc", "-c", "-std=c++17", "-Wall", "-Werror", str(path), "-o",
                             str(tmp_path / (path.stem + ".o"))], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("cc") is None or shutil.which("c++") is None,
                    reason="needs a C/C++ compiler")
def test_to_c_array_compiles_and_round_trips(sine, tmp_path):
    array = mcu.to_c_array(sine, "g_sine_model")
    header, source = array                                     # unpacks as a pair
    assert "extern const unsigned char g_sine_model[];" in header
    assert "extern const unsigned int g_sine_model_len;" in header
    assert "alignas(16) const unsigned char g_sine_model[]" in source
    assert f"g_sine_model_len = {len(sine)};" in source
    h, cc = array.write(tmp_path / "fw")
    assert (h.name, cc.name) == ("sine_model_data.h", "sine_model_data.cc")
    _compile(cc, tmp_path)
    main = tmp_path / "fw" / "main.cc"
    main.write_text('#include <cstdio>\n#include "sine_model_data.h"\n'
                    "int main() { fwrite(g_sine_model, 1, g_sine_model_len, stdout); return 0; }\n")
    exe = tmp_path / "dump"
    subprocess.run(["c++", "-std=c++17", str(main), str(cc), "-o", str(exe)], check=True)
    assert subprocess.run([str(exe)], capture_output=True, check=True).stdout == sine
    # The hex text alone gives the bytes back too.
    hex_bytes = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", source))
    assert hex_bytes == sine


@pytest.mark.parametrize("name", ["1model", "my-model", "", "int", None])
def test_to_c_array_rejects_bad_identifiers(sine, name):
    with pytest.raises(ValueError, match="C identifier|keyword"):
        mcu.to_c_array(sine, name)


def test_to_c_array_rejects_non_models():
    with pytest.raises(ValueError, match="model_bytes is not a TensorFlow Lite flatbuffer"):
        mcu.to_c_array(b"\x00" * 32, "g_model")


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C/C++ compiler")
def test_export_arduino_sketch_writes_a_sketch_folder(int8_model, tmp_path):
    folder = mcu.export_arduino_sketch(int8_model, tmp_path, name="wake_word",
                                       labels=["silence", "unknown", "yes", "no"])
    assert folder == tmp_path / "wake_word"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "wake_word.ino", "wake_word_data.cc", "wake_word_data.h"]
    sketch = (folder / "wake_word.ino").read_text()
    assert '#include "wake_word_data.h"' in sketch
    assert "tflite::GetModel(g_wake_word)" in sketch
    for method in ("AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddSoftmax",
                   "AddReshape"):
        assert f"resolver.{method}();" in sketch
    assert "MicroMutableOpResolver<5>" in sketch
    arena = int(re.search(r"kTensorArenaSize = (\d+);", sketch).group(1))
    assert arena >= mcu.arena_bytes(int8_model)
    assert '"silence", "unknown", "yes", "no"' in sketch
    assert "Arduino Nano 33 BLE Sense" in (folder / "README.md").read_text()
    _compile(folder / "wake_word_data.cc", tmp_path)


def test_export_arduino_sketch_rejects_bad_arguments(int8_model, sine, tmp_path):
    with pytest.raises(ValueError, match="labels must be 4 strings"):
        mcu.export_arduino_sketch(int8_model, tmp_path, labels=["yes", "no"])
    with pytest.raises(ValueError, match="C identifier"):
        mcu.export_arduino_sketch(int8_model, tmp_path, name="my sketch")
    with pytest.raises(ValueError, match="TensorFlow Lite Micro runs"):
        mcu.export_arduino_sketch(_float16_copy(sine), tmp_path)
    assert not any(tmp_path.iterdir())                         # nothing half-written


def test_import_does_not_load_tensorflow():
    code = ("import sys; import tinyml_lib.mcu, tinyml_lib.quantize; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    import sys

    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
