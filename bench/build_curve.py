"""How `featgen build` and `swift build -c release` scale with the model: 100, 500, 2000 trees.

``python3 -m bench.build_curve [--trees 100,500,2000]`` (about 4 minutes on 2 cores; not part
of ``bench/run.py``, whose full run must stay under 15 minutes). Each model is the first T
trees of one depth-6 XGBoost model trained on the example's features (as in section 4), saved
as a model directory the way ``featgen train`` writes it, next to a copy of the example spec
with a ``model:`` block. Timed (wall): the ``featgen build`` CLI in a fresh process (features,
tree C/Swift, batch C, TL2cgen C, Core ML, golden vectors) and a cold ``swift build -c
release`` of the emitted iOS package (new ``--scratch-path``). Prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import specs
from .common import ROOT, find_swift
from .prediction import _train, model_spec, training_set


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trees", default="100,500,2000", help="model sizes, comma-separated")
    args = ap.parse_args(argv)
    sizes = [int(t) for t in args.trees.split(",")]
    swift = find_swift()
    name = specs.example()[0].name
    full = _train(*training_set(5_000), max(sizes))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="featgen-build-curve-") as tmp:
        for trees in sizes:
            work = Path(tmp) / f"t{trees}"
            model_spec(work, full[:trees])
            path = work / "spec.yaml"
            out = work / "generated"
            t0 = time.perf_counter()
            built = subprocess.run(
                [sys.executable, "-m", "featgen.cli", "build", str(path), "-o", str(out)],
                env=env,
                capture_output=True,
                text=True,
            )
            featgen_s = time.perf_counter() - t0
            row = {
                "trees": trees,
                "featgen_build_s": round(featgen_s, 1),
                "featgen_build_ok": built.returncode == 0,
            }
            if built.returncode == 0 and swift:
                package = out / name / "ios"
                t0 = time.perf_counter()
                compiled = subprocess.run(
                    [swift, "build", "-c", "release", "--scratch-path", str(work / "scratch")],
                    cwd=package,
                    capture_output=True,
                    text=True,
                )
                row["swift_build_release_s"] = round(time.perf_counter() - t0, 1)
                row["swift_build_ok"] = compiled.returncode == 0
            elif not swift:
                row["swift_build_release_s"] = "NOT MEASURED: no swift on PATH or in /opt/swift"
            print(json.dumps(row), flush=True)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
