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
from codegen.trees.model_dir import FORMAT, META_FILE, METRICS_FILE, MODEL_FILE, model_identity
from featgen.harness import load_numpy_module
from featurespec.errors import OutputError
from featurespec.schema import DecisionDef, Spec

from . import safe_io  # called as safe_io.X: the crash tests replace its functions
from .data import Recording

OBJECTIVES = objectives.TRAINABLE       # codegen/trees/objectives.py
# Set by featgen's own options, not by --param: the objective and num_class follow --objective
# and the labels, the rounds --rounds, early stopping --early-stopping-rounds; a booster other
# than gbtree cannot be compiled exactly (xgboost_json refuses it with the reason).
RESERVED_PARAMS = {"objective": "--objective", "num_class": "the labels (--objective multi:*)",
                   "num_boost_round": "--rounds", "n_estimators": "--rounds",
                   "early_stopping_rounds": "--early-stopping-rounds"}
EVENT_SLACK_S = 1.0     # metric tolerance: an event up to 1 s after a labelled event detects it


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
    nthread: int = 1                # reproducible: same data, same model bytes
    extra: dict = dataclasses.field(default_factory=dict)   # --param / --params
    early_stopping_rounds: int | None = None    # on the held-out groups


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
    return (X, np.concatenate(ys).astype(np.int64), np.array(groups, dtype=object),
            np.concatenate(recs), np.concatenate(ends), dropped)


def split_groups(groups: np.ndarray, fraction: float, seed: int) -> tuple[list, list]:
    unique = sorted(set(groups.tolist()))
    if len(unique) < 2:
        raise TrainError(f"need at least 2 groups to hold some out for testing, got "
                         f"{len(unique)} ({unique[:3]}); give recordings of several subjects "
                         "(--group-column) or several recordings without a group column")
    order = np.random.default_rng(seed).permutation(len(unique))
    n_test = min(max(1, math.ceil(fraction * len(unique))), len(unique) - 1)
    test = sorted(unique[i] for i in order[:n_test])
    train = sorted(unique[i] for i in order[n_test:])
    return train, test


