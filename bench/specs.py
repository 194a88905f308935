"""The specs and recordings the benchmarks use, generated in memory (never written to generated/).

* the Twist and Go workload: ``EXAMPLE`` (examples/twist_and_go/spec.yaml) without
  ``model:``/``decision:``: the featuriser is what is timed in sections 1 and 2, what the
  section 4 models are trained on; section 3 builds the file as committed, with its model;
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
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc.pop("model", None)
    doc.pop("decision", None)
    return doc


def spec_from_document(doc: dict, filename: str = "spec.yaml"):
    from featurespec import load_spec_text

    return load_spec_text(yaml.safe_dump(doc, sort_keys=False), filename)


@functools.cache
def example():
    """(spec, files) of the Twist and Go featuriser, as ``featgen build`` emits it (shared work
    on; pruning has nothing to prune without a model)."""
    from codegen.build import generate

    spec = spec_from_document(example_document())
    return spec, generate(spec, prune=True, share=True)


@functools.cache
def shared():
    """(spec, files) of the shared-feature spec."""
    from codegen.build import generate
    from featurespec import load_spec_text

    spec = load_spec_text(SHARED_SPEC, "shared8.yaml")
    return spec, generate(spec)


def numpy_module(files: dict, name: str):
    from featgen.harness import load_numpy_module

    return load_numpy_module(files, name)


def recording(n_samples: int, n_inputs: int, seed: int = 7) -> np.ndarray:
    """Plausible IMU motion (sums of sinusoids + noise, gravity on input 2): no exact zeros, so
    the three zero-crossing rules agree on it."""
    from featgen.harness.recordings import imu_motion

    return imu_motion(n_samples, n_inputs, np.random.default_rng(seed))
