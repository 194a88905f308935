"""Shared work across a window's features (codegen/sharing.py): what it shares, what it must
never share, and that the shared code stays bit-identical to the per-feature numpy module
(``generate(spec, share=False)``), the oracle for sharing. Every target emits the shared form,
so the full parity suites compare shared with shared; the random-spec property test and the
tests here compare each shared target, numpy included, with the per-feature numpy."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from codegen.build import generate
from codegen.lowering import lower
from codegen.sharing import share_window
from featgen import harness
from featgen.harness.recordings import parity_recordings
from featurespec import load_spec, load_spec_text
from featurespec.vocabulary import ir

ONE_SIGNAL = """
spec: featgen/v1
name: shared
sample_rate_hz: 50
inputs: [a, b]
windows:
  w: {length: 32, hop: 2}
features:
  - compute: [mean, std, var, skewness, kurtosis, min, max, range, argmin, argmax, energy, rms,
              median, iqr, mad, slope]
    of: [a, b]
    over: w
  - {compute: percentile, of: a, over: w, q: 90}
  - {compute: [dft_magnitude, dft_power], of: a, over: w, bins: [1, 2, 3]}
  - {compute: [spectral_centroid, dominant_frequency], of: a, over: w}
"""


def _top_loops(body) -> list[ir.Loop]:
    return [s for s in body if isinstance(s, ir.Loop)]


def _count(body, kind) -> int:
    return sum(1 for s in body for n in ir.walk(s) if isinstance(n, kind))


def test_one_pass_one_sort_per_signal_and_window():
    program = lower(load_spec_text(ONE_SIGNAL))
    (window,) = program.windows
    merged = share_window(window)
    separate = [s for f in window.features for s in f.kernel.body]
    # every order statistic of a signal reads one sorted copy; mad sorts its deviations too:
    # 2 signals -> 4 sorts (median, iqr, mad x2 per signal and a percentile before)
    assert _count(separate, ir.SortBuf) == 2 * 4 + 1
    assert _count(merged.body, ir.SortBuf) == 4
    # loops over the same range run as one pass where nothing orders them: 61 loops -> 10
    assert len(_top_loops(separate)) == 61 and len(_top_loops(merged.body)) == 10
    # statements executed per window (sorts at a nominal 4 per element): about half
    assert _work(merged.body) < 0.55 * _work(separate)


def _work(body, trips: int = 1) -> int:
    n = 0
    for s in body:
        if isinstance(s, ir.Loop):
            n += _work(s.body, trips * (s.stop - s.start))
        elif isinstance(s, (ir.Let, ir.Set, ir.BufSet, ir.Out)):
            n += trips
        elif isinstance(s, ir.SortBuf):
            n += trips * 4 * s.buf.length
    return n


def test_shared_c_and_swift_are_bit_identical_to_per_feature_numpy(tmp_path, swiftc):
    spec = load_spec_text(ONE_SIGNAL)
    files = generate(spec)
    module = harness.load_numpy_module(generate(spec, share=False), spec.name)
    recordings = parity_recordings(len(spec.inputs), n=4_000, count=2)
    for target in (
        harness.c_target(files, spec.name, tmp_path / "c"),
        harness.swift_target(files, spec.name, tmp_path / "swift"),
    ):
        comparison = harness.compare_target(module, target, recordings)
        assert comparison.identical, comparison.failure_message()
        assert comparison.vectors > 3_000


@pytest.mark.parametrize(
    "which", ["one_signal", "vocabulary", "twist_and_go", "spar", "basic_motions"]
)
def test_shared_numpy_is_bit_identical_to_per_feature_numpy(which):
    """The training module shares work too (one DFT for all spectral features of a signal,
    common subexpressions, in-place accumulators): it must not change a bit."""
    from parity_tests.test_parity import VOCAB

    root = Path(__file__).resolve().parent.parent
    text = {"one_signal": ONE_SIGNAL, "vocabulary": VOCAB}.get(which)
    spec = (
        load_spec_text(text)
        if text is not None
        else load_spec(root / "examples" / which / "spec.yaml")
    )
    shared = harness.load_numpy_module(generate(spec), spec.name)
    reference = harness.load_numpy_module(generate(spec, share=False), spec.name)
    recordings = parity_recordings(len(spec.inputs), n=6_000, count=3)
    checked = 0
    for name, samples in recordings.items():
        got, ends = shared.featurize(samples, nonfinite="drop")
        want, want_ends = reference.featurize(samples, nonfinite="drop")
        assert np.array_equal(ends, want_ends), name
        same = harness.same_bits(got, want)
        assert same.all(), (
            f"{name}: {int((~same).sum())} values differ, first in "
            f"{spec.feature_names[int(np.argwhere(~same)[0][1])]}"
        )
        checked += got.size
    assert checked > 10_000


def _feature(column, body, slots=("a",), outputs=("x",)):
    return SimpleNamespace(
        slots=slots, column=column, outputs=outputs, kernel=SimpleNamespace(body=tuple(body))
    )


def _sum_kernel(extra=()):
    total = ir.Var("total")
    return [
        ir.Let(total, ir.Const(0.0)),
        ir.Loop("k", 0, 4, (ir.Set(total, ir.Bin("+", total, ir.At(0, ir.Index("k")))),)),
        *extra,
        ir.Out(0, total),
    ]


def test_a_value_changed_after_its_loop_is_not_shared():
    """Feature 1 doubles its sum after the loop: its loop is not the last writer of `total`,
    so its `total` must not become feature 0's (which feature 1 would then double)."""
    total = ir.Var("total")
    window = SimpleNamespace(
        signals=("a",),
        features=[
            _feature(0, _sum_kernel()),
            _feature(1, _sum_kernel([ir.Set(total, ir.Bin("*", total, ir.Const(2.0)))])),
        ],
    )
    merged = share_window(window)
    outs = {s.k: s.value.name for s in merged.body if isinstance(s, ir.Out)}
    assert outs[0] != outs[1]
    assert _value(merged, [1.0, 2.0, 3.0, 4.0]) == {0: 10.0, 1: 20.0}


