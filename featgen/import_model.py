"""``featgen import-model``: an XGBoost or LightGBM model trained anywhere (a notebook, SageMaker)
-> the model directory ``featgen train`` writes, so ``featgen build`` ships it exactly; and
:func:`from_sklearn`, the same for a fitted scikit-learn ensemble in a notebook (scikit-learn
models are usually pickles, which featgen never loads).

* A LightGBM text model (``booster.save_model('model.txt')``, first line ``tree``) is read by
  codegen/trees/lightgbm_text.py, cross-checked against Treelite's LightGBM frontend and
  verified bit for bit against ``lightgbm.Booster.predict(raw_score=True)`` on probe rows; the
  model directory's model.json is then featgen's forest file (codegen/trees/forest_json.py) and
  the text model is kept beside it as ``lightgbm_model.txt``.

* The format is read from the content, never the file name: XGBoost JSON, UBJSON, XGBoost's
  legacy binary format (converted to JSON through Treelite's reader: codegen/trees/
  xgboost_legacy.py, since the installed XGBoost 3.x no longer reads it), a gzipped or plain tar
  (a SageMaker ``model.tar.gz``) holding ``xgboost-model``. A pickle (SageMaker's 1.0-1/1.2-1
  containers) is refused: unpickling runs code from the file.
* The tar member is read in memory, never extracted: no path reaches the file system; its size
  is bounded (MAX_MODEL_BYTES), links and devices are refused.
* The feature order is checked against the spec: by the booster's ``feature_names``, otherwise
  by ``--feature-names`` (one name per line, or the featurize output CSV/NPZ the model was
  trained on); never positionally. The first differing column is named.
* The model is stored as XGBoost's own JSON (``save_raw("json")``, float32 values printed
  exactly), and verified: the JSON reloaded, the tree IR and the source booster give the same
  margins bit for bit on probe rows at every threshold.
* Provenance (featgen_model.json ``provenance``): source path, sha256 and format, the XGBoost
  version that saved it (JSON) and the one that imported it, and the parameters the model file
  holds (objective and its parameters, base_score, num_class, attributes such as
  best_iteration). XGBoost's model file does not keep the tree-growth hyperparameters (max_depth,
  eta, subsample...): ``save_config()`` of a loaded booster reports XGBoost's defaults for them
  (measured), so they are recorded only from ``--config FILE``, the ``booster.save_config()``
  output saved where the model was trained.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib
import io
import json
import math
import os
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.trees import (
    forest_json,
    fp32,
    lightgbm_text,
    sklearn_trees,
    xgboost_json,
    xgboost_legacy,
)
from codegen.trees.ir import ZERO_THRESHOLD, Forest
from codegen.trees.model_dir import (
    LIGHTGBM_SOURCE_FILE,
    META_FILE,
    METRICS_FILE,
    MODEL_FILE,
    model_identity,
)
from featurespec import load_spec
from featurespec.schema import Spec

from .data import DataError
from .train import write_model_directory

MAX_MODEL_BYTES = 1 << 30  # 1 GiB: a 2000-tree depth-12 JSON model is ~100 MB
MAX_TAR_MEMBERS = 10_000
SAGEMAKER_MEMBER = "xgboost-model"

CONVERT = (
    "load it with the XGBoost that wrote it, in a trusted environment, and save it as "
    "JSON: `booster.save_model('model.json')`"
)


class ImportModelError(DataError):
    """A model file featgen cannot import; the message names the file and the reason."""


@dataclass(frozen=True)
class Source:
    path: str
    sha256: str  # of the file as given (the tar for a SageMaker artifact)
    format: str  # json | ubjson, with "in tar member ..." for an artifact
    raw: bytes  # the XGBoost model bytes (JSON or UBJSON)
    where: str  # for messages: the path, with the tar member


# ---------------------------------------------------------------- reading the file


def read_source(path: str | Path) -> Source:
    """The XGBoost model in ``path``, whatever its container; ImportModelError otherwise."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_MODEL_BYTES + 1)
    except OSError as exc:
        raise ImportModelError(f"{path}: cannot read the model ({exc.strerror or exc})") from None
    if len(data) > MAX_MODEL_BYTES:
        raise ImportModelError(
            f"{path}: larger than {MAX_MODEL_BYTES >> 20} MiB; not a model featgen imports"
        )
    sha = hashlib.sha256(data).hexdigest()
    where = str(path)
    container = ""
    if data[:2] == b"\x1f\x8b" or _is_tar(data):
        data, member = _sagemaker_member(data, where)
        container = f" (tar member {member!r})"
        where = f"{path}:{member}"
    kind = sniff(data, where)
    return Source(str(path), sha, kind + container, data, where)


