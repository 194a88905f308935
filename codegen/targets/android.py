"""The Android/JNI target: android/ (the C runtime copied from c/, CMake, the JNI bridge, the
Kotlin class; with sensors:, their bridge and class). It reads the C target's files, so it
comes after C in the registry. codegen/android.py holds the layout."""

from __future__ import annotations

from pathlib import PurePosixPath

from ..android import KOTLIN_PACKAGE, ROOT, android_files, type_name
from ..pipeline import Plan
from .base import EmitContext, common, normalise


class AndroidJniTarget:
    name = "Android/JNI"
    key = "android"
    title = "Android/JNI (Kotlin over the C runtime)"
    passes: tuple[str, ...] = ()  # it copies the C target's output
    parity = False  # the same C bytes as the C target; parity_tests/test_android_jni.py
    # runs the JNI library and the Kotlin class on the JDK

    def roles(self, plan: Plan) -> dict[str, str]:
        name = plan.program.name
        cls = type_name(name)
        return {
            "cmake": f"{ROOT}/cpp/CMakeLists.txt",
            "jni": f"{ROOT}/cpp/{name}_jni.c",
            "kotlin": str(PurePosixPath(ROOT, "kotlin", *KOTLIN_PACKAGE.split("."), f"{cls}.kt")),
        }

    def emit(self, plan: Plan, ctx: EmitContext) -> dict[str, str | bytes]:
        files: dict[str, str | bytes] = dict(
            android_files(
                ctx.env,
                ctx.files,
                common(plan.program),
                list(ctx.lines),
                None if ctx.model is None else dict(ctx.model),
                normalise,
            )
        )
        if plan.spec.sensors is not None:  # the adapter's JNI bridge and Kotlin class
            from ..sensors import android_sensor_files

            files.update(android_sensor_files(plan.spec, ctx.env, list(ctx.lines), normalise))
        return files
