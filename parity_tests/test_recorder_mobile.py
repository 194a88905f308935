"""The flight recorder on the mobile runtimes and the sensor adapter's records (format 2,
docs/replay.md): logs written by the Swift package (swiftc -O on this machine) and by Kotlin
through JNI (kotlinc + javac + the JNI library on the JDK) replay as identical, carry the same
records byte for byte as the C recorder's log of the same samples, and deliberately broken builds
are named (an edited constant, wrong units). With a sensors: block, the adapter's input and
output are logged and replay checks the adapter and the app's wiring (samples changed between the
adapter and the detector, a missing reset at a segment start, the wrong platform's units)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.android import KOTLIN_PACKAGE, type_name
from featgen.replay import compare
from featgen.replay_text import parse
from parity_tests import abi
from parity_tests.conftest import require_swiftc
from parity_tests.test_flight_recorder import _sensor_unit, _sources, record, setup  # noqa: F401

HEADER = 212
MS = 1_000_000


def _replay(log: bytes, ref) -> dict:
    return compare(parse(log), ref)


def event_stream(samples: np.ndarray, seed: int, ios: bool = False):
    """Raw sensor events of the motion in ``samples`` (50 Hz, acc m/s^2 then gyro rad/s):
    accelerometer at ~100 Hz and gyroscope at ~200 Hz with jittered times, in arrival order, a
    duplicate, a NaN event and a 300 ms hole (a segment reset). ``ios``: the accelerometer in g
    with the axes negated, as Core Motion reports it (the spec's ios variant)."""
    rng = np.random.default_rng(seed)
    n = samples.shape[0]
    ids, times, values = [], [], []
    for sensor, (rate, cols) in enumerate(((100, slice(0, 3)), (200, slice(3, 6)))):
        k = np.arange(n * rate // 50)
        t = 1_000 * MS + k * (10**9 // rate) + rng.integers(-MS, MS, k.size)
        keep = (t < 1_000 * MS + 6_000 * MS) | (t > 1_000 * MS + 6_300 * MS)
        v = samples[np.minimum(k * 50 // rate, n - 1), cols].copy()
        if sensor == 0 and ios:
            v = v / -9.80665
        ids.append(np.full(keep.sum(), sensor))
        times.append(t[keep])
        values.append(v[keep])
    order = np.argsort(np.concatenate(times), kind="stable")
    ids, t, v = (
        np.concatenate(ids)[order],
        np.concatenate(times)[order],
        np.concatenate(values)[order],
    )
    ids, t, v = np.insert(ids, 40, ids[39]), np.insert(t, 40, t[39]), np.insert(v, 40, v[39], 0)
    v[77, 1] = np.nan
    return ids, t, v


def _events_bytes(ids, t, v) -> bytes:
    return b"".join(struct.pack("<iq3d", int(i), int(tt), *vv) for i, tt, vv in zip(ids, t, v))


# ---------------------------------------------------------------- C: the adapter's records

C_SENSORS = r"""
#include "NAME_recorder.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void sink(void *ctx, const void *bytes, size_t n)
{
    fwrite(bytes, 1, n, (FILE *)ctx);
}

typedef struct app {
    NAME_detector d;
    NAME_recorder *rec;
    int wiring; /* 0 as documented, 1 converts the samples again, 2 never resets */
} app;

static void on_sample(void *ctx, int64_t t_ns, const double *sample, int segment_start)
{
    app *a = (app *)ctx;
    NAME_result r;
    double s[PPP_SENSORS_N_INPUTS];
    (void)t_ns;
    memcpy(s, sample, sizeof s);
    if (a->wiring == 1) { /* the app "converts g to m/s^2" although the adapter did */
        for (int i = 0; i < 3; ++i) {
            s[i] *= 9.80665;
        }
    }
    if (segment_start && a->wiring != 2) {
        NAME_detector_init_recorded(&a->d, a->rec);
    }
    NAME_detector_push_recorded(&a->d, a->rec, s, &r);
}

/* driver EVENTS LOG PLATFORM WIRING: int32 sensor, int64 t, 3 doubles per event. */
int main(int argc, char **argv)
{
    static app a;
    static NAME_sensors ad;
    NAME_recorder rec;
    unsigned char b[36];
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL || argc < 5) {
        return 2;
    }
    a.rec = &rec;
    a.wiring = argv[4][0] - '0';
    NAME_detector_init(&a.d);
    NAME_sensors_init(&ad, argv[3][0] - '0');
    if (NAME_recorder_start(&rec, sink, out, PPP_RECORDER_FULL_VECTORS) != 0) {
        return 3;
    }
    while (fread(b, 1, sizeof b, in) == sizeof b) {
        int32_t id;
        int64_t t;
        double v[3];
        memcpy(&id, b, 4); /* the test machines are little-endian */
        memcpy(&t, b + 4, 8);
        memcpy(v, b + 12, 24);
        NAME_sensor_push_recorded(&ad, &rec, id, t, v, on_sample, &a);
    }
    NAME_recorder_stop(&rec);
    fclose(out);
    fclose(in);
    return 0;
}
"""


_C_DRIVERS: dict[str, Path] = {}


def _c_sensor_driver(files: dict, name: str, work: Path) -> Path:
    """The C detector + recorder + adapter + C_SENSORS, built once per set of sources."""
    import hashlib

    key = hashlib.sha256(repr(sorted(_sources(files).items())).encode()).hexdigest()
    if key not in _C_DRIVERS:
        work.mkdir(parents=True, exist_ok=True)
        for file_name, text in _sources(files).items():
            (work / file_name).write_text(text)
        (work / "driver.c").write_text(C_SENSORS.replace("NAME", name).replace("PPP", name.upper()))
        feat = f"{name}_device" if f"c/{name}_device_features.c" in files else name
        units = [
            f"{feat}_features.c",
            f"{name}_model.c",
            f"{name}_detector.c",
            f"{name}_recorder.c",
            "driver.c",
        ] + _sensor_unit(files, name)
        subprocess.run(
            [
                "gcc",
                *abi.EMITTED,
                "-I",
                str(work),
                *(str(work / u) for u in units),
                "-o",
                str(work / "driver"),
                "-lm",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        _C_DRIVERS[key] = work / "driver"
    return _C_DRIVERS[key]


def c_sensor_log(
    files: dict, name: str, events, work: Path, platform: int = 0, wiring: int = 0
) -> bytes:
    """The C log of ``events`` through the recorded adapter (PLATFORM), the app's WIRING."""
    driver = _c_sensor_driver(files, name, work / "build")
    work.mkdir(parents=True, exist_ok=True)
    (work / "events.bin").write_bytes(_events_bytes(*events))
    subprocess.run(
        [
            str(driver),
            str(work / "events.bin"),
            str(work / "log.fglog"),
            str(platform),
            str(wiring),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (work / "log.fglog").read_bytes()


@pytest.fixture(scope="module")
def events(setup):
    _, _, _, samples = setup
    clean = samples.copy()
    clean[37, 2] = clean[36, 2]
    return event_stream(clean, 3), event_stream(clean, 3, ios=True)


def test_c_adapter_log_replays_identical(setup, events, tmp_path):
    spec, files, ref, _ = setup
    for platform, stream in enumerate(events):
        report = _replay(
            c_sensor_log(files, spec.name, stream, tmp_path / str(platform), platform), ref
        )
        assert report["identical"], report["causes"]
        ad = report["adapter"]
        assert ad["events"] == len(stream[0]) and ad["first_divergence"] is None
        assert ad["samples_on_device"] == ad["samples_in_reference"] > 900
        assert report["identity"]["sensors_sha256"][0] == spec.sensors.sensors_hash
        log = parse(c_sensor_log(files, spec.name, stream, tmp_path / str(platform), platform))
        assert log.resets.size == 2 and log.header.runtime == 1  # the start and the hole


def test_c_adapter_wiring_mistakes_are_named(setup, events, tmp_path):
    """The app converts the adapter's samples again; the app never resets at a segment start;
    iOS events fed to an adapter initialised for Android (the units of another platform)."""
    spec, files, ref, _ = setup
    android, ios = events
    twice = _replay(c_sensor_log(files, spec.name, android, tmp_path / "a", 0, 1), ref)
    assert not twice["identical"]
    assert any(
        "changed the adapter's samples before the detector by 9.81x" in c for c in twice["causes"]
    ), twice["causes"]
    noreset = _replay(c_sensor_log(files, spec.name, android, tmp_path / "b", 0, 2), ref)
    assert not noreset["identical"]
    assert any(
        "not re-initialised at 2 of the adapter's segment starts" in c for c in noreset["causes"]
    ), noreset["causes"]
    platform = _replay(c_sensor_log(files, spec.name, ios, tmp_path / "c", 0), ref)
    assert not platform["identical"]
    assert any(
        c.startswith("input units: the adapter was initialised for platform android")
        for c in platform["causes"]
    ), platform["causes"]


def test_c_edited_adapter_is_named(setup, events, tmp_path):
    spec, files, ref, _ = setup
    path = f"c/{spec.name}_sensors.c"
    edited = dict(files, **{path: files[path].replace("-9.80665", "-9.81", 1)})
    assert edited[path] != files[path]
    report = _replay(c_sensor_log(edited, spec.name, events[1], tmp_path, 1), ref)
    assert not report["identical"]
    assert any(c.startswith("sensor adapter differs") for c in report["causes"])
    assert report["adapter"]["first_divergence"]["inputs"] == ["acc_x"]  # the edited factor


# ---------------------------------------------------------------- Swift

SWIFT_MAIN = r"""
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func readAll(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fatalError("cannot open \(path)") }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    fclose(f)
    return out
}

func le64(_ b: [UInt8], _ o: Int) -> UInt64 {
    var u: UInt64 = 0
    for k in (0..<8).reversed() { u = (u << 8) | UInt64(b[o + k]) }
    return u
}

/// samples IN LOG MODE SCALE RESET_AT | events IN LOG MODE PLATFORM
@main
struct Driver {
    static func main() throws {
        let args = CommandLine.arguments
        var detector = try @DETECTOR@()
        let mode: @RECORDER@.VectorMode = args[4] == "digest" ? .vectorDigest : .fullVectors
        try detector.startRecording(toPath: args[3], mode: mode)
        let data = readAll(args[2])
        if args[1] == "samples" {
            let n = @FEATURES@.inputCount
            let scale = Double(args[5])!
            let resetAt = Int(args[6])!
            var sample = [Double](repeating: 0, count: n)
            var row = 0
            while (row + 1) * 8 * n <= data.count {
                for i in 0..<n {
                    sample[i] = Double(bitPattern: le64(data, (row * n + i) * 8)) * scale
                }
                if row == resetAt { detector.reset() }
                _ = detector.push(sample)
                row += 1
            }
        } else {
            var adapter = @SENSORS@(platform: @SENSORS@.Platform(rawValue: Int(args[5])!)!)
            let recorder = detector.recorder!
            var o = 0
            while o + 36 <= data.count {
                let sensor = Int(le64(data, o) & 0xffffffff)
                let t = Int64(bitPattern: le64(data, o + 4))
                let x = Double(bitPattern: le64(data, o + 12))
                let y = Double(bitPattern: le64(data, o + 20))
                let z = Double(bitPattern: le64(data, o + 28))
                _ = recorder.push(&adapter, sensor: sensor, tNs: t, x: x, y: y, z: z) { (_, s, first) in
                    if first { detector.reset() }
                    _ = detector.push(s)
                }
                o += 36
            }
        }
        detector.stopRecording()
    }
}
"""


class SwiftRecorder:
    """The generated Swift package's sources plus SWIFT_MAIN, built with swiftc -O -wmo."""

    def __init__(self, files: dict, name: str, work: Path, optimize: str = "-O"):
        swiftc = require_swiftc()
        work.mkdir(parents=True, exist_ok=True)
        camel = type_name(name)
        sources = []
        for path, text in files.items():
            if path.startswith("ios/Sources/") and path.endswith(".swift"):
                sources.append(work / Path(path).name)
                sources[-1].write_text(text)
        main = (
            SWIFT_MAIN.replace("@DETECTOR@", f"{camel}Detector")
            .replace("@RECORDER@", f"{camel}Recorder")
            .replace("@SENSORS@", f"{camel}Sensors")
            .replace(
                "@FEATURES@",
                f"{camel}DeviceFeatures"
                if f"c/{name}_device_features.c" in files
                else f"{camel}Features",
            )
        )
        (work / "driver.swift").write_text(main)  # not main.swift: @main
        self.exe = work / "driver"
        self.work = work
        run = subprocess.run(
            [
                swiftc,
                optimize,
                "-wmo",
                "-module-name",
                "Driver",
                *map(str, sources),
                str(work / "driver.swift"),
                "-o",
                str(self.exe),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-3000:]

    def samples(
        self, samples: np.ndarray, mode: str = "full", scale: float = 1.0, reset_at: int = -1
    ) -> bytes:
        src, log = self.work / "samples.bin", self.work / "log.fglog"
        src.write_bytes(np.ascontiguousarray(samples, "<f8").tobytes())
        subprocess.run(
            [str(self.exe), "samples", str(src), str(log), mode, repr(scale), str(reset_at)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return log.read_bytes()

    def events(self, events, platform: int) -> bytes:
        src, log = self.work / "events.bin", self.work / "log.fglog"
        src.write_bytes(_events_bytes(*events))
        subprocess.run(
            [str(self.exe), "events", str(src), str(log), "full", str(platform)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return log.read_bytes()


@pytest.fixture(scope="module")
def swift(setup, tmp_path_factory):
    spec, files, _, _ = setup
    return SwiftRecorder(files, spec.name, tmp_path_factory.mktemp("swift-recorder"))


def _same_records(mobile: bytes, c_log: bytes) -> None:
    """The same format: identical records and identical header fields, except who wrote it
    (compiler, its version, the runtime byte) and so the header's checksum."""
    assert mobile[HEADER:] == c_log[HEADER:]
    assert mobile[:157] == c_log[:157]  # magic .. FLT_EVAL_METHOD
    assert mobile[159] == c_log[159]  # pointer size
    assert mobile[164:204] == c_log[164:204]  # sizes, mode, sensors hash
    assert mobile[205:208] == c_log[205:208]


def test_swift_log_is_the_c_format_and_replays_identical(setup, swift, tmp_path):
    spec, files, ref, samples = setup
    for mode in ("full", "digest"):
        log = swift.samples(samples, mode)
        _same_records(
            log, record(files, spec.name, samples, tmp_path / mode, digest=mode == "digest")
        )
        report = _replay(log, ref)
        assert report["identical"], report["causes"]
        assert report["fingerprint"]["runtime"] == "Swift"
        assert report["fingerprint"]["compiler"].startswith("swiftc ")
    report = _replay(swift.samples(samples, reset_at=500), ref)  # reset() mid-stream
    assert report["identical"], report["causes"]
    assert report["vectors"]["device"] == 900 - 99


def test_swift_broken_builds_are_named(setup, swift, tmp_path):
    spec, files, ref, samples = setup
    report = _replay(swift.samples(samples, scale=1 / 9.80665), ref)
    assert not report["identical"] and report["first_divergence"] is None
    assert any(c.startswith("input units differ by 9.81x") for c in report["causes"])
    camel = type_name(spec.name)
    path = f"ios/Sources/{camel}Features/{camel}DeviceFeatures.swift"
    assert files[path].count("0x1.999999999999ap-3") >= 1
    edited = dict(files, **{path: files[path].replace("0x1.999999999999ap-3", "0.21")})
    # -Onone: a second build only to show the edit is named (the -O build is the fixture's)
    report = _replay(SwiftRecorder(edited, spec.name, tmp_path, "-Onone").samples(samples), ref)
    assert not report["identical"]
    assert report["causes"][0].startswith("generated code edited or miscompiled")
    assert all("acc_x_lp" in f["name"] for f in report["first_divergence"]["features"])


def test_swift_adapter_log_replays_identical(setup, swift, events, tmp_path):
    spec, files, ref, _ = setup
    log = swift.events(events[1], 1)
    assert log[HEADER:] == c_sensor_log(files, spec.name, events[1], tmp_path, 1)[HEADER:]
    report = _replay(log, ref)
    assert report["identical"], report["causes"]
    assert report["adapter"]["samples_on_device"] > 900


# ---------------------------------------------------------------- Kotlin through JNI

JAVA_DRIVER = r"""
import @PACKAGE@.@CLASS@;
import @PACKAGE@.@CLASS@Sensors;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;

/** samples IN LOG MODE SCALE RESET_AT | events IN LOG MODE PLATFORM | badpath LOG */
public class RecDriver {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("badpath")) {
            try (@CLASS@ d = new @CLASS@()) {
                d.startRecording(new File(args[1]), false);
                System.out.println("OPENED");
            } catch (java.io.IOException e) {
                System.out.println("IOException: " + e.getMessage());
            }
            return;
        }
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[1]))).order(ByteOrder.LITTLE_ENDIAN);
        boolean digest = args[3].equals("digest");
        try (@CLASS@ d = new @CLASS@()) {
            d.startRecording(new File(args[2]), digest);
            if (args[0].equals("samples")) {
                double scale = Double.parseDouble(args[4]);
                int resetAt = Integer.parseInt(args[5]);
                double[] s = new double[@CLASS@.INPUT_COUNT];
                int row = 0;
                while (in.remaining() >= 8 * s.length) {
                    for (int i = 0; i < s.length; i++) s[i] = in.getDouble() * scale;
                    if (row == resetAt) d.reset();
                    d.push(s);
                    row++;
                }
                d.stopRecording();
            } else {
                @CLASS@Sensors.Platform platform = @CLASS@Sensors.Platform.values()[Integer.parseInt(args[4])];
                try (@CLASS@Sensors a = new @CLASS@Sensors(platform, (t, sample, first) -> {
                    if (first) d.reset();
                    d.push(sample);
                    return kotlin.Unit.INSTANCE;
                })) {
                    a.recordInto(d);
                    while (in.remaining() >= 36) {
                        int sensor = in.getInt();
                        long t = in.getLong();
                        a.push(sensor, t, in.getDouble(), in.getDouble(), in.getDouble());
                    }
                }
            }
            // close() without stopRecording() (events mode) must still end the log
        }
    }
}
"""


class KotlinRecorder:
    """android/: the JNI library (gcc, the parity flags) and the Kotlin classes (kotlinc), driven
    from Java through System.loadLibrary, as test_android_jni.py does."""

    def __init__(
        self, files: dict, name: str, work: Path, replace: tuple[str, str, str] | None = None
    ):
        from parity_tests.test_android_jni import C_FLAGS, _java_home, _kotlin_stdlib, _require

        javac = _require("javac", "the Kotlin/JNI flight recorder")
        self.java = _require("java", "the Kotlin/JNI flight recorder")
        kotlinc = _require("kotlinc", "the Kotlin/JNI flight recorder")
        home = _java_home(javac)
        self.stdlib = _kotlin_stdlib(kotlinc)
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        cls = type_name(name)
        cpp, kotlin = work / "cpp", work / "kotlin"
        for path, text in files.items():
            if path.startswith("android/src/main/cpp/") and path.endswith((".c", ".h")):
                target = cpp / Path(path).name
            elif path.startswith("android/src/main/kotlin/") and path.endswith(
                (f"/{cls}.kt", f"/{cls}Sensors.kt")
            ):
                target = kotlin / Path(path).name
            else:
                continue
            if replace and path.endswith(replace[0]):
                assert replace[1] in text
                text = text.replace(replace[1], replace[2])
            target.parent.mkdir(exist_ok=True)
            target.write_text(text)
        self.lib = work / "lib"
        self.lib.mkdir(exist_ok=True)
        run = subprocess.run(
            [
                "gcc",
                *C_FLAGS,
                "-I",
                str(cpp),
                "-I",
                str(home / "include"),
                "-I",
                str(home / "include" / "linux"),
                *sorted(map(str, cpp.glob("*.c"))),
                "-o",
                str(self.lib / f"lib{name}_jni.so"),
                "-lm",
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        self.classes = self._classes(kotlinc, javac, kotlin, cls)

    def _classes(self, kotlinc: str, javac: str, kotlin: Path, cls: str) -> Path:
        import hashlib

        from featgen import harness

        driver = JAVA_DRIVER.replace("@PACKAGE@", KOTLIN_PACKAGE).replace("@CLASS@", cls)
        key = hashlib.sha256(
            "".join(p.read_text() for p in sorted(kotlin.glob("*.kt"))).encode() + driver.encode()
        ).hexdigest()[:16]
        classes = harness.CACHE / "recorder-classes" / key
        if (classes / "RecDriver.class").is_file():
            return classes
        staging = classes.with_name(key + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        run = subprocess.run(
            [kotlinc, *map(str, sorted(kotlin.glob("*.kt"))), "-d", str(staging)],
            capture_output=True,
            text=True,
        )
        problems = [
            line
            for line in run.stderr.splitlines()
            if ("warning:" in line or "error:" in line) and "Xverify" not in line
        ]
        assert run.returncode == 0 and not problems, run.stderr
        (self.work / "RecDriver.java").write_text(driver)
        run = subprocess.run(
            [
                javac,
                "-Xlint:all",
                "-Werror",
                "-cp",
                f"{staging}:{self.stdlib}",
                "-d",
                str(staging),
                str(self.work / "RecDriver.java"),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        shutil.rmtree(classes, ignore_errors=True)
        staging.rename(classes)
        return classes

    def run(self, *args: str) -> str:
        run = subprocess.run(
            [
                self.java,
                f"-Djava.library.path={self.lib}",
                "-cp",
                f"{self.classes}:{self.stdlib}",
                "RecDriver",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    def samples(
        self, samples: np.ndarray, mode: str = "full", scale: float = 1.0, reset_at: int = -1
    ) -> bytes:
        src, log = self.work / "samples.bin", self.work / "log.fglog"
        src.write_bytes(np.ascontiguousarray(samples, "<f8").tobytes())
        self.run("samples", str(src), str(log), mode, repr(scale), str(reset_at))
        return log.read_bytes()

    def events(self, events, platform: int) -> bytes:
        src, log = self.work / "events.bin", self.work / "log.fglog"
        src.write_bytes(_events_bytes(*events))
        self.run("events", str(src), str(log), "full", str(platform))
        return log.read_bytes()


@pytest.fixture(scope="module")
def kotlin(setup, tmp_path_factory):
    spec, files, _, _ = setup
    return KotlinRecorder(files, spec.name, tmp_path_factory.mktemp("kotlin-recorder"))


def test_kotlin_jni_log_is_the_c_format_and_replays_identical(setup, kotlin, tmp_path):
    spec, files, ref, samples = setup
    for mode in ("full", "digest"):
        log = kotlin.samples(samples, mode)
        _same_records(
            log, record(files, spec.name, samples, tmp_path / mode, digest=mode == "digest")
        )
        report = _replay(log, ref)
        assert report["identical"], report["causes"]
        assert report["fingerprint"]["runtime"] == "Kotlin/JNI"
    report = _replay(kotlin.samples(samples, reset_at=500), ref)
    assert report["identical"], report["causes"]
    assert parse(kotlin.samples(samples, reset_at=500)).resets.tolist() == [500]
    said = kotlin.run("badpath", str(tmp_path / "no-such-dir" / "x.fglog"))
    assert (
        said.startswith("IOException: twist_and_go: cannot open the log")
        and "No such file or directory" in said
    )


def test_kotlin_jni_broken_builds_are_named(setup, kotlin, tmp_path):
    spec, files, ref, samples = setup
    report = _replay(kotlin.samples(samples, scale=9.80665), ref)
    assert not report["identical"] and report["first_divergence"] is None
    assert any(c.startswith("input units differ by 9.81x") for c in report["causes"])
    edited = KotlinRecorder(
        files,
        spec.name,
        tmp_path,
        replace=(f"{spec.name}_device_features.c", "0x1.999999999999ap-3", "0.21"),
    )
    report = _replay(edited.samples(samples), ref)
    assert not report["identical"]
    assert report["causes"][0].startswith("generated code edited or miscompiled")


def test_kotlin_jni_adapter_log_replays_identical(setup, kotlin, events, tmp_path):
    spec, files, ref, _ = setup
    log = kotlin.events(events[0], 0)  # ended by close(), not stopRecording()
    assert log[HEADER:] == c_sensor_log(files, spec.name, events[0], tmp_path, 0)[HEADER:]
    report = _replay(log, ref)
    assert report["identical"] and report["complete"], report["causes"]
    assert report["adapter"]["events"] == len(events[0][0])


# ---------------------------------------------------------------- text form, versions, fuzz


@pytest.fixture(scope="module")
def sensor_log(setup, events, tmp_path_factory):
    spec, files, _, _ = setup
    return c_sensor_log(files, spec.name, events[1], tmp_path_factory.mktemp("slog"), 1)


def test_text_form_round_trips_every_bit(setup, sensor_log, tmp_path):
    """binary -> JSON lines -> binary is byte-identical (sensor events, adapter samples, resets,
    pushes; full and digest vectors), and replay says the same of both forms."""
    from featgen.replay_text import to_binary, to_text

    spec, files, ref, samples = setup
    digest = record(files, spec.name, samples[:300], tmp_path / "d", digest=True)
    for log in (sensor_log, digest):
        text = to_text(parse(log))
        assert to_binary(parse(text.encode())) == log
        assert '"push"' in text and "e-" not in text.split("\n", 1)[1]  # no decimals
        a, b = _replay(log, ref), _replay(text.encode(), ref)
        assert a["identical"] and b["identical"]
        assert {k: v for k, v in a.items()} == {k: v for k, v in b.items()}
    first_push = next(
        line for line in to_text(parse(sensor_log)).splitlines() if line.startswith('{"push"')
    )
    sample = parse(sensor_log).samples[0]
    assert struct.pack(">d", sample[0]).hex() in first_push


def test_format_1_logs_are_still_read(setup, tmp_path):
    """A format-1 log (176-byte header, no sensor/reset records) replays as before."""
    from featgen.replay_text import to_binary

    spec, files, ref, samples = setup
    log = parse(record(files, spec.name, samples[:400], tmp_path))
    assert log.header.version == 2 and log.resets.size == 0
    log.header.version = 1
    v1 = to_binary(log)
    assert struct.unpack_from("<HH", v1, 8) == (1, 176)
    report = _replay(v1, ref)
    assert report["identical"] and report["format_version"] == 1
    assert "sensors_sha256" not in report["identity"]


def test_unknown_record_kinds(setup, tmp_path):
    """A kind >= 128 (optional) is skipped; an unknown kind < 128 is refused with the offset."""
    from featgen.replay import fnv1a

    spec, files, ref, samples = setup
    log = record(files, spec.name, samples[:150], tmp_path)
    for kind, ok in ((200, True), (9, False)):
        body = struct.pack("<IB", 3, kind) + b"ab"
        patched = log[:HEADER] + body + struct.pack("<I", fnv1a(body)) + log[HEADER:]
        if ok:
            assert _replay(patched, ref)["identical"]
        else:
            with pytest.raises(
                Exception,
                match=rf"record kind 9 is not known.*byte offset "
                rf"{HEADER}$",
            ):
                parse(patched)


def test_malformed_v2_and_text_logs_name_the_byte_offset(sensor_log):
    """The seeded fuzz of test_flight_recorder, on a whole format-2 log with every record kind
    (sensor events, adapter samples, resets, pushes, end) and on its text form: each damaged log
    is a DataError naming a byte offset, or a cut exactly at a record (line) boundary, which
    parses as a log without its end record. The text form has no checksums (docs/replay.md): a
    flip that leaves valid JSON and hex is read as another value, so there only the framing is
    checked."""
    import random
    import re

    from featgen.data import DataError
    from featgen.replay_text import to_binary, to_text

    lines = to_text(parse(sensor_log)).splitlines()[:700]
    pushes = sum(line.startswith('{"push"') for line in lines)
    text = ("\n".join(lines) + f'\n{{"end": {{"pushes": {pushes}}}}}\n').encode()
    binary = to_binary(parse(text))
    kinds = {k for k, _ in parse(binary).order}
    assert kinds == {1, 3, 4, 5} and parse(binary).ended
    rng = random.Random(7)
    for original, checksummed in ((binary, True), (text, False)):
        offsets = set()
        for trial in range(200):
            data = bytearray(original)
            if trial % 2:
                data = data[: rng.randrange(len(data))]
            else:
                for _ in range(rng.randint(1, 3)):
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            if bytes(data) == original:
                continue
            try:
                cut = parse(bytes(data), "fuzz")
            except DataError as exc:
                m = re.search(r"at byte offset (\d+)$", str(exc))
                assert m, str(exc)
                assert int(m.group(1)) <= len(data)
                offsets.add(int(m.group(1)))
            else:
                if trial % 2 or checksummed:  # a cut at a boundary: no end record
                    assert trial % 2 and (not cut.ended or data == original.rstrip(b"\n"))
                else:  # text: same records, some value changed
                    assert len(cut.order) == len(parse(original).order)
        assert len(offsets) > 15


def test_html_report_is_self_contained_and_escaped(setup, tmp_path):
    """--html: the timeline SVG with the first divergence, the ULP table naming the features;
    a hostile log name is escaped; no script, no external resource."""
    import xml.etree.ElementTree as ET

    from click.testing import CliRunner

    from featgen.cli import main

    spec, files, _, samples = setup
    path = f"c/{spec.name}_device_features.c"
    edited = dict(files, **{path: files[path].replace("0x1.999999999999ap-3", "0.21")})
    hostile = tmp_path / "<img src=x onerror=alert(1)>.fglog"
    hostile.write_bytes(record(edited, spec.name, samples, tmp_path / "e"))
    good = tmp_path / "good.fglog"
    good.write_bytes(record(files, spec.name, samples, tmp_path / "g"))
    html = tmp_path / "r.html"
    from parity_tests.conftest import EXAMPLE

    for log, code in ((hostile, 1), (good, 0)):
        out = CliRunner().invoke(
            main, ["replay", str(log), "--spec", str(EXAMPLE), "--html", str(html)]
        )
        assert out.exit_code == code, out.output
        page = html.read_text()
        assert "<img" not in page and "<script" not in page and "<link" not in page
        assert "src=" not in page.replace("src=x onerror", "")
        svg = page[page.index("<svg") : page.index("</svg>") + 6]
        ET.fromstring(svg)  # well-formed
        if code:
            assert "&lt;img src=x onerror=alert(1)&gt;" in page
            assert "first divergence: push" in svg
            assert "acc_x_lp" in page[page.index('id="ulp-table"') :]
        else:
            assert 'id="ulp-zero"' in page and "IDENTICAL" in page


def test_cli_converts_both_ways(setup, sensor_log, tmp_path):
    from click.testing import CliRunner

    from featgen.cli import main

    src = tmp_path / "a.fglog"
    src.write_bytes(sensor_log)
    out = CliRunner().invoke(main, ["replay", str(src), "--to-jsonl", str(tmp_path / "a.jsonl")])
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(
        main, ["replay", str(tmp_path / "a.jsonl"), "--to-binary", str(tmp_path / "b.fglog")]
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "b.fglog").read_bytes() == sensor_log
    (tmp_path / "bad.jsonl").write_text(
        (tmp_path / "a.jsonl").read_text().replace('"status": 1', '"status": 1.5', 1)
    )
    out = CliRunner().invoke(
        main, ["replay", str(tmp_path / "bad.jsonl"), "--to-binary", str(tmp_path / "c.fglog")]
    )
    assert (
        out.exit_code == 2
        and "must be an integer" in out.output
        and "byte offset" in out.output
        and not (tmp_path / "c.fglog").exists()
    )