def _is_tar(data: bytes) -> bool:
    return len(data) >= 262 and data[257:262] == b"ustar"


def _sagemaker_member(data: bytes, where: str) -> tuple[bytes, str]:
    """The ``xgboost-model`` member of a (gzipped) tar, read in memory with bounded size."""
    if data[:2] == b"\x1f\x8b" and not _gzip_holds_tar(data):
        try:  # a gzipped model file, not a tar
            return _bounded_gunzip(data, where), "(gzip)"
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportModelError(f"{where}: a corrupt gzip file ({exc})") from None
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ImportModelError(f"{where}: not a readable tar/gzip archive ({exc})") from None
    found, names = [], []
    with archive:
        try:
            for k, member in enumerate(archive):
                if k >= MAX_TAR_MEMBERS:
                    raise ImportModelError(
                        f"{where}: more than {MAX_TAR_MEMBERS} archive "
                        "members; not a SageMaker model artifact"
                    )
                names.append(member.name)
                parts = [p for p in member.name.replace("\\", "/").split("/") if p not in ("", ".")]
                if parts == [SAGEMAKER_MEMBER]:
                    found.append(member)
            if len(found) != 1:
                shown = ", ".join(repr(n) for n in names[:8]) + (" ..." if len(names) > 8 else "")
                what = "no" if not found else "more than one"
                raise ImportModelError(
                    f"{where}: {what} {SAGEMAKER_MEMBER!r} at the top of the "
                    f"archive (members: {shown or 'none'}); a SageMaker "
                    f"model artifact holds the model as {SAGEMAKER_MEMBER}"
                )
            member = found[0]
            if not member.isfile():
                raise ImportModelError(
                    f"{where}: {member.name!r} is a link or special file, "
                    "not a regular file; refused"
                )
            if member.size > MAX_MODEL_BYTES:
                raise ImportModelError(
                    f"{where}: {member.name!r} is {member.size} bytes, more "
                    f"than {MAX_MODEL_BYTES >> 20} MiB"
                )
            handle = archive.extractfile(member)
            content = handle.read(MAX_MODEL_BYTES + 1) if handle is not None else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ImportModelError(f"{where}: a corrupt archive ({exc})") from None
    return content, member.name


def _gzip_holds_tar(data: bytes) -> bool:
    try:
        head = gzip.GzipFile(fileobj=io.BytesIO(data)).read(512)
    except (OSError, EOFError):
        return True  # let tarfile report the corruption
    return _is_tar(head + b"\0" * max(0, 262 - len(head)))


def _bounded_gunzip(data: bytes, where: str) -> bytes:
    out = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_MODEL_BYTES + 1)
    if len(out) > MAX_MODEL_BYTES:
        raise ImportModelError(f"{where}: decompresses to more than {MAX_MODEL_BYTES >> 20} MiB")
    return out


LEGACY_NAMES = (b"gbtree", b"gblinear", b"dart")


