"""The parity harness: build each target's generated code, stream recordings through it sample by
sample, and compare every emitted vector with the numpy rows bit for bit.

The cffi declarations are derived from the generated header with pycparser (never copied by hand),
so a header change that the harness does not understand fails loudly instead of misreading memory.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

C_FLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra",
           "-pedantic", "-Werror")
CACHE = Path(os.environ.get("FEATGEN_CACHE", Path.home() / ".cache" / "featgen"))


# ---------------------------------------------------------------- loading generated code


def load_numpy_module(files: dict[str, str], name: str) -> types.ModuleType:
    """Import the generated numpy module from its text (no file on sys.path needed)."""
    source = files[f"python/{name}_features.py"]
    module = types.ModuleType(f"featgen_generated_{name}")
    module.__file__ = f"<generated python/{name}_features.py>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def cdef_from_header(header: str) -> str:
    """Declarations for cffi, derived from the generated header with pycparser.

    Integer ``#define`` constants are kept as cffi ``#define`` lines; everything else is parsed
    as C after the preprocessor has expanded the constants, and printed back by pycparser.
    """
    from pycparser import c_ast, c_generator, c_parser

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
    known = ("typedef unsigned long size_t;\ntypedef long int64_t;\n"
             "typedef unsigned long uint64_t;\n")
    ast = c_parser.CParser().parse(known + "".join(kept), filename="<generated header>")
    gen = c_generator.CGenerator()
    decls = [gen.visit(node) + ";" for node in ast.ext[known.count(";"):]
             if isinstance(node, c_ast.Decl | c_ast.Typedef)]
    consts = [f"#define {k} {v}" for k, v in defines.items()]
    return "\n".join(consts + decls)


def build_shared_library(c_dir: Path, name: str, compiler: str = "gcc",
                         extra_flags: tuple[str, ...] = ()) -> Path:
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
        import cffi

        self.ffi = cffi.FFI()
        self.ffi.cdef(cdef_from_header(header) + self.extra_cdef(name))
        self.lib = self.ffi.dlopen(str(library))
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
        self.feature_names = tuple(self.ffi.string(names[i]).decode()
                                   for i in range(self.n_features))

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


# ---------------------------------------------------------------- comparing


def ordered_bits(values: np.ndarray) -> np.ndarray:
    """Map doubles to int64 so that adjacent doubles differ by 1 (ULP distance = difference)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, np.int64(-0x8000000000000000) - bits, bits)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ULPs between a and b (int64, saturating); 0 for two NaNs, the maximum for NaN vs number."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    oa, ob = ordered_bits(a).astype(np.uint64), ordered_bits(b).astype(np.uint64)
    hi, lo = np.where(ordered_bits(a) > ordered_bits(b), oa, ob), np.where(
        ordered_bits(a) > ordered_bits(b), ob, oa)
    diff = np.minimum(hi - lo, np.uint64(2 ** 63 - 1)).astype(np.int64)  # exact, mod 2**64
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    diff = np.where(nan_a & nan_b, 0, diff)
    return np.where(nan_a ^ nan_b, np.iinfo(np.int64).max, diff)


def same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit equality, with every NaN equal to every NaN (NaN payloads differ across CPUs)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    return (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))


@dataclass
class FeatureStat:
    name: str
    max_ulp: int = 0
    mismatches: int = 0
    first: str = ""          # first mismatch, in words


@dataclass
class Comparison:
    """One target against numpy on one or more recordings."""

    target: str
    names: tuple[str, ...]
    stats: list[FeatureStat] = field(default_factory=list)
    vectors: int = 0
    problems: list[str] = field(default_factory=list)   # structural: counts, rows, rejects

    def __post_init__(self):
        if not self.stats:
            self.stats = [FeatureStat(n) for n in self.names]

    @property
    def identical(self) -> bool:
        return not self.problems and all(s.mismatches == 0 for s in self.stats)

    @property
    def worst(self) -> FeatureStat:
        return max(self.stats, key=lambda s: (s.max_ulp, s.mismatches))

    def add(self, label: str, expected: np.ndarray, expected_ends: np.ndarray,
            got: np.ndarray, got_ends: np.ndarray) -> None:
        if expected.shape != got.shape or not np.array_equal(expected_ends, got_ends):
            self.problems.append(
                f"{label}: numpy emitted {expected.shape[0]} vectors, {self.target} "
                f"{got.shape[0]}; first differing end row: {_first_diff(expected_ends, got_ends)}")
            return
        self.vectors += expected.shape[0]
        equal = same_bits(expected, got)
        ulps = ulp_distance(expected, got)
        for j, stat in enumerate(self.stats):
            bad = np.flatnonzero(~equal[:, j])
            if bad.size == 0:
                continue
            stat.mismatches += int(bad.size)
            stat.max_ulp = max(stat.max_ulp, int(ulps[bad, j].max()))
            if not stat.first:
                i = int(bad[0])
                e, g = expected[i, j], got[i, j]
                stat.first = (f"{label} vector {i} (sample {int(expected_ends[i])}): numpy "
                              f"{_hex(e)} vs {self.target} {_hex(g)}, {int(ulps[i, j])} ULP")

    def failure_message(self) -> str:
        lines = list(self.problems)
        for s in self.stats:
            if s.mismatches:
                lines.append(f"{s.name}: {s.mismatches} mismatching values, max {s.max_ulp} ULP; "
                             f"first: {s.first}")
        return f"{self.target} differs from numpy:\n" + "\n".join(lines)

    def to_json(self) -> dict:
        return {"target": self.target, "vectors": self.vectors, "identical": self.identical,
                "problems": self.problems,
                "features": {s.name: {"max_ulp": s.max_ulp, "mismatches": s.mismatches}
                             for s in self.stats}}


