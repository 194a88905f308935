"""Swift target (iOS): a ``Sendable`` value type with one fixed-size storage array, no Foundation.

Only emission differs from C: every statement is a declaration with an explicit ``: Double``
(``let`` when the IR never reassigns it, ``var`` otherwise), expressions stay fully parenthesised
and short (one IR statement each), ``sqrt`` is ``.squareRoot()`` and ``abs`` is ``.magnitude``
(both exact or correctly rounded, lowered by LLVM to the same instructions as C's ``sqrt`` and
``fabs``). swiftc never contracts ``a * b + c`` into a fused multiply-add, with or without
``-O``: parity_tests/test_swift.py checks the LLVM IR, docs/swift.md records the command.

The feature math is the IR's; this module only decides names and the storage layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from featurespec.naming import pascal_case
from featurespec.vocabulary import ir

from ..lowering import Program
from ..sharing import share_program
from ..streaming import restart_flags, stream_step
from .base import hex_literal, used_functions, used_tables
from .cfamily import CFamilyEmitter, window_kernels

upper_camel = pascal_case  # the one naming rule (featurespec/naming.py)


def _wrapped(a: str) -> bool:
    """Whether ``a`` is one parenthesised group, e.g. ``(x + y)`` but not ``(x) + (y)``."""
    if not (a.startswith("(") and a.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(a):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i != len(a) - 1:
            return False
    return True


def _operand(a: str) -> str:
    """``a`` as the receiver of a postfix member access (``.squareRoot()``)."""
    simple = a.replace("_", "").isalnum()  # a plain variable name
    return a if simple or _wrapped(a) else f"({a})"


class SwiftEmitter(CFamilyEmitter):
    def __init__(
        self,
        *args: Any,
        reassigned: frozenset[str] = frozenset(),
        scratch_offset: int = 0,
        rings: dict[str, int] | None = None,
        ring_length: int = 0,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.reassigned = reassigned
        self.scratch_offset = scratch_offset  # where the scratch space starts in storage
        self.rings = rings or {}  # push step: signal -> offset of its ring in storage
        self.ring_length = ring_length

    @classmethod
    def for_body(cls, body: tuple[ir.Stmt, ...], **kw: Any) -> "SwiftEmitter":
        """An emitter that knows which variables of ``body`` are assigned after their ``Let``."""
        assigned = frozenset(
            s.var.name for stmt in body for s in ir.walk(stmt) if isinstance(s, ir.Set)
        )
        return cls(reassigned=assigned, **kw)

    def literal(self, value: float) -> str:
        text = hex_literal(value)
        # A negative literal is parenthesised so that no operator can run into its sign.
        return f"({text})" if text.startswith("-") else text

    def sqrt(self, a: str) -> str:
        return f"{_operand(a)}.squareRoot()"

    def fabs(self, a: str) -> str:
        return f"{_operand(a)}.magnitude"

    def index_value(self, index: str) -> str:
        return f"Double({index})"

    def let(self, name: str, value: str, node: ir.Expr) -> str:
        keyword = "var" if name in self.reassigned else "let"
        return f"{keyword} {name}: Double = {value}"

    def loop(self, var: str, start: int, stop: int, body: list[str]) -> list[str]:
        return [f"for {var} in {start}..<{stop} {{", *self.block(body), "}"]

    def special(self, value: float) -> str:
        if value != value:
            return "Double.nan"
        return "Double.infinity" if value > 0 else "(-Double.infinity)"

    def scratch(self, buf: ir.Buf) -> list[str]:
        return [
            f"let {buf.name}: UnsafeMutablePointer<Double> = base + "
            f"{self.scratch_offset + buf.offset}"
        ]

    def table_at(self, name: str, index: str) -> str:
        return f"Self.{self.table_name(name)}[{index}]"

    # syntax hooks of the C-family base (sort, tables: codegen/backends/cfamily.py)
    def line_comment(self, text: str) -> str:
        return f"// {text}"

    def declare(self, name: str, kind: str, value: str, mutable: bool) -> str:
        return f"{'var' if mutable else 'let'} {name}: {kind.capitalize()} = {value}"

    def while_loop(self, cond: str, body: list[str]) -> list[str]:
        return [f"while {cond} {{", *self.block(body), "}"]

    def statement(self, text: str) -> str:
        return text

    def table_open(self, name: str, size: int) -> str:
        return f"private static let {name}: [Double] = ["

    def table_close(self) -> str:
        return "]"

    def call(self, name: str, args: list[str]) -> str:
        return f"Self.{self.function_name(name)}({', '.join(args)})"

    # push step hooks (codegen/backends/cfamily.py push_body): the state is stored properties,
    # the rings and the latest vector live in ``storage``, reached through its buffer pointer
    def not_finite(self, value: str) -> str:
        return f"!{value}.isFinite"

    def if_head(self, cond: str, comment: str | None = None) -> str:
        return f"if {cond} {{" + ("" if comment is None else f" // {comment}")

    def declare_later(self, name: str, doc: str) -> str:
        return f"let {name}: Double // {doc}"

    def status(self, name: str) -> str:
        return f".{name.lower()}"

    def ring_at(self, signal: str, copy: int) -> str:
        return f"base[{self.rings[signal] + copy * self.ring_length} + slot]"

    def eval_call(self, window: str, start: str | None) -> str:
        return f"Self.eval_{window}(base{'' if start is None else ', ' + start})"

    def storage(self, lines: list[str]) -> list[str]:
        if not any("base[" in line or "(base" in line for line in lines):
            return lines  # nothing written to storage (a held window's comment)
        return [
            "storage.withUnsafeMutableBufferPointer { "
            "(buffer: inout UnsafeMutableBufferPointer<Double>) in",
            *self.block(["let base: UnsafeMutablePointer<Double> = buffer.baseAddress!", *lines]),
            "}",
        ]

    def function(self, fn: ir.Function) -> list[str]:
        body = SwiftEmitter.for_body(fn.body).stmts(fn.body)
        params = ", ".join(f"_ {p}: Double" for p in fn.params)
        doc = [f"/// {fn.doc}"] if fn.doc else []
        return [
            *doc,
            f"private static func {self.function_name(fn.name)}({params}) -> Double {{",
            *self.block(body),
            f"    return {self.expr(fn.result)}",
            "}",
        ]


def storage_layout(program: Program, scratch_size: int | None = None) -> dict[str, Any]:
    """Offsets in the one storage array: each ring (``2 * max_length`` doubles: the samples are
    stored twice, so every window is contiguous), then the latest feature values, then the
    scratch space of order statistics and spectra."""
    n = program.ring_length
    rings = {s: i * 2 * n for i, s in enumerate(program.ring_signals)}
    features = len(program.ring_signals) * 2 * n
    scratch = features + program.n_features
    return {
        "rings": rings,
        "features": features,
        "scratch": scratch,
        "size": scratch + (program.scratch_size if scratch_size is None else scratch_size),
    }


def render_context(
    program: Program, share: bool = True, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What templates/swift/*.j2 need: statement lists per signal and per window kernel (one
    merged kernel per window with ``share``: codegen/sharing.py)."""
    type_name = upper_camel(program.name) + "Features"
    if shared is None:  # a caller without a Plan (tests): run the pass here
        shared = share_program(program) if share else {}
    layout = storage_layout(
        program, max((s.scratch for s in shared.values()), default=0) if share else None
    )
    derived = [s for s in program.signals if s.kind != "input"]
    cur = lambda n: f"s_{n}"  # noqa: E731  (locals in advance)
    prev = lambda n: f"prev_{n}"  # noqa: E731  (stored properties)
    state = lambda sig, slot: f"state_{sig}_{slot}"  # noqa: E731  (stored properties)
    push = SwiftEmitter(
        cur=cur, prev=prev, state=state, rings=layout["rings"], ring_length=program.ring_length
    )

    def make(
        body: tuple[ir.Stmt, ...],
        slot_names: tuple[str, ...],
        out: Callable[[int], str],
        out_comment: Callable[[int], str] | None,
    ) -> SwiftEmitter:
        return SwiftEmitter.for_body(
            body,
            slot_names=slot_names,
            out=out,
            out_comment=out_comment,
            scratch_offset=layout["scratch"],
        )

    windows = [
        {
            "name": w.name,
            "length": w.length,
            "hop": w.hop,
            "back": w.length - 1,
            "signals": w.signals,
            "features": window_kernels(
                w, shared, make, lambda k: f"features[{k}]", lambda name: f"// {name}"
            ),
            "rings": {s: layout["rings"][s] for s in w.signals},
        }
        for w in program.windows
    ]
    return {
        "type_name": type_name,
        "module_name": type_name,
        "shim_module": upper_camel(program.name) + "Shim",
        "box_name": upper_camel(program.name) + "Box",
        "restart_flags": restart_flags(program),
        "push_body": push.push_body(stream_step(program)),
        "windows": windows,
        "rings": [(s, layout["rings"][s]) for s in program.ring_signals],
        "features_offset": layout["features"],
        "storage_size": layout["size"],
        "always_emits": any(w.hop == 1 for w in program.windows),
        "hopped": [w.name for w in program.windows if w.hop > 1],
        "state_slots": [(s.name, slot) for s in derived for slot in s.slots],
        "tables": [SwiftEmitter().table(t) for t in used_tables(program.all_code())],
        "functions": [SwiftEmitter().function(f) for f in used_functions(program.all_code())],
    }
