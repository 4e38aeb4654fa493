"""tinyml_lib.anomaly: features, detectors, thresholds, ROC / AUC, plots and their alt text."""

import numpy as np
import pytest

from tinyml_lib import anomaly
from tinyml_lib.datasets import load_machine_sound


@pytest.fixture(scope="module")
def vibration():
    x_train, x_test, y_test, info = load_machine_sound(60, 30, kind="vibration", seed=3)
    return x_train, x_test, y_test, info


# -- features --------------------------------------------------------------------------

def test_features_put_a_tone_in_its_band():
    t = np.arange(1000) / 1000
    f, freqs = anomaly.features(np.sin(2 * np.pi * 100 * t), rate=1000, n_bands=10)
    assert f.shape == (1, 10) and f.dtype == np.float32
    assert freqs[np.argmax(f[0])] == pytest.approx(125, abs=15)
    assert np.all(np.diff(freqs) > 0)


def test_features_pick_mel_bands_for_a_microphone():
    t = np.arange(16000) / 16000
    tone = 0.5 * np.sin(2 * np.pi * 150 * t)
    mel, mel_freqs = anomaly.features(tone, rate=16000, n_bands=32)
    linear, linear_freqs = anomaly.features(tone, rate=16000, n_bands=32, scale="linear")
    # mel bands are narrow at low frequencies: many below 500 Hz, where linear has one
    assert np.sum(mel_freqs < 500) >= 5 and np.sum(linear_freqs < 500) == 2
    assert abs(mel_freqs[np.argmax(mel[0])] - 150) < 40
    # the log compresses: the tone's band is far above the empty ones
    assert mel[0].max() - np.median(mel[0]) > 3


def test_features_separate_healthy_from_faulty(vibration):
    x_train, x_test, y_test, info = vibration
    f_train, _ = anomaly.features(x_train, info.details["rate"])
    f_test, _ = anomaly.features(x_test, info.details["rate"])
    z = (f_test - f_train.mean(0)) / f_train.std(0)
    assert anomaly.auc(y_test, np.abs(z).mean(axis=1)) > 0.8


@pytest.mark.parametrize("kwargs, message", [
    ({"clips": np.zeros((2, 3, 4)), "rate": 1000}, "shape \\(N, samples\\)"),
    ({"clips": np.full((1, 1000), np.nan), "rate": 1000}, "NaN"),
    ({"clips": np.zeros((1, 1000)), "rate": 0}, "sampling rate"),
    ({"clips": np.zeros((1, 1000)), "rate": 1000, "n_bands": 1}, "n_bands"),
    ({"clips": np.zeros((1, 1000)), "rate": 1000, "scale": "bark"}, "scale"),
    ({"clips": np.zeros((1, 100)), "rate": 1000, "frame": 256}, "fewer than one frame"),
    ({"clips": np.zeros((1, 1000)), "rate": 1000, "n_bands": 200, "frame": 256}, "FFT bins"),
])
def test_features_reject_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        anomaly.features(**kwargs)


# -- k-means ----------------------------------------------------------------------------

def test_kmeans_detector_scores_distance_to_the_nearest_centre():
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(0, 0.1, (30, 2)), rng.normal(5, 0.1, (30, 2))])
    detector = anomaly.KMeansDetector(n_clusters=2, seed=1).fit(blobs)
    centres = detector.centroids[np.argsort(detector.centroids[:, 0])]
    assert np.allclose(centres, [[0, 0], [5, 5]], atol=0.1)
    scores = detector.score([[0, 0], [5, 5.5], [2.5, 2.5]])
    assert scores[0] < 0.1 and scores[1] == pytest.approx(0.5, abs=0.1)
    assert scores[2] == pytest.approx(np.hypot(2.5, 2.5), abs=0.15)
    assert "fitted" in repr(detector)


def test_kmeans_detector_is_reproducible_and_separates_faults(vibration):
    x_train, x_test, y_test, info = vibration
    f_train, _ = anomaly.features(x_train, 1000)
    f_test, _ = anomaly.features(x_test, 1000)
    m, s = f_train.mean(0), f_train.std(0)
    a = anomaly.KMeansDetector(4, seed=0).fit((f_train - m) / s)
    b = anomaly.KMeansDetector(4, seed=0).fit((f_train - m) / s)
    assert np.array_equal(a.centroids, b.centroids)
    assert anomaly.auc(y_test, a.score((f_test - m) / s)) > 0.95


