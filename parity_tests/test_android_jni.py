"""Android: the generated android/ module (C runtime copy, JNI bridge, Kotlin class) on this
machine's JVM. The JNI library is compiled against the JDK's headers, the generated Kotlin class
with kotlinc, and a small Java program loads it (``System.loadLibrary`` in the Kotlin class),
streams recordings sample by sample and writes every status, feature vector, margin and decision;
these must equal numpy's features and XGBoost's margins bit for bit, and the C detector's
decisions/events. The emitted CMakeLists.txt is built with CMake as an NDK build would consume it,
and the Kotlin class refuses a native library whose model reads another feature order.

Without javac, kotlinc (or cmake, for the CMake test) these tests skip with a loud reason; with
CI=true they fail instead (.ci/run installs the JDK, kotlin and cmake from Debian).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from codegen.android import KOTLIN_PACKAGE, type_name
from codegen.build import generate
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from codegen.trees.model_dir import load_bundle
from featgen import harness
from featgen.harness import prediction as mh
from featgen.harness.recordings import edge_case_recording, parity_recordings
from featurespec import load_spec_text
from parity_tests.model_fixtures import labelled
from parity_tests.test_parity import SMALL

C_FLAGS = (*harness.C_FLAGS, "-fPIC", "-shared")


def _require(tool: str, what: str) -> str:
    found = shutil.which(tool)
    if found is None:
        reason = (
            f"ANDROID/JNI NOT CHECKED: no {tool} on PATH, so {what} did not run "
            "(.ci/run installs it from Debian)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the CI machine must have it)")
        warnings.warn(reason, stacklevel=2)
        pytest.skip(reason)
    return found


def _java_home(javac: str) -> Path:
    home = Path(os.environ.get("JAVA_HOME") or Path(javac).resolve().parent.parent)
    assert (home / "include" / "jni.h").is_file(), f"no jni.h under {home}/include"
    return home


def _kotlin_stdlib(kotlinc: str) -> Path:
    """kotlin-stdlib.jar next to kotlinc (official distribution) or Debian's /usr/share/java."""
    for candidate in (
        Path(kotlinc).resolve().parent.parent / "lib" / "kotlin-stdlib.jar",
        Path("/usr/share/java/kotlin-stdlib.jar"),
    ):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"kotlin-stdlib.jar not found for {kotlinc}")


# ---------------------------------------------------------------- the Java test program

