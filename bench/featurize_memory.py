"""Peak memory of ``featgen featurize`` against the recording's length, per output format.

    python3 -m bench.featurize_memory [--sizes 1e5,1e6,1e7] [--peer-sizes 1e6] [--formats csv,npz,parquet]

One CSV recording of N samples (6 inputs: synthetic IMU motion from bench/specs.py, the
example spec examples/twist_and_go/spec.yaml, 168 features, a vector per sample) is featurised
to CSV, NPZ and a Parquet partition directory, each by a fresh ``python3 -m featgen featurize``
child process; its peak RSS is the kernel's high-water mark for that child (``os.wait4``
rusage ``ru_maxrss``), its time the wall time. The peer is the code before streaming (commit
PRE_STREAMING: the whole recording read into memory, ``featurize`` over it, the table built
whole), exported with ``git archive`` into a temporary directory and run the same way, only at
``--peer-sizes`` (at 10^7 samples it needs 6 to 11 GB and dies on smaller machines). Inputs and
outputs live in a temporary directory (10^7 samples: a 1.2 GB CSV in, 13 GB of NPZ or Parquet
out, 30 GB of CSV out); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRE_STREAMING = "8d4909d"  # the last commit before featurize streamed
SPEC = ROOT / "examples" / "twist_and_go" / "spec.yaml"
OUTPUTS = {"csv": "features.csv", "npz": "features.npz", "parquet": "features"}


def write_csv_recording(path: Path, n: int, block: int = 1 << 17) -> None:
    """N samples of the benchmark's synthetic motion as CSV (written in blocks, exact repr)."""
    from bench import specs
    from featurespec import load_spec

    inputs = load_spec(SPEC).inputs
    with open(path, "w") as out:
        out.write(",".join(inputs) + "\n")
        for start in range(0, n, block):
            count = min(block, n - start)
            x = specs.recording(count, len(inputs), seed=start)
            out.write("\n".join(",".join(map(repr, row)) for row in x.tolist()) + "\n")


def run(tree: Path, recording: Path, out: Path) -> dict:
    """featgen featurize in a child process of TREE (a source tree): peak RSS and wall time."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "featgen", "featurize", str(SPEC), str(recording), "-o", str(out)],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    err = child.stderr.read().decode(errors="replace").strip()
    child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return {
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "seconds": seconds,
        "exit": code,
        "error": err.splitlines()[-1] if code and err else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="samples per recording (comma-separated)")
    ap.add_argument(
        "--peer-sizes",
        default="1e5,1e6",
        help="sizes at which the pre-streaming code runs too ('' for none)",
    )
    ap.add_argument("--formats", default="csv,npz,parquet")
    ap.add_argument("--work", type=Path, help="working directory (default: a temporary one)")
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    peer_sizes = {int(float(s)) for s in args.peer_sizes.split(",") if s}
    formats = [f for f in args.formats.split(",") if f]
    work = Path(args.work or tempfile.mkdtemp(prefix="featgen-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    peer = None
    if peer_sizes & set(sizes):
        peer = work / "pre-streaming"
        if not peer.exists():
            peer.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", PRE_STREAMING], check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(peer)], input=archive, check=True)
    print(
        f"featgen featurize peak RSS ({SPEC.relative_to(ROOT)}, 6 inputs, 168 features; "
        f"CSV recording in; {os.cpu_count()} cores)"
    )
    print(
        "| samples | output | streaming: peak RSS | wall | before streaming "
        f"({PRE_STREAMING}): peak RSS | wall |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    try:
        for n in sizes:
            recording = work / f"rec{n}.csv"
            if not recording.exists():
                write_csv_recording(recording, n)
            for fmt in formats:
                out = work / OUTPUTS[fmt]
                cells = []
                for tree in (ROOT, peer if n in peer_sizes else None):
                    if tree is None:
                        cells += ["not run", ""]
                        continue
                    r = run(tree, recording, out)
                    if out.is_dir():
                        shutil.rmtree(out)
                    else:
                        out.unlink(missing_ok=True)
                    cells += [
                        f"{r['peak_rss_mb']:,.0f} MB"
                        + (f" (exit {r['exit']}: {r['error'][:60]})" if r["exit"] else ""),
                        f"{r['seconds']:.0f} s",
                    ]
                print(f"| {n:,} | {fmt} | " + " | ".join(cells) + " |", flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
