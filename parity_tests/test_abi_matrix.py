"""Every ABI an Android app ships (arm64-v8a, armeabi-v7a hard-float and softfp, x86 with the
emitted SSE2 flags, x86_64), gcc and clang, plus two big-endian machines: the features, the
device featuriser, the one-row and batch model and the detector, bit for bit (parity_tests/abi.py).

Negative controls: the x87 builds that 32-bit x86 compilers make by default and -ffast-math
builds are refused by the generated guards; with the guards stripped, the harness reports the
mismatch they would have shipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from codegen.trees.model_dir import load_bundle
from featgen.harness import prediction as mh
from featgen.harness.recordings import parity_recordings
from parity_tests import abi
from parity_tests.conftest import require_tools


def _require(build: abi.Build) -> None:
    require_tools(build.missing(), build.label)


@pytest.fixture(scope="module")
def recordings(example):
    spec, _, _ = example
    return parity_recordings(len(spec.inputs), n=6_000, count=3)


@pytest.fixture(scope="module")
def model(example):
    spec, _, _ = example
    bundle = load_bundle(spec)
    return bundle.forest, mh.load_booster(bundle.raw)


@pytest.mark.parametrize("label", list(abi.BY_LABEL))
def test_features_are_bit_identical_on_every_abi(label, example, recordings, tmp_path):
    build = abi.BY_LABEL[label]
    _require(build)
    spec, files, module = example
    comparison = abi.features_comparison(build, files, spec.name, module, recordings, tmp_path)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 15_000


@pytest.mark.parametrize("label", list(abi.BY_LABEL))
def test_detector_and_model_are_bit_identical_on_every_abi(
    label, example, recordings, model, tmp_path
):
    build = abi.BY_LABEL[label]
    _require(build)
    spec, files, module = example
    forest, booster = model
    result = abi.detector_comparison(
        build, files, spec.name, module, booster, forest, recordings, tmp_path
    )
    assert result.identical, result.summary()
    assert result.vectors > 15_000 and result.rows > 20_000 and result.events > 0


# ---------------------------------------------------------------- the guards fire


GENERATED_C = (
    "{name}_features.c",
    "{feat}_features.c",
    "{name}_model.c",
    "{name}_model_batch.c",
    "{name}_detector.c",
    "{name}_recorder.c",
    "{name}_sensors.c",
)


def _c_sources(files, name):
    feat, _ = mh.device_featuriser(files, name)
    return sorted({p.format(name=name, feat=feat) for p in GENERATED_C})


def _strip_guards(files: dict) -> dict:
    """The generated C with every `#if ... #error ... #endif` guard removed (and nothing else)."""
    out = dict(files)
    for path, text in files.items():
        if path.startswith("c/") and path.count("/") == 1 and path.endswith(".c"):
            out[path], n = re.subn(r"#if [^\n]*\n#error [^\n]*\n#endif\n", "", text)
            assert n == 4, f"{path}: expected the 4 numeric guards, found {n}"
    return out


@pytest.mark.parametrize(
    "build",
    [abi.X87_GCC, abi.X87_CLANG, abi.FAST_MATH],
    ids=["i686 gcc x87", "i686 clang x87", "x86-64 -ffast-math"],
)
def test_every_generated_c_file_refuses_a_build_that_changes_the_bits(build, example, tmp_path):
    _require(build)
    spec, files, _ = example
    expected = "FLT_EVAL_METHOD" if "x87" in build.label else "-ffast-math"
    for source in _c_sources(files, spec.name):
        with pytest.raises(RuntimeError) as refused:
            abi.compile_driver(build, files, [source], "int main(void) { return 0; }\n", tmp_path)
        message = str(refused.value)
        assert "#error" in message and expected in message, message
        assert "featgen:" in message


@pytest.mark.parametrize(
    "flags",
    [
        ("-ffinite-math-only",),
        ("-fassociative-math", "-fno-signed-zeros", "-fno-trapping-math"),
        ("-freciprocal-math",),
        ("-mfpmath=387",),
        ("-Ofast",),
    ],
)
def test_gcc_unsafe_math_modes_are_refused(flags, example, tmp_path):
    spec, files, _ = example
    build = abi.Build(
        "gcc " + " ".join(flags), "x86_64", ("gcc", "-std=c99", "-O2", *flags), (), ("gcc",)
    )
    _require(build)
    for source in _c_sources(files, spec.name):
        with pytest.raises(RuntimeError, match="#error"):
            abi.compile_driver(build, files, [source], "int main(void) { return 0; }\n", tmp_path)


@pytest.mark.parametrize(
    "build",
    [abi.X87_GCC, abi.X87_CLANG, abi.FAST_MATH],
    ids=["i686 gcc x87", "i686 clang x87", "x86-64 -ffast-math"],
)
def test_with_the_guards_stripped_the_harness_reports_the_mismatch(
    build, example, recordings, tmp_path, capsys
):
    _require(build)
    spec, files, module = example
    comparison = abi.features_comparison(
        build, _strip_guards(files), spec.name, module, recordings, tmp_path
    )
    assert not comparison.identical
    differing = [s for s in comparison.stats if s.mismatches]
    assert len(differing) > 10
    with capsys.disabled():
        print(
            f"\n    {build.label}, guards stripped: {len(differing)} of "
            f"{len(comparison.stats)} features differ (worst {comparison.worst.name}, "
            f"{comparison.worst.max_ulp} ULP)"
        )


# ---------------------------------------------------------------- the emitted build files


def test_the_matrix_uses_the_flags_the_build_files_emit(example):
    spec, files, _ = example
    for cmake in (files["c/CMakeLists.txt"], files["android/src/main/cpp/CMakeLists.txt"]):
        assert " ".join(abi.EMITTED[2:]) in cmake
        assert "C_STANDARD 99" in cmake and "C_EXTENSIONS OFF" in cmake
        x86 = re.search(
            r'if\(CMAKE_SYSTEM_PROCESSOR MATCHES "\^\(i\[3-6\]86\|x86\|X86\)\$" OR '
            r'CMAKE_ANDROID_ARCH_ABI STREQUAL "x86"\)\n\s+target_compile_options\('
            r"\S+ (PUBLIC|PRIVATE) (.*)\)\nendif\(\)",
            cmake,
        )
        assert x86 and x86.group(2) == " ".join(abi.X86_32), cmake


def _cmake_i686(source_dir, build_dir):
    return subprocess.run(
        [
            "cmake",
            "-S",
            str(source_dir),
            "-B",
            str(build_dir),
            "-DCMAKE_SYSTEM_NAME=Linux",
            "-DCMAKE_SYSTEM_PROCESSOR=i686",
            "-DCMAKE_C_COMPILER=i686-linux-gnu-gcc",
        ],
        capture_output=True,
        text=True,
    )


def test_the_emitted_cmake_builds_i686_only_because_of_its_sse_flags(example, tmp_path):
    """CMake for 32-bit x86 as a cross build: the emitted CMakeLists.txt builds the features,
    model and detector; the same file without its x86 block is refused by the guards."""
    _require(abi.X87_GCC)
    require_tools([] if shutil.which("cmake") else ["cmake"], "the emitted CMake for i686")
    spec, files, _ = example
    for variant in ("emitted", "without the x86 block"):
        src = tmp_path / variant.replace(" ", "_") / "c"
        src.mkdir(parents=True)
        for rel, text in files.items():
            if rel.startswith("c/") and rel.count("/") == 1:
                (src / rel[2:]).write_text(text)
        if variant != "emitted":
            cmake = (src / "CMakeLists.txt").read_text()
            stripped = re.sub(r"if\(CMAKE_SYSTEM_PROCESSOR.*?endif\(\)\n", "", cmake, flags=re.S)
            assert stripped != cmake
            (src / "CMakeLists.txt").write_text(stripped)
        configured = _cmake_i686(src, src.parent / "build")
        assert configured.returncode == 0, configured.stderr
        built = subprocess.run(
            ["cmake", "--build", str(src.parent / "build")], capture_output=True, text=True
        )
        if variant == "emitted":
            assert built.returncode == 0, built.stdout + built.stderr
        else:
            assert built.returncode != 0
            assert "FLT_EVAL_METHOD" in built.stdout + built.stderr
