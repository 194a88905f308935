"""The specs and recordings the benchmarks use, generated in memory (never written to generated/).

* the Twist and Go workload: bench/twist_and_go_199.yaml, the example's features as of the
  2026-11-25 results (199 features; bench/naive_c.py covers exactly its kinds), without
  ``model:``/``decision:``: the featuriser is what is timed here (the model is section 4);
  ``EXAMPLE`` (the current examples/twist_and_go/spec.yaml, with its model) is built in section 3;
* ``shared8``: one signal, window 100 hop 1, exactly the eight features featgen shares with
  TSFEL and tsfresh.
"""
from __future__ import annotations

import functools
import sys

import numpy as np
import yaml

from .common import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "twist_and_go" / "spec.yaml"
WORKLOAD = ROOT / "bench" / "twist_and_go_199.yaml"

SHARED_KINDS = ("mean", "std", "min", "max", "rms", "zero_crossings", "energy", "slope")
SHARED_WINDOW = 100
SHARED_SPEC = f"""\
spec: featgen/v1
name: shared8
sample_rate_hz: 50
inputs: [x]
windows:
  w: {{length: {SHARED_WINDOW}, hop: 1}}
features:
  - compute: [{", ".join(SHARED_KINDS)}]
    of: [x]
    over: [w]
"""


def example_document() -> dict:
    doc = yaml.safe_load(WORKLOAD.read_text())
    doc.pop("model", None)
    doc.pop("decision", None)
    return doc


def spec_from_document(doc: dict, filename: str = "spec.yaml"):
    from featurespec import load_spec_text

    return load_spec_text(yaml.safe_dump(doc, sort_keys=False), filename)


@functools.lru_cache(maxsize=None)
def example():
    """(spec, files) of the Twist and Go featuriser."""
    from codegen.build import generate

    spec = spec_from_document(example_document())
    return spec, generate(spec)


@functools.lru_cache(maxsize=None)
def shared():
    """(spec, files) of the shared-feature spec."""
    from codegen.build import generate
    from featurespec import load_spec_text

    spec = load_spec_text(SHARED_SPEC, "shared8.yaml")
    return spec, generate(spec)


def numpy_module(files: dict, name: str):
    from parity_tests.harness import load_numpy_module

    return load_numpy_module(files, name)


def recording(n_samples: int, n_inputs: int, seed: int = 7) -> np.ndarray:
    """Plausible IMU motion (sums of sinusoids + noise, gravity on input 2): no exact zeros, so
    the three zero-crossing rules agree on it."""
    from parity_tests.recordings import imu_motion

    return imu_motion(n_samples, n_inputs, np.random.default_rng(seed))


def split_example(exact_incremental: set[str]) -> tuple[dict, dict]:
    """Two documents from the example: the features whose kind is in ``exact_incremental`` and
    the rest (for the per-family cost estimate); unused windows and signals are dropped."""
    doc = example_document()
    parts = []
    for keep in (True, False):
        d = yaml.safe_load(yaml.safe_dump(doc))
        feats = []
        for entry in d["features"]:
            kinds = entry["compute"] if isinstance(entry["compute"], list) else [entry["compute"]]
            kinds = [k for k in kinds if (k in exact_incremental) == keep]
            if kinds:
                e = dict(entry)
                e["compute"] = kinds
                if "label" in e and len(kinds) != 1:
                    e.pop("label")
                feats.append(e)
        d["features"] = feats
        used_windows, used_signals = set(), set()
        for e in feats:
            over = e["over"] if isinstance(e["over"], list) else [e["over"]]
            of = e["of"] if isinstance(e["of"], list) else [e["of"]]
            used_windows.update(over)
            used_signals.update(of)
        d["windows"] = {k: v for k, v in d["windows"].items() if k in used_windows}
        # keep derived signals that are used, directly or as sources of used ones
        signals = d.get("signals", {}) or {}
        changed = True
        while changed:
            changed = False
            for name, sdef in signals.items():
                if name in used_signals:
                    for v in sdef.values():
                        for src in (v if isinstance(v, list) else [v]):
                            if isinstance(src, str) and src in signals and src not in used_signals:
                                used_signals.add(src)
                                changed = True
        d["signals"] = {k: v for k, v in signals.items() if k in used_signals}
        if not d["signals"]:
            d.pop("signals")
        d["name"] = f"{doc['name']}_{'incr' if keep else 'rest'}"
        parts.append(d)
    return parts[0], parts[1]
