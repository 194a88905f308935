"""The feature IR: a deliberately small set of nodes that every target can emit exactly.

Every value is an IEEE-754 double. Every operation is one correctly rounded IEEE operation
(+ - * / sqrt) or an exact one (abs, negation, comparison, select), evaluated in the order the
tree states. There is no fused multiply-add, no reduction whose order a library chooses, and no
libm call: that is what makes numpy, C and Swift agree to the bit.

Two kinds of program use these nodes:

* **signal updates** (per sample): expressions over :class:`Cur` (a signal's value at this
  sample) and :class:`Prev` (its value at the previous sample);
* **window kernels** (per window): statements over :class:`At` (sample ``index`` of the window of
  input slot ``slot``, 0 = oldest), loops with integer indices and :class:`Out` results.

A few nodes reach past plain arithmetic, each still exact or a fixed sequence of IEEE operations:

* scratch buffers (:class:`Scratch`, :class:`BufSet`, :class:`BufAt`) and :class:`SortBuf`, an
  in-place ascending sort (a *value* permutation: exact; NaN sorts last, equal values are
  bit-identical after the caller canonicalises ``-0.0``), for order statistics;
* constant tables (:class:`Table`, :class:`TableAt`): values fixed at generation time (twiddle
  factors, window weights), emitted once per file and indexed by an integer expression;
* functions (:class:`Function`, :class:`Call`): a body of IR statements written once (the
  portable ``log``, ``exp``, ``atan2`` of featurespec/vocabulary/transcendentals.py), emitted once per file;
* state slots (:class:`Slot`) of signals that keep more than their previous value (filters).

In the numpy backend every double in a kernel is a vector across windows; in C and Swift it is a
scalar. Nothing in this module knows about any target.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass


class IRError(RuntimeError):
    """An IR node built against the IR's rules: a bug in a feature or signal definition (or a
    generator), never a spec problem; raised instead of ``assert`` so ``python -O`` keeps it."""


class Expr:
    """Base of value nodes. Python operators build nodes, so feature math reads like math."""

    __slots__ = ()

    def __add__(self, other: "ExprLike") -> "Expr":
        return Bin("+", self, lift(other))

    def __radd__(self, other: "ExprLike") -> "Expr":
        return Bin("+", lift(other), self)

    def __sub__(self, other: "ExprLike") -> "Expr":
        return Bin("-", self, lift(other))

    def __rsub__(self, other: "ExprLike") -> "Expr":
        return Bin("-", lift(other), self)

    def __mul__(self, other: "ExprLike") -> "Expr":
        return Bin("*", self, lift(other))

    def __rmul__(self, other: "ExprLike") -> "Expr":
        return Bin("*", lift(other), self)

    def __truediv__(self, other: "ExprLike") -> "Expr":
        return Bin("/", self, lift(other))

    def __rtruediv__(self, other: "ExprLike") -> "Expr":
        return Bin("/", lift(other), self)

    def __neg__(self) -> "Expr":
        return Unary("neg", self)

    def __lt__(self, other: "ExprLike") -> "Expr":
        return Cmp("<", self, lift(other))

    def __le__(self, other: "ExprLike") -> "Expr":
        return Cmp("<=", self, lift(other))

    def __gt__(self, other: "ExprLike") -> "Expr":
        return Cmp(">", self, lift(other))

    def __ge__(self, other: "ExprLike") -> "Expr":
        return Cmp(">=", self, lift(other))

    def __and__(self, other: "Expr") -> "Expr":
        return Logic("and", self, other)

    def __or__(self, other: "Expr") -> "Expr":
        return Logic("or", self, other)


ExprLike = Expr | float | int


@dataclass(frozen=True, eq=False)
class Const(Expr):
    """A double literal. Backends print it so that it parses back to exactly ``value``."""

    value: float


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """A local double variable, declared by :class:`Let`."""

    name: str


@dataclass(frozen=True, eq=False)
class Index:
    """An integer index: ``((var [* times] * scale) + offset) [mod m]``: loop variable ``var``
    (or none), optionally multiplied by a second loop variable ``times`` and by the constant
    ``scale``, plus a constant ``offset``, optionally reduced modulo ``mod`` (the operands are
    never negative, so every target's ``%`` agrees). Integer arithmetic: exact."""

    var: str | None
    offset: int = 0
    scale: int = 1
    times: str | None = None
    mod: int | None = None

    def __add__(self, n: int) -> "Index":
        if self.mod is not None:
            raise IRError("an offset after a modulo index")
        return Index(self.var, self.offset + n, self.scale, self.times)

    def __sub__(self, n: int) -> "Index":
        return self + (-n)

    def __mul__(self, other: "int | Index") -> "Index":
        if not (self.offset == 0 and self.mod is None and self.times is None):
            raise IRError(f"cannot scale the index {self}")
        if isinstance(other, Index):
            if not (other.offset == 0 and other.mod is None and other.times is None):
                raise IRError(f"cannot multiply by the index {other}")
            return Index(self.var, 0, self.scale * other.scale, other.var)
        return Index(self.var, 0, self.scale * other)

    def __mod__(self, m: int) -> "Index":
        if not (self.mod is None and self.offset >= 0 and self.scale >= 0):
            raise IRError(f"cannot take {self} modulo {m}")
        return Index(self.var, self.offset, self.scale, self.times, m)


@dataclass(frozen=True, eq=False)
class At(Expr):
    """Sample ``index`` of the window read by input slot ``slot`` (0 = oldest sample)."""

    slot: int
    index: Index


@dataclass(frozen=True, eq=False)
class IndexValue(Expr):
    """The integer ``index`` as a double (exact: windows are far shorter than 2**53)."""

    index: Index


@dataclass(frozen=True, eq=False)
class Bin(Expr):
    """``a op b`` for op in + - * /: one correctly rounded IEEE operation."""

    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Unary(Expr):
    """op in ``neg``, ``abs``, ``sqrt`` (exact, exact, correctly rounded everywhere)."""

    op: str
    a: Expr


@dataclass(frozen=True, eq=False)
class Cmp(Expr):
    """An IEEE comparison (false whenever a NaN is involved); a boolean, usable by Select."""

    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Logic(Expr):
    """``and`` / ``or`` of two booleans (no side effects, so short-circuiting is harmless)."""

    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Select(Expr):
    """``cond ? then : other``. Min/max/argmin are written with it, so NaN rules are explicit."""

    cond: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True, eq=False)
