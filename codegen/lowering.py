"""Spec -> Program: the target-independent plan every backend emits.

It decides everything numeric or structural once: which signals exist and in what order, which
need their previous value kept, which are kept in ring buffers, each window's kernels and the
column every output lands in. Backends only print it.

Streaming semantics (identical in every target, stated in docs/semantics.md):

* Samples are pushed one at a time; a sample with any non-finite value is rejected and leaves
  the state untouched.
* Every window ends at the newest accepted sample. Nothing is evaluated until the longest window
  is full (``max_length`` accepted samples). From then on window ``w`` is evaluated on that
  first full sample and every ``hop_w`` accepted samples after it.
* A feature vector is emitted on every sample where at least one window is evaluated; columns
  of windows not evaluated on that sample hold their latest values.
* A recursive signal (ema, the Butterworth filters) whose value on a sample is non-finite
  restarts on the next accepted sample exactly as on the first sample of a stream
  (:attr:`SignalPlan.restart`, the one statement of that rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from featurespec.errors import Problem, SpecError
from featurespec.schema import FeatureDef, Location, Spec
from featurespec.vocabulary import ir
from featurespec.vocabulary.features import FEATURES, RATIO, build_ratio
from featurespec.vocabulary.signals import SIGNALS, Steps


@dataclass(frozen=True)
class SignalPlan:
    name: str
    kind: str
    input_index: int | None  # position in the sample, for raw inputs
    first: ir.Expr | None  # value on the first sample of a stream (derived only)
    later: ir.Expr | None  # value on every later sample (derived only)
    doc: str
    # Signals with state slots (filters): steps (slot, value) run in order before the value is
    # read, on the first sample and on every later one. Slots live in the streaming state.
    first_steps: tuple[tuple[str, ir.Expr], ...] = ()
    later_steps: tuple[tuple[str, ir.Expr], ...] = ()

    @property
    def slots(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for slot, _ in self.first_steps + self.later_steps:
            seen.setdefault(slot, None)
        return tuple(seen)

    @property
    def exprs(self) -> tuple[ir.Expr, ...]:
        """Every expression the signal evaluates (for dependency analysis)."""
        if self.later is None:
            return ()
        return (self.first, self.later, *(e for _, e in self.first_steps + self.later_steps))  # type: ignore[arg-type]  # first is set whenever later is

    @property
    def recursive(self) -> bool:
        """Reads its own previous value or keeps state slots: a true recursion (numpy runs it
        sample by sample)."""
        if self.later is None:
            return False
        return bool(self.slots) or self.name in reads_prev(self.later)

    @property
    def restart(self) -> ir.Expr | None:
        """The recovery rule for recursive signals, stated once for every target: evaluated
        after the signal's update on each accepted sample, true when its value is non-finite
        (NaN or +-inf, e.g. a magnitude that overflowed on one huge but finite sample); the
        signal then restarts on the next accepted sample exactly as on the first sample of a
        stream (its ``first`` steps and value), instead of carrying inf/NaN forever.

        Why the value and not every state slot: a non-finite slot reaches the value within two
        samples (each slot is added, unscaled, into the next one or into the value), and
        checking the value alone lets numpy run the plain recursion and test one float per
        sample. Not for ``diff`` and other signals that keep only the previous value: they
        forget it by themselves one sample later. None for signals without a recursion."""
        if not self.recursive:
            return None
        return ir.non_finite(ir.Cur(self.name))


@dataclass(frozen=True)
class FeaturePlan:
    feature: FeatureDef
    kernel: ir.Kernel
    slots: tuple[str, ...]  # signal read by each input slot
    column: int  # first column in the program's vector
    window_column: int  # first column among this window's outputs
    kept: tuple[str, ...] = ()  # names of the outputs computed (all unless pruned)

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.kept or self.feature.outputs

    @property
    def reads(self) -> set[str]:
        """Signals whose samples the kernel actually reads (argmax of 1 sample reads none)."""
        return {
            self.slots[n.slot] for s in self.kernel.body for n in ir.walk(s) if isinstance(n, ir.At)
        }


@dataclass(frozen=True)
class WindowPlan:
    name: str
    length: int
    hop: int
    signals: tuple[str, ...]  # signals this window's kernels read, in signal order
    features: tuple[FeaturePlan, ...]  # empty: a pruned window kept only for the schedule

    @property
    def n_outputs(self) -> int:
        return sum(f.kernel.n_outputs for f in self.features)


@dataclass(frozen=True)
class Program:
    spec: Spec
    signals: tuple[SignalPlan, ...]  # inputs first, then derived in dependency order
    prev_signals: tuple[str, ...]  # signals whose previous value is kept in the state
    ring_signals: tuple[str, ...]  # signals kept in ring buffers (read by a window)
    windows: tuple[WindowPlan, ...]  # in spec order; only windows with features
    feature_names: tuple[str, ...]
    # A device program computes only some features (``lower(spec, keep=...)``): its name is the
    # C/Swift prefix, and ``full_columns[i]`` is the full-vector column of its feature ``i``.
    name: str = ""
    full_columns: tuple[int, ...] = ()

    @property
    def scratch_size(self) -> int:
        """Doubles of scratch space in the state: the most any one kernel uses (kernels run one
        after another and keep nothing in it)."""
        return max((f.kernel.scratch for w in self.windows for f in w.features), default=0)

    def all_code(self) -> list[tuple[ir.Node, ...]]:
        """Every kernel body and signal expression (to collect tables and functions)."""
        bodies: list[tuple[ir.Node, ...]] = [
            f.kernel.body for w in self.windows for f in w.features
        ]
        bodies += [s.exprs for s in self.signals]
        return bodies

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.spec.inputs

    @property
    def warmup(self) -> int:
        """Accepted samples before the first vector: the spec's longest window (a device
        program keeps the full program's schedule even when it drops that window)."""
        return max(w.length for w in self.spec.windows)

    @property
    def ring_length(self) -> int:
        """Samples kept per ring: the longest window that reads samples."""
        return max((w.length for w in self.windows if w.signals), default=1)

    @property
    def pruned(self) -> bool:
        return self.full_columns != tuple(range(len(self.spec.feature_names)))

    @property
    def n_features(self) -> int:
        return len(self.feature_names)


