"""The C99 target: c/<name>_features.{h,c} (and the device featuriser's), c/CMakeLists.txt.
codegen/backends/c.py prints the IR; templates/c/ lays it out."""

from __future__ import annotations

from .. import escape
from ..backends import c as backend
from ..pipeline import Plan
from .base import EmitContext, common, device_lines


class CTarget:
    name = "C"
    key = "c"
    title = "C99"
    passes: tuple[str, ...] = ("share",)
    parity = True

    def roles(self, plan: Plan) -> dict[str, str]:
        roles = {
            "header": f"c/{plan.program.name}_features.h",
            "source": f"c/{plan.program.name}_features.c",
            "cmake": "c/CMakeLists.txt",
        }
        if plan.device is not plan.program:
            roles.update(
                device_header=f"c/{plan.device.name}_features.h",
                device_source=f"c/{plan.device.name}_features.c",
            )
        if plan.program.spec.sensors is not None:  # emitted by the sensors stage (sensors.py)
            roles.update(
                sensors_header=f"c/{plan.program.name}_sensors.h",
                sensors_source=f"c/{plan.program.name}_sensors.c",
            )
        if plan.model is not None:  # emitted by the model stage (codegen/trees/build.py)
            name = plan.program.name
            roles.update(
                {
                    role: f"c/{name}_{stem}"
                    for role, stem in (
                        ("model_header", "model.h"),
                        ("model_source", "model.c"),
                        ("model_batch_source", "model_batch.c"),
                        ("detector_header", "detector.h"),
                        ("detector_source", "detector.c"),
                        ("recorder_header", "recorder.h"),
                        ("recorder_source", "recorder.c"),
                    )
                }
            )
        return roles

    def emit(self, plan: Plan, ctx: EmitContext) -> dict[str, str | bytes]:
        roles = self.roles(plan)
        lines = list(ctx.lines)
        files: dict[str, str | bytes] = {}
        for prefix, program, header in (
            ("", plan.program, lines),
            ("device_", plan.device, device_lines(plan, lines)),
        ):
            if prefix and program is plan.program:
                continue
            context = dict(
                header=escape.c_block_comment(header),
                **common(program),
                **backend.render_context(program, plan.share, plan.shared(program)),
            )
            files[roles[prefix + "header"]] = ctx.render("c/header.h.j2", **context)
            files[roles[prefix + "source"]] = ctx.render("c/source.c.j2", **context)
        # With a model the CMakeLists also builds the detector (from the device featuriser).
        model = {"has_model": True, "feat": plan.device.name} if plan.model is not None else {}
        files[roles["cmake"]] = ctx.render(
            "c/CMakeLists.txt.j2",
            header_line=escape.comment_line(lines[0] + " " + lines[2]),
            **model,
            **common(plan.program),
        )
        return files
