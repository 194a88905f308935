"""Every supported XGBoost objective, trained here on small seeded data, imported with
``featgen import-model`` and compiled: margins bit-equal to XGBoost's output_margin on boundary
vectors and rows (one-row C and batch C), the objective's value equal to XGBoost's prediction,
and the decision on the margin equal to XGBoost's own transformed prediction compared with the
threshold (0 flips). One objective end to end through ``featgen build``'s detector, and one
regression through the Swift detector and the Kotlin/JNI module."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codegen.build import generate
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from codegen.trees import fp32, objectives
from codegen.trees.model_dir import load_bundle
from featgen.harness import prediction as mh
from featgen.import_model import import_model
from featurespec import load_spec
from parity_tests.conftest import require_swiftc

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


def write_spec(directory, decision: str | None = None):
    path = directory / "spec.yaml"
    path.write_text(SPEC + (f"decision: {decision}\n" if decision else ""))
    return load_spec(path)


def data(n: int = 600, seed: int = 0):
    """Seeded rows with NaNs, values that repeat (thresholds land on them) and a signal."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 8)), 2)
    X[rng.random(X.shape) < 0.05] = np.nan
    signal = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 4]) + 0.3 * rng.normal(size=n)
    return X, signal


def labels(objective: str, signal: np.ndarray) -> np.ndarray:
    if objective.startswith(("binary:",)) or objective == "reg:logistic":
        return (signal > 0.3).astype(float)
    if objective.startswith("multi:"):
        return np.digitize(signal, [-0.5, 0.5]).astype(float)
    if objective == "count:poisson":
        return np.floor(np.exp(signal / 2))
    if objective == "survival:cox":  # negative: censored
        return np.where(signal > 1.5, -1.0, 1.0) * np.exp(-signal / 2)
    if objective in ("reg:gamma", "reg:tweedie", "reg:squaredlogerror", "survival:aft"):
        return np.exp(signal / 2)
    return signal


def train(objective: str, names, rounds: int = 8, seed: int = 0, **extra):
    import xgboost

    X, signal = data(seed=seed)
    y = labels(objective, signal)
    d = xgboost.DMatrix(X, label=y, feature_names=list(names), missing=np.nan)
    if objective == "survival:aft":
        d.set_float_info("label_lower_bound", y)
        d.set_float_info("label_upper_bound", np.where(signal > 1.5, np.inf, y))
    params = {
        "objective": objective,
        "max_depth": 3,
        "eta": 0.3,
        "nthread": 1,
        "seed": seed,
        "tree_method": "hist",
        **extra,
    }
    if objective.startswith("multi:"):
        params["num_class"] = 3
    if objective == "reg:quantileerror":
        params["quantile_alpha"] = 0.8
    return xgboost.train(params, d, rounds), X


def threshold_for(objective: str, booster, X) -> str | None:
    """A decision block whose threshold splits the rows' predictions (regressions), or None
    (binary objectives use their default)."""
    spec = objectives.objective(objective)
    if spec.kind != "regression":
        return None
    value = np.sort(booster.inplace_predict(X))
    return f"{{threshold: {float(value[len(value) // 2])!r}}}"


FORMATS = {"json": "model.json", "ubj": "model.ubj"}


@pytest.mark.parametrize(
    "objective",
    [
        o
        for o in objectives.OBJECTIVES  # XGBoost's
        if not o.startswith(("lightgbm:", "sklearn:"))
    ],
)
def test_objective_is_bit_exact(objective, tmp_path):
    names = write_spec(tmp_path).feature_names
    booster, X = train(objective, names)
    fmt = "ubj" if len(objective) % 2 else "json"  # both formats, spread over runs
    source = tmp_path / FORMATS[fmt]
    booster.save_model(str(source))
    spec = write_spec(tmp_path, threshold_for(objective, booster, X))
    meta = import_model(source, spec, tmp_path / "model")
    assert meta["objective"] == objective
    forest = load_bundle(spec).forest
    decision = decisions.resolve(spec.decision, forest)

    # XGBoost 3.x keeps base_score in the prediction's space (a vector, the "intercept", for
    # multi-class): the base margin featgen reads from XGBoost is its ProbToMargin image
    base_score = [float(v) for v in meta["params"]["base_score"].strip("[]").split(",")]
    image = {
        "sigmoid": fp32.sigmoid,
        "exp": np.exp,
        "identity": np.asarray,
        "hinge": np.asarray,
        "softmax": np.asarray,
    }[forest.transform]
    np.testing.assert_allclose(
        image(np.array(forest.base_margin, dtype=np.float32)), base_score, rtol=2e-6, atol=1e-7
    )

    rows = np.concatenate([X, mh.boundary_vectors(forest, X[:2])])
    want = mh.xgboost_margins(booster, rows)
    c = mh.ForestC(forest, tmp_path)
    for got in (c.margins(rows), c.margins_batch(rows), forest.margins(rows)):
        assert mh.bits_equal(want, got).all(), objective

    if forest.n_outputs == 1:
        # the value: XGBoost's prediction, bit for bit (exp: the same glibc expf here)
        value_fn = getattr(
            c.lib,
            "forest_model_value" if forest.transform != "sigmoid" else "forest_model_probability",
        )
        ours = np.array([value_fn(float(m)) for m in want[:, 0]], dtype=np.float32)
        theirs = np.asarray(booster.inplace_predict(rows, missing=np.nan), dtype=np.float32)
        assert mh.bits_equal(ours[:, None], theirs[:, None]).all(), objective
        # the decision on the margin == XGBoost's own prediction against the threshold
        ours_pos = decisions.positive(decision, want)
        if decision.kind == "binary":
            theirs_pos = theirs.astype(np.float64) >= decision.threshold
            assert (ours_pos == theirs_pos).all(), objective
            assert 0 < ours_pos.sum() < len(rows), "the threshold should split the rows"
        else:
            assert decision.kind == "none" and not ours_pos.any()
    else:  # multi:softmax predicts XGBoost's class; np.argmax is also first-on-ties
        theirs = booster.inplace_predict(rows, missing=np.nan)
        classes = (
            np.asarray(theirs).astype(np.int64)
            if objective == "multi:softmax"
            else np.argmax(want, axis=1)
        )
        assert (decisions.argmax_first(want) == classes).all()


