"""The tree IR: an XGBoost gradient-boosted forest reduced to what prediction needs, with every
number an exact float32, and its reference evaluator (XGBoost's prediction rule, in numpy).

XGBoost's rule (src/predictor/predict_fn.h, cpu_predictor.cc), which every emitter reproduces:

* each input is converted to float32 first (``(float)feature``);
* at a split, a NaN input follows the node's default child; otherwise ``x < threshold`` goes to
  the left child and everything else (``!(x < t)``: larger, equal, +inf) to the right;
* the margin of output ``g`` starts at the base margin (base_score mapped to margin space) and
  each tree of group ``g``'s leaf is added in tree order, in float32.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objectives import OBJECTIVES, Objective  # noqa: F401
from .objectives import objective as objective_named


@dataclass(frozen=True)
class Node:
    """A split (``feature >= 0``) or a leaf (``feature == -1``, ``value`` is its output)."""

    feature: int
    threshold: float        # float32 value (split nodes)
    left: int
    right: int
    default_left: bool      # where NaN goes
    value: float            # float32 value (leaves)

    @property
    def is_leaf(self) -> bool:
        return self.feature < 0


@dataclass(frozen=True)
class Tree:
    nodes: tuple[Node, ...]     # node 0 is the root; children by index
    group: int                  # the output (class) this tree's leaf is added to

    def depth(self, node: int = 0) -> int:
        n = self.nodes[node]
        return 0 if n.is_leaf else 1 + max(self.depth(n.left), self.depth(n.right))

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
    n_outputs: int                      # 1 (binary) or the number of classes
    base_margin: tuple[float, ...]      # float32, one per output
    trees: tuple[Tree, ...]             # in XGBoost's order (the summation order)

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
        """feature index -> sorted unique float32 split thresholds."""
        found: dict[int, set[float]] = {}
        for t in self.trees:
            for i in t.reachable():
                n = t.nodes[i]
                if not n.is_leaf:
                    found.setdefault(n.feature, set()).add(n.threshold)
        return {f: np.array(sorted(v), dtype=np.float32) for f, v in sorted(found.items())}

    def features_used(self) -> tuple[int, ...]:
        """Sorted indices of the features some reachable split reads: all a device computes."""
        return tuple(sorted({t.nodes[i].feature for t in self.trees for i in t.reachable()
                             if not t.nodes[i].is_leaf}))

    def reindexed(self, columns: tuple[int, ...]) -> "Forest":
        """The same forest reading a compact vector: feature ``columns[j]`` becomes ``j``.
        Every split must read one of ``columns``."""
        index = {c: j for j, c in enumerate(columns)}
        trees = []
        for t in self.trees:
            reachable = set(t.reachable())       # (unreachable splits become inert leaves)
            nodes = tuple(n if n.is_leaf else Node(index[n.feature] if i in reachable else -1,
                                                   n.threshold, n.left, n.right,
                                                   n.default_left, n.value)
                          for i, n in enumerate(t.nodes))
            trees.append(Tree(nodes, t.group))
        return Forest(self.objective, len(columns), self.n_outputs, self.base_margin,
                      tuple(trees))

    # ------------------------------------------------------------ the reference rule

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """(rows, trees) leaf values (float32) that XGBoost's rule selects for ``X``."""
        with np.errstate(over="ignore"):        # beyond FLT_MAX -> inf, as in C and XGBoost
            x = np.asarray(X, dtype=np.float64).astype(np.float32)  # (float)feature
        rows = np.arange(x.shape[0])
        out = np.empty((x.shape[0], len(self.trees)), dtype=np.float32)
        for k, tree in enumerate(self.trees):
            table = _table(tree)
            node = np.zeros(x.shape[0], dtype=np.int64)
            while True:
                feature = table["feature"][node]
                split = feature >= 0
                if not split.any():
                    break
                v = x[rows, np.where(split, feature, 0)]
                left = np.where(np.isnan(v), table["default_left"][node],
                                v < table["threshold"][node])
                node = np.where(split, np.where(left, table["left"][node],
                                                table["right"][node]), node)
            out[:, k] = table["value"][node]
        return out

    def margins(self, X: np.ndarray) -> np.ndarray:
        """(rows, n_outputs) float32 margins: base margin, then each leaf in tree order."""
        leaves = self.leaves(X)
        out = np.empty((leaves.shape[0], self.n_outputs), dtype=np.float32)
        out[:] = np.array(self.base_margin, dtype=np.float32)
        for k, tree in enumerate(self.trees):
            out[:, tree.group] = (out[:, tree.group] + leaves[:, k]).astype(np.float32)
        return out


def _table(tree: Tree) -> dict:
    """The tree as numpy arrays, built once per tree and kept on it."""
    table = tree.__dict__.get("_table")
    if table is None:
        table = {
            "feature": np.array([n.feature for n in tree.nodes], dtype=np.int64),
            "threshold": np.array([n.threshold for n in tree.nodes], dtype=np.float32),
            "left": np.array([n.left for n in tree.nodes], dtype=np.int64),
            "right": np.array([n.right for n in tree.nodes], dtype=np.int64),
            "default_left": np.array([n.default_left for n in tree.nodes], dtype=bool),
            "value": np.array([n.value for n in tree.nodes], dtype=np.float32),
        }
        object.__setattr__(tree, "_table", table)
    return table