class Cur(Expr):
    """Signal ``name`` at the current sample (signal updates only)."""

    name: str


@dataclass(frozen=True, eq=False)
class Prev(Expr):
    """Signal ``name`` at the previous sample (signal updates only; not valid on the first)."""

    name: str


@dataclass(frozen=True, eq=False)
class Slot(Expr):
    """State slot ``slot`` of signal ``signal`` (signal updates only): the value assigned to it
    most recently, earlier on this sample if its step already ran, else on the previous sample."""

    signal: str
    slot: str


@dataclass(frozen=True, eq=False)
class Buf:
    """A scratch buffer of ``length`` doubles, at ``offset`` in the kernel's scratch space."""

    name: str
    length: int
    offset: int

    def __getitem__(self, index: "Index | int") -> "BufAt":
        if isinstance(index, int):
            if not 0 <= index < self.length:
                raise IndexError(f"buffer index {index} outside 0..{self.length - 1}")
            index = Index(None, index)
        return BufAt(self, index)


@dataclass(frozen=True, eq=False)
class BufAt(Expr):
    """Element ``index`` of scratch buffer ``buf``."""

    buf: Buf
    index: Index


@dataclass(frozen=True, eq=False)
class Table:
    """A constant table fixed at generation time; ``name`` identifies its content in a file."""

    name: str
    values: tuple[float, ...]

    def __getitem__(self, index: "Index | int") -> "Expr":
        if isinstance(index, int):
            return Const(self.values[index])
        return TableAt(self, index)


@dataclass(frozen=True, eq=False)
class TableAt(Expr):
    """Element ``index`` of constant table ``table``."""

    table: Table
    index: Index


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """``fn(args...)``: a :class:`Function` written once in IR, emitted once per file."""

    fn: "Function"
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Function:
    """A double function of doubles: ``params`` are bound to the arguments, ``body`` runs (Let and
    Set only, no loops), ``result`` is returned. No function calls another."""

    name: str
    params: tuple[str, ...]
    body: tuple[Stmt, ...]  # Let and Set only
    result: Expr
    doc: str = ""

    def __call__(self, *args: "ExprLike") -> Expr:
        if len(args) != len(self.params):
            raise IRError(f"{self.name} takes {len(self.params)} arguments, got {len(args)}")
        return Call(self, tuple(lift(a) for a in args))


