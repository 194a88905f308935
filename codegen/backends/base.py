"""Default emission of every IR node; each target overrides only what differs (sqlglot-style).

Every binary operation is printed fully parenthesised, so no target's precedence rules or
re-association can change the order of evaluation the IR states.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from featurespec.vocabulary import ir


class Emitter:
    """Prints IR. Subclasses set the class attributes and override the few hooks below."""

    indent = "    "
    logic_ops = {"and": "&&", "or": "||"}
    comment = "//"

    def __init__(
        self,
        slot_names: tuple[str, ...] = (),
        out: Callable[[int], str] | None = None,
        cur: Callable[[str], str] | None = None,
        prev: Callable[[str], str] | None = None,
        state: Callable[[str, str], str] | None = None,
        out_comment: Callable[[int], str] | None = None,
    ):
        self.slot_names = slot_names
        self.out_target = out
        self.out_comment = out_comment  # k -> a comment after the store of output k
        self.cur = cur
        self.prev = prev
        self.state = state  # (signal, slot) -> where that state slot lives

    # ---------------------------------------------------------------- hooks per target
    def literal(self, value: float) -> str:
        raise NotImplementedError

    def sqrt(self, a: str) -> str:
        raise NotImplementedError

    def fabs(self, a: str) -> str:
        raise NotImplementedError

    def select(self, cond: str, then: str, other: str) -> str:
        return f"({cond} ? {then} : {other})"

    def at(self, slot: str, index: str) -> str:
        return f"{slot}[{index}]"

    def index_value(self, index: str) -> str:
        raise NotImplementedError

    def let(self, name: str, value: str, node: ir.Expr) -> str:
        raise NotImplementedError

    def assign(self, name: str, value: str) -> str:
        return f"{name} = {value}"

    def loop(self, var: str, start: int, stop: int, body: list[str]) -> list[str]:
        raise NotImplementedError

    def special(self, value: float) -> str:
        """A non-finite literal (``inf``, ``-inf``, ``nan``)."""
        raise NotImplementedError

    # scratch buffers (order statistics), constant tables (spectra), functions (log, atan2)
    def buf_at(self, name: str, index: str) -> str:
        return f"{name}[{index}]"

    def scratch(self, buf: ir.Buf) -> list[str]:
        raise NotImplementedError

    def sort(self, buf: ir.Buf) -> list[str]:
        raise NotImplementedError

    def table_name(self, name: str) -> str:
        return f"featgen_{name}"

    def table_at(self, name: str, index: str) -> str:
        return f"{self.table_name(name)}[{index}]"

    def table(self, table: ir.Table) -> list[str]:
        """The declaration of a constant table, once per file."""
        raise NotImplementedError

    def function_name(self, name: str) -> str:
        return f"featgen_{name}"

    def call(self, name: str, args: list[str]) -> str:
        return f"{self.function_name(name)}({', '.join(args)})"

    def function(self, fn: ir.Function) -> list[str]:
        """The definition of an IR function, once per file."""
        raise NotImplementedError

    def literal_or_special(self, value: float) -> str:
        return self.literal(value) if math.isfinite(value) else self.special(value)

    # ---------------------------------------------------------------- shared printing
    def index(self, idx: ir.Index) -> str:
        if idx.var is None:
            return str(idx.offset)
        term = idx.var if idx.times is None else f"{idx.var} * {idx.times}"
        if idx.scale != 1:
            term = f"{term} * {idx.scale}"
        if idx.offset:
            sign = "+" if idx.offset > 0 else "-"
            term = f"{term} {sign} {abs(idx.offset)}"
        if idx.mod is not None:
            term = f"({term}) % {idx.mod}"
        return term

    def expr(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Const):
            return self.literal_or_special(e.value)
        if isinstance(e, ir.Var):
            return e.name
        if isinstance(e, ir.At):
            return self.at(self.slot_names[e.slot], self.index(e.index))
        if isinstance(e, ir.BufAt):
            return self.buf_at(e.buf.name, self.index(e.index))
        if isinstance(e, ir.TableAt):
            return self.table_at(e.table.name, self.index(e.index))
        if isinstance(e, ir.Call):
            return self.call(e.fn.name, [self.expr(a) for a in e.args])
        if isinstance(e, ir.Slot):
            return self.state(e.signal, e.slot)  # type: ignore[misc]  # set by every emitter whose kernels hold this node
        if isinstance(e, ir.IndexValue):
            return self.index_value(self.index(e.index))
        if isinstance(e, ir.Bin):
            return f"({self.expr(e.a)} {e.op} {self.expr(e.b)})"
        if isinstance(e, ir.Unary):
            a = self.expr(e.a)
            if e.op == "neg":
                return f"(-{a})"
            return self.sqrt(a) if e.op == "sqrt" else self.fabs(a)
        if isinstance(e, ir.Cmp):
            return f"({self.expr(e.a)} {e.op} {self.expr(e.b)})"
        if isinstance(e, ir.Logic):
            return f"({self.expr(e.a)} {self.logic_ops[e.op]} {self.expr(e.b)})"
        if isinstance(e, ir.Select):
            return self.select(self.expr(e.cond), self.expr(e.then), self.expr(e.other))
        if isinstance(e, ir.Cur):
            return self.cur(e.name)  # type: ignore[misc]  # set by every emitter whose kernels hold this node
        if isinstance(e, ir.Prev):
            return self.prev(e.name)  # type: ignore[misc]  # set by every emitter whose kernels hold this node
        raise TypeError(f"unknown IR node {type(e).__name__}")

    def stmts(self, body: tuple[ir.Stmt, ...]) -> list[str]:
        lines: list[str] = []
        for s in body:
            if isinstance(s, ir.Let):
                lines.append(self.let(s.var.name, self.expr(s.value), s.value))
            elif isinstance(s, ir.Set):
                lines.append(self.assign(s.var.name, self.expr(s.value)))
            elif isinstance(s, ir.Out):
                line = self.assign(self.out_target(s.k), self.expr(s.value))  # type: ignore[misc]  # set by every emitter whose kernels hold this node
                if self.out_comment is not None:
                    line = f"{line} {self.out_comment(s.k)}"
                lines.append(line)
            elif isinstance(s, ir.Loop):
                lines.extend(self.loop(s.var, s.start, s.stop, self.stmts(s.body)))
            elif isinstance(s, ir.Scratch):
                lines.extend(self.scratch(s.buf))
            elif isinstance(s, ir.BufSet):
                lines.append(
                    self.assign(self.buf_at(s.buf.name, self.index(s.index)), self.expr(s.value))
                )
            elif isinstance(s, ir.SortBuf):
                lines.extend(self.sort(s.buf))
            else:
                raise TypeError(f"unknown IR statement {type(s).__name__}")
        return lines

    def block(self, lines: list[str]) -> list[str]:
        return [self.indent + line for line in lines]


def used_tables(bodies: Iterable[Iterable[ir.Node]]) -> list[ir.Table]:
    """Every constant table the statements or expressions read, once each, by name."""
    found: dict[str, ir.Table] = {}
    for body in bodies:
        for node in body:
            for n in ir.walk(node):
                if isinstance(n, ir.TableAt):
                    old = found.setdefault(n.table.name, n.table)
                    if old.values != n.table.values:
                        raise ir.IRError(f"two different tables named {n.table.name}")
    return [found[k] for k in sorted(found)]


def used_functions(bodies: Iterable[Iterable[ir.Node]]) -> list[ir.Function]:
    """Every IR function called, once each, by name."""
    found: dict[str, ir.Function] = {}
    for body in bodies:
        for node in body:
            for n in ir.walk(node):
                if isinstance(n, ir.Call):
                    found.setdefault(n.fn.name, n.fn)
    return [found[k] for k in sorted(found)]


def hex_literal(value: float) -> str:
    """Exact in C99 and Swift: integral values as ``25.0``, others as a hex float + comment."""
    if value == int(value) and abs(value) < 2.0**53 and not (value == 0 and str(value)[0] == "-"):
        return f"{int(value)}.0"
    return f"{value.hex()} /* {value!r} */"
