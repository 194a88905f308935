"""A LightGBM text model (``booster.save_model('model.txt')``) -> the tree IR, exactly, with
LightGBM's prediction rule (ir.LIGHTGBM), cross-checked against Treelite's LightGBM frontend.

LightGBM's rule, read from its sources (v4):

* include/LightGBM/tree.h ``NumericalDecision(double fval, int node)``: the feature is a double
  (the Python package passes float64 rows as they are); with ``missing_type`` (decision_type
  bits 2-3) None, a NaN becomes 0.0 and is compared; with Zero, a NaN becomes 0.0 and a value
  in ``(-kZeroThreshold, kZeroThreshold]`` (``IsZero``; kZeroThreshold = 1e-35f, meta.h) goes
  to the default child (decision_type bit 1); with NaN, a NaN goes to the default child;
  otherwise ``fval <= threshold_`` (double) goes left. Categorical splits (bit 0) are refused.
* src/c_api.cpp ``RowFunctionFromDenseMatric`` (what ``Booster.predict`` on a numpy array
  uses) keeps a value only when ``std::fabs(x) > kZeroThreshold || std::isnan(x)`` and the
  predictor zero-fills the rest: a feature with ``|x| <= 1e-35f`` (+-0, subnormals) is read as
  +0.0 (rule field ``flush_zero``; the text parsers in src/io/parser.hpp do the same).
* ``Tree::Predict`` returns the leaf's ``leaf_value_`` (double); src/boosting/gbdt_prediction.cpp
  ``GBDT::PredictRaw`` zeroes the outputs and adds ``models_[i * num_tree_per_iteration + k]``
  for iteration i, class k, in double; with ``average_output`` (boosting=rf) each output is then
  divided by the number of iterations. There is no base score: boost_from_average is folded
  into the first tree's leaves.
* src/io/tree.cpp ``Tree::ToString`` prints thresholds and leaf values with 17 significant
  digits, so parsing them gives LightGBM's doubles back exactly.

An imported model is verified against ``lightgbm.Booster.predict(raw_score=True)`` bit for bit
(featgen/import_model.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from . import objectives
from .ir import LIGHTGBM, Forest, Node, Rule, Tree
from .xgboost_json import ModelError

# objective= line -> featgen objective (LightGBM's src/objective/*.hpp ConvertOutput)
_N = TypeVar("_N", int, float)  # what _numbers reads: split features or thresholds

OBJECTIVE = {
    "binary": "lightgbm:binary",
    "regression": "lightgbm:regression",
    "regression_l1": "lightgbm:regression",
    "huber": "lightgbm:regression",
    "fair": "lightgbm:regression",
    "quantile": "lightgbm:regression",
    "mape": "lightgbm:regression",
    "cross_entropy": "lightgbm:cross_entropy",
    "poisson": "lightgbm:exp",
    "gamma": "lightgbm:exp",
    "tweedie": "lightgbm:exp",
    "multiclass": "lightgbm:multiclass",
}
REFUSED = {
    "multiclassova": "one-vs-all: a sigmoid per class, not a softmax; featgen's multi-class "
    "wrappers state a softmax",
    "cross_entropy_lambda": "its output is log(1 + exp(margin)), a transform featgen does not emit",
    "lambdarank": "a ranking objective's score orders the documents of one query; it has no "
    "per-vector meaning a detector threshold could state",
    "rank_xendcg": "a ranking objective (see lambdarank)",
    "custom": "a custom objective: LightGBM does not record its output transform",
}


def _fields(text: str, where: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header key=value, [per-tree key=value]) of the text model."""
    header: dict[str, Any] = {}
    trees: list[dict[str, Any]] = []
    current = header
    lines = text.splitlines()
    if not lines or lines[0].strip() != "tree":
        raise ModelError(f"{where}: not a LightGBM text model (the first line is not 'tree')")
    ended = False
    for line in lines[1:]:
        line = line.strip()
        if line == "end of trees":
            ended = True
            break
        if line.startswith("Tree="):
            current = {"Tree": line[5:]}
            trees.append(current)
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
        elif line == "average_output":
            header["average_output"] = "1"
    declared = len(header["tree_sizes"].split()) if "tree_sizes" in header else None
    if ended and declared in (None, len(trees)):
        return header, trees
    if ended:
        raise ModelError(
            f"{where}: the header declares {declared} trees (tree_sizes), {len(trees)} "
            "found before 'end of trees'"
        )
    # a partial download or copy: say so, not "no trees" or a short leaf_value line
    if declared is None:
        found = f"{len(trees)} tree(s) found"
    elif declared == len(trees):
        found = f"the text ends inside tree {declared - 1}, the last of {declared} declared"
    else:
        found = f"the header declares {declared} trees, {len(trees)} found"
    raise ModelError(
        f"{where}: truncated: {found}, and no 'end of trees' line (an incomplete copy?)"
    )