def reads_prev(expr: ir.Expr) -> set[str]:
    return {n.name for n in ir.walk(expr) if isinstance(n, ir.Prev)}


def reads_cur(expr: ir.Expr) -> set[str]:
    return {n.name for n in ir.walk(expr) if isinstance(n, ir.Cur)}


class _Operand:
    """A KernelBuilder for one operand of a ratio: the operand feature's statements go into the
    ratio's kernel as they are, but its results become variables instead of outputs."""

    def __init__(self, builder: ir.KernelBuilder):
        self._builder = builder
        self.values: list[ir.Var] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._builder, name)

    def out(self, value: ir.ExprLike) -> None:
        if len(self._blocks) != 1:
            raise RuntimeError("a feature's outputs are set at its kernel's top level")
        self.values.append(self._builder.let("operand", value))


def _column_value(
    builder: ir.KernelBuilder,
    column: str,
    slot_of: dict[str, int],
    length: int,
    columns: dict[str, tuple[FeatureDef, int]],
) -> ir.Expr:
    """The value of vector column ``column``, computed inside ``builder`` by its feature's own
    code (a ratio's operands; recursively for a ratio of ratios)."""
    feature, k = columns[column]
    windows = [ir.WindowRef(slot_of[s], length) for s in feature.signals]
    operand = _Operand(builder)
    as_builder = cast(ir.KernelBuilder, operand)  # duck-typed: the builder, outputs as variables
    if feature.kind == RATIO:
        params = dict(feature.params)
        num = _column_value(as_builder, params["num"], slot_of, length, columns)
        den = _column_value(as_builder, params["den"], slot_of, length, columns)
        build_ratio(as_builder, num, den, params["fallback"])
    else:
        FEATURES[feature.kind].build(operand, *windows, **dict(feature.params))
    return operand.values[k]


def build_kernel(
    feature: FeatureDef,
    length: int,
    sample_rate: float = 1.0,
    columns: dict[str, tuple[FeatureDef, int]] | None = None,
) -> ir.Kernel:
    """One feature's kernel. ``columns`` (column name -> (feature, output index)) resolves a
    ratio's operands."""
    builder = ir.KernelBuilder(length, len(feature.signals), sample_rate)
    if feature.kind == RATIO:
        params = dict(feature.params)
        slot_of = {s: i for i, s in enumerate(feature.signals)}
        if columns is None:
            raise RuntimeError("a ratio needs the columns it reads")
        num = _column_value(builder, params["num"], slot_of, length, columns)
        den = _column_value(builder, params["den"], slot_of, length, columns)
        build_ratio(builder, num, den, params["fallback"])
    else:
        kind = FEATURES[feature.kind]
        windows = [ir.WindowRef(slot, length) for slot in range(len(feature.signals))]
        kind.build(builder, *windows, **dict(feature.params))
    kernel = builder.build()
    if kernel.n_outputs != len(feature.outputs):
        raise AssertionError(
            f"{feature.kind} produced {kernel.n_outputs} outputs, declared {len(feature.outputs)}"
        )
    return kernel


