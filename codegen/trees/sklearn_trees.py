"""A fitted scikit-learn tree ensemble (an object in this Python process: featgen never unpickles)
-> the tree IR, exactly, with scikit-learn's own prediction rule, cross-checked against
Treelite's scikit-learn frontend (``treelite.sklearn.import_model``).

The rules, read from scikit-learn's sources (1.9):

* **Classic trees** (RandomForest*, ExtraTrees*, GradientBoosting*; rule ``SKLEARN_TREES``):
  tree/_classes.py ``_validate_X_predict`` converts X to float32 (``dtype=np.float32``);
  tree/_tree.pyx ``_apply_dense`` sends NaN to ``missing_go_to_left``'s child, otherwise
  ``X_i_node_feature <= node.threshold`` (float32 against a double threshold) goes left; a leaf's
  output is ``tree_.value`` (double; for classifiers the class fractions of the leaf).
* **Forests** (ensemble/_forest.py ``predict_proba`` / ``predict`` and
  ``_accumulate_prediction``): zeros, then each tree's output added in ``estimators_`` order
  (``out += prediction``, double), then ``/= len(self.estimators_)``: ``average`` = the number
  of trees. With n_jobs > 1 scikit-learn adds the trees in whatever order its threads finish,
  so only n_jobs=None/1 has one answer; featgen's is the estimators_ order.
* **GradientBoosting** (ensemble/_gb.py ``_raw_predict``, _gradient_boosting.pyx
  ``_predict_regression_tree_inplace_fast_dense``): the init estimator's constant raw
  prediction (read from scikit-learn: ``_raw_predict_init``), then for each stage i and output k
  ``out[i, k] += scale * value`` (the product ``learning_rate * value`` rounded, then the
  addition) with ``X[i, feature] <= threshold`` and no NaN test: a NaN compares false and goes
  right, whatever missing_go_to_left says.
* **HistGradientBoosting** (_hist_gradient_boosting/gradient_boosting.py ``_raw_predict``,
  _predictor.pyx ``_predict_one_from_raw_data``; rule ``SKLEARN_HIST``): X stays float64
  (``X_DTYPE``); NaN goes to ``missing_go_to_left``'s child, otherwise ``x <= num_threshold``
  (double) goes left; raw predictions are zeros plus ``_baseline_prediction``, then each
  predictor's leaf ``value`` added iteration by iteration, output by output, in double.

Refused: multi-output estimators, categorical features (HGB), a GradientBoosting ``init``
estimator other than the default (its prediction is not a constant), and any other class.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any  # scikit-learn estimators: an optional dependency, read dynamically

import numpy as np

from .ir import SKLEARN_HIST, SKLEARN_TREES, Forest, Node, Tree
from .xgboost_json import ModelError

FORESTS = (
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
)
BOOSTED = ("GradientBoostingClassifier", "GradientBoostingRegressor")
HIST = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")
SUPPORTED = FORESTS + BOOSTED + HIST


def kind_of(model: Any) -> str:
    name = type(model).__name__
    if name not in SUPPORTED or not type(model).__module__.startswith("sklearn."):
        raise ModelError(
            f"a {type(model).__module__}.{name} is not supported: featgen imports "
            f"scikit-learn's {', '.join(SUPPORTED)} (a single DecisionTree: wrap "
            "it in a forest of one, or use a forest)"
        )
    return name


def _tree_nodes(tree: Any, values: np.ndarray, nan_right: bool = False) -> tuple[Node, ...]:
    """One sklearn ``tree_`` with ``values[node]`` as leaf outputs."""
    t = tree
    missing_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
    nodes = []
    for i in range(t.node_count):
        if t.children_left[i] == -1:
            nodes.append(Node(-1, 0.0, -1, -1, False, float(values[i])))
        else:
            nodes.append(
                Node(
                    int(t.feature[i]),
                    float(t.threshold[i]),
                    int(t.children_left[i]),
                    int(t.children_right[i]),
                    False if nan_right else bool(missing_left[i]),
                    0.0,
                )
            )
    return tuple(nodes)


def forest_of(model: Any) -> Forest:
    """The exact forest of a fitted estimator; ModelError for what featgen cannot compile."""
    name = kind_of(model)
    if not hasattr(model, "n_features_in_"):
        raise ModelError(f"the {name} is not fitted")
    n_features = int(model.n_features_in_)
    if getattr(model, "n_outputs_", 1) != 1:
        raise ModelError(
            f"a multi-output {name} ({model.n_outputs_} targets) is not "
            "supported: featgen compiles one output, or one per class"
        )
    classifier = name.endswith("Classifier")
    if name in FORESTS:
        trees = []
        n_classes = int(model.n_classes_) if classifier else 1
        for est in model.estimators_:
            v = est.tree_.value[:, 0, :]
            if not classifier:
                trees.append(Tree(_tree_nodes(est.tree_, v[:, 0]), 0))
            elif n_classes == 2:
                trees.append(Tree(_tree_nodes(est.tree_, v[:, 1]), 0))
            else:
                trees.extend(Tree(_tree_nodes(est.tree_, v[:, c]), c) for c in range(n_classes))
        objective = (
            "sklearn:regression"
            if not classifier
            else "sklearn:forest"
            if n_classes == 2
            else "sklearn:forest_multiclass"
        )
        n_outputs = 1 if n_classes <= 2 else n_classes
        rule = dataclasses.replace(SKLEARN_TREES, average=len(model.estimators_))
        return Forest(objective, n_features, n_outputs, (0.0,) * n_outputs, tuple(trees), rule)
    if name in BOOSTED:
        init = model.init_
        if not (init == "zero" or type(init).__name__ in ("DummyClassifier", "DummyRegressor")):
            raise ModelError(
                f"a {name} with init={type(init).__name__}: its initial raw "
                "prediction depends on the input; featgen compiles the default "
                "init (a constant) or init='zero'"
            )
        K = model.estimators_.shape[1]
        base = model._raw_predict_init(np.zeros((1, n_features), dtype=np.float32))[0]
        scale = float(model.learning_rate)
        trees = []
        for stage in model.estimators_:
            for k, est in enumerate(stage):
                values = scale * est.tree_.value[:, 0, 0]  # the rounded product, as in C
                trees.append(Tree(_tree_nodes(est.tree_, values, nan_right=True), k))
        objective, s = _boosted_objective(model, name, K)
        return Forest(
            objective, n_features, K, tuple(float(b) for b in base), tuple(trees), SKLEARN_TREES, s
        )
    # HistGradientBoosting
    if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise ModelError(
            f"the {name} has categorical features: featgen's features are "
            "numbers, so only numerical splits are supported"
        )
    K = model.n_trees_per_iteration_
    base = np.zeros(K) + np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    trees = []
    for predictors in model._predictors:
        for k, predictor in enumerate(predictors):
            nodes = []
            for row in predictor.nodes:
                if row["is_leaf"]:
                    nodes.append(Node(-1, 0.0, -1, -1, False, float(row["value"])))
                else:
                    if row["is_categorical"]:
                        raise ModelError(f"the {name} has a categorical split")
                    nodes.append(
                        Node(
                            int(row["feature_idx"]),
                            float(row["num_threshold"]),
                            int(row["left"]),
                            int(row["right"]),
                            bool(row["missing_go_to_left"]),
                            0.0,
                        )
                    )
            trees.append(Tree(tuple(nodes), k))
    objective, s = _hist_objective(model, name, K)
    return Forest(
        objective, n_features, K, tuple(float(b) for b in base), tuple(trees), SKLEARN_HIST, s
    )


def _boosted_objective(model: Any, name: str, K: int) -> tuple[str, float]:
    if name.endswith("Regressor"):
        return "sklearn:regression", 1.0
    if K > 1:
        return "sklearn:softmax", 1.0
    # log_loss: predict_proba = expit(raw); exponential: expit(2 raw) (sklearn's _loss)
    return "sklearn:logistic", 2.0 if model.loss == "exponential" else 1.0


def _hist_objective(model: Any, name: str, K: int) -> tuple[str, float]:
    if name.endswith("Regressor"):
        if model.loss in ("poisson", "gamma"):
            return "sklearn:exp", 1.0
        return "sklearn:regression", 1.0
    return ("sklearn:softmax" if K > 1 else "sklearn:logistic"), 1.0


REFERENCE = {
    **{n: "predict_proba (class 1 for two classes)" for n in FORESTS if "Classifier" in n},
    **{n: "predict" for n in FORESTS if "Regressor" in n},
    "GradientBoostingClassifier": "decision_function",
    "GradientBoostingRegressor": "predict",
    "HistGradientBoostingClassifier": "decision_function",
    "HistGradientBoostingRegressor": "_raw_predict (predict applies the loss's link)",
}


def accepts_nan(model: Any) -> bool:
    """Whether the estimator's predict accepts NaN (GradientBoosting refuses it; the forests
    and HistGradientBoosting send it down ``missing_go_to_left``)."""
    return kind_of(model) not in BOOSTED


def reference_margins(model: Any, X: np.ndarray) -> np.ndarray:
    """scikit-learn's own numbers for the margins featgen compiles (rows, outputs), through its
    public API where it has one: predict_proba (forest classifiers; class 1 for two classes),
    predict (forest and GradientBoosting regressors), decision_function (boosted classifiers),
    ``_raw_predict`` (HistGradientBoostingRegressor, whose predict applies the link)."""
    name = kind_of(model)
    X = np.asarray(X, dtype=np.float64)
    if name in FORESTS:
        out = model.predict_proba(X) if name.endswith("Classifier") else model.predict(X)
        out = np.asarray(out, dtype=np.float64)
        if out.ndim == 2 and out.shape[1] == 2:
            out = out[:, 1]
    elif name.endswith("Classifier"):
        out = model.decision_function(X)
    elif name in HIST:
        out = model._raw_predict(X)
    else:
        out = model.predict(X)
    return np.asarray(out, dtype=np.float64).reshape(len(X), -1)


def cross_check_treelite(forest: Forest, model: Any) -> list[str]:
    """Differences in split features and thresholds between the forest and Treelite's
    scikit-learn frontend (empty: none). Leaves are compared through parity instead: Treelite
    stores forests' class fractions and GradientBoosting's learning rate its own way."""
    import re

    import treelite.sklearn

    text = treelite.sklearn.import_model(model).dump_as_json()
    # Treelite prints an infinite threshold as nothing ("threshold": ,)
    dump = json.loads(re.sub(r'"threshold": ,', '"threshold": Infinity,', text))
    ours = sorted(
        {(n.feature, n.threshold) for t in forest.trees for n in t.nodes if not n.is_leaf}
    )
    ours = sorted({(f, abs(t)) for f, t in ours})  # (the sign of an infinite one is lost)
    theirs = sorted(
        {
            (int(n["split_feature_id"]), abs(float(n["threshold"])))
            for t in dump["trees"]
            for n in t["nodes"]
            if "split_feature_id" in n
        }
    )
    return [] if ours == theirs else ["split features/thresholds differ from treelite's"]
