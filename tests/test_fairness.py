"""tinyml_lib.fairness: each strategy's defining property, against brute force and Fairlearn."""

from __future__ import annotations

import itertools
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest

from tinyml_lib import fairness

TOL = fairness.TOLERANCE


# --------------------------------------------------------------------------- data

@pytest.fixture(scope="module")
def adult():
    """Offline Adult, scored by a logistic model that never sees sex (trained on another half)."""
    from sklearn.linear_model import LogisticRegression

    from tinyml_lib.datasets import load_adult

    df, _ = load_adult(source="offline", n=10000, seed=0)
    features = df[["age", "education_num", "hours_per_week", "capital_gain"]].astype(float)
    features["married"] = (df["marital_status"] == "Married-civ-spouse").astype(float)
    features = (features - features.mean()) / features.std()
    y = df["income_over_50k"].to_numpy()
    half = len(df) // 2
    model = LogisticRegression(max_iter=500).fit(features[:half], y[:half])
    scores = model.predict_proba(features[half:])[:, 1]
    return y[half:], scores, df["sex"].to_numpy()[half:]


@pytest.fixture(scope="module")
def adult_table(adult):
    return fairness.threshold_strategies(*adult)


def _synthetic(n, seed, n_groups=3, decimals=None):
    rng = np.random.default_rng(seed)
    groups = rng.choice([f"g{k}" for k in range(n_groups)], size=n)
    base = {f"g{k}": 0.2 + 0.2 * k for k in range(n_groups)}
    y = (rng.random(n) < np.vectorize(base.get)(groups)).astype(int)
    shift = {f"g{k}": 0.1 * k for k in range(n_groups)}
    scores = np.clip(0.35 * y + np.vectorize(shift.get)(groups) + rng.normal(0.3, 0.2, n), 0, 1)
    if decimals is not None:
        scores = np.round(scores, decimals)              # ties on purpose
    return y, scores, groups


def _rows(table, strategy):
    return table[table["strategy"] == strategy].set_index("group")


def _spread(values):
    values = np.asarray(values, dtype=float)
    return float(values.max() - values.min())


# --------------------------------------------------------------------------- known answers

# group a: perfectly separable at 0.6; group b: best 3/4, reached at 0.7 and at 0.3
SMALL_Y = [0, 0, 1, 1, 0, 1, 0, 1]
SMALL_S = [0.1, 0.4, 0.6, 0.8, 0.2, 0.3, 0.5, 0.7]
SMALL_G = ["a"] * 4 + ["b"] * 4


def test_single_and_group_thresholds_on_a_hand_computed_example():
    table = fairness.threshold_strategies(SMALL_Y, SMALL_S, SMALL_G, ["single", "group"])
    assert list(table.columns) == fairness.COLUMNS
    assert list(zip(table["strategy"], table["group"])) == [
        ("single", "a"), ("single", "b"), ("group", "a"), ("group", "b")]
    single, group = _rows(table, "single"), _rows(table, "group")
    # all 8 scores: threshold 0.6 gets 7 of 8 right, the only such threshold
    assert single["threshold"].tolist() == [0.6, 0.6]
    assert single["overall_accuracy"].iloc[0] == 7 / 8
    assert single.loc["a", "accuracy"] == 1.0 and single.loc["b", "accuracy"] == 0.75
    # score == threshold is positive: a selects 0.6 and 0.8, b selects 0.7
    assert single["selection_rate"].tolist() == [0.5, 0.25]
    assert single.loc["b", "precision"] == 1.0 and single.loc["b", "tpr"] == 0.5
    # b ties between 0.7 and 0.3 (3/4 each): the higher threshold wins
    assert group["threshold"].tolist() == [0.6, 0.7]
    assert group["n"].tolist() == [4, 4]


def test_nobody_selected_is_an_infinite_threshold_with_nan_precision():
    # group b's best is to select nobody (its only positive has the lowest score)
    y = [0, 1, 0, 1, 1, 0, 0, 0]
    s = [0.1, 0.9, 0.2, 0.8, 0.1, 0.5, 0.6, 0.7]
    table = fairness.threshold_strategies(y, s, ["a"] * 4 + ["b"] * 4, "group")
    b = _rows(table, "group").loc["b"]
    assert b["threshold"] == np.inf and b["selection_rate"] == 0 and np.isnan(b["precision"])
    assert b["accuracy"] == 0.75