def test_kmeans_detector_validates():
    with pytest.raises(ValueError, match="n_clusters"):
        anomaly.KMeansDetector(0)
    with pytest.raises(ValueError, match="fit the detector"):
        anomaly.KMeansDetector(2).score(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="cannot make 5 clusters"):
        anomaly.KMeansDetector(5).fit(np.zeros((3, 2)))
    detector = anomaly.KMeansDetector(1).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="fitted on 2 features"):
        detector.score(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="2-D array"):
        detector.score(np.zeros(3))


# -- autoencoder ------------------------------------------------------------------------

def test_autoencoder_learns_healthy_and_its_error_flags_faults(vibration):
    x_train, x_test, y_test, _ = vibration
    f_train, _ = anomaly.features(x_train, 1000, n_bands=16)
    f_test, _ = anomaly.features(x_test, 1000, n_bands=16)
    m, s = f_train.mean(0), f_train.std(0)
    model = anomaly.autoencoder(16, hidden=(16, 4, 16), seed=0)
    assert model.count_params() == 16 * 16 + 16 + 16 * 4 + 4 + 4 * 16 + 16 + 16 * 16 + 16
    history = anomaly.train(model, (f_train - m) / s, epochs=30)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    errors = anomaly.reconstruction_error(model, (f_test - m) / s)
    assert errors.shape == (len(y_test),) and np.all(errors >= 0)
    assert anomaly.auc(y_test, errors) > 0.9


def test_autoencoder_validates():
    with pytest.raises(ValueError, match="n_inputs"):
        anomaly.autoencoder(0)
    with pytest.raises(ValueError, match="hidden"):
        anomaly.autoencoder(8, hidden=())
    with pytest.raises(ValueError, match="epochs"):
        anomaly.train(anomaly.autoencoder(4, hidden=(2,)), np.zeros((5, 4)), epochs=0)


def test_reconstruction_error_needs_an_autoencoder():
    class Halver:   # a "model" that gives back half the features
        def predict(self, x, verbose=0):
            return np.asarray(x)[:, : x.shape[1] // 2]

    with pytest.raises(ValueError, match="as many as it gets"):
        anomaly.reconstruction_error(Halver(), np.zeros((3, 4)))

    class Zero:
        def predict(self, x, verbose=0):
            return np.zeros_like(x)

    assert np.allclose(anomaly.reconstruction_error(Zero(), [[1.0, 3.0]]), [5.0])


# -- thresholds -------------------------------------------------------------------------

def test_threshold_for_is_the_lowest_within_budget():
    healthy = np.arange(1, 11) / 10
    assert anomaly.threshold_for(healthy, 0.2) == pytest.approx(0.9)
    assert anomaly.threshold_for(healthy, 0.25) == pytest.approx(0.9)
    assert anomaly.threshold_for(healthy, 1.0) == pytest.approx(0.1)
    assert anomaly.threshold_for(healthy, 0.0) > 1.0
    rng = np.random.default_rng(1)
    for budget in (0.0, 0.03, 0.1, 0.5):
        s = np.round(rng.normal(size=200), 1)             # ties
        t = anomaly.threshold_for(s, budget)
        assert np.mean(s >= t) <= budget
        lower = s[s < t]
        if lower.size:                                    # the next lower score breaks it
            assert np.mean(s >= lower.max()) > budget


@pytest.mark.parametrize("args, message", [
    (([], 0.1), "non-empty"),
    (([1.0, np.inf], 0.1), "NaN or infinite"),
    (([1.0, 2.0], 1.5), "between 0 and 1"),
    (([1.0, 2.0], True), "between 0 and 1"),
])
def test_threshold_for_validates(args, message):
    with pytest.raises(ValueError, match=message):
        anomaly.threshold_for(*args)


def test_evaluate_counts_alarms_and_misses():
    point = anomaly.evaluate([0, 0, 0, 1, 1], [0.1, 0.5, 0.7, 0.5, 0.2], 0.5)
    assert point["false_alarms"] == 2 and point["missed"] == 1 and point["detected"] == 1
    assert point["false_alarm_rate"] == pytest.approx(2 / 3)
    assert point["recall"] == pytest.approx(0.5) and point["precision"] == pytest.approx(1 / 3)
    assert np.isnan(anomaly.evaluate([0, 1], [0.1, 0.2], 1.0)["precision"])
    with pytest.raises(ValueError, match="both healthy"):
        anomaly.evaluate([1, 1], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="0 \\(healthy\\) or 1"):
        anomaly.evaluate([0, 2], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="finite number"):
        anomaly.evaluate([0, 1], [0.1, 0.2], float("nan"))


def test_per_fault_lists_healthy_first():
    table = anomaly.per_fault(["drift", "none", "bearing", "none"], [0.9, 0.6, 0.2, 0.1], 0.5)
    assert list(table) == ["none", "bearing", "drift"]
    assert table["none"] == {"clips": 2, "flagged": 1, "rate": 0.5}
    assert table["drift"]["rate"] == 1.0 and table["bearing"]["rate"] == 0.0
    assert all(type(name) is str for name in table)
    with pytest.raises(ValueError, match="one entry per clip"):
        anomaly.per_fault(["none"], [0.1, 0.2], 0.5)


# -- ROC and AUC ------------------------------------------------------------------------

def test_roc_runs_from_nothing_flagged_to_everything():
    curve = anomaly.roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert curve["false_alarm_rate"].tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert curve["recall"].tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert np.isinf(curve["threshold"][0])


def test_auc_is_the_chance_a_fault_outscores_a_healthy_clip():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.normal(y, 1.0), 1)                   # many ties
    f, h = s[y == 1], s[y == 0]
    pairs = np.mean((f[:, None] > h[None]) + 0.5 * (f[:, None] == h[None]))
    assert anomaly.auc(y, s) == pytest.approx(pairs)
    assert anomaly.auc(y, -s) == pytest.approx(1 - pairs)
    assert anomaly.auc([0, 1], [0.0, 1.0]) == 1.0
    assert anomaly.auc([0, 1, 0, 1], [1.0, 1.0, 1.0, 1.0]) == 0.5


