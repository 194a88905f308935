"""``featgen train``: labelled recordings -> features (the generated numpy code) -> XGBoost model.

* Features come from the numpy module generated from the spec, exactly what the phones compute.
* Each vector takes the label of the sample whose push emitted it (its ``end``).
* Train and test sets are split by group (subject, or recording): whole groups go to one side,
  never windows of the same recording to both (overlapping windows would leak).
* The model directory holds the XGBoost JSON model, the feature order and spec hashes it was
  trained on (checked by ``featgen build``) and the held-out metrics.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import math
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import yaml

from codegen.build import generate, target_problem
from codegen.trees import decision as decisions
from codegen.trees import fp32, objectives, xgboost_json
from codegen.trees.build import ClassNameError, class_identifiers
from codegen.trees.model_dir import (
    FORMAT,
    LIGHTGBM_SOURCE_FILE,
    META_FILE,
    METRICS_FILE,
    MODEL_FILE,
    model_identity,
)
from featgen.harness import load_numpy_module
from featurespec.errors import OutputError
from featurespec.schema import DecisionDef, Spec

from . import (
    safe_io,  # called as safe_io.X: the crash tests replace its functions
    ui,
)
from .data import DataError, Recording
from .policy import Yield, refuse_nonfinite, short_recordings

OBJECTIVES = objectives.TRAINABLE  # codegen/trees/objectives.py
# Set by featgen's own options, not by --param: the objective and num_class follow --objective
# and the labels, the rounds --rounds, early stopping --early-stopping-rounds; a booster other
# than gbtree cannot be compiled exactly (xgboost_json refuses it with the reason).
RESERVED_PARAMS = {
    "objective": "--objective",
    "num_class": "the labels (--objective multi:*)",
    "num_boost_round": "--rounds",
    "n_estimators": "--rounds",
    "early_stopping_rounds": "--early-stopping-rounds",
}
EVENT_SLACK_S = 1.0  # metric tolerance: an event up to 1 s after a labelled event detects it


@dataclasses.dataclass
class Params:
    objective: str = "binary:logistic"
    rounds: int = 60
    max_depth: int = 5
    eta: float = 0.2
    test_fraction: float = 0.25
    seed: int = 0
    min_child_weight: float = 1.0
    subsample: float = 1.0
    nthread: int = 1  # reproducible: same data, same model bytes
    extra: dict = dataclasses.field(default_factory=dict)  # --param / --params
    early_stopping_rounds: int | None = None  # on the held-out groups
    test_groups: tuple[str, ...] | None = None  # --test-groups: exactly these are held out
    class_names: tuple[str, ...] | None = None  # --classes: the name of class 0, 1, ...
    drop_nonfinite: bool = True  # the CLI's default is False (featgen/policy.py): refuse
    min_vectors: int = 0  # --min-vectors: refuse recordings giving fewer vectors


class TrainError(ValueError):
    pass


def featurize(spec: Spec, recordings: dict[str, Recording]):
    """(X, y, groups, recording index, ends, dropped) over all recordings, via the generated
    numpy module of the spec (its model: block, if any, is not needed to featurise)."""
    files = generate(dataclasses.replace(spec, model=None, decision=None))
    module = load_numpy_module(files, spec.name)
    xs, ys, groups, recs, ends = [], [], [], [], []
    dropped = 0
    for i, rec in enumerate(recordings.values()):
        x, e = module.featurize(rec.samples, nonfinite="drop")
        dropped += int((~np.isfinite(rec.samples).all(axis=1)).sum())
        xs.append(x)
        ys.append(rec.labels[e])
        groups += [rec.group] * len(e)
        recs.append(np.full(len(e), i))
        ends.append(e)
    n = len(spec.feature_names)
    X = np.concatenate(xs) if xs else np.empty((0, n))
    return (
        X,
        np.concatenate(ys).astype(np.int64),
        np.array(groups, dtype=object),
        np.concatenate(recs),
        np.concatenate(ends),
        dropped,
    )


def split_groups(groups: np.ndarray, fraction: float, seed: int) -> tuple[list, list]:
    unique = sorted(set(groups.tolist()))
    if len(unique) < 2:
        raise TrainError(
            f"need at least 2 groups to hold some out for testing, got "
            f"{len(unique)} ({unique[:3]}); give recordings of several subjects "
            "(--group-column) or several recordings without a group column"
        )
    order = np.random.default_rng(seed).permutation(len(unique))
    n_test = min(max(1, math.ceil(fraction * len(unique))), len(unique) - 1)
    test = sorted(unique[i] for i in order[:n_test])
    train = sorted(unique[i] for i in order[n_test:])
    return train, test


def train(
    spec: Spec,
    recordings: dict[str, Recording],
    out: Path,
    params: Params,
    label_column: str = "label",
    group_column: str | None = "subject",
    test_recordings: dict[str, Recording] | None = None,
    progress=None,
) -> dict:
    """Train, evaluate on the held-out data, write the model directory; returns the metrics.

    Held out: TEST_RECORDINGS when given (``--test-data``: exactly those), else the groups
    ``params.test_groups`` (exactly those), else a seeded ``params.test_fraction`` of the
    groups; a fraction of 0 trains on everything and evaluates nothing. PROGRESS(round, total)
    is called before the first boosting round (round 0) and after each one."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    check_params(params)
    if test_recordings is not None and params.test_groups is not None:
        raise TrainError("give the held-out data one way: test recordings or test groups")
    test_recordings = dict(test_recordings or {})
    class_names = encode_labels(params, recordings, test_recordings)
    everything = dict(recordings)
    for name, rec in test_recordings.items():  # the same file may not be on both sides
        key = name if name not in everything else f"test:{name}"
        everything[key] = rec
    if not params.drop_nonfinite:
        try:
            refuse_nonfinite({k: r.samples for k, r in everything.items()}, [], spec.inputs)
        except DataError as exc:
            raise TrainError(str(exc)) from None
    X, y, groups, rec_index, ends, dropped = featurize(spec, everything)
    short = short_recordings_of(spec, everything, rec_index, params.min_vectors)
    if X.shape[0] == 0:
        raise TrainError(
            "the recordings produced no feature vectors (each needs at least "
            f"{spec.max_length} samples)"
        )
    classes, n_class = check_labels(params, y)
    if class_names is not None:
        n_class = check_class_names(params, class_names, classes, n_class)
    split = choose_split(params, groups, rec_index >= len(recordings), test_recordings)
    is_test, train_groups, test_groups = split["is_test"], split["train"], split["test"]
    check_training_classes(params, y[~is_test], n_class, train_groups)
    xgb_params = xgb_params_of(params, n_class)
    dtrain = xgboost.DMatrix(X[~is_test], label=y[~is_test], missing=np.nan)
    booster, stopping = fit(xgb_params, dtrain, X[is_test], y[is_test], params, progress)

    raw, forest, decision = save_model(spec, booster, Path(out), params)
    if is_test.any():
        margins = np.asarray(
            booster.inplace_predict(X[is_test], predict_type="margin"), dtype=np.float32
        ).reshape(int(is_test.sum()), -1)
        metrics = evaluate(decision, y[is_test], margins, n_class, params.objective)
        metrics["events"] = (
            event_metrics(decision, spec, everything, X, y, rec_index, ends, is_test, booster)
            if decision.kind != "none"
            else None
        )
    else:
        metrics = {
            "objective": params.objective,
            "vectors": 0,
            "evaluated": False,
            "events": None,
            "why_not": split["how"],
        }
    if split["by"] != "group":  # the seeded default keeps metrics.json as it was
        metrics["split"] = split["how"]
    if class_names is not None:
        metrics["class_names"] = list(class_names)
        metrics["class_names_from"] = (
            "--classes" if params.class_names is not None else "the data (sorted by name)"
        )
    if stopping is not None:
        metrics["early_stopping"] = stopping
    metrics["data"] = data_summary(
        len(everything), y, is_test, train_groups, test_groups, classes, dropped
    )
    if test_recordings:
        metrics["data"]["test_recordings"] = len(test_recordings)
    if short["recordings"]:
        metrics["data"]["no_vectors"] = short
    if stopping is not None:
        xgb_params = dict(
            xgb_params,
            early_stopping_rounds=params.early_stopping_rounds,
            best_iteration=stopping["best_iteration"],
        )
    write_meta(
        spec,
        Path(out),
        params,
        xgb_params,
        raw,
        forest,
        n_class,
        test_groups,
        label_column,
        group_column,
        metrics,
        split["by"],
        class_names,
    )
    return metrics