def test_metrics_at_counts_a_score_at_the_threshold_as_positive():
    table = fairness.metrics_at(SMALL_Y, SMALL_S, SMALL_G, {"a": 0.6, "b": 0.31})
    assert table.loc["a", "selection_rate"] == 0.5       # 0.6 and 0.8
    assert table.loc["b", "selection_rate"] == 0.5       # 0.5 and 0.7
    assert table.loc["a", "threshold"] == 0.6 and table.loc["b", "tpr"] == 0.5
    same = fairness.metrics_at(SMALL_Y, SMALL_S, SMALL_G, 0.6)
    assert same["threshold"].tolist() == [0.6, 0.6]


def _brute_force(y, s, g, metric, tol):
    """Best overall accuracy over every combination of per-group thresholds, by counting."""
    y, s, g = map(np.asarray, (y, s, g))
    options = []
    for label in np.unique(g):
        ys, ss = y[g == label], s[g == label]
        rows = []
        for t in np.append(np.unique(ss), np.inf):
            pred = ss >= t
            rows.append({"correct": int(np.sum(pred == ys)), "n": len(ys),
                         "selection_rate": pred.mean(), "tpr": pred[ys == 1].mean(),
                         "accuracy": np.mean(pred == ys)})
        options.append(rows)
    best = -1
    for combo in itertools.product(*options):
        if metric is not None and _spread([c[metric] for c in combo]) > tol + 1e-12:
            continue
        best = max(best, sum(c["correct"] for c in combo))
    return best / len(y)


@pytest.mark.parametrize("seed, decimals", [(1, None), (2, 1), (3, 2)])
@pytest.mark.parametrize("strategy, metric", [
    ("group", None), ("demographic_parity", "selection_rate"), ("equal_opportunity", "tpr"),
    ("equal_accuracy", "accuracy")])
def test_every_strategy_is_the_optimum_of_its_definition(seed, decimals, strategy, metric):
    """Exhaustive search over all per-group thresholds (3 groups, ties included) agrees."""
    y, s, g = _synthetic(45, seed, decimals=decimals)
    tol = 0.1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        table = fairness.threshold_strategies(y, s, g, strategy, tolerance=tol)
    expected = _brute_force(y, s, g, metric, tol)
    assert expected > 0 and not caught                   # tol 0.1 is reachable with 15 per group
    rows = _rows(table, strategy)
    assert rows["overall_accuracy"].iloc[0] == pytest.approx(expected, abs=1e-12)
    if metric is not None:
        assert _spread(rows[metric]) <= tol + 1e-12


def test_single_threshold_maximises_overall_accuracy_among_all_thresholds():
    y, s, g = _synthetic(300, 4, decimals=2)
    rows = _rows(fairness.threshold_strategies(y, s, g, "single"), "single")
    best = max(np.mean((s >= t) == y) for t in np.append(np.unique(s), np.inf))
    assert rows["overall_accuracy"].iloc[0] == pytest.approx(best, abs=1e-12)
    assert rows["threshold"].nunique() == 1
    t = rows["threshold"].iloc[0]
    assert np.mean((s >= t) == y) == pytest.approx(best, abs=1e-12)


# --------------------------------------------------------------------------- on Adult

def test_adult_single_threshold_treats_women_worse(adult_table):
    """The documented gap: one threshold gives women a lower TPR and a lower FPR."""
    single = _rows(adult_table, "single")
    assert single.loc["Female", "tpr"] < single.loc["Male", "tpr"] - 0.05
    assert single.loc["Female", "fpr"] < single.loc["Male", "fpr"]
    assert single.loc["Female", "selection_rate"] < single.loc["Male", "selection_rate"]


@pytest.mark.parametrize("strategy, metric", [("demographic_parity", "selection_rate"),
                                              ("equal_opportunity", "tpr"),
                                              ("equal_accuracy", "accuracy")])
