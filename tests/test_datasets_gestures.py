"""load_gestures: the simulated 6-axis IMU windows, and plot_gesture."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_lib.datasets import gestures
from tinyml_lib.datasets.gestures import load_gestures, plot_gesture


@pytest.fixture(autouse=True)
def _private_cache(cache):
    """Every test here gets its own dataset cache (the ``cache`` fixture of conftest)."""
    return cache


def test_shapes_dtypes_labels_people_and_source():
    x, labels, info = load_gestures(5, source="offline", seed=0)
    assert x.shape == (15, 238, 6) and x.dtype == np.float32
    assert sorted(set(labels)) == ["ring", "slope", "wing"]
    assert all((labels == g).sum() == 5 for g in ("wing", "ring", "slope"))
    people = info.details["people"]
    assert people.shape == (15,) and people.min() >= 0 and people.max() < 8
    assert info.source == "offline" and info.classes == ["wing", "ring", "slope"]
    assert info.details["rate"] == 119.0 and info.details["units"][:3] == ["g"] * 3
    assert np.all(np.abs(x[..., :3]) <= gestures.ACCEL_RANGE_G)


def test_rate_window_negative_and_subset():
    x, labels, info = load_gestures(4, rate=25, seconds=4.0, negative=True,
                                    gestures=("ring",), n_people=3)
    assert x.shape == (8, 100, 6)
    assert info.classes == ["ring", "negative"] and set(labels) == {"ring", "negative"}
    assert set(info.details["people"].tolist()) <= {0, 1, 2}


def test_physics_gravity_and_rest():
    """Before the stroke the wand rests: |accel| is about 1 g and the gyro reads about 0."""
    x, _, _ = load_gestures(10, seed=1)
    start = x[:, :4]
    norm = np.linalg.norm(start[..., :3], axis=-1)
    assert np.all(np.abs(norm - 1.0) < 0.15)
    assert np.median(np.abs(start[..., 3:])) < 8.0
    # during the gesture the wand moves and turns
    assert np.abs(x[..., 3:]).max(axis=(1, 2)).min() > 20.0


def test_deterministic_per_seed():
    a = load_gestures(3, seed=5)
    b = load_gestures(3, seed=5)
    c = load_gestures(3, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[2].details["people"], b[2].details["people"])
    assert not np.array_equal(a[0], c[0])


def test_cache_hit(monkeypatch):
    x, _, info = load_gestures(2, seed=0)
    assert info.cache_path.exists()
    monkeypatch.setattr(gestures, "_window", lambda *a: pytest.fail("rebuilt, not cached"))
    again, _, _ = load_gestures(2, seed=0)
    assert np.array_equal(x, again)


def test_learnable_across_people():
    """Trained on six people, a random forest recognises the other two."""
    from sklearn.ensemble import RandomForestClassifier

    x, labels, info = load_gestures(40, seed=0, negative=True, rate=25)
    people = info.details["people"]
    train = people < 6
    features = x.reshape(len(x), -1)
    model = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1)
    model.fit(features[train], labels[train])
    assert model.score(features[~train], labels[~train]) > 0.7  # chance is 0.25


@pytest.mark.parametrize("kwargs, message", [
    ({"n_per_class": 0}, "n_per_class"),
    ({"seed": -1}, "seed"),
    ({"gestures": ("wing", "star")}, "gestures must be"),
    ({"gestures": ()}, "gestures must be"),
    ({"negative": "yes"}, "negative"),
    ({"rate": 5}, "rate"),
    ({"seconds": 0.5}, "seconds"),
    ({"n_people": 1}, "n_people"),
    ({"source": "magic_wand"}, "source='magic_wand' is not one of"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_gestures(**{"n_per_class": 2, **kwargs})


def test_plot_gesture():
    x, labels, info = load_gestures(1, gestures="ring")
    axes = plot_gesture(x[0], rate=info.details["rate"], title=labels[0])
    assert len(axes) == 2 and len(axes[0].lines) == 3 and axes[0].get_title() == "ring"
    with pytest.raises(ValueError, match=r"\(T, 6\)"):
        plot_gesture(x)