def _numbers(
    tree: dict[str, Any], key: str, kind: Callable[[str], _N], n: int, where: str
) -> list[_N]:
    try:
        values = [kind(v) for v in tree[key].split()] if n else []
    except (KeyError, ValueError):
        raise ModelError(f"{where}: tree {tree.get('Tree')} has no readable {key}") from None
    if len(values) != n:
        raise ModelError(
            f"{where}: tree {tree.get('Tree')}: {key} has {len(values)} values, expected {n}"
        )
    return values


def objective_of(line: str, where: str) -> tuple[str, float, int]:
    """(featgen objective, sigmoid scale, num_class) of the ``objective=`` line."""
    parts = line.split()
    if not parts:
        raise ModelError(f"{where}: the model names no objective")
    name, params = parts[0], dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    if name in REFUSED:
        raise ModelError(f"{where}: LightGBM objective {name!r} is not supported: {REFUSED[name]}")
    if name not in OBJECTIVE:
        raise ModelError(
            f"{where}: LightGBM objective {name!r} is not supported; featgen "
            f"compiles {', '.join(sorted(OBJECTIVE))}"
        )
    if "sqrt" in parts[1:]:
        raise ModelError(
            f"{where}: objective {name} with reg_sqrt: LightGBM squares the "
            "output back (sign(x) x^2), a transform featgen does not emit"
        )
    scale = float(params.get("sigmoid", "1")) if name in ("binary",) else 1.0
    return OBJECTIVE[name], scale, int(params.get("num_class", "1"))