def train(spec: Spec, recordings: dict[str, Recording], out: Path, params: Params,
          label_column: str = "label", group_column: str | None = "subject") -> dict:
    """Train, evaluate on held-out groups, write the model directory; returns the metrics."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    check_params(params)
    X, y, groups, rec_index, ends, dropped = featurize(spec, recordings)
    if X.shape[0] == 0:
        raise TrainError("the recordings produced no feature vectors (each needs at least "
                         f"{spec.max_length} samples)")
    classes, n_class = check_labels(params, y)
    train_groups, test_groups = split_groups(groups, params.test_fraction, params.seed)
    is_test = np.isin(groups, test_groups)
    check_training_classes(params, y[~is_test], n_class, train_groups)
    xgb_params = xgb_params_of(params, n_class)
    dtrain = xgboost.DMatrix(X[~is_test], label=y[~is_test], missing=np.nan)
    booster, stopping = fit(xgb_params, dtrain, X[is_test], y[is_test], params)

    raw, forest, decision = save_model(spec, booster, Path(out), params)
    margins = np.asarray(booster.inplace_predict(X[is_test], predict_type="margin"),
                         dtype=np.float32).reshape(int(is_test.sum()), -1)
    metrics = evaluate(decision, y[is_test], margins, n_class, params.objective)
    metrics["events"] = (event_metrics(decision, spec, recordings, X, y, rec_index, ends,
                                       is_test, booster) if decision.kind != "none" else None)
    if stopping is not None:
        metrics["early_stopping"] = stopping
    metrics["data"] = data_summary(len(recordings), y, is_test, train_groups, test_groups,
                                   classes, dropped)
    if stopping is not None:
        xgb_params = dict(xgb_params, early_stopping_rounds=params.early_stopping_rounds,
                          best_iteration=stopping["best_iteration"])
    write_meta(spec, Path(out), params, xgb_params, raw, forest, n_class, test_groups,
               label_column, group_column, metrics)
    return metrics


def check_params(params: Params) -> None:
    """Refuse parameters XGBoost would take and train garbage with (the CLI's option types
    refuse them first; this guards the Python API)."""
    if params.objective not in OBJECTIVES:
        raise TrainError(f"objective {params.objective!r}: use one of {', '.join(OBJECTIVES)}")
    checks = [("rounds", params.rounds, isinstance(params.rounds, int) and params.rounds >= 1,
               "a whole number >= 1"),
              ("max_depth", params.max_depth, isinstance(params.max_depth, int)
               and 1 <= params.max_depth <= 64, "a whole number from 1 to 64"),
              ("eta", params.eta, math.isfinite(params.eta) and 0 < params.eta <= 1,
               "a number in (0, 1]"),
              ("test_fraction", params.test_fraction, math.isfinite(params.test_fraction)
               and 0 <= params.test_fraction < 1, "a number in [0, 1)")]
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
            raise TrainError(f"{params.objective} needs labels 0 and 1, got {classes[:10]}; use "
                             "--objective multi:softprob for classes")
        if len(classes) < 2:
            raise TrainError(f"{where}: every feature vector has label {classes[0]}; a binary "
                             "model needs both 0 and 1 (trained on one class it would "
                             f"{'never' if classes[0] == 0 else 'always'} fire)")
        return classes, 2
    if kind == "regression":
        return classes, 0
    n_class = max(classes) + 1
    if len(classes) < 2:
        raise TrainError(f"{where}: every feature vector has label {classes[0]}; "
                         "multi:softprob needs at least 2 classes")
    missing = sorted(set(range(n_class)) - set(classes))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise TrainError(f"{where}: classes are 0 .. {n_class - 1} (the largest label is "
                         f"{n_class - 1}) but class(es) {shown} never occur; number the classes "
                         f"0 .. K-1 (the labels seen: {', '.join(map(str, classes[:10]))})")
    return classes, n_class


def check_training_classes(params: Params, y_train: np.ndarray, n_class: int,
                           train_groups: list) -> None:
    """The training side of the split must hold two classes at least: the held-out groups may
    have taken every example of the other."""
    seen = sorted(set(np.asarray(y_train).tolist()))
    if len(seen) < 2:
        raise TrainError(f"after holding out groups for testing, the {len(train_groups)} "
                         f"training group(s) ({', '.join(map(str, train_groups[:5]))}) hold only "
                         f"class {seen[0] if seen else '(none)'}; give more groups with both "
                         "classes, or lower --test-fraction")


def xgb_params_of(params: Params, n_class: int) -> dict:
    xgb_params = {"objective": params.objective, "max_depth": params.max_depth,
                  "eta": params.eta, "seed": params.seed, "nthread": params.nthread,
                  "min_child_weight": params.min_child_weight, "subsample": params.subsample,
                  "tree_method": "hist"}
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
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
            raise TrainError(f"{where}: not YAML/JSON ({getattr(exc, 'problem', exc)})") \
                from None
        if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
            raise TrainError(f"{path}: expected a mapping of XGBoost parameters, like "
                             "{max_depth: 6, subsample: 0.8}")
        for key, value in doc.items():
            if key == "monotone_constraints" and isinstance(value, list):
                value = "(" + ",".join(str(v) for v in value) + ")"     # XGBoost's syntax
            elif key == "interaction_constraints" and isinstance(value, list):
                value = json.dumps(value)
            elif isinstance(value, (dict, list)):
                raise TrainError(f"{path}: {key}: expected a single value, got "
                                 f"{type(value).__name__}")
            out[key] = value
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TrainError(f"--param {pair!r}: expected key=value, like max_depth=6")
        out[key.strip()] = value.strip()
    return out


def fit(xgb_params: dict, dtrain, X_test: np.ndarray, y_test: np.ndarray, params: Params):
    """(booster, early-stopping report or None). XGBoost's unknown-parameter warning and its
    errors for bad values become TrainError (exit 2). With early stopping the model is cut at
    the best iteration (``booster[:best + 1]``) and checked: its margins on the held-out
    vectors equal the full booster's ``iteration_range=(0, best + 1)`` bit for bit."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    evals, rounds = (), params.rounds
    if params.early_stopping_rounds is not None:
        if len(y_test) == 0:
            raise TrainError("--early-stopping-rounds needs held-out vectors")
        evals = [(xgboost.DMatrix(X_test, label=y_test, missing=np.nan), "held_out")]
    history: dict = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            booster = xgboost.train(xgb_params, dtrain, num_boost_round=rounds, evals=evals,
                                    early_stopping_rounds=params.early_stopping_rounds,
                                    evals_result=history, verbose_eval=False)
    except xgboost.core.XGBoostError as exc:
        raise TrainError(f"XGBoost refused the parameters: {_first_line(exc)}") from None
    unused = [str(w.message) for w in caught if "are not used" in str(w.message)]
    if unused:
        raise TrainError("XGBoost does not use these parameters (misspelt, or not for this "
                         f"booster/objective): {' '.join(unused[0].split())}")
    if params.early_stopping_rounds is None:
        return booster, None
    best = int(booster.best_iteration)
    full_rounds = booster.num_boosted_rounds()
    cut = booster[: best + 1]
    want = booster.inplace_predict(X_test, predict_type="margin", iteration_range=(0, best + 1))
    got = cut.inplace_predict(X_test, predict_type="margin")
    if not np.array_equal(np.asarray(want, np.float32).view(np.uint32),
                          np.asarray(got, np.float32).view(np.uint32)):
        raise TrainError("the model cut at the best iteration does not reproduce XGBoost's "
                         "margins; please report this")
    metric = list(history.get("held_out", {"?": None}))[-1]   # the one early stopping used
    return cut, {"rounds": params.early_stopping_rounds, "on": "the held-out groups",
                 "best_iteration": best, "best_score": float(booster.best_score),
                 "metric": str(metric), "rounds_trained": full_rounds,
                 "rounds_shipped": cut.num_boosted_rounds(),
                 "cut_margins_bit_equal": True}


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
    except xgboost_json.ModelError as exc:      # e.g. --param booster=dart
        raise TrainError(f"{exc} (check --param/--params)") from None
    return raw, forest, decisions.resolve(decision_def, forest)


