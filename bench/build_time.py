"""Section 3: build times: ``featgen build`` of the example, and a cold ``swift build -c release``
of the generated iOS package."""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

import yaml

from . import specs
from .common import ROOT, Results, Row, find_swift, run

SECTION = "3 build"


def _featgen_build(spec_path: Path, out: Path) -> float:
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    run(
        [sys.executable, "-m", "featgen.cli", "build", str(spec_path), "-o", str(out)],
        cwd=str(ROOT),
    )
    return time.perf_counter() - t0


def run_section(res: Results, work: Path) -> None:
    reps = 1 if res.quick else 3
    work.mkdir(parents=True, exist_ok=True)

    # the example exactly as it is in the repository (with its model, when it has one)
    times = [_featgen_build(specs.EXAMPLE, work / "out_example") for _ in range(reps)]
    has_model = "model" in yaml.safe_load(specs.EXAMPLE.read_text())
    res.add(
        Row(
            "build.featgen.example",
            SECTION,
            "featgen build examples/twist_and_go/spec.yaml"
            + (" (features + model)" if has_model else ""),
            statistics.median(times),
            "s",
            repeats=times,
            note="wall time of the CLI in a fresh process (imports, generation, Swift golden "
            "vectors, atomic write)",
        )
    )

    # features only: the same spec without model:/decision:
    spec_file = work / "features_only" / "spec.yaml"
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(yaml.safe_dump(specs.example_document(), sort_keys=False))
    times = [_featgen_build(spec_file, work / "out_features") for _ in range(reps)]
    res.add(
        Row(
            "build.featgen.features_only",
            SECTION,
            "  featgen build, the example's features only (no model: block)",
            statistics.median(times),
            "s",
            repeats=times,
        )
    )

    # swift build -c release of generated/twist_and_go/ios, cold scratch directory
    swift = find_swift()
    package = ROOT / "generated" / "twist_and_go" / "ios"
    if swift is None:
        res.missing(
            "build.swift.release",
            SECTION,
            "swift build -c release (cold)",
            "swift not found (PATH or /opt/swift/usr/bin)",
        )
        return
    times = []
    for i in range(1 if res.quick else 2):
        copy = work / f"ios_{i}"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns(".build", ".swiftpm"))
        scratch = work / f"scratch_{i}"
        if scratch.exists():
            shutil.rmtree(scratch)
        t0 = time.perf_counter()
        run(
            [
                swift,
                "build",
                "-c",
                "release",
                "--package-path",
                str(copy),
                "--scratch-path",
                str(scratch),
            ]
        )
        times.append(time.perf_counter() - t0)
    res.add(
        Row(
            "build.swift.release",
            SECTION,
            "swift build -c release of generated/twist_and_go/ios (cold scratch dir)",
            statistics.median(times),
            "s",
            repeats=times,
            note="a copy of the package, a new --scratch-path each time",
        )
    )
