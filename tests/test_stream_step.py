"""The streaming rules have one definition (codegen/streaming.py): the push step every C-family
target prints, and the schedule numpy's module carries. These tests fail if a template types a
rule again, if a target's push body leaves the plan's order, or if the schedule moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codegen import streaming
from codegen.backends import c as c_backend
from codegen.backends import kotlin_jvm as kotlin_backend
from codegen.backends import numpy as numpy_backend
from codegen.backends import swift as swift_backend
from codegen.build import _common, _environment, _normalise
from codegen.lowering import Program, lower
from featurespec import load_spec_text

ROOT = Path(__file__).resolve().parent.parent

# Two windows with hops above 1 (a vector only when one is due), a recursion that restarts, a
# signal whose previous value is kept, and a third window of hop 1 that a device program drops.
SPEC = """
spec: featgen/v1
name: sp
sample_rate_hz: 50
inputs: [a, b]
signals:
  e: {ema: a, alpha: 0.25}
  d: {diff: b}
windows:
  short: {length: 4, hop: 2}
  long: {length: 9, hop: 3}
  every: {length: 3, hop: 1}
features:
  - {compute: [mean, max], of: [a, e], over: short}
  - {compute: std, of: [d, b], over: long}
  - {compute: min, of: a, over: every}
"""


def programs() -> list[tuple[str, Program]]:
    """The full program (a window of hop 1: it emits on every sample after the warm-up), the
    same spec without that window (the two hopped windows decide) and a device program without
    ``long``'s features (held: it keeps its schedule, computes nothing)."""
    spec = load_spec_text(SPEC)
    hopped = load_spec_text(
        SPEC.replace("name: sp", "name: sp_hopped")
        .replace("  every: {length: 3, hop: 1}\n", "")
        .replace("  - {compute: min, of: a, over: every}\n", "")
    )
    names = spec.feature_names
    short_every = [i for i, n in enumerate(names) if not n.endswith("__long")]
    return [
        ("full", lower(spec)),
        ("hopped", lower(hopped)),
        ("held", lower(spec, keep=short_every, name="sp_held")),
    ]


TARGETS = {  # target: (template, backend, comment prefix)
    "C": ("c/source.c.j2", c_backend, "/* "),
    "Swift": ("swift/Features.swift.j2", swift_backend, "// "),
    "Kotlin": ("kotlin/Features.kt.j2", kotlin_backend, "// "),
}


def render(target: str, program: Program) -> tuple[str, list[str]]:
    """The target's featuriser source for ``program`` and the push body its backend printed."""
    template, backend, _ = TARGETS[target]
    context = backend.render_context(program)
    text = (
        _environment()
        .get_template(template)
        .render(header="// test", **_common(program), **context)
    )
    return _normalise(text), context["push_body"]


def step_sequence(text: str, step: streaming.StreamStep, comment: str) -> list[str]:
    """The steps whose one-line comment opens a block of ``text``, in the order they appear."""
    docs = {comment + part.doc: type(part).__name__ for part in step.steps}
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        for head, kind in docs.items():
            if stripped.startswith(head):
                found.append(kind)
    return found


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_prints_the_one_push_step_in_its_order(target):
    for label, program in programs():
        step = streaming.stream_step(program)
        text, body = render(target, program)
        assert step_sequence(text, step, TARGETS[target][2]) == list(step.kinds), (target, label)
        # the printed body is in the file as it is, nothing of the template in between
        lines = text.splitlines()
        indent = " " * (8 if target != "C" else 4)
        want = [indent + line if line else "" for line in body]
        starts = [i for i, line in enumerate(lines) if line == want[0]]
        assert any(lines[i : i + len(want)] == want for i in starts), (target, label)
        # and the rules' text is nowhere else in the file: the frame holds declarations only
        for fragment in ("+= 1", "+ 1 == ", "due_", "newest", "isfinite", "isFinite", "isNaN"):
            assert text.count(fragment) == "\n".join(body).count(fragment), (target, fragment)


def test_the_plan_covers_every_rule_in_order():
    kinds = {label: streaming.stream_step(p).kinds for label, p in programs()}
    assert kinds["full"] == (
        "RejectNonFinite",
        "ReadInputs",
        "DeriveSignals",
        "KeepPrevious",
        "WriteRings",
        "WarmUp",
        "Schedule",
        "Evaluate",
        "Emit",
    )
    full, hopped, held = (streaming.stream_step(p) for _, p in programs())
    assert full.steps[-1] == streaming.Emit(())  # the hop-1 window emits on every sample
    assert hopped.steps[-1] == streaming.Emit(("short", "long"))
    # the held window keeps its phase (and so its schedule) but computes nothing; its due flag
    # is not read when a hop-1 window emits anyway
    (schedule,) = [s for s in held.steps if isinstance(s, streaming.Schedule)]
    assert schedule.phases == (streaming.Phase("short", 2), streaming.Phase("long", 3, read=False))
    (evaluate,) = [s for s in held.steps if isinstance(s, streaming.Evaluate)]
    assert [(w.window, w.held, w.start) for w in evaluate.windows] == [
        ("short", False, 3),
        ("long", True, None),
        ("every", False, 2),
    ]
    assert full.warmup == hopped.warmup == held.warmup == 9  # the spec's longest window


