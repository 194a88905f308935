"""featgen's own forest file (``model.json`` of a model directory imported from LightGBM or
scikit-learn): the tree IR with its prediction rule, every number a hex float (``float.hex``),
so the file is the exact model whatever the library that trained it.

    {"format": "featgen-forest/1", "rule": {...Rule.to_json()}, "objective": "lightgbm:binary",
     "scale": "0x1p+0", "n_features": 4, "n_outputs": 1, "base_margin": ["0x0p+0"],
     "trees": [{"group": 0, "nodes": [[feature, threshold, left, right, default_left, value,
                                        zero_missing], ...]}, ...]}

A leaf has feature -1 (and threshold "0x0p+0"); children are indices into the tree's list.
XGBoost models keep XGBoost's own JSON (codegen/trees/xgboost_json.py).
"""

from __future__ import annotations

import json
import math

from . import fp32
from .ir import Forest, Node, Rule, Tree
from .objectives import OBJECTIVES
from .xgboost_json import ModelError

FORMAT = "featgen-forest/1"


def _hex(x: float) -> str:
    return float(x).hex()


def dumps(forest: Forest) -> bytes:
    """The forest as deterministic JSON bytes."""
    doc = {
        "format": FORMAT,
        "rule": forest.rule.to_json(),
        "objective": forest.objective,
        "scale": _hex(forest.scale),
        "n_features": forest.n_features,
        "n_outputs": forest.n_outputs,
        "base_margin": [_hex(v) for v in forest.base_margin],
        "trees": [
            {
                "group": t.group,
                "nodes": [
                    [
                        n.feature,
                        _hex(n.threshold),
                        n.left,
                        n.right,
                        int(n.default_left),
                        _hex(n.value),
                        int(n.zero_missing),
                    ]
                    for n in t.nodes
                ],
            }
            for t in forest.trees
        ],
    }
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def is_forest_json(raw: bytes) -> bool:
    return raw.lstrip()[:40].replace(b" ", b"").startswith(b'{"format":"' + FORMAT.encode())


def loads(raw: bytes, where: str = "model.json") -> Forest:
    """The forest in ``raw``; ModelError naming what is wrong."""
    try:
        doc = json.loads(raw)
        rule = Rule(**doc["rule"])
        if doc["objective"] not in OBJECTIVES:
            raise ModelError(f"{where}: unknown objective {doc['objective']!r}")
        n_features, n_outputs = int(doc["n_features"]), int(doc["n_outputs"])
        trees = []
        for k, t in enumerate(doc["trees"]):
            nodes = []
            for f, thr, left, right, dl, value, zm in t["nodes"]:
                nodes.append(
                    Node(
                        int(f),
                        float.fromhex(thr),
                        int(left),
                        int(right),
                        bool(dl),
                        float.fromhex(value),
                        bool(zm),
                    )
                )
            for i, n in enumerate(nodes):
                if not n.is_leaf and not (
                    0 <= n.feature < n_features
                    and 0 <= n.left < len(nodes)
                    and 0 <= n.right < len(nodes)
                ):
                    raise ModelError(f"{where}: tree {k} node {i} is malformed")
            if not 0 <= int(t["group"]) < n_outputs:
                raise ModelError(f"{where}: tree {k} adds to output {t['group']}")
            tree = Tree(tuple(nodes), int(t["group"]))
            if (problem := tree.problem()) is not None:
                raise ModelError(f"{where}: tree {k} {problem}")
            trees.append(tree)
        forest = Forest(
            doc["objective"],
            n_features,
            n_outputs,
            tuple(float.fromhex(v) for v in doc["base_margin"]),
            tuple(trees),
            rule,
            float.fromhex(doc["scale"]),
        )
    except ModelError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{where}: not a featgen forest file ({exc!r})") from None
    if rule.accumulate == "float32":
        bad = [v for t in forest.trees for n in t.nodes for v in (n.value,) if not fp32.is_f32(v)]
        if bad:
            raise ModelError(f"{where}: leaf {bad[0]!r} is not a float32 value")
    if any(not math.isfinite(v) for v in forest.base_margin):
        raise ModelError(f"{where}: a non-finite base margin")
    return forest
