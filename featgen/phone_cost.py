"""The first numbers a mobile engineer asks for, measured for the parity report's "phone cost"
cards: per C target, the time of one push (ns, measured on THIS machine with the samples the
report streams), the state a stream holds (bytes, ``sizeof``), the code size (.text bytes of
the compiled objects) and the constant tables (.rodata bytes; for the model, the model's own
object). Measured with the compiler and flags of the emitted CMakeLists (-O2, C99,
-ffp-contract=off); a phone's CPU is slower and its compiler may differ, so the figures are for
comparing specs and models, not a device promise. Swift (when a toolchain is found): the push
of the generated package built with ``swiftc -O -wmo``, and the inline size of the struct (its
rings live in one array allocated at init, so the C state size is the bytes to compare).
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codegen.trees.build import type_name

FLAGS = ("-O2", "-std=c99", "-ffp-contract=off")
MAX_PUSHES = 200_000  # samples timed per repetition (the recordings, cut to this)
REPEATS = 3  # the fastest repetition is reported (least disturbed by neighbours)

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "{header}"

/* Pushes the samples of argv[1] (n x {n_inputs} little-endian doubles; a stream restarts where
   argv[2] lists its first row) {repeats} times; prints sizeof(state) and the fastest ns/push. */
int main(int argc, char **argv) {{
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t n = (size_t)bytes / (sizeof(double) * {n_inputs});
    double *x = malloc((size_t)bytes + 1);
    if (!x || fread(x, sizeof(double) * {n_inputs}, n, f) != n) return 2;
    fclose(f);
    static {state} st;
    {out_decl}
    volatile double sink = 0.0;
    double best = 1e300;
    for (int r = 0; r < {repeats}; r++) {{
        struct timespec a, b;
        {init}(&st);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t i = 0; i < n; i++) {{
            if ({push}(&st, x + i * {n_inputs}, {out_arg}) > 0) sink += {out_read};
        }}
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
        if (ns < best) best = ns;
    }}
    printf("%zu %.3f\n", sizeof(st), n ? best / (double)n : 0.0);
    free(x);
    return sink != sink;
}}
"""


@dataclass
class Cost:
    target: str
    what: str
    ns_per_push: float | None
    state_bytes: int | None
    text_bytes: int | None
    rodata_bytes: int | None
    model_rodata_bytes: int | None = None
    pushes: int = 0
    note: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)


def compiler() -> str | None:
    return shutil.which("gcc") or shutil.which("clang") or shutil.which("cc")


def machine() -> str:
    """What the figures were measured on: CPU architecture, processor, compiler."""
    cc = compiler()
    version = ""
    if cc:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False)
        version = out.stdout.splitlines()[0] if out.stdout else Path(cc).name
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return ", ".join(x for x in (platform.machine(), cpu, version, " ".join(FLAGS)) if x)


def section_sizes(obj: Path) -> dict[str, int]:
    """{".text": bytes, ".rodata": bytes} of an object file (every .text* / .rodata* section
    summed: GCC splits hot, cold and startup code and merges constants by size)."""
    out = subprocess.run(["size", "-A", str(obj)], capture_output=True, text=True, check=True)
    sizes = {".text": 0, ".rodata": 0}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            for key in sizes:
                if parts[0] == key or parts[0].startswith(key + "."):
                    sizes[key] += int(parts[1])
    return sizes


def _samples(recordings: dict, n_inputs: int) -> np.ndarray:
    parts, total = [], 0
    for samples in recordings.values():
        take = samples[: MAX_PUSHES - total]
        parts.append(np.asarray(take, dtype="<f8").reshape(-1, n_inputs))
        total += len(take)
        if total >= MAX_PUSHES:
            break
    return np.concatenate(parts) if parts else np.empty((0, n_inputs))


