"""XGBoost objectives featgen compiles: each one's prediction is the forest's margin (exact, the
same float32 sum for every objective) followed by a stated float32 transform.

Read from XGBoost 3.2's sources (src/objective/regression_obj.cu, regression_loss.h,
multiclass_obj.cu, hinge.cu, aft_obj.cu; src/common/math.h) and measured against
``Booster.predict`` in tests/test_objectives.py:

=========================  ==========  ======================================================
transform                  C           objectives
=========================  ==========  ======================================================
``sigmoid``                float       binary:logistic, reg:logistic
                                       ``1 / (expf(min(-x, 88.7f)) + 1 + 1e-16f)``
``identity``               (none)      binary:logitraw, reg:squarederror, reg:absoluteerror,
                                       reg:pseudohubererror, reg:squaredlogerror,
                                       reg:quantileerror (one quantile)
``exp``                    ``expf(x)`` count:poisson, reg:gamma, reg:tweedie, survival:cox,
                                       survival:aft
``hinge``                  ``x > 0``   binary:hinge (1 or 0)
``softmax``                float/dbl   multi:softprob (probabilities), multi:softmax (argmax)
=========================  ==========  ======================================================

The base margin (base_score mapped through the objective's ProbToMargin: logit, log or
identity) is never re-derived here: it is read from XGBoost itself (xgboost_json.base_margin_of),
so every objective, the scalar and the vector ("intercept") forms of base_score included, starts
from XGBoost's own float32.

The table is keyed by XGBoost's objective names; the LightGBM and scikit-learn frontends
(codegen/trees/lightgbm_text.py, sklearn_trees.py) add their own entries, prefixed
``lightgbm:`` and ``sklearn:``, whose transforms are computed in double:

=============  ===================================================  ================================
transform      C                                                    objectives
=============  ===================================================  ================================
``logistic``   ``1.0 / (1.0 + exp(-s * x))`` (s: LightGBM's         lightgbm:binary, cross_entropy;
               ``sigmoid``, 2 for sklearn's exponential loss)       sklearn:logistic (expit)
``exp64``      ``exp(x)`` in double                                 lightgbm:poisson/gamma/tweedie,
                                                                    sklearn:poisson/gamma (HGB)
``softmax64``  max, ``exp(x - max)``, double sum, divide            lightgbm:multiclass,
                                                                    sklearn:softmax
``proba``      the margins are the probabilities                    sklearn:forest (classifiers:
                                                                    averaged leaf fractions)
=============  ===================================================  ================================
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    name: str
    transform: str  # sigmoid | identity | exp | hinge | softmax
    kind: str  # "binary" (a score for class 1), "regression", "multiclass"
    value: str  # what the transformed prediction is, for docs and manifests
    default_threshold: float | None = None  # binary objectives: the decision's default


def _binary(name: str, transform: str, value: str, default: float) -> Objective:
    return Objective(name, transform, "binary", value, default)


def _regression(name: str, transform: str, value: str) -> Objective:
    return Objective(name, transform, "regression", value)


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        _binary("binary:logistic", "sigmoid", "probability of class 1", 0.5),
        _binary("binary:logitraw", "identity", "the margin (log-odds of class 1)", 0.0),
        _binary("binary:hinge", "hinge", "the class, 1 when the margin > 0, else 0", 0.5),
        _regression("reg:logistic", "sigmoid", "the prediction, in (0, 1)"),
        _regression("reg:squarederror", "identity", "the prediction"),
        _regression("reg:absoluteerror", "identity", "the prediction (median regression)"),
        _regression("reg:pseudohubererror", "identity", "the prediction"),
        _regression("reg:squaredlogerror", "identity", "the prediction"),
        _regression("reg:quantileerror", "identity", "the quantile"),
        _regression("count:poisson", "exp", "the expected count, exp(margin)"),
        _regression("reg:gamma", "exp", "the mean, exp(margin)"),
        _regression("reg:tweedie", "exp", "the mean, exp(margin)"),
        _regression("survival:cox", "exp", "the hazard ratio, exp(margin)"),
        _regression("survival:aft", "exp", "the predicted survival time, exp(margin)"),
        Objective("multi:softprob", "softmax", "multiclass", "class probabilities (softmax)"),
        Objective("multi:softmax", "softmax", "multiclass", "the class with the largest margin"),
        # LightGBM (src/objective/*.hpp ConvertOutput), read from the model text's objective= line
        _binary("lightgbm:binary", "logistic", "probability of class 1", 0.5),
        _regression("lightgbm:regression", "identity", "the prediction"),
        _regression("lightgbm:cross_entropy", "logistic", "the prediction, in (0, 1)"),
        _regression("lightgbm:exp", "exp64", "the mean, exp(margin)"),
        Objective(
            "lightgbm:multiclass", "softmax64", "multiclass", "class probabilities (softmax)"
        ),
        # scikit-learn (ensemble/_forest.py, _gb.py, _hist_gradient_boosting/gradient_boosting.py)
        _binary(
            "sklearn:forest", "identity", "the averaged probability of class 1 (predict_proba)", 0.5
        ),
        Objective(
            "sklearn:forest_multiclass",
            "proba",
            "multiclass",
            "class probabilities (predict_proba: averaged leaf fractions)",
        ),
        _regression("sklearn:regression", "identity", "the prediction"),
        _regression("sklearn:exp", "exp64", "the mean, exp(margin)"),
        _binary("sklearn:logistic", "logistic", "probability of class 1 (predict_proba)", 0.5),
        Objective("sklearn:softmax", "softmax64", "multiclass", "class probabilities (softmax)"),
    )
}

# What ``featgen train`` trains: survival labels are times and censoring bounds, which featgen's
# labelled recordings do not carry (import such a model instead).
TRAINABLE = tuple(n for n in OBJECTIVES if not n.startswith(("survival:", "lightgbm:", "sklearn:")))

# Refused, with the reason (prefix match on the objective name).
REFUSED = {
    "rank:": "a ranking objective's score orders the documents of one query group against each "
    "other; it has no per-vector meaning a detector threshold could state",
    "reg:linear": "reg:linear is the pre-1.0 name of reg:squarederror; load and save the model "
    "with a current XGBoost",
    "multi:": "not a known multi-class objective",
}


def objective(name: str) -> Objective:
    """The objective called ``name``; ValueError naming the reason when it is refused."""
    if name in OBJECTIVES:
        return OBJECTIVES[name]
    for prefix, reason in REFUSED.items():
        if name.startswith(prefix):
            raise ValueError(f"objective {name!r} is not supported: {reason}")
    raise ValueError(
        f"objective {name!r} is not supported; featgen compiles {', '.join(OBJECTIVES)}"
    )
