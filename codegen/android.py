"""``generated/<name>/android/``: what an Android Studio module pulls, self-contained.

    android/src/main/cpp/CMakeLists.txt      builds lib<name>_jni.so (NDK; parity flags)
    android/src/main/cpp/<name>_*.{h,c}      the generated C runtime, copied from c/ (features,
                                             and model + detector when the spec has a model)
    android/src/main/cpp/<name>_jni.c        the JNI bridge (copies in, calls C, copies out)
    android/src/main/kotlin/featgen/<Name>.kt the Kotlin class: push(DoubleArray|FloatArray),
                                             status / decision event, margins, features, and
                                             the version check against the loaded library
    with a sensors: block, also (codegen/sensors.py) cpp/<name>_sensors.{h,c} (the adapter),
    cpp/<name>_sensors_jni.c, kotlin/featgen/<Name>Sensors.kt and <Name>SensorListener.kt

All numbers are computed by the C runtime; the bridge and the Kotlin class only move them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any, cast

import jinja2

from featurespec.naming import pascal_case

from . import escape
from .trees.objectives import objective as objective_named

KOTLIN_PACKAGE = "featgen"
ROOT = "android/src/main"


type_name = pascal_case  # twist_and_go -> TwistAndGo: the one naming rule (featurespec/naming.py)


def jni_prefix(package: str, cls: str) -> str:
    """The JNI symbol prefix of ``package.cls``'s native methods (JNI spec: '_' -> '_1')."""
    mangle: Callable[[str], str] = lambda s: s.replace("_", "_1")  # noqa: E731
    return "Java_" + "_".join(mangle(part) for part in package.split(".")) + "_" + mangle(cls)


def _float_bits(hex_literal: str) -> int:
    """The float32 written as a hex literal (exactly a float32), as Java's signed int bits."""
    bits: int = struct.unpack("<i", struct.pack("<f", float.fromhex(hex_literal)))[0]
    return bits


def _double_bits(hex_literal: str) -> str:
    """The double written as a hex literal, as a Kotlin Long literal of Java's signed bits."""
    return f"{struct.unpack('<q', struct.pack('<d', float.fromhex(hex_literal)))[0]}L"


def android_files(
    env: jinja2.Environment,
    files: Mapping[str, str | bytes],
    common: dict[str, Any],
    header_lines: list[str],
    model: dict[str, Any] | None,
    normalise: Callable[[str], str],
) -> dict[str, str]:
    """{path: text} of android/ for a build whose other files are ``files``; ``model`` is the
    manifest's "model" entry, or None for a spec without a model."""
    name = common["name"]
    cls = type_name(name)
    # With a model the detector runs the device featuriser (only what the model reads).
    feat = model["device"]["featuriser"] if model is not None else name
    parts = [f"{feat}_features"] + (
        [f"{name}_model", f"{name}_detector", f"{name}_recorder"] if model is not None else []
    )
    lines = list(header_lines)
    if model is not None:
        from .trees.build import class_identifiers, model_line

        lines.append(model_line(model["model_sha256"], model["path"]))
    ctx = dict(
        common,
        type_name=cls,
        var_name=cls[:1].lower() + cls[1:],
        kotlin_package=KOTLIN_PACKAGE,
        jni_library=f"{name}_jni",
        jni_prefix=jni_prefix(KOTLIN_PACKAGE, cls),
        has_model=model is not None,
        c_sources=[f"{part}.c" for part in parts] + [f"{name}_jni.c"],
        feat=feat,
        FP=feat.upper(),
        classes=None,
        header_line=escape.comment_line(header_lines[0] + " " + header_lines[2]),
    )
    if model is not None:
        d = model["decision"]
        double = model.get("rule", {}).get("accumulate") == "float64"  # LightGBM, sklearn
        ctx.update(
            MT="Double" if double else "Float",
            library=model.get("library", "xgboost"),
            feature_names=[f["name"] for f in model["device"]["features"]],
            feature_order_sha256=model["feature_order_sha256"],
            model_sha256=model["model_sha256"],
            n_outputs=model["n_outputs"],
            decision={
                "kind": d["kind"],
                "threshold": repr(float(d.get("threshold", 0.0))),
                "positive_class": d.get("positive_class", 1),
                "consecutive": d["consecutive"],
                "refractory": d["refractory_samples"],
            },
            transform=objective_named(model["objective"]).transform,
            value_doc=objective_named(model["objective"]).value,
            objective=model["objective"],
            margin_threshold_bits=(
                (_double_bits if double else _float_bits)(d["margin_threshold"])
                if d["kind"] == "binary"
                else 0
            ),
            margin_threshold_hex=d.get("margin_threshold", ""),
            classes=(class_identifiers(model["class_names"]) if model.get("class_names") else None),
        )
    if f"c/{name}_sensors.c" in files:  # sensors: the adapter and its JNI bridge (the bridge
        parts.append(f"{name}_sensors")  # and Kotlin class: codegen/sensors.py)
        ctx["c_sources"] = [f"{part}.c" for part in parts] + [
            f"{name}_jni.c",
            f"{name}_sensors_jni.c",
        ]
    out: dict[str, str] = {}
    cpp = f"{ROOT}/cpp"
    for part in parts:  # the C runtime, byte for byte as in c/
        for ext in ("h", "c"):
            out[f"{cpp}/{part}.{ext}"] = cast(str, files[f"c/{part}.{ext}"])  # C is text
    c_header = escape.c_block_comment(lines)
    kt_header = escape.line_comments(lines)
    out[f"{cpp}/CMakeLists.txt"] = env.get_template("android/CMakeLists.txt.j2").render(**ctx)
    out[f"{cpp}/{name}_jni.c"] = env.get_template("android/jni.c.j2").render(header=c_header, **ctx)
    kotlin = PurePosixPath(ROOT, "kotlin", *KOTLIN_PACKAGE.split("."), f"{cls}.kt")
    out[str(kotlin)] = env.get_template("android/Wrapper.kt.j2").render(header=kt_header, **ctx)
    return {path: normalise(text) for path, text in out.items()}
