"""The model artifacts of a spec with a ``model:`` block, for ``codegen.build.generate``:

    c/<name>_model.{h,c}        featgen's own C: margins bit-identical to XGBoost
    c/<name>_model_batch.c      the same margins for many rows at once (node tables)
    c/<name>_detector.{h,c}     push a sample -> features -> margin -> decision -> event
    c/<name>_recorder.{h,c}     the flight recorder (docs/replay.md), off by default
    c/CMakeLists.txt            (re-rendered) also builds <name>_detector
    c/tl2cgen/                  TL2cgen's C for the same model (the standard path, compared)
    coreml/<Name>Model.mlmodel  Core ML, base margin fixed and checked node by node
    manifest.json "model"       hashes, base margin, decision threshold in margin space

Deterministic: no timestamps; the .mlmodel is protobuf's deterministic serialisation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jinja2

from featurespec.naming import pascal_case
from featurespec.schema import Spec

from .. import escape
from ..backends.c import state_magic
from . import c_emit, coreml, fp32, swift_emit, tl2cgen_emit
from . import decision as decisions
from .model_dir import Bundle, feature_order_hash, load_bundle

if TYPE_CHECKING:  # types only: the programs come from codegen.lowering
    from ..lowering import Program

type_name = pascal_case  # twist_and_go -> TwistAndGo: the one naming rule (featurespec/naming.py)


# The compiler versions the Swift recorder can name in its header (`#if compiler(>=M.m)`, newest
# first): a newer compiler logs the newest listed.
SWIFT_VERSIONS = [(major, minor) for major in (7, 6) for minor in range(9, -1, -1)] + [
    (5, minor) for minor in range(10, -1, -1)
]


def swift_files(name: str, coreml: bool = True) -> dict[str, str]:
    """{generated path: template} of the Swift model, detector, Core ML input (when there is a
    Core ML model) and harness shim."""
    camel = type_name(name)
    package = f"{camel}Features"
    files = {
        f"ios/Sources/{package}/{camel}Model.swift": "swift/Model.swift.j2",
        f"ios/Sources/{package}/{camel}Detector.swift": "swift/Detector.swift.j2",
        f"ios/Sources/{package}/{camel}Recorder.swift": "swift/Recorder.swift.j2",
        f"ios/Sources/{package}/{camel}CoreML.swift": "swift/CoreML.swift.j2",
        f"ios/Tests/{package}Tests/{camel}DetectorTests.swift": "swift/DetectorTests.swift.j2",
        f"swift_shim/{camel}DetectorShim.swift": "swift/DetectorShim.swift.j2",
    }
    if not coreml:
        del files[f"ios/Sources/{package}/{camel}CoreML.swift"]
    return files


# Why a library's model has no Core ML file (codegen/trees/coreml.py converts XGBoost models).
COREML_REFUSED = {
    "lightgbm": "coremltools has no LightGBM converter",
    "sklearn": "not converted: coremltools disables its scikit-learn converter above "
    "scikit-learn 1.5.1 (coremltools/_deps: _SKLEARN_MAX_VERSION), its forest "
    "conversion scales every leaf by 1/n_trees instead of dividing the sum "
    "(converters/sklearn/_tree_ensemble.py: other roundings), and "
    "HistGradientBoosting has no converter",
}


class ClassNameError(ValueError):
    """Class names that cannot name the classes in every target (an enum case each)."""


MAX_CLASS_NAME = 64


def class_identifiers(names: Sequence[object]) -> list[dict[str, Any]]:
    """For class names as ``featgen train --classes`` (or the data) gave them: per class its
    index, name, Swift enum case (lowerCamelCase, backquoted when a Swift keyword) and Kotlin
    enum constant (UPPER_SNAKE). The identifiers are made of the name's ASCII letters and
    digits (a leading digit gets ``class``/``CLASS_`` in front); the name itself reaches the
    code only as an escaped string literal. ClassNameError when a name is empty, too long,
    holds no ASCII letter or digit, or two names give the same identifier."""
    import re

    from featurespec.validate import SWIFT_RESERVED

    out: list[dict[str, Any]] = []
    seen: dict[str, tuple[int, str]] = {}
    if len(names) < 2:
        raise ClassNameError(f"{len(names)} class name(s); a classifier has at least 2")
    for index, name in enumerate(names):
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name) > MAX_CLASS_NAME
            or not name.isprintable()
        ):
            raise ClassNameError(
                f"class {index}: {name!r} is not a class name (printable text "
                f"of 1 to {MAX_CLASS_NAME} characters)"
            )
        words = re.findall(r"[A-Za-z0-9]+", name)
        if not words:
            raise ClassNameError(
                f"class {index}: {name!r} has no ASCII letter or digit to make "
                "the Swift/Kotlin enum case from"
            )
        if words[0][0].isdigit():
            words = ["class"] + words
        swift = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
        kotlin = "_".join(w.upper() for w in words)
        key = kotlin.replace("_", "")
        if key in seen:
            raise ClassNameError(
                f"classes {seen[key][0]} ({seen[key][1]!r}) and {index} "
                f"({name!r}) give the same enum case {swift!r}; rename one"
            )
        seen[key] = (index, name)
        out.append(
            {
                "index": index,
                "name": name,
                "swift": f"`{swift}`" if swift in SWIFT_RESERVED else swift,
                "kotlin": kotlin,
            }
        )
    return out


def class_names_of(spec: Spec, bundle: Bundle) -> list[dict[str, Any]] | None:
    """The model's class names (featgen_model.json ``class_names``) as class_identifiers, or
    None; a SpecError at model.path when they do not fit the model."""
    from featurespec.errors import Problem, SpecError

    names = bundle.meta.get("class_names")
    if names is None:
        return None
    n = bundle.forest.n_outputs if bundle.forest.n_outputs > 1 else 2
    problem = None
    if not isinstance(names, list) or len(names) != n:
        problem = (
            f"class_names in {bundle.directory}/featgen_model.json must list {n} names "
            f"(one per class of the model)"
        )
    else:
        try:
            return class_identifiers(names)
        except ClassNameError as exc:
            problem = f"class_names in {bundle.directory}/featgen_model.json: {exc}"
    raise SpecError([Problem.at(spec.model.loc, problem)])  # type: ignore[union-attr]  # only called for a spec with a model


def coreml_path(name: str) -> str:
    return f"coreml/{type_name(name)}Model.mlmodel"


def model_line(model_sha256: str, path: str) -> str:
    """The header line naming the model: ``path`` is the spec's ``model: path:``, user text,
    so it goes through the comment rule (codegen/escape.py)."""
    return escape.comment_line(f"Model sha256: {model_sha256} ({escape.comment(path)}/model.json)")


def model_files(
    spec: Spec,
    program: Program,
    device: Program,
    env: jinja2.Environment,
    header_lines: list[str],
    common: dict[str, Any],
    normalise: Callable[[str], str],
    bundle: Bundle | None = None,
) -> tuple[dict[str, str | bytes], dict[str, Any]]:
    """({path: content}, manifest entry) for the spec's model; SpecError for a model that does
    not fit the spec (located at model.path / decision.*). ``device`` is the program the
    detector runs: the full ``program``, or one computing only the features the model reads
    (then the C/Swift model and the Core ML model read that compact vector). ``bundle``: the
    model directory the build already loaded (loaded here when not given). The CMakeLists.txt
    that also builds the detector is the C target's (codegen/targets/c.py)."""
    bundle = bundle if bundle is not None else load_bundle(spec)
    classes = class_names_of(spec, bundle)
    full_forest = bundle.forest
    forest = full_forest if device is program else full_forest.reindexed(device.full_columns)
    decision = decisions.resolve(spec.decision, full_forest)  # type: ignore[arg-type]  # set whenever model: is (validate.py)
    name = spec.name
    order_hash = feature_order_hash(device.feature_names)
    lines = header_lines + [model_line(bundle.model_sha256, spec.model.path)]  # type: ignore[union-attr]  # only called for a spec with a model
    c_header = escape.c_block_comment(lines)
    ctx = dict(
        common,
        header=c_header,
        model_sha256=bundle.model_sha256,
        feature_order_sha256=order_hash,
        decision=decision,
        feature_names=device.feature_names,
        feat=device.name,
        FP=device.name.upper(),
        margin_threshold=(
            fp32.literal(decision.margin_threshold, decision.precision)
            if decision.kind == "binary"
            else ""
        ),
        classes=classes,
        sensors_hash=spec.sensors.sensors_hash if spec.sensors is not None else "",
        n_sensors=len(spec.sensors.sources) if spec.sensors is not None else 0,
        detector_magic=state_magic(
            "detector",
            spec.spec_hash,
            common["version"],
            name,
            device.name,
            bundle.model_sha256,
            order_hash,
        ),
        **c_emit.render_context(forest, name, device.feature_names),
    )
    files: dict[str, str | bytes] = {}
    for stem, template in (
        ("model.h", "c/model.h.j2"),
        ("model.c", "c/model.c.j2"),
        ("model_batch.c", "c/model_batch.c.j2"),
        ("detector.h", "c/detector.h.j2"),
        ("detector.c", "c/detector.c.j2"),
        ("recorder.h", "c/recorder.h.j2"),
        ("recorder.c", "c/recorder.c.j2"),
    ):
        files[f"c/{name}_{stem}"] = normalise(env.get_template(template).render(**ctx))

    swift_header = escape.line_comments(lines)
    sw = dict(
        ctx,
        header=swift_header,
        **swift_emit.render_context(forest, name, device.feature_names),
        swift_margin_threshold=(
            fp32.literal(decision.margin_threshold, decision.precision, "swift")
            if decision.kind == "binary"
            else ""
        ),
    )
    sw["features_type"] = type_name(device.name) + "Features"  # what the detector runs
    sw["package_module"] = type_name(name) + "Features"  # the Swift package's module
    sw["device_columns"] = list(device.full_columns) if device is not program else []
    xgboost = forest.rule.library == "xgboost"
    sw["recorder_type"] = type_name(name) + "Recorder"  # the flight recorder
    sw["sensors_type"] = type_name(name) + "Sensors"
    sw["swift_versions"] = SWIFT_VERSIONS
    for path, template in swift_files(name, coreml=xgboost).items():
        files[path] = normalise(env.get_template(template).render(**sw))

    if not xgboost:  # TL2cgen's C and Core ML are XGBoost-only here (see COREML_REFUSED)
        return files, manifest_entry(spec, bundle, decision, order_hash, None, device)
    tl_header = (
        escape.c_block_comment(
            [
                "TL2cgen's C for the same model (tl2cgen.generate_c_code), for comparison.",
                *lines,
                f"Not bit-identical to XGBoost: see docs/model.md. featgen's own C is ../{name}_model.c.",
            ]
        )
        + "\n"
    )
    for file_name, text in tl2cgen_emit.generate(bundle.raw).items():
        if file_name.endswith((".c", ".h")):
            text = tl_header + text
        files[f"c/tl2cgen/{file_name}"] = normalise(text)

    metadata = {
        "featgen.spec": name,
        "featgen.spec_sha256": spec.spec_hash,
        "featgen.model_sha256": bundle.model_sha256,
        "featgen.feature_order_sha256": order_hash,
        "featgen.generator_version": common["version"],
    }
    mlmodel = coreml.convert(
        bundle.raw,
        full_forest,
        spec.feature_names,
        metadata,
        f"{name}: XGBoost {forest.objective} model; generated by featgen "
        "(inputs: round each feature to Float first)",
        keep=None if device is program else device.full_columns,
        class_labels=[c["name"] for c in classes] if classes else None,
    )
    files[coreml_path(name)] = mlmodel
    entry = manifest_entry(spec, bundle, decision, order_hash, mlmodel, device)
    if classes:
        entry["class_names"] = [c["name"] for c in classes]
    return files, entry


