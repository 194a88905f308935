"""C99 target (Android NDK): streaming, a fixed-size state struct, no heap, no globals.

Only ``sqrt`` and ``fabs`` are used from libm (both exact or correctly rounded everywhere), and
``isfinite`` for the input check. The file carries ``#pragma STDC FP_CONTRACT OFF`` (clang honours
it) and the emitted CMakeLists.txt passes ``-ffp-contract=off`` (GCC ignores the pragma).
"""
from __future__ import annotations

from .. import ir
from ..lowering import Program, reads_cur
from ..sharing import share_program
from .base import Emitter, hex_literal, used_functions, used_tables


def state_magic(*parts: str) -> str:
    """A 32-bit C literal that init stores in a state and push compares first: the leading
    bits of sha256 over ``parts`` (what the state belongs to: kind, spec hash, generator
    version, prefix, sizes), never 0. A zero-filled, garbage-filled or freed-and-reused state,
    or one initialised by another spec's or version's init, fails the one comparison (a random
    one passes with probability 2**-32)."""
    import hashlib

    digest = hashlib.sha256("\n".join(("featgen state",) + parts).encode()).hexdigest()
    return f"0x{int(digest[:8], 16) or 1:08x}UL"


def table_literal(value: float) -> str:
    """A table entry: exact (hex float, or ``1.0`` for integral values), without a comment."""
    text = hex_literal(value)
    return text.split(" /* ")[0]


class CEmitter(Emitter):
    def __init__(self, *args, scratch_base: str = "st->scratch", **kw):
        super().__init__(*args, **kw)
        self.scratch_base = scratch_base

    def literal(self, value: float) -> str:
        return hex_literal(value)

    def special(self, value: float) -> str:
        if value != value:
            return "NAN"
        return "INFINITY" if value > 0 else "(-INFINITY)"

    def scratch(self, buf: ir.Buf) -> list[str]:
        return [f"double *const {buf.name} = {self.scratch_base} + {buf.offset};"]

    def sort(self, buf: ir.Buf) -> list[str]:
        b, i, j, key = buf.name, f"{buf.name}_i", f"{buf.name}_j", f"{buf.name}_key"
        after = f"(({b}[{j}] > {key}) || (({b}[{j}] != {b}[{j}]) && ({key} == {key})))"
        return [
            f"/* insertion sort of {b}, ascending, NaN last */",
            f"for (int {i} = 1; {i} < {buf.length}; ++{i}) {{",
            f"    const double {key} = {b}[{i}];",
            f"    int {j} = {i} - 1;",
            f"    while (({j} >= 0) && {after}) {{",
            f"        {b}[{j} + 1] = {b}[{j}];",
            f"        {j} -= 1;",
            "    }",
            f"    {b}[{j} + 1] = {key};",
            "}",
        ]

    def table(self, table: ir.Table) -> list[str]:
        name = self.table_name(table.name)
        lines = [f"static const double {name}[{len(table.values)}] = {{"]
        row: list[str] = []
        for v in table.values:
            row.append(table_literal(v) + ",")
            if len(row) == 4:
                lines.append("    " + " ".join(row))
                row = []
        if row:
            lines.append("    " + " ".join(row))
        return lines + ["};"]

    def function(self, fn: ir.Function) -> list[str]:
        params = ", ".join(f"double {p}" for p in fn.params)
        doc = [f"/* {fn.doc} */"] if fn.doc else []
        return [*doc, f"static double {self.function_name(fn.name)}({params})", "{",
                *self.block(self.stmts(fn.body)), f"    return {self.expr(fn.result)};", "}"]

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


def signal_lines(emitter: Emitter, name: str, steps, value: ir.Expr | None,
                 assign=lambda target, value: f"{target} = {value};") -> list[str]:
    """Statements computing one derived signal on one sample: its state slots' steps in order
    (each assigned where ``emitter.state`` says it lives), then the local ``s_<name>``."""
    lines = [assign(emitter.state(name, slot), emitter.expr(expr)) for slot, expr in steps]
    return lines + [assign(f"s_{name}", emitter.expr(value))]


def render_context(program: Program, share: bool = True, shared: dict | None = None) -> dict:
    """What templates/c/*.j2 need: statement lists per signal and per window kernel (one merged
    kernel per window with ``share``: codegen/sharing.py)."""
    derived = [s for s in program.signals if s.kind != "input"]
    cur = lambda n: f"s_{n}"                       # noqa: E731  (locals in push)
    prev = lambda n: f"st->prev_{n}"               # noqa: E731
    state = lambda sig, slot: f"st->state_{sig}_{slot}"   # noqa: E731
    emitter = CEmitter(cur=cur, prev=prev, state=state)
    signals = [{
        "name": s.name, "doc": s.doc,
        "first": signal_lines(emitter, s.name, s.first_steps, s.first),
        "later": signal_lines(emitter, s.name, s.later_steps, s.later),
        "restart": None if s.restart is None else emitter.expr(s.restart),
    } for s in derived]
    windows = []
    if shared is None:      # a caller without a Plan (tests): run the pass here
        shared = share_program(program) if share else {}
    for w in program.windows:
        features = []
        if w.name in shared:
            merged = shared[w.name]
            emitter = CEmitter(slot_names=tuple(f"w_{s}" for s in w.signals),
                               out=lambda k: f"st->features[{k}]",
                               out_comment=lambda k, n=merged.names: f"/* {n[k]} */")
            features.append({"names": [f"all {len(merged.names)} features of window {w.name}, "
                                       "sharing their common work"],
                             "lines": emitter.stmts(merged.body)})
        for f in (w.features if w.name not in shared else ()):
            emitter = CEmitter(slot_names=tuple(f"w_{s}" for s in f.slots),
                               out=lambda k, base=f.column: f"st->features[{base + k}]")
            features.append({"names": f.outputs, "lines": emitter.stmts(f.kernel.body)})
        windows.append({"name": w.name, "length": w.length, "hop": w.hop,
                        "signals": w.signals, "features": features})
    read = set(program.ring_signals) | set(program.prev_signals)
    for s in derived:
        read |= set().union(*(reads_cur(e) for e in s.exprs))
    used_inputs = [(i, n) for i, n in enumerate(program.inputs) if n in read]
    bodies = program.all_code()
    plain = CEmitter()
    from .. import __version__
    magic = state_magic("features", program.spec.spec_hash, __version__, program.name,
                        str(len(program.inputs)), str(program.n_features))
    return {"derived": signals, "state_magic": magic, "windows": windows, "used_inputs": used_inputs,
            "state_slots": [(s.name, slot) for s in derived for slot in s.slots],
            "scratch_size": (max((s.scratch for s in shared.values()), default=0) if share
                             else program.scratch_size),
            "tables": [plain.table(t) for t in used_tables(bodies)],
            "functions": [plain.function(f) for f in used_functions(bodies)]}
