"""The generated C as a parity target: compiled into a shared library (cached by source hash and
flags) and loaded with cffi, or built as a stand-alone stream driver for any compiler and
architecture (run as a subprocess, e.g. under qemu-user).

The cffi declarations are derived from the generated header with pycparser (never copied by hand),
so a header change that the harness does not understand fails loudly instead of misreading memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cffi
import jinja2
import numpy as np
from pycparser import c_ast, c_generator, c_parser

from codegen.bundle import manifest_of
from codegen.targets.base import TEMPLATES

from .compare import Target
from .sources import c_sources
from .toolchains import C_FLAGS, CACHE


def open_library(ffi: cffi.FFI, library: Path | str) -> Any:
    """Load a generated shared library for good (``RTLD_NODELETE``).

    A Swift image registers its type metadata with the Swift runtime when it loads and cannot
    unregister it: once cffi closes a collected library, the runtime's next lookup reads unmapped
    memory and the process dies with SIGSEGV (seen in a full test run that loads dozens of Swift
    featurisers). C libraries get the same rule, so no runtime depends on when Python collects."""
    return ffi.dlopen(str(library), ffi.RTLD_NOW | ffi.RTLD_NODELETE)


def cdef_from_header(header: str) -> str:
    """Declarations for cffi, derived from the generated header with pycparser.

    Integer ``#define`` constants are kept as cffi ``#define`` lines; everything else is parsed
    as C after the preprocessor has expanded the constants, and printed back by pycparser.
    """
    defines = dict(re.findall(r"^#define\s+(\w+)\s+\(?(-?\d+)\)?(?:\s|$)", header, re.M))
    body = re.sub(r"/\*.*?\*/", " ", header, flags=re.S)
    body = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("#"))
    body = body.replace('extern "C" {', "").replace("}\n\n\n", "\n")
    for macro, value in sorted(defines.items(), key=lambda kv: -len(kv[0])):
        body = re.sub(rf"\b{macro}\b", value, body)
    # The closing brace of the C++ guard is outside any declaration; drop unmatched braces.
    depth, kept = 0, []
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                continue
            depth -= 1
        kept.append(ch)
    # size_t and the <stdint.h> types (dropped above): declared for the parser, known to cffi.
    known = (
        "typedef unsigned long size_t;\ntypedef long int64_t;\ntypedef unsigned long uint64_t;\n"
    )
    ast = c_parser.CParser().parse(known + "".join(kept), filename="<generated header>")
    gen = c_generator.CGenerator()
    decls = [
        gen.visit(node) + ";"
        for node in ast.ext[known.count(";") :]
        if isinstance(node, c_ast.Decl | c_ast.Typedef)
    ]
    consts = [f"#define {k} {v}" for k, v in defines.items()]
    return "\n".join(consts + decls)


def build_shared_library(
    c_dir: Path, name: str, compiler: str = "gcc", extra_flags: tuple[str, ...] = ()
) -> Path:
    """Compile the generated C into a shared library, cached by source hash and flags."""
    source = c_dir / f"{name}_features.c"
    flags = (*C_FLAGS, *extra_flags, "-fPIC", "-shared")
    key = hashlib.sha256()
    for path in sorted(c_dir.glob("*.[ch]")):
        key.update(path.name.encode() + b"\0" + path.read_bytes())
    key.update(" ".join((compiler, *flags)).encode())
    out = CACHE / f"{name}-{key.hexdigest()[:16]}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        cmd = [compiler, *flags, "-I", str(c_dir), str(source), "-o", str(tmp), "-lm"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"compiling generated C failed:\n{' '.join(cmd)}\n{result.stderr}")
        os.replace(tmp, out)
    return out


class CStream:
    """The generated C runtime loaded through cffi: one state, pushed one sample at a time."""

    def __init__(self, header: str, library: Path, name: str):
        self.ffi = cffi.FFI()
        self.ffi.cdef(cdef_from_header(header) + self.extra_cdef(name))
        self.lib = open_library(self.ffi, library)
        self.name = name
        P = name.upper()
        self.n_inputs = getattr(self.lib, f"{P}_N_INPUTS")
        self.n_features = getattr(self.lib, f"{P}_N_FEATURES")
        self._init = getattr(self.lib, f"{name}_init")
        self._push = getattr(self.lib, f"{name}_push")
        self.read_contract()

    def extra_cdef(self, name: str) -> str:
        """Declarations a runtime exports beyond the generated header (none for C)."""
        return ""

    def read_contract(self) -> None:
        names = getattr(self.lib, f"{self.name}_feature_names")
        self.feature_names = tuple(
            self.ffi.string(names[i]).decode() for i in range(self.n_features)
        )

    def stream(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Push every row; returns (vectors, rows that emitted them, rows that were rejected)."""
        samples = np.ascontiguousarray(samples, dtype=np.float64)
        state = self.ffi.new(f"{self.name}_state *")
        self._init(state)
        out = np.empty(self.n_features)
        out_ptr = self.ffi.cast("double *", out.ctypes.data)
        base = samples.ctypes.data
        step = samples.strides[0]
        vectors, ends, rejected = [], [], []
        push = self._push
        cast = self.ffi.cast
        for row in range(samples.shape[0]):
            status = push(state, cast("double *", base + row * step), out_ptr)
            if status == 1:
                vectors.append(out.copy())
                ends.append(row)
            elif status < 0:
                rejected.append(row)
        matrix = np.array(vectors).reshape(len(vectors), self.n_features)
        return matrix, np.array(ends, dtype=np.int64), np.array(rejected, dtype=np.int64)