def short_recordings_of(
    spec: Spec, recordings: dict[str, Recording], rec_index: np.ndarray, min_vectors: int
) -> dict:
    """The recordings that gave no vectors (featgen/policy.py): counted, a few named, and the
    warning the CLI prints; a TrainError when one gave fewer than MIN_VECTORS."""

    counts = np.bincount(rec_index, minlength=len(recordings))
    yields = [
        Yield(name, len(r.samples), int(np.isfinite(r.samples).all(axis=1).sum()), int(counts[i]))
        for i, (name, r) in enumerate(recordings.items())
    ]
    try:
        warning = short_recordings(spec, yields, min_vectors)
    except DataError as exc:
        raise TrainError(str(exc)) from None
    names = [y.name for y in yields if not y.vectors]
    return {"recordings": len(names), "names": names[:20], "warning": warning}


def encode_labels(params: Params, *sets: dict[str, Recording]) -> tuple[str, ...] | None:
    """The class names (``--classes``, else the names the data uses, sorted), or None; labels
    given as names are replaced by their class index in place. Numeric labels must then be
    indices into ``--classes``."""
    recs = [r for recordings in sets for r in recordings.values()]
    named = [r for r in recs if r.labels.dtype.kind in "US"]
    names = tuple(params.class_names) if params.class_names is not None else None
    if names is not None:
        problem = class_names_problem(names)
        if problem:
            raise TrainError(f"--classes: {problem}")
    if not named:
        if names is not None:
            for r in recs:
                if len(r.labels) and int(r.labels.max()) >= len(names):
                    raise TrainError(
                        f"recording {r.name!r}: label {int(r.labels.max())}, but --classes "
                        f"names {len(names)} classes (labels 0 .. {len(names) - 1}: "
                        f"{', '.join(names)})"
                    )
        return names
    numeric = [r for r in recs if r.labels.dtype.kind not in "US" and len(r.labels)]
    if numeric:
        raise TrainError(
            f"recording {numeric[0].name!r} numbers its classes but "
            f"{named[0].name!r} names them; use one or the other in every file"
        )
    if names is None:
        if objectives.objective(params.objective).kind == "binary":
            seen = sorted(set().union(*(set(r.labels.tolist()) for r in named)))
            raise TrainError(
                f"{params.objective} with class names ({', '.join(seen[:5])}): "
                "give --classes NEGATIVE POSITIVE to say which one is class 1 "
                "(the positive class)"
            )
        names = tuple(sorted(set().union(*(set(r.labels.tolist()) for r in named))))
        problem = class_names_problem(names)
        if problem:
            raise TrainError(f"the class names in the data: {problem}")
    index = {n: i for i, n in enumerate(names)}
    for r in named:
        unknown = sorted(set(r.labels.tolist()) - set(index))
        if unknown:
            raise TrainError(
                f"recording {r.name!r}: class {unknown[0]!r} is not one of "
                f"--classes {' '.join(names)}"
            )
        r.labels = np.array([index[v] for v in r.labels.tolist()], dtype=np.int64)
    return names


