"""Pure Kotlin target (JVM / Android without the NDK): the featuriser, the tree model and the
detector as plain Kotlin classes, no JNI, no native code.

Why the bits are the numpy/C bits:

* the JVM's double and float arithmetic is strict IEEE 754 (JEP 306, Java 17: no extended
  exponent range), and neither HotSpot nor ART contracts ``a * b + c`` into a fused multiply-add
  unless the code calls ``Math.fma`` (never emitted);
* every IR statement is one Kotlin statement, fully parenthesised, in the IR's order;
* ``Math.sqrt`` is correctly rounded and ``Math.abs`` clears the sign, as C's sqrt/fabs;
* Kotlin has no hex float literals, so a Double constant is printed as Python's ``repr``: the
  shortest decimal that reads back as exactly that double under correct rounding, which
  Java's ``Double.parseDouble`` (what kotlinc uses) guarantees. A float32 model constant is
  printed as the ``repr`` of the same value as a double plus ``f``: that decimal is within half
  a double ULP of the float, so it reads back as the float whether the parser rounds straight to
  float or through double;
* the transcendentals are the IR's own portable functions (featurespec/vocabulary/transcendentals.py), as in C
  and Swift;
* the model follows the forest's ``Rule`` as the C does (codegen/trees/c_emit.py): XGBoost's
  ``toFloat()`` (round to nearest) and Float sums, or LightGBM's and scikit-learn's double
  thresholds, ``<=``, zero flush and zero band, Double sums and the single final division of
  an averaged forest; the sums run in tree order, one rounding per addition.

The JVM refuses a method of more than 64 KB of bytecode, so a window's kernel is split into
functions of at most ``LINES_PER_FUNCTION`` statements; a variable one part declares and a later
part reads is kept in a spill array of doubles (a store and load of a double are exact).
Unsigned types are experimental in kotlinc 1.3 and not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from featurespec.vocabulary import ir

from ..lowering import Program
from ..sharing import share_program
from ..streaming import restart_flags, stream_step
from ..trees import fp32
from .base import used_functions, used_tables
from .cfamily import CFamilyEmitter
from .swift import storage_layout, upper_camel

if TYPE_CHECKING:  # types only
    from ..pipeline import Plan
    from ..trees.decision import Decision
    from ..trees.ir import Forest, Rule, Tree

KOTLIN_PACKAGE = "featgen.jvm"
LINES_PER_FUNCTION = 200  # printed statements per generated function (64 KB bytecode cap)
TABLE_CHUNK = 1024  # table entries per initialiser function (same cap)


# Exact literals (Kotlin has no hex floats): one definition, in codegen/trees/fp32.py.
kotlin_double = fp32.kotlin_double_literal
kotlin_float = fp32.kotlin_float_literal


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _simple(index: str) -> bool:
    return index.replace("_", "").isalnum()


class KotlinEmitter(CFamilyEmitter):
    """Prints IR as Kotlin over one ``DoubleArray`` named ``st``: window slots and scratch
    buffers are Int offsets into it, spilled variables live in ``sp``. Its own ``sort`` and
    ``table`` (offsets into ``st``; tables filled in chunks), the C-family push step."""

    KINDS = {"double": "Double", "int": "Int", "bool": "Boolean"}

    def __init__(
        self,
        *args: Any,
        reassigned: frozenset[str] = frozenset(),
        buffers: dict[str, int] | None = None,
        spilled: dict[str, int] | None = None,
        tables: str = "",
        rings: dict[str, int] | None = None,
        ring_length: int = 0,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.reassigned = reassigned
        self.buffers = buffers or {}  # scratch buffer name -> absolute offset in st
        self.spilled = spilled or {}  # variable name -> index in sp
        self.tables = tables  # the object holding tables and functions
        self.rings = rings or {}  # push step: signal -> offset of its ring in st
        self.ring_length = ring_length
        self.st_local = False  # push step: ``val st = this.st`` declared already

    # syntax hooks of the C-family base, and its push step's
    # (codegen/backends/cfamily.py push_body): the state is the instance's properties, the rings
    # and the latest vector live in ``st``
    def line_comment(self, text: str) -> str:
        return f"// {text}"

    def declare(self, name: str, kind: str, value: str, mutable: bool) -> str:
        return f"{'var' if mutable else 'val'} {name}: {self.KINDS[kind]} = {value}"

    def while_loop(self, cond: str, body: list[str]) -> list[str]:
        return [f"while ({cond}) {{", *self.block(body), "}"]

    def statement(self, text: str) -> str:
        return text

    def table_open(self, name: str, size: int) -> str:
        return f"@JvmField val {name}: DoubleArray = doubleArrayOf("

    def table_close(self) -> str:
        return ")"

    def not_finite(self, value: str) -> str:
        return f"{value}.isNaN() || {value}.isInfinite()"

    def if_head(self, cond: str, comment: str | None = None) -> str:
        return f"if ({cond}) {{" + ("" if comment is None else f" // {comment}")

    def declare_later(self, name: str, doc: str) -> str:
        return f"val {name}: Double // {doc}"

    def choose(self, cond: str, then: str, other: str) -> str:
        return f"if ({cond}) {then} else {other}"

    def status(self, name: str) -> str:
        return f"Status.{name}"

    def ring_at(self, signal: str, copy: int) -> str:
        return f"st[{self.rings[signal] + copy * self.ring_length} + slot]"

    def eval_call(self, window: str, start: str | None) -> str:
        return f"eval_{window}({start or ''})"

    def push_body(self, step: Any) -> list[str]:
        self.st_local = False
        return super().push_body(step)

    def storage(self, lines: list[str]) -> list[str]:
        if self.st_local or not any("st[" in line for line in lines):
            return lines
        self.st_local = True  # one local copy of the field, for every later write
        return ["val st: DoubleArray = this.st", *lines]

    @classmethod
    def for_body(
        cls, body: tuple[ir.Stmt, ...], scratch_offset: int = 0, **kw: Any
    ) -> "KotlinEmitter":
        assigned = frozenset(
            s.var.name for stmt in body for s in ir.walk(stmt) if isinstance(s, ir.Set)
        )
        buffers: dict[str, int] = {}
        for stmt in body:
            for n in ir.walk(stmt):
                buf = getattr(n, "buf", None)
                if isinstance(buf, ir.Buf):
                    buffers[buf.name] = scratch_offset + buf.offset
        return cls(reassigned=assigned, buffers=buffers, **kw)

    def expr(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Var) and e.name in self.spilled:
            return f"sp[{self.spilled[e.name]}]"
        return super().expr(e)

    def literal(self, value: float) -> str:
        return _paren(kotlin_double(value))

    def special(self, value: float) -> str:
        if value != value:
            return "Double.NaN"
        return "Double.POSITIVE_INFINITY" if value > 0 else "Double.NEGATIVE_INFINITY"

    def sqrt(self, a: str) -> str:
        return f"Math.sqrt({a})"

    def fabs(self, a: str) -> str:
        return f"Math.abs({a})"

    def select(self, cond: str, then: str, other: str) -> str:
        return (
            f"(if {cond} {then} else {other})"
            if cond.startswith("(")
            else f"(if ({cond}) {then} else {other})"
        )

    def at(self, slot: str, index: str) -> str:
        return f"st[{slot} + {index if _simple(index) else '(' + index + ')'}]"

    def index_value(self, index: str) -> str:
        return f"({index}).toDouble()"

    def let(self, name: str, value: str, node: ir.Expr) -> str:
        if name in self.spilled:
            return f"sp[{self.spilled[name]}] = {value}"
        keyword = "var" if name in self.reassigned else "val"
        return f"{keyword} {name}: Double = {value}"

    def assign(self, name: str, value: str) -> str:
        if name in self.spilled:
            return f"sp[{self.spilled[name]}] = {value}"
        return f"{name} = {value}"

    def loop(self, var: str, start: int, stop: int, body: list[str]) -> list[str]:
        return [f"for ({var} in {start} until {stop}) {{", *self.block(body), "}"]

    def buf_at(self, name: str, index: str) -> str:
        return f"st[{self.buffers[name]} + {index if _simple(index) else '(' + index + ')'}]"

    def scratch(self, buf: ir.Buf) -> list[str]:
        return [
            f"// scratch {buf.name}: st[{self.buffers[buf.name]} until "
            f"{self.buffers[buf.name] + buf.length}]"
        ]

    def sort(self, buf: ir.Buf) -> list[str]:
        b, i, j, key = buf.name, f"{buf.name}_i", f"{buf.name}_j", f"{buf.name}_key"
        o = self.buffers[b]
        after = (
            f"((st[{o} + {j}] > {key}) || ((st[{o} + {j}] != st[{o} + {j}]) && ({key} == {key})))"
        )
        return [
            f"// insertion sort of {b}, ascending, NaN last",
            f"for ({i} in 1 until {buf.length}) {{",
            f"    val {key}: Double = st[{o} + {i}]",
            f"    var {j}: Int = {i} - 1",
            f"    while (({j} >= 0) && {after}) {{",
            f"        st[{o} + {j} + 1] = st[{o} + {j}]",
            f"        {j} -= 1",
            "    }",
            f"    st[{o} + {j} + 1] = {key}",
            "}",
        ]

    def table_at(self, name: str, index: str) -> str:
        return f"{self.tables}.{self.table_name(name)}[{index}]"

    def table(self, table: ir.Table) -> list[str]:
        """``@JvmField val featgen_x: DoubleArray`` in the constants object; a long table is
        filled by several functions so that no initialiser passes the JVM's method size cap."""
        name = self.table_name(table.name)
        values = [kotlin_double(v) for v in table.values]
        if len(values) <= TABLE_CHUNK:
            rows = [", ".join(values[k : k + 4]) for k in range(0, len(values), 4)]
            return [
                f"@JvmField val {name}: DoubleArray = doubleArrayOf(",
                *(
                    f"    {row}{',' if k < len(rows) - 1 else ''}"  # Kotlin 1.3: no
                    for k, row in enumerate(rows)
                ),
                ")",
            ]  # trailing comma
        parts = range(0, len(values), TABLE_CHUNK)
        lines = [
            f"@JvmField val {name}: DoubleArray = DoubleArray({len(values)}).also {{ t ->",
            *(f"    {name}_{p // TABLE_CHUNK}(t)" for p in parts),
            "}",
        ]
        for p in parts:
            lines += [
                "",
                f"private fun {name}_{p // TABLE_CHUNK}(t: DoubleArray) {{",
                *(f"    t[{p + k}] = {v}" for k, v in enumerate(values[p : p + TABLE_CHUNK])),
                "}",
            ]
        return lines

    def call(self, name: str, args: list[str]) -> str:
        return f"{self.tables}.{self.function_name(name)}({', '.join(args)})"

    def function(self, fn: ir.Function) -> list[str]:
        em = KotlinEmitter.for_body(fn.body, tables=self.tables)
        params = ", ".join(f"{p}: Double" for p in fn.params)
        doc = [f"/** {fn.doc} */"] if fn.doc else []
        return [
            *doc,
            f"fun {self.function_name(fn.name)}({params}): Double {{",
            *self.block(em.stmts(fn.body)),
            f"    return {em.expr(fn.result)}",
            "}",
        ]