def lift(x: ExprLike) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, bool):
        raise TypeError("booleans are not IR values")
    return Const(float(x))


def sqrt(x: ExprLike) -> Expr:
    return Unary("sqrt", lift(x))


def fabs(x: ExprLike) -> Expr:
    return Unary("abs", lift(x))


def select(cond: Expr, then: ExprLike, other: ExprLike) -> Expr:
    return Select(cond, lift(then), lift(other))


def ne(a: ExprLike, b: ExprLike) -> Expr:
    return Cmp("!=", lift(a), lift(b))


def eq(a: ExprLike, b: ExprLike) -> Expr:
    """IEEE equality (``-0.0 == +0.0``; false for NaN). Python's ``==`` stays identity on nodes."""
    return Cmp("==", lift(a), lift(b))


def is_nan(a: ExprLike) -> Expr:
    """``a != a``: true exactly for NaN."""
    return ne(a, a)


def non_finite(a: ExprLike) -> Expr:
    """``(a - a) != 0``: true exactly for NaN and +-inf (a - a is +0.0 for every finite a, NaN
    otherwise). Plain arithmetic and a comparison: no libm call, and in numpy's scalar loops one
    Python float subtraction (the cheapest exact test there)."""
    a = lift(a)
    return ne(a - a, 0.0)


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Let:
    """Declare double ``var`` and set it to ``value``."""

    var: Var
    value: Expr


@dataclass(frozen=True)
class Set:
    """Assign ``value`` to the already declared ``var``."""

    var: Var
    value: Expr


@dataclass(frozen=True)
class Loop:
    """``for var in range(start, stop)``, in increasing order. Bounds are compile-time ints."""

    var: str
    start: int
    stop: int
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Out:
    """Result number ``k`` of the kernel."""

    k: int
    value: Expr


@dataclass(frozen=True)
class Scratch:
    """Declare scratch buffer ``buf`` (contents undefined until set)."""

    buf: Buf


@dataclass(frozen=True)
class BufSet:
    """``buf[index] = value``."""

    buf: Buf
    index: Index
    value: Expr


@dataclass(frozen=True)
class SortBuf:
    """Sort ``buf`` ascending in place; NaN after every number. Emitted as ``np.sort`` (numpy) and
    an insertion sort (C, Swift): both produce the sorted sequence of values, which is unique up
    to the order of bit-different equal values, i.e. ``-0.0`` vs ``+0.0`` (callers canonicalise
    them with ``x + 0.0``) and NaN payloads (any NaN equals any NaN in parity)."""

    buf: Buf


Stmt = Let | Set | Loop | Out | Scratch | BufSet | SortBuf
Node = Expr | Stmt  # what walk() visits


@dataclass(frozen=True)
class Kernel:
    """One feature's code for one window: reads ``n_slots`` windows of ``length`` samples and
    uses ``scratch`` doubles of scratch space (buffers, at offsets from 0)."""

    length: int
    n_slots: int
    body: tuple[Stmt, ...]
    n_outputs: int
    scratch: int = 0


class WindowRef:
    """What a feature function receives for each signal it reads: ``x[k]``, ``x.length``."""

    def __init__(self, slot: int, length: int):
        self.slot = slot
        self.length = length

    def __getitem__(self, index: Index | int) -> Expr:
        if isinstance(index, int):
            if not 0 <= index < self.length:
                raise IndexError(f"window index {index} outside 0..{self.length - 1}")
            index = Index(None, index)
        return At(self.slot, index)