@pytest.mark.parametrize(
    "template", ["c/source.c.j2", "swift/Features.swift.j2", "kotlin/Features.kt.j2"]
)
def test_no_template_types_a_streaming_rule(template):
    """The templates keep the frame; a rule typed in one again would drift from the others."""
    text = (ROOT / "templates" / template).read_text()
    for fragment in (
        "filled +=",
        "filled < ",
        "+ 1 ==",
        "phase_{{ w.name }} ==",
        "due_",
        "newest",
        "isfinite(",
        ".isFinite",
        "isNaN()",
        "isInfinite()",
        "if (st->started)",
        "if started",
        "restart_{{ s.name }} = {{",
        "ring_{{ s }}[",
        "eval_{{ w.name }}(st",
        "Self.eval_{{ w.name }}(base",
        "PENDING;",
        ".pending\n",
        "Status.PENDING",
        "prev_{{ s }} = s_",
    ):
        assert fragment not in text, (template, fragment)


# ---------------------------------------------------------------- the schedule


def test_schedule_functions_against_hand_computed_indices():
    # warm-up 10: the first evaluation ends on accepted sample 9
    assert [streaming.evaluation_end(k, 4, 10) for k in range(4)] == [9, 13, 17, 21]
    assert [streaming.evaluations_before(s, 4, 10) for s in (0, 9, 10, 13, 14, 18)] == [
        0,
        0,
        1,
        1,
        2,
        3,
    ]
    assert [streaming.latest_evaluation(s, 4, 10) for s in (9, 12, 13, 16, 17)] == [0, 0, 1, 1, 2]
    # hop 1: every sample from the first full one
    assert streaming.emission_ends(0, 14, 10, (1,)).tolist() == [9, 10, 11, 12, 13]
    # hops 4 and 6 (windows end on 9, 13, 17, 21, 25, 29 and 9, 15, 21, 27): their union
    assert streaming.emission_ends(0, 30, 10, (4, 6)).tolist() == [9, 13, 15, 17, 21, 25, 27, 29]
    # a run starting mid-stream (accepted samples 12 .. 21) sees the same samples
    assert streaming.emission_ends(12, 10, 10, (4, 6)).tolist() == [13, 15, 17, 21]
    # nothing before the warm-up ends, whatever the hops
    assert streaming.emission_ends(0, 9, 10, (1, 2)).tolist() == []


def phase_counter_emissions(step: streaming.StreamStep, n: int) -> list[int]:
    """The accepted samples on which the printed push step emits: its WarmUp, Schedule and Emit
    steps run as the C, Swift and Kotlin code runs them (a counter, a phase per window)."""
    (warmup,) = [s for s in step.steps if isinstance(s, streaming.WarmUp)]
    phases = [p for s in step.steps if isinstance(s, streaming.Schedule) for p in s.phases]
    (emit,) = [s for s in step.steps if isinstance(s, streaming.Emit)]
    filled, phase, emitted = 0, {p.window: 0 for p in phases}, []
    for sample in range(n):
        if filled < warmup.warmup:
            filled += 1
            if filled < warmup.warmup:
                continue
        due = {}
        for p in phases:
            due[p.window] = phase[p.window] == 0
            phase[p.window] = 0 if phase[p.window] + 1 == p.hop else phase[p.window] + 1
        if emit.always or any(due[w] for w in emit.due):
            emitted.append(sample)
    return emitted


def test_the_phase_counters_and_numpys_schedule_are_one_rule():
    for label, program in programs():
        step = streaming.stream_step(program)
        vectorised = streaming.emission_ends(0, 60, step.warmup, step.hops).tolist()
        assert phase_counter_emissions(step, 60) == vectorised, label
    full, hopped, _ = (streaming.stream_step(p) for _, p in programs())
    assert phase_counter_emissions(full, 14) == [8, 9, 10, 11, 12, 13]
    # short every 2 and long every 3 from sample 8: 8, 10, 11, 12, 14, 16, 17, 18, 20...
    assert phase_counter_emissions(hopped, 21) == [8, 10, 11, 12, 14, 16, 17, 18, 20]


def test_the_numpy_module_carries_the_schedule_verbatim():
    program = lower(load_spec_text(SPEC))
    context = numpy_backend.render_context(program)
    text = (
        _environment()
        .get_template("numpy/module.py.j2")
        .render(header="# test", **_common(program), **context)
    )
    for source in streaming.schedule_source():
        assert source in text
    namespace: dict[str, object] = {}
    exec(compile(text, "sp_features.py", "exec"), namespace)
    ends = namespace["emission_ends"](0, 40, namespace["MAX_LENGTH"], namespace["HOPS"])
    step = streaming.stream_step(program)
    assert np.array_equal(ends, streaming.emission_ends(0, 40, step.warmup, step.hops))
    assert namespace["HOPS"] == step.hops == (2, 3, 1)