def _reads(stmt: ir.Stmt) -> set[str]:
    return {n.name for n in ir.walk(stmt) if isinstance(n, ir.Var)} | {
        n.var.name for n in ir.walk(stmt) if isinstance(n, ir.Set)
    }


def split_body(
    body: tuple[ir.Stmt, ...], limit: int = LINES_PER_FUNCTION
) -> tuple[list[tuple[ir.Stmt, ...]], dict[str, int]]:
    """Top-level statements of ``body`` cut into parts of about ``limit`` printed statements
    (a loop is never cut), and the variables that cross a cut: {name: spill index}."""
    parts: list[list[ir.Stmt]] = [[]]
    size = 0
    for stmt in body:
        n = (
            sum(
                1
                for s in ir.walk(stmt)
                if isinstance(s, (ir.Let, ir.Set, ir.Out, ir.BufSet, ir.Loop, ir.SortBuf))
            )
            + 1
        )
        if parts[-1] and size + n > limit:
            parts.append([])
            size = 0
        parts[-1].append(stmt)
        size += n
    spilled: dict[str, int] = {}
    declared_in: dict[str, int] = {}
    for k, part in enumerate(parts):
        for stmt in part:
            for name in sorted(_reads(stmt)):
                if name in declared_in and declared_in[name] != k and name not in spilled:
                    spilled[name] = len(spilled)
            if isinstance(stmt, ir.Let):
                declared_in[stmt.var.name] = k
    return [tuple(p) for p in parts], spilled


