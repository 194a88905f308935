"""Core ML: the model as an ``.mlmodel`` (coremltools' XGBoost converter, corrected and checked)
and an independent evaluator of the ``.mlmodel`` protobuf, so the iOS path can be measured on
Linux (``MLModel.predict`` only runs on macOS).

The converter (coremltools 9.0, "untested" with XGBoost > 1.4.2) is used as users would, then:

* **base margin fixed**: it writes ``basePredictionValue = 0.0`` for every classifier, ignoring
  XGBoost's base_score (since 2.0 estimated from the data, so rarely 0.5 / margin 0): every
  margin would be off by the base margin. featgen writes XGBoost's own float32 base margin(s);
* **checked node by node** against featgen's tree IR (built from model.json and cross-checked
  with Treelite): every split (feature, ``BranchOnValueLessThan``, threshold as the double of
  the float32, children, missing-value direction), every leaf (value and class index) and the
  base. Any difference refuses the build: the .mlmodel would not be the validated model;
* named for the spec: inputs are the feature names (doubles), metadata carries the spec hash,
  the model sha256 and the feature-order sha256;
* serialised with protobuf's deterministic mode (byte-identical across runs and hash seeds).

Core ML compares **doubles**, XGBoost float32. Feeding Core ML features rounded to Float (then
widened to Double) makes every comparison identical to XGBoost's (a float32 value compared with
a float32 threshold gives the same answer in double). The sums differ: Core ML adds the leaves
in double (as its documentation states the model is evaluated), XGBoost in float32, so margins
can differ in the last bits; see docs/model.md for measured figures and what is promised.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import fp32
from .ir import Forest

BEHAVIOURS = {
    "BranchOnValueLessThanEqual": np.less_equal,
    "BranchOnValueLessThan": np.less,
    "BranchOnValueGreaterThanEqual": np.greater_equal,
    "BranchOnValueGreaterThan": np.greater,
    "BranchOnValueEqual": np.equal,
    "BranchOnValueNotEqual": np.not_equal,
}


class CoreMLError(ValueError):
    pass


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    """coremltools warns about untested XGBoost versions and missing native proxies on Linux."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stderr(io.StringIO()),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        level = logging.root.manager.disable
        logging.disable(logging.CRITICAL)
        try:
            yield
        finally:
            logging.disable(level)


def proto() -> Any:  # the generated protobuf module (untyped)
    """coremltools' generated protobuf module for Model.proto."""
    with _quiet_import():
        from coremltools.proto import Model_pb2
    return Model_pb2


def convert(
    raw_model: bytes,
    forest: Forest,
    feature_names: tuple[str, ...],
    metadata: dict[str, str],
    short_description: str,
    keep: tuple[int, ...] | None = None,
    class_labels: list[str] | None = None,
) -> bytes:
    """The corrected, checked ``.mlmodel`` bytes for the XGBoost JSON model ``raw_model``; with
    ``keep`` (the features the model reads) its inputs are only those, in that order. With
    ``class_labels`` (featgen train's class names) a classifier's "predicted_class" is the
    class name (a String) instead of its index."""
    with _quiet_import():
        import coremltools
        import xgboost
        from coremltools.converters import xgboost as xgb_converter

        booster = xgboost.Booster()
        booster.load_model(bytearray(raw_model))
        if classifier(forest):
            mlmodel = xgb_converter.convert(
                booster,
                feature_names=list(feature_names),
                target="predicted_class",
                mode="classifier",
                n_classes=None if class_labels else forest.n_classes,
                class_labels=list(class_labels) if class_labels else None,
                force_32bit_float=True,
            )
        else:  # a regressor's output is the margin: the app applies the transform
            mlmodel = xgb_converter.convert(
                booster,
                feature_names=list(feature_names),
                target="margin",
                mode="regressor",
                force_32bit_float=True,
            )
        spec = mlmodel.get_spec()
        del coremltools
    ensemble = _ensemble(spec)
    converter_base = list(ensemble.basePredictionValue)
    del ensemble.basePredictionValue[:]
    ensemble.basePredictionValue.extend(float(v) for v in forest.base_margin)
    if keep is not None:
        _keep_inputs(spec, keep)
        forest = forest.reindexed(keep)
        feature_names = tuple(feature_names[c] for c in keep)
    problems = check(spec, forest, feature_names)
    if problems:
        raise CoreMLError(
            "the Core ML conversion does not match the model:\n  " + "\n  ".join(problems[:20])
        )
    spec.description.metadata.shortDescription = short_description
    spec.description.metadata.author = "featgen"
    user = spec.description.metadata.userDefined
    for key, value in sorted(metadata.items()):
        user[key] = value
    user["featgen.converter_base_prediction"] = repr(converter_base)
    user["featgen.base_prediction_fixed_to"] = ",".join(fp32.hex32(v) for v in forest.base_margin)
    user["featgen.input_rounding"] = "round every feature to Float (float32) before Core ML"
    data: bytes = spec.SerializeToString(deterministic=True)
    return data


