"""The numpy target: python/<name>_features.py, the training featuriser and the parity
reference (codegen/backends/numpy.py prints the IR, templates/numpy/ lays it out)."""

from __future__ import annotations

from .. import escape
from ..backends import numpy as backend
from ..pipeline import Plan
from .base import EmitContext, common


class NumpyTarget:
    name = "numpy"
    key = "numpy"
    title = "numpy (training)"
    passes: tuple[str, ...] = ("share",)
    parity = False  # the reference every other target is compared with

    def roles(self, plan: Plan) -> dict[str, str]:
        return {"module": f"python/{plan.program.name}_features.py"}

    def emit(self, plan: Plan, ctx: EmitContext) -> dict[str, str | bytes]:
        program = plan.program
        context = backend.render_context(program, plan.share, plan.shared(program))
        return {
            self.roles(plan)["module"]: ctx.render(
                "numpy/module.py.j2",
                header=escape.python_docstring(list(ctx.lines)),
                **common(program),
                **context,
            )
        }
