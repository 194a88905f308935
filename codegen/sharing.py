"""Shared work across the features of one window (#9), for every target (C, Swift, numpy).

Each feature's kernel is written on its own (featurespec/vocabulary/features.py), so a window with mean, std,
var, skewness and range of one signal computes its sum four times and its min twice. This pass
merges a window's kernels into one body and removes the repetition without changing any value's
operations or their order, so every output keeps its bits:

1. **Merge**: kernels in vector order, names made unique per feature (``mean_f3``), slots mapped
   to the window's signals, buffers to their own scratch ranges, outputs to vector columns.
2. **Common work** (value numbering over top-level statements): a statement whose structure and
   inputs' value numbers equal an earlier statement's computes the same values, so its results
   are the earlier results. Only a statement that is the last writer of everything it writes
   is replaced (and only by one that is too), so no later write can clobber a shared value.
   Loops, sorts and the buffers they fill are statements like any other: one sum loop, one
   sorted copy, one DFT pass per signal and window, whatever number of features read them.
3. **Dead work** removed (the initialisations of replaced accumulators, unread buffers).
4. **Loop fusion**: independent loops over the same range run as one pass (sum, sum of squares,
   min, max, counts...). Each accumulator still sees the same operations in the same order; a
   loop moves up only past statements it neither reads from nor writes to (the plain ``let``
   initialisations it reads move up with it).

Every target emits the shared form (numpy too, since #7: one numpy call per operation makes
repeated work costlier there than in C). The per-feature numpy module (``generate(spec,
share=False)``) is the oracle: the random-spec property test and parity_tests/test_sharing.py
compare every shared target with it bit for bit, so any error here fails them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from featurespec.vocabulary import ir

from .lowering import Program, WindowPlan

STATEMENTS = (ir.Let, ir.Set, ir.Loop, ir.Out, ir.Scratch, ir.BufSet, ir.SortBuf)


@dataclass(frozen=True)
class SharedWindow:
    """One window's merged kernel: ``body`` reads slot ``i`` = ``signals[i]``; ``Out(k)``
    writes vector column ``k``; buffers use ``scratch`` doubles from offset 0."""

    body: tuple[ir.Stmt, ...]
    scratch: int
    names: dict[int, str]  # column -> feature name (for comments)


def share_program(program: Program) -> dict[str, SharedWindow]:
    """{window name: merged kernel} for every window with features. A pure function: the build
    runs it once per program (codegen/pipeline.py) and hands the result to every target."""
    return {w.name: share_window(w) for w in program.windows if w.features}


def share_window(window: WindowPlan) -> SharedWindow:
    slot_of = {s: i for i, s in enumerate(window.signals)}
    body: list[ir.Stmt] = []
    names: dict[int, str] = {}
    for j, f in enumerate(window.features):
        slot_map = [slot_of.get(s, -1) for s in f.slots]  # -1: a slot the kernel never reads
        suffix = f"_f{j}"

        def renamed(n: str, sfx: str = suffix) -> str:
            return n + sfx

        body.extend(_rename(s, renamed, slot_map.__getitem__, f.column) for s in f.kernel.body)
        for k, name in enumerate(f.outputs):
            names[f.column + k] = name
    _check_unique(body)
    merged: Sequence[ir.Stmt] = _common_work(body)
    merged = ir.drop_dead(tuple(merged))
    merged = _fuse_loops(list(merged))
    merged, scratch = _place_buffers(tuple(merged))
    return SharedWindow(merged, scratch, names)


# ---------------------------------------------------------------- renaming


def _map(
    node: Any,  # any IR dataclass (expression, statement, index, buffer) or a tuple of them
    var: Callable[[str], str],
    buf: Callable[[ir.Buf], ir.Buf],
    slot: Callable[[int], int],
    out: Callable[[int], int],
) -> Any:
    """A copy of ``node`` with variable/loop names, buffers, slots and outputs mapped."""
    if isinstance(node, ir.Var):
        return ir.Var(var(node.name))
    if isinstance(node, ir.Index):
        return ir.Index(
            var(node.var) if node.var is not None else None,
            node.offset,
            node.scale,
            var(node.times) if node.times is not None else None,
            node.mod,
        )
    if isinstance(node, ir.Buf):
        return buf(node)
    if isinstance(node, ir.At):
        return ir.At(slot(node.slot), _map(node.index, var, buf, slot, out))
    if isinstance(node, ir.Out):
        return ir.Out(out(node.k), _map(node.value, var, buf, slot, out))
    if isinstance(node, ir.Loop):
        return ir.Loop(
            var(node.var),
            node.start,
            node.stop,
            tuple(_map(s, var, buf, slot, out) for s in node.body),
        )
    if isinstance(node, (ir.Table, ir.Function)) or not dataclasses.is_dataclass(node):
        return node
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, tuple):
            changes[field.name] = tuple(_map(v, var, buf, slot, out) for v in value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, (ir.Table, ir.Function)):
            changes[field.name] = _map(value, var, buf, slot, out)
    return dataclasses.replace(node, **changes)  # type: ignore[type-var]  # a node, not a class


def _rename(
    stmt: ir.Stmt, rename: Callable[[str], str], slot: Callable[[int], int], column: int
) -> ir.Stmt:
    bufs: dict[str, ir.Buf] = {}

    def buf(b: ir.Buf) -> ir.Buf:
        if b.name not in bufs:
            bufs[b.name] = ir.Buf(rename(b.name), b.length, 0)
        return bufs[b.name]

    renamed: ir.Stmt = _map(stmt, rename, buf, slot, lambda k: column + k)
    return renamed


def _alias(stmt: ir.Stmt, names: dict[str, str]) -> ir.Stmt:
    """``stmt`` reading ``names[n]`` wherever it read ``n``."""
    if not names:
        return stmt
    bufs: dict[str, ir.Buf] = {}

    def buf(b: ir.Buf) -> ir.Buf:
        target = names.get(b.name)
        if target is None:
            return b
        return bufs.setdefault(target, ir.Buf(target, b.length, 0))

    aliased: ir.Stmt = _map(stmt, lambda n: names.get(n, n), buf, lambda s: s, lambda k: k)
    return aliased


def _check_unique(body: list[ir.Stmt]) -> None:
    declared: dict[str, int] = {}
    for stmt in body:
        for n in ir.walk(stmt):
            if isinstance(n, ir.Let):
                declared[n.var.name] = declared.get(n.var.name, 0) + 1
            elif isinstance(n, ir.Scratch):
                declared[n.buf.name] = declared.get(n.buf.name, 0) + 1
            elif isinstance(n, ir.Loop):
                declared[n.var] = declared.get(n.var, 0) + 1
    twice = [n for n, c in declared.items() if c > 1]
    if twice:
        raise ir.IRError(f"names declared twice after renaming: {twice}")


# ---------------------------------------------------------------- value numbering


_written = ir.writes  # names a statement leaves behind (featurespec/vocabulary/ir.py)
_local = ir.local_names  # names that live only inside a statement


def _key(node: Any, token: Callable[[str], object]) -> object:
    """A hashable structural description of ``node`` with every name replaced by ``token``."""
    if isinstance(node, ir.Const):
        return ("c", float(node.value).hex())
    if isinstance(node, ir.Var):
        return ("v", token(node.name))
    if isinstance(node, ir.Index):
        return (
            "i",
            token(node.var) if node.var is not None else None,
            node.offset,
            node.scale,
            token(node.times) if node.times is not None else None,
            node.mod,
        )
    if isinstance(node, ir.Buf):
        return ("b", token(node.name), node.length)
    if isinstance(node, ir.Table):
        return ("t", node.name, len(node.values))
    if isinstance(node, ir.Function):
        return ("f", node.name)
    if isinstance(node, ir.Loop):
        return (
            "loop",
            token(node.var),
            node.start,
            node.stop,
            tuple(_key(s, token) for s in node.body),
        )
    if isinstance(node, tuple):
        return tuple(_key(v, token) for v in node)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            _key(getattr(node, f.name), token) for f in dataclasses.fields(node)
        )
    return node


def _common_work(body: list[ir.Stmt]) -> list[ir.Stmt]:
    last_writer: dict[str, int] = {}
    for i, stmt in enumerate(body):
        for name in _written(stmt):
            last_writer[name] = i
    numbers: dict[object, int] = {}  # statement key -> value number
    value: dict[str, tuple[int, int]] = {}  # name -> value number of its current content
    first: dict[object, list[str]] = {}  # key -> the surviving statement's written names
    alias: dict[str, str] = {}
    kept: list[ir.Stmt] = []
    for i, stmt in enumerate(body):
        stmt = _alias(stmt, alias)
        written = _written(stmt)
        order = {n: k for k, n in enumerate(written)}
        local_order = {n: k for k, n in enumerate(_local(stmt))}

        def token(name: str) -> tuple[object, ...]:
            if name in order:
                return ("w", order[name])
            if name in local_order:
                return ("l", local_order[name])
            return ("in", value.get(name, ("free", name)))

        key = (_key(stmt, token), tuple(value.get(n) for n in written))
        number = numbers.setdefault(key, len(numbers))
        final = all(last_writer.get(n) == i for n in written)
        has_out = any(isinstance(n, ir.Out) for n in ir.walk(stmt))
        if final and not has_out and written and key in first:
            for mine, theirs in zip(written, first[key]):
                alias[mine] = theirs
            continue
        if final and not has_out and written:
            first.setdefault(key, written)
        for k, name in enumerate(written):
            value[name] = (number, k)
        kept.append(stmt)
    return kept


# ---------------------------------------------------------------- loop fusion


def _reads(stmt: ir.Stmt) -> set[str]:
    """Names ``stmt`` reads from before it (its own loop-local names excluded)."""
    return ir.reads(stmt) - set(ir.local_names(stmt))


def _writes(stmt: ir.Stmt) -> set[str]:
    return set(ir.writes(stmt))


def _fuse_loops(body: list[ir.Stmt]) -> list[ir.Stmt]:
    reads, writes = _memo(_reads), _memo(_writes)  # statements are immutable
    changed = True
    while changed:
        changed = False
        for p, loop in enumerate(body):
            if not isinstance(loop, ir.Loop):
                continue
            for m in range(p):
                target = body[m]
                if not (
                    isinstance(target, ir.Loop)
                    and target.start == loop.start
                    and target.stop == loop.stop
                ):
                    continue
                plan = _hoist_plan(body, m, p, reads, writes)
                if plan is None:
                    continue
                hoisted = [body[i] for i in plan]

                def var(n: str, a: str = loop.var, b: str = target.var) -> str:
                    return b if n == a else n

                renamed = _map(loop, var, lambda b: b, lambda s: s, lambda k: k)
                merged = ir.Loop(target.var, target.start, target.stop, target.body + renamed.body)
                rest = [body[i] for i in range(m + 1, p) if i not in plan]
                body = body[:m] + hoisted + [merged] + rest + body[p + 1 :]
                changed = True
                break
            if changed:
                break
    return body


def _memo(f: Callable[[ir.Stmt], set[str]]) -> Callable[[ir.Stmt], set[str]]:
    """``f`` of a statement, computed once per statement object."""
    seen: dict[int, tuple[ir.Stmt, set[str]]] = {}

    def cached(stmt: ir.Stmt) -> set[str]:
        hit = seen.get(id(stmt))
        if hit is None or hit[0] is not stmt:
            hit = seen[id(stmt)] = (stmt, f(stmt))
        return hit[1]

    return cached


def _hoist_plan(
    body: list[ir.Stmt],
    m: int,
    p: int,
    reads: Callable[[ir.Stmt], set[str]] = _reads,
    writes: Callable[[ir.Stmt], set[str]] = _writes,
) -> list[int] | None:
    """Indices in (m, p) of the plain ``let``s that loop ``p`` needs (directly or through each
    other) and that move above loop ``m`` so that ``p`` can join ``m``; None when it cannot."""
    loop, target = body[p], body[m]
    need = reads(loop)
    hoist: list[int] = []
    for i in range(p - 1, m, -1):
        stmt = body[i]
        if writes(stmt) & need:
            if not isinstance(stmt, ir.Let):
                return None  # the loop reads what a loop or assignment in between makes
            hoist.append(i)
            need = need | reads(stmt)
    if writes(target) & need:
        return None
    loop_writes = writes(loop)
    for i in [m] + [i for i in range(m + 1, p) if i not in hoist]:
        if (reads(body[i]) | writes(body[i])) & loop_writes:
            return None  # a statement the loop would now precede sees its writes
    return sorted(hoist)


# ---------------------------------------------------------------- scratch placement


def _place_buffers(body: tuple[ir.Stmt, ...]) -> tuple[tuple[ir.Stmt, ...], int]:
    """Every surviving buffer gets its own range of the scratch space (they may be alive at the
    same time now), in order of declaration."""
    placed: dict[str, ir.Buf] = {}
    offset = 0
    for stmt in body:
        for n in ir.walk(stmt):
            if isinstance(n, ir.Scratch) and n.buf.name not in placed:
                placed[n.buf.name] = ir.Buf(n.buf.name, n.buf.length, offset)
                offset += n.buf.length
    out = tuple(
        _map(s, lambda n: n, lambda b: placed.get(b.name, b), lambda s: s, lambda k: k)
        for s in body
    )
    return out, offset