def test_identical_work_on_different_signals_or_constants_is_not_shared():
    window = SimpleNamespace(
        signals=("a", "b"),
        features=[
            _feature(0, _sum_kernel(), slots=("a",)),
            _feature(1, _sum_kernel(), slots=("b",)),
            _feature(2, _sum_kernel(), slots=("a",)),
        ],
    )
    merged = share_window(window)
    outs = {s.k: s.value.name for s in merged.body if isinstance(s, ir.Out)}
    assert outs[0] == outs[2] != outs[1]
    got = _value(merged, [1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0])
    assert got == {0: 10.0, 1: 100.0, 2: 10.0}


def _value(merged, *signals) -> dict[int, float]:
    """Run a merged body of Let/Set/Loop/Out/Bin/At/Const/Var on one window: a tiny independent
    interpreter, so these checks do not depend on any backend."""
    env: dict[str, float] = {}
    out: dict[int, float] = {}

    def ev(e):
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.Var):
            return env[e.name]
        if isinstance(e, ir.At):
            return signals[e.slot][int(env[e.index.var]) + e.index.offset]
        if isinstance(e, ir.Bin):
            a, b = ev(e.a), ev(e.b)
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[e.op]
        raise TypeError(e)

    def run(body):
        for st in body:
            if isinstance(st, (ir.Let, ir.Set)):
                env[st.var.name] = ev(st.value)
            elif isinstance(st, ir.Out):
                out[st.k] = ev(st.value)
            elif isinstance(st, ir.Loop):
                for i in range(st.start, st.stop):
                    env[st.var] = i
                    run(st.body)
            else:
                raise TypeError(st)

    run(merged.body)
    return out
