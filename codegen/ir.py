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

In the numpy backend every double in a kernel is a vector across windows; in C and Swift it is a
scalar. Nothing in this module knows about any target.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Union


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


ExprLike = Union[Expr, float, int]


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
    """An integer window index: loop variable ``var`` (or none) plus a constant ``offset``."""

    var: str | None
    offset: int = 0

    def __add__(self, n: int) -> "Index":
        return Index(self.var, self.offset + n)

    def __sub__(self, n: int) -> "Index":
        return Index(self.var, self.offset - n)


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
    body: tuple


@dataclass(frozen=True)
class Out:
    """Result number ``k`` of the kernel."""

    k: int
    value: Expr


Stmt = Union[Let, Set, Loop, Out]


@dataclass(frozen=True)
class Kernel:
    """One feature's code for one window: reads ``n_slots`` windows of ``length`` samples."""

    length: int
    n_slots: int
    body: tuple
    n_outputs: int


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
    """Collects statements for one kernel; hands out unique variable names."""

    def __init__(self, length: int, n_slots: int):
        self.length = length
        self.n_slots = n_slots
        self._blocks: list[list] = [[]]
        self._used: set[str] = set()
        self._outputs = 0

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

    def build(self) -> Kernel:
        assert len(self._blocks) == 1, "unclosed loop"
        body = drop_dead(tuple(self._blocks[0]))
        return Kernel(self.length, self.n_slots, body, self._outputs)


def _reads(expr: Expr) -> set[str]:
    return {n.name for n in walk(expr) if isinstance(n, Var)}


def drop_dead(body: tuple) -> tuple:
    """Remove variables no output depends on (e.g. argmin's index when only min is wanted),
    so generated code has no dead stores and compiles warning-free."""
    def statements(block):
        for s in block:
            if isinstance(s, Loop):
                yield from statements(s.body)
            else:
                yield s

    live = set().union(*(_reads(s.value) for s in statements(body) if isinstance(s, Out)))
    while True:
        grown = live.union(*(_reads(s.value) for s in statements(body)
                             if isinstance(s, (Let, Set)) and s.var.name in live))
        if grown == live:
            break
        live = grown

    def prune(block):
        kept = []
        for s in block:
            if isinstance(s, Loop):
                inner = prune(s.body)
                if inner:
                    kept.append(Loop(s.var, s.start, s.stop, inner))
            elif isinstance(s, Out) or s.var.name in live:
                kept.append(s)
        return tuple(kept)

    return prune(body)


def walk(node) -> Iterator:
    """Every node below (and including) ``node``, statements and expressions alike."""
    yield node
    if isinstance(node, (Let, Set, Out)):
        yield from walk(node.value)
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