def measure(files: dict, spec, recordings: dict) -> list[Cost]:
    """Costs of the C featuriser and, with a model, the C detector (device featuriser + model
    + decision), pushing the report's recordings (up to MAX_PUSHES samples)."""
    cc = compiler()
    name = spec.name
    if cc is None or shutil.which("size") is None:
        return [
            Cost(
                "C",
                "featuriser",
                None,
                None,
                None,
                None,
                note="NOT MEASURED: no C compiler or binutils size on PATH",
            )
        ]
    n_inputs = len(spec.inputs)
    upper = name.upper()
    plans: list[tuple[Any, ...]] = [
        (
            "C",
            "featuriser: all features",
            f"{name}_features",
            [f"{name}_features.c"],
            f"{name}_state",
            f"{name}_init",
            f"{name}_push",
            f"double out[{upper}_N_FEATURES];",
            "out",
            "out[0]",
            None,
        )
    ]
    if f"c/{name}_detector.c" in files:
        device = next(
            (
                p[2:-2]
                for p in files
                if p.startswith("c/") and p.endswith("_features.c") and p != f"c/{name}_features.c"
            ),
            f"{name}_features",
        )
        plans.append(
            (
                "C detector",
                "device features + model + decision",
                f"{name}_detector",
                [f"{device}.c", f"{name}_model.c", f"{name}_detector.c"],
                f"{name}_detector",
                f"{name}_detector_init",
                f"{name}_detector_push",
                f"{name}_result out;",
                "&out",
                "(double)out.margins[0]",
                f"{name}_model.c",
            )
        )
    costs = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for path, text in files.items():
            if path.startswith("c/") and path.count("/") == 1 and path.endswith((".c", ".h")):
                (work / path[2:]).write_text(text)
        data = work / "samples.bin"
        x = _samples(recordings, n_inputs)
        data.write_bytes(x.tobytes())
        for (
            target,
            what,
            header,
            sources,
            state,
            init,
            push,
            out_decl,
            out_arg,
            out_read,
            model_source,
        ) in plans:
            try:
                costs.append(
                    _one(
                        cc,
                        work,
                        data,
                        len(x),
                        target,
                        what,
                        header,
                        sources,
                        state,
                        init,
                        push,
                        out_decl,
                        out_arg,
                        out_read,
                        model_source,
                        n_inputs,
                    )
                )
            except (subprocess.CalledProcessError, OSError, ValueError) as exc:
                detail = getattr(exc, "stderr", "") or str(exc)
                costs.append(
                    Cost(
                        target,
                        what,
                        None,
                        None,
                        None,
                        None,
                        note=f"NOT MEASURED: {' '.join(str(detail).split())[:200]}",
                    )
                )
    return costs


def _one(
    cc,
    work: Path,
    data: Path,
    pushes: int,
    target,
    what,
    header,
    sources,
    state,
    init,
    push,
    out_decl,
    out_arg,
    out_read,
    model_source,
    n_inputs,
) -> Cost:
    text = rodata = 0
    model_rodata = None
    objects = []
    for source in sources:
        obj = work / (Path(source).stem + ".o")
        subprocess.run(
            [cc, *FLAGS, "-c", str(work / source), "-o", str(obj), "-I", str(work)],
            check=True,
            capture_output=True,
            text=True,
        )
        sizes = section_sizes(obj)
        text += sizes[".text"]
        rodata += sizes[".rodata"]
        if source == model_source:
            model_rodata = sizes[".rodata"]
        objects.append(str(obj))
    driver = work / f"bench_{header}.c"
    driver.write_text(
        DRIVER.format(
            header=f"{header}.h",
            n_inputs=n_inputs,
            repeats=REPEATS,
            state=state,
            init=init,
            push=push,
            out_decl=out_decl,
            out_arg=out_arg,
            out_read=out_read,
        )
    )
    exe = work / f"bench_{header}"
    subprocess.run(
        [cc, *FLAGS, str(driver), *objects, "-o", str(exe), "-I", str(work), "-lm"],
        check=True,
        capture_output=True,
        text=True,
    )
    run = subprocess.run(
        [str(exe), str(data)], check=True, capture_output=True, text=True, timeout=300
    )
    size, ns = run.stdout.split()
    return Cost(target, what, float(ns), int(size), text, rodata, model_rodata, pushes)


SWIFT_HEAD = r"""
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Pushes the samples of argv[1] (n x {n_inputs} little-endian doubles) {repeats} times through
// each stream type; prints, per type, MemoryLayout size and the fastest ns/push.
guard let f = fopen(CommandLine.arguments[1], "rb") else {{ exit(2) }}
fseek(f, 0, SEEK_END)
let bytes = ftell(f)
fseek(f, 0, SEEK_SET)
let k = {n_inputs}
let n = Int(bytes) / (8 * k)
var x = [Double](repeating: 0.0, count: n * k)
let read = x.withUnsafeMutableBytes {{ fread($0.baseAddress, 8 * k, n, f) }}
fclose(f)
if read != n {{ exit(2) }}
var sink = 0.0
"""

