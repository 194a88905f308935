"""The tree IR's rule fields (codegen/trees/ir.py Rule), one at a time on a hand-built stump, so
an emitter (C, Swift, the pure-Kotlin target) can check its reading of each field against the
reference evaluator; and featgen's forest file round-trips every field exactly."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from codegen.trees import forest_json
from codegen.trees.ir import (
    LIGHTGBM,
    SKLEARN_HIST,
    SKLEARN_TREES,
    XGBOOST,
    ZERO_THRESHOLD,
    Forest,
    Node,
    Tree,
)

T = 0.1  # a double that is not a float32: float32 rounding of x matters next to it


def stump(
    rule, threshold=T, default_left=False, zero_missing=False, left=1.0, right=2.0, base=0.0
) -> Forest:
    nodes = (
        Node(0, threshold, 1, 2, default_left, 0.0, zero_missing),
        Node(-1, 0.0, -1, -1, False, left),
        Node(-1, 0.0, -1, -1, False, right),
    )
    return Forest("sklearn:regression", 1, 1, (base,), (Tree(nodes, 0),), rule)


def margin(forest: Forest, x: float) -> float:
    return float(forest.margins(np.array([[x]]))[0, 0])


def test_compare_at_the_threshold():
    t32 = float(np.float32(T))
    assert margin(stump(XGBOOST, t32), t32) == 2.0  # x < t: equal goes right
    assert margin(stump(LIGHTGBM), T) == 1.0  # x <= t: equal goes left


def test_input_precision():
    below = float(np.nextafter(T, 0.0))  # rounds to float32(T) > T
    assert float(np.float32(below)) > T
    assert margin(stump(SKLEARN_TREES), below) == 2.0  # float32 first: above T, right
    assert margin(stump(SKLEARN_HIST), below) == 1.0  # double: below T, left


def test_nan_follows_the_default_child():
    assert margin(stump(LIGHTGBM, default_left=True), math.nan) == 1.0
    assert margin(stump(LIGHTGBM, default_left=False), math.nan) == 2.0


def test_lightgbm_flushes_tiny_values_to_zero_and_zero_missing():
    tiny = stump(LIGHTGBM, threshold=-1e-300)  # 0 > -1e-300: right
    assert margin(tiny, -1e-36) == 2.0  # |x| <= 1e-35f reads as +0.0
    assert margin(stump(SKLEARN_HIST, threshold=-1e-300), -1e-36) == 1.0
    zm = stump(LIGHTGBM, threshold=5.0, default_left=False, zero_missing=True)
    assert margin(zm, 0.0) == 2.0 and margin(zm, ZERO_THRESHOLD) == 2.0  # the band: default
    assert margin(zm, float(np.nextafter(ZERO_THRESHOLD, 1.0))) == 1.0  # outside: compared


def test_accumulation_and_average():
    a, b = 0.1, 0.2
    nodes = (Node(-1, 0.0, -1, -1, False, a),)
    trees = (Tree(nodes, 0), Tree((Node(-1, 0.0, -1, -1, False, b),), 0))
    f64 = Forest(
        "sklearn:regression", 1, 1, (0.0,), trees, dataclasses.replace(SKLEARN_TREES, average=2)
    )
    assert margin(f64, 0.0) == (0.0 + a + b) / 2.0
    a32, b32 = float(np.float32(a)), float(np.float32(b))
    f32 = Forest(
        "reg:squarederror",
        1,
        1,
        (0.0,),
        (
            Tree((Node(-1, 0.0, -1, -1, False, a32),), 0),
            Tree((Node(-1, 0.0, -1, -1, False, b32),), 0),
        ),
    )
    assert margin(f32, 0.0) == float(np.float32(np.float32(a32) + np.float32(b32)))


def test_forest_file_round_trips_every_field():
    forest = stump(
        dataclasses.replace(LIGHTGBM, average=3),
        threshold=math.inf,
        default_left=True,
        zero_missing=True,
        left=0.1,
        right=-0.0,
        base=-0.0,
    )
    back = forest_json.loads(forest_json.dumps(forest))
    assert back == forest
    assert math.copysign(1.0, back.trees[0].nodes[2].value) < 0
    assert forest_json.dumps(back) == forest_json.dumps(forest)
