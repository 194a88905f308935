"""Memory and UB safety of the generated C: ASan + UBSan, a bounded libFuzzer run, valgrind.

Generated code runs on phones that open doors: an out-of-bounds ring access is a security bug.
The long fuzz run is a documented command (README, "Hardening"); the suite runs a short one.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import jinja2
import numpy as np
import pytest

from codegen.build import TEMPLATES
from featgen import harness
from featgen.harness.prediction import device_featuriser
from featgen.harness.recordings import edge_case_recording, parity_recordings

CLANG = shutil.which("clang-14") or shutil.which("clang")
VALGRIND = shutil.which("valgrind")
SANITIZE = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
    "-std=c99",
    "-ffp-contract=off",
]
FUZZ_SECONDS = int(os.environ.get("FEATGEN_FUZZ_SECONDS", "15"))  # the long run: 3600


def _require(tool, what):
    if tool is None:
        message = f"{what} not installed: this hardening check did NOT run"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_asan_ubsan_stream_is_clean_and_still_bit_identical(example, tmp_path):
    _require(CLANG, "clang")
    spec, files, module = example
    target = harness.driver_target(
        files, spec.name, tmp_path, [CLANG, *SANITIZE], label="C asan+ubsan"
    )
    recordings = parity_recordings(len(spec.inputs), n=6_000, count=2)
    recordings["short"] = edge_case_recording(150, len(spec.inputs), seed=3, nonfinite=True)
    comparison = harness.compare_target(module, target, recordings)
    assert comparison.identical, comparison.failure_message()


def test_asan_ubsan_new_vocabulary(tmp_path):
    """Insertion sorts into the state's scratch space, DFT tables indexed by (k n) mod L, the
    filters' state slots: no out-of-bounds access, no UB, still bit-identical."""
    from codegen.build import generate
    from featurespec import load_spec_text
    from parity_tests.test_parity import VOCAB

    _require(CLANG, "clang")
    spec = load_spec_text(VOCAB)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    target = harness.driver_target(
        files, spec.name, tmp_path, [CLANG, *SANITIZE], label="C asan+ubsan"
    )
    recordings = {
        "r": edge_case_recording(2_500, 3, seed=31, nonfinite=True),
        "exact": edge_case_recording(64, 3, seed=32),
    }
    comparison = harness.compare_target(module, target, recordings)
    assert comparison.identical, comparison.failure_message()


FUZZ_TARGETS = {  # harness template, prefix of the featuriser it drives, generated sources
    "push": ("c/fuzz_push.c.j2", "full", ["{full}_features"]),
    "device push": ("c/fuzz_push.c.j2", "device", ["{device}_features"]),
    "model+detector": (
        "c/fuzz_detector.c.j2",
        "full",
        ["{device}_features", "{full}_model", "{full}_detector"],
    ),
}


@pytest.mark.parametrize("target", list(FUZZ_TARGETS))
def test_libfuzzer_with_sanitizers(target, example, tmp_path):
    _require(CLANG, "clang (with libFuzzer)")
    spec, files, _ = example
    template, which, parts = FUZZ_TARGETS[target]
    device, _ = device_featuriser(files, spec.name)  # what the detector runs
    prefixes = {"full": spec.name, "device": device}
    sources = [f"c/{part.format(**prefixes)}.c" for part in parts]
    if not all(source in files for source in sources):
        pytest.fail(f"the example generates no {', '.join(sources)}: nothing to fuzz")
    c_dir = tmp_path / "c"
    c_dir.mkdir()
    for rel, text in files.items():
        if rel.startswith("c/") and rel.count("/") == 1:  # not c/tl2cgen/
            (tmp_path / rel).write_text(text)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)))
    name = prefixes[which]
    (c_dir / "fuzz.c").write_text(
        env.get_template(template).render(name=name, P=name.upper(), feat=device, FP=device.upper())
    )
    exe = tmp_path / "fuzz"
    subprocess.run(
        [
            CLANG,
            "-fsanitize=fuzzer,address,undefined",
            "-fno-sanitize-recover=all",
            "-g",
            "-O1",
            "-std=c99",
            "-ffp-contract=off",
            "-I",
            str(c_dir),
            *[str(tmp_path / source) for source in sources],
            str(c_dir / "fuzz.c"),
            "-o",
            str(exe),
            "-lm",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = edge_case_recording(120, len(spec.inputs), seed=11, nonfinite=True)
    (corpus / "seed").write_bytes(bytes([7]) + seed.astype("<f8").tobytes())
    run = subprocess.run(
        [str(exe), f"-max_total_time={FUZZ_SECONDS}", "-max_len=12000", "-seed=1", str(corpus)],
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done" in run.stderr


def test_valgrind_memcheck_stream(example, tmp_path):
    _require(VALGRIND, "valgrind")
    spec, files, _ = example
    target = harness.driver_target(
        files,
        spec.name,
        tmp_path,
        ["gcc", "-std=c99", "-O1", "-g"],
        runner=[
            VALGRIND,
            "--error-exitcode=9",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "-q",
        ],
        label="C valgrind",
    )
    samples = edge_case_recording(1_500, len(spec.inputs), seed=5, nonfinite=True)
    vectors, ends, rejected = target.stream(samples)  # raises on a valgrind error (exit 9)
    assert vectors.shape[0] == ends.shape[0] > 1_000
    assert rejected.size == 5
    assert np.isfinite(samples[ends]).all()
