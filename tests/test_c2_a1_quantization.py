"""Course 2 assignment A1 (quantization) graded end to end with nbgrader: full marks,
zero, and the right partial credit for realistic wrong answers."""

import pytest
from assignment_harness import AssignmentTests

pytestmark = pytest.mark.grading

# A student's own right answer: written differently from the solution.
RIGHT = {
    "quantize": """
        def quantize_int8(x, scale, zero_point):
            q = np.rint(np.asarray(x) / scale).astype(np.int64) + int(zero_point)
            return np.clip(q, -128, 127).astype(np.int8)

        def dequantize_int8(q, scale, zero_point):
            return (np.asarray(q).astype(np.int32) - zero_point) * scale
        """,
    "choose": """
        def choose_scale_zero_point(x_min, x_max):
            lo = x_min if x_min < 0 else 0.0
            hi = x_max if x_max > 0 else 0.0
            scale = (hi - lo) / 255.0
            return scale, int(round(-128 - lo / scale))
        """,
    "convert": """
        representative_data = x_train[100:400]
        int8_model = quantize.convert(model, mode="int8", representative_data=representative_data)
        predictions = mcu.run_tflite(int8_model, x_val).argmax(axis=1)
        int8_val_accuracy = (predictions == y_val).mean()
        """,
    "small_model": """
        tiny = keras.Sequential([keras.Input(shape=(16, 16, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(24, activation="relu"),
                                 keras.layers.Dense(10, activation="softmax")])
        tiny.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        tiny.fit(x_train, y_train, epochs=20, verbose=0)
        small_model = quantize.convert(tiny, "int8", representative_data=x_train[:200])
        """,
}

WRONG = [
    # int8 arithmetic wraps: q - zero_point overflows for q > -1 with zero point -128
    ("dequantize_overflow", {"quantize": """
        def quantize_int8(x, scale, zero_point):
            return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)

        def dequantize_int8(q, scale, zero_point):
            return scale * (q - zero_point)
        """}, 8, ["test_quantize"], {"test_quantize": "int8 arithmetic overflows"}),
    # the range is not extended to hold 0: right for ranges around 0 only (hidden test)
    ("zero_not_in_range", {"choose": """
        def choose_scale_zero_point(x_min, x_max):
            scale = (x_max - x_min) / 255
            return scale, int(np.round(-128 - x_min / scale))
        """}, 8, ["test_choose"], {"test_choose": "extended to hold 0"}),
    # dynamic-range quantization: int8 weights but float input/output, not for the board
    ("dynamic_range", {"convert": """
        representative_data = x_train[:300]
        int8_model = quantize.convert(model, "dynamic")
        int8_val_accuracy = float(np.mean(mcu.run_tflite(int8_model, x_val).argmax(axis=1) == y_val))
        """}, 8, ["test_int8_model"], {"test_int8_model": "full-integer"}),
    # ships the given model in int8: accurate, but over the 16 KB budget
    ("given_model_in_int8", {"small_model": """
        small_model = int8_model
        """}, 9, ["test_small_model_size"], {"test_small_model_size": "over the budget"}),
]


class TestQuantization(AssignmentTests):
    ASSIGNMENT = "c2_a1_quantization"
    RIGHT = RIGHT
    WRONG = WRONG
    BLANK_FAILED = ("test_choose", "test_int8_model", "test_quantize", "test_representative",
                    "test_small_model_accuracy", "test_small_model_size")
