"""What the C-family targets (C, Swift, Kotlin) print the same way up to syntax: the push step
of a streaming featuriser (codegen/streaming.py's plan), the insertion sort of a scratch buffer,
constant tables, and the window kernels of ``render_context``.

A subclass of ``CFamilyEmitter`` supplies the syntax hooks (``line_comment``, ``declare``,
``while_loop``, ``statement``, ``table_open``/``table_close``, and for the push step ``field``,
``not_finite``, ``if_head``, ``choose``, ``status``, ``ring_at``, ``eval_call``, ``storage``...);
the algorithm is written once here, so a fix to the sort's NaN rule or to the streaming
schedule, say, reaches every language at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from featurespec.vocabulary import ir

from .. import streaming
from ..lowering import SignalPlan, WindowPlan
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

    # ---------------------------------------------------------------- push step hooks
    # The push step (codegen/streaming.py) in this language: syntax only, every rule is in
    # ``push_body``. The defaults suit Swift and Kotlin (state as the instance's properties).
    def field(self, name: str) -> str:
        """A variable of the featuriser's state (``pos``, ``phase_w``, ``restart_s``...)."""
        return name

    def true_value(self) -> str:
        return "true"

    def constant(self, name: str, value: int) -> str:
        """A size of the featuriser (``N_INPUTS``, ``MAX_LENGTH``, ``RING_LENGTH``)."""
        return str(value)

    def not_finite(self, value: str) -> str:
        """A test that ``value`` is NaN or infinite."""
        raise NotImplementedError

    def if_head(self, cond: str, comment: str | None = None) -> str:
        """The first line of an if statement (its block is closed by a line ``}``)."""
        raise NotImplementedError

    def declare_later(self, name: str, doc: str) -> str:
        """A double local assigned exactly once further on, with a trailing comment."""
        raise NotImplementedError

    def choose(self, cond: str, then: str, other: str) -> str:
        """The conditional expression (an integer: a ring slot, a phase)."""
        return f"({cond}) ? {then} : {other}"

    def status(self, name: str) -> str:
        """The status ``EMITTED``, ``PENDING`` or ``REJECTED``."""
        raise NotImplementedError

    def ring_at(self, signal: str, copy: int) -> str:
        """Where this sample's value of ``signal`` goes: ring slot ``slot`` (``copy`` 0) or
        ``slot + ring_length`` (``copy`` 1)."""
        raise NotImplementedError

    def eval_call(self, window: str, start: str | None) -> str:
        """The call computing one window's features (``start``: its oldest sample's ring
        index, None when its kernels read no samples)."""
        raise NotImplementedError

    def storage(self, lines: list[str]) -> list[str]:
        """``lines`` where the rings and the latest vector can be written."""
        return lines

    def emitted(self) -> list[str]:
        """Hands the latest vector out and returns ``EMITTED``."""
        return [self.ret("EMITTED")]

    def emit_when(self, cond: str) -> list[str]:
        """``emitted()`` when ``cond`` holds, else returns ``PENDING``."""
        choice = self.choose(cond, self.status("EMITTED"), self.status("PENDING"))
        return [self.statement(f"return {choice}")]

    def ret(self, status: str) -> str:
        return self.statement(f"return {self.status(status)}")

    def if_block(
        self, cond: str, body: list[str], other: list[str] | None = None, comment: str | None = None
    ) -> list[str]:
        lines = [self.if_head(cond, comment), *self.block(body)]
        if other is not None:
            lines += ["} else {", *self.block(other)]
        return [*lines, "}"]

    # ---------------------------------------------------------------- the push step
    def push_body(self, step: streaming.StreamStep) -> list[str]:
        """The statements of one push: every step of ``step`` in order, each introduced by its
        one-line comment, a blank line between steps."""
        lines: list[str] = []
        for part in step.steps:
            if lines:
                lines.append("")
            lines += [self.line_comment(part.doc), *self.push_part(part)]
        return lines

    def push_part(self, part: streaming.Step) -> list[str]:
        s = streaming
        if isinstance(part, s.RejectNonFinite):
            n = self.constant("N_INPUTS", part.n_inputs)
            check = self.if_block(self.not_finite("sample[i]"), [self.ret("REJECTED")])
            return self.loop("i", 0, n, check)  # type: ignore[arg-type]  # a named size prints as the bound
        if isinstance(part, s.ReadInputs):
            return [self.declare(f"s_{n}", "double", f"sample[{i}]", False) for i, n in part.inputs]
        if isinstance(part, s.DeriveSignals):
            return self.derive(part.signals)
        if isinstance(part, s.KeepPrevious):
            return [self.assign(self.field(f"prev_{n}"), f"s_{n}") for n in part.signals]
        if isinstance(part, s.WriteRings):
            size = self.constant("RING_LENGTH", part.ring_length)
            writes = [
                self.assign(self.ring_at(n, copy), f"s_{n}")
                for n in part.signals
                for copy in (0, 1)
            ]
            newest = self.declare("newest", "int", f"slot + {size}", False)
            return [
                self.declare("slot", "int", self.field("pos"), False),
                f"{newest} {self.line_comment('this sample, second copy')}",
                self.assign(self.field("pos"), self.choose(f"slot + 1 == {size}", "0", "slot + 1")),
                *self.storage(writes),
            ]
        if isinstance(part, s.WarmUp):
            filled, size = self.field("filled"), self.constant("MAX_LENGTH", part.warmup)
            count = [
                self.statement(f"{filled} += 1"),
                *self.if_block(f"{filled} < {size}", [self.ret("PENDING")]),
            ]
            return self.if_block(f"{filled} < {size}", count)
        if isinstance(part, s.Schedule):
            lines = []
            for p in part.phases:
                phase = self.field(f"phase_{p.window}")
                if p.read:
                    lines.append(self.declare(f"due_{p.window}", "bool", f"{phase} == 0", False))
                lines.append(
                    self.assign(phase, self.choose(f"{phase} + 1 == {p.hop}", "0", f"{phase} + 1"))
                )
            return lines
        if isinstance(part, s.Evaluate):
            lines = []
            for w in part.windows:
                if w.held:
                    lines.append(
                        self.line_comment(
                            f"window {w.window}: none of its features is computed here; it "
                            "keeps the schedule"
                        )
                    )
                    continue
                start = None if w.start is None else f"newest - {w.start}"
                call = self.statement(self.eval_call(w.window, start))
                lines += [call] if w.hop == 1 else self.if_block(f"due_{w.window}", [call])
            return self.storage(lines)
        if isinstance(part, s.Emit):
            if part.always:
                return self.emitted()
            return self.emit_when(" || ".join(f"due_{w}" for w in part.due))
        raise TypeError(f"unknown push step {type(part).__name__}")

    def derive(self, signals: tuple[SignalPlan, ...]) -> list[str]:
        """The derived signals on this sample: their first rule on the stream's first sample,
        their later rule after it, and the restart of a recursion that went non-finite."""
        lines = []
        if signals:
            lines += [self.declare_later(f"s_{s.name}", s.doc) for s in signals]
            first: list[str] = []
            later: list[str] = []
            for sig in signals:
                on_first = signal_lines(self, sig.name, sig.first_steps, sig.first, self.assign)
                on_later = signal_lines(self, sig.name, sig.later_steps, sig.later, self.assign)
                first += on_first
                if sig.restart is None:
                    later += on_later
                else:
                    later += self.if_block(
                        self.field(f"restart_{sig.name}"),
                        on_first,
                        on_later,
                        comment="non-finite on the last sample: start again",
                    )
            lines += self.if_block(self.field("started"), later, first)
            lines += [
                f"{self.assign(self.field(f'restart_{s.name}'), self.expr(s.restart))} "
                + self.line_comment(f"{s.name} is NaN or +-inf")
                for s in signals
                if s.restart is not None
            ]
        return [*lines, self.assign(self.field("started"), self.true_value())]

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
