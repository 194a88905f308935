"""aarch64 parity under qemu-user: most phones are ARM64, where compilers fuse multiply-add.

The generated C is cross-compiled the ways an Android build might compile it and must give the
same bits as numpy on x86-64. Two negative controls prove the harness would notice fusion and
that the generated guards (pragmas + build flags) are what prevent it.
"""

from __future__ import annotations

import re
import shutil

import pytest

from featgen import harness
from featgen.harness.recordings import parity_recordings
from parity_tests.conftest import require_tools

QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
GCC = shutil.which("aarch64-linux-gnu-gcc")
CLANG = shutil.which("clang-14") or shutil.which("clang")


def _require(tool, what):
    require_tools([] if tool else [what], "aarch64 parity")


@pytest.fixture(scope="module")
def recordings(example):
    spec, _, _ = example
    return parity_recordings(len(spec.inputs), n=8_000, count=3)


BUILDS = {
    "gcc12 -std=c99": ["{gcc}", "-std=c99", "-O2", "-static"],
    "gcc12 -std=gnu99 (contracts by default)": ["{gcc}", "-std=gnu99", "-O2", "-static"],
    "clang -std=c99 (NDK default -ffp-contract=on)": [
        "{clang}",
        "--target=aarch64-linux-gnu",
        "-std=c99",
        "-O2",
        "-static",
    ],
    "emitted CMake flags": [
        "{gcc}",
        "-std=c99",
        "-O2",
        "-static",
        "-ffp-contract=off",
        "-fno-fast-math",
    ],
}


def _command(template):
    return [part.format(gcc=GCC, clang=CLANG) for part in template]


@pytest.mark.parametrize("build", list(BUILDS))
def test_aarch64_builds_are_bit_identical_to_numpy(build, example, recordings, tmp_path):
    _require(QEMU, "qemu-user")
    _require(GCC, "aarch64-linux-gnu-gcc")
    _require(CLANG, "clang")
    spec, files, module = example
    target = harness.driver_target(
        files, spec.name, tmp_path, _command(BUILDS[build]), [QEMU], label=f"aarch64 {build}"
    )
    comparison = harness.compare_target(module, target, recordings)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 20_000


def test_harness_catches_forced_contraction_on_aarch64(example, recordings, tmp_path):
    """-ffp-contract=fast overrides the pragma: fused results must show up as a mismatch."""
    _require(QEMU, "qemu-user")
    _require(CLANG, "clang")
    spec, files, module = example
    cmd = [CLANG, "--target=aarch64-linux-gnu", "-std=c99", "-O2", "-static", "-ffp-contract=fast"]
    target = harness.driver_target(files, spec.name, tmp_path, cmd, [QEMU], label="fused")
    comparison = harness.compare_target(module, target, recordings)
    assert not comparison.identical
    assert any(s.mismatches for s in comparison.stats)


def test_the_generated_guards_are_what_keeps_gnu_mode_exact(example, recordings, tmp_path):
    """Without the pragmas, GCC in GNU mode (and clang at its default) fuse and differ."""
    _require(QEMU, "qemu-user")
    _require(GCC, "aarch64-linux-gnu-gcc")
    spec, files, module = example
    source = f"c/{spec.name}_features.c"
    unguarded = dict(files)
    unguarded[source] = re.sub(r"#if defined\(__GNUC__\).*?#endif\n", "", files[source], flags=re.S)
    assert "#pragma" not in unguarded[source]
    cmd = [GCC, "-std=gnu99", "-O2", "-static"]
    target = harness.driver_target(unguarded, spec.name, tmp_path, cmd, [QEMU], label="unguarded")
    comparison = harness.compare_target(module, target, recordings)
    assert not comparison.identical


@pytest.mark.parametrize(
    "build",
    ["gcc12 -std=gnu99 (contracts by default)", "clang -std=c99 (NDK default -ffp-contract=on)"],
)
def test_aarch64_new_vocabulary_is_bit_identical(build, tmp_path):
    """The new vocabulary (sorts, DFT tables, portable log/atan2, filters) under the two builds
    that would fuse multiply-add without the generated guards."""
    from codegen.build import generate
    from featgen.harness.recordings import edge_case_recording
    from featurespec import load_spec_text
    from parity_tests.test_parity import VOCAB

    _require(QEMU, "qemu-user")
    _require(GCC, "aarch64-linux-gnu-gcc")
    _require(CLANG, "clang")
    spec = load_spec_text(VOCAB)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    target = harness.driver_target(
        files, spec.name, tmp_path, _command(BUILDS[build]), [QEMU], label=f"aarch64 {build}"
    )
    recordings = {"r": edge_case_recording(3_000, 3, seed=21, nonfinite=True)}
    comparison = harness.compare_target(module, target, recordings)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 2_000