def _constants_failed(loc: Location, what: str, exc: ArithmeticError) -> SpecError:
    """A generation-time computation that failed after validation accepted the spec (each
    kind's ``constants`` rule should have caught it): still a located spec error, never a
    traceback."""
    return SpecError(
        [
            Problem.at(
                loc,
                f"the constants of this {what} cannot be computed in "
                f"double precision ({type(exc).__name__}: {exc})",
            )
        ]
    )


def lower(spec: Spec, keep: Iterable[int] | None = None, name: str | None = None) -> Program:
    """The program computing every feature of ``spec``, or with ``keep`` (full-vector columns)
    a device program computing only those, in full-vector order, under the prefix ``name``. A
    device program keeps the full schedule: it emits on exactly the samples the full one does."""
    n_full = len(spec.feature_names)
    wanted = set(range(n_full)) if keep is None else set(keep)
    if not wanted <= set(range(n_full)):
        raise ValueError(f"keep: columns outside 0..{n_full - 1}")
    # Windows and their kernels, in the order of the feature vector.
    per_window: dict[str, list[FeaturePlan]] = {w.name: [] for w in spec.windows}
    column = full = 0
    full_columns: list[int] = []
    columns = {name: (f, k) for f in spec.features for k, name in enumerate(f.outputs)}
    for feature in spec.features:
        window = spec.window(feature.window)
        plans = per_window[window.name]
        try:
            kernel = build_kernel(feature, window.length, spec.sample_rate_hz, columns)
        except ArithmeticError as exc:
            raise _constants_failed(feature.loc, f"{feature.kind} feature", exc) from None
        kept = [k for k in range(kernel.n_outputs) if full + k in wanted]
        if len(kept) < kernel.n_outputs:
            kernel = ir.keep_outputs(kernel, kept)
        if kept:
            offset = sum(p.kernel.n_outputs for p in plans)
            plans.append(
                FeaturePlan(
                    feature,
                    kernel,
                    feature.signals,
                    column,
                    offset,
                    tuple(feature.outputs[k] for k in kept),
                )
            )
            full_columns.extend(full + k for k in kept)
            column += kernel.n_outputs
        full += len(feature.outputs)

    # Signals: keep only those a window reads, plus what they are computed from.
    read_by_windows = {s for plans in per_window.values() for p in plans for s in p.reads}
    built: dict[str, SignalPlan] = {}
    for sig in spec.signals:
        if sig.kind == "input":
            built[sig.name] = SignalPlan(
                sig.name, "input", spec.inputs.index(sig.name), None, None, "raw input"
            )
        else:
            kind = SIGNALS[sig.kind]
            params = dict(sig.params)
            if kind.uses_rate:
                params["sample_rate"] = spec.sample_rate_hz
            try:
                made = kind.build(sig.name, *sig.sources, **params)
            except ArithmeticError as exc:
                raise _constants_failed(sig.loc, f"{sig.kind} signal", exc) from None
            if isinstance(made, Steps):
                built[sig.name] = SignalPlan(
                    sig.name,
                    sig.kind,
                    None,
                    made.value,
                    made.value,
                    kind.doc,
                    made.first,
                    made.later,
                )
            else:
                first, later = made
                built[sig.name] = SignalPlan(sig.name, sig.kind, None, first, later, kind.doc)
    needed: set[str] = set()
    stack = list(read_by_windows)
    while stack:
        signal = stack.pop()
        if signal in needed:
            continue
        needed.add(signal)
        plan = built[signal]
        for expr in plan.exprs:
            stack.extend(reads_cur(expr) | reads_prev(expr))
    order = [s.name for s in spec.signals]
    signals = tuple(built[n] for n in order if n in needed or built[n].kind == "input")
    prev = set().union(*(reads_prev(e) for s in signals for e in s.exprs))

    windows = []
    for w in spec.windows:
        plans = per_window[w.name]
        if not plans and keep is None:
            continue  # (validation rejects unused windows; kept for direct callers)
        used = {s for p in plans for s in p.reads}
        windows.append(
            WindowPlan(w.name, w.length, w.hop, tuple(n for n in order if n in used), tuple(plans))
        )
    return Program(
        spec=spec,
        signals=signals,
        prev_signals=tuple(n for n in order if n in prev),
        ring_signals=tuple(n for n in order if n in read_by_windows),
        windows=tuple(windows),
        feature_names=tuple(spec.feature_names[c] for c in full_columns),
        name=name or spec.name,
        full_columns=tuple(full_columns),
    )
