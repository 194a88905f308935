"""numpy target: batch featurisation of whole recordings, vectorised across windows.

A kernel's doubles become vectors with one element per window: ``x[k]`` is row ``w_x[k]`` of
a strided view, sample k of every window. The IR's loops stay Python loops over ``k``, so every
window sees exactly the sequential order the C and Swift code use (never numpy's pairwise sums).
Stateless signals are whole-array expressions; a recursive signal (ema) is a scalar loop over
the recording in Python floats, which are IEEE doubles with the same rounding.

With ``share`` (the default) a window's kernels are merged as for C and Swift
(codegen/sharing.py): one DFT per signal for all its spectral features, one sum for mean, std
and slope. Every numpy op costs a Python call, so this matters more here than in C.
``share=False`` keeps one kernel per feature: the unshared module is the oracle the shared one
is checked against bit for bit (parity_tests/test_sharing.py).

A scratch buffer holds one row per sample index, ``buf[k]`` being contiguous across windows,
unless it is sorted: np.sort along the last axis is several times faster, so a sorted buffer
holds one row per window (``buf[:, k]``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, cast

from featurespec.vocabulary import ir

from ..lowering import Program, SignalPlan, reads_cur, reads_prev
from ..sharing import share_program
from ..streaming import schedule_source
from .base import Emitter, used_functions, used_tables


class NumpyEmitter(Emitter):
    logic_ops = {"and": "&", "or": "|"}
    comment = "#"

    def literal(self, value: float) -> str:
        return repr(float(value))  # Python's repr round-trips every double exactly

    def sqrt(self, a: str) -> str:
        return f"np.sqrt({a})"

    def fabs(self, a: str) -> str:
        return f"np.abs({a})"

    def select(self, cond: str, then: str, other: str) -> str:
        return f"np.where({cond}, {then}, {other})"

    def at(self, slot: str, index: str) -> str:
        return f"{slot}[{index}]"  # row k: sample k of every evaluation

    def index_value(self, index: str) -> str:
        return f"float({index})"

    def let(self, name: str, value: str, node: ir.Expr) -> str:
        # A float64 scalar, not a Python float: arithmetic on it then follows IEEE (inf, not
        # ZeroDivisionError), as in C and Swift.
        if isinstance(node, ir.Const):
            return f"{name} = np.float64({value})"
        return f"{name} = {value}"

    def loop(self, var: str, start: int, stop: int, body: list[str]) -> list[str]:
        return [f"for {var} in range({start}, {stop}):", *self.block(body)]

    def special(self, value: float) -> str:
        if value != value:
            return "np.nan"
        return "np.inf" if value > 0 else "(-np.inf)"

    sorted_bufs: frozenset[str] = frozenset()  # buffers sorted somewhere: one row per window

    def buf_at(self, name: str, index: str) -> str:
        return f"{name}[:, {index}]" if name in self.sorted_bufs else f"{name}[{index}]"

    in_place: frozenset[str] = frozenset()  # variables updated in place (see ``kernel``)

    def kernel(self, body: tuple[ir.Stmt, ...]) -> list[str]:
        """A kernel's statements, each repeated subexpression computed once (see
        ``common_subexpressions``), and each ``v = where(c, e, v)`` of a private accumulator
        done in place: ``np.copyto(v, e, where=c)`` writes only where ``c`` holds, the values
        ``np.where`` would have selected, without a new array (a third less time on min/max)."""
        body = common_subexpressions(body, self.expr)
        self.in_place = private_accumulators(body)
        return self.stmts(body)

    def expr(self, e: ir.Expr) -> str:
        # Exact rewrites of patterns np.where makes slow (np.where costs three additions):
        # count + (c ? 1 : 0) adds the boolean itself (numpy converts True/False to exactly
        # 1.0/0.0 inside the addition); the sign (a > 0 ? 1 : a < 0 ? -1 : 0) is the difference
        # of the two booleans as doubles (1.0, -1.0 or +0.0; 0.0 for NaN too, as both compare
        # false); a - 0.0 is a itself for every double (-0.0 - 0.0 is -0.0, NaN stays NaN).
        if (
            isinstance(e, ir.Bin)
            and e.op == "+"
            and isinstance(e.b, ir.Select)
            and _is_const(e.b.then, 1.0)
            and _is_const(e.b.other, 0.0)
        ):
            return f"({self.expr(e.a)} + {self.expr(e.b.cond)})"
        sign = _sign_of(e)
        if sign is not None:
            a = self.expr(sign)
            return f"np.subtract(({a} > 0.0), ({a} < 0.0), dtype=np.float64)"
        if isinstance(e, ir.Bin) and e.op == "-" and _is_const(e.b, 0.0):
            return self.expr(e.a)
        return super().expr(e)

    def stmts(self, body: tuple[ir.Stmt, ...]) -> list[str]:
        # A buffer element is a view: a variable holding one must not change when the buffer
        # is written later (mad overwrites the sorted copy after reading its median). Any
        # arithmetic on it already makes a new array.
        lines: list[str] = []
        for s in body:
            if isinstance(s, ir.Let) and s.var.name in self.in_place:
                lines.append(f"{s.var.name} = np.full(out.shape[0], {self.expr(s.value)})")
            elif (
                isinstance(s, ir.Set)
                and s.var.name in self.in_place
                and isinstance(s.value, ir.Select)
                and _is_var(s.value.other, s.var.name)
            ):
                lines.append(
                    f"np.copyto({s.var.name}, {self.expr(s.value.then)}, "
                    f"where={self.expr(s.value.cond)})"
                )
            elif isinstance(s, (ir.Let, ir.Set)) and isinstance(s.value, ir.BufAt):
                lines.append(f"{s.var.name} = {self.expr(s.value)}.copy()")
            else:
                lines.extend(super().stmts((s,)))
        return lines

    def scratch(self, buf: ir.Buf) -> list[str]:
        if buf.name in self.sorted_bufs:
            return [f"{buf.name} = np.empty((out.shape[0], {buf.length}))"]
        return [f"{buf.name} = np.empty(({buf.length}, out.shape[0]))"]

    def sort(self, buf: ir.Buf) -> list[str]:
        # Exact: a sort only permutes values; np.sort puts NaN last like the C/Swift sort.
        return [f"{buf.name}.sort(axis=1)"]

    def table_name(self, name: str) -> str:
        return f"_featgen_{name}"

    def table(self, table: ir.Table) -> list[str]:
        lines = [f"{self.table_name(table.name)} = np.array(["]
        row: list[str] = []
        for v in table.values:
            row.append(repr(float(v)) + ",")
            if len(row) == 4:
                lines.append("    " + " ".join(row))
                row = []
        if row:
            lines.append("    " + " ".join(row))
        return lines + ["])"]

    def function_name(self, name: str) -> str:
        return f"_featgen_{name}"

    def function(self, fn: ir.Function) -> list[str]:
        # Arguments become float64 arrays, so division by zero and overflow follow IEEE (no
        # Python float exceptions); np.where evaluates both branches (warnings are silenced by
        # featurize), and selects the same values as C's ?:.
        lines = [f"def {self.function_name(fn.name)}({', '.join(fn.params)}):"]
        if fn.doc:
            lines.append(f'    """{fn.doc}"""')
        lines += [f"    {p} = np.asarray({p}, dtype=np.float64)" for p in fn.params]
        lines += self.block(self.stmts(fn.body))
        lines.append(f"    return {self.expr(fn.result)}")
        return lines


def signal_lines(sig: SignalPlan) -> list[str]:
    """Statements (in ``_signals``) that set ``s_<name>``, a float64 array over a run of accepted
    samples, from the IR. ``carry`` is None when the run starts the stream (the ``first``
    expressions apply to its row 0), else the previous run's ``carried``: the last value of each
    signal read as a previous value (``carry[name]``) and each recursion's state
    (``carry["<name>.state"]``), so that a stream pushed in chunks gets the same bits."""
    name = f"s_{sig.name}"
    if sig.kind == "input":
        return [f"{name} = samples[:, {sig.input_index}]"]
    if sig.slots or sig.recursive:
        return scalar_loop(sig)
    sig_first = cast(ir.Expr, sig.first)  # set for every derived signal
    sig_later = cast(ir.Expr, sig.later)
    first = NumpyEmitter(cur=lambda n: f"s_{n}[:1]").expr(sig_first)
    if not reads_prev(sig_later) and first == NumpyEmitter(cur=lambda n: f"s_{n}[:1]").expr(
        sig_later
    ):
        return [
            f"{name} = {NumpyEmitter(cur=lambda n: f's_{n}').expr(sig_later)}"
        ]  # every sample alike
    later = NumpyEmitter(cur=lambda n: f"s_{n}[1:]", prev=lambda n: f"s_{n}[:-1]").expr(sig_later)
    resumed = NumpyEmitter(cur=lambda n: f"s_{n}", prev=lambda n: f"p_{n}").expr(sig_later)
    return [
        "if carry is None:",
        f"    {name} = np.empty(n_samples)",
        f"    {name}[:1] = {first}",
        f"    {name}[1:] = {later}",
        "else:  # every sample is a later one; row 0 reads the previous run's last values",
        *(
            f"    p_{n} = np.concatenate(([carry[{n!r}]], s_{n}[:-1]))"
            for n in sorted(reads_prev(sig_later))
        ),
        f"    {name} = {resumed}",
    ]


def scalar_loop(sig: SignalPlan) -> list[str]:
    """A recursive signal (ema, filters) as a scalar loop in Python floats, one statement per
    step in the order the C and Swift runtimes run them. The inputs are read once per sample
    into ``x_<name>`` and the outputs collected in a list: indexing a numpy array per sample
    costs more than the arithmetic.

    The restart rule (``SignalPlan.restart``: a non-finite value restarts the signal on the
    next sample as on the first) is the outer ``while``: the inner loop breaks after the
    sample whose value is non-finite and the next pass starts at the sample after it with the
    ``first`` steps. The test is one float subtraction and its truth value per sample.
    A resumed run (``carry``: a stream pushed in chunks) puts the previous run's last values
    and state at index 0 of the lists (``pad`` = 1), starts at index 1, and carries whether the
    next sample restarts (``<name>.restart``)."""
    name = f"s_{sig.name}"
    reads = sorted(ir_reads(sig) - {sig.name})
    scalar = NumpyEmitter(
        cur=lambda n: f"x_{n}" if n != sig.name else "y",
        prev=lambda n: "y" if n == sig.name else f"c_{n}[t - 1]",
        state=lambda s, slot: f"state_{slot}",
    )
    cond = cast(ir.Expr, sig.restart)  # a recursive signal always has its restart rule
    sig_first = cast(ir.Expr, sig.first)  # set for every derived signal
    sig_later = cast(ir.Expr, sig.later)
    # `v != 0.0` is exactly the truth value of the Python float v (NaN is true): one operation
    # less per sample than the comparison.
    is_ne_zero = isinstance(cond, ir.Cmp) and cond.op == "!=" and _is_const(cond.b, 0.0)
    restart = scalar.expr(cond.a) if is_ne_zero else scalar.expr(cond)  # type: ignore[attr-defined]  # is_ne_zero: a Cmp
    names = [f"state_{slot}" for slot in sig.slots] + ["y"]
    state = f"({', '.join(names)}{',' if len(names) == 1 else ''})"  # a tuple, even of one
    lines = [f"c_{n} = s_{n}.tolist()" for n in reads]
    lines += [
        "if carry is None:",
        f"    y_{sig.name} = [0.0] * n_samples",
        "    t, fresh = 0, True",
        "else:",
    ]
    lines += [f"    c_{n}.insert(0, carry[{n!r}])" for n in reads]
    lines += [
        f"    {state} = carry[{sig.name + '.state'!r}]",
        f"    y_{sig.name} = [y] * (n_samples + 1)",
        f"    t, fresh = 1, carry[{sig.name + '.restart'!r}]",
        "end = n_samples + pad",
        "while t < end:  # a pass per restart: the first sample, or one after a non-finite value",
    ]
    lines += ["    if fresh:"]
    lines += [f"        x_{n} = c_{n}[t]" for n in reads]
    lines += [f"        state_{slot} = {scalar.expr(e)}" for slot, e in sig.first_steps]
    lines += [
        f"        y = {scalar.expr(sig_first)}",
        f"        y_{sig.name}[t] = y",
        "        t += 1",
        f"        if {restart}:",
        "            continue",
        "    for t in range(t, end):",
    ]
    lines += [f"        x_{n} = c_{n}[t]" for n in reads]
    lines += [f"        state_{slot} = {scalar.expr(e)}" for slot, e in sig.later_steps]
    lines += [
        f"        y = {scalar.expr(sig_later)}",
        f"        y_{sig.name}[t] = y",
        f"        if {restart}:",
        "            break",
        "    else:",
        "        fresh = False  # the run ended without a non-finite value",
        "        break",
        "    t, fresh = t + 1, True",
    ]
    return lines + [
        f"carried[{sig.name + '.state'!r}] = {state}",
        f"carried[{sig.name + '.restart'!r}] = fresh",
        f"{name} = np.array(y_{sig.name}, dtype=np.float64)[pad:]",
    ]


def carried_signals(program: Program) -> list[str]:
    """Signals whose last value a resumed run reads: those read as a previous value, and
    those a recursion reads (its lists hold the previous run's last value at index 0)."""
    needed: set[str] = set()
    for sig in program.signals:
        if sig.kind == "input" or sig.later is None:
            continue
        if sig.slots or sig.recursive:
            needed |= ir_reads(sig) - {sig.name}
        else:
            needed |= reads_prev(sig.later)
    return [s.name for s in program.signals if s.name in needed]


def ir_reads(sig: SignalPlan) -> set[str]:
    return set().union(*(reads_cur(e) | reads_prev(e) for e in sig.exprs))


def sorted_buffers(body: tuple[ir.Stmt, ...]) -> frozenset[str]:
    return frozenset(n.buf.name for s in body for n in ir.walk(s) if isinstance(n, ir.SortBuf))


def render_context(
    program: Program, share: bool = True, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What templates/numpy/module.py.j2 needs; all code comes from the IR (one merged kernel
    per window with ``share``: codegen/sharing.py)."""
    signals = [{"name": s.name, "doc": s.doc, "lines": signal_lines(s)} for s in program.signals]
    windows = []
    if shared is None:  # a caller without a Plan (tests): run the pass here
        shared = share_program(program) if share else {}
    for w in program.windows:
        features: list[dict[str, Any]] = []
        if w.name in shared:
            merged = shared[w.name]
            local = {
                c: i
                for i, c in enumerate(
                    c for f in w.features for c in range(f.column, f.column + f.kernel.n_outputs)
                )
            }

            def out_comment(k: int, n: dict[int, str] = merged.names) -> str:
                return f"# {n[k]}"

            emitter = NumpyEmitter(
                slot_names=tuple(f"w_{s}" for s in w.signals),
                out=lambda k: f"out[:, {local[k]}]",
                out_comment=out_comment,
            )
            emitter.sorted_bufs = sorted_buffers(merged.body)
            features.append(
                {
                    "names": [
                        f"all {len(merged.names)} features of window {w.name}, "
                        "sharing their common work"
                    ],
                    "lines": emitter.kernel(merged.body),
                }
            )
        for f in w.features if w.name not in shared else ():

            def column_out(k: int, base: int = f.window_column) -> str:
                return f"out[:, {base + k}]"

            emitter = NumpyEmitter(slot_names=tuple(f"w_{s}" for s in f.slots), out=column_out)
            emitter.sorted_bufs = sorted_buffers(f.kernel.body)
            features.append(
                {"names": f.outputs, "doc": f.feature.kind, "lines": emitter.kernel(f.kernel.body)}
            )
        windows.append(
            {
                "name": w.name,
                "columns_name": f"COLUMNS_{w.name.upper()}",
                "length": w.length,
                "hop": w.hop,
                "signals": w.signals,
                "n_outputs": w.n_outputs,
                "features": features,
                "columns": [
                    c for f in w.features for c in range(f.column, f.column + f.kernel.n_outputs)
                ],
            }
        )
    bodies = program.all_code()
    plain = NumpyEmitter()
    window_signals = list(dict.fromkeys(s for w in program.windows for s in w.signals))
    return {
        "signals": signals,
        "windows": windows,
        "schedule": schedule_source(),
        "window_signals": window_signals,
        "carried": carried_signals(program),
        "tables": [plain.table(t) for t in used_tables(bodies)],
        "functions": [plain.function(f) for f in used_functions(bodies)],
    }


# ---------------------------------------------------------------- common subexpressions

_SHAREABLE = (ir.Bin, ir.Unary, ir.Cmp, ir.Logic, ir.Select, ir.Call, ir.At, ir.TableAt)


def common_subexpressions(
    body: tuple[ir.Stmt, ...], key: Callable[[ir.Expr], str]
) -> tuple[ir.Stmt, ...]:
    """``body`` with every subexpression that occurs twice or more in a block (a kernel's top
    level, or one loop body) computed once into a ``cse<n>`` variable before its first use.

    Why numpy only: every numpy operation is a Python call over all windows, so
    ``(x[k] - mean) * (x[k] - mean)`` costs two subtractions here, while a C or Swift compiler
    folds them itself. Exact: the shared value is the same operation on the same operands (its
    text under ``key`` is the key), and it is used only while none of the variables or buffers
    it reads has been written since. numpy evaluates every operand eagerly (``np.where``, ``&``
    and ``|`` included), so moving a subexpression out of a branch changes no value. A buffer
    element itself is never shared: it is a view (see ``NumpyEmitter.stmts``)."""
    names = iter(f"cse{i}" for i in range(1, 1 << 30))
    return _cse_block(tuple(body), key, names)


def _cse_block(
    body: tuple[ir.Stmt, ...], key: Callable[[ir.Expr], str], names: Iterator[str]
) -> tuple[ir.Stmt, ...]:
    counts: dict[str, int] = {}
    for stmt in body:
        if not isinstance(stmt, ir.Loop):
            for node in _expressions(stmt):
                for n in ir.walk(node):
                    if isinstance(n, _SHAREABLE):
                        k = key(n)
                        counts[k] = counts.get(k, 0) + 1
    available: dict[str, tuple[str, set[str]]] = {}  # key -> (variable, what it reads)
    out: list[ir.Stmt] = []

    def rewrite(e: ir.Expr) -> ir.Expr:
        if isinstance(e, _SHAREABLE):
            k = key(e)
            if k in available:
                return ir.Var(available[k][0])
            if counts.get(k, 0) >= 2:
                value = _rebuild(e, rewrite)
                var = next(names)
                out.append(ir.Let(ir.Var(var), value))
                available[k] = (var, _expr_reads(e))
                return ir.Var(var)
        return _rebuild(e, rewrite)

    for stmt in body:
        if isinstance(stmt, ir.Loop):
            out.append(ir.Loop(stmt.var, stmt.start, stmt.stop, _cse_block(stmt.body, key, names)))
        elif isinstance(stmt, (ir.Let, ir.Set, ir.Out)):
            out.append(dataclasses.replace(stmt, value=rewrite(stmt.value)))
        elif isinstance(stmt, ir.BufSet):
            out.append(dataclasses.replace(stmt, value=rewrite(stmt.value)))
        else:
            out.append(stmt)
        written = _stmt_writes(stmt)
        for k in [k for k, (_, reads) in available.items() if reads & written]:
            del available[k]
    return tuple(out)


def _expressions(stmt: ir.Stmt) -> tuple[ir.Expr, ...]:
    return (stmt.value,) if isinstance(stmt, (ir.Let, ir.Set, ir.Out, ir.BufSet)) else ()


def _rebuild(e: ir.Expr, f: Callable[[ir.Expr], ir.Expr]) -> ir.Expr:
    """``e`` with ``f`` applied to each direct subexpression."""
    if isinstance(e, (ir.Bin, ir.Cmp, ir.Logic)):
        return dataclasses.replace(e, a=f(e.a), b=f(e.b))
    if isinstance(e, ir.Unary):
        return dataclasses.replace(e, a=f(e.a))
    if isinstance(e, ir.Select):
        return dataclasses.replace(e, cond=f(e.cond), then=f(e.then), other=f(e.other))
    if isinstance(e, ir.Call):
        return dataclasses.replace(e, args=tuple(f(a) for a in e.args))
    return e


def _expr_reads(e: ir.Expr) -> set[str]:
    """What a shared subexpression depends on (index variables included): featurespec/vocabulary/ir.py."""
    return ir.reads(e, indices=True)


def _stmt_writes(stmt: ir.Stmt) -> set[str]:
    """Everything ``stmt`` assigns while it runs (loop variables and loop-body lets too)."""
    return set(ir.writes(stmt, inner=True))


def _sign_of(e: ir.Expr) -> ir.Expr | None:
    """``a`` if ``e`` is ``a > 0 ? 1 : (a < 0 ? -1 : 0)``, else None."""
    if not (
        isinstance(e, ir.Select)
        and isinstance(e.other, ir.Select)
        and _is_const(e.then, 1.0)
        and _is_const(e.other.then, -1.0)
        and _is_const(e.other.other, 0.0)
    ):
        return None
    above, below = e.cond, e.other.cond
    if not (
        isinstance(above, ir.Cmp)
        and above.op == ">"
        and _is_const(above.b, 0.0)
        and isinstance(below, ir.Cmp)
        and below.op == "<"
        and _is_const(below.b, 0.0)
        and repr(above.a) == repr(below.a)
    ):  # the same expression
        return None
    return above.a


def _is_var(e: object, name: str) -> bool:
    return isinstance(e, ir.Var) and e.name == name


def _is_const(e: object, value: float) -> bool:
    return isinstance(e, ir.Const) and e.value == value and str(e.value) == str(value)


def private_accumulators(body: tuple[ir.Stmt, ...]) -> frozenset[str]:
    """Variables that can be updated in place: declared once, updated somewhere by
    ``v = where(c, e, v)``, every other update a fresh array computed from ``v`` itself, and
    never copied by reference into another variable (so no other name sees the writes). Their
    declaration then makes a private full-length array (``np.full``), whatever it starts from
    (a constant, or a view of the window)."""
    lets: dict[str, int] = {}
    selects: set[str] = set()
    refused: set[str] = set()
    for stmt in body:
        for n in ir.walk(stmt):
            if isinstance(n, ir.Let):
                lets[n.var.name] = lets.get(n.var.name, 0) + 1
            if isinstance(n, (ir.Let, ir.Set, ir.BufSet)) and isinstance(n.value, ir.Var):
                refused.add(n.value.name)  # an alias would see in-place writes
            if isinstance(n, ir.Set):
                v, value = n.var, n.value
                if isinstance(value, ir.Select) and _is_var(value.other, v.name):
                    selects.add(v.name)
                elif not (
                    isinstance(value, (ir.Bin, ir.Select))
                    and any(_is_var(o, v.name) for o in _operands(value))
                ):
                    refused.add(v.name)  # might become a scalar or an alias
    return frozenset(v for v in selects if lets.get(v) == 1 and v not in refused)


def _operands(e: ir.Bin | ir.Select) -> tuple[ir.Expr, ir.Expr]:
    if isinstance(e, ir.Bin):
        return (e.a, e.b)
    return (e.then, e.other)