class KernelBuilder:
    """Collects statements for one kernel; hands out unique variable names. ``sample_rate`` is
    the spec's sample rate in Hz (for features in seconds or hertz)."""

    def __init__(self, length: int, n_slots: int, sample_rate: float = 1.0):
        self.length = length
        self.n_slots = n_slots
        self.sample_rate = float(sample_rate)
        self._blocks: list[list[Stmt]] = [[]]
        self._used: set[str] = set()
        self._outputs = 0
        self._scratch = 0

    def _fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._used:
            n += 1
            name = f"{hint}{n}"
        self._used.add(name)
        return name

    def let(self, hint: str, value: ExprLike) -> Var:
        var = Var(self._fresh(hint))
        self._blocks[-1].append(Let(var, lift(value)))
        return var

    def set(self, var: Var, value: ExprLike) -> None:
        self._blocks[-1].append(Set(var, lift(value)))

    @contextlib.contextmanager
    def loop(self, start: int, stop: int, hint: str = "k") -> Iterator[Index]:
        """Statements issued inside the ``with`` block form the loop body."""
        var = self._fresh(hint)
        self._blocks.append([])
        yield Index(var)
        body = self._blocks.pop()
        if stop > start:
            self._blocks[-1].append(Loop(var, start, stop, tuple(body)))

    def out(self, value: ExprLike) -> None:
        self._blocks[-1].append(Out(self._outputs, lift(value)))
        self._outputs += 1

    def scratch(self, hint: str, length: int) -> Buf:
        """A scratch buffer of ``length`` doubles for this kernel (state memory in C and Swift,
        an array across windows in numpy). The names ``<name>_i``, ``<name>_j``, ``<name>_key``
        are reserved for the sort's emission."""
        buf = Buf(self._fresh(hint), length, self._scratch)
        for suffix in ("_i", "_j", "_key"):
            self._used.add(buf.name + suffix)
        self._scratch += length
        self._blocks[-1].append(Scratch(buf))
        return buf

    def buf_set(self, buf: Buf, index: "Index | int", value: ExprLike) -> None:
        if isinstance(index, int):
            index = Index(None, index)
        self._blocks[-1].append(BufSet(buf, index, lift(value)))

    def sort(self, buf: Buf) -> None:
        self._blocks[-1].append(SortBuf(buf))

    def build(self) -> Kernel:
        if len(self._blocks) != 1:
            raise IRError("a kernel built inside an unclosed loop")
        body = drop_dead(tuple(self._blocks[0]))
        used = {s.buf.name: s.buf for stmt in body for s in walk(stmt) if isinstance(s, Scratch)}
        scratch = max((b.offset + b.length for b in used.values()), default=0)
        return Kernel(self.length, self.n_slots, body, self._outputs, scratch)


class FunctionBuilder(KernelBuilder):
    """Builds a :class:`Function`: ``params`` are its arguments as variables; ``let``/``set``
    statements only (no loops, no buffers, no outputs)."""

    def __init__(self, name: str, params: tuple[str, ...], doc: str = ""):
        super().__init__(0, 0)
        self.name = name
        self.doc = doc
        self.param_names = tuple(params)
        self._used.update(params)

    @property
    def params(self) -> tuple[Var, ...]:
        return tuple(Var(p) for p in self.param_names)

    def finish(self, result: ExprLike) -> Function:
        if len(self._blocks) != 1:
            raise IRError(f"function {self.name} finished inside an unclosed loop")
        result = lift(result)
        body = drop_dead(tuple(self._blocks[0]) + (Out(0, result),))[:-1]
        for stmt in body:
            if not isinstance(stmt, (Let, Set)):
                raise IRError(
                    f"function {self.name}: a function body has only Let and Set, got {stmt}"
                )
            for node in walk(stmt):
                if isinstance(node, (At, BufAt, Call, Cur, Prev, Slot)):
                    raise IRError(
                        f"function {self.name} reads {node}: a function sees only its parameters"
                    )
        return Function(self.name, self.param_names, body, result, self.doc)


