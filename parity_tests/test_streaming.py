"""The generated numpy ``Featurizer``: a recording pushed in chunks of any size gives exactly the
vectors and end rows of one ``featurize`` call over the whole recording (the recursions, window
tails, emission phase and held evaluations carry across chunk boundaries; non-finite rows are
dropped or refused as in one call). ``featgen featurize`` streams recordings through it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from codegen.build import generate
from featgen import harness
from featgen.harness.recordings import edge_case_recording
from featurespec import load_spec, load_spec_text
from parity_tests.conftest import ROOT
from parity_tests.test_parity import SMALL, VOCAB

SPECS = {
    "twist_and_go": lambda: load_spec(ROOT / "examples" / "twist_and_go" / "spec.yaml"),
    "spar": lambda: load_spec(ROOT / "examples" / "spar" / "spec.yaml"),
    "basic_motions": lambda: load_spec(ROOT / "examples" / "basic_motions" / "spec.yaml"),
    "vocab": lambda: load_spec_text(VOCAB),
    "small": lambda: load_spec_text(SMALL),
}


@pytest.fixture(scope="module", params=sorted(SPECS))
def featuriser(request):
    spec = SPECS[request.param]()
    files = generate(dataclasses.replace(spec, model=None, decision=None))
    return spec, harness.load_numpy_module(files, spec.name)


def _schedule(rng, n: int, spec) -> list[int]:
    """Chunk sizes covering N rows: 1, sizes below the longest window, around it, and sizes
    that are no multiple of any hop, in a seeded random order."""
    longest = spec.max_length
    hops = [w.hop for w in spec.windows]
    menu = (
        [1, 1, 2, 3, max(longest // 3, 1), longest - 1, longest, longest + 1, 2 * longest + 7]
        + [h + 1 for h in hops]
        + [h * 3 - 1 for h in hops if h > 1]
    )
    sizes, total = [], 0
    while total < n:
        sizes.append(int(rng.choice(menu)))
        total += sizes[-1]
    return sizes


def _pushed(module, samples, sizes, nonfinite):
    featurizer = module.Featurizer(nonfinite)
    xs, ends, start = [], [], 0
    for size in sizes:
        x, e = featurizer.push(samples[start : start + size])
        assert x.shape == (e.shape[0], module.N_FEATURES) and e.dtype == np.int64
        xs.append(x)
        ends.append(e)
        start += size
    return np.concatenate(xs), np.concatenate(ends)


def _assert_same_bits(got, want):
    (x, e), (wx, we) = got, want
    assert x.shape == wx.shape
    np.testing.assert_array_equal(e, we)
    same = x.view(np.uint64) == wx.view(np.uint64)
    assert same.all(), f"{(~same).sum()} values differ; first at {np.argwhere(~same)[0]}"


@pytest.mark.parametrize("seed", [1, 2])
def test_chunks_give_the_bits_of_one_call(featuriser, seed):
    spec, module = featuriser
    rng = np.random.default_rng(seed)
    n = 3 * spec.max_length + int(rng.integers(0, 60))
    samples = edge_case_recording(n, len(spec.inputs), seed, nonfinite=True)
    want = module.featurize(samples, nonfinite="drop")
    assert want[0].shape[0] > 0
    _assert_same_bits(_pushed(module, samples, _schedule(rng, n, spec), "drop"), want)
    finite = samples[np.isfinite(samples).all(axis=1)]
    _assert_same_bits(
        _pushed(module, finite, _schedule(rng, finite.shape[0], spec), "raise"),
        module.featurize(finite),
    )


def test_one_row_at_a_time_and_nonfinite_runs_across_boundaries(featuriser):
    """Single-row pushes; a run of non-finite rows spanning several chunks, one at the very
    start and one at the end; chunks that are entirely dropped."""
    spec, module = featuriser
    n = spec.max_length + 25
    samples = edge_case_recording(n, len(spec.inputs), 7)
    samples[0, 0] = np.nan
    samples[spec.max_length - 3 : spec.max_length + 4, -1] = np.inf  # 7 rows
    samples[-1, 0] = -np.inf
    want = module.featurize(samples, nonfinite="drop")
    _assert_same_bits(_pushed(module, samples, [1] * n, "drop"), want)
    _assert_same_bits(_pushed(module, samples, [spec.max_length - 2, 3, 1, 2, n], "drop"), want)


def test_raise_names_the_row_of_the_whole_recording_and_keeps_the_state(featuriser):
    spec, module = featuriser
    n = 2 * spec.max_length + 10
    samples = edge_case_recording(n, len(spec.inputs), 3)
    bad = spec.max_length + 5
    samples[bad, 1] = np.nan
    with pytest.raises(module.NonFiniteSampleError) as whole:
        module.featurize(samples)
    featurizer = module.Featurizer()
    featurizer.push(samples[: bad - 2])
    with pytest.raises(module.NonFiniteSampleError) as chunked:
        featurizer.push(samples[bad - 2 : bad + 4])
    assert (
        (chunked.value.row, chunked.value.input_name)
        == (whole.value.row, whole.value.input_name)
        == (bad, spec.inputs[1])
    )
    assert featurizer.rows == bad - 2  # the refused chunk changed nothing


def test_empty_and_short_recordings(featuriser):
    spec, module = featuriser
    featurizer = module.Featurizer()
    x, e = featurizer.push(np.empty((0, len(spec.inputs))))
    assert x.shape == (0, module.N_FEATURES) and e.shape == (0,)
    samples = edge_case_recording(spec.max_length - 1, len(spec.inputs), 4)
    x, e = featurizer.push(samples)
    assert x.shape[0] == 0 and module.featurize(samples)[0].shape[0] == 0


@pytest.mark.parametrize("where", [-1, 0, 1])
def test_a_filter_restart_carries_across_chunk_boundaries(featuriser, where):
    """A huge sample that makes a recursion non-finite on the last row of a chunk, the first
    row of the next, or the second: the restart (the next sample starts the filter afresh) must
    happen on the same sample as in one call, whichever chunk it falls in."""
    spec, module = featuriser
    n = 6 * spec.max_length + 40
    samples = edge_case_recording(n, len(spec.inputs), 11)
    boundaries = list(range(spec.max_length + 3, n, spec.max_length + 3))
    for k, b in enumerate(boundaries):
        samples[b + where, k % samples.shape[1]] = (1e300, -1.7e308, 2e154)[k % 3]
    sizes = np.diff([0, *boundaries, n]).tolist()
    _assert_same_bits(
        _pushed(module, samples, sizes, "drop"), module.featurize(samples, nonfinite="drop")
    )
