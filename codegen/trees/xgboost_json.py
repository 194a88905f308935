"""Load an XGBoost model saved as JSON (``booster.save_model('model.json')``) into the tree IR,
exactly, and cross-check it against XGBoost itself and against Treelite.

* Every threshold and leaf in the JSON is a decimal that XGBoost printed from a float32; it is
  parsed back to that float32 with correct rounding (:func:`fp32.f32_from_decimal`).
* The base margin is taken from XGBoost itself, not re-derived: a copy of the model with every
  leaf set to 0 is loaded into XGBoost and asked for its margin, which is then exactly the
  float32 that XGBoost starts every sum from (base_score mapped to margin space with XGBoost's
  own float arithmetic; since 3.1 one per class).
* ``treelite.frontend.from_xgboost(booster).dump_as_json()`` must describe the same trees: same
  features, thresholds (as float32), comparison ``<``, default directions, children, leaves and
  tree-to-class assignment. Any difference is an error: two readers disagree about the model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from . import fp32, objectives
from .ir import Forest, Node, Tree


class ModelError(ValueError):
    """A model featgen cannot compile exactly (unsupported objective, categorical splits...)."""


def read_model_json(path: str | Path) -> tuple[dict[str, Any], bytes]:
    raw = Path(path).read_bytes()
    try:
        doc = json.loads(raw, parse_float=str, parse_int=str)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not an XGBoost JSON model ({exc})") from None
    return doc, raw


def _num(value: object) -> float:
    return fp32.f32_from_decimal(str(value))


def forest_from_json(
    doc: dict[str, Any], base_margin: tuple[float, ...] | None = None, where: str = "model.json"
) -> Forest:
    """The forest of an XGBoost JSON document (``parse_float=str`` keeps decimals exact)."""
    try:
        learner = doc["learner"]
        booster = learner["gradient_booster"]
        objective = learner["objective"]["name"]
        params = learner["learner_model_param"]
    except (KeyError, TypeError):
        raise ModelError(
            f"{where}: not an XGBoost JSON model (no learner.gradient_booster)"
        ) from None
    name = booster.get("name")
    if name == "gblinear":
        raise ModelError(
            f"{where}: booster 'gblinear' is not supported: a linear model has no "
            "trees; featgen compiles tree ensembles (booster gbtree)"
        )
    if name == "dart":
        raise ModelError(
            f"{where}: booster 'dart' is not supported: XGBoost's own two "
            "prediction paths disagree on a dart model's margin (predict adds "
            "leaf x weight_drop per tree, inplace_predict ((base + leaf) - base) x "
            "weight_drop, in float32), so there is no single margin to reproduce "
            "bit for bit; retrain with booster gbtree (see docs/model.md)"
        )
    if name != "gbtree":
        raise ModelError(
            f"{where}: booster {name!r} is not supported; featgen compiles gbtree models"
        )
    try:
        spec = objectives.objective(objective)
    except ValueError as exc:
        raise ModelError(f"{where}: {exc}") from None
    if int(params.get("num_target", "1")) != 1:
        raise ModelError(
            f"{where}: a model with {params.get('num_target')} targets (several "
            "quantiles, multi-target regression or multi_strategy="
            "'multi_output_tree') is not supported: featgen compiles one output, "
            "or one per class"
        )
    n_features = int(params["num_feature"])
    n_class = int(params.get("num_class", "0"))
    n_outputs = n_class if spec.kind == "multiclass" else 1
    if spec.kind == "multiclass" and n_class < 2:
        raise ModelError(f"{where}: {objective} with num_class {n_class}")
    categorical = [i for i, t in enumerate(learner.get("feature_types") or ()) if t == "c"]
    if categorical:
        names = learner.get("feature_names") or []
        first = names[categorical[0]] if categorical[0] < len(names) else categorical[0]
        raise ModelError(
            f"{where}: feature {first!r} is categorical (feature_types 'c'); "
            "featgen's features are numbers, so only numerical features and "
            "splits are supported"
        )
    model = booster["model"]
    groups = [int(g) for g in model["tree_info"]]
    trees = []
    for k, (t, group) in enumerate(zip(model["trees"], groups)):
        if int(t["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise ModelError(
                f"{where}: tree {k} has vector leaves (multi_strategy="
                "'multi_output_tree'); featgen compiles one output per tree"
            )
        if any(int(s) != 0 for s in t["split_type"]) or t.get("categories_nodes"):
            raise ModelError(
                f"{where}: tree {k} has categorical splits; featgen features are "
                "numbers, so only numerical splits are supported"
            )
        left = [int(v) for v in t["left_children"]]
        right = [int(v) for v in t["right_children"]]
        feature = [int(v) for v in t["split_indices"]]
        cond = [_num(v) for v in t["split_conditions"]]
        default_left = [bool(int(v)) for v in t["default_left"]]
        nodes = []
        for i in range(len(left)):
            if left[i] == -1:
                nodes.append(Node(-1, 0.0, -1, -1, False, cond[i]))
            else:
                if not 0 <= feature[i] < n_features:
                    raise ModelError(
                        f"{where}: tree {k} node {i} splits on feature {feature[i]} of {n_features}"
                    )
                nodes.append(Node(feature[i], cond[i], left[i], right[i], default_left[i], 0.0))
        if not 0 <= group < n_outputs:
            raise ModelError(f"{where}: tree {k} adds to output {group} of {n_outputs}")
        tree = Tree(tuple(nodes), group)
        if (problem := tree.problem()) is not None:  # before XGBoost loads it (a cycle crashes it)
            raise ModelError(f"{where}: tree {k} {problem}")
        trees.append(tree)
    if len(trees) != len(model["trees"]) or len(groups) != len(trees):
        raise ModelError(f"{where}: tree_info and trees disagree")
    if base_margin is None:
        base_margin = (0.0,) * n_outputs
    return Forest(objective, n_features, n_outputs, tuple(base_margin), tuple(trees))


def _booster(raw: bytes) -> Any:  # xgboost.Booster (xgboost is imported lazily)
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    return booster


def forest_of(raw: bytes, where: str = "model.json") -> Forest:
    """The exact forest of the JSON model ``raw``: checked for what featgen compiles first (a
    located ModelError for anything else), then its base margin taken from XGBoost."""
    try:
        doc = json.loads(raw, parse_float=str, parse_int=str)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{where}: not an XGBoost JSON model ({exc})") from None
    forest = forest_from_json(doc, None, where=where)
    return dataclasses.replace(forest, base_margin=base_margin_of(raw))


def load(path: str | Path) -> tuple[Forest, str]:
    """The exact forest in ``path`` and the sha256 of the file. Requires xgboost (base margin)."""
    doc, raw = read_model_json(path)
    base = base_margin_of(raw)
    return forest_from_json(doc, base, where=str(path)), hashlib.sha256(raw).hexdigest()


def base_margin_of(raw: bytes) -> tuple[float, ...]:
    """XGBoost's base margin for the model in ``raw`` (JSON bytes): in a copy with every leaf
    set to -0.0 every path ends at -0.0, so XGBoost's margin for any row is its base margin
    (b + -0.0 is b for every float b, the sign of a zero base included; +0.0 would turn a base
    of -0.0, logit(0.5) computed as -log(1), into +0.0). Thresholds do not matter, so reading
    them as doubles here is harmless."""
    doc = json.loads(raw)
    for t in doc["learner"]["gradient_booster"]["model"]["trees"]:
        t["split_conditions"] = [
            -0.0 if left == -1 else c for left, c in zip(t["left_children"], t["split_conditions"])
        ]
    booster = _booster(json.dumps(doc).encode())
    n = int(doc["learner"]["learner_model_param"]["num_feature"])
    margin = booster.inplace_predict(np.zeros((1, n), dtype=np.float32), predict_type="margin")
    return tuple(float(v) for v in np.asarray(margin, dtype=np.float32).ravel())


# ---------------------------------------------------------------- Treelite cross-check


def treelite_dump(raw: bytes) -> dict[str, Any]:
    import treelite

    doc: dict[str, Any] = json.loads(treelite.frontend.from_xgboost(_booster(raw)).dump_as_json())
    return doc


def cross_check_treelite(forest: Forest, dump: dict[str, Any]) -> list[str]:
    """Differences between the forest and Treelite's reading of the same model (empty: none).
    Base scores are compared as float32 and reported, not refused (XGBoost's value is used)."""
    problems = []
    trees = dump["trees"]
    if len(trees) != len(forest.trees):
        return [f"treelite reads {len(trees)} trees, featgen {len(forest.trees)}"]
    classes = dump.get("class_id", [0] * len(trees))
    for k, (tree, tl) in enumerate(zip(forest.trees, trees)):
        if forest.n_outputs > 1 and int(classes[k]) != tree.group:
            problems.append(
                f"tree {k}: treelite adds it to class {classes[k]}, "
                f"XGBoost's tree_info to {tree.group}"
            )
        by_id = {int(n["node_id"]): n for n in tl["nodes"]}
        for i in tree.reachable():
            node, other = tree.nodes[i], by_id.get(i)
            if other is None:
                problems.append(f"tree {k} node {i}: missing in treelite")
                continue
            if node.is_leaf:
                value = other.get("leaf_value")
                if (
                    not isinstance(value, (int, float))
                    or float(np.float32(value)) != node.value
                    or not fp32.is_f32(float(value))
                ):
                    problems.append(
                        f"tree {k} node {i}: leaf {fp32.hex32(node.value)} vs treelite {other}"
                    )
                continue
            same = (
                other.get("node_type") == "numerical_test_node"
                and int(other["split_feature_id"]) == node.feature
                and other["comparison_op"] == "<"
                and fp32.is_f32(float(other["threshold"]))
                and float(other["threshold"]) == node.threshold
                and bool(other["default_left"]) == node.default_left
                and int(other["left_child"]) == node.left
                and int(other["right_child"]) == node.right
            )
            if not same:
                problems.append(
                    f"tree {k} node {i}: feature {node.feature} < "
                    f"{fp32.hex32(node.threshold)} default "
                    f"{'left' if node.default_left else 'right'} vs treelite {other}"
                )
        if len(problems) > 20:
            break
    return problems


def treelite_base_margin(dump: dict[str, Any]) -> tuple[float, ...]:
    """Treelite's base scores (margin space, double) rounded to float32."""
    return tuple(float(np.float32(v)) for v in dump["base_scores"])
