"""The target registry: every output language is one entry here, and everything that iterates
over targets (``featgen build``/``check``/``parity``, the HTML report, the tests) iterates over
``TARGETS``. Adding a target = a module in this package with a class following
``base.Target``, one line in ``TARGETS``, and (to stream it in the harness) one runtime adapter
keyed by its ``name`` (featgen/harness/adapters.py). docs/architecture.md has a worked example.

Order matters only for targets that read another's output (``EmitContext.files``):
Android/JNI copies the C runtime, so it comes after C.
"""

from __future__ import annotations

from .android import AndroidJniTarget
from .base import EmitContext, Target
from .c import CTarget
from .kotlin_jvm import KotlinJvmTarget
from .numpy import NumpyTarget
from .swift import SwiftTarget

TARGETS: tuple[Target, ...] = (
    NumpyTarget(),
    CTarget(),
    SwiftTarget(),
    AndroidJniTarget(),
    KotlinJvmTarget(),
)


def get(name: str) -> Target:
    """The target named ``name`` (its ``name`` or ``key``); KeyError listing the known ones."""
    for target in TARGETS:
        if name in (target.name, target.key):
            return target
    raise KeyError(f"no target {name!r}; known: {', '.join(t.name for t in TARGETS)}")


def parity_targets() -> tuple[Target, ...]:
    """The targets the harness streams against the numpy reference, in registry order."""
    return tuple(t for t in TARGETS if t.parity)


def passes_needed() -> tuple[str, ...]:
    """Every pass some target reads, once each, in first-use order."""
    return tuple(dict.fromkeys(p for t in TARGETS for p in t.passes))


__all__ = ["TARGETS", "EmitContext", "Target", "get", "parity_targets", "passes_needed"]