def test_adult_parity_strategies_meet_their_tolerance(adult_table, strategy, metric):
    rows = _rows(adult_table, strategy)
    assert _spread(rows[metric]) <= TOL
    # the constraint has a price: never more accurate than the unconstrained group thresholds
    best = _rows(adult_table, "group")["overall_accuracy"].iloc[0]
    assert rows["overall_accuracy"].iloc[0] <= best
    # ... and it is not free here: the single threshold is far from parity
    assert _spread(_rows(adult_table, "single")[metric]) > 2 * TOL or metric == "accuracy"


def test_adult_group_thresholds_beat_a_single_threshold(adult_table):
    single, group = _rows(adult_table, "single"), _rows(adult_table, "group")
    assert group["overall_accuracy"].iloc[0] >= single["overall_accuracy"].iloc[0]
    assert (group["accuracy"] >= single["accuracy"] - 1e-12).all()


def test_table_agrees_exactly_with_fairlearn_metricframe(adult, adult_table):
    for strategy in fairness.STRATEGIES:
        thresholds = fairness.strategy_thresholds(adult_table, strategy)
        frame = fairness.metric_frame(*adult, thresholds).by_group
        ours = _rows(adult_table, strategy)
        for column in ("n", "selection_rate", "tpr", "fpr", "precision", "accuracy"):
            np.testing.assert_allclose(ours[column].to_numpy(float),
                                       frame.loc[ours.index, column].to_numpy(float),
                                       rtol=0, atol=1e-12, err_msg=f"{strategy} {column}")


@pytest.mark.parametrize("ours, constraint, metric", [
    ("demographic_parity", "demographic_parity", "selection_rate"),
    ("equal_opportunity", "true_positive_rate_parity", "tpr")])
def test_close_to_fairlearn_threshold_optimizer(adult, adult_table, ours, constraint, metric):
    """Fairlearn randomizes to meet the constraint exactly; our deterministic thresholds
    meet it within the tolerance at (nearly) the same accuracy."""
    y, scores, sex = adult
    optimizer = fairness.fairlearn_optimizer(y, scores, sex, constraint)
    predictions = optimizer.predict(scores.reshape(-1, 1), sensitive_features=sex, random_state=0)
    theirs = fairness.metrics_at(y, predictions.astype(float), sex, 0.5)
    fairlearn_accuracy = float(np.mean(predictions == y))
    rows = _rows(adult_table, ours)
    assert abs(rows["overall_accuracy"].iloc[0] - fairlearn_accuracy) <= 0.01
    for group in ("Female", "Male"):
        assert abs(rows.loc[group, metric] - theirs.loc[group, metric]) <= 0.03
    assert _spread(theirs[metric]) <= 0.03           # Fairlearn's own parity, after sampling


def test_tolerance_is_a_parameter(adult):
    loose = fairness.threshold_strategies(*adult, "demographic_parity", tolerance=0.05)
    tight = fairness.threshold_strategies(*adult, "demographic_parity", tolerance=0.002)
    assert _spread(tight["selection_rate"]) <= 0.002
    assert _spread(loose["selection_rate"]) <= 0.05
    assert loose["overall_accuracy"].iloc[0] >= tight["overall_accuracy"].iloc[0]


def test_unreachable_tolerance_warns_and_uses_the_smallest_difference():
    # a: three tied scores -> accuracy 2/3 (nobody) or 1/3 (everybody);
    # b: accuracies 1/2, 3/4, 1, 3/4, 1/2 -> the closest pair is 2/3 vs 3/4
    y = [1, 0, 0, 1, 1, 0, 0]
    s = [0.5, 0.5, 0.5, 0.9, 0.8, 0.2, 0.1]
    g = ["a"] * 3 + ["b"] * 4
    with pytest.warns(UserWarning, match=r"equal_accuracy: .*smallest difference reachable, "
                                         r"0\.0833"):
        table = fairness.threshold_strategies(y, s, g, "equal_accuracy")
    assert _spread(table["accuracy"]) == pytest.approx(1 / 12)


