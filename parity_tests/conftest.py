"""Shared fixtures: the bundled example compiled once, its numpy module and C runtime."""
from __future__ import annotations

from pathlib import Path

import pytest

from codegen.build import generate
from featurespec import load_spec
from parity_tests import harness

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "twist_and_go" / "spec.yaml"


@pytest.fixture(scope="session")
def example():
    spec = load_spec(EXAMPLE)
    files = generate(spec)
    return spec, files, harness.load_numpy_module(files, spec.name)


@pytest.fixture(scope="session")
def example_c(example, tmp_path_factory):
    spec, files, _ = example
    return harness.c_target(files, spec.name, tmp_path_factory.mktemp("c"))
