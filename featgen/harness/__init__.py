"""The parity harness runtime: load each target's generated code (numpy from its text, C and Swift
through cffi), stream recordings through it sample by sample, and compare every emitted vector
with the numpy rows bit for bit.

It is product code (``featgen parity``, ``report``, ``train``, ``featurize`` and the cluster run
use it); parity_tests/ holds the tests that use it. Submodules, one job each: numpy_runtime,
c_runtime, swift_runtime, toolchains, ulp, compare, recordings, prediction (the model targets),
golden (the Swift package's golden vectors). This module re-exports the featuriser API so that
``from featgen import harness; harness.c_target(...)`` reads as before; ``prediction`` and
``recordings`` are imported as submodules.
"""

from __future__ import annotations

from .c_runtime import (
    CStream,
    build_shared_library,
    c_target,
    cdef_from_header,
    driver_target,
    open_library,
)
from .compare import Columns, Comparison, FeatureStat, Target, compare_recording, compare_target
from .numpy_runtime import load_numpy_module
from .swift_runtime import SwiftStream, build_swift_library, swift_sources, swift_target
from .toolchains import C_FLAGS, CACHE, SWIFT_FLAGS, SWIFT_HOME, find_swiftc, swift_version
from .ulp import ordered_bits, same_bits, ulp_distance

__all__ = [
    "C_FLAGS",
    "CACHE",
    "SWIFT_FLAGS",
    "SWIFT_HOME",
    "CStream",
    "Columns",
    "Comparison",
    "FeatureStat",
    "SwiftStream",
    "Target",
    "build_shared_library",
    "build_swift_library",
    "c_target",
    "cdef_from_header",
    "open_library",
    "compare_recording",
    "compare_target",
    "driver_target",
    "find_swiftc",
    "load_numpy_module",
    "ordered_bits",
    "same_bits",
    "swift_sources",
    "swift_target",
    "swift_version",
    "ulp_distance",
]
