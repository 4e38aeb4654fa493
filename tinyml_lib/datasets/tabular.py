"""Tabular data with a sensitive attribute, for the fairness lesson.

:func:`load_adult` returns a pandas DataFrame with the columns of the UCI Adult
("Census Income") dataset and the target ``income_over_50k``:

- ``source="adult"`` downloads the real ``adult.data`` (train, 32,561 rows) or
  ``adult.test`` (test, 16,281 rows) from the UCI repository, SHA-256 checked.
- ``source="offline"`` generates a look-alike with **known** group differences,
  so that one decision threshold gives different true- and false-positive rates
  to women and men (see :data:`OFFLINE_SPEC` and :func:`load_adult`).

Examples
--------
>>> from tinyml_lib.datasets import load_adult
>>> df, info = load_adult(source="offline", n=1000, seed=0)
>>> df.shape[0], "income_over_50k" in df.columns
(1000, True)
"""

from __future__ import annotations

import numpy as np

from ._core import DatasetInfo, cached_arrays, check_count, check_seed, download, resolve_source

#: The real source: the UCI Machine Learning Repository's Adult files.
ADULT_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
ADULT_FILES = {
    "train": ("adult.data", "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"),
    "test": ("adult.test", "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05"),
}
REAL_SOURCES = ("adult",)

#: The columns of UCI Adult, in file order (``income_over_50k`` replaces ``income``).
COLUMNS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
           "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
           "hours_per_week", "native_country", "income_over_50k"]
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
TARGET = "income_over_50k"

_EDUCATION = {1: "Preschool", 2: "1st-4th", 3: "5th-6th", 4: "7th-8th", 5: "9th", 6: "10th",
              7: "11th", 8: "12th", 9: "HS-grad", 10: "Some-college", 11: "Assoc-voc",
              12: "Assoc-acdm", 13: "Bachelors", 14: "Masters", 15: "Prof-school",
              16: "Doctorate"}

#: What the offline generator is built from. Labels are drawn first, with a base
#: rate per sex, then every feature is drawn given the label (and, for hours, given
#: the sex), so these numbers hold by construction (up to sampling noise).
OFFLINE_SPEC = {
    "p_female": 0.33,
    "base_rate": {"Male": 0.31, "Female": 0.11},          # P(income_over_50k | sex)
    "race": {"White": 0.85, "Black": 0.10, "Asian-Pac-Islander": 0.03,
             "Amer-Indian-Eskimo": 0.01, "Other": 0.01},
    "age_mean": {0: 36.0, 1: 44.0}, "age_sd": {0: 13.0, 1: 10.0},
    "education_num_mean": {0: 9.4, 1: 11.6}, "education_num_sd": 2.3,
    # mean hours per week by (sex, label): the gap between labels is 6 h for men
    # and 3 h for women, so hours predict income less well for women.
    "hours_mean": {("Male", 0): 41.0, ("Male", 1): 47.0,
                   ("Female", 0): 35.0, ("Female", 1): 38.0},
    "hours_sd": 9.0,
    "p_married": {0: 0.35, 1: 0.85},
    "p_capital_gain": {0: 0.04, 1: 0.20},
    "occupations": {
        0: {"Adm-clerical": 0.15, "Craft-repair": 0.14, "Other-service": 0.14, "Sales": 0.11,
            "Machine-op-inspct": 0.09, "Handlers-cleaners": 0.07, "Transport-moving": 0.06,
            "Prof-specialty": 0.09, "Exec-managerial": 0.08, "Tech-support": 0.03,
            "Farming-fishing": 0.04},
        1: {"Adm-clerical": 0.06, "Craft-repair": 0.11, "Other-service": 0.02, "Sales": 0.13,
            "Machine-op-inspct": 0.04, "Handlers-cleaners": 0.01, "Transport-moving": 0.04,
            "Prof-specialty": 0.24, "Exec-managerial": 0.26, "Tech-support": 0.05,
            "Farming-fishing": 0.04},
    },
}