def sniff(data: bytes, where: str) -> str:
    """``json``, ``ubjson`` or ``legacy binary``; ImportModelError naming what the bytes are
    otherwise."""
    if not data:
        raise ImportModelError(f"{where}: the file is empty")
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ImportModelError(
            f"{where}: a Python pickle (SageMaker's XGBoost containers 1.0-1 and 1.2-1 pickle "
            "the booster). featgen does not unpickle it: loading a pickle runs whatever code "
            f"the file names, so an untrusted file could take over this machine. To convert: "
            f"{CONVERT.replace('load it', 'unpickle it (pickle.load)')}, then import that file. "
            "A scikit-learn model: unpickle it in your notebook, where you trust it, and call "
            "featgen.import_model.from_sklearn(model, spec=..., out=...)"
        )
    stripped = data.lstrip()
    if data[:5] in (b"tree\n", b"tree\r"):
        return "lightgbm text"
    if stripped[:1] == b"{":
        try:
            json.loads(stripped)
            return "json"
        except (ValueError, UnicodeDecodeError):
            pass
        if len(stripped) > 1 and stripped[1:2] in b"iUIlLdDSHTFZ[{}#$":
            return "ubjson"
        raise ImportModelError(
            f"{where}: starts like JSON but is not valid JSON (truncated or corrupt?)"
        )
    head = data[:512]
    if head[:4] == b"binf" or any(name in head for name in LEGACY_NAMES):
        return "legacy binary"
    raise ImportModelError(
        f"{where}: not an XGBoost model (neither JSON, UBJSON, a SageMaker "
        "model.tar.gz, a pickle nor the legacy binary format)"
    )


# ---------------------------------------------------------------- feature names


def names_from_file(path: str | Path) -> tuple[str, ...]:
    """Feature names from ``--feature-names``: a featurize output (.csv header, .npz
    ``feature_names``) or a text file with one name per line."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "feature_names" not in z.files:
                    raise ImportModelError(
                        f"{path}: no 'feature_names' array (featgen "
                        "featurize -o FILE.npz writes one)"
                    )
                return tuple(str(n) for n in z["feature_names"].tolist())
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ImportModelError(f"{path}: cannot read feature names ({exc})") from None
    if path.suffix.lower() == ".csv":
        try:
            header = next(csv.reader(io.StringIO(text)), [])
        except csv.Error as exc:  # a field over csv's size limit, a NUL byte
            raise ImportModelError(f"{path}:1: not a CSV header ({exc})") from None
        if header[:2] == ["recording", "end_sample"]:  # featgen featurize's columns
            header = header[2:]
        names = tuple(header)
    else:
        names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:  # else the model "has no feature names: give --feature-names", once given
        raise ImportModelError(f"--feature-names {path}: lists no feature names (an empty file?)")
    return names


def check_feature_order(
    model_names: tuple[str, ...], spec_names: tuple[str, ...], source: str
) -> None:
    """Same names in the same order, or an ImportModelError naming the first difference."""
    if tuple(model_names) == tuple(spec_names):
        return
    for i in range(max(len(model_names), len(spec_names))):
        expected = spec_names[i] if i < len(spec_names) else "(none: the spec ends)"
        got = model_names[i] if i < len(model_names) else "(none: the model's list ends)"
        if expected != got:
            break
    raise ImportModelError(
        f"{source}: the feature order does not match the spec ({len(model_names)} features, the "
        f"spec computes {len(spec_names)}): first difference at column {i}: expected "
        f"{expected!r}, got {got!r}. Train on the spec's features in its order (featgen "
        "featurize writes them), or fix the names list"
    )


# ---------------------------------------------------------------- provenance


def flatten(section: dict, prefix: str = "") -> dict:
    """Nested parameter sections -> {"a.b": value} (XGBoost keeps the values as strings)."""
    out: dict = {}
    for key, value in section.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            out[f"{prefix}{key}"] = value
    return out


def model_parameters(doc: dict) -> dict:
    """What the model file itself records: the objective and its parameters, the learner's
    model parameters (base_score, num_class, num_feature, ...)."""
    learner = doc.get("learner", {})
    return dict(
        sorted(
            {
                **flatten(learner.get("objective", {}), "objective."),
                **flatten(learner.get("learner_model_param", {})),
            }.items()
        )
    )


def training_config(path: str | Path, objective: str) -> dict:
    """``--config``: the ``booster.save_config()`` JSON saved at training time, flattened; it
    must name the model's objective."""
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
        name = config["learner"]["objective"]["name"]
    except OSError as exc:
        raise ImportModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError):
        raise ImportModelError(
            f"{path}: not the JSON of booster.save_config() (no learner.objective.name)"
        ) from None
    if name != objective:
        raise ImportModelError(
            f"{path}: a config for objective {name!r}, the model's is "
            f"{objective!r}: not this model's training config"
        )
    return dict(sorted(flatten(config["learner"]).items()))