DRIVER = r"""
import @PACKAGE@.@CLASS@;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;

/** versions: construct and say ACCEPTED or REFUSED <message>.
 *  stream IN OUT: IN = int32 n, int32 inputs, int32 floats, then n samples (float64 or float32);
 *  OUT = per sample int8 status, and for each vector: float64 features, then (with a model)
 *  float32 margins, float32 probabilities, int32 predicted class, positive, run, event. */
public class Driver {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("versions")) {
            try (@CLASS@ d = new @CLASS@()) {
                System.out.println("ACCEPTED " + d.getFeatures().length);
                try {
                    d.push(new double[@CLASS@.INPUT_COUNT - 1]);
                } catch (IllegalArgumentException e) {
                    System.out.println("SHORT SAMPLE REFUSED: " + e.getMessage());
                }
            } catch (@CLASS@.VersionMismatch e) {
                System.out.println("REFUSED " + e.getMessage());
            }
            return;
        }
        if (args[0].equals("misuse")) {   // every line: what was tried -> the exception and message
            @CLASS@ d = new @CLASS@();
            Runnable[] tries = {
                () -> d.push(new double[@CLASS@.INPUT_COUNT + 1]),
                () -> d.push(new float[@CLASS@.INPUT_COUNT - 1]),
                () -> d.push(new float[0]),
                () -> d.features(new double[@CLASS@.FEATURE_COUNT + 1]),
                () -> System.out.println("push -> " + d.push(new double[@CLASS@.INPUT_COUNT])),
                () -> d.close(),
                () -> d.push(new double[@CLASS@.INPUT_COUNT]),
                () -> d.push(new float[@CLASS@.INPUT_COUNT]),
                () -> d.features(new double[@CLASS@.FEATURE_COUNT]),
                () -> d.getFeatures(),
                () -> d.reset(),
                () -> d.close(),
            };
            for (Runnable r : tries) {
                try {
                    r.run();
                    System.out.println("ok");
                } catch (RuntimeException e) {
                    System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
            return;
        }
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[1]))).order(ByteOrder.LITTLE_ENDIAN);
        int n = in.getInt(), k = in.getInt();
        boolean floats = in.getInt() == 1;
        int perVector = 8 * @CLASS@.FEATURE_COUNT@MODEL_BYTES@;
        ByteBuffer status = ByteBuffer.allocate(n);
        ByteBuffer out = ByteBuffer.allocate(n * perVector).order(ByteOrder.LITTLE_ENDIAN);
        double[] doubles = new double[k];
        float[] singles = new float[k];
        double[] features = new double[@CLASS@.FEATURE_COUNT];
        long started = System.nanoTime();
        try (@CLASS@ d = new @CLASS@()) {
            for (int i = 0; i < n; i++) {
                @CLASS@.Status s;
                if (floats) {
                    for (int j = 0; j < k; j++) singles[j] = in.getFloat();
                    s = d.push(singles);
                } else {
                    for (int j = 0; j < k; j++) doubles[j] = in.getDouble();
                    s = d.push(doubles);
                }
                status.put((byte) s.getCode());
                if (s.getCode() > 0) {
                    d.features(features);
                    for (double v : features) out.putDouble(v);
@MODEL_WRITES@
                }
            }
        }
        System.out.println("seconds=" + (System.nanoTime() - started) * 1e-9);
        ByteBuffer header = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(out.position());
        byte[] all = new byte[4 + n + out.position()];
        System.arraycopy(header.array(), 0, all, 0, 4);
        System.arraycopy(status.array(), 0, all, 4, n);
        System.arraycopy(out.array(), 0, all, 4 + n, out.position());
        Files.write(Paths.get(args[2]), all);
    }
}
"""

MODEL_WRITES = """\
                    for (float v : d.getMargins()) out.putFloat(v);
                    for (float v : d.getProbabilities()) out.putFloat(v);
                    out.putInt(d.getPredictedClass());
                    out.putInt(d.getPositive() ? 1 : 0);
                    out.putInt(d.getRun());
                    out.putInt(d.getEvent() ? 1 : 0);"""


