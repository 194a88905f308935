"""C99 target (Android NDK): streaming, a fixed-size state struct, no heap, no globals.

Only ``sqrt`` and ``fabs`` are used from libm (both exact or correctly rounded everywhere), and
``isfinite`` for the input check. The file carries ``#pragma STDC FP_CONTRACT OFF`` (clang honours
it) and the emitted CMakeLists.txt passes ``-ffp-contract=off`` (GCC ignores the pragma).
"""
from __future__ import annotations

from .. import ir
from ..lowering import Program, reads_cur
from .base import Emitter, hex_literal


class CEmitter(Emitter):
    def literal(self, value: float) -> str:
        return hex_literal(value)

    def sqrt(self, a: str) -> str:
        return f"sqrt({a})"

    def fabs(self, a: str) -> str:
        return f"fabs({a})"

    def index_value(self, index: str) -> str:
        return f"(double)({index})"

    def let(self, name: str, value: str, node: ir.Expr) -> str:
        return f"double {name} = {value};"

    def assign(self, name: str, value: str) -> str:
        return f"{name} = {value};"

    def loop(self, var: str, start: int, stop: int, body: list[str]) -> list[str]:
        return [f"for (int {var} = {start}; {var} < {stop}; ++{var}) {{", *self.block(body), "}"]


def render_context(program: Program) -> dict:
    """What templates/c/*.j2 need: statement lists per signal and per window kernel."""
    derived = [s for s in program.signals if s.kind != "input"]
    cur = lambda n: f"s_{n}"                       # noqa: E731  (locals in push)
    prev = lambda n: f"st->prev_{n}"               # noqa: E731
    signals = [{
        "name": s.name, "doc": s.doc,
        "first": CEmitter(cur=cur).expr(s.first),
        "later": CEmitter(cur=cur, prev=prev).expr(s.later),
    } for s in derived]
    windows = []
    for w in program.windows:
        features = []
        for f in w.features:
            emitter = CEmitter(slot_names=tuple(f"w_{s}" for s in f.slots),
                               out=lambda k, base=f.column: f"st->features[{base + k}]")
            features.append({"names": f.outputs, "lines": emitter.stmts(f.kernel.body)})
        windows.append({"name": w.name, "length": w.length, "hop": w.hop,
                        "signals": w.signals, "features": features})
    read = set(program.ring_signals) | set(program.prev_signals)
    for s in derived:
        read |= reads_cur(s.first) | reads_cur(s.later)
    used_inputs = [(i, n) for i, n in enumerate(program.inputs) if n in read]
    return {"derived": signals, "windows": windows, "used_inputs": used_inputs}