def data_summary(n_recordings: int, y: np.ndarray, is_test: np.ndarray, train_groups: list,
                 test_groups: list, classes: list, dropped: int) -> dict:
    return {
        "recordings": n_recordings, "vectors": int(len(y)),
        "train_vectors": int((~is_test).sum()), "test_vectors": int(is_test.sum()),
        "train_groups": [str(g) for g in train_groups],
        "test_groups": [str(g) for g in test_groups],
        "positive_fraction": {str(c): float((y == c).mean()) for c in classes},
        "dropped_nonfinite_samples": dropped,
    }


def forest_rounds(forest) -> int:
    """Boosting rounds in the forest (trees per output)."""
    return len(forest.trees) // max(1, forest.n_outputs)


def write_meta(spec: Spec, out: Path, params: Params, xgb_params: dict, raw: bytes, forest,
               n_class: int, test_groups: list, label_column: str, group_column: str | None,
               metrics: dict) -> None:
    """OUT/featgen_model.json (what the model was trained on) and OUT/metrics.json."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    meta = {
        **model_identity(spec, raw),
        "objective": params.objective,
        "n_classes": n_class,
        "label_column": label_column,
        "group_column": group_column,
        "split": {"by": "group", "test_fraction": params.test_fraction, "seed": params.seed,
                  "test_groups": [str(g) for g in test_groups]},
        "params": {**xgb_params, "num_boost_round": params.rounds,
                   "shipped_rounds": forest_rounds(forest)},
        "xgboost_version": xgboost.__version__,
        "base_margin": [fp32.hex32(v) for v in forest.base_margin],
        "feature_names": list(spec.feature_names),
    }
    write_model_directory(out, {MODEL_FILE: raw,
                                META_FILE: (json.dumps(meta, indent=2) + "\n").encode(),
                                METRICS_FILE: (json.dumps(metrics, indent=2) + "\n").encode()})


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
        return (f"refusing to replace {out}/: it is not a featgen model directory (no valid "
                f"{META_FILE}) and holds {out / entries[0]}; give a new or empty folder")
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
    kept = sorted(p.name for p in out.iterdir() if p.name not in files) if out.is_dir() else []

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
    return kept


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
    while i < len(s):                     # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(decision: decisions.Decision, y: np.ndarray, margins: np.ndarray,
             n_class: int, objective: str | None = None) -> dict:
    """Vector-level metrics on held-out data, with the decision rule the phones use."""
    spec = objectives.objective(objective or ("multi:softprob" if decision.kind == "multiclass"
                                              else "binary:logistic"))
    if spec.kind == "regression":
        value = fp32.transformed(margins[:, 0], spec.transform).astype(np.float64)
        err = value - np.asarray(y, dtype=np.float64)
        out = {"objective": spec.name, "vectors": int(len(y)),
               "rmse": float(np.sqrt(np.mean(err ** 2))) if len(y) else None,
               "mae": float(np.mean(np.abs(err))) if len(y) else None,
               "mean_label": float(np.mean(y)) if len(y) else None,
               "mean_prediction": float(np.mean(value)) if len(y) else None}
        if decision.kind == "binary":
            out.update(threshold=decision.threshold,
                       margin_threshold=fp32.hex32(decision.margin_threshold),
                       positive_vectors=int(decisions.positive(decision, margins).sum()))
        return out
    if decision.kind == "binary":
        # AUC on the probability for the logistic objective (as before), on the margin
        # otherwise (the same order: every transform is non-decreasing).
        prob = (fp32.sigmoid(margins[:, 0]) if spec.transform == "sigmoid"
                else margins[:, 0].astype(np.float32))
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
            "confusion_matrix": {"labels": [0, 1],
                                 "rows_true_cols_predicted": [[tn, fp], [fn, tp]]},
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
        per_class[str(c)] = {"precision": precision, "recall": recall, "f1": f1,
                             "support": row,
                             "roc_auc": roc_auc(y == c, prob[:, c].astype(np.float64))}
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
        "confusion_matrix": {"labels": list(range(n_class)),
                             "rows_true_cols_predicted": matrix.tolist()},
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
        margins = np.asarray(booster.inplace_predict(X[rows], predict_type="margin"),
                             dtype=np.float32).reshape(int(rows.sum()), -1)
        finite = np.isfinite(rec.samples).all(axis=1)
        ordinals = np.cumsum(finite)[ends[rows]] - 1
        _, fired = decisions.events(decision, decisions.positive(decision, margins), ordinals)
        event_rows = ends[rows][fired]
        lab = rec.labels == positive_label
        starts = np.flatnonzero(lab & ~np.r_[False, lab[:-1]])
        stops = np.flatnonzero(lab & ~np.r_[lab[1:], False])
        covered = np.zeros(len(lab), dtype=bool)
        for a, b in zip(starts, stops):
            covered[a:min(b + slack + 1, len(lab))] = True
            labelled += 1
            detected += bool(((event_rows >= a) & (event_rows <= b + slack)).any())
        false_events += int((~covered[event_rows]).sum())
        samples += len(lab)
    hours = samples / spec.sample_rate_hz / 3600
    return {"labelled_events": labelled, "detected": detected,
            "detection_rate": detected / labelled if labelled else None,
            "false_events": false_events, "hours": hours,
            "false_events_per_hour": false_events / hours if hours else None,
            "slack_seconds": EVENT_SLACK_S,
            "decision": decision.to_json()}


def summary_lines(metrics: dict) -> list[str]:
    def pct(v):
        return "n/a" if v is None else f"{100 * v:.1f}%"

    def num(v):
        return "n/a" if v is None else f"{v:.4f}"

    d = metrics["data"]
    lines = [f"{d['recordings']} recordings, {d['vectors']} vectors: train {d['train_vectors']} "
             f"(groups {', '.join(d['train_groups'])}), test {d['test_vectors']} "
             f"(groups {', '.join(d['test_groups'])})"]
    kind = objectives.objective(metrics["objective"]).kind
    if kind == "regression":
        lines.append(f"held out ({metrics['objective']}): RMSE {num(metrics['rmse'])}, MAE "
                     f"{num(metrics['mae'])}; mean label {num(metrics['mean_label'])}, mean "
                     f"prediction {num(metrics['mean_prediction'])}")
        if "threshold" in metrics:
            lines.append(f"decision: value >= {metrics['threshold']} (margin >= "
                         f"{metrics['margin_threshold']}): {metrics['positive_vectors']} "
                         "positive vectors")
    elif kind == "binary":
        (tn, fp), (fn, tp) = metrics["confusion_matrix"]["rows_true_cols_predicted"]
        lines += [f"held out: ROC AUC {num(metrics['roc_auc'])}; at threshold "
                  f"{metrics['threshold']} (margin >= {metrics['margin_threshold']}): precision "
                  f"{pct(metrics['precision'])}, recall {pct(metrics['recall'])}",
                  f"confusion (true x predicted): [[{tn}, {fp}], [{fn}, {tp}]]"]
    else:
        f1 = ", ".join(f"{c} {num(v['f1'])}" for c, v in metrics["per_class"].items())
        lines += [f"held out: accuracy {pct(metrics['accuracy'])}, macro F1 "
                  f"{num(metrics['macro_f1'])}, macro one-vs-rest ROC AUC "
                  f"{num(metrics['roc_auc_macro_ovr'])}",
                  f"F1 per class: {f1}",
                  "confusion (true x predicted): "
                  f"{metrics['confusion_matrix']['rows_true_cols_predicted']}"]
    s = metrics.get("early_stopping")
    if s is not None:
        lines.append(f"early stopping on {s['on']} ({s['metric']}, patience {s['rounds']}): best "
                     f"iteration {s['best_iteration']} (score {s['best_score']:.6g}) of "
                     f"{s['rounds_trained']} trained; shipped {s['rounds_shipped']} rounds, "
                     "margins of the cut model checked bit-equal")
    e = metrics["events"]
    if e is None:
        lines.append("detector: no decision (the spec gives no threshold for this regression)")
        return lines
    lines.append(f"detector ({e['decision']['consecutive']} in a row, refractory "
                 f"{e['decision']['refractory_samples']} samples): {e['detected']}/{e['labelled_events']}"
                 f" labelled events detected, {e['false_events']} false events in {e['hours']:.2f} h")
    return lines