def saved_by(source: Source) -> list[int] | None:
    """The XGBoost version recorded in a JSON model (``version``); None for UBJSON."""
    if source.format.split()[0] != "json":
        return None
    try:
        version = json.loads(source.raw).get("version")
    except (ValueError, AttributeError):
        return None
    return [int(v) for v in version] if isinstance(version, list) else None


# ---------------------------------------------------------------- verification


def boundary_values(forest: Forest, f: int, finite: bool = False) -> list[float]:
    """The values that decide feature ``f``'s splits: each threshold; its float32 neighbours
    (for a double threshold: the float32 values around it, since a float32-input rule rounds
    first) and its double neighbours; NaN, +-0, +-inf, the smallest subnormals (float32 and
    double), LightGBM's zero band edges (+-1e-35f and neighbours). ``finite``: no inf and
    nothing beyond the float32 range (scikit-learn's validation refuses them)."""
    values = [
        math.nan,
        0.0,
        -0.0,
        fp32.FLT_TRUE_MIN,
        -fp32.FLT_TRUE_MIN,
        5e-324,
        -5e-324,
        ZERO_THRESHOLD,
        -ZERO_THRESHOLD,
        float(np.nextafter(ZERO_THRESHOLD, 1.0)),
        float(np.nextafter(-ZERO_THRESHOLD, -1.0)),
        1.0,
        -1.0,
    ]
    if not finite:
        values += [math.inf, -math.inf, fp32.FLT_MAX * 2]
    for t in forest.thresholds().get(f, np.empty(0)).tolist():
        if not math.isfinite(t):
            continue
        t32 = float(np.float32(t)) if abs(t) <= fp32.FLT_MAX else math.copysign(fp32.FLT_MAX, t)
        values += [
            t,
            float(np.nextafter(t, -math.inf)),
            float(np.nextafter(t, math.inf)),
            t32,
            fp32.next_f32(t32, -1),
            fp32.next_f32(t32, 1),
        ]
    out = [v for v in values if not (finite and abs(v) > fp32.FLT_MAX)]
    return [v for v in out if not (finite and math.isinf(v))]


def probe_rows(
    forest: Forest, n: int = 2048, seed: int = 0, finite: bool = False, nan: bool = True
) -> np.ndarray:
    """Rows whose every feature is drawn from that feature's boundary values
    (:func:`boundary_values`): each split sees both sides of its threshold and the missing
    direction. ``nan=False`` leaves NaN out (for a library that refuses it)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, forest.n_features))
    for f in range(forest.n_features):
        values = [v for v in boundary_values(forest, f, finite) if nan or not math.isnan(v)]
        X[:, f] = rng.choice(np.array(values), n)
    return X


def verify(booster, json_raw: bytes, forest: Forest, where: str) -> int:
    """The imported JSON, the tree IR and the source booster: the same margins bit for bit on
    probe rows. Returns the number of rows checked; ImportModelError on any difference."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    X = probe_rows(forest)
    reloaded = xgboost.Booster()
    reloaded.load_model(bytearray(json_raw))
    ref = np.asarray(
        booster.inplace_predict(X, predict_type="margin", missing=np.nan), dtype=np.float32
    ).reshape(len(X), -1)
    again = np.asarray(
        reloaded.inplace_predict(X, predict_type="margin", missing=np.nan), dtype=np.float32
    ).reshape(len(X), -1)
    ours = forest.margins(X)
    for label, got in (("the re-saved JSON", again), ("featgen's reading", ours)):
        same = (ref.view(np.uint32) == got.view(np.uint32)).all(axis=1)
        if not same.all():
            raise ImportModelError(
                f"{where}: {label} of the model gives other margins than "
                f"XGBoost on {int((~same).sum())} of {len(X)} probe rows; "
                "refused (please report this model)"
            )
    return len(X)


# ---------------------------------------------------------------- the command