SWIFT_BLOCK = r"""
do {{
    var out = [Double](repeating: 0.0, count: {out_count})
    var best = Double.infinity
    for _ in 0..<{repeats} {{
        var stream = {make}
        var a = timespec()
        var b = timespec()
        clock_gettime(CLOCK_MONOTONIC, &a)
        x.withUnsafeBufferPointer {{ xs in
            out.withUnsafeMutableBufferPointer {{ o in
                for i in 0..<n {{
                    let sample = UnsafeBufferPointer(rebasing: xs[(i * k)..<(i * k + k)])
                    if {push_expr} {{ sink += {read_expr} }}
                }}
            }}
        }}
        clock_gettime(CLOCK_MONOTONIC, &b)
        let ns = Double(b.tv_sec - a.tv_sec) * 1e9 + Double(b.tv_nsec - a.tv_nsec)
        if ns < best {{ best = ns }}
    }}
    print(MemoryLayout<{type}>.size, n > 0 ? best / Double(n) : 0.0)
}}
"""


def measure_swift(files: dict, spec, recordings: dict, swiftc: str | None) -> list[Cost]:
    """The Swift featuriser's (and, with a model, detector's) push, built as an app would
    build the generated package (``swiftc -O -wmo``; one build for both)."""
    if swiftc is None:
        return [
            Cost(
                "Swift",
                "featuriser",
                None,
                None,
                None,
                None,
                note="NOT MEASURED: no swiftc on PATH or in /opt/swift/usr/bin",
            )
        ]

    camel = type_name(spec.name)
    sources = {
        Path(p).name: text
        for p, text in files.items()
        if p.startswith("ios/Sources/") and p.endswith(".swift")
    }
    plans = [
        (
            "Swift",
            "featuriser: all features",
            f"{camel}Features",
            f"{camel}Features()",
            f"{camel}Features.featureCount",
            "stream.push(sample, into: o) == .emitted",
            "o[0]",
        )
    ]
    if f"{camel}Detector.swift" in sources:
        plans.append(
            (
                "Swift detector",
                "device features + model + decision",
                f"{camel}Detector",
                f"try! {camel}Detector()",
                "1",
                "stream.push(sample).rawValue > 0",
                "Double(stream.margins[0])",
            )
        )
    n_inputs = len(spec.inputs)
    main = (
        SWIFT_HEAD.format(n_inputs=n_inputs, repeats=REPEATS)
        + "".join(
            SWIFT_BLOCK.format(
                repeats=REPEATS,
                type=type_,
                make=make,
                out_count=out_count,
                push_expr=push_expr,
                read_expr=read_expr,
            )
            for _, _, type_, make, out_count, push_expr, read_expr in plans
        )
        + 'if sink.isNaN { print("") }\n'
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, text in sources.items():
            (work / name).write_text(text)
        x = _samples(recordings, n_inputs)
        data = work / "samples.bin"
        data.write_bytes(x.tobytes())
        bench = work / "bench"
        bench.mkdir()
        (bench / "main.swift").write_text(main)
        try:
            subprocess.run(
                [
                    swiftc,
                    "-O",
                    "-wmo",
                    "-module-name",
                    "PhoneCost",
                    *sorted(str(work / n) for n in sources),
                    str(bench / "main.swift"),
                    "-o",
                    str(bench / "bench"),
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
            run = subprocess.run(
                [str(bench / "bench"), str(data)],
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
            lines = [line.split() for line in run.stdout.splitlines() if line.strip()]
            return [
                Cost(
                    target,
                    what,
                    float(ns),
                    int(size),
                    None,
                    None,
                    None,
                    len(x),
                    note="state: the struct inline; its rings are one array allocated "
                    "at init (the C state is the size to compare)",
                )
                for (target, what, *_), (size, ns) in zip(plans, lines)
            ]
        except (
            subprocess.CalledProcessError,
            subprocess.TimeoutExpired,
            OSError,
            ValueError,
        ) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            return [
                Cost(
                    target,
                    what,
                    None,
                    None,
                    None,
                    None,
                    note=f"NOT MEASURED: {' '.join(str(detail).split())[:200]}",
                )
                for target, what, *_ in plans
            ]
