"""Swift benchmark executable: the generated featuriser source compiled together with a small
timing main (``swiftc -O -wmo``), pushing through the non-allocating
``push(_:into:)`` (UnsafeBufferPointer overload), timed with clock_gettime in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .common import find_swiftc, run

MAIN = r"""
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func nowNs() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec)
}

@main
struct Bench {
    static func main() {
        let args = CommandLine.arguments
        let path = args[1]
        let repeats = Int(args[2]) ?? 5
        guard let f = fopen(path, "rb") else { fatalError("cannot open \(path)") }
        fseek(f, 0, SEEK_END)
        let bytes = ftell(f)
        fseek(f, 0, SEEK_SET)
        let ni = @TYPE@.inputCount
        let nf = @TYPE@.featureCount
        var samples = [Double](repeating: 0.0, count: bytes / 8)
        let got = samples.withUnsafeMutableBytes { fread($0.baseAddress, 1, bytes, f) }
        fclose(f)
        precondition(got == bytes)
        let n = samples.count / ni
        var out = [Double](repeating: 0.0, count: nf)
        var check = 0.0
        var emitted = 0
        var times: [Double] = []
        for r in 0..<repeats {
            var featuriser = @TYPE@()
            emitted = 0
            let t0 = nowNs()
            samples.withUnsafeBufferPointer { sp in
                out.withUnsafeMutableBufferPointer { op in
                    for i in 0..<n {
                        let sample = UnsafeBufferPointer(rebasing: sp[(i * ni)..<((i + 1) * ni)])
                        if featuriser.push(sample, into: op) == .emitted {
                            emitted += 1
                            check += op[(i + r) % nf]
                        }
                    }
                }
            }
            times.append(nowNs() - t0)
        }
        let layout = MemoryLayout<@TYPE@>.size
        let ts = times.map { String(Int($0)) }.joined(separator: ", ")
        print("{\"n\": \(n), \"emitted\": \(emitted), \"loop_ns\": [\(ts)], \"inline_size\": \(layout), \"check\": \(check)}")
    }
}
"""


def swift_library_source(files: dict, type_name: str | None = None) -> tuple[str, str]:
    """(type name, source text) of a generated Swift featuriser: ``type_name``, or the full one
    (not the device featuriser of a model build)."""
    paths = [
        p
        for p in files
        if p.startswith("ios/Sources/")
        and p.endswith("Features.swift")
        and (Path(p).stem == type_name if type_name else "DeviceFeatures" not in p)
    ]
    if len(paths) != 1:
        raise RuntimeError(f"expected one Swift featuriser source, got {paths}")
    return Path(paths[0]).stem, files[paths[0]]


class SwiftBench:
    def __init__(self, workdir: Path, files: dict, type_name: str | None = None):
        swiftc = find_swiftc()
        if swiftc is None:
            raise FileNotFoundError("swiftc not found (PATH or /opt/swift/usr/bin)")
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.type_name, source = swift_library_source(files, type_name)
        (self.dir / f"{self.type_name}.swift").write_text(source)
        (self.dir / "BenchMain.swift").write_text(MAIN.replace("@TYPE@", self.type_name))
        self.exe = self.dir / "swift_bench"
        run(
            [
                swiftc,
                "-O",
                "-wmo",
                "-parse-as-library",
                "-module-name",
                "SwiftBench",
                str(self.dir / f"{self.type_name}.swift"),
                str(self.dir / "BenchMain.swift"),
                "-o",
                str(self.exe),
            ]
        )
        m = re.search(r"\[Double\]\(repeating: 0\.0, count: (\d+)\)", source)
        self.storage_count = int(m.group(1)) if m else None

    def loop(self, samples_path: Path, repeats: int) -> dict:
        return json.loads(run([str(self.exe), str(samples_path), str(repeats)]).stdout)

    def state_bytes(self, inline_size: int) -> dict:
        """Heap storage (count x 8 + the array's 32-byte header on 64-bit) + the struct itself."""
        heap = self.storage_count * 8 + 32 if self.storage_count is not None else None
        return {
            "storage_doubles": self.storage_count,
            "heap_bytes": heap,
            "inline_bytes": inline_size,
            "total_bytes": (heap or 0) + inline_size,
        }
