"""The streaming rules, stated once: what one push does, as an ordered plan every target prints.

``stream_step(program)`` builds the push step of a streaming featuriser from the lowered
``Program`` (docs/semantics.md states the rules in words):

1. ``RejectNonFinite``: a sample holding a NaN or an infinity is rejected before anything is
   read or written, so the state stays as if it had never been pushed;
2. ``ReadInputs``: the inputs the featuriser reads, as this sample's signal values;
3. ``DeriveSignals``: each derived signal's value (and state slots) by its ``first`` rule on the
   stream's first accepted sample, by its ``later`` rule after it; a recursive signal whose
   value was non-finite on the last sample restarts (``restart``) by its ``first`` rule;
4. ``KeepPrevious``: the previous value of the signals a later sample reads (``Prev``);
5. ``WriteRings``: this sample into the ring of every signal a window reads, stored twice (at
   ``slot`` and ``slot + ring_length``) so that every window is one contiguous run ending at
   ``newest``;
6. ``WarmUp``: nothing is evaluated until ``warmup`` samples (the spec's longest window) have
   been accepted;
7. ``Schedule``: each window with a hop above 1 is due when its phase is 0, and its phase
   advances (a window of hop 1 is due on every sample);
8. ``Evaluate``: each due window computes its features into the latest vector, or, on a device
   featuriser that computes none of a window's features, is *held*: it keeps the schedule and
   computes nothing;
9. ``Emit``: the vector is emitted when at least one window was due.

C, Swift and Kotlin print this plan through their C-family emitter
(codegen/backends/cfamily.py ``CFamilyEmitter.push_body``) with a table of syntax hooks; their
templates hold only the frame (signature, argument checks, state, docs). numpy, which is
vectorised, reads the same rule as the *schedule*: the functions below, whose source the numpy
module carries (``SCHEDULE_FUNCTIONS``), say which accepted samples end an evaluation of each
window and which emit a vector.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .lowering import Program, SignalPlan, reads_cur

if TYPE_CHECKING:  # types only (the numpy module's copy of the schedule needs no import)
    import numpy.typing as npt

# ---------------------------------------------------------------- the schedule (one definition)
# These functions are the emission rule. numpy's generated module holds their source verbatim
# (``schedule_source``); the C-family push step implements the same rule with a phase counter
# per window, and tests/test_stream_step.py checks both against hand-computed indices. Accepted
# samples are counted from 0; WARMUP is the number of accepted samples before the first vector.
# The numpy module calls evaluation_end and latest_evaluation on integer arrays as well.


def evaluation_end(k: int, hop: int, warmup: int) -> int:
    """The accepted sample on which evaluation K (from 0) of a window with this HOP ends: the
    first on the first full sample (WARMUP - 1), then one every HOP samples."""
    return warmup - 1 + k * hop


def latest_evaluation(sample: int, hop: int, warmup: int) -> int:
    """The last evaluation of a window with this HOP ending at or before accepted sample
    SAMPLE (SAMPLE >= WARMUP - 1): the one whose values a vector emitted there holds."""
    return (sample - (warmup - 1)) // hop


def evaluations_before(sample: int, hop: int, warmup: int) -> int:
    """How many evaluations of a window with this HOP end before accepted sample SAMPLE."""
    return max(0, -(-(sample - (warmup - 1)) // hop))


def emission_ends(
    first: int, count: int, warmup: int, hops: tuple[int, ...]
) -> "npt.NDArray[np.intp]":
    """Accepted samples FIRST .. FIRST + COUNT - 1 on which at least one window (one per entry
    of HOPS) is evaluated, and so a vector is emitted."""
    due = np.zeros(count, dtype=bool)
    for hop in hops:
        start = evaluation_end(evaluations_before(first, hop, warmup), hop, warmup)
        due[start - first :: hop] = True
    return np.flatnonzero(due) + first


SCHEDULE_FUNCTIONS = (evaluation_end, latest_evaluation, evaluations_before, emission_ends)


def schedule_source() -> list[str]:
    """The source of the schedule functions, for the numpy module (its lines, verbatim)."""
    return [inspect.getsource(fn).rstrip("\n") for fn in SCHEDULE_FUNCTIONS]


# ---------------------------------------------------------------- the push step, as a plan


@dataclass(frozen=True)
class RejectNonFinite:
    doc = "a sample with a NaN or an infinity is rejected: the state stays untouched"
    n_inputs: int


@dataclass(frozen=True)
class ReadInputs:
    doc = "this sample's inputs"
    inputs: tuple[tuple[int, str], ...]  # (index in the sample, name): those the program reads


@dataclass(frozen=True)
class DeriveSignals:
    doc = "derived signals: the first sample's rule, then the later rule (a restart: the first)"
    signals: tuple[SignalPlan, ...]  # the derived ones, in dependency order


@dataclass(frozen=True)
class KeepPrevious:
    doc = "the previous value of the signals a later sample reads"
    signals: tuple[str, ...]


@dataclass(frozen=True)
class WriteRings:
    doc = "this sample into the rings, twice, so that every window is contiguous"
    signals: tuple[str, ...]
    ring_length: int


@dataclass(frozen=True)
class WarmUp:
    doc = "warm-up: nothing is evaluated before the longest window is full"
    warmup: int


@dataclass(frozen=True)
class Phase:
    """A window with a hop above 1: due when its phase is 0 (on the first full sample and every
    ``hop`` accepted samples after it). ``read``: whether anything reads its ``due`` flag (its
    evaluation, or the emission when no window of hop 1 emits on every sample)."""

    window: str
    hop: int
    read: bool = True


@dataclass(frozen=True)
class Schedule:
    doc = "the schedule: which windows are due on this sample"
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class Evaluation:
    """One window on a sample where it may be due. ``start``: how far before ``newest`` its
    oldest sample lies (None: its kernels read no samples). ``held``: none of its features is
    computed here (a device featuriser), it only keeps the schedule."""

    window: str
    length: int
    hop: int
    start: int | None
    held: bool


@dataclass(frozen=True)
class Evaluate:
    doc = "the windows that are due compute their features into the latest vector"
    windows: tuple[Evaluation, ...]


@dataclass(frozen=True)
class Emit:
    doc = "a vector when at least one window was due"
    due: tuple[str, ...]  # windows whose phase decides; () when a window of hop 1 is due always

    @property
    def always(self) -> bool:
        return not self.due


Step = (
    RejectNonFinite
    | ReadInputs
    | DeriveSignals
    | KeepPrevious
    | WriteRings
    | WarmUp
    | Schedule
    | Evaluate
    | Emit
)


@dataclass(frozen=True)
class StreamStep:
    """The push step of one program's streaming featuriser: its steps, in order."""

    steps: tuple[Step, ...]
    warmup: int
    windows: tuple[tuple[str, int, int], ...]  # (name, length, hop) of every scheduled window

    @property
    def kinds(self) -> tuple[str, ...]:
        """The steps' class names, in order (what every target's push body follows)."""
        return tuple(type(s).__name__ for s in self.steps)

    @property
    def hops(self) -> tuple[int, ...]:
        return tuple(hop for _, _, hop in self.windows)