def classifier(forest: Forest) -> bool:
    """Core ML's classifier applies the logistic (binary:logistic) or softmax transform itself;
    every other objective is converted as a regressor whose output is the margin."""
    return forest.objective == "binary:logistic" or forest.spec.kind == "multiclass"


def _keep_inputs(spec: Any, keep: tuple[int, ...]) -> None:
    """Drop the inputs no split reads and renumber the splits' feature indices to match."""
    Model_pb2 = proto()
    leaf = Model_pb2.TreeEnsemble__pb2.TreeEnsembleParameters.TreeNode.TreeNodeBehavior.Value(
        "LeafNode"
    )
    index = {c: j for j, c in enumerate(keep)}
    ensemble = _ensemble(spec)
    for node in ensemble.nodes:
        if node.nodeBehavior != leaf:
            node.branchFeatureIndex = index[node.branchFeatureIndex]
    inputs = [spec.description.input[c] for c in keep]
    copies = [type(i)() for i in inputs]
    for copy, original in zip(copies, inputs):
        copy.CopyFrom(original)
    del spec.description.input[:]
    spec.description.input.extend(copies)


def _ensemble(spec: Any) -> Any:  # protobuf messages: Model, TreeEnsembleParameters
    kind = spec.WhichOneof("Type")
    if kind == "treeEnsembleClassifier":
        return spec.treeEnsembleClassifier.treeEnsemble
    if kind == "treeEnsembleRegressor":
        return spec.treeEnsembleRegressor.treeEnsemble
    raise CoreMLError(f"not a tree ensemble: {kind}")


def check(spec: Any, forest: Forest, feature_names: tuple[str, ...]) -> list[str]:
    """Differences between a Core ML tree ensemble and the forest (empty: the same model)."""
    Model_pb2 = proto()
    behaviour = Model_pb2.TreeEnsemble__pb2.TreeEnsembleParameters.TreeNode.TreeNodeBehavior
    problems = []
    ensemble = _ensemble(spec)
    inputs = [i.name for i in spec.description.input]
    if tuple(inputs) != tuple(feature_names):
        problems.append(f"inputs {inputs[:3]}... are not the spec's feature names in order")
    if [float(v) for v in ensemble.basePredictionValue] != list(forest.base_margin):
        problems.append(
            f"basePredictionValue {list(ensemble.basePredictionValue)} is not "
            f"XGBoost's base margin {list(forest.base_margin)}"
        )
    if ensemble.numPredictionDimensions != forest.n_outputs:
        problems.append(
            f"numPredictionDimensions {ensemble.numPredictionDimensions} for "
            f"{forest.n_outputs} outputs"
        )
    nodes = {(n.treeId, n.nodeId): n for n in ensemble.nodes}
    seen = 0
    for k, tree in enumerate(forest.trees):
        for i in tree.reachable():
            ours, theirs = tree.nodes[i], nodes.get((k, i))
            seen += 1
            if theirs is None:
                problems.append(f"tree {k} node {i}: missing")
                continue
            if ours.is_leaf:
                values = [(e.evaluationIndex, e.evaluationValue) for e in theirs.evaluationInfo]
                if theirs.nodeBehavior != behaviour.Value("LeafNode") or values != [
                    (tree.group, ours.value)
                ]:
                    problems.append(
                        f"tree {k} node {i}: leaf {values} instead of "
                        f"[({tree.group}, {ours.value!r})]"
                    )
                continue
            expected = (
                behaviour.Value("BranchOnValueLessThan"),
                ours.feature,
                ours.threshold,
                ours.left,
                ours.right,
                ours.default_left,
            )
            got = (
                theirs.nodeBehavior,
                theirs.branchFeatureIndex,
                theirs.branchFeatureValue,
                theirs.trueChildNodeId,
                theirs.falseChildNodeId,
                theirs.missingValueTracksTrueChild,
            )
            if got != expected:
                problems.append(f"tree {k} node {i}: {got} instead of {expected}")
    if seen != len(ensemble.nodes):
        problems.append(f"{len(ensemble.nodes)} nodes, the model has {seen}")
    return problems


# ---------------------------------------------------------------- the independent evaluator


