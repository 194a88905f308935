"""The forest as C99 (and the shape of the code for Swift): one function per tree, nested ifs.

XGBoost's rule, written so that a compiler without -ffast-math cannot change it:

* ``x[i] = (float)features[i]``: round to nearest, as XGBoost converts its input;
* a split whose NaN goes right is ``if (x[f] < t)``; one whose NaN goes left is
  ``if (!(x[f] >= t))`` (true for x < t and for NaN): no isnan call, same branches;
* thresholds and leaves are hex float literals (``0x1.8p+1f``): exactly the float32 in the
  model, whatever the compiler's decimal conversion;
* margins start at the base margin and add each tree's leaf in XGBoost's tree order, one float
  addition per statement (``m0 = m0 + tree_3(x);``), FLT_EVAL_METHOD 0 enforced.

The batch entry point (``<name>_model_margins_batch``, c/<name>_model_batch.c) evaluates the same
trees from node tables instead of code: tree by tree over a block of rows, one tree level at a
time for every row of the block (no branch depends on the data but the rare NaN test, and the
rows' walks are independent, so the processor overlaps them). Each row still starts at the base
margin and adds tree 0, 1, ... in order in float, with the same comparisons, so its margins are
the one-row function's bits. Measured alternatives are in docs/model.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import fp32
from .ir import XGBOOST, ZERO_THRESHOLD, Forest, Node, Rule, Tree

C_TYPE = {"float32": "float", "float64": "double"}
SWIFT_TYPE = {"float32": "Float", "float64": "Double"}


def condition(node: Node, rule: Rule, f: str, t: str, zero: str) -> str:
    """The test that sends ``f`` (the feature read) to the left child of ``node``, with ``t``
    its threshold literal and ``zero`` the literal of ZERO_THRESHOLD, written without isnan:

    * ``<`` and NaN right: ``f < t``; NaN left: ``!(f >= t)`` (true for NaN);
    * ``<=`` and NaN right: ``f <= t``; NaN left: ``!(f > t)``;
    * LightGBM's zero-as-missing band ``(-z, z]`` joins NaN on the default side:
      left by default: ``!(f > t) || (f > -z && f <= z)``; right: ``f <= t && !(f > -z && f <=
      z)``."""
    if rule.compare == "<":
        test = f"!({f} >= {t})" if node.default_left else f"{f} < {t}"
    else:
        test = f"!({f} > {t})" if node.default_left else f"{f} <= {t}"
    if node.zero_missing:
        band = f"({f} > -{zero} && {f} <= {zero})"
        test = f"{test} || {band}" if node.default_left else f"{test} && !{band}"
    return test


def tree_lines(
    tree: Tree,
    x: str,
    literal: Callable[[float], str],
    ret: str = "return {};",
    indent: str = "    ",
    names: tuple[str, ...] = (),
    comment: str = "/* {} */",
    rule: Rule = XGBOOST,
    language: str = "c",
) -> list[str]:
    """Nested if/else statements for ``tree``; ``literal`` prints a leaf value (the rule's
    accumulation type); thresholds are printed in the rule's threshold type; each split is
    annotated with the feature's name when ``names`` are given."""
    zero = fp32.literal(ZERO_THRESHOLD, "float64", language)

    def cond(node: Node) -> str:
        return condition(
            node,
            rule,
            f"{x}[{node.feature}]",
            fp32.literal(node.threshold, rule.threshold, language),
            zero,
        )

    lines: list[str] = []

    def emit(i: int, depth: int) -> None:
        node = tree.nodes[i]
        pad = indent * depth
        if node.is_leaf:
            lines.append(pad + ret.format(literal(node.value)))
            return
        note = " " + comment.format(names[node.feature]) if names else ""
        lines.append(f"{pad}if ({cond(node)}) {{{note}")
        emit(node.left, depth + 1)
        lines.append(f"{pad}}} else {{")
        emit(node.right, depth + 1)
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines


TRANSFORM_DOC = {
    "sigmoid": "1 / (expf(min(-margin, 88.7f)) + 1 + 1e-16f) in float",
    "identity": "the margin itself",
    "exp": "expf(margin) in float",
    "hinge": "1 when margin > 0, else 0",
    "softmax": "softmax of the margins",
    "logistic": "1 / (1 + exp(-s * margin)) in double",
    "exp64": "exp(margin) in double",
    "softmax64": "softmax of the margins in double (max, exp(m - max), double sum, divide)",
    "proba": "the margins themselves (averaged class fractions)",
}

BATCH_ROWS_MAX = 32  # rows per block: measured best of 16/32/64 on x86-64 (docs/model.md)
BATCH_STACK_BYTES = 32 * 1024  # the block's float copy of its rows stays below this


