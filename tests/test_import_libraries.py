"""LightGBM (featgen import-model MODEL.txt) and scikit-learn (featgen.import_model.from_sklearn):
the rule fields each import records, the feature-order check, the build, and every refusal as a
clear exit-2 message naming the reason. Bit-exactness of the compiled C against each library is
parity_tests/test_model_zoo.py's."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from featgen.cli import main

if os.environ.get("CI") != "true":  # CI installs the extras (.ci/run): never skipped there
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")

SPEC = """\
spec: featgen/v1
name: byom
sample_rate_hz: 50
inputs: [acc_x, gyro_y]
windows:
  short: {length: 10, hop: 1}
features:
  - compute: [mean, std, min, max]
    of: [acc_x, gyro_y]
    over: [short]
model: {path: model}
"""
NAMES = [
    "mean__acc_x__short",
    "std__acc_x__short",
    "min__acc_x__short",
    "max__acc_x__short",
    "mean__gyro_y__short",
    "std__gyro_y__short",
    "min__gyro_y__short",
    "max__gyro_y__short",
]


@pytest.fixture()
def spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def frame(n=300, seed=0, names=NAMES):
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(NAMES)))
    return pd.DataFrame(X, columns=list(names)), (X[:, 0] + X[:, 4] > 0).astype(int)


def lgb_model(path, params=None, names=NAMES, rounds=4, categorical=False):
    import lightgbm

    X, y = frame(names=names)
    kwargs = {}
    if categorical:
        X = X.assign(**{names[2]: (X[names[2]] * 3).round().abs().astype(int)})
        kwargs["categorical_feature"] = [names[2]]
        y = (X[names[2]] % 3 == 1).astype(int)
    b = lightgbm.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1, "num_leaves": 7, **(params or {})},
        lightgbm.Dataset(X, y, **kwargs),
        rounds,
    )
    b.save_model(str(path))
    return path


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_lightgbm_text_model_imports_and_builds(spec, tmp_path):
    lgb_model(tmp_path / "model.txt")
    code, out = run(
        "import-model", tmp_path / "model.txt", "--spec", spec, "-o", tmp_path / "model"
    )
    assert code == 0, out
    assert "lightgbm text" in out and "verified on 2048 probe rows" in out
    meta = json.loads((tmp_path / "model" / "featgen_model.json").read_text())
    assert meta["library"] == "lightgbm"
    assert meta["rule"] == {
        "library": "lightgbm",
        "input": "float64",
        "threshold": "float64",
        "compare": "<=",
        "accumulate": "float64",
        "average": 0,
        "flush_zero": True,
    }
    assert meta["provenance"]["verified_against"] == "lightgbm.Booster.predict(raw_score=True)"
    assert (tmp_path / "model" / "lightgbm_model.txt").read_bytes() == (
        tmp_path / "model.txt"
    ).read_bytes()
    code, out = run("build", spec, "-o", tmp_path / "gen")
    assert code == 0, out
    assert "lightgbm:binary, 4 trees" in out and "no Core ML: coremltools has no LightGBM" in out
    c = (tmp_path / "gen" / "byom" / "c" / "byom_model.c").read_text()
    assert "double byom_model_value(double margin)" in c
    assert re.search(r"x\[\d+\] <= -?0x", c) and re.search(r"!\(x\[\d+\] > -?0x", c)
    swift = (
        tmp_path / "gen" / "byom" / "ios" / "Sources" / "ByomFeatures" / "ByomModel.swift"
    ).read_text()
    assert "var m0: Double = 0.0" in swift and "read(f[" in swift
    kotlin = next((tmp_path / "gen" / "byom" / "android").rglob("*.kt")).read_text()
    assert "val margins: DoubleArray" in kotlin and "longBitsToDouble" in kotlin
    manifest = json.loads((tmp_path / "gen" / "byom" / "manifest.json").read_text())["model"]
    assert manifest["coreml"]["file"] is None and manifest["rule"]["compare"] == "<="
    assert not list((tmp_path / "gen" / "byom").rglob("*.mlmodel"))


def test_lightgbm_positional_names_need_feature_names(spec, tmp_path):
    import lightgbm

    X, y = frame()
    b = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(X.values, y), 2)
    b.save_model(str(tmp_path / "m.txt"))
    code, out = run("import-model", tmp_path / "m.txt", "--spec", spec, "-o", tmp_path / "model")
    assert code == 2 and "no feature names (only positional ones)" in out
    names = tmp_path / "names.txt"
    names.write_text("\n".join(NAMES) + "\n")
    code, out = run(
        "import-model",
        tmp_path / "m.txt",
        "--spec",
        spec,
        "-o",
        tmp_path / "model",
        "--feature-names",
        names,
    )
    assert code == 0, out
    swapped = NAMES[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    lgb_model(tmp_path / "swapped.txt", names=swapped)
    code, out = run(
        "import-model", tmp_path / "swapped.txt", "--spec", spec, "-o", tmp_path / "model2"
    )
    assert (
        code == 2
        and "first difference at column 1: expected 'std__acc_x__short', got 'min__acc_x__short'"
        in out
    )


@pytest.mark.parametrize(
    "params,categorical,message",
    [
        ({"objective": "multiclassova", "num_class": 3}, False, "'multiclassova' is not supported"),
        ({"objective": "cross_entropy_lambda"}, False, "log(1 + exp(margin))"),
        ({"linear_tree": True}, False, "is a linear tree (linear_tree=true)"),
        ({}, True, "categorical splits"),
        ({"objective": "regression", "reg_sqrt": True}, False, "reg_sqrt"),
    ],
)
def test_lightgbm_refusals(spec, tmp_path, params, categorical, message):
    import lightgbm

    if params.get("objective") == "multiclassova":
        X, _ = frame()
        y = np.arange(len(X)) % 3
        b = lightgbm.train({**params, "verbose": -1}, lightgbm.Dataset(X, y), 2)
        b.save_model(str(tmp_path / "m.txt"))
    else:
        lgb_model(tmp_path / "m.txt", params, categorical=categorical)
    code, out = run("import-model", tmp_path / "m.txt", "--spec", spec, "-o", tmp_path / "model")
    assert code == 2, out
    assert message in out
    assert not (tmp_path / "model").exists()


def test_lambdarank_is_refused(spec, tmp_path):
    import lightgbm

    X, y = frame()
    b = lightgbm.train(
        {"objective": "lambdarank", "verbose": -1}, lightgbm.Dataset(X, y, group=[150, 150]), 2
    )
    b.save_model(str(tmp_path / "m.txt"))
    code, out = run("import-model", tmp_path / "m.txt", "--spec", spec, "-o", tmp_path / "model")
    assert code == 2 and "a ranking objective" in out


def test_missing_lightgbm_says_how_to_install(spec, tmp_path, monkeypatch):
    lgb_model(tmp_path / "m.txt")
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm -> ImportError
    code, out = run("import-model", tmp_path / "m.txt", "--spec", spec, "-o", tmp_path / "model")
    assert code == 2 and "pip install 'featgen[lightgbm]'" in out


@pytest.mark.parametrize(
    "kind,rule",
    [
        ("RandomForestClassifier", ("float32", "float64", 5)),
        ("ExtraTreesRegressor", ("float32", "float64", 5)),
        ("GradientBoostingClassifier", ("float32", "float64", 0)),
        ("HistGradientBoostingRegressor", ("float64", "float64", 0)),
    ],
)
def test_from_sklearn_records_the_rule_and_builds(spec, tmp_path, kind, rule):
    from sklearn import ensemble

    from featgen.import_model import from_sklearn

    X, y = frame()
    size = {"max_iter": 5} if kind.startswith("Hist") else {"n_estimators": 5}
    model = getattr(ensemble, kind)(random_state=0, max_depth=3, **size).fit(X, y)
    meta = from_sklearn(model, spec=spec, out=tmp_path / "model")
    assert meta["library"] == "sklearn" and meta["estimator"] == kind
    r = meta["rule"]
    assert (r["input"], r["threshold"], r["average"]) == rule and r["compare"] == "<="
    assert meta["provenance"]["feature_names_from"] == "feature_names_in_"
    code, out = run("build", spec, "-o", tmp_path / "gen")
    assert code == 0, out
    assert "no Core ML: not converted" in out


def test_from_sklearn_checks_names(spec, tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    from featgen.import_model import ImportModelError, from_sklearn

    X, y = frame()
    model = RandomForestRegressor(n_estimators=2, random_state=0).fit(X.values, y)
    with pytest.raises(ImportModelError, match="no feature names"):
        from_sklearn(model, spec=spec, out=tmp_path / "model")
    meta = from_sklearn(model, spec=spec, out=tmp_path / "model", feature_names=NAMES)
    assert meta["provenance"]["feature_names_from"] == "feature_names="
    with pytest.raises(ImportModelError, match="first difference at column 7"):
        from_sklearn(model, spec=spec, out=tmp_path / "m2", feature_names=NAMES[:7] + ["x"])


def test_from_sklearn_refusals(spec, tmp_path):
    from sklearn.ensemble import (
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LinearRegression
    from sklearn.tree import DecisionTreeClassifier

    from featgen.import_model import ImportModelError, from_sklearn

    X, y = frame()
    cases = [
        (DecisionTreeClassifier().fit(X, y), "DecisionTreeClassifier is not supported"),
        (LinearRegression().fit(X, y), "LinearRegression is not supported"),
        (
            RandomForestRegressor(n_estimators=2).fit(X, np.stack([y, y], 1)),
            "multi-output RandomForestRegressor (2 targets)",
        ),
        (
            GradientBoostingRegressor(n_estimators=2, init=LinearRegression()).fit(X, y),
            "init=LinearRegression",
        ),
    ]
    Xc = X.assign(**{NAMES[2]: (X[NAMES[2]] * 3).round().abs().astype(int)})
    cases.append(
        (
            HistGradientBoostingClassifier(max_iter=2, categorical_features=[2]).fit(Xc, y),
            "categorical features",
        )
    )
    for model, message in cases:
        with pytest.raises(ImportModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
            from_sklearn(model, spec=spec, out=tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_a_pickle_is_still_refused_and_points_to_from_sklearn(spec, tmp_path):
    import pickle

    from sklearn.ensemble import RandomForestClassifier

    X, y = frame()
    (tmp_path / "rf.pkl").write_bytes(pickle.dumps(RandomForestClassifier(2).fit(X, y)))
    code, out = run("import-model", tmp_path / "rf.pkl", "--spec", spec, "-o", tmp_path / "m")
    assert code == 2 and "does not unpickle it" in out and "from_sklearn" in out