class Evaluator:
    """Evaluates a Core ML tree ensemble from its protobuf, as Model.proto documents it:

    * inputs are doubles; a NaN input is a missing value and goes to the true child when
      ``missingValueTracksTrueChild``, else to the false child;
    * otherwise a branch node goes to ``trueChildNodeId`` when ``value <op> branchFeatureValue``
      holds (op from ``nodeBehavior``), in double;
    * each tree's root is its node that no other node names as a child; a leaf adds each
      ``evaluationValue`` to output ``evaluationIndex``;
    * outputs = basePredictionValue + the leaves, summed in double (base first, trees in
      treeId order); then ``postEvaluationTransform``.
    """

    def __init__(self, mlmodel: bytes):
        Model_pb2 = proto()
        spec = Model_pb2.Model.FromString(mlmodel)
        self.spec = spec
        ensemble = _ensemble(spec)
        behaviour = Model_pb2.TreeEnsemble__pb2.TreeEnsembleParameters.TreeNode.TreeNodeBehavior
        self.kind = spec.WhichOneof("Type")
        self.transform = "NoTransform"
        if self.kind == "treeEnsembleClassifier":
            self.transform = Model_pb2.TreeEnsemble__pb2.TreeEnsemblePostEvaluationTransform.Name(
                spec.treeEnsembleClassifier.postEvaluationTransform
            )
        self.n_outputs = ensemble.numPredictionDimensions
        self.base = np.array(ensemble.basePredictionValue, dtype=np.float64)
        self.feature_names = [i.name for i in spec.description.input]
        trees: dict[int, dict[int, Any]] = {}
        for n in ensemble.nodes:
            trees.setdefault(n.treeId, {})[n.nodeId] = n
        self.trees: list[tuple[int, dict[int, tuple[Any, ...]]]] = []
        for tree_id in sorted(trees):
            nodes = trees[tree_id]
            children: set[int] = set()
            for n in nodes.values():
                if behaviour.Name(n.nodeBehavior) != "LeafNode":
                    children.update((n.trueChildNodeId, n.falseChildNodeId))
            roots = [i for i in nodes if i not in children]
            if len(roots) != 1:
                raise CoreMLError(f"tree {tree_id} has {len(roots)} roots")
            table: dict[int, tuple[Any, ...]] = {}
            for node_id, n in nodes.items():
                name = behaviour.Name(n.nodeBehavior)
                if name == "LeafNode":
                    table[node_id] = (
                        "leaf",
                        [(e.evaluationIndex, e.evaluationValue) for e in n.evaluationInfo],
                    )
                else:
                    table[node_id] = (
                        BEHAVIOURS[name],
                        n.branchFeatureIndex,
                        n.branchFeatureValue,
                        n.trueChildNodeId,
                        n.falseChildNodeId,
                        n.missingValueTracksTrueChild,
                    )
            self.trees.append((roots[0], table))

    def margins(self, X: np.ndarray) -> np.ndarray:
        """(rows, outputs) double: base plus leaves, before the transform."""
        X = np.asarray(X, dtype=np.float64)
        out = np.empty((X.shape[0], self.n_outputs))
        out[:] = self.base
        rows = np.arange(X.shape[0])
        for root, table in self.trees:
            node = np.full(X.shape[0], root)
            active = np.ones(X.shape[0], dtype=bool)
            while active.any():
                for node_id in np.unique(node[active]):
                    entry = table[int(node_id)]
                    here = active & (node == node_id)
                    if entry[0] == "leaf":
                        for index, value in entry[1]:
                            out[here, index] = out[here, index] + value
                        active &= ~here
                        continue
                    op, feature, value, true_child, false_child, missing_true = entry
                    x = X[rows[here], feature]
                    with np.errstate(invalid="ignore"):
                        go_true = np.where(np.isnan(x), missing_true, op(x, value))
                    node[here] = np.where(go_true, true_child, false_child)
        return out

    def probabilities(self, margins: np.ndarray) -> np.ndarray:
        m = np.asarray(margins, dtype=np.float64)
        if self.transform == "Regression_Logistic":
            return 1.0 / (1.0 + np.exp(-m))
        if self.transform in (
            "Classification_SoftMax",
            "Classification_SoftMaxWithZeroClassReference",
        ):
            if self.transform.endswith("ZeroClassReference"):
                m = np.concatenate([np.zeros((m.shape[0], 1)), m], axis=1)
            e = np.exp(m - m.max(axis=1, keepdims=True))
            p: np.ndarray = e / e.sum(axis=1, keepdims=True)
            return p
        return m
