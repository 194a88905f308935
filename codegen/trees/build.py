"""The model artifacts of a spec with a ``model:`` block, for ``codegen.build.generate``:

    c/<name>_model.{h,c}        featgen's own C: margins bit-identical to XGBoost
    c/<name>_model_batch.c      the same margins for many rows at once (node tables)
    c/<name>_detector.{h,c}     push a sample -> features -> margin -> decision -> event
    c/<name>_recorder.{h,c}     the flight recorder (docs/flight_recorder.md), off by default
    c/tl2cgen/                  TL2cgen's C for the same model (the standard path, compared)
    coreml/<Name>Model.mlmodel  Core ML, base margin fixed and checked node by node
    manifest.json "model"       hashes, base margin, decision threshold in margin space

Deterministic: no timestamps; the .mlmodel is protobuf's deterministic serialisation.
"""
from __future__ import annotations

import hashlib

from featurespec.naming import pascal_case
from featurespec.schema import Spec

from .. import escape
from ..backends.c import state_magic
from . import c_emit, coreml, fp32, swift_emit, tl2cgen_emit
from . import decision as decisions
from .model_dir import Bundle, feature_order_hash, load_bundle

type_name = pascal_case     # twist_and_go -> TwistAndGo: the one naming rule (featurespec/naming.py)


def swift_files(name: str) -> dict[str, str]:
    """{generated path: template} of the Swift model, detector, Core ML input and harness shim."""
    camel = type_name(name)
    package = f"{camel}Features"
    return {f"ios/Sources/{package}/{camel}Model.swift": "swift/Model.swift.j2",
            f"ios/Sources/{package}/{camel}Detector.swift": "swift/Detector.swift.j2",
            f"ios/Sources/{package}/{camel}CoreML.swift": "swift/CoreML.swift.j2",
            f"ios/Tests/{package}Tests/{camel}DetectorTests.swift": "swift/DetectorTests.swift.j2",
            f"swift_shim/{camel}DetectorShim.swift": "swift/DetectorShim.swift.j2"}


def coreml_path(name: str) -> str:
    return f"coreml/{type_name(name)}Model.mlmodel"


def model_line(model_sha256: str, path: str) -> str:
    """The header line naming the model: ``path`` is the spec's ``model: path:``, user text,
    so it goes through the comment rule (codegen/escape.py)."""
    return escape.comment_line(f"Model sha256: {model_sha256} ({escape.comment(path)}/model.json)")