class Android:
    """The generated android/ tree of one spec, built: a JNI library and the compiled classes."""

    def __init__(self, files: dict, name: str, workdir: Path, has_model: bool):
        self.javac = _require("javac", "the Java-through-JNI parity test")
        self.java = _require("java", "the Java-through-JNI parity test")
        self.kotlinc = _require("kotlinc", "the Kotlin class of the Android module")
        self.home = _java_home(self.javac)
        self.files = files
        self.name = name
        self.cls = type_name(name)
        self.has_model = has_model
        self.workdir = Path(workdir)
        self.android = {
            p[len("android/") :]: t for p, t in files.items() if p.startswith("android/")
        }
        self.module = self.workdir / "android"
        for rel, text in self.android.items():
            path = self.module / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.cpp = self.module / "src" / "main" / "cpp"
        self.classes = self._compile_classes()

    def n_outputs(self) -> int:
        return manifest_of(self.files).model.n_outputs if self.has_model else 0

    def build_library(self, tag: str, replace: dict[str, tuple[str, str]] | None = None) -> Path:
        """lib<name>_jni.so from the cpp/ sources (optionally with a text replaced in one file)
        with the parity flags and -Wall -Wextra -pedantic -Werror, in its own directory."""
        src = self.workdir / f"cpp-{tag}"
        shutil.copytree(self.cpp, src, dirs_exist_ok=True)
        for file_name, (old, new) in (replace or {}).items():
            text = (src / file_name).read_text()
            assert old in text, (file_name, old)
            (src / file_name).write_text(text.replace(old, new))
        out_dir = self.workdir / f"lib-{tag}"
        out_dir.mkdir(exist_ok=True)
        library = out_dir / f"lib{self.name}_jni.so"
        cmd = [
            "gcc",
            *C_FLAGS,
            "-I",
            str(src),
            "-I",
            str(self.home / "include"),
            "-I",
            str(self.home / "include" / "linux"),
            *sorted(str(p) for p in src.glob("*.c")),
            "-o",
            str(library),
            "-lm",
        ]
        run = subprocess.run(cmd, capture_output=True, text=True)
        assert run.returncode == 0, f"{' '.join(cmd)}\n{run.stderr}"
        return out_dir

    def _compile_classes(self) -> Path:
        """kotlinc on the generated class, javac on the driver; cached by source and versions."""
        (kt_path,) = [p for p in self.android if p.endswith(f"/{self.cls}.kt")]  # not *Sensors
        driver = (
            DRIVER.replace("@PACKAGE@", KOTLIN_PACKAGE)
            .replace("@CLASS@", self.cls)
            .replace(
                "@MODEL_BYTES@", f" + 8 * {self.cls}.OUTPUT_COUNT + 16" if self.has_model else ""
            )
            .replace("@MODEL_WRITES@", MODEL_WRITES if self.has_model else "")
        )
        versions = (
            subprocess.run([self.kotlinc, "-version"], capture_output=True, text=True).stderr
            + subprocess.run([self.javac, "-version"], capture_output=True, text=True).stdout
        )
        key = hashlib.sha256((self.android[kt_path] + driver + versions).encode()).hexdigest()
        classes = harness.CACHE / "android-classes" / key[:16]
        if (classes / "Driver.class").is_file():
            return classes
        staging = classes.with_name(f"{key[:16]}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        run = subprocess.run(
            [self.kotlinc, str(self.module / kt_path), "-d", str(staging)],
            capture_output=True,
            text=True,
        )
        problems = [
            line
            for line in run.stderr.splitlines()
            if ("warning:" in line or "error:" in line) and "Xverify" not in line
        ]
        assert run.returncode == 0 and not problems, run.stderr
        (self.workdir / "Driver.java").write_text(driver)
        run = subprocess.run(
            [
                self.javac,
                "-Xlint:all",
                "-Werror",
                "-cp",
                f"{staging}:{self.stdlib()}",
                "-d",
                str(staging),
                str(self.workdir / "Driver.java"),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        os.replace(staging, classes)
        return classes

    def stdlib(self) -> Path:
        return _kotlin_stdlib(self.kotlinc)

    def run(self, library_dir: Path, *args: str) -> str:
        cmd = [
            self.java,
            f"-Djava.library.path={library_dir}",
            "-cp",
            f"{self.classes}:{self.stdlib()}",
            "Driver",
            *args,
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{' '.join(cmd)}\n{run.stdout}\n{run.stderr}"
        return run.stdout

    def stream(self, library_dir: Path, samples: np.ndarray, floats: bool = False) -> dict:
        """Every row through the Kotlin class's push (DoubleArray, or FloatArray when floats)."""
        tag = hashlib.sha256(samples.tobytes()).hexdigest()[:12]
        source = self.workdir / f"in-{tag}.bin"
        target = self.workdir / f"out-{tag}-{int(floats)}-{library_dir.name}.bin"
        data = samples.astype("<f4" if floats else "<f8")
        source.write_bytes(
            struct.pack("<3i", samples.shape[0], samples.shape[1], int(floats)) + data.tobytes()
        )
        said = self.run(library_dir, "stream", str(source), str(target))
        self.seconds = float(said.split("seconds=")[1].split()[0])
        raw = target.read_bytes()
        (size,) = struct.unpack_from("<i", raw)
        n = samples.shape[0]
        status = np.frombuffer(raw, dtype=np.int8, count=n, offset=4)
        body = raw[4 + n :]
        assert len(body) == size
        n_features, k = len(self.files_feature_names()), self.n_outputs()
        record = np.dtype(
            [("features", "<f8", (n_features,))]
            + (
                [("margins", "<f4", (k,)), ("probabilities", "<f4", (k,)), ("flags", "<i4", (4,))]
                if self.has_model
                else []
            )
        )
        records = np.frombuffer(body, dtype=record)
        out = {
            "status": status,
            "ends": np.flatnonzero(status > 0),
            "features": records["features"],
        }
        if self.has_model:
            out.update(
                margins=records["margins"],
                probabilities=records["probabilities"],
                predicted_class=records["flags"][:, 0],
                positive=records["flags"][:, 1].astype(bool),
                run=records["flags"][:, 2],
                event=records["flags"][:, 3].astype(bool),
            )
        return out

    def files_feature_names(self) -> list[str]:
        """The vector the Kotlin class exposes: with a model, the detector's (device) one."""
        manifest = manifest_of(self.files)
        return list(manifest.model.device.names if self.has_model else manifest.feature_names)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def example_android(example, tmp_path_factory):
    spec, files, module = example
    work = tmp_path_factory.mktemp("android")
    android = Android(files, spec.name, work, has_model=True)
    return spec, files, module, android, android.build_library("parity")


@pytest.fixture(scope="module")
def data_recordings():
    return {k: v.samples for k, v in labelled(subjects=2, seconds=40.0, seed=11).items()}


def _device(files: dict, name: str, features: np.ndarray) -> np.ndarray:
    """The numpy columns the detector's (device) featuriser computes: what Kotlin exposes."""
    return mh.model_input(features, mh.device_featuriser(files, name)[1])


def _same_bits64(a: np.ndarray, b: np.ndarray) -> bool:
    return harness.same_bits(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)).all()


# ---------------------------------------------------------------- parity through JNI


def test_kotlin_detector_through_jni_is_bit_identical(
    example_android, data_recordings, tmp_path, capsys
):
    """3 x 12,000-sample edge-case recordings (NaN/inf rows, +-0, subnormals, huge values,
    constant stretches) and two labelled recordings with twists: statuses, feature vectors
    (numpy), margins (XGBoost), decisions and events (the spec's rule on XGBoost's margins), and
    probabilities/runs/classes (the C detector through cffi), all bit for bit."""
    spec, files, module, android, library = example_android
    booster = mh.load_booster(load_bundle(spec).raw)
    parity = mh.ModelParity(files, spec.name, tmp_path, module, with_tl2cgen=False)
    recordings = {**parity_recordings(len(spec.inputs), n=12_000, count=3), **data_recordings}
    vectors = events = pushes = 0
    seconds = 0.0
    for label, samples in recordings.items():
        got = android.stream(library, samples)
        seconds += android.seconds
        pushes += len(samples)
        features, ends = module.featurize(samples, nonfinite="drop")
        finite = np.isfinite(samples).all(axis=1)
        assert np.array_equal(np.flatnonzero(got["status"] < 0), np.flatnonzero(~finite)), label
        assert np.array_equal(got["ends"], ends), label
        assert _same_bits64(got["features"], _device(files, spec.name, features)), (
            f"{label}: features differ from numpy"
        )
        reference = mh.xgboost_margins(booster, features)
        assert mh.bits_equal(reference, got["margins"]).all(), f"{label}: margins differ"
        positive = decisions.positive(parity.decision, reference)
        ordinals = np.cumsum(finite)[ends] - 1
        _, fired = decisions.events(parity.decision, positive, ordinals)
        assert np.array_equal(positive, got["positive"]), f"{label}: decisions differ"
        assert np.array_equal(fired, got["event"]), f"{label}: events differ"
        c = parity.detectors["C"].stream(samples)
        assert np.array_equal(c["status"], got["status"])
        for field in ("margins", "probabilities"):
            assert mh.bits_equal(c[field], got[field]).all(), f"{label}: {field} vs C"
        for field in ("predicted_class", "run"):
            assert np.array_equal(c[field], got[field]), f"{label}: {field} vs C"
        vectors += len(ends)
        events += int(fired.sum())
    assert vectors > 35_000 and events > 0
    with capsys.disabled():
        print(
            f"\n    Kotlin/JNI: {vectors} vectors, features/margins/decisions bit-identical "
            f"to numpy/XGBoost, {events} identical events; {pushes} pushes in {seconds:.2f} s "
            f"through Kotlin/JNI incl. copying every vector out (informative, JIT warm-up "
            f"included)"
        )


def test_float_samples_are_widened_exactly(example_android):
    """push(FloatArray) (Android's SensorEvent.values) is push(DoubleArray) of the same values."""
    spec, files, module, android, library = example_android
    samples = edge_case_recording(3_000, len(spec.inputs), seed=21, nonfinite=True)
    with np.errstate(over="ignore"):
        singles = samples.astype(np.float32)
    got = android.stream(library, singles.astype(np.float64), floats=True)
    features, ends = module.featurize(singles.astype(np.float64), nonfinite="drop")
    assert np.array_equal(got["ends"], ends) and len(ends) > 2_000
    assert _same_bits64(got["features"], _device(files, spec.name, features))


def test_featuriser_only_spec_through_jni(tmp_path):
    """A spec without a model gets a featuriser-only class: push -> EMITTED, features."""
    spec = load_spec_text(SMALL)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    kt = files[f"android/src/main/kotlin/featgen/{type_name(spec.name)}.kt"]
    assert "EMITTED(1)" in kt and "MODEL_SHA256" not in kt
    android = Android(files, spec.name, tmp_path, has_model=False)
    library = android.build_library("small")
    for seed in (1, 2):
        samples = edge_case_recording(5_000, 2, seed=seed, nonfinite=True)
        got = android.stream(library, samples)
        features, ends = module.featurize(samples, nonfinite="drop")
        assert np.array_equal(got["ends"], ends) and len(ends) > 1_000
        assert np.array_equal(
            np.flatnonzero(got["status"] < 0), np.flatnonzero(~np.isfinite(samples).all(axis=1))
        )
        assert _same_bits64(got["features"], features)


# ---------------------------------------------------------------- versioning


def test_kotlin_accepts_its_own_library(example_android):
    _, _, _, android, library = example_android
    said = android.run(library, "versions").strip().splitlines()
    n_device = len(android.files_feature_names())  # the detector's vector: what the model reads
    assert said == [
        f"ACCEPTED {n_device}",
        "SHORT SAMPLE REFUSED: a twist_and_go sample has 6 values, got 5",
    ], said


def test_kotlin_misuse_throws_clear_exceptions_and_never_crashes_the_jvm(example_android):
    """Wrong-length DoubleArray/FloatArray samples and feature buffers, and every call after
    close(): a Java exception with a clear message (checked in Kotlin, and again in the JNI
    layer); close() twice is harmless."""
    spec, _, _, android, library = example_android
    n, f = len(spec.inputs), len(android.files_feature_names())
    closed = "IllegalStateException: TwistAndGo is closed"
    said = android.run(library, "misuse").strip().splitlines()
    assert said == [
        f"IllegalArgumentException: a twist_and_go sample has {n} values, got {n + 1}",
        f"IllegalArgumentException: a twist_and_go sample has {n} values, got {n - 1}",
        f"IllegalArgumentException: a twist_and_go sample has {n} values, got 0",
        f"IllegalArgumentException: out must hold {f} values, got {f + 1}",
        "push -> PENDING",
        "ok",
        "ok",
        closed,
        closed,
        closed,
        closed,
        closed,
        "ok",
    ], said


def test_jni_turns_a_corrupt_native_stream_into_an_exception(example_android):
    """A native stream whose init never ran (the C push returns _ERR_STATE): the JNI layer
    checks the status and throws IllegalStateException instead of reporting a status."""
    spec, _, _, android, _ = example_android
    init = f"{spec.name}_detector_init(&stream->detector);"
    library = android.build_library("no-init", {f"{spec.name}_jni.c": (init, "/* no init */")})
    said = android.run(library, "misuse").strip().splitlines()
    assert said[4:6] == [
        "IllegalStateException: twist_and_go: the native stream is not "
        "initialised or is corrupt (push returned _ERR_STATE)",
        "ok",
    ], said


@pytest.mark.parametrize("case", ["model feature order", "model", "spec"])
def test_kotlin_refuses_a_mismatched_native_library(example_android, case):
    """A native library whose model was built for another feature order (or another model, or
    whose featuriser comes from another spec) is refused with a message naming both hashes."""
    spec, files, _, android, _ = example_android
    name, P = spec.name, spec.name.upper()
    feat, _ = mh.device_featuriser(files, name)  # the featuriser the detector runs
    FP = feat.upper()
    manifest = manifest_of(files)
    order = manifest.data["model"]["feature_order_sha256"]  # not a typed field of ModelEntry
    model_sha = manifest.model.model_sha256
    other = hashlib.sha256(case.encode()).hexdigest()
    replace = {
        "model feature order": {
            f"{name}_model.h": (
                f'{P}_MODEL_FEATURE_ORDER_SHA256 "{order}"',
                f'{P}_MODEL_FEATURE_ORDER_SHA256 "{other}"',
            )
        },
        "model": {
            f"{name}_model.h": (f'{P}_MODEL_SHA256 "{model_sha}"', f'{P}_MODEL_SHA256 "{other}"')
        },
        "spec": {
            f"{feat}_features.h": (
                f'{FP}_SPEC_HASH "{spec.spec_hash}"',
                f'{FP}_SPEC_HASH "{other}"',
            )
        },
    }[case]
    library = android.build_library(case.replace(" ", "-"), replace)
    said = android.run(library, "versions").strip()
    assert said.startswith("REFUSED "), said
    assert other in said, said
    expected = {"model feature order": order, "model": model_sha, "spec": spec.spec_hash}[case]
    assert expected in said, said


# ---------------------------------------------------------------- the emitted CMake build


def test_emitted_cmake_builds_the_jni_library(example_android, tmp_path):
    """CMake configures and builds android/src/main/cpp/CMakeLists.txt as it stands (JNI from
    the JDK off Android), the flags reach the compiler, and the result streams the same bits."""
    cmake = _require("cmake", "the build of the emitted CMakeLists.txt")
    spec, files, module, android, _ = example_android
    build = tmp_path / "build"
    env = dict(os.environ, JAVA_HOME=str(android.home))
    for cmd in (
        [
            cmake,
            "-S",
            str(android.cpp),
            "-B",
            str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DCMAKE_C_COMPILER=gcc",
        ],
        [cmake, "--build", str(build), "--verbose"],
    ):
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stdout + run.stderr
    compile_lines = [
        line for line in run.stdout.splitlines() if "_jni.c" in line and " -c " in line
    ]
    assert compile_lines, run.stdout
    for flag in ("-ffp-contract=off", "-fno-fast-math", "-std=c99"):
        assert flag in compile_lines[0], (flag, compile_lines[0])
    assert "-std=gnu99" not in run.stdout
    assert (build / f"lib{spec.name}_jni.so").is_file()
    samples = edge_case_recording(2_000, len(spec.inputs), seed=4, nonfinite=True)
    got = android.stream(build, samples)
    features, ends = module.featurize(samples, nonfinite="drop")
    assert np.array_equal(got["ends"], ends)
    assert _same_bits64(got["features"], _device(files, spec.name, features))


def test_android_tree_is_self_contained(example):
    """cpp/ holds byte-identical copies of the C runtime (nothing referenced outside it), and
    every android/ file carries the spec hash and the generator version."""
    spec, files, _ = example
    name = spec.name
    feat, _ = mh.device_featuriser(files, name)
    assert feat == f"{name}_device"  # the detector runs what the model reads
    for part in (f"{feat}_features", f"{name}_model", f"{name}_detector", f"{name}_recorder"):
        for ext in ("h", "c"):
            assert files[f"android/src/main/cpp/{part}.{ext}"] == files[f"c/{part}.{ext}"]
    assert f"android/src/main/cpp/{name}_features.c" not in files
    cmake = files["android/src/main/cpp/CMakeLists.txt"]
    assert "C_EXTENSIONS OFF" in cmake and "-ffp-contract=off -fno-fast-math" in cmake
    assert ".." not in cmake
    for path, text in files.items():
        if path.startswith("android/"):
            assert spec.spec_hash in text and "featgen 0.1.0" in text, path


def test_multiclass_model_through_jni(tmp_path):
    """A multi:softprob model: the Kotlin class of a multi-class detector (margins per class,
    POSITIVE_CLASS), margins bit-identical to XGBoost, argmax decisions and events as the rule."""
    from featgen.train import Params, train
    from featurespec import load_spec
    from parity_tests.model_fixtures import spec_with_model, three_classes

    spec_path = spec_with_model(tmp_path, "mc", "{class: 2, consecutive: 2, refractory: 10}")
    spec = load_spec(spec_path)
    recordings = three_classes(labelled(subjects=2, seconds=20.0, seed=5))
    train(
        spec, recordings, tmp_path / "mc", Params(objective="multi:softprob", rounds=4, max_depth=3)
    )
    files = generate(spec)
    kt = files[f"android/src/main/kotlin/featgen/{type_name(spec.name)}.kt"]
    assert "const val POSITIVE_CLASS: Int = 2" in kt and "OUTPUT_COUNT: Int = 3" in kt
    module = harness.load_numpy_module(files, spec.name)
    android = Android(files, spec.name, tmp_path / "work", has_model=True)
    library = android.build_library("mc")
    booster = mh.load_booster(load_bundle(spec).raw)
    parity = mh.ModelParity(files, spec.name, tmp_path / "c", module, with_tl2cgen=False)
    samples = next(iter(recordings.values())).samples
    got = android.stream(library, samples)
    features, ends = module.featurize(samples, nonfinite="drop")
    assert np.array_equal(got["ends"], ends)
    assert _same_bits64(got["features"], _device(files, spec.name, features))
    reference = mh.xgboost_margins(booster, features)
    assert reference.shape[1] == 3 and mh.bits_equal(reference, got["margins"]).all()
    positive = decisions.positive(parity.decision, reference)
    ordinals = np.cumsum(np.isfinite(samples).all(axis=1))[ends] - 1
    _, fired = decisions.events(parity.decision, positive, ordinals)
    assert positive.any() and np.array_equal(positive, got["positive"])
    assert np.array_equal(decisions.argmax_first(reference), got["predicted_class"])
    assert np.array_equal(fired, got["event"])


def test_kotlin_constants_are_the_manifests(example):
    """The Kotlin class's informative constants say what the native code decides with."""
    import re

    spec, files, _ = example
    kt = files[f"android/src/main/kotlin/featgen/{type_name(spec.name)}.kt"]
    model = manifest_of(files).model
    bits = int(
        re.search(
            r"MARGIN_THRESHOLD: Float = java\.lang\.Float\.intBitsToFloat\((-?\d+)\)", kt
        ).group(1)
    )
    threshold = float.fromhex(model.decision["margin_threshold"])
    assert np.int32(bits).view(np.float32) == np.float32(threshold)
    order = manifest_of(files).data["model"]["feature_order_sha256"]  # not a typed field
    assert f'const val MODEL_SHA256: String = "{model.model_sha256}"' in kt
    assert f'const val FEATURE_ORDER_SHA256: String = "{order}"' in kt
    assert f"const val CONSECUTIVE: Int = {model.decision['consecutive']}" in kt
    assert f"const val REFRACTORY: Int = {model.decision['refractory_samples']}" in kt


@pytest.mark.parametrize(
    "name,cls",
    [
        ("string", "String"),
        ("closeable", "Closeable"),
        ("system", "System"),
        ("double_array", "DoubleArray"),
    ],
)
def test_spec_names_that_would_hide_kotlin_types_are_refused(name, cls):
    """The Kotlin class is the spec name in PascalCase; a name that would hide a type its file
    uses is a located error, not Kotlin that does not compile."""
    from featurespec import SpecError

    text = SMALL.replace("name: small", f"name: {name}")
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "spec.yaml")
    assert str(caught.value).splitlines()[-1] == (
        f"spec.yaml:3:7: name: '{name}' would name the Android class {cls}, which hides "
        f"Kotlin's {cls}; choose another name"
    )
