"""Shared plumbing: the machine description, timing (medians of repeats), result rows.

No timed assertion anywhere: every figure is reported, never checked against a threshold.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SWIFT_BIN = Path("/opt/swift/usr/bin")


# ------------------------------------------------------------------ result rows


@dataclass
class Row:
    """One line of the results table (and of the JSON)."""

    id: str  # stable benchmark id; the smoke test checks they are all present
    section: str
    label: str
    value: float | None = None
    unit: str = ""
    status: str = "ok"  # ok | NOT MEASURED | TODO | error
    peer: str | None = None  # label of the peer the ratio is against
    ratio: float | None = None  # value / peer value, oriented so that > 1 means featgen better
    params: dict[str, Any] = field(default_factory=dict)
    repeats: list[float] = field(default_factory=list)
    note: str = ""


class Results:
    def __init__(self, quick: bool):
        self.quick = quick
        self.rows: list[Row] = []
        self.checks: dict[str, Any] = {}
        self.findings: list[str] = []
        self.notes: list[str] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def missing(self, id: str, section: str, label: str, why: str, params=None) -> Row:
        """A loud row for a benchmark that could not run (a peer or tool is not installed)."""
        print(f"!!! NOT MEASURED: {label}: {why}", file=sys.stderr, flush=True)
        return self.add(
            Row(id, section, label, status="NOT MEASURED", note=why, params=params or {})
        )

    def error(self, id: str, section: str, label: str, exc: BaseException) -> Row:
        print(f"!!! ERROR in {label}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return self.add(
            Row(id, section, label, status="error", note=f"{type(exc).__name__}: {str(exc)[:400]}")
        )


# ------------------------------------------------------------------ timing

TIMING = (
    "process CPU time (time.process_time in Python, CLOCK_PROCESS_CPUTIME_ID in the C and "
    "Swift drivers): on a shared 2-core VM, wall time mostly measures the neighbours; "
    "builds and the end-to-end stream driver are wall time"
)


def median_time(
    fn: Callable[[], Any],
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.process_time,
) -> tuple[float, list[float]]:
    """Median time of ``fn()`` over ``repeats`` runs (after ``warmup`` untimed runs); process
    CPU time by default (see TIMING)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times), times


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result


# ------------------------------------------------------------------ the machine


def _first_line(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else None


def find_swiftc() -> str | None:
    return shutil.which("swiftc") or (
        str(SWIFT_BIN / "swiftc") if (SWIFT_BIN / "swiftc").is_file() else None
    )


def find_swift() -> str | None:
    return shutil.which("swift") or (
        str(SWIFT_BIN / "swift") if (SWIFT_BIN / "swift").is_file() else None
    )


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        info = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem = None
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        mem = round(int(m.group(1)) / 1024**2, 1) if m else None
    except OSError:
        pass
    import numpy

    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
    }
    for mod in ("scipy", "pandas", "tsfel", "tsfresh", "xgboost", "tl2cgen", "treelite"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod if mod != "xgboost" else "xgboost")
        except Exception:
            try:
                from importlib.metadata import version

                versions[mod] = version(mod + "-cpu")
            except Exception:
                versions[mod] = None
    swiftc = find_swiftc()
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_text = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        blas_text = None
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "hypervisor": "yes" if "hypervisor" in _cpu_flags() else "no",
        "versions": versions,
        "gcc": _first_line(["gcc", "--version"]),
        "clang": _first_line(["clang-14", "--version"]),
        "swiftc": _first_line([swiftc, "--version"]) if swiftc else None,
        "valgrind": _first_line(["valgrind", "--version"]),
        "numpy_blas": blas_text,
        "env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
            )
        },
    }


def _cpu_flags() -> str:
    try:
        m = re.search(r"^flags\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        return m.group(1) if m else ""
    except OSError:
        return ""


def write_json(path: Path, payload: dict) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")


def _jsonable(obj):
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Row):
        return asdict(obj)
    raise TypeError(type(obj))
