"""The forest and the detector in Swift (iOS), mirroring the C (codegen/trees/c_emit.py):
one function per tree, nested ifs, ``Float(f[i])`` conversion at each comparison (round to
nearest, as XGBoost converts), NaN to the default child through ``!(x >= t)``, hex float
literals that are exactly the model's float32 values, margins summed in Float in tree order.

Swift has no fused multiply-add contraction and no excess precision, so no pragma is needed.
The model file imports the platform C library (Darwin / Glibc / Musl) for ``expf`` only, for the
informative probability; the feature file stays pure standard library.
"""

from __future__ import annotations

from typing import Any

from ..backends.swift import upper_camel
from . import fp32
from .c_emit import tree_lines
from .ir import Forest


def render_context(forest: Forest, name: str, feature_names: tuple[str, ...]) -> dict[str, Any]:
    rule = forest.rule
    # how a tree reads feature i: Swift never converts implicitly, so a float32 input compared
    # with double thresholds (scikit-learn) is widened explicitly, exactly as C promotes it
    if rule.flush_zero:
        read = "read(f[{}])"
    elif rule.input == "float64":
        read = "f[{}]"
    elif rule.threshold == "float64":
        read = "Double(Float(f[{}]))"
    else:
        read = "Float(f[{}])"
    trees = []
    for k, tree in enumerate(forest.trees):
        trees.append(
            {
                "index": k,
                "group": tree.group,
                "depth": tree.depth(),
                "leaf_only": tree.nodes[0].is_leaf,
                "lines": swift_condition_fix(
                    tree_lines(
                        tree,
                        "f",
                        lambda v: fp32.literal(v, forest.rule.accumulate, "swift"),
                        names=feature_names,
                        comment="// {}",
                        rule=forest.rule,
                        language="swift",
                    ),
                    read,
                ),
            }
        )
    camel = upper_camel(name)
    return {
        "features_type": camel + "Features",
        "model_type": camel + "Model",
        "detector_type": camel + "Detector",
        "detector_box": camel + "DetectorBox",
        "M": "Float" if rule.accumulate == "float32" else "Double",
        "W": 4 if rule.accumulate == "float32" else 8,  # bytes per margin in the C result
        "swift_base_margin": [
            fp32.literal(v, rule.accumulate, "swift") for v in forest.base_margin
        ],
        "swift_trees": trees,
        "swift_clamp": fp32.swift_literal(float(fp32.F32(88.7))),
        "swift_eps": fp32.swift_literal(float(fp32.F32(1e-16))),
    }


def swift_condition_fix(lines: list[str], read: str = "Float(f[{}])") -> list[str]:
    """C-style tree lines -> Swift: ``if (cond) {`` -> ``if cond {``; the feature read ``f[i]``
    becomes ``read.format(i)`` (``Float(f[i])``: round to float32, XGBoost); ``return v;`` ->
    ``return v``."""
    import re

    out = []
    for line in lines:
        line = re.sub(r"\bf\[(\d+)\]", lambda m: read.format(m.group(1)), line)
        m = re.match(r"^(\s*)if \((.*)\) \{(.*)$", line)
        if m:
            line = f"{m.group(1)}if {m.group(2)} {{{m.group(3)}"
        if line.rstrip().endswith(";"):
            line = line.rstrip()[:-1]
        out.append(line)
    return out