def keep_outputs(kernel: Kernel, kept: list[int]) -> Kernel:
    """``kernel`` computing only outputs ``kept`` (renumbered 0, 1, ... in that order), with the
    work only the dropped outputs needed removed. Every kept output's operations are unchanged,
    so its bits are too."""
    number = {k: n for n, k in enumerate(kept)}

    def select_outs(block: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in block:
            if isinstance(s, Loop):
                out.append(Loop(s.var, s.start, s.stop, select_outs(s.body)))
            elif isinstance(s, Out):
                if s.k in number:
                    out.append(Out(number[s.k], s.value))
            else:
                out.append(s)
        return tuple(out)

    body = drop_dead(select_outs(kernel.body))
    used = {s.buf.name: s.buf for stmt in body for s in walk(stmt) if isinstance(s, Scratch)}
    scratch = max((b.offset + b.length for b in used.values()), default=0)
    return Kernel(kernel.length, kernel.n_slots, body, len(kept), scratch)


# ---------------------------------------------------------------- read/write analysis
# The one definition of what a statement reads and writes: dead-store elimination (below), the
# sharing pass (codegen/sharing.py) and numpy's common subexpressions (backends/numpy.py).


def reads(node: Node, indices: bool = False) -> set[str]:
    """Variables and buffers ``node`` (an expression, or a statement and all below it) reads:
    ``Var``s, the buffer of a ``BufAt`` or ``SortBuf``, the ``<signal>.<slot>`` of a ``Slot``.
    ``indices``: also the loop variables its indices use."""
    names: set[str] = set()
    for n in walk(node):
        if isinstance(n, Var):
            names.add(n.name)
        elif isinstance(n, (BufAt, SortBuf)):
            names.add(n.buf.name)
        elif isinstance(n, Slot):
            names.add(f"{n.signal}.{n.slot}")
        if indices and isinstance(n, (At, TableAt, IndexValue, BufAt)):
            names.update(v for v in (n.index.var, n.index.times) if v is not None)
    return names


def writes(stmt: Stmt, inner: bool = False) -> list[str]:
    """Names (variables and buffers) ``stmt`` leaves written, in order of first write. A loop
    body's own ``let``s are not among them, nor is the loop variable, unless ``inner`` (then:
    every name assigned while ``stmt`` runs)."""
    out: list[str] = []

    def add(name: str) -> None:
        if name not in out:
            out.append(name)

    def visit(s: Stmt, top: bool) -> None:
        if isinstance(s, Loop):
            if inner:
                add(s.var)
            for child in s.body:
                visit(child, False)
        elif isinstance(s, Let):
            if top or inner:
                add(s.var.name)
        elif isinstance(s, Set):
            add(s.var.name)
        elif isinstance(s, (Scratch, BufSet, SortBuf)):
            add(s.buf.name)

    visit(stmt, True)
    return out


def local_names(stmt: Stmt) -> list[str]:
    """Loop variables and loop-body ``let``s: names that live only inside ``stmt``, in order
    of declaration."""
    out: list[str] = []
    for n in walk(stmt):
        if isinstance(n, Loop):
            out.append(n.var)
        elif isinstance(n, Let) and n is not stmt:
            out.append(n.var.name)
    return out


def drop_dead(body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """Remove variables and buffers no output depends on (e.g. argmin's index when only min is
    wanted), so generated code has no dead stores and compiles warning-free."""

    def statements(block: tuple[Stmt, ...]) -> Iterator[Stmt]:
        for s in block:
            if isinstance(s, Loop):
                yield from statements(s.body)
            else:
                yield s

    def read(s: Stmt) -> set[str]:
        return set() if isinstance(s, Scratch) else reads(s)

    def written(s: Stmt) -> str | None:
        names = writes(s)
        return names[0] if names else None

    live: set[str] = set().union(*(read(s) for s in statements(body) if isinstance(s, Out)))
    while True:
        grown = live.union(*(read(s) for s in statements(body) if written(s) in live))
        if grown == live:
            break
        live = grown

    def prune(block: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        kept: list[Stmt] = []
        for s in block:
            if isinstance(s, Loop):
                inner = prune(s.body)
                if inner:
                    kept.append(Loop(s.var, s.start, s.stop, inner))
            elif isinstance(s, Out) or written(s) in live:
                kept.append(s)
        return tuple(kept)

    return prune(body)


def walk(node: Node) -> Iterator[Node]:
    """Every node below (and including) ``node``, statements and expressions alike."""
    yield node
    if isinstance(node, (Let, Set, Out, BufSet)):
        yield from walk(node.value)
    elif isinstance(node, Call):
        for a in node.args:
            yield from walk(a)
    elif isinstance(node, Loop):
        for s in node.body:
            yield from walk(s)
    elif isinstance(node, (Bin, Cmp, Logic)):
        yield from walk(node.a)
        yield from walk(node.b)
    elif isinstance(node, Unary):
        yield from walk(node.a)
    elif isinstance(node, Select):
        yield from walk(node.cond)
        yield from walk(node.then)
        yield from walk(node.other)