def class_names_problem(names: tuple[str, ...]) -> str | None:
    """Why NAMES cannot name classes (in the model, the Swift/Kotlin enums), or None."""
    try:
        class_identifiers(names)
    except ClassNameError as exc:
        return str(exc)
    return None


def check_class_names(
    params: Params, names: tuple[str, ...], classes: list[int], n_class: int
) -> int:
    """The number of classes once NAMES name them: as many as there are names."""
    kind = objectives.objective(params.objective).kind
    if kind == "regression":
        raise TrainError(f"--classes names classes; {params.objective} predicts a value")
    if kind == "binary" and len(names) != 2:
        raise TrainError(
            f"{params.objective} has 2 classes (0 and 1), --classes gives {len(names)} names"
        )
    missing = [names[c] for c in range(len(names)) if c not in classes]
    if kind == "multiclass" and missing:
        raise TrainError(
            f"class(es) {', '.join(map(repr, missing))} of --classes never occur "
            "in the data; a class the model never saw cannot be predicted (drop "
            "it from --classes, or add recordings of it)"
        )
    return len(names)


def choose_split(
    params: Params, groups: np.ndarray, from_test_data: np.ndarray, test_recordings: dict
) -> dict:
    """Which vectors are held out, and how that was decided (said in metrics and meta)."""
    if test_recordings:
        is_test = np.asarray(from_test_data, dtype=bool)
        if not is_test.any():
            raise TrainError(
                f"the {len(test_recordings)} --test-data recording(s) produced no "
                "feature vectors (each needs at least the longest window)"
            )
        if is_test.all():
            raise TrainError("the training recordings produced no feature vectors")
        train = sorted(set(groups[~is_test].tolist()))
        test = sorted(set(groups[is_test].tolist()))
        both = sorted(set(train) & set(test))
        how = f"--test-data: {len(test_recordings)} recording(s) held out as given" + (
            f"; group(s) {', '.join(map(str, both[:5]))} are on both sides" if both else ""
        )
        return {"is_test": is_test, "train": train, "test": test, "by": "test-data", "how": how}
    unique = sorted(set(groups.tolist()))
    if params.test_groups is not None:
        asked = list(dict.fromkeys(params.test_groups))
        unknown = [g for g in asked if g not in unique]
        if unknown:
            shown = ", ".join(map(str, unique[:20])) + (", ..." if len(unique) > 20 else "")
            raise TrainError(
                f"--test-groups: no group {unknown[0]!r} in the data (groups: {shown})"
            )
        if len(asked) == len(unique):
            raise TrainError("--test-groups holds out every group; nothing is left to train on")
        is_test = np.isin(groups, asked)
        return {
            "is_test": is_test,
            "train": [g for g in unique if g not in asked],
            "test": sorted(asked),
            "by": "test-groups",
            "how": f"--test-groups: {len(asked)} group(s) held out as given",
        }
    if params.test_fraction == 0:
        return {
            "is_test": np.zeros(len(groups), dtype=bool),
            "train": unique,
            "test": [],
            "by": "none",
            "how": "--test-fraction 0: trained on every recording, nothing "
            "held out, so no evaluation",
        }
    train, test = split_groups(groups, params.test_fraction, params.seed)
    return {
        "is_test": np.isin(groups, test),
        "train": train,
        "test": test,
        "by": "group",
        "how": f"--test-fraction {params.test_fraction} (seed {params.seed}): "
        f"{len(test)} of {len(unique)} group(s) held out",
    }


