"""Section 5 (#9): what the phone pays with model-driven pruning and shared work, against the
full build, in the same run.

Four C builds of the Twist and Go example (the detector's featuriser):

* full      every feature, each kernel on its own (featgen before #9)
* shared    every feature, common work shared within each window (codegen/sharing.py)
* pruned    only the features the model splits on, kernels on their own
* both      pruned and shared: what ``featgen build`` emits for the detector

For each: ns per push (median of repeats), instructions per push (callgrind), sizeof(state),
``.text`` of the featuriser object, and a bit-for-bit check against the full numpy columns.
The Swift featuriser is timed for ``full`` and ``both``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import cbench, specs
from .common import Results, Row, find_swiftc, run

SECTION = "5 device pruning and sharing"
VARIANTS = (
    ("full", False, False),
    ("shared", False, True),
    ("pruned", True, False),
    ("both", True, True),
)
IDS = tuple(
    f"prune.c.{what}.{v}" for what in ("push", "callgrind", "state", "text") for v, _, _ in VARIANTS
) + ("prune.features", "prune.swift.push.full", "prune.swift.push.both")


def _text_size(c_dir: Path, source: str) -> int:
    """``.text`` bytes of one generated C file compiled with the benchmark's flags."""
    from .prediction import _text_size as text_of

    obj = c_dir / (Path(source).stem + ".o")
    run(["gcc", *cbench.C_FLAGS, "-c", "-I", str(c_dir), str(c_dir / source), "-o", str(obj)])
    return text_of(obj)


def run_section(res: Results, work: Path) -> None:
    from codegen.build import generate
    from featurespec import load_spec

    quick = res.quick
    spec = load_spec(specs.EXAMPLE)
    n = 5_000 if quick else 60_000
    reps = 2 if quick else 7
    n_cg = 2_000 if quick else 10_000
    samples = specs.recording(n, len(spec.inputs), seed=11)
    measured: dict[str, dict] = {}
    reference = None
    for tag, prune, share in VARIANTS:
        files = generate(spec, prune=prune, share=share)
        device = json.loads(files["manifest.json"])["model"]["device"]
        feat = device["featuriser"]
        columns = [f["index"] for f in device["features"]]
        if reference is None:
            module = specs.numpy_module(files, spec.name)
            reference, _ = module.featurize(samples)
        bench = cbench.generated_bench(work / tag, files, feat)
        path = bench.write_samples(samples)
        info = bench.loop(path, reps)
        got = bench.dump(path)
        same = bool((got.view(np.int64) == reference[:, columns].view(np.int64)).all())
        ir, pushes = bench.callgrind(bench.write_samples(samples[:n_cg], "cg.bin"))
        measured[tag] = {
            "files": files,
            "feat": feat,
            "features": len(columns),
            "samples": path,
            "ns": float(np.median(info["loop_ns"])) / n,
            "repeats": [x / n for x in info["loop_ns"]],
            "ir": ir / pushes,
            "identical": same,
            "state": cbench.sizeof_state_cffi(files, feat, work / f"{tag}_cffi"),
            "text": _text_size(work / tag, f"{feat}_features.c"),
        }
    full = measured["full"]
    res.add(
        Row(
            "prune.features",
            SECTION,
            f"features the detector computes, {spec.name} ({len(spec.feature_names)} in training)",
            measured["both"]["features"],
            "features",
            peer="full build",
            ratio=full["features"] / measured["both"]["features"],
            note="the model's 60 trees split on these; the rest stay in training only",
        )
    )
    labels = {
        "full": "every feature, kernels separate (before #9)",
        "shared": "every feature, shared work (sharing alone)",
        "pruned": "model's features, kernels separate (pruning alone)",
        "both": "model's features, shared work (featgen build)",
    }
    for what, unit, key in (
        ("push", "ns/push", "ns"),
        ("callgrind", "Ir/push", "ir"),
        ("state", "bytes", "state"),
        ("text", "bytes .text", "text"),
    ):
        for tag, _, _ in VARIANTS:
            m = measured[tag]
            ratio = full[key] / m[key] if m[key] else None
            note = ""
            if what == "push":
                note = (
                    f"{m['features']} features; "
                    f"{'bit-identical to the numpy columns' if m['identical'] else 'DIFFERS'}"
                )
            res.add(
                Row(
                    f"prune.c.{what}.{tag}",
                    SECTION,
                    f"{'  ' if tag != 'full' else ''}C {what}: {labels[tag]}",
                    m[key],
                    unit,
                    peer=None if tag == "full" else "full build",
                    ratio=None if tag == "full" else ratio,
                    repeats=m["repeats"] if what == "push" else [],
                    note=note,
                    params={"features": m["features"], "featuriser": m["feat"]},
                )
            )
    res.checks["prune_all_identical"] = all(m["identical"] for m in measured.values())

    if find_swiftc() is None:
        for tag in ("full", "both"):
            res.missing(
                f"prune.swift.push.{tag}",
                SECTION,
                f"  Swift push ({tag})",
                "swiftc not found (PATH or /opt/swift/usr/bin)",
            )
        return
    from codegen.backends.swift import upper_camel

    from .swiftbench import SwiftBench

    swift_ns = {}
    for tag in ("full", "both"):
        m = measured[tag]
        sw = SwiftBench(work / f"swift_{tag}", m["files"], upper_camel(m["feat"]) + "Features")
        info = sw.loop(m["samples"], reps)
        swift_ns[tag] = float(np.median(info["loop_ns"])) / n
        res.add(
            Row(
                f"prune.swift.push.{tag}",
                SECTION,
                f"  Swift push: {labels[tag]}",
                swift_ns[tag],
                "ns/push",
                peer=None if tag == "full" else "full build",
                ratio=None if tag == "full" else swift_ns["full"] / swift_ns[tag],
                repeats=[x / n for x in info["loop_ns"]],
            )
        )
