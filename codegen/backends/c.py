"""C99 target (Android NDK): streaming, a fixed-size state struct, no heap, no globals.

Only ``sqrt`` and ``fabs`` are used from libm (both exact or correctly rounded everywhere), and
``isfinite`` for the input check. The file carries ``#pragma STDC FP_CONTRACT OFF`` (clang honours
it) and the emitted CMakeLists.txt passes ``-ffp-contract=off`` (GCC ignores the pragma).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from featurespec.vocabulary import ir

from ..lowering import Program
from ..sharing import share_program
from ..streaming import restart_flags, stream_step
from .base import hex_literal, used_functions, used_tables
from .cfamily import CFamilyEmitter, window_kernels
from .cfamily import signal_lines as signal_lines  # re-exported: its old home
from .cfamily import table_literal as table_literal  # re-exported: its old home


def state_magic(*parts: str) -> str:
    """A 32-bit C literal that init stores in a state and push compares first: the leading
    bits of sha256 over ``parts`` (what the state belongs to: kind, spec hash, generator
    version, prefix, sizes), never 0. A zero-filled, garbage-filled or freed-and-reused state,
    or one initialised by another spec's or version's init, fails the one comparison (a random
    one passes with probability 2**-32)."""
    import hashlib

    digest = hashlib.sha256("\n".join(("featgen state",) + parts).encode()).hexdigest()
    return f"0x{int(digest[:8], 16) or 1:08x}UL"


class CEmitter(CFamilyEmitter):
    def __init__(
        self, *args: Any, scratch_base: str = "st->scratch", prefix: str = "", **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.scratch_base = scratch_base
        self.prefix = prefix  # the upper-case name of the featuriser's macros (push step)

    def literal(self, value: float) -> str:
        return hex_literal(value)

    def special(self, value: float) -> str:
        if value != value:
            return "NAN"
        return "INFINITY" if value > 0 else "(-INFINITY)"

    def scratch(self, buf: ir.Buf) -> list[str]:
        return [f"double *const {buf.name} = {self.scratch_base} + {buf.offset};"]

    # syntax hooks of the C-family base (sort, tables: codegen/backends/cfamily.py)
    def line_comment(self, text: str) -> str:
        return f"/* {text} */"

    def declare(self, name: str, kind: str, value: str, mutable: bool) -> str:
        kind = "int" if kind == "bool" else kind
        return f"{'' if mutable else 'const '}{kind} {name} = {value};"

    def while_loop(self, cond: str, body: list[str]) -> list[str]:
        return [f"while ({cond}) {{", *self.block(body), "}"]

    def statement(self, text: str) -> str:
        return f"{text};"

    def table_open(self, name: str, size: int) -> str:
        return f"static const double {name}[{size}] = {{"

    # push step hooks (codegen/backends/cfamily.py push_body): the state is ``st->``, sizes and
    # statuses are the header's macros, the vector is copied to ``out`` when emitted
    def field(self, name: str) -> str:
        return f"st->{name}"

    def true_value(self) -> str:
        return "1"

    def constant(self, name: str, value: int) -> str:
        return f"{self.prefix}_{name}"

    def not_finite(self, value: str) -> str:
        return f"!isfinite({value})"

    def if_head(self, cond: str, comment: str | None = None) -> str:
        return f"if ({cond}) {{" + ("" if comment is None else f" /* {comment} */")

    def declare_later(self, name: str, doc: str) -> str:
        return f"double {name}; /* {doc} */"

    def status(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def ring_at(self, signal: str, copy: int) -> str:
        index = f"slot + {self.prefix}_RING_LENGTH" if copy else "slot"
        return f"st->ring_{signal}[{index}]"

    def eval_call(self, window: str, start: str | None) -> str:
        return f"eval_{window}(st{'' if start is None else ', ' + start})"

    def emitted(self) -> list[str]:
        return ["memcpy(out, st->features, sizeof st->features);", self.ret("EMITTED")]

    def emit_when(self, cond: str) -> list[str]:
        return [*self.if_block(cond, self.emitted()), self.ret("PENDING")]

    def table_close(self) -> str:
        return "};"

    def function(self, fn: ir.Function) -> list[str]:
        params = ", ".join(f"double {p}" for p in fn.params)
        doc = [f"/* {fn.doc} */"] if fn.doc else []
        return [
            *doc,
            f"static double {self.function_name(fn.name)}({params})",
            "{",
            *self.block(self.stmts(fn.body)),
            f"    return {self.expr(fn.result)};",
            "}",
        ]

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


def render_context(
    program: Program, share: bool = True, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What templates/c/*.j2 need: statement lists per signal and per window kernel (one merged
    kernel per window with ``share``: codegen/sharing.py)."""
    derived = [s for s in program.signals if s.kind != "input"]
    cur = lambda n: f"s_{n}"  # noqa: E731  (locals in push)
    prev = lambda n: f"st->prev_{n}"  # noqa: E731
    state = lambda sig, slot: f"st->state_{sig}_{slot}"  # noqa: E731
    push = CEmitter(cur=cur, prev=prev, state=state, prefix=program.name.upper())
    if shared is None:  # a caller without a Plan (tests): run the pass here
        shared = share_program(program) if share else {}

    def make(
        body: tuple[ir.Stmt, ...],
        slot_names: tuple[str, ...],
        out: Callable[[int], str],
        out_comment: Callable[[int], str] | None,
    ) -> CEmitter:
        return CEmitter(slot_names=slot_names, out=out, out_comment=out_comment)

    windows = [
        {
            "name": w.name,
            "length": w.length,
            "hop": w.hop,
            "signals": w.signals,
            "features": window_kernels(
                w, shared, make, lambda k: f"st->features[{k}]", lambda name: f"/* {name} */"
            ),
        }
        for w in program.windows
    ]
    bodies = program.all_code()
    plain = CEmitter()
    from .. import __version__

    magic = state_magic(
        "features",
        program.spec.spec_hash,
        __version__,
        program.name,
        str(len(program.inputs)),
        str(program.n_features),
    )
    return {
        "restart_flags": restart_flags(program),
        "push_body": push.push_body(stream_step(program)),
        "state_magic": magic,
        "windows": windows,
        "state_slots": [(s.name, slot) for s in derived for slot in s.slots],
        "scratch_size": (
            max((s.scratch for s in shared.values()), default=0) if share else program.scratch_size
        ),
        "tables": [plain.table(t) for t in used_tables(bodies)],
        "functions": [plain.function(f) for f in used_functions(bodies)],
    }