def import_model(
    model: str | Path,
    spec: Spec,
    out: str | Path,
    feature_names: str | Path | None = None,
    config: str | Path | None = None,
) -> dict:
    """Import MODEL for SPEC into the model directory OUT; returns featgen_model.json."""
    source = read_source(model)
    if source.format.startswith("lightgbm"):
        if config is not None:
            raise ImportModelError(
                f"{source.where}: --config is XGBoost's save_config(); a "
                "LightGBM text model records its parameters itself"
            )
        return import_lightgbm(source, spec, Path(out), feature_names)
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    where = source.where
    raw = source.raw
    if source.format.startswith("legacy binary"):
        try:
            raw = xgboost_legacy.to_json(raw, where)
        except xgboost_json.ModelError as exc:
            raise ImportModelError(
                f"{exc} (XGBoost's legacy binary format; if this persists, "
                f"{CONVERT} with xgboost < 3.1)"
            ) from None
    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgboost.core.XGBoostError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise ImportModelError(
            f"{where}: XGBoost cannot load this {source.format} model "
            f"(truncated or corrupt?): {first}"
        ) from None
    json_raw = bytes(booster.save_raw("json"))
    try:
        forest = xgboost_json.forest_of(json_raw, where=where)
    except xgboost_json.ModelError as exc:
        raise ImportModelError(str(exc)) from None

    names = tuple(booster.feature_names or ())
    named_by = "the booster's feature_names"
    if feature_names is not None:
        listed = names_from_file(feature_names)
        if names:
            check_feature_order(names, listed, f"{where} (feature_names vs {feature_names})")
        names, named_by = listed, str(feature_names)
    if not names:
        raise ImportModelError(
            f"{where}: the booster has no feature names, so its column order cannot be checked "
            "against the spec (featgen never matches columns by position). Give --feature-names "
            "FILE: the featurize output the model was trained on (.csv or .npz), or a text file "
            "with one name per line; or train with a DataFrame / DMatrix(feature_names=...)"
        )
    if len(names) != forest.n_features:
        raise ImportModelError(
            f"{where}: {named_by} lists {len(names)} features, the model reads {forest.n_features}"
        )
    check_feature_order(names, spec.feature_names, f"{where} ({named_by})")
    checked = verify(booster, json_raw, forest, where)

    hyper = training_config(config, forest.objective) if config is not None else None
    meta = {
        **model_identity(spec, json_raw),
        "objective": forest.objective,
        "n_classes": forest.n_classes,
        "label_column": None,
        "group_column": None,
        "split": None,
        "params": model_parameters(json.loads(json_raw)),
        "xgboost_version": xgboost.__version__,
        "base_margin": [fp32.hex32(v) for v in forest.base_margin],
        "feature_names": list(spec.feature_names),
        "provenance": {
            "imported_by": "featgen import-model",
            "source": source.path,
            "source_sha256": source.sha256,
            "source_format": source.format,
            "saved_by_xgboost": saved_by(source),
            "imported_with_xgboost": xgboost.__version__,
            "feature_names_from": named_by,
            "num_boosted_rounds": booster.num_boosted_rounds(),
            "attributes": booster.attributes(),
            "verified_probe_rows": checked,
            "training_config": hyper,
            "training_config_from": (
                str(config)
                if config is not None
                else "not given: XGBoost's model file does not keep the "
                "training hyperparameters (give --config FILE, the "
                "booster.save_config() JSON saved at training time)"
            ),
        },
    }
    metrics = {
        "imported": True,
        "note": "featgen import-model: no held-out data, no metrics; "
        "see featgen_model.json provenance",
    }
    write_model_directory(
        Path(out),
        {
            MODEL_FILE: json_raw,
            META_FILE: (json.dumps(meta, indent=2) + "\n").encode(),
            METRICS_FILE: (json.dumps(metrics, indent=2) + "\n").encode(),
        },
    )
    return meta


# ---------------------------------------------------------------- LightGBM and scikit-learn


def require(module: str, extra: str):
    """Import an optional library or say how to install it (an ImportModelError: exit 2)."""

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportModelError(
            f"this needs {module}, an optional dependency: pip install "
            f"'featgen[{extra}]' (or pip install {extra})"
        ) from None


