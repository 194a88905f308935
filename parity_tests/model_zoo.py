"""The model zoo: XGBoost, LightGBM and scikit-learn models trained here on small seeded synthetic
data, each shipped the way a user ships it (``featgen import-model`` for XGBoost and LightGBM
files, ``featgen.import_model.from_sklearn`` for scikit-learn objects), built with
``codegen.build.generate``, and the generated C (one-row and batch) compiled for the whole zoo
in ONE compiler run (each model's spec has its own name, so the symbols do not collide).

Parity is checked on boundary vectors (featgen.import_model.boundary_values: every threshold,
its float32 and double neighbours, NaN, +-0, +-inf, subnormals, LightGBM's zero band) against
the library's own prediction:

* XGBoost: ``inplace_predict(predict_type="margin")``;
* LightGBM: ``predict(raw_score=True)`` (divided by the iterations for boosting=rf, as its
  predict does before the transform);
* scikit-learn: predict_proba / predict / decision_function / ``_raw_predict``
  (sklearn_trees.reference_margins). For inputs its validation refuses (inf and beyond the
  float32 range for every estimator, NaN for GradientBoosting) the reference is scikit-learn's
  own inner routine on the same rows, called without the validation: ``tree_.predict`` of each
  estimator summed in estimators_ order and divided as _forest.py does, ``predict_stages``
  (_gradient_boosting.pyx) from ``_raw_predict_init``, the HistGradientBoosting predictors.

``python3 -m parity_tests.model_zoo --large`` runs the larger zoo (more models, up to 2000
trees and depth 12, more rows); the CI test (test_model_zoo.py) runs the bounded one.
"""

from __future__ import annotations

import ctypes
import math
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen.bundle import manifest_of

