"""Runtime adapters: how the harness runs each registered target's output, keyed by the
target's ``name`` (codegen/targets). The registry emits; this module builds, loads and streams.
Codegen never imports it (dependencies flow one way: targets -> build -> harness runtime -> CLI).

An adapter is an object with:

    target: str                 the registry name it runs ("C", "Swift", ...)
    missing() -> str | None     why it cannot run on this machine (a toolchain is absent), or None
    featuriser(files, prefix, workdir) -> harness.Target
                                the featuriser ``prefix`` (the full one, ``bundle.program.name``,
                                or the device one) built and loaded; its ``stream(samples)``
                                returns (vectors, emitting rows, rejected rows). ``files`` is the
                                build's ``Bundle`` (or a plain {path: text} copy of one).
                                RuntimeError when the output does not build.
    detector(files, workdir) -> prediction.Detector | None
                                the model + decision + event runtime (specs with a model), or
                                None when the target has none

``featgen parity``, the HTML report and the tests call ``parity_adapters()``: every registered
target with ``parity`` set, in registry order, paired with its adapter. A parity target with no
adapter here is an error (a column nobody can fill), so a new target cannot be silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from codegen.bundle import manifest_of
from codegen.targets import TARGETS, Target
from featgen import harness  # the package: its find_swiftc is the one tests replace

from .kotlin_jvm_runtime import KotlinRuntime, missing_tools
from .prediction import Detector, device_featuriser, model_input, swift_detector


class Adapter(Protocol):
    """How the harness runs one registered target's output (see the module's docstring)."""

    target: str

    def missing(self) -> str | None: ...

    def featuriser(self, files, prefix: str, workdir: Path) -> harness.Target: ...

    def detector(self, files, workdir: Path) -> Any: ...


class CAdapter:
    """The generated C through cffi (gcc, the harness's C_FLAGS)."""

    target = "C"

    def missing(self) -> str | None:
        return None  # required: the harness itself needs a C compiler

    def featuriser(self, files, prefix: str, workdir: Path) -> harness.Target:
        return harness.c_target(files, prefix, Path(workdir))

    def detector(self, files, workdir: Path):
        return Detector(files, manifest_of(files).spec, Path(workdir))


class SwiftAdapter:
    """The generated Swift through its C-ABI shim (swiftc -O -wmo)."""

    target = "Swift"

    def missing(self) -> str | None:
        return None if harness.find_swiftc() else "no swiftc on PATH or in /opt/swift/usr/bin"

    def featuriser(self, files, prefix: str, workdir: Path) -> harness.Target:
        return harness.swift_target(files, prefix, Path(workdir))

    def detector(self, files, workdir: Path):
        return swift_detector(files, manifest_of(files).spec, Path(workdir))


class KotlinJvmAdapter:
    """The pure Kotlin target (kotlin/) compiled once with kotlinc and run on the JVM by a small
    driver (featgen/harness/kotlin_jvm_runtime.py)."""

    target = "Kotlin/JVM"

    def missing(self) -> str | None:
        tools = missing_tools()
        return f"no {' or '.join(tools)} on PATH" if tools else None

    def runtime(self, files, workdir: Path) -> KotlinRuntime:
        return KotlinRuntime(files, manifest_of(files).spec, Path(workdir))

    def featuriser(self, files, prefix: str, workdir: Path) -> harness.Target:
        return harness.Target(self.target, self.runtime(files, workdir).stream(prefix))

    def detector(self, files, workdir: Path):
        if manifest_of(files).model is None:
            return None
        return KotlinDetector(self.runtime(files, workdir), files)


class KotlinDetector:
    """The Kotlin detector and model with the C detector's interface (stream, margins)."""

    def __init__(self, runtime: KotlinRuntime, files):
        self.runtime = runtime
        self.columns = device_featuriser(files, runtime.name)[1]

    def stream(self, samples):
        return self.runtime.detector(samples)

    def margins(self, X):
        return self.runtime.margins(model_input(X, self.columns))


ADAPTERS: dict[str, Adapter] = {
    a.target: a for a in (CAdapter(), SwiftAdapter(), KotlinJvmAdapter())
}
TARGETS_BY_NAME: dict[str, Target] = {t.name: t for t in TARGETS}


def adapter(target: Target | str) -> Adapter:
    """The adapter of a registered target (by the target or its name); KeyError if none."""
    name = target if isinstance(target, str) else target.name
    try:
        return ADAPTERS[name]
    except KeyError:
        raise KeyError(
            f"target {name!r} is registered for parity but has no runtime adapter in "
            "featgen/harness/adapters.py"
        ) from None


def parity_adapters() -> list[tuple[Target, Adapter]]:
    """(target, adapter) of every registered parity target, in registry order."""
    return [(t, adapter(t)) for t in TARGETS if t.parity]


def select(names: str | None) -> list[tuple[Target, Adapter]]:
    """(target, adapter) of the parity targets named in ``names`` (comma-separated registry
    names or keys, case-insensitive, e.g. "c,swift,kotlin/jvm" or "kotlin"), in registry order;
    every parity target when ``names`` is None. ValueError naming the valid ones for an unknown
    or empty name."""
    every = parity_adapters()
    if names is None:
        return every
    by_name = {n.lower(): t.name for t, _ in every for n in (t.name, t.key)}
    wanted = [n.strip() for n in names.split(",")]
    unknown = [n for n in wanted if n.lower() not in by_name]
    if unknown:
        valid = ", ".join(t.name for t, _ in every)
        raise ValueError(
            f"unknown target{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)}; valid targets: {valid}"
        )
    chosen = {by_name[n.lower()] for n in wanted}
    return [(t, a) for t, a in every if t.name in chosen]


def detectors(files, workdir: Path, names: Iterable[str] | None = None) -> dict:
    """{target name: detector} of every runnable parity target with a detector (only those in
    ``names`` when given), in registry order, for ``prediction.ModelParity(detectors=...)``."""
    out = {}
    for target, a in parity_adapters():
        if (names is not None and target.name not in names) or a.missing() is not None:
            continue
        detector = a.detector(files, Path(workdir) / f"{target.key}-detector")
        if detector is not None:
            out[target.name] = detector
    return out