def forest_of(text: str, where: str = "model.txt") -> tuple[Forest, tuple[str, ...]]:
    """The exact forest of a LightGBM text model and its feature names; ModelError for what
    featgen cannot compile (categorical splits, linear trees, refused objectives)."""
    header, raw_trees = _fields(text, where)
    try:
        n_features = int(header["max_feature_idx"]) + 1
        per_iteration = int(header.get("num_tree_per_iteration", "1"))
        num_class = int(header.get("num_class", "1"))
    except (KeyError, ValueError):
        raise ModelError(f"{where}: not a LightGBM text model (no max_feature_idx)") from None
    objective, scale, _ = objective_of(header.get("objective", ""), where)
    kind = objectives.objective(objective).kind
    n_outputs = num_class if kind == "multiclass" else 1
    if per_iteration != n_outputs:
        raise ModelError(f"{where}: {per_iteration} trees per iteration for {n_outputs} outputs")
    names = tuple(header.get("feature_names", "").split())
    trees = []
    for k, t in enumerate(raw_trees):
        n_leaves = int(t.get("num_leaves", "0"))
        if int(t.get("num_cat", "0")) > 0:
            raise ModelError(
                f"{where}: tree {k} has categorical splits; featgen features are "
                "numbers, so only numerical splits are supported"
            )
        if t.get("is_linear", "0") != "0":
            raise ModelError(
                f"{where}: tree {k} is a linear tree (linear_tree=true): its leaves "
                "are linear models, which featgen does not compile"
            )
        values = _numbers(t, "leaf_value", float, n_leaves, where)
        n_split = n_leaves - 1
        feature = _numbers(t, "split_feature", int, n_split, where)
        threshold = _numbers(t, "threshold", float, n_split, where)
        decision = _numbers(t, "decision_type", int, n_split, where)
        left = _numbers(t, "left_child", int, n_split, where)
        right = _numbers(t, "right_child", int, n_split, where)

        def child(c: int, n_split: int = n_split) -> int:
            return c if c >= 0 else n_split + ~c  # ~leaf -> after the splits

        nodes = []
        for i in range(n_split):
            d = decision[i]
            if d & 1:
                raise ModelError(f"{where}: tree {k} node {i} is a categorical split")
            if not 0 <= feature[i] < n_features:
                raise ModelError(f"{where}: tree {k} node {i} splits on feature {feature[i]}")
            if math.isnan(threshold[i]):  # (inf is a NaN-only split: x <= inf for all x)
                raise ModelError(f"{where}: tree {k} node {i} has threshold {threshold[i]}")
            missing = (d >> 2) & 3
            default_left = bool(d & 2)
            if missing == 0:  # None: NaN is compared as 0.0
                default_left = 0.0 <= threshold[i]
            nodes.append(
                Node(
                    feature[i],
                    threshold[i],
                    child(left[i]),
                    child(right[i]),
                    default_left,
                    0.0,
                    missing == 1,
                )
            )
        for v in values:
            nodes.append(Node(-1, 0.0, -1, -1, False, v))
        tree = Tree(tuple(nodes), k % per_iteration)
        if (problem := tree.problem()) is not None:
            raise ModelError(f"{where}: tree {k} {problem}")
        trees.append(tree)
    if not trees:
        raise ModelError(f"{where}: the model has no trees")
    average = len(trees) // per_iteration if "average_output" in header else 0
    rule = Rule(**{**LIGHTGBM.to_json(), "average": average})
    return Forest(
        objective, n_features, n_outputs, (0.0,) * n_outputs, tuple(trees), rule, scale
    ), names


def cross_check_treelite(forest: Forest, path: str) -> list[str]:
    """Differences between the forest and Treelite's LightGBM frontend on the same file:
    features, thresholds, ``<=``, children and leaf values (empty: none)."""
    import json
    import re

    import treelite

    text = treelite.frontend.load_lightgbm_model(path).dump_as_json()
    # Treelite prints an infinite threshold as nothing ("threshold": ,)
    dump = json.loads(re.sub(r'"threshold": ,', '"threshold": Infinity,', text))
    problems = []
    if len(dump["trees"]) != len(forest.trees):
        return [f"treelite reads {len(dump['trees'])} trees, featgen {len(forest.trees)}"]
    for k, (tree, tl) in enumerate(zip(forest.trees, dump["trees"])):
        leaves = sorted(float(n["leaf_value"]) for n in tl["nodes"] if "leaf_value" in n)
        ours = sorted(n.value for n in tree.nodes if n.is_leaf)
        if leaves != ours:
            problems.append(f"tree {k}: leaf values differ from treelite's")
        splits = sorted(
            (int(n["split_feature_id"]), float(n["threshold"]), n["comparison_op"])
            for n in tl["nodes"]
            if "split_feature_id" in n
        )
        mine = sorted(
            (n.feature, n.threshold if not math.isinf(n.threshold) else math.inf, "<=")
            for n in tree.nodes
            if not n.is_leaf
        )
        splits = [(f, math.inf if math.isinf(t) else t, op) for f, t, op in splits]
        mine = sorted((f, abs(t) if math.isinf(t) else t, op) for f, t, op in mine)
        splits = sorted((f, abs(t) if math.isinf(t) else t, op) for f, t, op in splits)
        if splits != mine:
            problems.append(f"tree {k}: splits differ from treelite's")
        if len(problems) > 20:
            break
    return problems
