"""bench/incremental.py's exact incremental min/max (the variant issue #7's figures are measured
on) gives the generated C's vectors bit for bit: ties between -0.0 and +0.0 and between equal
values (the first one wins, for argmin/argmax too), a NaN entering and leaving a derived signal's
window (diff of a magnitude that overflowed: inf - inf), a window as long as the ring. Also
checks that the rewrite still recognises every min/max of the current generator's C."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bench import cbench
from bench.incremental import ceiling_variants, incremental_variant
from codegen.build import generate
from featurespec import load_spec_text

SPEC = """\
spec: featgen/v1
name: incr
sample_rate_hz: 50
inputs: [x, y]
signals:
  mag: {magnitude: [x, y]}
  dm: {diff: mag}
windows:
  a: {length: 7, hop: 1}
  b: {length: 20, hop: 3}
features:
  - compute: [min, max, argmin, argmax, range, mean]
    of: [dm, x, mag]
    over: [a, b]
"""


def _recording(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(0, 1, (n, 2)), 1)  # many exact ties
    x[rng.random(n) < 0.05] *= -0.0  # signed zeros (and -0.0 * x)
    x[rng.random(n) < 0.2] = 0.0
    for s in range(0, n, 400):  # magnitudes overflow: dm is NaN
        k = int(rng.integers(1, 6))
        x[s : s + k] = 1e300 * np.sign(rng.normal(size=(k, 2)))
    x[rng.random(n) < 0.002, 1] = np.nan  # rejected samples
    return x


def test_incremental_minmax_is_bit_identical(tmp_path):
    spec = load_spec_text(SPEC, "incr.yaml")
    files = generate(spec)
    src = {Path(files.role("C", r)).name: files.text("C", r) for r in ("source", "header")}
    c, h, n = incremental_variant(src["incr_features.c"], src["incr_features.h"], "incr")
    assert n == 12  # (dm, x, mag) x (7, 20) x (min, max)
    guarded = set(re.findall(r"st->nan_(\w+) == 0", c))  # the derived signals only
    assert guarded == {"dm_7", "dm_20", "mag_7", "mag_20"}
    nf = len(spec.feature_names)
    gen = cbench.CBench(tmp_path / "gen", src, "incr_features.h", "incr", "incr_state", "INCR", nf)
    inc = cbench.CBench(
        tmp_path / "inc",
        {"incr_features.c": c, "incr_features.h": h},
        "incr_features.h",
        "incr",
        "incr_state",
        "INCR",
        nf,
    )
    x = _recording(12_000)
    ref = gen.dump(gen.write_samples(x))
    got = inc.dump(inc.write_samples(x))
    assert np.isnan(ref).any() and (ref == 0).any() and ref.shape[0] > 11_000
    assert (np.signbit(ref) & (ref == 0)).any()  # a -0.0 min is reproduced as such
    assert ref.shape == got.shape
    bad = np.argwhere(ref.view(np.int64) != got.view(np.int64))
    assert bad.size == 0, [
        (int(i), spec.feature_names[j], ref[i, j], got[i, j]) for i, j in bad[:5]
    ]


def test_rewrite_recognises_the_generated_example():
    from bench.incremental import _example_device

    device, src = _example_device()
    name = device.name
    assert set(src) == {f"{name}_features.c", f"{name}_features.h"}
    c, _, n = incremental_variant(src[f"{name}_features.c"], src[f"{name}_features.h"], name)
    assert n > 0 and "best_f" in c
    minmax, every = ceiling_variants(src[f"{name}_features.c"])
    assert len(every) < len(minmax) < len(src[f"{name}_features.c"])
