"""Course 2 assignment 3 (visual wake words within a flash/RAM budget) graded end to end with
nbgrader: full marks, zero, and the right partial credit for realistic wrong answers."""

import pytest
from assignment_harness import AssignmentTests

pytestmark = pytest.mark.grading

RIGHT = {
    "cut_backbone": """
        def cut_backbone(last_layer):
            cut = keras.Model(inputs=backbone.inputs, outputs=backbone.get_layer(last_layer).output,
                              name="backbone")
            cut.trainable = False
            return cut
        """,
    "build_vww_model": """
        def build_vww_model(features):
            image = keras.Input(shape=(96, 96, 1))
            pooled = keras.layers.GlobalAveragePooling2D()(features(image))
            return keras.Model(image, keras.layers.Dense(2, activation="softmax")(pooled))
        """,
    "train": """
        MY_CUT = "block6_pw_relu"
        model = build_vww_model(cut_backbone(MY_CUT))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
        """,
    "convert": """
        model_int8 = quantize.convert(model, "int8", representative_data=x_train[:100])
        """,
}

WRONG = [
    # the whole backbone: accurate, int8, but 73 KB of flash, over the 60 KB budget
    ("whole_backbone", {"train": RIGHT["train"].replace("block6_pw_relu", "block7_pw_relu")},
     8, ["test_budget"], {"test_budget": "over the 60 KB budget"}),
    # calibrated with black images: every activation range collapses, the int8 model guesses
    ("zeros_calibration", {"convert": """
        model_int8 = quantize.convert(model, "int8", representative_data=np.zeros((10, 96, 96, 1)))
        """}, 6, ["test_budget", "test_convert"], {"test_convert": "not with zeros or noise"}),
    # no quantization: a float32 model, too big for the flash budget as well
    ("float32_model", {"convert": """
        model_int8 = quantize.convert(model, "float32")
        """}, 6, ["test_budget", "test_convert"], {"test_convert": "convert with mode 'int8'"}),
]


class TestVisualWakeWords(AssignmentTests):
    ASSIGNMENT = "c2_a3_visual_wake_words"
    RIGHT = RIGHT
    WRONG = WRONG
    BLANK_FAILED = ("test_budget", "test_build_vww_model", "test_convert", "test_cut_backbone",
                    "test_train")