# -- plots and alt text -----------------------------------------------------------------

def test_plots_draw_and_describe_with_numbers(vibration):
    from tinyml_lib import plots

    x_train, x_test, y_test, info = vibration
    fault = info.details["fault"]
    f_train, _ = anomaly.features(x_train, 1000)
    f_test, _ = anomaly.features(x_test, 1000)
    m, s = f_train.mean(0), f_train.std(0)
    scores = anomaly.KMeansDetector(4).fit((f_train - m) / s).score((f_test - m) / s)
    t = float(np.median(scores))

    fig, axes = plots.figure(2, 2)
    anomaly.plot_spectra(x_test, 1000, fault, ax=axes[0, 0])
    anomaly.plot_scores(y_test, scores, threshold=t, ax=axes[0, 1])
    anomaly.plot_roc(y_test, {"a": scores, "b": -scores}, threshold={"a": t}, ax=axes[1, 0])
    anomaly.plot_per_fault(fault, scores, t, ax=axes[1, 1])
    assert len(axes[0, 0].lines) == 5                    # healthy + four faults
    assert len(axes[1, 1].patches) == 5
    assert len(plots.to_png(fig)) > 1000

    text = anomaly.describe_spectra(x_test, 1000, fault)
    assert "healthy spectrum peaks near" in text and "imbalance differs most" in text
    point = anomaly.evaluate(y_test, scores, t)
    text = anomaly.describe_scores(y_test, scores, t)
    assert f"{point['false_alarms']} healthy clips are above it" in text
    text = anomaly.describe_roc(y_test, {"a": scores}, {"a": t})
    assert f"AUC {anomaly.auc(y_test, scores):.3f}" in text and "recall" in text
    text = anomaly.describe_per_fault(fault, scores, t)
    table = anomaly.per_fault(fault, scores, t)
    assert f"{table['drift']['flagged']} of {table['drift']['clips']} drift clips flagged" in text


def test_plot_spectra_checks_labels():
    with pytest.raises(ValueError, match="labels must name each clip"):
        anomaly.plot_spectra(np.zeros((3, 1000)), 1000, ["none", "drift"])
