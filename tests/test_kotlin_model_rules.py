"""The pure Kotlin tree emitter's reading of each ``Rule`` field, without kotlinc (the JVM runs
in parity_tests/test_kotlin_jvm.py and test_kotlin_jvm_zoo.py): the exact test each rule gives a
stump's split, and no hex float literal anywhere in the committed Kotlin (kotlinc rejects them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codegen.backends.kotlin_jvm import feature_read, kotlin_number, tree_kotlin
from codegen.trees import fp32
from codegen.trees.ir import LIGHTGBM, SKLEARN_HIST, SKLEARN_TREES, XGBOOST, Node, Tree

ROOT = Path(__file__).resolve().parent.parent
T32 = float(fp32.F32(0.1))  # 0.10000000149011612, a float32
Z = "1.0000000180025095e-35"  # ZERO_THRESHOLD as a decimal


def stump(threshold: float, default_left: bool, zero_missing: bool = False) -> Tree:
    return Tree(
        (
            Node(0, threshold, 1, 2, default_left, 0.0, zero_missing),
            Node(-1, 0.0, -1, -1, False, 1.0),
            Node(-1, 0.0, -1, -1, False, 2.0),
        ),
        0,
    )


@pytest.mark.parametrize(
    "rule, threshold, default_left, zero_missing, test, leaf",
    [
        (XGBOOST, T32, False, False, "f[0].toFloat() < 0.10000000149011612f", "1.0f"),
        (XGBOOST, T32, True, False, "!(f[0].toFloat() >= 0.10000000149011612f)", "1.0f"),
        (SKLEARN_TREES, 0.1, False, False, "f[0].toFloat().toDouble() <= 0.1", "1.0"),
        (SKLEARN_TREES, float("inf"), True, False, "!(f[0].toFloat().toDouble() > "
         "Double.POSITIVE_INFINITY)", "1.0"),
        (SKLEARN_HIST, 0.1, True, False, "!(f[0] > 0.1)", "1.0"),
        (LIGHTGBM, 0.1, False, False, "read(f[0]) <= 0.1", "1.0"),
        (LIGHTGBM, 0.1, True, True,
         f"!(read(f[0]) > 0.1) || (read(f[0]) > -{Z} && read(f[0]) <= {Z})", "1.0"),
        (LIGHTGBM, 0.1, False, True,
         f"read(f[0]) <= 0.1 && !(read(f[0]) > -{Z} && read(f[0]) <= {Z})", "1.0"),
    ],
)  # fmt: skip
def test_each_rule_gives_the_c_test_in_kotlin(rule, threshold, default_left, zero_missing, test,
                                              leaf):  # fmt: skip
    lines = tree_kotlin(stump(threshold, default_left, zero_missing), rule, ("x",))
    assert lines[0] == f"if ({test}) {{ // x"
    assert lines[1] == f"    return {leaf}"


def test_reads_and_literals_follow_the_rule():
    assert feature_read(XGBOOST) == "f[{}].toFloat()"
    assert feature_read(LIGHTGBM) == "read(f[{}])"
    assert kotlin_number(0.1, "float64") == "0.1"
    assert kotlin_number(-float("inf"), "float64") == "Double.NEGATIVE_INFINITY"
    assert float(kotlin_number(T32, "float32")[:-1]) == T32


def test_committed_kotlin_has_no_hex_float_literal():
    """Kotlin has no hex floats: a C literal such as 0x1.8p+1f in generated Kotlin does not
    compile (the regression the rule emitters once brought into kotlin/)."""
    files = sorted((ROOT / "generated").glob("*/kotlin/**/*.kt"))
    assert files
    for path in files:
        hit = re.search(r"\b0x[0-9a-fA-F]*\.?[0-9a-fA-F]*p[+-]?\d", path.read_text())
        assert hit is None, f"{path.relative_to(ROOT)}: hex float literal {hit.group(0)}"