def _hex(x: float) -> str:
    return f"{float(x).hex()} ({float(x)!r})"


def _first_diff(a: np.ndarray, b: np.ndarray) -> str:
    n = min(a.size, b.size)
    idx = np.flatnonzero(a[:n] != b[:n])
    if idx.size:
        return f"{int(a[idx[0]])} vs {int(b[idx[0]])}"
    return "none (one list is longer)"


# ---------------------------------------------------------------- the whole check


@dataclass
class Target:
    """A streaming implementation: ``stream(samples) -> (vectors, ends, rejected rows)``."""

    name: str
    stream: object


def c_target(files: dict[str, str], name: str, workdir: Path, compiler: str = "gcc",
             extra_flags: tuple[str, ...] = ()) -> Target:
    c_dir = Path(workdir) / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        if rel.startswith("c/") and rel.count("/") == 1:    # not c/tl2cgen/
            (Path(workdir) / rel).write_text(text)
    library = build_shared_library(c_dir, name, compiler, extra_flags)
    runtime = CStream(files[f"c/{name}_features.h"], library, name)
    return Target("C", runtime.stream)


def driver_target(files: dict[str, str], name: str, workdir: Path, compile_cmd: list[str],
                  runner: list[str] = (), label: str = "C") -> Target:
    """The generated C built as a stand-alone program (any compiler, any architecture) and run
    as a subprocess, e.g. cross-compiled for aarch64 and run under qemu-user."""
    import jinja2

    from codegen.build import TEMPLATES

    workdir = Path(workdir)
    c_dir = workdir / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        if rel.startswith("c/") and rel.count("/") == 1:    # not c/tl2cgen/
            (workdir / rel).write_text(text)
    driver = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                undefined=jinja2.StrictUndefined)
    (c_dir / "driver.c").write_text(driver.get_template("c/stream_driver.c.j2").render(
        name=name, P=name.upper()))
    exe = workdir / f"driver-{abs(hash(tuple(compile_cmd))) % 10**8}"
    cmd = [*compile_cmd, "-I", str(c_dir), str(c_dir / f"{name}_features.c"),
           str(c_dir / "driver.c"), "-o", str(exe), "-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"compiling the stream driver failed:\n{' '.join(cmd)}\n{result.stderr}")
    from codegen.bundle import manifest_of
    n_features = len(manifest_of(files).feature_names_of(name))

    def stream(samples: np.ndarray):
        samples = np.ascontiguousarray(samples, dtype=np.float64)
        src, dst = workdir / "samples.bin", workdir / "out.bin"
        samples.tofile(src)
        run = subprocess.run([*runner, str(exe), str(src), str(dst)], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"stream driver failed ({run.returncode}): {run.stderr}")
        raw = dst.read_bytes()
        n = samples.shape[0]
        status = np.frombuffer(raw[:n], dtype=np.int8)
        vectors = np.frombuffer(raw[n:], dtype=np.float64).reshape(-1, n_features)
        return (vectors.copy(), np.flatnonzero(status == 1).astype(np.int64),
                np.flatnonzero(status < 0).astype(np.int64))

    return Target(label, stream)


def compare_recording(numpy_module, target: Target, label: str, samples: np.ndarray,
                      comparison: Comparison) -> None:
    """Stream one recording through ``target`` and add its vectors to ``comparison``."""
    expected, expected_ends = numpy_module.featurize(samples, nonfinite="drop")
    got, got_ends, rejected = target.stream(samples)
    bad_rows = np.flatnonzero(~np.isfinite(samples).all(axis=1))
    if not np.array_equal(rejected, bad_rows):
        comparison.problems.append(f"{label}: {target.name} rejected rows {rejected[:5]}, "
                                   f"the non-finite rows are {bad_rows[:5]}")
    comparison.add(label, expected, expected_ends, got, got_ends)


class Columns:
    """The numpy featuriser seen through some of its columns: the reference for a device
    featuriser that computes only those (same emission rows, same bits expected)."""

    def __init__(self, module, columns):
        self.module = module
        self.columns = np.asarray(columns, dtype=np.int64)
        self.FEATURE_NAMES = tuple(module.FEATURE_NAMES[c] for c in self.columns)

    def featurize(self, samples, **kw):
        vectors, ends = self.module.featurize(samples, **kw)
        return np.ascontiguousarray(vectors[:, self.columns]), ends


def compare_target(numpy_module, target: Target,
                   recordings: dict[str, np.ndarray]) -> Comparison:
    comparison = Comparison(target.name, tuple(numpy_module.FEATURE_NAMES))
    for label, samples in recordings.items():
        compare_recording(numpy_module, target, label, samples, comparison)
    return comparison


# ---------------------------------------------------------------- the Swift target

SWIFT_FLAGS = ("-O", "-wmo", "-parse-as-library", "-warnings-as-errors", "-emit-library")
SWIFT_HOME = Path("/opt/swift/usr/bin")


def find_swiftc() -> str | None:
    """The swiftc on PATH, else the toolchain's usual install location, else None."""
    import shutil

    found = shutil.which("swiftc")
    if found:
        return found
    fallback = SWIFT_HOME / "swiftc"
    return str(fallback) if fallback.is_file() and os.access(fallback, os.X_OK) else None


def swift_version(swiftc: str) -> str:
    """``swiftc --version`` (part of every cache key: a new toolchain rebuilds)."""
    return subprocess.run([swiftc, "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def swift_sources(files: dict[str, str], name: str) -> dict[str, str]:
    """{file name: text} of the library sources (the featuriser, and the model and detector when
    the spec has a model) and the C-ABI shims."""
    library = [p for p in files if p.startswith("ios/Sources/") and p.endswith(".swift")]
    shim = [p for p in files if p.startswith("swift_shim/") and p.endswith(".swift")]
    if not any(p.endswith("Features.swift") for p in library) or not shim:
        raise RuntimeError(f"expected the Swift featuriser and its shim, got {library + shim}")
    return {Path(p).name: files[p] for p in library + shim}


def build_swift_library(sources: dict[str, str], module: str, workdir: Path,
                        swiftc: str | None = None) -> Path:
    """Compile the library source and the shim into one shared library (``swiftc -O -wmo
    -emit-library``), cached by source hash, flags and toolchain version like the C build."""
    swiftc = swiftc or find_swiftc()
    if swiftc is None:
        raise RuntimeError("swiftc not found")
    flags = (*SWIFT_FLAGS, "-module-name", module)
    key = hashlib.sha256()
    for file_name, text in sorted(sources.items()):
        key.update(file_name.encode() + b"\0" + text.encode() + b"\0")
    key.update(" ".join(flags).encode() + b"\0" + swift_version(swiftc).encode())
    out = CACHE / f"{module}-{key.hexdigest()[:16]}.so"
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
            raise RuntimeError(f"compiling generated Swift failed:\n{' '.join(cmd)}\n"
                               f"{result.stderr}{result.stdout}")
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
        self.input_names = tuple(lines[2:2 + self.n_inputs])
        self.feature_names = tuple(lines[2 + self.n_inputs:])


def swift_target(files: dict[str, str], name: str, workdir: Path) -> Target:
    """The generated Swift featuriser as a parity target (same cdef as C, from the C header)."""
    from codegen.backends.swift import upper_camel
    from codegen.bundle import manifest_of

    manifest = manifest_of(files)
    shim = upper_camel(name) + "Shim"
    if f"swift_shim/{shim}.swift" not in files:
        raise RuntimeError(f"no Swift shim for {name}")
    library = build_swift_library(swift_sources(files, name), shim, Path(workdir))
    runtime = SwiftStream(files[f"c/{name}_features.h"], library, name)
    expected = (manifest.spec_hash, manifest.generator_version, manifest.inputs,
                manifest.feature_names_of(name))
    got = (runtime.spec_hash, runtime.generator_version, runtime.input_names,
           runtime.feature_names)
    if got != expected:
        raise RuntimeError(f"the Swift featuriser's contract differs from the manifest: {got} "
                           f"vs {expected}")
    return Target("Swift", runtime.stream)