def test_accepts_pandas_bools_lists_and_numeric_groups(adult):
    y, scores, sex = adult
    a = fairness.threshold_strategies(pd.Series(y.astype(bool)), pd.Series(scores),
                                      pd.Series(sex), ["single", "group"])
    b = fairness.threshold_strategies(list(y), list(scores), list(sex == "Male"),
                                      ["group", "single"])
    assert set(b["group"]) == {False, True}
    assert b["strategy"].tolist()[:2] == ["group", "group"]
    np.testing.assert_allclose(_rows(a, "group")["threshold"].to_numpy(),
                               _rows(b, "group")["threshold"].to_numpy())


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("change, message", [
    (lambda y, s, g: (y[:-1], s, g), r"one entry per example; got lengths 7, 8 and 8"),
    (lambda y, s, g: (y, s, ["a"] * 8), r"only one value \('a'\).*at least two groups"),
    (lambda y, s, g: (y, [np.nan] + s[1:], g), r"1 NaN and 0 infinite .*position 0.*drop"),
    (lambda y, s, g: (y, s[:3] + [np.inf] + s[4:], g), r"0 NaN and 1 infinite .*position 3"),
    (lambda y, s, g: ([0, 1, 2] + y[3:], s, g), r"only 0 and 1 .*found 2\.0"),
    (lambda y, s, g: (["no", "yes"] * 4, s, g), r"0/1 labels .*'no', 'yes'.*astype\(int\)"),
    (lambda y, s, g: (y, np.c_[s, s], g), r"one-dimensional.*scores\[:, 1\]"),
    (lambda y, s, g: (y, ["high"] * 8, g), r"scores must be numbers"),
    (lambda y, s, g: (y, s, [None] + g[1:]), r"missing values .*position 0.*fillna"),
    (lambda y, s, g: ([0, 0, 0, 0] + y[4:], s, g), r"group 'a' has no positive .*TPR is undefined"),
    (lambda y, s, g: ([1, 1, 1, 1] + y[4:], s, g), r"group 'a' has no negative .*FPR"),
    (lambda y, s, g: ([], [], []), r"y_true is empty"),
])
def test_bad_input_says_what_is_wrong(change, message):
    y, s, g = change(list(SMALL_Y), list(SMALL_S), list(SMALL_G))
    with pytest.raises(ValueError, match=message):
        fairness.threshold_strategies(y, s, g)