def _check_names(
    names: tuple[str, ...],
    forest: Forest,
    spec: Spec,
    where: str,
    feature_names,
    default_names: bool,
    named_by: str,
) -> str:
    """The feature order check shared by LightGBM and scikit-learn imports: the model's own
    names (unless they are the library's positional defaults), or ``feature_names``."""
    if feature_names is not None:
        listed = (
            names_from_file(feature_names)
            if isinstance(feature_names, (str, Path))
            else tuple(str(n) for n in feature_names)
        )
        if names and not default_names:
            check_feature_order(names, listed, f"{where} ({named_by} vs the names given)")
        names, named_by = (
            listed,
            (str(feature_names) if isinstance(feature_names, (str, Path)) else "feature_names="),
        )
    elif default_names:
        names = ()
    if not names:
        raise ImportModelError(
            f"{where}: the model has no feature names (only positional ones), so its column "
            "order cannot be checked against the spec (featgen never matches columns by "
            "position). Give the feature names: --feature-names FILE (the featurize output the "
            "model was trained on, or one name per line) / feature_names=..., or train on a "
            "DataFrame with the spec's column names"
        )
    if len(names) != forest.n_features:
        raise ImportModelError(
            f"{where}: {named_by} lists {len(names)} features, the model reads {forest.n_features}"
        )
    check_feature_order(names, spec.feature_names, f"{where} ({named_by})")
    return named_by


