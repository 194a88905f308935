"""The pure Kotlin target (JVM / Android without the NDK): kotlin/src/main/kotlin/featgen/jvm/
holds the featuriser, the device featuriser, the tree model and the detector as plain Kotlin.
codegen/backends/kotlin_jvm.py prints the IR and the trees; templates/kotlin/ lays them out; the
harness runs it through featgen/harness/kotlin_jvm_runtime.py (kotlinc + a JVM driver)."""

from __future__ import annotations

from ..backends import kotlin_jvm as backend
from ..pipeline import Plan
from .base import EmitContext, common


class KotlinJvmTarget:
    name = "Kotlin/JVM"
    key = "kotlin"
    title = "Kotlin (JVM, no NDK)"
    passes: tuple[str, ...] = ("share",)
    parity = True

    def roles(self, plan: Plan) -> dict[str, str]:
        return backend.paths(plan)

    def emit(self, plan: Plan, ctx: EmitContext) -> dict[str, str]:
        return backend.kotlin_files(plan, ctx.render, list(ctx.lines), common)