def load_adult(source: str = "auto", seed: int = 0, n: int | None = None,
               split: str = "train"):
    """Census records with ``sex`` and ``race``, and whether income is over $50K.

    Parameters
    ----------
    source : {"auto", "offline", "adult"}
        ``"adult"`` downloads UCI Adult (``adult.data`` for ``split="train"``,
        ``adult.test`` for ``"test"``); ``"offline"`` generates a look-alike;
        ``"auto"`` is ``"adult"`` when online, else ``"offline"``.
    seed : int
        Random seed: the generated rows (offline), or which rows are kept and in
        what order (real data with ``n``).
    n : int or None
        Number of rows. ``None`` is every row of the real split, or 5,000
        generated rows offline.
    split : {"train", "test"}
        Which part. Offline, the two splits are independent draws.

    Returns
    -------
    df : pandas.DataFrame
        Columns :data:`COLUMNS`: numbers as ``int64``, categories as ``str``
        (missing values in the real data are ``NaN``), and ``income_over_50k``
        as ``int64`` 0/1.
    info : DatasetInfo
        ``info.source`` says which source was used; ``info.details`` holds the
        URL and checksum, or the generator's :data:`OFFLINE_SPEC`.

    Notes
    -----
    The offline generator draws the label first with a **base rate of 31 % for men
    and 11 % for women** (as in the real data: 30.6 % and 10.9 %), 67 % men, then
    draws each feature given the label: age (means 36 / 44 years), years of
    education (9.4 / 11.6), marriage (35 % / 85 %), capital gains (4 % / 20 %),
    occupation, and hours per week, whose gap between the labels is **6 h for men
    but 3 h for women** (a feature whose relation to the label differs by group).
    A model that never sees ``sex`` and is scored at one threshold therefore has a
    lower true-positive rate and a lower false-positive rate for women.

    Examples
    --------
    >>> df, info = load_adult(source="offline", n=2000, seed=1)
    >>> df.groupby("sex")["income_over_50k"].mean().round(1).to_dict()   # doctest: +SKIP
    {'Female': 0.1, 'Male': 0.3}
    """
    seed = check_seed(seed)
    if n is not None:
        n = check_count("n", n)
    if split not in ADULT_FILES:
        raise ValueError(f"split={split!r} is not one of 'train', 'test'.")
    source = resolve_source(source, REAL_SOURCES)
    if source == "offline":
        rows = 5000 if n is None else n
        settings = {"v": 1, "source": source, "n": rows, "seed": seed, "split": split}
        arrays, path, _ = cached_arrays("adult", settings, lambda: _generate(rows, seed, split))
        df = _frame(arrays)
        info = DatasetInfo(
            name="adult", source="offline",
            description=("Generated census records shaped like UCI Adult, with known group "
                         "differences: income over $50K for 31% of men and 11% of women, "
                         "and hours per week less predictive for women."),
            classes=["<=50K", ">50K"], cache_path=path,
            details={"spec": OFFLINE_SPEC, "n": rows, "split": split, "seed": seed})
        return df, info

    fname, sha = ADULT_FILES[split]
    settings = {"v": 1, "source": source, "split": split, "sha": sha, "n": n, "seed": seed}
    raw = {}

    def build():
        raw["path"] = download(ADULT_URL + fname, sha, filename=fname, folder="adult")
        df = _parse(raw["path"], test=(split == "test"))
        if n is not None:
            if n > len(df):
                raise ValueError(f"n={n} is more than the {len(df)} rows of {fname}.")
            order = np.random.default_rng(seed).permutation(len(df))[:n]
            df = df.iloc[order].reset_index(drop=True)
        return {c: _to_array(df[c]) for c in COLUMNS}

    arrays, path, _ = cached_arrays("adult", settings, build)
    info = DatasetInfo(
        name="adult", source=source,
        description=("UCI Adult: 1994 US census records (Becker & Kohavi, 1996), "
                     "CC BY 4.0, from the UCI Machine Learning Repository."),
        classes=["<=50K", ">50K"], cache_path=path,
        details={"url": ADULT_URL + fname, "sha256": sha, "split": split, "n": n, "seed": seed})
    return _frame(arrays), info


def _to_array(column) -> np.ndarray:
    if column.dtype.kind in "iuf":
        return column.to_numpy()
    return column.fillna("").astype(str).to_numpy(dtype=str)


def _frame(arrays):
    import pandas as pd

    data = {}
    for name in COLUMNS:
        values = arrays[name]
        if values.dtype.kind == "U":
            data[name] = pd.Series(values, dtype=object).replace("", np.nan)
        else:
            data[name] = values.astype(np.int64)
    return pd.DataFrame(data, columns=COLUMNS)


