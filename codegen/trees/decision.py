"""From margins to the detector's event: the spec's ``decision:`` block, resolved for a model.

* **Positive vector.** One-output models (kind ``binary``): ``margin >= m*``, where m* is the
  float32 margin at which the objective's float32 transform (sigmoid, exp, identity, hinge:
  codegen/trees/objectives.py) first reaches the threshold (:func:`fp32.margin_threshold`,
  computed at build time). Deciding on the margin makes the decision independent of the C
  library's ``expf``, which differs across Android, iOS and Linux. Binary objectives default the
  threshold (0.5; 0 for binary:logitraw, whose value is the margin); a regression decides only
  when the spec gives a threshold (kind ``none`` otherwise: never positive, no event; the
  wrappers still report the value). Multi-class models: the class with the largest margin (the
  first one on ties) is ``class``.
* **Event.** ``consecutive`` positive vectors in a row fire the event (the spec's detection); the run then
  restarts from 0. After an event, the next ``refractory`` accepted samples are refractory:
  vectors emitted on them neither count nor fire.
* Rejected (non-finite) samples change nothing, as for the featuriser; samples that emit no
  vector still count towards the refractory period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from featurespec.errors import Problem, SpecError
from featurespec.schema import DecisionDef

from . import fp32
from .ir import Forest


@dataclass(frozen=True)
class Decision:
    kind: str  # "binary" (threshold), "multiclass" or "none"
    threshold: float  # on the transformed value (binary)
    margin_threshold: float  # m*, float32 (binary)
    positive_class: int  # multi-class: the class that is positive; binary: 1
    consecutive: int
    refractory: int  # accepted samples
    transform: str = "sigmoid"  # the objective's transform (one-output models)
    precision: str = "float32"  # of the margins and m*: float64 for LightGBM / scikit-learn

    def to_json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "consecutive": self.consecutive,
            "refractory_samples": self.refractory,
        }
        if self.kind == "binary":
            out.update(
                threshold=self.threshold,
                margin_threshold=(
                    fp32.hex32(self.margin_threshold)
                    if self.precision == "float32"
                    else float(self.margin_threshold).hex()
                ),
                margin_threshold_decimal=repr(self.margin_threshold),
                rule=f"positive when margin >= margin_threshold ({self.precision})",
            )
            if self.transform != "sigmoid":
                out["transform"] = self.transform
        elif self.kind == "none":
            out.update(
                transform=self.transform,
                rule="no decision (the spec gives no threshold): never positive",
            )
        else:
            out.update(
                positive_class=self.positive_class,
                rule="positive when the first class with the largest margin is positive_class",
            )
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Decision":
        """The decision a manifest's "model"."decision" entry describes (``to_json``'s inverse;
        the margin threshold is read from its exact hex form)."""
        return cls(
            d["kind"],
            d.get("threshold", 0.0),
            float.fromhex(d["margin_threshold"]) if d["kind"] == "binary" else 0.0,
            d.get("positive_class", 1),
            d["consecutive"],
            d["refractory_samples"],
            d.get("transform", "sigmoid" if d["kind"] == "binary" else "softmax"),
        )


def resolve(decision: DecisionDef, forest: Forest) -> Decision:
    """The decision for this model; located errors for settings that do not fit it."""
    given = dict(decision.locs)
    objective = forest.spec
    if forest.n_outputs == 1:
        if decision.positive_class is not None:
            raise SpecError(
                [
                    Problem.at(
                        decision.where("class"),
                        "class chooses the positive class of a multi-class "
                        f"model; this model is binary or a regression "
                        f"({forest.objective}, one output; remove class)",
                    )
                ]
            )
        if "threshold" in given:
            threshold = decision.threshold
        elif objective.kind == "binary":
            threshold = objective.default_threshold  # type: ignore[assignment]  # binary: always set
        else:
            return Decision(
                "none", 0.0, 0.0, 1, decision.consecutive, decision.refractory, objective.transform
            )
        where = decision.where("threshold")
        if objective.transform in ("sigmoid", "logistic") and not 0 < threshold < 1:
            raise SpecError(
                [
                    Problem.at(
                        where,
                        f"the threshold is a probability strictly "
                        f"between 0 and 1 for {forest.objective}, got "
                        f"{_number(threshold)}",
                    )
                ]
            )
        try:
            if forest.rule.accumulate == "float64":
                m_star = fp32.margin_threshold64(threshold, objective.transform, forest.scale)
            else:
                m_star = fp32.margin_threshold(threshold, transform=objective.transform)
        except ValueError:  # no margin reaches the threshold
            m_star = np.inf
        if not np.isfinite(m_star):
            side = "above" if m_star > 0 else "below"
            what = (
                "probability the model's float32 sigmoid"
                if objective.transform == "sigmoid"
                else f"value of this {forest.objective} model ({objective.value})"
            )
            raise SpecError(
                [
                    Problem.at(
                        where,
                        f"the threshold {_number(threshold)} is {side} every {what} can give, so "
                        f"{'no' if m_star > 0 else 'every'} vector would be positive; choose a "
                        "threshold the model can cross",
                    )
                ]
            )
        return Decision(
            "binary",
            threshold,
            m_star,
            1,
            decision.consecutive,
            decision.refractory,
            objective.transform,
            forest.rule.accumulate,
        )
    if "threshold" in given:
        raise SpecError(
            [
                Problem.at(
                    decision.where("threshold"),
                    f"this model has {forest.n_outputs} classes and decides by "
                    "the largest margin; a probability threshold applies to "
                    "binary models (remove threshold, set class)",
                )
            ]
        )
    positive = 1 if decision.positive_class is None else decision.positive_class
    if positive >= forest.n_outputs:
        raise SpecError(
            [
                Problem.at(
                    decision.where("class"),
                    f"class {positive} does not exist: the model has "
                    f"{forest.n_outputs} classes (0 to {forest.n_outputs - 1})",
                )
            ]
        )
    return Decision(
        "multiclass",
        0.0,
        0.0,
        positive,
        decision.consecutive,
        decision.refractory,
        "softmax",
        forest.rule.accumulate,
    )


def _number(x: float) -> str:
    """2.5, -1, 1e-300: the threshold as the spec would write it."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def positive(decision: Decision, margins: np.ndarray) -> np.ndarray:
    """(rows,) bool: which vectors are positive, from margins (rows, outputs), compared in the
    decision's precision: float32 for XGBoost (margins are cast, as before), float64 for
    LightGBM and scikit-learn."""
    kind = np.float64 if decision.precision == "float64" else np.float32
    m: np.ndarray = np.asarray(margins, dtype=kind).reshape(len(margins), -1)
    if decision.kind == "binary":
        return m[:, 0] >= kind(decision.margin_threshold)
    if decision.kind == "none":
        return np.zeros(m.shape[0], dtype=bool)
    chosen: np.ndarray = argmax_first(m, decision.precision) == decision.positive_class
    return chosen


