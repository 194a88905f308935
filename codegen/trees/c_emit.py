"""The forest as C99 (and the shape of the code for Swift): one function per tree, nested ifs.

XGBoost's rule, written so that a compiler without -ffast-math cannot change it:

* ``x[i] = (float)features[i]``: round to nearest, as XGBoost converts its input;
* a split whose NaN goes right is ``if (x[f] < t)``; one whose NaN goes left is
  ``if (!(x[f] >= t))`` (true for x < t and for NaN): no isnan call, same branches;
* thresholds and leaves are hex float literals (``0x1.8p+1f``): exactly the float32 in the
  model, whatever the compiler's decimal conversion;
* margins start at the base margin and add each tree's leaf in XGBoost's tree order, one float
  addition per statement (``m0 = m0 + tree_3(x);``), FLT_EVAL_METHOD 0 enforced.
"""
from __future__ import annotations

from . import fp32
from .ir import Forest, Tree


def tree_lines(tree: Tree, x: str, literal, ret: str = "return {};",
               indent: str = "    ", names: tuple[str, ...] = (), comment: str = "/* {} */"
               ) -> list[str]:
    """Nested if/else statements for ``tree``; ``literal`` prints a float32 constant; each
    split is annotated with the feature's name when ``names`` are given."""
    def condition(node) -> str:
        f = f"{x}[{node.feature}]"
        t = literal(node.threshold)
        return f"!({f} >= {t})" if node.default_left else f"{f} < {t}"

    lines: list[str] = []

    def emit(i: int, depth: int) -> None:
        node = tree.nodes[i]
        pad = indent * depth
        if node.is_leaf:
            lines.append(pad + ret.format(literal(node.value)))
            return
        note = " " + comment.format(names[node.feature]) if names else ""
        lines.append(f"{pad}if ({condition(node)}) {{{note}")
        emit(node.left, depth + 1)
        lines.append(f"{pad}}} else {{")
        emit(node.right, depth + 1)
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines


def render_context(forest: Forest, name: str, feature_names: tuple[str, ...] = ()) -> dict:
    """What templates/c/model.*.j2 need."""
    trees = []
    for k, tree in enumerate(forest.trees):
        leaf_only = tree.nodes[0].is_leaf
        trees.append({"index": k, "group": tree.group, "depth": tree.depth(),
                      "leaf_only": leaf_only,
                      "lines": tree_lines(tree, "x", fp32.c_literal, names=feature_names)})
    return {
        "n_outputs": forest.n_outputs,
        "n_classes": forest.n_classes,
        "n_trees": len(forest.trees),
        "max_depth": forest.max_depth,
        "objective": forest.objective,
        "base_margin": [fp32.c_literal(v) for v in forest.base_margin],
        "trees": trees,
        "clamp": fp32.c_literal(float(fp32.F32(88.7))),
        "eps": fp32.c_literal(float(fp32.F32(1e-16))),
    }