def used_inputs(program: Program) -> tuple[tuple[int, str], ...]:
    """(index, name) of the inputs the featuriser reads (a pruned one may read fewer)."""
    read = set(program.ring_signals) | set(program.prev_signals)
    for s in program.signals:
        if s.kind != "input":
            read |= set().union(*(reads_cur(e) for e in s.exprs))
    return tuple((i, n) for i, n in enumerate(program.inputs) if n in read)


def restart_flags(program: Program) -> tuple[str, ...]:
    """The derived signals whose recursion restarts after a non-finite value: each keeps a
    ``restart_<name>`` flag in the featuriser's state, which ``DeriveSignals`` reads and sets."""
    return tuple(s.name for s in program.signals if s.kind != "input" and s.restart is not None)


def stream_step(program: Program) -> StreamStep:
    """The push step of ``program``. A device program keeps the full program's schedule: its
    windows without features are held, and its warm-up is the spec's longest window."""
    derived = tuple(s for s in program.signals if s.kind != "input")
    windows = program.windows
    steps: list[Step] = [
        RejectNonFinite(len(program.inputs)),
        ReadInputs(used_inputs(program)),
        DeriveSignals(derived),
    ]
    if program.prev_signals:
        steps.append(KeepPrevious(program.prev_signals))
    if program.ring_signals:
        steps.append(WriteRings(program.ring_signals, program.ring_length))
    steps.append(WarmUp(program.warmup))
    always = any(w.hop == 1 for w in windows)
    phases = tuple(
        Phase(w.name, w.hop, read=bool(w.features) or not always) for w in windows if w.hop > 1
    )
    if phases:
        steps.append(Schedule(phases))
    steps.append(
        Evaluate(
            tuple(
                Evaluation(
                    w.name,
                    w.length,
                    w.hop,
                    w.length - 1 if w.signals else None,
                    held=not w.features,
                )
                for w in windows
            )
        )
    )
    steps.append(Emit(() if always else tuple(p.window for p in phases)))
    return StreamStep(
        tuple(steps), program.warmup, tuple((w.name, w.length, w.hop) for w in windows)
    )