def _window_functions(
    window: str,
    names: list[str],
    body: tuple[ir.Stmt, ...],
    slots: tuple[str, ...],
    out: Callable[[int], str],
    out_comment: Callable[[int], str] | None,
    layout: dict[str, Any],
    tables: str,
    rings: dict[str, Any],
) -> dict[str, Any]:
    """One kernel (a window's merged kernel, or one feature's) as Kotlin functions."""
    parts, spilled = split_body(body)
    functions: list[dict[str, Any]] = []
    for part in parts:
        em = KotlinEmitter.for_body(
            part,
            slot_names=tuple(f"w_{s}" for s in slots),
            out=out,
            out_comment=out_comment,
            scratch_offset=layout["scratch"],
            spilled=spilled,
            tables=tables,
        )
        em.reassigned = frozenset(
            em.reassigned
            | {s.var.name for st in body for s in ir.walk(st) if isinstance(s, ir.Set)}
        )
        lines = em.stmts(part)
        used = [s for s in slots if re.search(rf"\bw_{s}\b", "\n".join(lines))]
        text = "\n".join(lines)
        functions.append(
            {
                "lines": lines,
                "slots": [(f"w_{s}", rings[s]) for s in used],
                "spill": "sp[" in text,
                "reads_st": "st[" in text,
                "start": bool(used),
            }
        )
    return {"names": names, "functions": functions, "spill_size": len(spilled)}


