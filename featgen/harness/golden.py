"""The Swift package's golden vectors: the explicit build step that RUNS the generated numpy.

``featgen build`` renders text and executes nothing; a generated file must never be able to
turn into running code during a build (a hostile name in a spec once did). The golden vectors
are the one build output that needs features computed, so they are computed here, in the
harness, only when asked for (``featgen build --golden``, ``generate(spec, golden=swift_golden)``):
by importing the numpy module just rendered from the spec, the same reference every parity
check uses. The committed generated/ trees are built with ``--golden``.
"""

from __future__ import annotations

import struct

import numpy as np

from codegen.build import GOLDEN_BUDGET, GOLDEN_SEED
from codegen.lowering import Program
from codegen.targets.swift import GOLDEN_MAGIC

from .numpy_runtime import load_numpy_module
from .recordings import edge_case_recording


def swift_golden(program: Program, files: dict[str, str | bytes]) -> bytes:
    """Golden vectors for the Swift package's XCTest: a seeded synthetic recording with the edge
    cases (and non-finite rows), featurised by the generated numpy module.

    Little-endian: magic, UInt32 inputCount, featureCount, sampleCount, vectorCount; Float64
    samples; Int8 status per sample (1 emitted, 0 pending, -1 rejected); UInt64 feature bits.
    Sized to about GOLDEN_BUDGET bytes: the warm-up plus as many vectors as fit.
    """
    module = load_numpy_module(files, program.name)
    n_inputs, n_features = len(program.inputs), program.n_features
    per_sample = 8 * n_inputs + 1
    room = (GOLDEN_BUDGET - program.warmup * per_sample) // (per_sample + 8 * n_features)
    hops = max(w.hop for w in program.windows)
    n = program.warmup + min(max(room, 2 * hops + 10), 4000)
    samples = edge_case_recording(n, n_inputs, seed=GOLDEN_SEED, nonfinite=True)
    vectors, ends = module.featurize(samples, nonfinite="drop")
    status = np.zeros(n, dtype="<i1")
    status[ends] = 1
    status[~np.isfinite(samples).all(axis=1)] = -1
    return b"".join(
        [
            GOLDEN_MAGIC,
            struct.pack("<4I", n_inputs, n_features, n, vectors.shape[0]),
            np.ascontiguousarray(samples, dtype="<f8").tobytes(),
            status.tobytes(),
            np.ascontiguousarray(vectors, dtype="<f8").view("<u8").tobytes(),
        ]
    )