def zero_model(objective: str):
    """A one-split model whose leaves are all 0: with a base_margin per row its prediction is
    XGBoost's own transform of that margin."""
    import xgboost

    y = (
        [0.0, 1.0, 0.0, 1.0]
        if objective in ("binary:hinge", "binary:logitraw", "reg:logistic")
        else [1.0, 2.0, 3.0, 2.0]
    )
    booster = xgboost.train(
        {"objective": objective, "max_depth": 1, "nthread": 1},
        xgboost.DMatrix(np.arange(4.0)[:, None], label=y),
        1,
    )
    doc = json.loads(booster.save_raw("json"))
    for t in doc["learner"]["gradient_booster"]["model"]["trees"]:
        t["split_conditions"] = [0.0 for _ in t["split_conditions"]]
    zero = xgboost.Booster()
    zero.load_model(bytearray(json.dumps(doc).encode()))
    return zero


@pytest.mark.parametrize(
    "objective,thresholds",
    [
        ("count:poisson", (0.5, 1.0, 2.5, 7.0, 1e-3, 123.456)),
        ("reg:gamma", (3.0, 0.25)),
        ("reg:squarederror", (2.5, -1.0, 0.0, 1e-30)),
        ("binary:logitraw", (0.0, -0.7)),
        ("binary:hinge", (0.5, 1.0)),
        ("reg:logistic", (0.3, 0.8)),
    ],
)
def test_margin_threshold_against_xgboosts_own_transform(objective, thresholds):
    """m* and its +-64 float32 neighbours fed to XGBoost as base margins: its own prediction
    reaches the threshold exactly from m* up."""
    import xgboost

    zero = zero_model(objective)
    transform = objectives.objective(objective).transform
    ks = np.arange(-64, 65)
    for t in thresholds:
        m = fp32.margin_threshold(t, transform=transform)
        margins = np.array([fp32.next_f32(m, int(k)) for k in ks], dtype=np.float32)
        d = xgboost.DMatrix(np.zeros((len(ks), 1)), base_margin=margins)
        assert not (zero.predict(d, output_margin=True) - margins).any()
        value = zero.predict(d).astype(np.float64)
        assert (value[ks >= 0] >= t).all() and (value[ks < 0] < t).all(), (objective, t)


def test_regression_threshold_is_located_when_unreachable(tmp_path):
    names = write_spec(tmp_path).feature_names
    booster, _ = train("count:poisson", names)
    booster.save_model(str(tmp_path / "m.json"))
    spec = write_spec(tmp_path, "{threshold: -1}")
    import_model(tmp_path / "m.json", spec, tmp_path / "model")
    from featurespec import SpecError

    with pytest.raises(
        SpecError,
        match=r"spec.yaml:12:23: decision.threshold: the threshold -1 "
        r"is below every value of this count:poisson model "
        r"\(the expected count, exp\(margin\)\) can give, so "
        r"every vector would be positive",
    ):
        generate(spec)
    booster, _ = train("binary:logistic", names)
    booster.save_model(str(tmp_path / "b.json"))
    spec = write_spec(tmp_path, "{threshold: 1.5}")
    import_model(tmp_path / "b.json", spec, tmp_path / "model")
    with pytest.raises(
        SpecError,
        match=r"spec.yaml:12:23: decision.threshold: the threshold is a "
        r"probability strictly between 0 and 1 for "
        r"binary:logistic, got 1.5",
    ):
        generate(spec)