def argmax_first(margins: np.ndarray, precision: str = "float32") -> np.ndarray:
    """Index of the largest margin per row, the first on ties (as the generated code does:
    a later class wins only when strictly larger), compared in ``precision``."""
    m: np.ndarray = np.asarray(margins, dtype=np.float64 if precision == "float64" else np.float32)
    best = np.zeros(m.shape[0], dtype=np.int64)
    top = m[:, 0].copy()
    for k in range(1, m.shape[1]):
        better = m[:, k] > top
        best = np.where(better, k, best)
        top = np.where(better, m[:, k], top)
    return best


def events(
    decision: Decision, positives: np.ndarray, ordinals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The event stream: (run length after each vector, event fired on each vector).

    ``ordinals[i]`` is the accepted-sample number (0-based, rejected samples not counted) whose
    push emitted vector i: the refractory period is counted in accepted samples."""
    run = 0
    last_event = None
    runs = np.zeros(len(positives), dtype=np.int64)
    fired = np.zeros(len(positives), dtype=bool)
    for i, (p, k) in enumerate(zip(positives.tolist(), ordinals.tolist())):
        if last_event is not None and k <= last_event + decision.refractory:
            run = 0
        else:
            run = run + 1 if p else 0
            if run >= decision.consecutive:
                fired[i] = True
                run = 0
                last_event = k
        runs[i] = run
    return runs, fired
