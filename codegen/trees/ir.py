"""The tree IR: a tree ensemble reduced to what prediction needs, the library's prediction
rule stated as explicit fields (:class:`Rule`), and its reference evaluator (that rule, in numpy).

Every emitter (C one-row and batch, Swift, the Kotlin/JNI wrapper that calls the C, and any
other target) must read :class:`Rule` and reproduce it exactly; docs/model.md "Prediction rules"
states each library's rule with the source file it was read from. XGBoost's rule
(src/predictor/predict_fn.h, cpu_predictor.cc), the default (``XGBOOST``):

* each input is converted to float32 first (``(float)feature``);
* at a split, a NaN input follows the node's default child; otherwise ``x < threshold`` goes to
  the left child and everything else (``!(x < t)``: larger, equal, +inf) to the right;
* the margin of output ``g`` starts at the base margin (base_score mapped to margin space) and
  each tree of group ``g``'s leaf is added in tree order, in float32.

LightGBM's (``LIGHTGBM``) and scikit-learn's (``SKLEARN_TREES``, ``SKLEARN_HIST``) differ in
every field but the tree order: see :class:`Rule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .objectives import OBJECTIVES, Objective  # noqa: F401
from .objectives import objective as objective_named

# LightGBM's kZeroThreshold (include/LightGBM/meta.h: ``const double kZeroThreshold = 1e-35f``):
# a float literal stored in a double, so the float32 nearest 1e-35, held exactly as a double.
ZERO_THRESHOLD = float(np.float32(1e-35))


@dataclass(frozen=True)
class Rule:
    """How a library turns a feature vector into margins: every field is a choice the library's
    own prediction code makes, and an emitter that ignores one is wrong for some input.

    ``library``      ``xgboost`` | ``lightgbm`` | ``sklearn`` (names the rule in manifests).
    ``input``        ``float32``: each feature is rounded to float32 first (``(float)x``, round to
                     nearest; XGBoost, scikit-learn's classic trees); ``float64``: used as given
                     (LightGBM, HistGradientBoosting).
    ``threshold``    ``float32`` | ``float64``: the type of split thresholds (values in the IR are
                     Python floats holding exactly a value of that type). A float32 input is
                     compared against a float64 threshold in double (C's promotion; exact).
    ``compare``      ``<`` (XGBoost: ``x < t`` goes left) or ``<=`` (LightGBM, scikit-learn).
                     NaN is never compared: it follows the node's ``default_left`` (a library
                     whose NaN falls through a comparison, e.g. GradientBoosting's ``x <= t``
                     being false, is imported with ``default_left`` saying where it lands).
    ``accumulate``   ``float32`` | ``float64``: the type of leaf values, the base margin, the
                     running sum and so the margin. The sum starts at the base margin and adds
                     each tree's leaf in tree order, one rounding per addition (never
                     reassociated, never fused).
    ``flush_zero``   True: a feature with ``|x| <= ZERO_THRESHOLD`` (not NaN) is read as +0.0
                     before anything else (LightGBM's row readers keep only ``fabs(x) >
                     kZeroThreshold || isnan(x)`` and zero-fill the rest: src/c_api.cpp
                     ``RowFunctionFromDenseMatric``, src/io/parser.hpp).
    ``average``      0: the margin is that sum; n > 0: the sum divided by n at the end, one
                     division in ``accumulate`` precision (scikit-learn forests: ``proba /=
                     len(estimators_)``; LightGBM ``boosting=rf``).

    Nodes add one per-node field, ``zero_missing`` (LightGBM ``missing_type`` Zero): a value in
    ``(-ZERO_THRESHOLD, ZERO_THRESHOLD]`` also goes to the default child, as NaN does.
    The output transform (sigmoid, softmax...) and the base margin are the objective's and the
    forest's (``Forest.objective``, ``Forest.base_margin``), not the rule's."""

    library: str = "xgboost"
    input: str = "float32"
    threshold: str = "float32"
    compare: str = "<"
    accumulate: str = "float32"
    average: int = 0
    flush_zero: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "input": self.input,
            "threshold": self.threshold,
            "compare": self.compare,
            "accumulate": self.accumulate,
            "average": self.average,
            "flush_zero": self.flush_zero,
        }

    def describe(self) -> str:
        """One line for headers and manifests."""
        x = "x = (float)feature" if self.input == "float32" else "x = feature (double)"
        if self.flush_zero:
            x += ", 0.0 when |x| <= 1e-35f"
        avg = f"; margin = sum / {self.average}" if self.average else ""
        t = "" if self.threshold == self.input else f" ({self.threshold})"
        return (
            f"{x}; NaN -> default child; x {self.compare} threshold{t} -> "
            f"left; margin = base margin + leaves in tree order, {self.accumulate}{avg}"
        )


XGBOOST = Rule()
LIGHTGBM = Rule("lightgbm", "float64", "float64", "<=", "float64", 0, True)
SKLEARN_TREES = Rule("sklearn", "float32", "float64", "<=", "float64", 0)
SKLEARN_HIST = Rule("sklearn", "float64", "float64", "<=", "float64", 0)


@dataclass(frozen=True)
class Node:
    """A split (``feature >= 0``) or a leaf (``feature == -1``, ``value`` is its output)."""

    feature: int
    threshold: float  # the rule's threshold type, exactly (split nodes)
    left: int
    right: int
    default_left: bool  # where NaN goes
    value: float  # the rule's accumulation type, exactly (leaves)
    zero_missing: bool = False  # LightGBM missing_type Zero: |x| ~ 0 goes to the default too

    @property
    def is_leaf(self) -> bool:
        return self.feature < 0


@dataclass(frozen=True)
class Tree:
    nodes: tuple[Node, ...]  # node 0 is the root; children by index
    group: int  # the output (class) this tree's leaf is added to

    def depth(self, node: int = 0) -> int:
        n = self.nodes[node]
        return 0 if n.is_leaf else 1 + max(self.depth(n.left), self.depth(n.right))

    def problem(self) -> str | None:
        """Why the nodes are not a tree rooted at node 0, or None: a child index out of range,
        a node reached twice (a cycle, or a subtree shared by two parents). A hostile model file
        can say either; walking it would loop forever (and XGBoost itself crashes on a cycle)."""
        if not self.nodes:
            return "has no nodes"
        seen, stack = set(), [0]
        while stack:
            i = stack.pop()
            if i in seen:
                return f"is not a tree: node {i} is reached twice (a cycle or a shared subtree)"
            seen.add(i)
            if not self.nodes[i].is_leaf:
                for c in (self.nodes[i].left, self.nodes[i].right):
                    if not 0 <= c < len(self.nodes):
                        return f"node {i} has child {c}, but the tree has {len(self.nodes)} nodes"
                    stack.append(c)
        return None

    def reachable(self) -> list[int]:
        """Node indices reachable from the root, in depth-first (left first) order."""
        out, stack = [], [0]
        while stack:
            i = stack.pop()
            out.append(i)
            if not self.nodes[i].is_leaf:
                stack.extend((self.nodes[i].right, self.nodes[i].left))
        return out


@dataclass(frozen=True)
class Forest:
    objective: str
    n_features: int
    n_outputs: int  # 1 (binary) or the number of classes
    base_margin: tuple[float, ...]  # one per output, in the rule's accumulation type
    trees: tuple[Tree, ...]  # in the library's order (the summation order)
    rule: Rule = XGBOOST  # how the library predicts (see Rule)
    scale: float = 1.0  # the ``logistic`` transform's s: 1 / (1 + exp(-s x))

    @property
    def n_classes(self) -> int:
        return 2 if self.n_outputs == 1 else self.n_outputs

    @property
    def spec(self) -> Objective:
        """The objective's transform and kind (codegen/trees/objectives.py)."""
        return objective_named(self.objective)

    @property
    def transform(self) -> str:
        return self.spec.transform

    @property
    def max_depth(self) -> int:
        return max((t.depth() for t in self.trees), default=0)

    @property
    def n_nodes(self) -> int:
        return sum(len(t.reachable()) for t in self.trees)

    def thresholds(self) -> dict[int, np.ndarray]:
        """feature index -> sorted unique split thresholds (the rule's threshold type)."""
        found: dict[int, set[float]] = {}
        for t in self.trees:
            for i in t.reachable():
                n = t.nodes[i]
                if not n.is_leaf:
                    found.setdefault(n.feature, set()).add(n.threshold)
        kind = np.float32 if self.rule.threshold == "float32" else np.float64
        return {f: np.array(sorted(v), dtype=kind) for f, v in sorted(found.items())}

    def features_used(self) -> tuple[int, ...]:
        """Sorted indices of the features some reachable split reads: all a device computes."""
        return tuple(
            sorted(
                {
                    t.nodes[i].feature
                    for t in self.trees
                    for i in t.reachable()
                    if not t.nodes[i].is_leaf
                }
            )
        )

    def reindexed(self, columns: tuple[int, ...]) -> "Forest":
        """The same forest reading a compact vector: feature ``columns[j]`` becomes ``j``.
        Every split must read one of ``columns``."""
        index = {c: j for j, c in enumerate(columns)}
        trees = []
        for t in self.trees:
            reachable = set(t.reachable())  # (unreachable splits become inert leaves)
            nodes = tuple(
                n
                if n.is_leaf
                else Node(
                    index[n.feature] if i in reachable else -1,
                    n.threshold,
                    n.left,
                    n.right,
                    n.default_left,
                    n.value,
                    n.zero_missing,
                )
                for i, n in enumerate(t.nodes)
            )
            trees.append(Tree(nodes, t.group))
        return Forest(
            self.objective,
            len(columns),
            self.n_outputs,
            self.base_margin,
            tuple(trees),
            self.rule,
            self.scale,
        )

    @property
    def dtype(self) -> type[np.floating[Any]]:
        """numpy type of leaves and margins (the rule's accumulation type)."""
        return np.float32 if self.rule.accumulate == "float32" else np.float64

    # ------------------------------------------------------------ the reference rule

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """(rows, trees) leaf values (the rule's accumulation type) the rule selects for ``X``."""
        rule = self.rule
        x = np.asarray(X, dtype=np.float64)
        if rule.input == "float32":
            with np.errstate(over="ignore"):  # beyond FLT_MAX -> inf, as in C and the libraries
                x = x.astype(np.float32).astype(np.float64)  # (float)feature, compared exactly
        if rule.flush_zero:
            x = np.where((np.abs(x) > ZERO_THRESHOLD) | np.isnan(x), x, 0.0)
        rows = np.arange(x.shape[0])
        out = np.empty((x.shape[0], len(self.trees)), dtype=self.dtype)
        for k, tree in enumerate(self.trees):
            table = _table(tree)
            node = np.zeros(x.shape[0], dtype=np.int64)
            while True:
                feature = table["feature"][node]
                split = feature >= 0
                if not split.any():
                    break
                v = x[rows, np.where(split, feature, 0)]
                t = table["threshold"][node]
                below = (v < t) if rule.compare == "<" else (v <= t)
                missing = np.isnan(v) | (
                    table["zero_missing"][node] & (v > -ZERO_THRESHOLD) & (v <= ZERO_THRESHOLD)
                )
                left = np.where(missing, table["default_left"][node], below)
                node = np.where(
                    split, np.where(left, table["left"][node], table["right"][node]), node
                )
            out[:, k] = table["value"][node]
        return out

    def margins(self, X: np.ndarray) -> np.ndarray:
        """(rows, n_outputs) margins: base margin, then each leaf in tree order, in the rule's
        accumulation type; divided by ``rule.average`` at the end when it is set."""
        leaves = self.leaves(X)
        kind = self.dtype
        out = np.empty((leaves.shape[0], self.n_outputs), dtype=kind)
        out[:] = np.array(self.base_margin, dtype=kind)
        for k, tree in enumerate(self.trees):
            out[:, tree.group] = (out[:, tree.group] + leaves[:, k]).astype(kind)
        if self.rule.average:
            out = (out / kind(self.rule.average)).astype(kind)
        return out


def _table(tree: Tree) -> dict[str, Any]:
    """The tree as numpy arrays, built once per tree and kept on it."""
    table = tree.__dict__.get("_table")
    if table is None:
        table = {
            "feature": np.array([n.feature for n in tree.nodes], dtype=np.int64),
            "threshold": np.array([n.threshold for n in tree.nodes], dtype=np.float64),
            "left": np.array([n.left for n in tree.nodes], dtype=np.int64),
            "right": np.array([n.right for n in tree.nodes], dtype=np.int64),
            "default_left": np.array([n.default_left for n in tree.nodes], dtype=bool),
            "value": np.array([n.value for n in tree.nodes], dtype=np.float64),
            "zero_missing": np.array([n.zero_missing for n in tree.nodes], dtype=bool),
        }
        object.__setattr__(tree, "_table", table)
    return table