def _parse(path, test: bool):
    """Read ``adult.data`` / ``adult.test`` (the test file has a comment line and ``.`` labels)."""
    import pandas as pd

    names = COLUMNS[:-1] + ["income"]
    try:
        df = pd.read_csv(path, header=None, names=names, skipinitialspace=True,
                         na_values="?", skiprows=1 if test else 0, comment=None)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path} is not in the UCI Adult layout ({exc}).") from exc
    df = df.dropna(subset=["income"])
    income = df.pop("income").astype(str).str.strip().str.rstrip(".")
    unknown = sorted(set(income) - {"<=50K", ">50K"})
    if unknown:
        raise ValueError(f"{path} is not in the UCI Adult layout: unexpected income "
                         f"labels {unknown[:3]}.")
    df[TARGET] = (income == ">50K").astype(np.int64)
    for name in NUMERIC:
        df[name] = pd.to_numeric(df[name], errors="raise").astype(np.int64)
    return df.reset_index(drop=True)


def _generate(n: int, seed: int, split: str) -> dict:
    """Draw ``n`` rows from :data:`OFFLINE_SPEC` (labels first, features given labels)."""
    spec = OFFLINE_SPEC
    stream = {"train": 0, "test": 1}[split]
    rng = np.random.default_rng([seed, stream, 20240])
    female = rng.random(n) < spec["p_female"]
    sex = np.where(female, "Female", "Male")
    rate = np.where(female, spec["base_rate"]["Female"], spec["base_rate"]["Male"])
    y = (rng.random(n) < rate).astype(np.int64)

    races = list(spec["race"])
    race = rng.choice(races, size=n, p=list(spec["race"].values()))

    def by_label(table):
        return np.where(y == 1, table[1], table[0])

    age = np.clip(np.round(rng.normal(by_label(spec["age_mean"]), by_label(spec["age_sd"]))),
                  17, 90).astype(np.int64)
    edu = np.clip(np.round(rng.normal(by_label(spec["education_num_mean"]),
                                      spec["education_num_sd"])), 1, 16).astype(np.int64)
    education = np.array([_EDUCATION[e] for e in edu])
    hours_mean = np.array([spec["hours_mean"][(s, int(t))] for s, t in zip(sex, y)])
    hours = np.clip(np.round(rng.normal(hours_mean, spec["hours_sd"])), 1, 99).astype(np.int64)
    married = rng.random(n) < by_label(spec["p_married"])
    marital = np.where(married, "Married-civ-spouse",
                       rng.choice(["Never-married", "Divorced", "Separated", "Widowed"],
                                  size=n, p=[0.6, 0.25, 0.08, 0.07]))
    relationship = np.where(married, np.where(female, "Wife", "Husband"),
                            rng.choice(["Not-in-family", "Own-child", "Unmarried",
                                        "Other-relative"], size=n, p=[0.5, 0.25, 0.18, 0.07]))
    occupation = np.empty(n, dtype=object)
    for label in (0, 1):
        table = spec["occupations"][label]
        mask = y == label
        occupation[mask] = rng.choice(list(table), size=int(mask.sum()),
                                      p=np.array(list(table.values())) / sum(table.values()))
    workclass = rng.choice(["Private", "Self-emp-not-inc", "Local-gov", "State-gov",
                            "Self-emp-inc", "Federal-gov"], size=n,
                           p=[0.74, 0.08, 0.07, 0.04, 0.04, 0.03])
    gain = np.where(rng.random(n) < by_label(spec["p_capital_gain"]),
                    np.round(rng.lognormal(8.3, 0.9, n)), 0).astype(np.int64)
    loss = np.where(rng.random(n) < 0.05, np.round(rng.normal(1900, 300, n)), 0)
    loss = np.clip(loss, 0, None).astype(np.int64)
    fnlwgt = np.round(rng.lognormal(12.0, 0.5, n)).astype(np.int64)
    country = np.where(rng.random(n) < 0.9, "United-States",
                       rng.choice(["Mexico", "Philippines", "Germany", "Canada", "India"],
                                  size=n))
    return {"age": age, "workclass": workclass.astype(str), "fnlwgt": fnlwgt,
            "education": education.astype(str), "education_num": edu,
            "marital_status": marital.astype(str), "occupation": occupation.astype(str),
            "relationship": relationship.astype(str), "race": race.astype(str),
            "sex": sex.astype(str), "capital_gain": gain, "capital_loss": loss,
            "hours_per_week": hours, "native_country": country.astype(str),
            "income_over_50k": y}
