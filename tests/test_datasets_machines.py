"""load_machine_sound: healthy training clips, a test set with injected faults, spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_lib.datasets import machines
from tinyml_lib.datasets.machines import load_machine_sound, plot_spectrum, spectrum


@pytest.fixture(autouse=True)
def _private_cache(cache):
    """Every test here gets its own dataset cache (the ``cache`` fixture of conftest)."""
    return cache


def test_shapes_dtypes_labels_and_source():
    x_train, x_test, y_test, info = load_machine_sound(12, 8, source="offline", seed=0)
    assert x_train.shape == (12, 1000) and x_test.shape == (16, 1000)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_test.dtype == np.int64 and y_test.sum() == 8
    fault = info.details["fault"]
    assert np.array_equal(fault != "none", y_test.astype(bool))
    assert sorted(set(fault[y_test == 1])) == sorted(machines.FAULTS)
    assert np.all(info.details["severity"][y_test == 1] >= 0.3)
    assert info.source == "offline" and info.classes == ["normal", "anomalous"]
    assert info.details["rate"] == 1000 and np.isfinite(x_test).all()


def test_sound_kind_and_fault_subset():
    x_train, x_test, y_test, info = load_machine_sound(3, 4, kind="sound", seconds=0.5,
                                                       faults=("bearing",))
    assert x_train.shape == (3, 8000) and info.details["rate"] == 16000
    assert set(info.details["fault"]) == {"none", "bearing"}


def test_deterministic_per_seed():
    a = load_machine_sound(4, 2, seed=3)
    b = load_machine_sound(4, 2, seed=3)
    c = load_machine_sound(4, 2, seed=4)
    for u, v in zip(a[:3], b[:3]):
        assert np.array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


def test_cache_hit(monkeypatch):
    x, _, _, info = load_machine_sound(3, 2)
    assert info.cache_path.exists()
    monkeypatch.setattr(machines, "_clip", lambda *a: pytest.fail("rebuilt, not cached"))
    again, _, _, _ = load_machine_sound(3, 2)
    assert np.array_equal(x, again)


def test_faults_show_where_an_engineer_looks():
    """Imbalance raises the 1x line; a bearing fault raises the resonance band."""
    x_train, x_test, y_test, info = load_machine_sound(30, 40, seed=0)
    rate = info.details["rate"]
    features, freqs = spectrum(x_train, rate, n_bins=128)
    test, _ = spectrum(x_test, rate, n_bins=128)
    fault = info.details["fault"]
    one_x = np.argmin(np.abs(freqs - machines.SHAFT_HZ))
    assert test[fault == "imbalance", one_x].mean() > features[:, one_x].mean() + 0.5
    band = (freqs > 300) & (freqs < 460)
    assert (test[fault == "bearing"][:, band].mean()
            > features[:, band].mean() + 0.3)


def test_anomalies_are_detectable_from_normal_data_only():
    """A z-score of the log spectrum, fitted on healthy clips only, ranks faults first."""
    from sklearn.metrics import roc_auc_score

    x_train, x_test, y_test, info = load_machine_sound(60, 40, seed=1)
    train, _ = spectrum(x_train, info.details["rate"])
    test, _ = spectrum(x_test, info.details["rate"])
    score = (((test - train.mean(0)) / (train.std(0) + 1e-6)) ** 2).mean(1)
    assert roc_auc_score(y_test, score) > 0.9


def test_spectrum_checks_its_input():
    features, freqs = spectrum(np.zeros(512), rate=1000, n_bins=16)
    assert features.shape == (1, 16) and freqs.shape == (16,) and freqs[-1] < 500
    with pytest.raises(ValueError, match="T >= frame"):
        spectrum(np.zeros((2, 100)), rate=1000)
    with pytest.raises(ValueError, match="n_bins"):
        spectrum(np.zeros((2, 1000)), rate=1000, n_bins=500)
    ax = plot_spectrum(np.zeros((2, 1000)) + 0.1, rate=1000, label="healthy")
    assert ax.get_xlabel() == "frequency (Hz)"


@pytest.mark.parametrize("kwargs, message", [
    ({"n_normal": 0}, "n_normal"),
    ({"n_anomalous": -1}, "n_anomalous"),
    ({"seed": 2.0}, "seed"),
    ({"kind": "current"}, "kind"),
    ({"faults": ("overheating",)}, "faults must be"),
    ({"seconds": 0.1}, "seconds"),
    ({"source": "mimii"}, "source='mimii' is not one of"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_machine_sound(**{"n_normal": 3, "n_anomalous": 2, **kwargs})