def c_target(
    files: dict[str, str],
    name: str,
    workdir: Path,
    compiler: str = "gcc",
    extra_flags: tuple[str, ...] = (),
) -> Target:
    c_dir = Path(workdir) / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    sources = c_sources(files)  # the C target's files (its roles; c/* for a plain copy)
    for file_name, text in sources.items():
        (c_dir / file_name).write_text(text)
    library = build_shared_library(c_dir, name, compiler, extra_flags)
    runtime = CStream(sources[f"{name}_features.h"], library, name)
    return Target("C", runtime.stream)


def driver_target(
    files: dict[str, str],
    name: str,
    workdir: Path,
    compile_cmd: list[str],
    runner: Sequence[str] = (),
    label: str = "C",
) -> Target:
    """The generated C built as a stand-alone program (any compiler, any architecture) and run
    as a subprocess, e.g. cross-compiled for aarch64 and run under qemu-user."""
    workdir = Path(workdir)
    c_dir = workdir / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    for file_name, text in c_sources(files).items():  # the C target's files
        (c_dir / file_name).write_text(text)
    driver = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined
    )
    (c_dir / "driver.c").write_text(
        driver.get_template("c/stream_driver.c.j2").render(name=name, P=name.upper())
    )
    exe = workdir / f"driver-{abs(hash(tuple(compile_cmd))) % 10**8}"
    cmd = [
        *compile_cmd,
        "-I",
        str(c_dir),
        str(c_dir / f"{name}_features.c"),
        str(c_dir / "driver.c"),
        "-o",
        str(exe),
        "-lm",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"compiling the stream driver failed:\n{' '.join(cmd)}\n{result.stderr}")
    n_features = len(manifest_of(files).feature_names_of(name))

    def stream(samples: np.ndarray):
        samples = np.ascontiguousarray(samples, dtype=np.float64)
        src, dst = workdir / "samples.bin", workdir / "out.bin"
        samples.tofile(src)
        run = subprocess.run(
            [*runner, str(exe), str(src), str(dst)], capture_output=True, text=True
        )
        if run.returncode != 0:
            raise RuntimeError(f"stream driver failed ({run.returncode}): {run.stderr}")
        raw = dst.read_bytes()
        n = samples.shape[0]
        status = np.frombuffer(raw[:n], dtype=np.int8)
        vectors = np.frombuffer(raw[n:], dtype=np.float64).reshape(-1, n_features)
        return (
            vectors.copy(),
            np.flatnonzero(status == 1).astype(np.int64),
            np.flatnonzero(status < 0).astype(np.int64),
        )

    return Target(label, stream)