def model_files(spec: Spec, program, device, env, header_lines: list[str], common: dict,
                normalise, bundle: Bundle | None = None) -> tuple[dict[str, str | bytes], dict]:
    """({path: content}, manifest entry) for the spec's model; SpecError for a model that does
    not fit the spec (located at model.path / decision.*). ``device`` is the program the
    detector runs: the full ``program``, or one computing only the features the model reads
    (then the C/Swift model and the Core ML model read that compact vector). ``bundle``: the
    model directory the build already loaded (loaded here when not given). The CMakeLists.txt
    that also builds the detector is the C target's (codegen/targets/c.py)."""
    bundle = bundle if bundle is not None else load_bundle(spec)
    full_forest = bundle.forest
    forest = full_forest if device is program else full_forest.reindexed(device.full_columns)
    decision = decisions.resolve(spec.decision, full_forest)
    name = spec.name
    order_hash = feature_order_hash(device.feature_names)
    lines = header_lines + [model_line(bundle.model_sha256, spec.model.path)]
    c_header = escape.c_block_comment(lines)
    ctx = dict(common, header=c_header, model_sha256=bundle.model_sha256,
               feature_order_sha256=order_hash, decision=decision,
               feature_names=device.feature_names, feat=device.name, FP=device.name.upper(),
               margin_threshold=(fp32.c_literal(decision.margin_threshold)
                                 if decision.kind == "binary" else ""),
               detector_magic=state_magic("detector", spec.spec_hash, common["version"], name,
                                          device.name, bundle.model_sha256, order_hash),
               **c_emit.render_context(forest, name, device.feature_names))
    files: dict[str, str | bytes] = {}
    for stem, template in (("model.h", "c/model.h.j2"), ("model.c", "c/model.c.j2"),
                           ("model_batch.c", "c/model_batch.c.j2"),
                           ("detector.h", "c/detector.h.j2"),
                           ("detector.c", "c/detector.c.j2"),
                           ("recorder.h", "c/recorder.h.j2"),
                           ("recorder.c", "c/recorder.c.j2")):
        files[f"c/{name}_{stem}"] = normalise(env.get_template(template).render(**ctx))

    swift_header = escape.line_comments(lines)
    sw = dict(ctx, header=swift_header, **swift_emit.render_context(forest, name,
                                                                     device.feature_names),
              swift_margin_threshold=(fp32.swift_literal(decision.margin_threshold)
                                      if decision.kind == "binary" else ""))
    sw["features_type"] = type_name(device.name) + "Features"    # what the detector runs
    sw["package_module"] = type_name(name) + "Features"           # the Swift package's module
    sw["device_columns"] = list(device.full_columns) if device is not program else []
    for path, template in swift_files(name).items():
        files[path] = normalise(env.get_template(template).render(**sw))

    tl_header = escape.c_block_comment(
        ["TL2cgen's C for the same model (tl2cgen.generate_c_code), for comparison.", *lines,
         f"Not bit-identical to XGBoost: see docs/model.md. featgen's own C is ../{name}_model.c."]
    ) + "\n"
    for file_name, text in tl2cgen_emit.generate(bundle.raw).items():
        if file_name.endswith((".c", ".h")):
            text = tl_header + text
        files[f"c/tl2cgen/{file_name}"] = normalise(text)

    metadata = {"featgen.spec": name, "featgen.spec_sha256": spec.spec_hash,
                "featgen.model_sha256": bundle.model_sha256,
                "featgen.feature_order_sha256": order_hash,
                "featgen.generator_version": common["version"]}
    mlmodel = coreml.convert(bundle.raw, full_forest, spec.feature_names, metadata,
                             f"{name}: XGBoost {forest.objective} model; generated by featgen "
                             "(inputs: round each feature to Float first)",
                             keep=None if device is program else device.full_columns)
    files[coreml_path(name)] = mlmodel
    return files, manifest_entry(spec, bundle, decision, order_hash, mlmodel, device)


def manifest_entry(spec: Spec, bundle: Bundle, decision: decisions.Decision, order_hash: str,
                   mlmodel: bytes, device) -> dict:
    forest = bundle.forest
    return {
        "device": {
            "featuriser": device.name,
            "n_features": len(device.feature_names),
            "of": len(spec.feature_names),
            "features": [{"name": n, "index": c, "device_index": j} for j, (n, c) in
                         enumerate(zip(device.feature_names, device.full_columns))],
        },
        "path": spec.model.path,
        "model_sha256": bundle.model_sha256,
        "feature_order_sha256": order_hash,     # of the device vector the model reads
        "features_hash": spec.features_hash,
        "trained_on_spec_hash": bundle.meta.get("spec_hash"),
        "objective": forest.objective,
        "n_outputs": forest.n_outputs,
        "n_trees": len(forest.trees),
        "max_depth": forest.max_depth,
        "n_nodes": forest.n_nodes,
        "base_margin": [fp32.hex32(v) for v in forest.base_margin],
        "decision": decision.to_json(),
        "prediction_rule": "x = (float)feature; NaN -> default child; x < threshold -> left; "
                           "margin = base margin + leaves in tree order, float32",
        "coreml": {"file": coreml_path(spec.name),
                   "sha256": hashlib.sha256(mlmodel).hexdigest(),
                   "base_prediction": "fixed to XGBoost's base margin (the converter writes 0)",
                   "inputs": "the device features by name; round each to Float, then Double"},
        "tl2cgen": {"dir": "c/tl2cgen", "bit_identical": False, "reads": "the full vector"},
    }