def manifest_entry(
    spec: Spec,
    bundle: Bundle,
    decision: decisions.Decision,
    order_hash: str,
    mlmodel: bytes | None,
    device: Program,
) -> dict[str, Any]:
    forest = bundle.forest
    entry = {
        "device": {
            "featuriser": device.name,
            "n_features": len(device.feature_names),
            "of": len(spec.feature_names),
            "features": [
                {"name": n, "index": c, "device_index": j}
                for j, (n, c) in enumerate(zip(device.feature_names, device.full_columns))
            ],
        },
        "path": spec.model.path,  # type: ignore[union-attr]  # only called for a spec with a model
        "model_sha256": bundle.model_sha256,
        "feature_order_sha256": order_hash,  # of the device vector the model reads
        "features_hash": spec.features_hash,
        "trained_on_spec_hash": bundle.meta.get("spec_hash"),
        "objective": forest.objective,
        "n_outputs": forest.n_outputs,
        "n_trees": len(forest.trees),
        "max_depth": forest.max_depth,
        "n_nodes": forest.n_nodes,
        "base_margin": [
            fp32.hex32(v) if forest.rule.accumulate == "float32" else v.hex()
            for v in forest.base_margin
        ],
        "decision": decision.to_json(),
        "prediction_rule": forest.rule.describe(),
        "coreml": {
            "file": coreml_path(spec.name),
            "sha256": hashlib.sha256(mlmodel or b"").hexdigest(),
            "base_prediction": "fixed to XGBoost's base margin (the converter writes 0)",
            "inputs": "the device features by name; round each to Float, then Double",
        },
        "tl2cgen": {"dir": "c/tl2cgen", "bit_identical": False, "reads": "the full vector"},
    }
    if forest.rule.library != "xgboost":
        entry["library"] = forest.rule.library
        entry["rule"] = forest.rule.to_json()
        entry["coreml"] = {"file": None, "refused": COREML_REFUSED[forest.rule.library]}
        entry["tl2cgen"] = {"dir": None, "refused": "generated for XGBoost models only"}
    return entry