N_FEATURES = 8
SPEC = """\
spec: featgen/v1
name: {name}
sample_rate_hz: 50
inputs: [acc_x, gyro_y]
windows:
  short: {{length: 10, hop: 1}}
features:
  - compute: [mean, std, min, max]
    of: [acc_x, gyro_y]
    over: [short]
model: {{path: model}}
decision: {{consecutive: 1}}
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


@dataclass
class Entry:
    """One zoo model: ``library`` (xgboost | lightgbm | sklearn), what it is, its training
    parameters, the target (``binary``, ``multiclass``, ``regression``, ``count``, ``positive``)."""

    name: str
    library: str
    kind: str
    target: str
    params: dict = field(default_factory=dict)
    rounds: int = 10
    nan_in_training: bool = True
    zeros_in_training: bool = False


def data(target: str, n: int, seed: int, nan: bool, zeros: bool = False):
    """Seeded synthetic features (DataFrame with the spec's names) and a target."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)) * np.array([1, 0.5, 2, 1, 3, 1, 0.1, 10])
    X[:, 3] = np.round(X[:, 3], 1)  # repeated values, tied thresholds
    if zeros:
        X[rng.random(X.shape) < 0.15] = 0.0
    score = X[:, 0] + 0.5 * np.sin(X[:, 1] * 3) - 0.3 * X[:, 2] + 0.1 * X[:, 7]
    if nan:
        X[rng.random(X.shape) < 0.08] = np.nan
    s = np.nan_to_num(score)
    if target == "binary":
        y = (s + rng.normal(scale=0.5, size=n) > 0).astype(int)
    elif target == "multiclass":
        y = np.digitize(s + rng.normal(scale=0.3, size=n), [-0.7, 0.7])
    elif target == "count":
        y = rng.poisson(np.exp(np.clip(s, -3, 2) * 0.5)).astype(float)
    elif target == "positive":
        y = np.exp(np.clip(s, -3, 3) * 0.3) + rng.random(n) * 0.1
    else:
        y = s + rng.normal(scale=0.2, size=n)
    return pd.DataFrame(X, columns=NAMES), y


def train(e: Entry, n: int = 400, seed: int = 0):
    """The fitted model (a Booster, or a scikit-learn estimator)."""
    X, y = data(e.target, n, seed, e.nan_in_training, e.zeros_in_training)
    if e.library == "xgboost":
        import xgboost

        d = xgboost.DMatrix(X, label=y, feature_names=NAMES)
        params = {"nthread": 1, "seed": seed, **e.params}
        return xgboost.train(params, d, e.rounds)
    if e.library == "lightgbm":
        import lightgbm

        params = {"verbose": -1, "num_threads": 1, "seed": seed, "deterministic": True, **e.params}
        return lightgbm.train(params, lightgbm.Dataset(X, y), e.rounds)
    from sklearn import ensemble
    from threadpoolctl import threadpool_limits

    cls = getattr(ensemble, e.kind)
    size = "max_iter" if e.kind.startswith("Hist") else "n_estimators"
    params = {size: e.rounds, "random_state": seed, **e.params}
    with threadpool_limits(1):  # HistGradientBoosting's OpenMP on 2 shared cores
        return cls(**params).fit(X, y)


def ship(e: Entry, model, root: Path) -> tuple[object, dict, object]:
    """Import (CLI for files, from_sklearn for objects), then build: (spec, files, forest)."""
    from click.testing import CliRunner

    from codegen.build import generate
    from codegen.trees.model_dir import load_bundle
    from featgen.cli import main
    from featgen.import_model import from_sklearn
    from featurespec import load_spec

    root.mkdir(parents=True, exist_ok=True)
    spec_path = root / "spec.yaml"
    spec_path.write_text(SPEC.format(name=e.name))
    if e.library == "sklearn":
        from_sklearn(model, spec=spec_path, out=root / "model")
    else:
        path = root / ("model.txt" if e.library == "lightgbm" else "trained.json")
        model.save_model(str(path))
        result = CliRunner().invoke(
            main, ["import-model", str(path), "--spec", str(spec_path), "-o", str(root / "model")]
        )
        if result.exit_code != 0:
            raise AssertionError(f"{e.name}: import-model failed: {result.output}")
    spec = load_spec(str(spec_path))
    files = generate(spec, prune=False)
    return spec, files, load_bundle(spec).forest


def boundary_rows(forest, finite: bool, nan: bool, n_random: int, seed: int) -> np.ndarray:
    """Every boundary value of every feature in turn (the other features at a random row's
    value), plus ``n_random`` rows drawn from the boundary values."""
    from featgen.import_model import boundary_values, probe_rows

    rng = np.random.default_rng(seed)
    base = probe_rows(forest, n_random, seed, finite=finite, nan=nan)
    rows = [base]
    for f in range(forest.n_features):
        values = np.array(
            [v for v in boundary_values(forest, f, finite) if nan or not math.isnan(v)]
        )
        block = base[rng.integers(0, len(base), len(values))].copy()
        block[:, f] = values
        rows.append(block)
    return np.ascontiguousarray(np.vstack(rows))


# ---------------------------------------------------------------- references


def reference(e: Entry, model, forest, X: np.ndarray) -> np.ndarray:
    """The library's margins (rows, outputs) as float32 (XGBoost) or float64."""
    if e.library == "xgboost":
        m = model.inplace_predict(X, predict_type="margin", missing=np.nan)
        return np.asarray(m, dtype=np.float32).reshape(len(X), -1)
    if e.library == "lightgbm":
        m = np.asarray(model.predict(X, raw_score=True), dtype=np.float64).reshape(len(X), -1)
        return m / float(forest.rule.average) if forest.rule.average else m
    return sklearn_reference(model, X)


def sklearn_reference(model, X: np.ndarray) -> np.ndarray:
    """scikit-learn's margins; rows its validation refuses go through its inner routines."""
    import warnings

    from codegen.trees import sklearn_trees

    X = np.asarray(X, dtype=np.float64)
    name = sklearn_trees.kind_of(model)
    with np.errstate(invalid="ignore"):
        refused = (np.isinf(X) | (np.abs(X) > np.finfo(np.float32).max)).any(axis=1)
    if name in sklearn_trees.BOOSTED:
        refused |= np.isnan(X).any(axis=1)
    out = None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if (~refused).any():
            ok = sklearn_trees.reference_margins(model, X[~refused])
            out = np.zeros((len(X), ok.shape[1]))
            out[~refused] = ok
        if refused.any():
            inner = _sklearn_inner(model, name, X[refused])
            if out is None:
                out = np.zeros((len(X), inner.shape[1]))
            out[refused] = inner
    return out


def _sklearn_inner(model, name: str, X: np.ndarray) -> np.ndarray:
    from codegen.trees import sklearn_trees

    if name in sklearn_trees.FORESTS:
        with np.errstate(over="ignore"):
            X32 = X.astype(np.float32)
        classifier = name.endswith("Classifier")
        acc = None
        for est in model.estimators_:  # _forest.py, n_jobs=None
            p = est.tree_.predict(X32)  # (rows, classes) or (rows, 1)
            p = p[:, : model.n_classes_] if classifier else p[:, 0]
            acc = p.copy() if acc is None else acc + p  # 0 + p is p
        acc = acc / len(model.estimators_)
        if classifier:
            return acc[:, 1:2] if acc.shape[1] == 2 else acc
        return acc.reshape(len(X), 1)
    if name in sklearn_trees.BOOSTED:
        from sklearn.ensemble._gradient_boosting import predict_stages

        with np.errstate(over="ignore"):
            X32 = np.ascontiguousarray(X.astype(np.float32))
        out = np.repeat(
            model._raw_predict_init(np.zeros((1, X.shape[1]), np.float32)), len(X), axis=0
        )
        predict_stages(model.estimators_, X32, model.learning_rate, out)
        return out
    return _hist_raw(model, X)


def _hist_raw(model, X: np.ndarray) -> np.ndarray:
    """HistGradientBoosting's _raw_predict without its input validation (which refuses inf)."""
    K = model.n_trees_per_iteration_
    raw = np.zeros((len(X), K), dtype=np.float64, order="F")
    raw += model._baseline_prediction
    X = np.ascontiguousarray(X, dtype=np.float64)
    model._predict_iterations(X, model._predictors, raw, False, 1)
    return raw


# ---------------------------------------------------------------- compiling the zoo at once


def compile_zoo(built: list[tuple[str, dict]], workdir: Path, compiler: str = "gcc") -> ctypes.CDLL:
    """One shared library with every model's <name>_model.c and _model_batch.c (one compiler
    run: a zoo of 30 models costs one process, not 60)."""
    from featgen.harness import C_FLAGS

    workdir.mkdir(parents=True, exist_ok=True)
    sources = []
    for name, files in built:
        for stem in ("model.h", "model.c", "model_batch.c"):
            path = workdir / f"{name}_{stem}"
            path.write_text(files[f"c/{name}_{stem}"])
            if stem != "model.h":
                sources.append(str(path))
    lib = workdir / "libzoo.so"
    cmd = [compiler, *C_FLAGS, "-shared", "-fPIC", "-o", str(lib), *sources, "-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"the zoo's C does not compile:\n{result.stderr[:4000]}")
    return ctypes.CDLL(str(lib))


def c_margins(
    lib: ctypes.CDLL, name: str, forest, X: np.ndarray, batch: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """(one-row margins, batch margins) from the generated C (or the Swift shim's
    ``<name>_model_margins``, with ``batch=False``: Swift has no batch entry point)."""
    kind = np.float32 if forest.rule.accumulate == "float32" else np.float64
    X = np.ascontiguousarray(X, dtype=np.float64)
    one = np.zeros((len(X), forest.n_outputs), dtype=kind)
    row_fn = getattr(lib, f"{name}_model_margins")
    dp = ctypes.POINTER(ctypes.c_double)
    out_p = ctypes.POINTER(ctypes.c_float if kind == np.float32 else ctypes.c_double)
    row_fn.argtypes = [dp, out_p]
    for i in range(len(X)):
        row_fn(X[i].ctypes.data_as(dp), one[i].ctypes.data_as(out_p))
    if not batch:
        return one, None
    many = np.zeros_like(one)
    batch_fn = getattr(lib, f"{name}_model_margins_batch")
    batch_fn.argtypes = [dp, ctypes.c_size_t, out_p]
    batch_fn(X.ctypes.data_as(dp), len(X), many.ctypes.data_as(out_p))
    return one, many


def differing(a: np.ndarray, b: np.ndarray) -> int:
    """Rows whose outputs differ in any bit."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    u = np.uint32 if a.dtype == np.float32 else np.uint64
    return int((a.view(u) != b.view(u)).any(axis=1).sum())


def decisions(files: dict, forest, margins: np.ndarray, ref_values: np.ndarray | None):
    """(featgen's decisions from its margins, the library's from its transformed values)."""
    from codegen.trees import decision as d

    manifest = manifest_of(files).model.decision
    if manifest["kind"] == "binary":
        m_star = float.fromhex(manifest["margin_threshold"])
        mine = margins[:, 0] >= (np.float32(m_star) if margins.dtype == np.float32 else m_star)
        return mine, ref_values[:, 0] >= manifest["threshold"]
    if manifest["kind"] == "multiclass":
        precision = "float32" if margins.dtype == np.float32 else "float64"
        return d.argmax_first(margins, precision), d.argmax_first(ref_values, precision)
    return None, None


# ---------------------------------------------------------------- the zoo


def zoo(large: bool = False) -> list[Entry]:
    """At least 30 models across libraries, objectives, boosters, depths (to 12) and sizes (to
    2000 trees). ``large`` adds more and bigger ones."""
    x, lg = "xgboost", "lightgbm"
    E = []
    for obj, target in (
        ("binary:logistic", "binary"),
        ("binary:logitraw", "binary"),
        ("binary:hinge", "binary"),
        ("reg:squarederror", "regression"),
        ("reg:absoluteerror", "regression"),
        ("reg:pseudohubererror", "regression"),
        ("count:poisson", "count"),
        ("reg:gamma", "positive"),
        ("reg:tweedie", "positive"),
        ("reg:logistic", "binary"),
    ):
        E.append(
            Entry(
                f"x_{obj.replace(':', '_')}",
                x,
                "gbtree",
                target,
                {"objective": obj, "max_depth": 4},
                12,
            )
        )
    E.append(
        Entry(
            "x_softprob",
            x,
            "gbtree",
            "multiclass",
            {"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
            8,
        )
    )
    E.append(
        Entry(
            "x_deep12",
            x,
            "gbtree",
            "binary",
            {"objective": "binary:logistic", "max_depth": 12, "eta": 0.3},
            6,
        )
    )
    E.append(
        Entry(
            "x_2000",
            x,
            "gbtree",
            "binary",
            {"objective": "binary:logistic", "max_depth": 2, "eta": 0.02},
            2000,
        )
    )
    E.append(
        Entry(
            "x_lossguide",
            x,
            "gbtree",
            "regression",
            {
                "objective": "reg:squarederror",
                "grow_policy": "lossguide",
                "max_leaves": 16,
                "max_depth": 0,
                "tree_method": "hist",
            },
            10,
        )
    )
    for name, params, target, rounds, zeros in (
        ("l_binary", {"objective": "binary", "num_leaves": 15}, "binary", 20, False),
        ("l_binary_sig", {"objective": "binary", "sigmoid": 0.7}, "binary", 10, False),
        ("l_zero", {"objective": "binary", "zero_as_missing": True}, "binary", 15, True),
        ("l_nomissing", {"objective": "regression", "use_missing": False}, "regression", 15, True),
        ("l_regression", {"objective": "regression", "num_leaves": 31}, "regression", 20, False),
        ("l_l1", {"objective": "regression_l1"}, "regression", 10, False),
        ("l_huber", {"objective": "huber"}, "regression", 10, False),
        ("l_poisson", {"objective": "poisson"}, "count", 15, False),
        ("l_gamma", {"objective": "gamma"}, "positive", 10, False),
        ("l_tweedie", {"objective": "tweedie"}, "positive", 10, False),
        ("l_xentropy", {"objective": "cross_entropy"}, "binary", 10, False),
        ("l_multiclass", {"objective": "multiclass", "num_class": 3}, "multiclass", 10, False),
        (
            "l_rf",
            {
                "objective": "binary",
                "boosting": "rf",
                "bagging_freq": 1,
                "bagging_fraction": 0.6,
                "feature_fraction": 0.8,
            },
            "binary",
            25,
            False,
        ),
        (
            "l_deep12",
            {"objective": "regression", "max_depth": 12, "num_leaves": 300, "min_data_in_leaf": 1},
            "regression",
            5,
            False,
        ),
        (
            "l_2000",
            {"objective": "binary", "num_leaves": 4, "learning_rate": 0.02},
            "binary",
            2000,
            False,
        ),
    ):
        E.append(Entry(name, lg, "gbdt", target, params, rounds, zeros_in_training=zeros))
    for kind, target, params, rounds in (
        ("RandomForestClassifier", "binary", {"max_depth": 8}, 20),
        ("RandomForestClassifier", "multiclass", {"max_depth": 6}, 10),
        ("RandomForestRegressor", "regression", {"max_depth": 12}, 10),
        ("ExtraTreesClassifier", "binary", {"max_depth": 8}, 15),
        ("ExtraTreesRegressor", "regression", {"max_depth": 6}, 10),
        ("GradientBoostingClassifier", "binary", {"max_depth": 3}, 30),
        ("GradientBoostingClassifier", "multiclass", {"max_depth": 2}, 10),
        ("GradientBoostingRegressor", "regression", {"max_depth": 3, "loss": "huber"}, 20),
        ("HistGradientBoostingClassifier", "binary", {"max_depth": 6}, 20),
        ("HistGradientBoostingClassifier", "multiclass", {}, 10),
        ("HistGradientBoostingRegressor", "regression", {}, 20),
        ("HistGradientBoostingRegressor", "count", {"loss": "poisson"}, 15),
    ):
        nan = not kind.startswith("GradientBoosting")
        short = "".join(c for c in kind if c.isupper()).lower()
        E.append(
            Entry(
                f"s_{short}_{target}", "sklearn", kind, target, params, rounds, nan_in_training=nan
            )
        )
    if large:
        for depth in (6, 8, 10, 12):
            E.append(
                Entry(
                    f"xl_depth{depth}",
                    x,
                    "gbtree",
                    "binary",
                    {"objective": "binary:logistic", "max_depth": depth},
                    200,
                )
            )
            E.append(
                Entry(
                    f"ll_depth{depth}",
                    lg,
                    "gbdt",
                    "regression",
                    {
                        "objective": "regression",
                        "max_depth": depth,
                        "num_leaves": 2**depth,
                        "min_data_in_leaf": 2,
                    },
                    200,
                )
            )
        E.append(
            Entry(
                "ll_2000_multi",
                lg,
                "gbdt",
                "multiclass",
                {"objective": "multiclass", "num_class": 3, "num_leaves": 8},
                700,
            )
        )
        E.append(
            Entry(
                "sl_rf_500", "sklearn", "RandomForestClassifier", "binary", {"max_depth": 12}, 500
            )
        )
        E.append(
            Entry(
                "sl_hgb_500",
                "sklearn",
                "HistGradientBoostingRegressor",
                "regression",
                {"max_depth": 12},
                500,
            )
        )
    return E


def run(
    entries: list[Entry], root: Path, n_random: int = 512, n_train: int = 400, log=print
) -> list[dict]:
    """Train, ship, build, compile (once) and compare every entry; one result dict each."""
    started = time.perf_counter()
    prepared = []
    for k, e in enumerate(entries):
        model = train(e, n_train, seed=k)
        _, files, forest = ship(e, model, root / e.name)
        prepared.append((e, model, files, forest))
    log(
        f"trained, imported and built {len(entries)} models in "
        f"{time.perf_counter() - started:.1f} s"
    )
    t = time.perf_counter()
    lib = compile_zoo([(e.name, files) for e, _, files, _ in prepared], root / "c")
    log(f"compiled the zoo's C in one run: {time.perf_counter() - t:.1f} s")
    results = []
    for k, (e, model, files, forest) in enumerate(prepared):
        finite = False
        X = boundary_rows(forest, finite=finite, nan=True, n_random=n_random, seed=k)
        ref = reference(e, model, forest, X)
        one, batch = c_margins(lib, e.name, forest, X)
        ir = forest.margins(X).astype(one.dtype)
        values = _transformed(e, model, forest, X, ref)
        mine, theirs = decisions(files, forest, one, values)
        flips = int((mine != theirs).sum()) if mine is not None else 0
        results.append(
            {
                "name": e.name,
                "library": e.library,
                "kind": e.kind,
                "objective": forest.objective,
                "trees": len(forest.trees),
                "depth": forest.max_depth,
                "rows": len(X),
                "one_row_differ": differing(ref.astype(one.dtype), one),
                "batch_differ": differing(ref.astype(one.dtype), batch),
                "ir_differ": differing(ref.astype(one.dtype), ir),
                "decision_flips": flips,
                "margin_type": "float32" if one.dtype == np.float32 else "float64",
            }
        )
    log(f"zoo total {time.perf_counter() - started:.1f} s")
    return results


def _transformed(e: Entry, model, forest, X: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The library's transformed prediction (the value a threshold is stated on), computed by
    the library where its API takes the rows, otherwise its transform of its own margin."""
    from codegen.trees import fp32

    spec = forest.spec
    if spec.kind == "multiclass":
        return ref
    if e.library == "xgboost":
        return np.asarray(model.inplace_predict(X, missing=np.nan), dtype=np.float32).reshape(
            len(X), -1
        )
    if e.library == "lightgbm":
        return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), -1)
    if spec.transform == "identity":
        return ref
    return fp32.transformed64(ref, spec.transform, forest.scale)


def table(results: list[dict]) -> str:
    head = (
        f"{'model':24} {'library':9} {'objective':28} {'trees':>5} {'depth':>5} {'rows':>6}"
        f" {'1-row':>5} {'batch':>5} {'flips':>5}"
    )
    lines = [head]
    for r in results:
        lines.append(
            f"{r['name']:24} {r['library']:9} {r['objective']:28} {r['trees']:5d} "
            f"{r['depth']:5d} {r['rows']:6d} {r['one_row_differ']:5d} "
            f"{r['batch_differ']:5d} {r['decision_flips']:5d}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="the larger zoo")
    parser.add_argument("--rows", type=int, default=4096, help="random boundary rows per model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = run(
            zoo(args.large), Path(tmp), n_random=args.rows, n_train=2000 if args.large else 400
        )
    print(table(res))
    bad = [r for r in res if r["one_row_differ"] or r["batch_differ"] or r["decision_flips"]]
    print(
        f"{len(res)} models, {sum(r['rows'] for r in res)} rows: "
        f"{'all bit-equal, 0 flips' if not bad else f'{len(bad)} models differ'}"
    )
    raise SystemExit(1 if bad else 0)
