"""The forest and the detector in Swift (iOS), mirroring the C (codegen/trees/c_emit.py):
one function per tree, nested ifs, ``Float(f[i])`` conversion at each comparison (round to
nearest, as XGBoost converts), NaN to the default child through ``!(x >= t)``, hex float
literals that are exactly the model's float32 values, margins summed in Float in tree order.

Swift has no fused multiply-add contraction and no excess precision, so no pragma is needed.
The model file imports the platform C library (Darwin / Glibc / Musl) for ``expf`` only, for the
informative probability; the feature file stays pure standard library.
"""
from __future__ import annotations

from ..backends.swift import upper_camel
from . import fp32
from .c_emit import tree_lines
from .ir import Forest


def render_context(forest: Forest, name: str, feature_names: tuple[str, ...]) -> dict:
    trees = []
    for k, tree in enumerate(forest.trees):
        trees.append({"index": k, "group": tree.group, "depth": tree.depth(),
                      "leaf_only": tree.nodes[0].is_leaf,
                      "lines": swift_condition_fix(tree_lines(
                          tree, "f", fp32.swift_literal, names=feature_names,
                          comment="// {}"))})
    camel = upper_camel(name)
    return {
        "features_type": camel + "Features",
        "model_type": camel + "Model",
        "detector_type": camel + "Detector",
        "detector_box": camel + "DetectorBox",
        "swift_base_margin": [fp32.swift_literal(v) for v in forest.base_margin],
        "swift_trees": trees,
        "swift_clamp": fp32.swift_literal(float(fp32.F32(88.7))),
        "swift_eps": fp32.swift_literal(float(fp32.F32(1e-16))),
    }


def swift_condition_fix(lines: list[str]) -> list[str]:
    """C-style tree lines -> Swift: ``if (cond) {`` -> ``if cond {``; the feature read becomes
    ``Float(f[i])``; ``return v;`` -> ``return v``."""
    import re

    out = []
    for line in lines:
        line = re.sub(r"\bf\[(\d+)\]", r"Float(f[\1])", line)
        m = re.match(r"^(\s*)if \((.*)\) \{(.*)$", line)
        if m:
            line = f"{m.group(1)}if {m.group(2)} {{{m.group(3)}"
        if line.rstrip().endswith(";"):
            line = line.rstrip()[:-1]
        out.append(line)
    return out