def render_context(
    program: Program, share: bool = True, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What templates/kotlin/Features.kt.j2 needs (the storage layout is Swift's: rings, the
    latest features, then the scratch space, all in one DoubleArray). ``shared``: the sharing
    pass's result for ``program`` (the plan's; run here when not given)."""
    type_name = upper_camel(program.name) + "Features"
    tables = type_name + "Constants"
    if shared is None:
        shared = share_program(program) if share else {}
    layout = storage_layout(
        program, max((s.scratch for s in shared.values()), default=0) if share else None
    )
    derived = [s for s in program.signals if s.kind != "input"]
    emitter = KotlinEmitter(
        cur=lambda n: f"s_{n}",
        prev=lambda n: f"prev_{n}",
        state=lambda sig, slot: f"state_{sig}_{slot}",
        tables=tables,
        rings=layout["rings"],
        ring_length=program.ring_length,
    )
    push_body = emitter.push_body(stream_step(program))
    windows = []
    spill = 0
    for w in program.windows:
        rings = {s: layout["rings"][s] for s in w.signals}
        kernels = []
        if w.name in shared:
            merged = shared[w.name]
            kernels.append(
                _window_functions(
                    w.name,
                    [
                        f"all {len(merged.names)} features of window {w.name}, sharing their "
                        "common work"
                    ],
                    merged.body,
                    tuple(w.signals),
                    lambda k: f"st[{layout['features'] + k}]",
                    lambda k, n=merged.names: f"// {n[k]}",  # type: ignore[misc]  # n: a default
                    layout,
                    tables,
                    rings,
                )
            )
        for f in w.features if w.name not in shared else ():
            kernels.append(
                _window_functions(
                    w.name,
                    list(f.outputs),
                    f.kernel.body,
                    tuple(f.slots),
                    lambda k, base=f.column: f"st[{layout['features'] + base + k}]",  # type: ignore[misc]  # base: a default
                    None,
                    layout,
                    tables,
                    rings,
                )
            )
        spill = max([spill] + [k["spill_size"] for k in kernels])
        functions: list[dict[str, Any]] = []
        for k in kernels:
            for part in k["functions"]:
                functions.append(dict(part, names=k["names"], index=len(functions)))
        windows.append(
            {
                "name": w.name,
                "length": w.length,
                "hop": w.hop,
                "back": w.length - 1,
                "signals": w.signals,
                "functions": functions,
            }
        )
    plain = KotlinEmitter(tables=tables)
    return {
        "kotlin_package": KOTLIN_PACKAGE,
        "type_name": type_name,
        "constants_name": tables,
        "restart_flags": restart_flags(program),
        "push_body": push_body,
        "windows": windows,
        "rings": [(s, layout["rings"][s]) for s in program.ring_signals],
        "features_offset": layout["features"],
        "storage_size": layout["size"],
        "spill_size": spill,
        "always_emits": any(w.hop == 1 for w in program.windows),
        "hopped": [w.name for w in program.windows if w.hop > 1],
        "state_slots": [(s.name, slot) for s in derived for slot in s.slots],
        "tables": [plain.table(t) for t in used_tables(program.all_code())],
        "functions": [plain.function(f) for f in used_functions(program.all_code())],
    }


# ---------------------------------------------------------------- the model and the detector

TREES_PER_FUNCTION = 500  # Float additions per summing function (64 KB bytecode cap)


def kotlin_number(value: float, kind: str) -> str:
    """An exact Kotlin literal of ``value`` as a ``kind`` (``float32`` | ``float64``) value;
    an infinite double (scikit-learn's missing-values-only split) is Double's constant."""
    return fp32.literal(value, kind, "kotlin")


def feature_read(rule: Rule) -> str:
    """How a tree reads feature i, as the C model's ``x[i]`` (templates/c/model.c.j2): rounded
    to Float (``toFloat()``: round to nearest) for a float32 input, widened back to Double when
    the thresholds are doubles (C's promotion, exact); LightGBM's zero flush through ``read``;
    otherwise the double as it is."""
    if rule.input == "float32":
        return "f[{}].toFloat()" + (".toDouble()" if rule.threshold == "float64" else "")
    return "read(f[{}])" if rule.flush_zero else "f[{}]"


def tree_kotlin(tree: Tree, rule: Rule, names: tuple[str, ...] = ()) -> list[str]:
    """Nested if/else statements for ``tree`` under ``rule``, the C emitter's shape and tests
    (codegen/trees/c_emit.py ``condition``: ``<`` or ``<=``, NaN and the zero band to the
    default child without isnan), with exact decimal literals: thresholds in the rule's
    threshold type, leaves in its accumulation type."""
    from ..trees.c_emit import condition
    from ..trees.ir import ZERO_THRESHOLD

    read = feature_read(rule)
    zero = kotlin_double(ZERO_THRESHOLD)
    lines: list[str] = []

    def emit(i: int, depth: int) -> None:
        node = tree.nodes[i]
        pad = "    " * depth
        if node.is_leaf:
            lines.append(f"{pad}return {kotlin_number(node.value, rule.accumulate)}")
            return
        test = condition(
            node,
            rule,
            read.format(node.feature),
            kotlin_number(node.threshold, rule.threshold),
            zero,
        )
        note = f" // {names[node.feature]}" if names else ""
        lines.append(f"{pad}if ({test}) {{{note}")
        emit(node.left, depth + 1)
        lines.append(f"{pad}}} else {{")
        emit(node.right, depth + 1)
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines


def model_context(
    forest: Forest, decision: Decision, feature_names: tuple[str, ...]
) -> dict[str, Any]:
    """What templates/kotlin/Model.kt.j2 and Detector.kt.j2 need beyond the C model context:
    the margin type (``M``: Float for float32 accumulation, else Double) and every literal."""
    from ..trees.ir import XGBOOST, ZERO_THRESHOLD

    rule = forest.rule
    acc = rule.accumulate
    trees = [
        {
            "index": k,
            "group": t.group,
            "depth": t.depth(),
            "lines": tree_kotlin(t, rule, feature_names),
        }
        for k, t in enumerate(forest.trees)
    ]
    margin = "Float" if acc == "float32" else "Double"
    return {
        "kotlin_package": KOTLIN_PACKAGE,
        "xgboost_rule": rule == XGBOOST,
        "rule": rule,
        "rule_doc": rule.describe(),
        "M": margin,
        "MA": margin + "Array",
        "kotlin_zero": kotlin_number(0.0, acc),
        "kotlin_average": kotlin_number(float(rule.average), acc) if rule.average else "",
        "kotlin_zero_threshold": kotlin_double(ZERO_THRESHOLD),
        "kotlin_scale": kotlin_double(forest.scale),
        "kotlin_base_margin": [kotlin_number(v, acc) for v in forest.base_margin],
        "kotlin_trees": trees,
        "kotlin_chunks": [
            trees[k : k + TREES_PER_FUNCTION] for k in range(0, len(trees), TREES_PER_FUNCTION)
        ],
        "kotlin_clamp": kotlin_float(float(fp32.F32(88.7))),
        "kotlin_eps": kotlin_float(float(fp32.F32(1e-16))),
        "kotlin_margin_threshold": (
            kotlin_number(decision.margin_threshold, acc) if decision.kind == "binary" else ""
        ),
    }


def source_dir() -> str:
    return "kotlin/src/main/kotlin/" + KOTLIN_PACKAGE.replace(".", "/")


def _model_context(plan: Plan, header_lines: list[str]) -> dict[str, Any]:
    """The model's template context, as codegen/trees/build.py computes it for C and Swift,
    from the plan's model (loaded once per build)."""
    from .. import escape
    from ..trees import c_emit
    from ..trees import decision as decisions
    from ..trees.build import model_line
    from ..trees.model_dir import feature_order_hash

    spec, program, device, bundle = plan.spec, plan.program, plan.device, plan.model
    forest = bundle.forest if device is program else bundle.forest.reindexed(device.full_columns)
    decision = decisions.resolve(spec.decision, bundle.forest)  # type: ignore[arg-type]  # set with model:
    lines = header_lines + [model_line(bundle.model_sha256, spec.model.path)]  # type: ignore[union-attr]  # has_model
    c = c_emit.render_context(forest, spec.name, device.feature_names)
    return dict(
        header=escape.line_comments(lines),
        name=spec.name,
        model_sha256=bundle.model_sha256,
        feature_order_sha256=feature_order_hash(device.feature_names),
        feature_names=device.feature_names,
        decision=decision,
        **{
            k: c[k]
            for k in (
                "n_outputs",
                "n_classes",
                "n_trees",
                "max_depth",
                "objective",
                "transform",
                "value_doc",
                "transform_doc",
            )
        },
        **model_context(forest, decision, device.feature_names),
    )


def paths(plan: Plan) -> dict[str, str]:
    """The target's files by role: features, device_features (when the plan prunes), model
    and detector (with a model)."""
    root = source_dir()
    camel = upper_camel(plan.program.name)
    out = {"features": f"{root}/{camel}Features.kt"}
    if plan.device is not plan.program:
        out["device_features"] = f"{root}/{upper_camel(plan.device.name)}Features.kt"
    if has_model(plan):
        out.update(model=f"{root}/{camel}Model.kt", detector=f"{root}/{camel}Detector.kt")
    return out


def has_model(plan: Plan) -> bool:
    """Whether the plan has a model: the pure Kotlin model and detector follow its ``Rule``
    (codegen/trees/ir.py), XGBoost's, LightGBM's or scikit-learn's, as the C does."""
    return plan.model is not None


def kotlin_files(
    plan: Plan,
    render: Callable[..., str],
    header_lines: list[str],
    common: Callable[[Program], dict[str, Any]],
) -> dict[str, str]:
    """Every file of the pure Kotlin target, under kotlin/: the full featuriser, the device
    featuriser (when the model reads fewer features), and with a model its tree model and
    detector. ``render(template, **context)`` renders and normalises; ``common(program)`` is
    the context every generated file shares."""
    from .. import escape

    roles = paths(plan)
    files: dict[str, str] = {}
    program, device = plan.program, plan.device
    ctx = render_context(program, plan.share, plan.shared(program))
    files[roles["features"]] = render(
        "kotlin/Features.kt.j2", header=escape.line_comments(header_lines), **common(program), **ctx
    )
    if device is not program:
        d_lines = (
            header_lines[:1]
            + [
                f"Device featuriser: the {device.n_features} of {program.n_features} features the "
                "model reads."
            ]
            + header_lines[1:]
        )
        d_ctx = render_context(device, plan.share, plan.shared(device))
        files[roles["device_features"]] = render(
            "kotlin/Features.kt.j2", header=escape.line_comments(d_lines), **common(device), **d_ctx
        )
    if has_model(plan):
        camel = upper_camel(program.name)
        m = dict(
            _model_context(plan, header_lines),
            model_type=camel + "Model",
            detector_type=camel + "Detector",
            features_type=upper_camel(device.name) + "Features",
        )
        files[roles["model"]] = render("kotlin/Model.kt.j2", **m)
        files[roles["detector"]] = render("kotlin/Detector.kt.j2", **m)
    return files
