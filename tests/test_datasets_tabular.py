"""load_adult: the offline generator's group differences, caching, the UCI download path."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tinyml_lib.datasets import tabular
from tinyml_lib.datasets.tabular import load_adult


@pytest.fixture(autouse=True)
def _private_cache(cache):
    """Every test here gets its own dataset cache (the ``cache`` fixture of conftest)."""
    return cache




def test_offline_columns_dtypes_and_source():
    df, info = load_adult(source="offline", n=300, seed=0)
    assert list(df.columns) == tabular.COLUMNS
    assert len(df) == 300
    for name in tabular.NUMERIC + ["income_over_50k"]:
        assert df[name].dtype == np.int64, name
    assert set(df["income_over_50k"]) <= {0, 1}
    assert set(df["sex"]) == {"Male", "Female"}
    assert df["age"].between(17, 90).all() and df["education_num"].between(1, 16).all()
    assert info.source == "offline" and info.classes == ["<=50K", ">50K"]
    assert info.details["spec"]["base_rate"] == {"Male": 0.31, "Female": 0.11}
    assert "offline" in str(info)


def test_auto_is_offline_when_offline():
    _, info = load_adult(n=50)
    assert info.source == "offline"


def test_deterministic_per_seed_and_splits_differ():
    a, _ = load_adult(source="offline", n=200, seed=3)
    b, _ = load_adult(source="offline", n=200, seed=3)
    c, _ = load_adult(source="offline", n=200, seed=4)
    d, _ = load_adult(source="offline", n=200, seed=3, split="test")
    assert a.equals(b)
    assert not a.equals(c)
    assert not a.equals(d)


def test_second_call_comes_from_the_cache(monkeypatch):
    first, info = load_adult(source="offline", n=100, seed=1)
    assert info.cache_path.exists()

    def fail(*args):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(tabular, "_generate", fail)
    again, info2 = load_adult(source="offline", n=100, seed=1)
    assert again.equals(first) and info2.cache_path == info.cache_path


def test_documented_group_differences_hold():
    """Base rates by sex, and one threshold -> lower TPR and FPR for women."""
    from sklearn.linear_model import LogisticRegression

    df, _ = load_adult(source="offline", n=12000, seed=0)
    rates = df.groupby("sex")["income_over_50k"].mean()
    assert abs(rates["Male"] - 0.31) < 0.02 and abs(rates["Female"] - 0.11) < 0.02
    assert abs((df["sex"] == "Female").mean() - 0.33) < 0.02
    gap = df.groupby(["sex", "income_over_50k"])["hours_per_week"].mean()
    assert abs((gap["Male", 1] - gap["Male", 0]) - 6) < 1.0
    assert abs((gap["Female", 1] - gap["Female", 0]) - 3) < 1.0

    features = df[["age", "education_num", "hours_per_week", "capital_gain"]].astype(float)
    features["married"] = (df["marital_status"] == "Married-civ-spouse").astype(float)
    features = (features - features.mean()) / features.std()
    y = df["income_over_50k"].to_numpy()
    half = len(df) // 2
    model = LogisticRegression(max_iter=500).fit(features[:half], y[:half])
    pred = model.predict_proba(features[half:])[:, 1] >= 0.5
    test, sex = y[half:], df["sex"].to_numpy()[half:]
    accuracy = (pred == test).mean()
    assert accuracy > 0.8, "the features should predict income well above the 24% base rate"
    tpr = {g: pred[(sex == g) & (test == 1)].mean() for g in ("Male", "Female")}
    fpr = {g: pred[(sex == g) & (test == 0)].mean() for g in ("Male", "Female")}
    assert tpr["Female"] < tpr["Male"] - 0.05
    assert fpr["Female"] < fpr["Male"]


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"n": 0}, "n must be"),
    ({"split": "validation"}, "split"),
    ({"source": "census"}, "source='census' is not one of"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_adult(**{"source": "offline", **kwargs})


def test_real_source_refused_when_offline_is_set():
    with pytest.raises(RuntimeError, match="TINYML_OFFLINE"):
        load_adult(source="adult")


TRAIN = """39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K
50, Self-emp-not-inc, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, United-States, <=50K
38, Private, 215646, HS-grad, 9, Divorced, ?, Not-in-family, White, Male, 0, 0, 40, ?, <=50K
52, Self-emp-inc, 287927, HS-grad, 9, Married-civ-spouse, Exec-managerial, Wife, White, Female, 15024, 0, 40, Cuba, >50K

"""
TEST = """|1x3 Cross validator
25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K.
44, Private, 160323, Some-college, 10, Married-civ-spouse, Machine-op-inspct, Husband, Black, Male, 7688, 0, 40, United-States, >50K.
"""


def _serve_adult(root, base, monkeypatch, corrupt=False):
    files = {}
    for split, (name, _) in tabular.ADULT_FILES.items():
        text = TRAIN if split == "train" else TEST
        (root / name).write_text(text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        files[split] = (name, "0" * 64 if corrupt else digest)
    monkeypatch.setattr(tabular, "ADULT_URL", base)
    monkeypatch.setattr(tabular, "ADULT_FILES", files)
    monkeypatch.setenv("TINYML_OFFLINE", "0")


def test_download_parses_the_real_layout(server, monkeypatch, cache):
    root, base = server
    _serve_adult(root, base, monkeypatch)
    df, info = load_adult(source="adult")
    assert info.source == "adult" and info.details["url"].startswith("http://127.0.0.1")
    assert len(df) == 4 and list(df.columns) == tabular.COLUMNS
    assert df["income_over_50k"].tolist() == [0, 0, 0, 1]
    assert df["occupation"].isna().tolist() == [False, False, True, False]
    assert df.loc[3, "sex"] == "Female" and df.loc[3, "capital_gain"] == 15024
    test, _ = load_adult(source="adult", split="test")
    assert test["income_over_50k"].tolist() == [0, 1] and test.loc[0, "age"] == 25
    sample, _ = load_adult(source="adult", n=2, seed=5)
    assert len(sample) == 2
    assert (cache / "adult" / "adult.data").exists()
    with pytest.raises(ValueError, match="more than the 4 rows"):
        load_adult(source="adult", n=10)


def test_corrupted_download_is_a_clear_error_and_leaves_nothing(server, monkeypatch, cache):
    root, base = server
    _serve_adult(root, base, monkeypatch, corrupt=True)
    with pytest.raises(ValueError, match="corrupted"):
        load_adult(source="adult")
    leftovers = [p for p in cache.rglob("*") if p.is_file()]
    assert leftovers == []
