"""Default emission of every IR node; each target overrides only what differs (sqlglot-style).

Every binary operation is printed fully parenthesised, so no target's precedence rules or
re-association can change the order of evaluation the IR states.
"""
from __future__ import annotations

from typing import Callable

from .. import ir


class Emitter:
    """Prints IR. Subclasses set the class attributes and override the few hooks below."""

    indent = "    "
    logic_ops = {"and": "&&", "or": "||"}
    comment = "//"

    def __init__(self, slot_names: tuple[str, ...] = (), out: Callable[[int], str] | None = None,
                 cur: Callable[[str], str] | None = None, prev: Callable[[str], str] | None = None):
        self.slot_names = slot_names
        self.out_target = out
        self.cur = cur
        self.prev = prev

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

    # ---------------------------------------------------------------- shared printing
    def index(self, idx: ir.Index) -> str:
        if idx.var is None:
            return str(idx.offset)
        if idx.offset == 0:
            return idx.var
        sign = "+" if idx.offset > 0 else "-"
        return f"{idx.var} {sign} {abs(idx.offset)}"

    def expr(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Const):
            return self.literal(e.value)
        if isinstance(e, ir.Var):
            return e.name
        if isinstance(e, ir.At):
            return self.at(self.slot_names[e.slot], self.index(e.index))
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
            return self.cur(e.name)
        if isinstance(e, ir.Prev):
            return self.prev(e.name)
        raise TypeError(f"unknown IR node {type(e).__name__}")

    def stmts(self, body: tuple) -> list[str]:
        lines: list[str] = []
        for s in body:
            if isinstance(s, ir.Let):
                lines.append(self.let(s.var.name, self.expr(s.value), s.value))
            elif isinstance(s, ir.Set):
                lines.append(self.assign(s.var.name, self.expr(s.value)))
            elif isinstance(s, ir.Out):
                lines.append(self.assign(self.out_target(s.k), self.expr(s.value)))
            elif isinstance(s, ir.Loop):
                lines.extend(self.loop(s.var, s.start, s.stop, self.stmts(s.body)))
            else:
                raise TypeError(f"unknown IR statement {type(s).__name__}")
        return lines

    def block(self, lines: list[str]) -> list[str]:
        return [self.indent + line for line in lines]


def hex_literal(value: float) -> str:
    """Exact in C99 and Swift: integral values as ``25.0``, others as a hex float + comment."""
    if value == int(value) and abs(value) < 2.0 ** 53 and not (value == 0 and str(value)[0] == "-"):
        return f"{int(value)}.0"
    return f"{value.hex()} /* {value!r} */"
