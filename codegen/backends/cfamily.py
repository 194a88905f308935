"""What the C-family targets (C, Swift, Kotlin) print the same way up to syntax: the insertion
sort of a scratch buffer, constant tables, and the parts of ``render_context`` that walk the
program (derived signals per sample, window kernels, the inputs a featuriser reads).

A subclass of ``CFamilyEmitter`` supplies the syntax hooks (``line_comment``, ``declare``,
``while_loop``, ``statement``, ``table_open``/``table_close``); the algorithm is written once
here, so a fix to the sort's NaN rule, say, reaches every language at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from featurespec.vocabulary import ir

from ..lowering import Program, WindowPlan, reads_cur
from .base import Emitter, hex_literal


def table_literal(value: float) -> str:
    """A table entry: exact (hex float, or ``1.0`` for integral values), without a comment."""
    text = hex_literal(value)
    return text.split(" /* ")[0]


class CFamilyEmitter(Emitter):
    """An emitter for a language with C's statements (C, Swift, Kotlin, Java...)."""

    # ---------------------------------------------------------------- syntax hooks
    def line_comment(self, text: str) -> str:
        raise NotImplementedError

    def declare(self, name: str, kind: str, value: str, mutable: bool) -> str:
        """A local of ``kind`` "double" or "int" (``mutable``: assigned again later)."""
        raise NotImplementedError

    def while_loop(self, cond: str, body: list[str]) -> list[str]:
        raise NotImplementedError

    def statement(self, text: str) -> str:
        """A bare statement (``j -= 1``) with the language's terminator."""
        raise NotImplementedError

    def table_open(self, name: str, size: int) -> str:
        raise NotImplementedError

    def table_close(self) -> str:
        raise NotImplementedError

    # ---------------------------------------------------------------- written once
    def sort(self, buf: ir.Buf) -> list[str]:
        """Insertion sort of ``buf``, ascending, NaN last: the order numpy's ``np.sort`` gives
        (and the same comparisons in every target, so ties and signed zeros land alike)."""
        b, i, j, key = buf.name, f"{buf.name}_i", f"{buf.name}_j", f"{buf.name}_key"
        after = f"(({b}[{j}] > {key}) || (({b}[{j}] != {b}[{j}]) && ({key} == {key})))"
        return [
            self.line_comment(f"insertion sort of {b}, ascending, NaN last"),
            *self.loop(
                i,
                1,
                buf.length,
                [
                    self.declare(key, "double", f"{b}[{i}]", mutable=False),
                    self.declare(j, "int", f"{i} - 1", mutable=True),
                    *self.while_loop(
                        f"({j} >= 0) && {after}",
                        [
                            self.assign(f"{b}[{j} + 1]", f"{b}[{j}]"),
                            self.statement(f"{j} -= 1"),
                        ],
                    ),
                    self.assign(f"{b}[{j} + 1]", key),
                ],
            ),
        ]

    def table(self, table: ir.Table) -> list[str]:
        """The declaration of a constant table, four exact entries per line."""
        lines = [self.table_open(self.table_name(table.name), len(table.values))]
        row: list[str] = []
        for v in table.values:
            row.append(table_literal(v) + ",")
            if len(row) == 4:
                lines.append("    " + " ".join(row))
                row = []
        if row:
            lines.append("    " + " ".join(row))
        return [*lines, self.table_close()]


def signal_lines(
    emitter: Emitter,
    name: str,
    steps: Iterable[tuple[str, ir.Expr]],
    value: ir.Expr | None,
    assign: Callable[[str, str], str] = lambda target, value: f"{target} = {value};",
) -> list[str]:
    """Statements computing one derived signal on one sample: its state slots' steps in order
    (each assigned where ``emitter.state`` says it lives), then the local ``s_<name>``."""
    lines = [
        assign(emitter.state(name, slot), emitter.expr(expr))  # type: ignore[misc]  # set by every emitter whose kernels hold this node
        for slot, expr in steps
    ]
    return lines + [assign(f"s_{name}", emitter.expr(value))]  # type: ignore[arg-type]  # a derived signal always has a value


def derived_signals(
    program: Program, emitter: Emitter, assign: Callable[[str, str], str] | None = None
) -> list[dict[str, Any]]:
    """Per derived signal: its doc, the statements on the stream's first sample and on later
    ones, and the restart condition (None: never restarts)."""
    kw = {} if assign is None else {"assign": assign}
    return [
        {
            "name": s.name,
            "doc": s.doc,
            "first": signal_lines(emitter, s.name, s.first_steps, s.first, **kw),
            "later": signal_lines(emitter, s.name, s.later_steps, s.later, **kw),
            "restart": None if s.restart is None else emitter.expr(s.restart),
        }
        for s in program.signals
        if s.kind != "input"
    ]


def used_inputs(program: Program) -> list[tuple[int, str]]:
    """(index, name) of the inputs the featuriser reads (a pruned one may read fewer)."""
    read = set(program.ring_signals) | set(program.prev_signals)
    for s in program.signals:
        if s.kind != "input":
            read |= set().union(*(reads_cur(e) for e in s.exprs))
    return [(i, n) for i, n in enumerate(program.inputs) if n in read]


# make(body, slot_names, out, out_comment) -> an emitter for that kernel body
MakeEmitter = Callable[
    [tuple[ir.Stmt, ...], tuple[str, ...], Callable[[int], str], Callable[[int], str] | None],
    Emitter,
]


def window_kernels(
    window: WindowPlan,
    shared: dict[str, Any],
    make: MakeEmitter,
    out: Callable[[int], str],
    comment: Callable[[str], str],
) -> list[dict[str, Any]]:
    """The statements of one window's features: its merged kernel when the sharing pass merged
    it (``shared``: {window name: SharedWindow}), else one kernel per feature. ``out(column)``
    is where vector column ``column`` is stored; ``comment(name)`` a comment naming a feature."""
    if window.name in shared:
        merged = shared[window.name]

        def out_comment(k: int, n: dict[int, str] = merged.names) -> str:
            return comment(n[k])

        emitter = make(merged.body, tuple(f"w_{s}" for s in window.signals), out, out_comment)
        what = (
            f"all {len(merged.names)} features of window {window.name}, sharing their common work"
        )
        return [{"names": [what], "lines": emitter.stmts(merged.body)}]
    kernels = []
    for f in window.features:

        def column_out(k: int, base: int = f.column) -> str:
            return out(base + k)

        emitter = make(f.kernel.body, tuple(f"w_{s}" for s in f.slots), column_out, None)
        kernels.append({"names": f.outputs, "lines": emitter.stmts(f.kernel.body)})
    return kernels