@pytest.fixture(scope="module")
def poisson_build(tmp_path_factory):
    """count:poisson through featgen build: the detector's C, decisions and value."""
    root = tmp_path_factory.mktemp("poisson")
    names = write_spec(root).feature_names
    booster, X = train("count:poisson", names, rounds=12)
    booster.save_model(str(root / "m.ubj"))
    spec = write_spec(
        root, threshold_for("count:poisson", booster, X).replace("}", ", consecutive: 2}")
    )
    import_model(root / "m.ubj", spec, root / "model")
    return spec, generate(spec), booster, X, root


def test_build_ships_an_imported_regression_exactly(poisson_build):
    spec, files, booster, X, root = poisson_build
    model = manifest_of(files).model
    assert model.objective == "count:poisson"
    assert model.decision["transform"] == "exp"
    header = files["c/byom_model.h"]
    assert "float byom_model_value(float margin);" in header
    assert "byom_model_probability" not in header
    kotlin = next(v for k, v in files.items() if k.endswith("Byom.kt"))
    assert "val value: Float" in kotlin and "val probability" not in kotlin
    swift = files["ios/Sources/ByomFeatures/ByomDetector.swift"]
    assert "public var value: Float { probabilities[0] }" in swift
    detector = mh.Detector(files, spec.name, root)
    forest = load_bundle(spec).forest
    rows = np.concatenate([X, mh.boundary_vectors(forest, X[:1])])
    assert mh.bits_equal(mh.xgboost_margins(booster, rows), detector.margins(rows)).all()
    rng = np.random.default_rng(5)
    samples = np.cumsum(rng.normal(size=(3000, 2)), axis=0) / 10
    out = detector.stream(samples)
    from featgen.harness import load_numpy_module

    module = load_numpy_module(files, spec.name)
    features, ends = module.featurize(samples)
    want = mh.xgboost_margins(booster, features)
    assert mh.bits_equal(want, out["margins"]).all()
    decision = decisions.resolve(spec.decision, forest)
    positive = decisions.positive(decision, want)
    assert (positive == out["positive"]).all() and positive.any() and not positive.all()
    runs, fired = decisions.events(decision, positive, ends)
    assert (fired == out["event"]).all() and (runs == out["run"]).all()
    value = np.asarray(booster.inplace_predict(features), dtype=np.float32)
    assert mh.bits_equal(value[:, None], out["probabilities"]).all()


def test_swift_detector_regression(tmp_path):
    """One regression objective (reg:squarederror, no threshold: the value only) through the
    Swift detector's C-ABI shim: margins and values bit-equal to the C detector and XGBoost."""
    require_swiftc()
    names = write_spec(tmp_path).feature_names
    booster, X = train("reg:squarederror", names, rounds=6)
    booster.save_model(str(tmp_path / "m.json"))
    spec = write_spec(tmp_path)
    import_model(tmp_path / "m.json", spec, tmp_path / "model")
    files = generate(spec)
    assert manifest_of(files).model.decision["kind"] == "none"
    swift = mh.swift_detector(files, spec.name, tmp_path)
    c = mh.Detector(files, spec.name, tmp_path)
    rng = np.random.default_rng(9)
    samples = np.cumsum(rng.normal(size=(1500, 2)), axis=0) / 10
    a, b = c.stream(samples), swift.stream(samples)
    assert mh.bits_equal(a["margins"], b["margins"]).all()
    assert mh.bits_equal(a["probabilities"], b["probabilities"]).all()
    assert not a["positive"].any() and not b["positive"].any()
    forest = load_bundle(spec).forest
    rows = mh.boundary_vectors(forest, X[:1])
    assert mh.bits_equal(mh.xgboost_margins(booster, rows), swift.margins(rows)).all()


def test_kotlin_jni_regression(poisson_build):
    """The Android module of the imported count:poisson model (Kotlin class -> JNI -> the same
    C): margins, values, decisions and events bit/flag-equal to the C detector and XGBoost."""
    from featgen.harness import load_numpy_module
    from parity_tests.test_android_jni import Android

    spec, files, booster, X, root = poisson_build
    android = Android(files, spec.name, root / "android", has_model=True)
    library = android.build_library("poisson")
    rng = np.random.default_rng(5)
    samples = np.cumsum(rng.normal(size=(3000, 2)), axis=0) / 10
    got = android.stream(library, samples)
    c = mh.Detector(files, spec.name, root).stream(samples)
    for field in ("margins", "probabilities"):
        assert mh.bits_equal(c[field], got[field]).all(), field
    for field in ("positive", "event", "run"):
        assert np.array_equal(c[field], got[field]), field
    features, _ = load_numpy_module(files, spec.name).featurize(samples)
    assert mh.bits_equal(mh.xgboost_margins(booster, features), got["margins"]).all()
    value = np.asarray(booster.inplace_predict(features), dtype=np.float32)[:, None]
    assert mh.bits_equal(value, got["probabilities"]).all()
    assert got["event"].any() and not got["positive"].all()