def batch_rows(n_features: int) -> int:
    """Rows evaluated together by the batch function: up to BATCH_ROWS_MAX, fewer when the
    float copy of the block (rows x features x 4 bytes) would exceed BATCH_STACK_BYTES."""
    return max(1, min(BATCH_ROWS_MAX, BATCH_STACK_BYTES // (4 * max(1, n_features))))


def _uint(limit: int) -> str:
    """The smallest of uint16_t / uint32_t holding 0 .. limit."""
    return "uint16_t" if limit <= 0xFFFF else "uint32_t"


def node_table(
    forest: Forest,
    literal: Callable[[float], str],
    names: tuple[str, ...] = (),
    threshold_literal: Callable[[float], str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The forest as node tables for the batch function: (trees, nodes).

    Each tree's reachable nodes, depth first (left first), numbered from 0 within the tree; a
    split is ``(threshold, feature, left, right, default_left)``, a leaf ``(value, 0, self,
    self, 0)``: both children are the leaf itself, so a walk of exactly ``depth`` steps ends on
    the row's leaf whatever the depth it reaches it at. ``trees`` holds per tree the index of
    its first node, its depth and its group. A split's ``value`` is printed by
    ``threshold_literal`` (default: ``literal``)."""
    threshold_literal = threshold_literal or literal
    trees: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for k, tree in enumerate(forest.trees):
        order = tree.reachable()
        local = {old: new for new, old in enumerate(order)}
        first = len(nodes)
        for new, old in enumerate(order):
            n = tree.nodes[old]
            if n.is_leaf:
                nodes.append(
                    {
                        "value": literal(n.value),
                        "feature": 0,
                        "left": new,
                        "right": new,
                        "default_left": 0,
                        "tree": k,
                        "index": new,
                        "zero_missing": 0,
                        "note": "leaf",
                    }
                )
            else:
                nodes.append(
                    {
                        "value": threshold_literal(n.threshold),
                        "feature": n.feature,
                        "left": local[n.left],
                        "right": local[n.right],
                        "default_left": int(n.default_left),
                        "tree": k,
                        "index": new,
                        "zero_missing": int(n.zero_missing),
                        "note": names[n.feature] if names else f"x[{n.feature}]",
                    }
                )
        trees.append(
            {
                "index": k,
                "first": first,
                "n_nodes": len(order),
                "depth": tree.depth(),
                "group": tree.group,
            }
        )
    return trees, nodes


def render_context(
    forest: Forest, name: str, feature_names: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What templates/c/model.*.j2 need."""
    rule = forest.rule
    acc = rule.accumulate

    def leaf(v: float) -> str:
        return fp32.literal(v, acc)

    trees = []
    for k, tree in enumerate(forest.trees):
        leaf_only = tree.nodes[0].is_leaf
        trees.append(
            {
                "index": k,
                "group": tree.group,
                "depth": tree.depth(),
                "leaf_only": leaf_only,
                "lines": tree_lines(tree, "x", leaf, names=feature_names, rule=rule),
            }
        )
    # the batch table holds thresholds and leaves in one field: the wider of the two types
    wide = "float64" if "float64" in (rule.threshold, acc) else "float32"
    batch_trees, batch_nodes = node_table(forest, lambda v: fp32.literal(v, wide), feature_names)
    return {
        "rule": rule,
        "rule_doc": rule.describe(),
        "xgboost_rule": rule == XGBOOST,
        "margin_type": C_TYPE[acc],
        "input_type": C_TYPE[rule.input],
        "node_value_type": C_TYPE[wide],
        "zero_threshold": fp32.c_double_literal(ZERO_THRESHOLD),
        "has_zero_missing": any(n["zero_missing"] for n in batch_nodes),
        "average": fp32.literal(float(rule.average), acc) if rule.average else "",
        "batch_rows": batch_rows(forest.n_features),
        "batch_trees": batch_trees,
        "batch_nodes": batch_nodes,
        "batch_feature_type": _uint(max(forest.n_features - 1, 0)),
        "batch_child_type": _uint(max((t["n_nodes"] for t in batch_trees), default=1) - 1),
        "batch_depth_type": _uint(max((t["depth"] for t in batch_trees), default=0)),
        "batch_group_type": _uint(max(forest.n_outputs - 1, 0)),
        "n_outputs": forest.n_outputs,
        "n_classes": forest.n_classes,
        "n_trees": len(forest.trees),
        "max_depth": forest.max_depth,
        "objective": forest.objective,
        "transform": forest.transform,
        "value_doc": forest.spec.value,
        "transform_doc": TRANSFORM_DOC[forest.transform],
        "base_margin": [leaf(v) for v in forest.base_margin],
        "trees": trees,
        "scale": fp32.c_double_literal(forest.scale),
        "clamp": fp32.c_literal(float(fp32.F32(88.7))),
        "eps": fp32.c_literal(float(fp32.F32(1e-16))),
    }
