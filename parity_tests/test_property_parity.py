"""Property-based parity: random valid specs and hostile random streams, numpy vs C bit for bit.

The spec strategy is built from the registries, so a new feature or signal kind is fuzzed the
moment it is registered. Hypothesis shrinks a failure to a small spec and stream and prints both.
"""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from codegen.build import generate
from featgen import harness
from featurespec import load_spec_text
from featurespec.vocabulary.features import FEATURES
from featurespec.vocabulary.params import REQUIRED, Param, ParamError
from featurespec.vocabulary.signals import SIGNALS

settings.register_profile(
    "ci", max_examples=30, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "long", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(
    os.environ.get("FEATGEN_HYPOTHESIS", "ci" if os.environ.get("CI") == "true" else "dev")
)


RATE = 50.0  # the specs' sample_rate_hz


def param_value(param: Param) -> st.SearchStrategy:
    if param.kind == "number":  # the second branch serves parameters such as 0 < alpha <= 1,
        # the third percentiles (0..100) and frequencies in Hz (below Nyquist, 25 Hz)
        return st.one_of(st.floats(-4, 4), st.floats(0.001, 1), st.floats(0, 100)).map(
            lambda v: round(v, 3)
        )
    if param.kind == "int":
        return st.integers(0, 12)
    if param.kind == "bool":
        return st.booleans()
    if param.kind == "range":  # the second branch: bands in Hz, 0 < low < high < 25
        return st.one_of(
            st.tuples(st.floats(-4, 0), st.floats(0.01, 4)),
            st.tuples(st.floats(0.1, 10), st.floats(10.5, 24)),
        ).map(lambda t: [round(t[0], 2), round(t[1], 2)])
    if param.kind == "choice":
        return st.sampled_from(param.choices)
    if param.kind == "ints":  # DFT bins: small, distinct
        return st.lists(st.integers(0, 12), min_size=1, max_size=4, unique=True)
    raise AssertionError(param.kind)


def valid(param: Param, value) -> bool:
    try:
        coerced = param.coerce(value)
    except ParamError:
        return False
    return param.rate_check is None or param.rate_check(coerced, RATE) is None


@st.composite
def params_for(draw, declared: dict[str, Param]) -> dict:
    out = {}
    for key, param in declared.items():
        if param.default is None and draw(st.booleans()):
            continue  # an optional parameter left out
        for _ in range(20):
            value = draw(param_value(param))
            if valid(param, value):
                out[key] = value
                break
        else:
            assume(param.default is not REQUIRED)  # a valid value could not be drawn
    return out


def fits(kind, params: dict, length: int) -> bool:
    """Whether the validator accepts the kind with these parameters over ``length`` samples."""
    full = {k: p.default for k, p in kind.params.items() if not p.required}
    full.update({k: kind.params[k].coerce(v) for k, v in params.items()})
    if length < kind.min_length or length <= full.get("ddof", -1):
        return False
    return kind.check is None or kind.check(full, length, RATE) is None


@st.composite
def specs(draw) -> str:
    inputs = [f"in{i}" for i in range(draw(st.integers(1, 3)))]
    names = list(inputs)
    signals = {}
    for i in range(draw(st.integers(0, 3))):
        kind = SIGNALS[draw(st.sampled_from(sorted(SIGNALS)))]
        count = draw(st.integers(kind.min_sources, min(kind.max_sources, 3)))
        sources = [draw(st.sampled_from(names)) for _ in range(count)]
        if kind.distinct and len(set(sources)) < len(sources):
            continue  # (a ratio of a signal to itself: refused)
        entry = {kind.name: sources if kind.max_sources > 1 else sources[0]}
        entry.update(draw(params_for(kind.params)))
        name = f"sig{i}"
        signals[name] = entry
        names.append(name)
    windows = {
        f"w{i}": {"length": draw(st.integers(1, 24)), "hop": draw(st.integers(1, 6))}
        for i in range(draw(st.integers(1, 3)))
    }
    features = []
    for _ in range(draw(st.integers(1, 4))):
        kind = FEATURES[draw(st.sampled_from(sorted(FEATURES)))]
        params = draw(params_for(kind.params))
        fitting = [w for w, d in windows.items() if fits(kind, params, d["length"])]
        if not fitting:
            continue
        of = [draw(st.sampled_from(names)) for _ in range(kind.n_signals)]
        entry = {
            "compute": kind.name,
            "of": of[0] if kind.n_signals == 1 else [of],
            "over": draw(st.sampled_from(fitting)),
        }
        entry.update(params)
        if any(
            f["compute"] == kind.name and f["of"] == entry["of"] and f["over"] == entry["over"]
            for f in features
        ):
            continue
        features.append(entry)
    if not features:
        features.append({"compute": "mean", "of": names[-1], "over": "w0"})
    used = {f["over"] for f in features}
    windows = {name: w for name, w in windows.items() if name in used}  # unused ones are errors
    doc = {
        "spec": "featgen/v1",
        "name": "prop",
        "sample_rate_hz": 50,
        "inputs": inputs,
        "signals": signals,
        "windows": windows,
        "features": features,
    }
    # Ratios of two columns of one window (and a ratio of that ratio), drawn from the columns
    # the spec above names, so they read every kind's code inside the ratio's kernel.
    columns = load_spec_text(json.dumps(doc)).features
    by_window: dict[str, list[str]] = {}
    for f in columns:
        by_window.setdefault(f.window, []).extend(f.outputs)
    for i in range(draw(st.integers(0, 2))):
        window = draw(st.sampled_from(sorted(by_window)))
        pool = by_window[window]
        if len(pool) < 2:
            continue
        num, den = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2, unique=True))
        features.append(
            {
                "ratio": [num, den],
                "label": f"ratio{i}",
                "fallback": draw(st.sampled_from([0.0, -1.0])),
            }
        )
        pool.append(f"ratio{i}__{window}")
    return json.dumps(doc)


FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e308, -1e308, 2.5, 0.1]),
)


@st.composite
def streams(draw, n_inputs: int) -> np.ndarray:
    n = draw(st.integers(0, 120))
    base = draw(hnp.arrays(np.float64, (n, n_inputs), elements=FLOATS))
    if n and draw(st.booleans()):  # a constant stretch
        a = draw(st.integers(0, n - 1))
        base[a : a + draw(st.integers(1, 40))] = base[a]
    return base


_EXAMPLE = itertools.count()


def check_random_case(data, make_target) -> None:
    """Draw a spec and two streams; the target built by ``make_target`` must match numpy."""
    text = data.draw(specs(), label="spec")
    # A name of its own per example: each compiled library (a Swift module PropNShim, C symbols
    # propN_*) is loaded into this one process, and two Swift modules of one name with other
    # layouts must never meet in the Swift runtime.
    text = text.replace('"name": "prop"', f'"name": "prop{next(_EXAMPLE)}"', 1)
    spec = load_spec_text(text)  # the strategy only makes valid specs
    files = generate(spec)
    # The per-feature numpy module is the oracle: every target, numpy included, emits the
    # shared form (codegen/sharing.py), so an unsound merge shows up here.
    reference = harness.load_numpy_module(generate(spec, share=False), spec.name)
    target = make_target(files, spec.name)
    recordings = {
        f"s{i}": data.draw(streams(len(spec.inputs)), label=f"stream {i}") for i in range(2)
    }
    comparison = harness.compare_target(reference, target, recordings)
    assert comparison.identical, f"spec:\n{text}\n{comparison.failure_message()}"
    shared = harness.load_numpy_module(files, spec.name)
    for name, samples in recordings.items():
        got, _ = shared.featurize(samples, nonfinite="drop")
        want, _ = reference.featurize(samples, nonfinite="drop")
        assert got.shape == want.shape and harness.same_bits(got, want).all(), (
            f"spec:\n{text}\nshared numpy differs from per-feature numpy on {name}"
        )


@given(data=st.data())
def test_random_specs_and_streams_are_bit_identical(data, tmp_path_factory):
    check_random_case(
        data, lambda files, name: harness.c_target(files, name, tmp_path_factory.mktemp("prop"))
    )


@settings(max_examples=int(os.environ.get("FEATGEN_SWIFT_EXAMPLES", "12")))
@given(data=st.data())
def test_random_specs_and_streams_swift_is_bit_identical(data, tmp_path_factory):
    """The same property for Swift; fewer examples, since each compiles a Swift library."""
    from parity_tests.conftest import require_swiftc

    require_swiftc()
    check_random_case(
        data,
        lambda files, name: harness.swift_target(
            files, name, tmp_path_factory.mktemp("prop_swift")
        ),
    )
