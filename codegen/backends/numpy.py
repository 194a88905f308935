"""numpy target: batch featurisation of whole recordings, vectorised across windows.

A kernel's doubles become vectors with one element per window: ``x[k]`` is the column
``w_x[:, k]`` of a strided window view. The IR's loops stay Python loops over ``k``, so every
window sees exactly the sequential order the C and Swift code use (never numpy's pairwise sums).
Stateless signals are whole-array expressions; a recursive signal (ema) is a scalar loop over
the recording in Python floats, which are IEEE doubles with the same rounding.
"""
from __future__ import annotations

from .. import ir
from ..lowering import Program, SignalPlan, reads_cur, reads_prev
from .base import Emitter, used_functions, used_tables


class NumpyEmitter(Emitter):
    logic_ops = {"and": "&", "or": "|"}
    comment = "#"

    def literal(self, value: float) -> str:
        return repr(float(value))          # Python's repr round-trips every double exactly

    def sqrt(self, a: str) -> str:
        return f"np.sqrt({a})"

    def fabs(self, a: str) -> str:
        return f"np.abs({a})"

    def select(self, cond: str, then: str, other: str) -> str:
        return f"np.where({cond}, {then}, {other})"

    def at(self, slot: str, index: str) -> str:
        return f"{slot}[:, {index}]"

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

    def buf_at(self, name: str, index: str) -> str:
        return f"{name}[:, {index}]"

    def expr(self, e: ir.Expr) -> str:
        text = super().expr(e)
        # A buffer column is a view: a variable holding one must not change when the buffer is
        # written later (mad overwrites the sorted copy after reading its median).
        return f"{text}.copy()" if isinstance(e, ir.BufAt) else text

    def scratch(self, buf: ir.Buf) -> list[str]:
        return [f"{buf.name} = np.empty((out.shape[0], {buf.length}))"]   # one row per window

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
    """Statements that set ``s_<name>`` (a float64 array over the recording) from the IR."""
    name = f"s_{sig.name}"
    if sig.kind == "input":
        return [f"{name} = samples[:, {sig.input_index}]"]
    if sig.slots:
        # State slots (filters): Python floats in a scalar loop, one statement per step, in
        # the order the C and Swift runtimes run them.
        reads = sorted(ir_reads(sig) - {sig.name})
        scalar = NumpyEmitter(cur=lambda n: f"c_{n}[t]",
                              state=lambda s, slot: f"state_{slot}")
        lines = [f"c_{n} = s_{n}.tolist()" for n in reads]
        lines += [f"{name} = np.empty(n_samples)", "if n_samples:", "    t = 0"]
        lines += [f"    state_{slot} = {scalar.expr(e)}" for slot, e in sig.first_steps]
        lines += [f"    {name}[0] = {scalar.expr(sig.first)}",
                  "    for t in range(1, n_samples):"]
        lines += [f"        state_{slot} = {scalar.expr(e)}" for slot, e in sig.later_steps]
        lines += [f"        {name}[t] = {scalar.expr(sig.later)}"]
        return lines
    if sig.recursive:
        # Python floats in a scalar loop: the recursion is inherently sequential.
        reads = sorted(ir_reads(sig) - {sig.name})
        scalar = NumpyEmitter(cur=lambda n: f"c_{n}[t]" if n != sig.name else "y",
                              prev=lambda n: "y" if n == sig.name else f"c_{n}[t - 1]")
        lines = [f"c_{n} = s_{n}.tolist()" for n in reads]
        lines += [
            f"{name} = np.empty(n_samples)",
            "if n_samples:",
            f"    t = 0",
            f"    y = {scalar.expr(sig.first)}",
            f"    {name}[0] = y",
            "    for t in range(1, n_samples):",
            f"        y = {scalar.expr(sig.later)}",
            f"        {name}[t] = y",
        ]
        return lines
    first = NumpyEmitter(cur=lambda n: f"s_{n}[:1]").expr(sig.first)
    if not reads_prev(sig.later) and first == NumpyEmitter(cur=lambda n: f"s_{n}[:1]").expr(sig.later):
        return [f"{name} = {NumpyEmitter(cur=lambda n: f's_{n}').expr(sig.later)}"]  # every sample alike
    later = NumpyEmitter(cur=lambda n: f"s_{n}[1:]", prev=lambda n: f"s_{n}[:-1]").expr(sig.later)
    return [f"{name} = np.empty(n_samples)",
            f"{name}[:1] = {first}",
            f"{name}[1:] = {later}"]


def ir_reads(sig: SignalPlan) -> set[str]:
    return set().union(*(reads_cur(e) | reads_prev(e) for e in sig.exprs))


def render_context(program: Program) -> dict:
    """What templates/numpy/module.py.j2 needs; all code comes from the IR."""
    signals = [{"name": s.name, "doc": s.doc, "lines": signal_lines(s)} for s in program.signals]
    windows = []
    for w in program.windows:
        features = []
        for f in w.features:
            emitter = NumpyEmitter(slot_names=tuple(f"w_{s}" for s in f.slots),
                                   out=lambda k, base=f.window_column: f"out[:, {base + k}]")
            features.append({"names": f.outputs, "doc": f.feature.kind,
                             "lines": emitter.stmts(f.kernel.body)})
        windows.append({
            "name": w.name, "columns_name": f"COLUMNS_{w.name.upper()}", "length": w.length, "hop": w.hop, "signals": w.signals,
            "n_outputs": w.n_outputs, "features": features,
            "columns": [c for f in w.features for c in range(f.column, f.column + f.kernel.n_outputs)],
        })
    bodies = program.all_code()
    plain = NumpyEmitter()
    return {"signals": signals, "windows": windows,
            "tables": [plain.table(t) for t in used_tables(bodies)],
            "functions": [plain.function(f) for f in used_functions(bodies)]}
