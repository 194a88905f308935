"""The Swift target: the SwiftPM package under ios/ (featuriser, device featuriser, XCTest)
and the C-ABI shims the harness loads (swift_shim/). codegen/backends/swift.py prints the IR;
templates/swift/ lays it out. The golden vectors the XCTest reads are a build step
(codegen/build.py, only with ``golden``), at ``roles(plan)["golden"]``."""

from __future__ import annotations

from .. import escape
from ..backends import swift as backend
from ..pipeline import Plan
from .base import EmitContext, common, device_lines

GOLDEN_FILE = "golden.bin"
GOLDEN_MAGIC = b"FGGOLD01"
SWIFT_MEMORY_PUSHES = 1_000_000  # pushes of the Swift package's flat-memory XCTest (release)
SWIFT_MEMORY_PUSHES_DEBUG = 20_000  # the same test in a debug build (swift test)


def package_name(plan: Plan) -> str:
    """The Swift package's module (and the full featuriser's type)."""
    return backend.upper_camel(plan.program.name) + "Features"


class SwiftTarget:
    name = "Swift"
    key = "swift"
    title = "Swift (iOS)"
    passes: tuple[str, ...] = ("share",)
    parity = True

    def roles(self, plan: Plan) -> dict[str, str]:
        package = package_name(plan)
        shim = backend.upper_camel(plan.program.name) + "Shim"
        roles = {
            "package": "ios/Package.swift",
            "source": f"ios/Sources/{package}/{package}.swift",
            "tests": f"ios/Tests/{package}Tests/{package}Tests.swift",
            "shim": f"swift_shim/{shim}.swift",  # harness only
            "golden": f"ios/Tests/{package}Tests/Resources/{GOLDEN_FILE}",
        }
        if plan.device is not plan.program:
            d_type = backend.upper_camel(plan.device.name) + "Features"
            d_shim = backend.upper_camel(plan.device.name) + "Shim"
            roles.update(
                device_source=f"ios/Sources/{package}/{d_type}.swift",
                device_shim=f"swift_shim/{d_shim}.swift",
            )
        if plan.model is not None:  # emitted by the model stage (codegen/trees/build.py)
            camel = backend.upper_camel(plan.program.name)
            roles.update(
                model_source=f"ios/Sources/{package}/{camel}Model.swift",
                detector_source=f"ios/Sources/{package}/{camel}Detector.swift",
                detector_shim=f"swift_shim/{camel}DetectorShim.swift",
                recorder_source=f"ios/Sources/{package}/{camel}Recorder.swift",
            )
            if plan.model.forest.rule.library == "xgboost":  # no Core ML model otherwise
                roles["coreml_source"] = f"ios/Sources/{package}/{camel}CoreML.swift"
        if plan.program.spec.sensors is not None:  # emitted by the sensors stage (sensors.py)
            sensors = backend.upper_camel(plan.program.name) + "Sensors"
            roles.update(
                sensors_source=f"ios/Sources/{package}/{sensors}.swift",
                sensors_shim=f"swift_shim/{sensors}Shim.swift",
            )
        return roles

    def emit(self, plan: Plan, ctx: EmitContext) -> dict[str, str | bytes]:
        roles = self.roles(plan)
        lines = list(ctx.lines)
        program = plan.program
        context = backend.render_context(program, plan.share, plan.shared(program))
        stem, ext = GOLDEN_FILE.rsplit(".", 1)
        context.update(
            golden=ctx.golden,
            golden_name=GOLDEN_FILE,
            golden_stem=stem,
            golden_ext=ext,
            golden_magic=GOLDEN_MAGIC.decode(),
            memory_pushes=SWIFT_MEMORY_PUSHES,
            memory_pushes_debug=SWIFT_MEMORY_PUSHES_DEBUG,
            min_hop=min(w.hop for w in program.windows),
        )
        header = escape.line_comments(lines)
        files: dict[str, str | bytes] = {}
        for role, template in (
            ("package", "swift/Package.swift.j2"),
            ("source", "swift/Features.swift.j2"),
            ("tests", "swift/Tests.swift.j2"),
            ("shim", "swift/Shim.swift.j2"),
        ):
            files[roles[role]] = ctx.render(template, header=header, **common(program), **context)
        if plan.device is not program:  # the featuriser the detector runs
            device = plan.device
            d_context = backend.render_context(device, plan.share, plan.shared(device))
            d_header = escape.line_comments(device_lines(plan, lines))
            for role, template in (
                ("device_source", "swift/Features.swift.j2"),
                ("device_shim", "swift/Shim.swift.j2"),
            ):
                files[roles[role]] = ctx.render(
                    template, header=d_header, **common(device), **d_context
                )
        return files