def _bits_equal(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Per row: every output has the same bits (float64)."""
    a = np.ascontiguousarray(ref, dtype=np.float64)
    b = np.ascontiguousarray(got, dtype=np.float64)
    return (a.view(np.uint64) == b.view(np.uint64)).all(axis=1)


def _write(
    spec: Spec, forest: Forest, out: Path, provenance: dict, extra: dict, library: dict
) -> dict:
    raw = forest_json.dumps(forest)
    meta = {
        **model_identity(spec, raw),
        "objective": forest.objective,
        "n_classes": forest.n_classes,
        "label_column": None,
        "group_column": None,
        "split": None,
        "params": library.pop("params", {}),
        **library,
        "rule": forest.rule.to_json(),
        "base_margin": [v.hex() for v in forest.base_margin],
        "feature_names": list(spec.feature_names),
        "provenance": provenance,
    }
    metrics = {
        "imported": True,
        "note": "featgen import: no held-out data, no metrics; see featgen_model.json provenance",
    }
    write_model_directory(
        Path(out),
        {
            MODEL_FILE: raw,
            META_FILE: (json.dumps(meta, indent=2) + "\n").encode(),
            METRICS_FILE: (json.dumps(metrics, indent=2) + "\n").encode(),
            **extra,
        },
    )
    return meta


def import_lightgbm(source: Source, spec: Spec, out: Path, feature_names=None) -> dict:
    """A LightGBM text model -> model directory, verified against LightGBM's raw score."""

    lgb = require("lightgbm", "lightgbm")
    where = source.where
    try:
        text = source.raw.decode("utf-8")
        forest, names = lightgbm_text.forest_of(text, where)
    except UnicodeDecodeError:
        raise ImportModelError(f"{where}: a LightGBM text model must be UTF-8") from None
    except xgboost_json.ModelError as exc:
        raise ImportModelError(str(exc)) from None
    default = all(n == f"Column_{i}" for i, n in enumerate(names))
    named_by = _check_names(
        names, forest, spec, where, feature_names, default, "the model's feature_names"
    )
    try:
        booster = lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise ImportModelError(f"{where}: LightGBM cannot load this model: {exc}") from None
    with tempfile.TemporaryDirectory() as tmp:  # Treelite's frontend reads a path
        path = os.path.join(tmp, "model.txt")
        with open(path, "wb") as handle:
            handle.write(source.raw)
        problems = lightgbm_text.cross_check_treelite(forest, path)
    if problems:
        raise ImportModelError(
            f"{where}: featgen and Treelite read this model differently: "
            f"{problems[0]} (please report this model)"
        )
    X = probe_rows(forest)
    ref = np.asarray(booster.predict(X, raw_score=True), dtype=np.float64).reshape(len(X), -1)
    if forest.rule.average:  # boosting=rf: predict divides the sum
        ref = ref / float(forest.rule.average)
    same = _bits_equal(ref, forest.margins(X))
    if not same.all():
        raise ImportModelError(
            f"{where}: featgen's reading gives other margins than LightGBM "
            f"on {int((~same).sum())} of {len(X)} probe rows; refused "
            "(please report this model)"
        )
    header, _ = lightgbm_text._fields(text, where)
    params = {
        k: v
        for k, v in header.items()
        if k in ("objective", "num_class", "version", "num_tree_per_iteration", "average_output")
    }
    provenance = {
        "imported_by": "featgen import-model",
        "source": source.path,
        "source_sha256": source.sha256,
        "source_format": source.format,
        "source_copy_sha256": hashlib.sha256(source.raw).hexdigest(),  # its lightgbm_model.txt
        "imported_with_lightgbm": lgb.__version__,
        "feature_names_from": named_by,
        "num_trees": len(forest.trees),
        "verified_probe_rows": len(X),
        "verified_against": "lightgbm.Booster.predict(raw_score=True)"
        + (f" / {forest.rule.average}" if forest.rule.average else ""),
        "treelite_cross_check": "same splits and leaves",
    }
    return _write(
        spec,
        forest,
        out,
        provenance,
        {LIGHTGBM_SOURCE_FILE: source.raw},
        {"library": "lightgbm", "lightgbm_version": lgb.__version__, "params": params},
    )


def from_sklearn(model, spec, out: str | Path, feature_names=None) -> dict:
    """Import a fitted scikit-learn ensemble (RandomForest*, ExtraTrees*, GradientBoosting*,
    HistGradientBoosting*) from a notebook into the model directory OUT for SPEC (a Spec or
    the spec's path), as ``featgen import-model`` does for a file::

        from featgen.import_model import from_sklearn
        from_sklearn(clf, spec="spec.yaml", out="model")      # then: featgen build spec.yaml

    The feature order is checked by ``feature_names_in_`` (fit on a DataFrame) or
    ``feature_names`` (a list, or a path as for --feature-names). The margins are verified bit
    for bit against scikit-learn's own predict_proba / predict / decision_function on probe
    rows. Returns featgen_model.json."""

    require("sklearn", "sklearn")
    if not isinstance(spec, Spec):
        spec = load_spec(str(spec))
    name = type(model).__name__
    where = f"the {name}"
    try:
        forest = sklearn_trees.forest_of(model)
    except xgboost_json.ModelError as exc:
        raise ImportModelError(f"{where}: {exc}") from None
    names = tuple(str(n) for n in getattr(model, "feature_names_in_", ()))
    named_by = _check_names(names, forest, spec, where, feature_names, False, "feature_names_in_")
    problems = sklearn_trees.cross_check_treelite(forest, model)
    if problems:
        raise ImportModelError(
            f"{where}: featgen and Treelite read this model differently: "
            f"{problems[0]} (please report this model)"
        )
    X = probe_rows(forest, finite=True, nan=sklearn_trees.accepts_nan(model))
    with _quiet_feature_names():
        ref = sklearn_trees.reference_margins(model, X)
    same = _bits_equal(ref, forest.margins(X))
    if not same.all():
        raise ImportModelError(
            f"{where}: featgen's reading gives other margins than "
            f"scikit-learn on {int((~same).sum())} of {len(X)} probe rows; "
            "refused (please report this model)"
        )
    import sklearn

    params = {
        k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
        for k, v in sorted(model.get_params(deep=False).items())
    }
    provenance = {
        "imported_by": "featgen.import_model.from_sklearn",
        "source": f"{type(model).__module__}.{name} (a fitted object in Python)",
        "imported_with_sklearn": sklearn.__version__,
        "feature_names_from": named_by,
        "num_trees": len(forest.trees),
        "verified_probe_rows": len(X),
        "verified_against": sklearn_trees.REFERENCE[sklearn_trees.kind_of(model)],
        "treelite_cross_check": "same split features and thresholds",
    }
    return _write(
        spec,
        forest,
        Path(out),
        provenance,
        {},
        {
            "library": "sklearn",
            "estimator": name,
            "sklearn_version": sklearn.__version__,
            "params": params,
        },
    )


class _quiet_feature_names:
    """scikit-learn warns when a model fit on a DataFrame is given an array; the probe rows
    are in the model's own column order, so the warning says nothing here."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.filterwarnings("ignore", message="X does not have valid feature names")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
