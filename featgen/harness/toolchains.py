"""Where the harness finds and caches its toolchains: the C flags every parity build uses, the
compiled-library cache, and the Swift compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

C_FLAGS = (
    "-std=c99",
    "-O2",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-Wall",
    "-Wextra",
    "-pedantic",
    "-Werror",
)
CACHE = Path(os.environ.get("FEATGEN_CACHE", Path.home() / ".cache" / "featgen"))
SWIFT_FLAGS = ("-O", "-wmo", "-parse-as-library", "-warnings-as-errors", "-emit-library")
SWIFT_HOME = Path("/opt/swift/usr/bin")


def find_swiftc() -> str | None:
    """The swiftc on PATH, else the toolchain's usual install location, else None."""
    found = shutil.which("swiftc")
    if found:
        return found
    fallback = SWIFT_HOME / "swiftc"
    return str(fallback) if fallback.is_file() and os.access(fallback, os.X_OK) else None


def swift_version(swiftc: str) -> str:
    """``swiftc --version`` (part of every cache key: a new toolchain rebuilds)."""
    return subprocess.run(
        [swiftc, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
