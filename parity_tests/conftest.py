"""Shared fixtures: the bundled example compiled once, its numpy module and C runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.build import generate
from featgen import harness
from featgen.harness.golden import swift_golden
from featurespec import load_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "twist_and_go" / "spec.yaml"


@pytest.fixture(scope="session")
def example():
    spec = load_spec(EXAMPLE)
    files = generate(spec, golden=swift_golden)  # the Swift package's tests need them
    return spec, files, harness.load_numpy_module(files, spec.name)


@pytest.fixture(scope="session")
def example_c(example, tmp_path_factory):
    spec, files, _ = example
    return harness.c_target(files, spec.name, tmp_path_factory.mktemp("c"))


def require_tools(missing: list[str], what: str) -> None:
    """A loud skip when a tool is missing (the README's test command on a fresh machine); with
    CI=true a failure, so CI never passes without running the check."""
    import os

    if not missing:
        return
    message = (
        f"{', '.join(missing)} not installed: {what} NOT checked (.ci/run installs the "
        "cross compilers, clang-14, qemu-user-static, kotlin and cmake)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_swiftc() -> str:
    """The Swift compiler, or a loud skip; with CI=true a missing toolchain fails the test."""
    import os
    import warnings

    swiftc = harness.find_swiftc()
    if swiftc is None:
        reason = (
            "SWIFT NOT CHECKED: no swiftc on PATH or in /opt/swift/usr/bin, so the Swift "
            "(iOS) target's parity, package tests and FMA check did not run"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the CI machine must have the Swift toolchain)")
        warnings.warn(reason, stacklevel=2)
        pytest.skip(reason)
    return swiftc


@pytest.fixture(scope="session")
def swiftc():
    return require_swiftc()


@pytest.fixture(scope="session")
def example_swift(example, swiftc, tmp_path_factory):
    spec, files, _ = example
    return harness.swift_target(files, spec.name, tmp_path_factory.mktemp("swift"))


def c_and_swift_detectors(files, workdir: Path) -> dict:
    """The C and Swift detectors through the registry's runtime adapters, keyed by target name
    (``prediction.ModelParity(detectors=...)``); the caller has required swiftc."""
    from featgen.harness import adapters

    found = adapters.detectors(files, workdir, ("C", "Swift"))
    assert list(found) == ["C", "Swift"], found
    return found