def check_params(params: Params) -> None:
    """Refuse parameters XGBoost would take and train garbage with (the CLI's option types
    refuse them first; this guards the Python API)."""
    if params.objective not in OBJECTIVES:
        raise TrainError(f"objective {params.objective!r}: use one of {', '.join(OBJECTIVES)}")
    checks = [
        (
            "rounds",
            params.rounds,
            isinstance(params.rounds, int) and params.rounds >= 1,
            "a whole number >= 1",
        ),
        (
            "max_depth",
            params.max_depth,
            isinstance(params.max_depth, int) and 1 <= params.max_depth <= 64,
            "a whole number from 1 to 64",
        ),
        (
            "eta",
            params.eta,
            math.isfinite(params.eta) and 0 < params.eta <= 1,
            "a number in (0, 1]",
        ),
        (
            "test_fraction",
            params.test_fraction,
            math.isfinite(params.test_fraction) and 0 <= params.test_fraction < 1,
            "a number in [0, 1)",
        ),
    ]
    for name, value, ok, what in checks:
        if not ok:
            raise TrainError(f"{name} = {value!r}: must be {what}")


def check_labels(params: Params, y: np.ndarray, where: str = "the labels") -> tuple[list[int], int]:
    """(sorted classes, number of classes) for PARAMS' objective, or a TrainError: binary needs
    both 0 and 1; multi-class needs every class 0 .. K-1 (labels 1..4 would train a 5-class
    model whose class 0 was never seen). One class trains a model that never (or always)
    fires, which nothing downstream would notice."""
    classes = sorted(set(np.asarray(y).tolist()))
    if not classes:
        raise TrainError(f"{where}: no labelled feature vectors")
    kind = objectives.objective(params.objective).kind
    if kind == "binary":
        if not set(classes) <= {0, 1}:
            raise TrainError(
                f"{params.objective} needs labels 0 and 1, got {classes[:10]}; use "
                "--objective multi:softprob for classes"
            )
        if len(classes) < 2:
            raise TrainError(
                f"{where}: every feature vector has label {classes[0]}; a binary "
                "model needs both 0 and 1 (trained on one class it would "
                f"{'never' if classes[0] == 0 else 'always'} fire)"
            )
        return classes, 2
    if kind == "regression":
        return classes, 0
    n_class = max(classes) + 1
    if len(classes) < 2:
        raise TrainError(
            f"{where}: every feature vector has label {classes[0]}; "
            "multi:softprob needs at least 2 classes"
        )
    missing = sorted(set(range(n_class)) - set(classes))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        fix = (
            "; labels 1 .. K: subtract 1 from every label"
            if classes[0] == 1 and classes == list(range(1, n_class))
            else ""
        )
        raise TrainError(
            f"{where}: classes are 0 .. {n_class - 1} (the largest label is "
            f"{n_class - 1}) but class(es) {shown} never occur, so the model would "
            f"have {n_class} classes; number the classes 0 .. K-1{fix}, or label "
            f"the rows with class names (the labels seen: "
            f"{', '.join(map(str, classes[:10]))})"
        )
    return classes, n_class


def check_training_classes(
    params: Params, y_train: np.ndarray, n_class: int, train_groups: list
) -> None:
    """The training side of the split must hold two classes at least: the held-out groups may
    have taken every example of the other."""
    seen = sorted(set(np.asarray(y_train).tolist()))
    if len(seen) < 2:
        raise TrainError(
            f"after holding out groups for testing, the {len(train_groups)} "
            f"training group(s) ({', '.join(map(str, train_groups[:5]))}) hold only "
            f"class {seen[0] if seen else '(none)'}; give more groups with both "
            "classes, or lower --test-fraction"
        )


def xgb_params_of(params: Params, n_class: int) -> dict:
    xgb_params = {
        "objective": params.objective,
        "max_depth": params.max_depth,
        "eta": params.eta,
        "seed": params.seed,
        "nthread": params.nthread,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "tree_method": "hist",
    }
    if objectives.objective(params.objective).kind == "multiclass":
        xgb_params["num_class"] = n_class
    for key, value in params.extra.items():
        if key in RESERVED_PARAMS:
            raise TrainError(f"--param {key}: set by {RESERVED_PARAMS[key]}, not --param")
        xgb_params[key] = value
    return xgb_params


