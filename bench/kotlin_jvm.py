"""Pure Kotlin (kotlin/, no NDK) vs the C runtime through JNI (android/), on this machine's JVM:
ns per push, medians of interleaved rounds, in one JVM run so both see the same JIT and load.

    python3 -m bench.kotlin_jvm [--spec examples/twist_and_go/spec.yaml] [--samples 20000]
                                [--rounds 15] [--json out.json]

Rows: the pure Kotlin detector (device featuriser + tree model + decision) against the JNI
detector (the Android class over the same work in C), and the pure Kotlin full and device
featurisers alone. The JNI library is built with the harness's C flags (-O2
-ffp-contract=off), the Kotlin with kotlinc (cached by content). Reported, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

BENCH = r"""
package featgen.bench

import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Paths

object Bench {
    @JvmStatic
    fun main(args: Array<String>) {
        val b = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[0]))).order(ByteOrder.LITTLE_ENDIAN)
        val n = b.getInt()
        val d = b.getInt()
        val samples = Array(n) { DoubleArray(d) { b.getDouble() } }
        val rounds = args[1].toInt()
        val names = arrayOf("kotlin_detector", "jni_detector", "kotlin_full", "kotlin_device")
        val times = Array(names.size) { LongArray(rounds) }
        var sink = 0L
        for (r in -3 until rounds) {                // 3 warm-up rounds for the JIT
            for (k in names.indices) {
                val t0 = System.nanoTime()
                when (k) {
                    0 -> { val x = featgen.jvm.@CAMEL@Detector(); for (s in samples) sink += x.push(s).code }
                    1 -> { featgen.@CAMEL@().use { x -> for (s in samples) sink += x.push(s).code } }
                    2 -> { val x = featgen.jvm.@CAMEL@Features(); val out = DoubleArray(featgen.jvm.@CAMEL@Features.FEATURE_COUNT)
                           for (s in samples) sink += x.push(s, out).code }
                    else -> { val x = featgen.jvm.@DEVICE@Features(); val out = DoubleArray(featgen.jvm.@DEVICE@Features.FEATURE_COUNT)
                           for (s in samples) sink += x.push(s, out).code }
                }
                val t = System.nanoTime() - t0
                if (r >= 0) times[k][r] = t
            }
        }
        for (k in names.indices) {
            println(names[k] + " " + times[k].joinToString(" ") { (it.toDouble() / n).toString() })
        }
        println("sink " + sink)
    }
}
"""


def _build(
    workdir: Path, files: dict, name: str, camel: str, device_camel: str
) -> tuple[Path, Path, Path]:
    """(classes dir, kotlin-stdlib.jar, JNI library dir)."""
    from featgen.harness.kotlin_jvm_runtime import CACHE, kotlin_stdlib

    kotlinc, javac = shutil.which("kotlinc"), shutil.which("javac")
    home = Path(os.environ.get("JAVA_HOME") or Path(javac).resolve().parent.parent)
    cpp = workdir / "cpp"
    sources = {}
    for path, text in files.items():
        if path.startswith("android/src/main/cpp/") and path.endswith((".c", ".h")):
            (cpp / Path(path).name).parent.mkdir(parents=True, exist_ok=True)
            (cpp / Path(path).name).write_text(text)
        if path.endswith(".kt") and (
            path.startswith("kotlin/") or path.endswith(f"/featgen/{camel}.kt")
        ):
            sources[path] = text
    lib = workdir / "lib"
    lib.mkdir(exist_ok=True)
    cmd = [
        "gcc",
        "-std=c99",
        "-O2",
        "-ffp-contract=off",
        "-fno-fast-math",
        "-fPIC",
        "-shared",
        "-I",
        str(cpp),
        "-I",
        str(home / "include"),
        "-I",
        str(home / "include" / "linux"),
        *sorted(str(p) for p in cpp.glob("*.c")),
        "-o",
        str(lib / f"lib{name}_jni.so"),
        "-lm",
    ]
    subprocess.run(cmd, check=True)
    sources["bench/Bench.kt"] = BENCH.replace("@CAMEL@", camel).replace("@DEVICE@", device_camel)
    key = hashlib.sha256(json.dumps(sorted(sources.items())).encode()).hexdigest()[:16]
    classes = CACHE / "kotlin-bench" / key
    if not (classes / "done").is_file():
        src = workdir / "src"
        for path, text in sources.items():
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            (src / path).write_text(text)
        classes.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(
            [kotlinc, *sorted(str(src / p) for p in sources), "-d", str(classes)],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise SystemExit(f"kotlinc failed:\n{run.stderr}")
        (classes / "done").write_text("")
    return classes, kotlin_stdlib(kotlinc), lib


def measure(spec_path: str, samples: int, rounds: int, workdir: Path) -> dict:
    from codegen.backends.swift import upper_camel
    from codegen.build import generate
    from featgen.harness.recordings import imu_motion
    from featurespec import load_spec

    spec = load_spec(spec_path)
    files = generate(spec)
    device = json.loads(files["manifest.json"])["model"]["device"]["featuriser"]
    camel, device_camel = upper_camel(spec.name), upper_camel(device)
    classes, stdlib, lib = _build(workdir, files, spec.name, camel, device_camel)
    data = imu_motion(samples, len(spec.inputs), np.random.default_rng(1))
    src = workdir / "samples.bin"
    src.write_bytes(struct.pack("<2i", *data.shape) + np.ascontiguousarray(data, "<f8").tobytes())
    java = shutil.which("java")
    run = subprocess.run(
        [
            java,
            f"-Djava.library.path={lib}",
            "-cp",
            f"{classes}:{stdlib}",
            "featgen.bench.Bench",
            str(src),
            str(rounds),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = {}
    for line in run.stdout.splitlines():
        key, *values = line.split()
        if key != "sink":
            out[key] = [float(v) for v in values]
    java_version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    return {
        "spec": spec.name,
        "samples": samples,
        "rounds": rounds,
        "java": java_version.splitlines()[0],
        "ns_per_push": out,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "examples" / "twist_and_go" / "spec.yaml"))
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args(argv)
    missing = [t for t in ("kotlinc", "java", "javac", "gcc") if shutil.which(t) is None]
    if missing:
        print(f"NOT MEASURED: {', '.join(missing)} not installed", file=sys.stderr)
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        result = measure(args.spec, args.samples, args.rounds, Path(work))
    med = {k: statistics.median(v) for k, v in result["ns_per_push"].items()}
    print(
        f"{result['spec']}: {result['samples']} samples x {result['rounds']} rounds "
        f"(medians, ns per push; {result['java']})"
    )
    print(f"  {'what':<44} {'pure Kotlin':>12} {'C via JNI':>12} {'ratio':>7}")
    print(
        f"  {'detector (device features + model + decision)':<44} "
        f"{med['kotlin_detector']:>12.0f} {med['jni_detector']:>12.0f} "
        f"{med['kotlin_detector'] / med['jni_detector']:>7.2f}"
    )
    print(f"  {'full featuriser alone':<44} {med['kotlin_full']:>12.0f} {'':>12} {'':>7}")
    print(f"  {'device featuriser alone':<44} {med['kotlin_device']:>12.0f} {'':>12} {'':>7}")
    result["medians"] = med
    result["ratio_kotlin_over_jni_detector"] = med["kotlin_detector"] / med["jni_detector"]
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