@pytest.mark.parametrize("kwargs, message", [
    ({"strategies": "fair"}, (r"unknown strategy 'fair'; choose from: single, group, "
                              r"demographic_parity")),
    ({"strategies": ["single", "equalized_odds"]}, r"unknown strategy 'equalized_odds'"),
    ({"strategies": []}, r"strategies is empty"),
    ({"tolerance": 0}, r"tolerance .* between 0 and 1"),
    ({"tolerance": "small"}, r"tolerance .* got 'small'"),
])
def test_bad_options_say_what_to_choose(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fairness.threshold_strategies(SMALL_Y, SMALL_S, SMALL_G, **kwargs)


def test_bad_thresholds_and_tables_are_explained():
    with pytest.raises(ValueError, match=r"no value for group 'b'"):
        fairness.metrics_at(SMALL_Y, SMALL_S, SMALL_G, {"a": 0.5})
    with pytest.raises(ValueError, match=r"must be a number .* mapping"):
        fairness.metrics_at(SMALL_Y, SMALL_S, SMALL_G, "half")
    table = fairness.threshold_strategies(SMALL_Y, SMALL_S, SMALL_G)
    with pytest.raises(ValueError, match=r"5 strategies; pick one"):
        fairness.plot_roc(SMALL_Y, SMALL_S, SMALL_G, table)
    with pytest.raises(ValueError, match=r"'fair' is not in this table"):
        fairness.strategy_thresholds(table, "fair")
    with pytest.raises(ValueError, match=r"output of threshold_strategies"):
        fairness.describe(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match=r"metrics must be some of"):
        fairness.plot_strategies(table, metrics=("recall",))


# --------------------------------------------------------------------------- pictures

def test_plot_roc_marks_each_groups_operating_point(adult, adult_table):
    import matplotlib

    matplotlib.use("Agg")
    thresholds = fairness.strategy_thresholds(adult_table, "equal_opportunity")
    ax = fairness.plot_roc(*adult, thresholds=thresholds)
    markers = [line for line in ax.get_lines() if line.get_marker() not in ("None", None, "")
               and len(line.get_xdata()) == 1]
    assert len(markers) == 2
    expected = _rows(adult_table, "equal_opportunity")
    points = sorted((float(m.get_xdata()[0]), float(m.get_ydata()[0])) for m in markers)
    np.testing.assert_allclose(points, sorted(zip(expected["fpr"], expected["tpr"])), atol=1e-12)
    alt = fairness.describe_roc(*adult, thresholds)
    assert "Female (AUC 0." in alt and "Male (AUC 0." in alt and "TPR" in alt
    assert f"TPR {expected.loc['Female', 'tpr']:.2f}" in alt
    matplotlib.pyplot.close(ax.figure)


def test_plot_strategies_and_describe(adult_table):
    import matplotlib

    matplotlib.use("Agg")
    ax = fairness.plot_strategies(adult_table)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "single threshold", "group thresholds", "demographic parity", "equal opportunity",
        "equal accuracy"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["selection rate", "TPR", "FPR", "Female", "Male"]
    matplotlib.pyplot.close(ax.figure)
    text = fairness.describe(adult_table)
    assert text.count(".") >= 5 and text.startswith("Single threshold: overall accuracy")
    dp = _rows(adult_table, "demographic_parity")
    assert f"selection rate {dp['selection_rate'].min():.2f}" in text


# --------------------------------------------------------------------------- the explorer

def test_explore_moves_sliders_and_updates_metrics_headless(adult, adult_table):
    view = fairness.explore(*adult, plot=False)
    assert set(view.sliders) == {"Female", "Male"}
    assert view.strategy.value == "single"
    single = fairness.strategy_thresholds(adult_table, "single")
    assert view.sliders["Female"].value == pytest.approx(single["Female"])
    before = view.metrics.value
    assert "<table>" in before and "overall accuracy" in before

    view.sliders["Female"].value = 0.2
    assert view.strategy.value == "custom"
    assert view.metrics.value != before
    at = fairness.metrics_at(*adult, {"Female": 0.2, "Male": single["Male"]})
    assert f"<td>{at.loc['Female', 'tpr']:.3f}</td>" in view.metrics.value
    assert "threshold 0.2:" in view.alt
    assert view.last_update_seconds < 0.05

    view.strategy.value = "demographic_parity"
    dp = _rows(adult_table, "demographic_parity")
    for group in ("Female", "Male"):
        assert view.sliders[group].value == pytest.approx(dp.loc[group, "threshold"])
        assert f"<td>{dp.loc[group, 'selection_rate']:.3f}</td>" in view.metrics.value
    assert view.strategy.value == "demographic_parity"


def test_explore_draws_the_roc_with_alt_text(capsys):
    y, s, g = _synthetic(400, 5, n_groups=2)
    view = fairness.explore(y, s, g, strategies=["group", "equal_opportunity"])
    assert [v for _, v in view.strategy.options] == ["group", "equal_opportunity", "custom"]
    printed = capsys.readouterr().out                   # no kernel: display() prints
    assert "ROC curves (true-positive rate against false-positive rate)" in printed
    view.sliders["g0"].value = 0.9
    assert "g0 (AUC" in capsys.readouterr().out


# --------------------------------------------------------------------------- What-If Tool

def test_what_if_tool_missing_returns_none(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "witwidget", None)
    available, reason = fairness.what_if_tool_status()
    assert not available and "pip install witwidget" in reason
    assert fairness.what_if_tool(pd.DataFrame({"x": [1, 2]}), [0.1, 0.9]) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "threshold explorer" in out


def test_what_if_tool_that_does_not_import_returns_none(monkeypatch, capsys):
    # witwidget 1.8.1 with IPython >= 8: "cannot import name 'display' from IPython.core.display"
    for name in ("witwidget", "witwidget.notebook"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "witwidget.notebook.visualization",
                        types.ModuleType("witwidget.notebook.visualization"))
    available, reason = fairness.what_if_tool_status()
    assert not available and "does not import" in reason
    assert fairness.what_if_tool(pd.DataFrame({"x": [1, 2]}), [0.1, 0.9]) is None
    assert "does not import" in capsys.readouterr().out