def parse_params(pairs: tuple[str, ...] = (), files: tuple[str, ...] = ()) -> dict:
    """XGBoost parameters from ``--params FILE`` (YAML or JSON mapping; later files win) then
    ``--param key=value`` (strings, as XGBoost parses them itself; they win over files)."""
    out: dict = {}
    for path in files:
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise TrainError(f"--params {path}: cannot read ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:  # a binary file given by mistake
            raise TrainError(
                f"--params {path}: not a YAML/JSON text file (byte 0x{exc.object[exc.start]:02X} "
                f"at offset {exc.start} is not UTF-8)"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
            raise TrainError(f"{where}: not YAML/JSON ({getattr(exc, 'problem', exc)})") from None
        if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
            raise TrainError(
                f"{path}: expected a mapping of XGBoost parameters, like "
                "{max_depth: 6, subsample: 0.8}"
            )
        for key, value in doc.items():
            if key == "monotone_constraints" and isinstance(value, list):
                value = "(" + ",".join(str(v) for v in value) + ")"  # XGBoost's syntax
            elif key == "interaction_constraints" and isinstance(value, list):
                value = json.dumps(value)
            elif isinstance(value, (dict, list)):
                raise TrainError(
                    f"{path}: {key}: expected a single value, got {type(value).__name__}"
                )
            out[key] = value
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TrainError(f"--param {pair!r}: expected key=value, like max_depth=6")
        out[key.strip()] = value.strip()
    return out


def fit(
    xgb_params: dict, dtrain, X_test: np.ndarray, y_test: np.ndarray, params: Params, progress=None
):
    """(booster, early-stopping report or None). XGBoost's unknown-parameter warning and its
    errors for bad values become TrainError (exit 2). With early stopping the model is cut at
    the best iteration (``booster[:best + 1]``) and checked: its margins on the held-out
    vectors equal the full booster's ``iteration_range=(0, best + 1)`` bit for bit."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    evals: list[tuple[xgboost.DMatrix, str]] = []
    rounds = params.rounds
    if params.early_stopping_rounds is not None:
        if len(y_test) == 0:
            raise TrainError("--early-stopping-rounds needs held-out vectors")
        evals = [(xgboost.DMatrix(X_test, label=y_test, missing=np.nan), "held_out")]
    history: dict = {}
    callbacks = [_Progress(progress, rounds)] if progress is not None else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            booster = xgboost.train(
                xgb_params,
                dtrain,
                num_boost_round=rounds,
                evals=evals,
                early_stopping_rounds=params.early_stopping_rounds,
                evals_result=history,
                verbose_eval=False,
                callbacks=callbacks,
            )
    except xgboost.core.XGBoostError as exc:
        raise TrainError(f"XGBoost refused the parameters: {_first_line(exc)}") from None
    unused = [str(w.message) for w in caught if "are not used" in str(w.message)]
    if unused:
        raise TrainError(
            "XGBoost does not use these parameters (misspelt, or not for this "
            f"booster/objective): {' '.join(unused[0].split())}"
        )
    if params.early_stopping_rounds is None:
        return booster, None
    best = int(booster.best_iteration)
    full_rounds = booster.num_boosted_rounds()
    cut = booster[: best + 1]
    want = booster.inplace_predict(X_test, predict_type="margin", iteration_range=(0, best + 1))
    got = cut.inplace_predict(X_test, predict_type="margin")
    if not np.array_equal(
        np.asarray(want, np.float32).view(np.uint32), np.asarray(got, np.float32).view(np.uint32)
    ):
        raise TrainError(
            "the model cut at the best iteration does not reproduce XGBoost's "
            "margins; please report this"
        )
    metric = list(history.get("held_out", {"?": None}))[-1]  # the one early stopping used
    return cut, {
        "rounds": params.early_stopping_rounds,
        "on": "the held-out groups",
        "best_iteration": best,
        "best_score": float(booster.best_score),
        "metric": str(metric),
        "rounds_trained": full_rounds,
        "rounds_shipped": cut.num_boosted_rounds(),
        "cut_margins_bit_equal": True,
    }


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.split(": ", 1)[-1] if first.startswith("[") else first


def save_model(spec: Spec, booster, out: Path, params: Params):
    """OUT/model.json's bytes (the bytes ``booster.save_model`` writes; written with the rest
    by ``write_meta``), the forest read back, the resolved decision rule."""
    raw = bytes(booster.save_raw(raw_format="json"))
    decision_def = spec.decision or DecisionDef()
    if objectives.objective(params.objective).kind == "multiclass" and spec.decision is not None:
        decision_def = dataclasses.replace(decision_def, locs=())
    try:
        forest = xgboost_json.forest_of(raw, where="the trained model")
    except xgboost_json.ModelError as exc:  # e.g. --param booster=dart
        raise TrainError(f"{exc} (check --param/--params)") from None
    return raw, forest, decisions.resolve(decision_def, forest)


def _Progress(report, total: int):
    """An XGBoost callback calling REPORT(round, total) after each boosting round (it never
    changes training: the model bytes are the same with or without it)."""
    import xgboost

    class Progress(xgboost.callback.TrainingCallback):
        def before_training(self, model):
            report(0, total)
            return model

        def after_iteration(self, model, epoch, evals_log):
            report(epoch + 1, total)
            return False

    return Progress()


def data_summary(
    n_recordings: int,
    y: np.ndarray,
    is_test: np.ndarray,
    train_groups: list,
    test_groups: list,
    classes: list,
    dropped: int,
) -> dict:
    return {
        "recordings": n_recordings,
        "vectors": int(len(y)),
        "train_vectors": int((~is_test).sum()),
        "test_vectors": int(is_test.sum()),
        "train_groups": [str(g) for g in train_groups],
        "test_groups": [str(g) for g in test_groups],
        "positive_fraction": {str(c): float((y == c).mean()) for c in classes},
        "dropped_nonfinite_samples": dropped,
    }


def forest_rounds(forest) -> int:
    """Boosting rounds in the forest (trees per output)."""
    return len(forest.trees) // max(1, forest.n_outputs)


def write_meta(
    spec: Spec,
    out: Path,
    params: Params,
    xgb_params: dict,
    raw: bytes,
    forest,
    n_class: int,
    test_groups: list,
    label_column: str,
    group_column: str | None,
    metrics: dict,
    split_by: str = "group",
    class_names: tuple[str, ...] | None = None,
) -> None:
    """OUT/featgen_model.json (what the model was trained on) and OUT/metrics.json."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    meta = {
        **model_identity(spec, raw),
        "objective": params.objective,
        "n_classes": n_class,
        "label_column": label_column,
        "group_column": group_column,
        "split": {
            "by": split_by,
            "test_fraction": params.test_fraction,
            "seed": params.seed,
            "test_groups": [str(g) for g in test_groups],
        },
        **({"class_names": list(class_names)} if class_names is not None else {}),
        "params": {
            **xgb_params,
            "num_boost_round": params.rounds,
            "shipped_rounds": forest_rounds(forest),
        },
        "xgboost_version": xgboost.__version__,
        "base_margin": [fp32.hex32(v) for v in forest.base_margin],
        "feature_names": list(spec.feature_names),
    }
    write_model_directory(
        out,
        {
            MODEL_FILE: raw,
            META_FILE: (json.dumps(meta, indent=2) + "\n").encode(),
            METRICS_FILE: (json.dumps(metrics, indent=2) + "\n").encode(),
        },
    )


