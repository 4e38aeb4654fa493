"""Course 2 assignment A2 (a "left"/"right" keyword spotter within 20 KB) graded end to end
with nbgrader: full marks, zero, and the right partial credit for realistic wrong answers."""

import pytest
from assignment_harness import AssignmentTests

pytestmark = pytest.mark.grading

# A student's own right answer: a lookup table, the library's tiny_conv, Adam by name,
# calibration on part of the training set.
RIGHT = {
    "class_numbers": """
        def class_numbers(labels, words):
            number = {"silence": 0, "unknown": 1}
            for i, word in enumerate(words):
                number[word] = i + 2
            return np.array([number[label] for label in labels])
        """,
    "build_model": """
        def build_model(n_classes):
            return kws.build_tiny_conv(n_classes)
        """,
    "train": """
        model = build_model(4)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, verbose=0)
        """,
    "convert": """
        int8_model = quantize.convert(model, "int8", representative_data=x_train[:200])
        """,
}

WRONG = [
    # the keywords first, silence and unknown after: not the order the firmware reads
    ("keywords_first", {"class_numbers": """
        def class_numbers(labels, words):
            classes = list(words) + ["silence", "unknown"]
            return np.array([classes.index(label) for label in labels])
        """}, 8, ["test_class_numbers"], {"test_class_numbers": "expected [3, 0, 2, 1]"}),
    # no stride: 49 x 40 x 8 values reach the dense layer, 62,804 parameters; it learns,
    # but is over the parameter budget and, as int8, over the 20 KB of flash
    ("over_budget", {"build_model": """
        def build_model(n_classes):
            return keras.Sequential([
                keras.Input(shape=(49, 40, 1)),
                keras.layers.Conv2D(8, (3, 3), padding="same", activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(n_classes, activation="softmax"),
            ])
        """}, 7, ["test_build_model", "test_int8_size"],
     {"test_build_model": "over the budget", "test_int8_size": "over the 20,480-byte budget"}),
    # compiled but never trained: chance-level accuracy on the float and the int8 model
    ("untrained", {"train": """
        model = build_model(len(CLASSES))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        """}, 5, ["test_int8_accuracy", "test_train"],
     {"test_train": "below the target", "test_int8_accuracy": "below"}),
    # converted, but left in float32: accurate, but four times too big for the budget
    ("float_model", {"convert": """
        int8_model = quantize.convert(model, "float32")
        """}, 9, ["test_int8_size"], {"test_int8_size": "is a float32 model"}),
]


class TestKeywordSpotting(AssignmentTests):
    ASSIGNMENT = "c2_a2_keyword_spotting"
    RIGHT = RIGHT
    WRONG = WRONG
    BLANK_FAILED = ("test_build_model", "test_class_numbers", "test_int8_accuracy",
                    "test_int8_size", "test_train")
