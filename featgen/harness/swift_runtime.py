"""The generated Swift featuriser as a parity target: compiled with its C-ABI shim into a shared
library and driven through cffi with the C header's declarations."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from codegen.backends.swift import upper_camel
from codegen.bundle import manifest_of

from .c_runtime import CStream
from .compare import Target
from .sources import by_name, role_paths
from .toolchains import CACHE, SWIFT_FLAGS, find_swiftc, swift_version


def swift_sources(files: Mapping[str, str | bytes], name: str) -> dict[str, str]:
    """{file name: text} of the library sources (the featuriser, and the model, detector and
    recorder when the spec has a model, the sensor adapter when it has one) and the C-ABI shims:
    the Swift target's "*source" and "*shim" roles (for a plain copy of a build: the .swift
    files under ios/Sources/ and swift_shim/)."""
    paths = role_paths(
        files,
        "Swift",
        lambda role, path: role.endswith(("source", "shim")) and path.endswith(".swift"),
        lambda path: path.startswith(("ios/Sources/", "swift_shim/")) and path.endswith(".swift"),
    )
    library = [p for p in paths if not p.startswith("swift_shim/")]
    shim = [p for p in paths if p.startswith("swift_shim/")]
    if not any(p.endswith("Features.swift") for p in library) or not shim:
        raise RuntimeError(f"expected the Swift featuriser and its shim, got {paths}")
    return by_name(files, paths)


def build_swift_library(
    sources: dict[str, str], module: str, workdir: Path, swiftc: str | None = None
) -> Path:
    """Compile the library source and the shim into one shared library (``swiftc -O -wmo
    -emit-library``), cached by source hash, flags and toolchain version like the C build.

    The Swift module is named ``<module>_<source hash>``: two libraries that share a module name
    but differ in content (a pruned and a full featuriser, two random specs) would define the
    same mangled type names, and the Swift runtime crashes when one process loads both. The
    callers reach the library through its ``@_cdecl`` C symbols only, so the module name is
    private to this build."""
    swiftc = swiftc or find_swiftc()
    if swiftc is None:
        raise RuntimeError("swiftc not found")
    key = hashlib.sha256()
    for file_name, text in sorted(sources.items()):
        key.update(file_name.encode() + b"\0" + text.encode() + b"\0")
    key.update(" ".join(SWIFT_FLAGS).encode() + b"\0" + swift_version(swiftc).encode())
    key.update(b"\0" + module.encode())
    unique_module = f"{module}_{key.hexdigest()[:16]}"
    flags = (*SWIFT_FLAGS, "-module-name", unique_module)
    out = CACHE / f"{unique_module}.so"
    if not out.exists():
        src_dir = Path(workdir) / "swift"
        src_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for file_name, text in sorted(sources.items()):
            (src_dir / file_name).write_text(text)
            paths.append(str(src_dir / file_name))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.so")
        cmd = [swiftc, *flags, *paths, "-o", str(tmp)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"compiling generated Swift failed:\n{' '.join(cmd)}\n"
                f"{result.stderr}{result.stdout}"
            )
        os.replace(tmp, out)
    return out


class SwiftStream(CStream):
    """The Swift featuriser through its C-ABI shim, driven with the C header's cffi declarations.

    Only ``<name>_init`` and ``<name>_push`` come from the shim (the header's data symbols, like
    the name tables, do not exist in it); the shim's extra ``<name>_swift_contract`` gives the
    Swift side's spec hash, version, input and feature names for checking."""

    def extra_cdef(self, name: str) -> str:
        return f"\nconst char *{name}_swift_contract(void);"

    def read_contract(self) -> None:
        lines = self.ffi.string(getattr(self.lib, f"{self.name}_swift_contract")()).decode()
        lines = lines.split("\n")
        self.spec_hash, self.generator_version = lines[0], lines[1]
        self.input_names = tuple(lines[2 : 2 + self.n_inputs])
        self.feature_names = tuple(lines[2 + self.n_inputs :])


def swift_target(files: dict[str, str], name: str, workdir: Path) -> Target:
    """The generated Swift featuriser as a parity target (same cdef as C, from the C header)."""
    manifest = manifest_of(files)
    shim = upper_camel(name) + "Shim"
    if f"swift_shim/{shim}.swift" not in files:
        raise RuntimeError(f"no Swift shim for {name}")
    library = build_swift_library(swift_sources(files, name), shim, Path(workdir))
    runtime = SwiftStream(files[f"c/{name}_features.h"], library, name)
    expected = (
        manifest.spec_hash,
        manifest.generator_version,
        manifest.inputs,
        manifest.feature_names_of(name),
    )
    got = (runtime.spec_hash, runtime.generator_version, runtime.input_names, runtime.feature_names)
    if got != expected:
        raise RuntimeError(
            f"the Swift featuriser's contract differs from the manifest: {got} vs {expected}"
        )
    return Target("Swift", runtime.stream)