def model_output_problem(out: Path) -> str | None:
    """Why ``featgen train -o OUT`` may not replace OUT, or None: it may when OUT is absent,
    empty, or a featgen model directory (its featgen_model.json says so). Checked before
    training and again before writing."""
    out = Path(out)
    problem = target_problem(out)
    if problem or not out.is_dir():
        return problem
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return None
    try:
        ours = json.loads((out / META_FILE).read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        return (
            f"refusing to replace {out}/: it is not a featgen model directory (no valid "
            f"{META_FILE}) and holds {out / entries[0]}; give a new or empty folder"
        )
    return None


def write_model_directory(out: Path, files: dict[str, bytes]) -> list[str]:
    """Replace model directory OUT as a whole (write beside it, fsync, rename): a killed run
    leaves the old model directory or the new one, never a new model.json beside old metadata.
    Files featgen did not write there (an evaluation.json, notes) are kept, hard-linked into
    the new directory (nothing copied, nothing lost). Returns the kept names."""
    out = Path(out)
    problem = model_output_problem(out)
    if problem:
        raise OutputError(problem)
    out.parent.mkdir(parents=True, exist_ok=True)
    stale = [n for n in _old_source_copies(out) if n not in files]
    kept = (
        sorted(p.name for p in out.iterdir() if p.name not in files and p.name not in stale)
        if out.is_dir()
        else []
    )

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    try:
        with safe_io.atomic_directory(out) as staging:
            for name, data in files.items():
                (staging / name).write_bytes(data)
            for name in kept:
                src = out / name
                if src.is_symlink():
                    os.symlink(os.readlink(src), staging / name)
                elif src.is_dir():
                    shutil.copytree(src, staging / name, symlinks=True, copy_function=link)
                else:
                    link(src, staging / name)
    except OSError as exc:
        if exc.errno not in (errno.EBUSY, errno.EXDEV) or not out.is_dir():
            raise
        # OUT is a mount point (SageMaker's /opt/ml/model may be): it cannot be renamed, so
        # each file is replaced atomically, model.json last; a run killed in between leaves
        # a directory featgen build refuses (model_sha256), never one it ships
        for name in sorted(files, key=lambda n: n == MODEL_FILE):
            safe_io.write_bytes_atomic(out / name, files[name])
        for name in stale:
            (out / name).unlink(missing_ok=True)
    for name in stale:
        ui.errors.print(
            f"note: removed {out / name}: the previous model's source, imported by featgen; "
            "it does not describe the new model",
            soft_wrap=True,
            markup=False,
        )
    return kept


def _old_source_copies(out: Path) -> list[str]:
    """The files a previous ``featgen import-model`` wrote in model directory OUT beside its
    model (the LightGBM text it compiled): exactly those whose sha256 is one its
    featgen_model.json records (source_copy_sha256, or source_sha256 of a plain text model).
    They describe the old model, so a new one drops them; any other file there (the same name
    with other bytes included) is the user's, and is kept."""
    try:
        meta = json.loads((out / META_FILE).read_text(encoding="utf-8"))
        provenance = meta["provenance"]
        recorded = {provenance.get("source_copy_sha256"), provenance.get("source_sha256")}
        ours = meta.get("library") == "lightgbm"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    copy = out / LIGHTGBM_SOURCE_FILE
    try:
        if ours and copy.is_file() and not copy.is_symlink():
            if hashlib.sha256(copy.read_bytes()).hexdigest() in recorded - {None}:
                return [LIGHTGBM_SOURCE_FILE]
    except OSError:
        pass
    return []


# ---------------------------------------------------------------- metrics


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None without both classes."""
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score, dtype=np.float64)[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(
    decision: decisions.Decision,
    y: np.ndarray,
    margins: np.ndarray,
    n_class: int,
    objective: str | None = None,
) -> dict:
    """Vector-level metrics on held-out data, with the decision rule the phones use."""
    spec = objectives.objective(
        objective or ("multi:softprob" if decision.kind == "multiclass" else "binary:logistic")
    )
    if spec.kind == "regression":
        value = fp32.transformed(margins[:, 0], spec.transform).astype(np.float64)
        err = value - np.asarray(y, dtype=np.float64)
        out = {
            "objective": spec.name,
            "vectors": int(len(y)),
            "rmse": float(np.sqrt(np.mean(err**2))) if len(y) else None,
            "mae": float(np.mean(np.abs(err))) if len(y) else None,
            "mean_label": float(np.mean(y)) if len(y) else None,
            "mean_prediction": float(np.mean(value)) if len(y) else None,
        }
        if decision.kind == "binary":
            out.update(
                threshold=decision.threshold,
                margin_threshold=fp32.hex32(decision.margin_threshold),
                positive_vectors=int(decisions.positive(decision, margins).sum()),
            )
        return out
    if decision.kind == "binary":
        # AUC on the probability for the logistic objective (as before), on the margin
        # otherwise (the same order: every transform is non-decreasing).
        prob = (
            fp32.sigmoid(margins[:, 0])
            if spec.transform == "sigmoid"
            else margins[:, 0].astype(np.float32)
        )
        pred = decisions.positive(decision, margins).astype(np.int64)
        tp = int(((pred == 1) & (y == 1)).sum())
        fp = int(((pred == 1) & (y == 0)).sum())
        fn = int(((pred == 0) & (y == 1)).sum())
        tn = int(((pred == 0) & (y == 0)).sum())
        return {
            "objective": spec.name,
            "vectors": int(len(y)),
            "roc_auc": roc_auc(y, prob.astype(np.float64)),
            "threshold": decision.threshold,
            "margin_threshold": fp32.hex32(decision.margin_threshold),
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "confusion_matrix": {
                "labels": [0, 1],
                "rows_true_cols_predicted": [[tn, fp], [fn, tp]],
            },
        }
    prob = fp32.softmax(margins)
    pred = decisions.argmax_first(margins)
    matrix = np.zeros((n_class, n_class), dtype=np.int64)
    np.add.at(matrix, (y, pred), 1)
    per_class = {}
    for c in range(n_class):
        tp = int(matrix[c, c])
        col, row = int(matrix[:, c].sum()), int(matrix[c, :].sum())
        precision = tp / col if col else None
        recall = tp / row if row else None
        f1 = (2 * tp / (row + col)) if row + col else None
        per_class[str(c)] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": row,
            "roc_auc": roc_auc(y == c, prob[:, c].astype(np.float64)),
        }
    aucs = [v["roc_auc"] for v in per_class.values() if v["roc_auc"] is not None]
    f1s = [v["f1"] for v in per_class.values() if v["support"]]
    return {
        "objective": spec.name,
        "vectors": int(len(y)),
        "accuracy": float((pred == y).mean()) if len(y) else None,
        "macro_f1": float(np.mean([f or 0.0 for f in f1s])) if f1s else None,
        "roc_auc_macro_ovr": float(np.mean(aucs)) if aucs else None,
        "positive_class": decision.positive_class,
        "per_class": per_class,
        "confusion_matrix": {
            "labels": list(range(n_class)),
            "rows_true_cols_predicted": matrix.tolist(),
        },
    }


def event_metrics(decision, spec, recordings, X, y, rec_index, ends, is_test, booster) -> dict:
    """The detector on the held-out recordings: labelled events detected and false events per
    hour.

    A labelled event is a run of samples labelled positive (label 1, or ``class``); it is
    detected when an event fires on one of its samples or up to EVENT_SLACK_S after it."""
    slack = int(round(EVENT_SLACK_S * spec.sample_rate_hz))
    labelled = detected = false_events = 0
    samples = 0
    names = list(recordings)
    positive_label = decision.positive_class
    for i in sorted(set(rec_index[is_test].tolist())):
        rec = recordings[names[i]]
        rows = rec_index == i
        margins = np.asarray(
            booster.inplace_predict(X[rows], predict_type="margin"), dtype=np.float32
        ).reshape(int(rows.sum()), -1)
        finite = np.isfinite(rec.samples).all(axis=1)
        ordinals = np.cumsum(finite)[ends[rows]] - 1
        _, fired = decisions.events(decision, decisions.positive(decision, margins), ordinals)
        event_rows = ends[rows][fired]
        lab = rec.labels == positive_label
        starts = np.flatnonzero(lab & ~np.r_[False, lab[:-1]])
        stops = np.flatnonzero(lab & ~np.r_[lab[1:], False])
        covered = np.zeros(len(lab), dtype=bool)
        for a, b in zip(starts, stops):
            covered[a : min(b + slack + 1, len(lab))] = True
            labelled += 1
            detected += bool(((event_rows >= a) & (event_rows <= b + slack)).any())
        false_events += int((~covered[event_rows]).sum())
        samples += len(lab)
    hours = samples / spec.sample_rate_hz / 3600
    return {
        "labelled_events": labelled,
        "detected": detected,
        "detection_rate": detected / labelled if labelled else None,
        "false_events": false_events,
        "hours": hours,
        "false_events_per_hour": false_events / hours if hours else None,
        "slack_seconds": EVENT_SLACK_S,
        "decision": decision.to_json(),
    }


def _some(names: list, k: int = 4) -> str:
    """Up to K names, then how many more: a summary line stays one line."""
    names = [str(n) for n in names]
    return ", ".join(names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")


def params_named(metrics: dict) -> bool:
    """Whether --classes named the classes (else the data did, sorted by name)."""
    return metrics.get("class_names_from") == "--classes"


def _duration(seconds: float) -> str:
    """A duration a person reads at a glance: seconds, minutes or hours."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def summary_lines(metrics: dict) -> list[str]:
    def pct(v):
        return "n/a" if v is None else f"{100 * v:.1f}%"

    def num(v):
        return "n/a" if v is None else f"{v:.4f}"

    d = metrics["data"]
    names = metrics.get("class_names")
    none = (d.get("no_vectors") or {}).get("recordings", 0)
    lines = [
        f"{d['recordings']} recordings"
        + (f" ({none} gave no vectors)" if none else "")
        + f", {d['vectors']} vectors: train {d['train_vectors']} "
        f"({len(d['train_groups'])} group(s)), test {d['test_vectors']} "
        f"({len(d['test_groups'])} group(s)"
        + (f": {_some(d['test_groups'])})" if d["test_groups"] else ")")
    ]
    if "split" in metrics:
        lines.append(f"split: {metrics['split']}")
    if names:
        lines.append(
            "classes: "
            + ", ".join(f"{i} {n}" for i, n in enumerate(names))
            + (
                ""
                if params_named(metrics)
                else " (the data's names, sorted; --classes sets the order)"
            )
        )
    if metrics.get("evaluated") is False:
        lines.append(
            "no evaluation: nothing was held out, so there are no held-out metrics "
            "(metrics.json says so)"
        )
        return lines
    kind = objectives.objective(metrics["objective"]).kind
    if kind == "regression":
        lines.append(
            f"held out ({metrics['objective']}): RMSE {num(metrics['rmse'])}, MAE "
            f"{num(metrics['mae'])}; mean label {num(metrics['mean_label'])}, mean "
            f"prediction {num(metrics['mean_prediction'])}"
        )
        if "threshold" in metrics:
            lines.append(
                f"decision: value >= {metrics['threshold']} (margin >= "
                f"{metrics['margin_threshold']}): {metrics['positive_vectors']} "
                "positive vectors"
            )
    elif kind == "binary":
        (tn, fp), (fn, tp) = metrics["confusion_matrix"]["rows_true_cols_predicted"]
        lines += [
            f"held out: ROC AUC {num(metrics['roc_auc'])}; at threshold "
            f"{metrics['threshold']} (margin >= {metrics['margin_threshold']}): precision "
            f"{pct(metrics['precision'])}, recall {pct(metrics['recall'])}",
            f"confusion (true x predicted): [[{tn}, {fp}], [{fn}, {tp}]]",
        ]
    else:
        label = (lambda c: names[int(c)]) if names else str
        f1 = ", ".join(f"{label(c)} {num(v['f1'])}" for c, v in metrics["per_class"].items())
        lines += [
            f"held out: accuracy {pct(metrics['accuracy'])}, macro F1 "
            f"{num(metrics['macro_f1'])}, macro one-vs-rest ROC AUC "
            f"{num(metrics['roc_auc_macro_ovr'])}",
            f"F1 per class: {f1}",
            "confusion (true x predicted"
            + (f"; rows and columns {', '.join(names)}" if names else "")
            + "): "
            f"{metrics['confusion_matrix']['rows_true_cols_predicted']}",
        ]
    s = metrics.get("early_stopping")
    if s is not None:
        lines.append(
            f"early stopping on {s['on']} ({s['metric']}, patience {s['rounds']}): best "
            f"iteration {s['best_iteration']} (score {s['best_score']:.6g}) of "
            f"{s['rounds_trained']} trained; shipped {s['rounds_shipped']} rounds, "
            "margins of the cut model checked bit-equal"
        )
    e = metrics["events"]
    if e is None:
        lines.append("detector: no decision (the spec gives no threshold for this regression)")
        return lines
    dec = e["decision"]
    if dec.get("kind") == "multiclass":
        c = dec["positive_class"]
        what = f"runs of class {names[c] if names else c}"
    else:
        what = "labelled events (runs of label 1)"
    held = _duration(e["hours"] * 3600)
    if not e["labelled_events"]:
        lines.append(
            f"detector ({dec['consecutive']} in a row, refractory "
            f"{dec['refractory_samples']} samples): no {what} in the {held} of held-out "
            f"recordings; {e['false_events']} event(s) fired"
        )
        return lines
    lines.append(
        f"detector ({dec['consecutive']} in a row, refractory "
        f"{dec['refractory_samples']} samples): {e['detected']}/{e['labelled_events']} {what} "
        f"detected, {e['false_events']} false event(s) in {held} of held-out recordings"
    )
    return lines
