"""The model directory that ``featgen train`` writes and a spec's ``model: {path: ...}`` names.

    model.json          the XGBoost model (``booster.save_model``): the source of truth; for a
                        LightGBM or scikit-learn model, featgen's forest file (forest_json.py:
                        the trees and the library's prediction rule, exact hex floats)
    featgen_model.json  what it was trained on: spec name and hashes, the feature order (and its
                        sha256), objective, classes, label/group columns, split, parameters
    metrics.json        held-out metrics (informative; the build does not read it)

A model imported with ``featgen import-model`` (featgen/import_model.py) has the same files (its
metrics.json says there is no held-out data) and a ``provenance`` entry in featgen_model.json: the
source file and its sha256, its format, the XGBoost versions, and the parameters the model file
records.

featgen train writes the directory as a whole (beside it, then renamed). The build refuses a
model.json whose sha256 is not featgen_model.json's ``model_sha256`` (two runs mixed, or an
edit), and a model whose feature order or feature definitions (``features_hash``: the
spec without its model:/decision: blocks) differ from the spec's: the model would read numbers
that mean something else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurespec.errors import Problem, SpecError
from featurespec.schema import Spec

from . import forest_json, xgboost_json
from .ir import Forest

MODEL_FILE = "model.json"
META_FILE = "featgen_model.json"
METRICS_FILE = "metrics.json"
LIGHTGBM_SOURCE_FILE = "lightgbm_model.txt"  # featgen import-model: the text model, kept beside
FORMAT = "featgen-model/1"


def feature_order_hash(names: Iterable[str]) -> str:
    """sha256 of the feature names in vector order, one per line."""
    return hashlib.sha256("".join(f"{n}\n" for n in names).encode()).hexdigest()


def model_identity(spec: Spec, model_json: bytes) -> dict[str, Any]:
    """The first keys of featgen_model.json, whoever writes it (train, import-model): which
    spec, features and model bytes it belongs to. load_bundle checks each against the spec."""
    return {
        "format": FORMAT,
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash,
        "features_hash": spec.features_hash,
        "feature_order_sha256": feature_order_hash(spec.feature_names),
        "model_sha256": hashlib.sha256(model_json).hexdigest(),
    }


@dataclass(frozen=True)
class Bundle:
    directory: Path
    forest: Forest
    model_sha256: str
    meta: dict[str, Any]
    raw: bytes  # model.json as stored


def load_bundle(spec: Spec) -> Bundle:
    """The spec's model, checked against the spec; SpecError located at ``model.path``."""
    model = spec.model
    if model is None:
        raise ValueError(f"spec {spec.name} has no model: block (nothing to load)")

    def fail(message: str) -> SpecError:
        return SpecError([Problem.at(model.loc, message)])

    directory = Path(model.directory)
    if not directory.is_dir():
        raise fail(
            f"no model directory {str(directory)!r}; train one with `featgen train "
            f"{Path(spec.source).name} DATA... -o {directory}`"
        )
    for name in (MODEL_FILE, META_FILE):
        if not (directory / name).is_file():
            raise fail(
                f"{str(directory / name)!r} is missing; a model directory holds "
                f"{MODEL_FILE} and {META_FILE} (written by featgen train)"
            )
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{str(directory / META_FILE)!r} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise fail(
            f"{str(directory / META_FILE)!r} is not a featgen model description (format {FORMAT!r})"
        )
    names = tuple(meta.get("feature_names", ()))
    if names != spec.feature_names:
        first = next(
            (i for i, (a, b) in enumerate(zip(names, spec.feature_names)) if a != b),
            min(len(names), len(spec.feature_names)),
        )
        theirs = names[first] if first < len(names) else "(end)"
        ours = spec.feature_names[first] if first < len(spec.feature_names) else "(end)"
        raise fail(
            f"the model was trained on a different feature vector ({len(names)} "
            f"features, this spec has {len(spec.feature_names)}; first difference at "
            f"column {first}: model {theirs!r}, spec {ours!r}); retrain with featgen train"
        )
    if meta.get("features_hash") != spec.features_hash:
        raise fail(
            f"the model was trained on features defined differently (features hash "
            f"{str(meta.get('features_hash'))[:12]}, this spec {spec.features_hash[:12]});"
            " retrain with featgen train"
        )
    raw = (directory / MODEL_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if meta.get("model_sha256") != digest:
        raise fail(
            f"{str(directory / MODEL_FILE)!r} (sha256 {digest[:12]}) is not the model "
            f"{str(directory / META_FILE)!r} describes (model_sha256 "
            f"{str(meta.get('model_sha256'))[:12]}): a model directory mixed from two "
            "runs, or an edited model; retrain with featgen train"
        )
    try:
        if forest_json.is_forest_json(raw):
            forest = forest_json.loads(raw, where=str(directory / MODEL_FILE))
        else:
            forest = xgboost_json.forest_of(raw, where=str(directory / MODEL_FILE))
    except xgboost_json.ModelError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(
            f"{str(directory / MODEL_FILE)!r} is not an XGBoost JSON model ({exc})"
        ) from None
    if forest.n_features != len(spec.feature_names):
        raise fail(
            f"the model reads {forest.n_features} features, the spec computes "
            f"{len(spec.feature_names)}"
        )
    return Bundle(directory, forest, digest, meta, raw)
