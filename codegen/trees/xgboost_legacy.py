"""XGBoost's legacy binary model format (``save_model`` to a non-JSON name before XGBoost 2.1;
SageMaker's built-in containers up to 1.7) -> XGBoost JSON, for an XGBoost (>= 3.1) that no
longer reads it.

* The trees are read by Treelite (``treelite.frontend.load_xgboost_model_legacy_binary``, the
  frontend written for this format): float32 thresholds and leaves (held exactly as doubles),
  default directions, children, the class of each tree.
* base_score (in prediction space, as XGBoost keeps it), num_feature, num_class and the objective
  name are read from the file's own header (LearnerModelParamLegacy: ``binf``, then float
  base_score, uint32 num_feature, int32 num_class, ... 136 bytes, then the objective name and
  the booster name as length-prefixed strings).
* The JSON is what XGBoost 3.x writes for a gbtree model; XGBoost loads it and computes the base
  margin itself. tests/test_import_model.py checks the result against the margins XGBoost 2.1
  computed from the original file (tests/data/make_legacy_models.py): bit for bit.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from typing import Any

import numpy as np

from .xgboost_json import ModelError

HEADER = 136  # sizeof(LearnerModelParamLegacy)

# The parameter section XGBoost 3.2 expects beside each objective's name (what it writes with
# default values). The legacy file does not keep them; none of them changes a prediction.
OBJECTIVE_PARAMS = {
    "binary:logistic": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "binary:logitraw": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "reg:logistic": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "reg:squarederror": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "reg:gamma": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "reg:pseudohubererror": {"pseudo_huber_param": {"huber_slope": "1"}},
    "reg:quantileerror": {"quantile_loss_param": {"quantile_alpha": "[5E-1]"}},
    "count:poisson": {"poisson_regression_param": {"max_delta_step": "0.699999988"}},
    "reg:tweedie": {"tweedie_regression_param": {"tweedie_variance_power": "1.5"}},
    "survival:aft": {
        "aft_loss_param": {"aft_loss_distribution": "normal", "aft_loss_distribution_scale": "1"}
    },
}


def header(raw: bytes, where: str) -> dict[str, Any]:
    """base_score, num_feature, num_class, objective and booster names from the header."""
    start = 4 if raw[:4] == b"binf" else 0
    try:
        base_score, num_feature, num_class = struct.unpack_from("<fIi", raw, start)
        off = start + HEADER
        names = []
        for _ in range(2):
            (n,) = struct.unpack_from("<Q", raw, off)
            if n > 256:
                raise ValueError(f"a name of {n} bytes")
            names.append(raw[off + 8 : off + 8 + n].decode("ascii"))
            off += 8 + n
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{where}: not a readable legacy binary XGBoost model ({exc})") from None
    return {
        "base_score": base_score,
        "num_feature": num_feature,
        "num_class": num_class,
        "objective": names[0],
        "booster": names[1],
    }


def objective_params(head: dict[str, Any]) -> dict[str, Any]:
    if head["objective"].startswith("multi:"):
        return {"softmax_multiclass_param": {"num_class": str(head["num_class"])}}
    return OBJECTIVE_PARAMS.get(head["objective"], {})


def _g(x: float) -> str:
    """A float32 as XGBoost prints it in JSON (9 significant digits round-trip exactly)."""
    return repr(float(np.float32(x))) if math.isfinite(x) else "0"


def to_json(raw: bytes, where: str) -> bytes:
    """The XGBoost JSON of the legacy binary model ``raw``; ModelError when it cannot be read
    or is not a gbtree model."""
    import treelite

    head = header(raw, where)
    if head["booster"] != "gbtree":
        raise ModelError(
            f"{where}: booster {head['booster']!r} is not supported; featgen compiles gbtree models"
        )
    fd, path = tempfile.mkstemp(suffix=".bin")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        try:
            dump = json.loads(
                treelite.frontend.load_xgboost_model_legacy_binary(path).dump_as_json()
            )
        except Exception as exc:  # treelite raises its own error types  # noqa: BLE001
            raise ModelError(
                f"{where}: Treelite cannot read this legacy binary model "
                f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc})"
            ) from None
    finally:
        os.unlink(path)
    n_groups = max(1, head["num_class"])
    classes = dump.get("class_id", [0] * len(dump["trees"]))
    trees = []
    for k, tl in enumerate(dump["trees"]):
        nodes = {int(n["node_id"]): n for n in tl["nodes"]}
        count = max(nodes) + 1
        left, right = [-1] * count, [-1] * count
        parents, feature = [2147483647] * count, [0] * count
        cond, default_left = [0.0] * count, [0] * count
        for i, n in nodes.items():
            if n.get("node_type") == "numerical_test_node":
                if n["comparison_op"] != "<":
                    raise ModelError(
                        f"{where}: tree {k} node {i} compares with "
                        f"{n['comparison_op']!r}, not XGBoost's '<'"
                    )
                left[i], right[i] = int(n["left_child"]), int(n["right_child"])
                parents[left[i]] = parents[right[i]] = i
                feature[i] = int(n["split_feature_id"])
                cond[i] = float(n["threshold"])
                default_left[i] = int(bool(n["default_left"]))
            elif "leaf_value" in n and isinstance(n["leaf_value"], (int, float)):
                cond[i] = float(n["leaf_value"])
            else:
                raise ModelError(
                    f"{where}: tree {k} node {i} is neither a numerical split nor "
                    "a scalar leaf (categorical splits and vector leaves are not "
                    "supported)"
                )
        trees.append(
            {
                "base_weights": [0.0] * count,
                "categories": [],
                "categories_nodes": [],
                "categories_segments": [],
                "categories_sizes": [],
                "default_left": default_left,
                "id": k,
                "left_children": left,
                "loss_changes": [0.0] * count,
                "parents": parents,
                "right_children": right,
                "split_conditions": [float(np.float32(c)) for c in cond],
                "split_indices": feature,
                "split_type": [0] * count,
                "sum_hessian": [0.0] * count,
                "tree_param": {
                    "num_deleted": "0",
                    "num_feature": str(head["num_feature"]),
                    "num_nodes": str(count),
                    "size_leaf_vector": "1",
                },
            }
        )
    n_trees = len(trees)
    if n_trees % n_groups:
        raise ModelError(f"{where}: {n_trees} trees for {n_groups} classes")
    doc = {
        "learner": {
            "attributes": {},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(n_trees)},
                    "iteration_indptr": list(range(0, n_trees + 1, n_groups)),
                    "tree_info": [int(c) for c in classes] if n_groups > 1 else [0] * n_trees,
                    "trees": trees,
                },
                "name": "gbtree",
            },
            "learner_model_param": {
                "base_score": f"[{_g(head['base_score'])}]",
                "boost_from_average": "1",
                "num_class": str(head["num_class"]),
                "num_feature": str(head["num_feature"]),
                "num_target": "1",
            },
            "objective": {"name": head["objective"], **objective_params(head)},
        },
        "version": [1, 7, 0],
    }
    return json.dumps(doc).encode()
