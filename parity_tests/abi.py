"""The ABI matrix: the generated C built for every ABI an Android app ships (and two big-endian
machines), run under qemu-user, compared bit for bit with numpy and XGBoost.

Each build compiles two stand-alone drivers (templates/c/stream_driver.c.j2 and
detector_driver.c.j2; every file they exchange is little-endian, so a big-endian build is fed
the same numbers):

* **features**: the full featuriser, every emitted vector against the numpy module (ULPs);
* **detector**: the device featuriser (only the features the model reads), the one-row model,
  the batch model and the decision/event state machine; margins against XGBoost's
  ``output_margin``, on the stream's vectors and on boundary vectors built from every split
  threshold (its float32 and double neighbours, NaN, infinities, signed zeros, subnormals).

``python3 -m parity_tests.abi`` prints the README's table; parity_tests/test_abi_matrix.py runs
the same builds in CI and requires 0 ULP and 100 % everywhere.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from codegen.build import TEMPLATES
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from featgen import harness
from featgen.harness import prediction as mh

# The flags the emitted CMakeLists.txt sets (templates/c/CMakeLists.txt.j2), and the ones it adds
# on 32-bit x86. test_abi_matrix checks that the template still says so.
EMITTED = ("-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math")
X86_32 = ("-msse2", "-mfpmath=sse")
# clang as the NDK runs it: its default -ffp-contract=on, only the generated pragma against FMA.
NDK_CLANG = ("-std=c99", "-O2")
V7_HARD = ("-march=armv7-a", "-mfpu=vfpv3-d16", "-mfloat-abi=hard")
V7_SOFTFP = ("-march=armv7-a", "-mfpu=vfpv3-d16", "-mfloat-abi=softfp")


@dataclass(frozen=True)
class Build:
    label: str  # the row's name in the table
    abi: str  # the Android ABI (or the machine) it stands for
    compile: tuple  # compiler and flags, before sources
    runner: tuple = ()  # qemu-user, or nothing for the host
    tools: tuple = ()  # executables that must exist (compiler, runner)

    def missing(self) -> list[str]:
        return [tool for tool in self.tools if shutil.which(tool) is None]


def _cross(label, abi, compiler, flags, qemu, clang_target=None):
    if clang_target:
        cmd = ("clang-14", f"--target={clang_target}", *flags, "-static")
        tools = ("clang-14", compiler, qemu)  # clang links with the gcc cross toolchain
    else:
        cmd = (compiler, *flags, "-static")
        tools = (compiler, qemu)
    return Build(label, abi, cmd, (qemu,), tools)


BUILDS = [
    Build("x86-64 gcc 12 (emitted flags)", "x86_64", ("gcc", *EMITTED), (), ("gcc",)),
    Build("x86-64 clang 14 (NDK defaults)", "x86_64", ("clang-14", *NDK_CLANG), (), ("clang-14",)),
    _cross(
        "arm64 gcc 12 (emitted flags)",
        "arm64-v8a",
        "aarch64-linux-gnu-gcc",
        EMITTED,
        "qemu-aarch64-static",
    ),
    _cross(
        "arm64 clang 14 (NDK defaults)",
        "arm64-v8a",
        "aarch64-linux-gnu-gcc",
        NDK_CLANG,
        "qemu-aarch64-static",
        "aarch64-linux-gnu",
    ),
    _cross(
        "armv7 gcc 12 VFPv3 hard-float",
        "armeabi-v7a",
        "arm-linux-gnueabihf-gcc",
        (*EMITTED, *V7_HARD),
        "qemu-arm-static",
    ),
    _cross(
        "armv7 clang 14 VFPv3 hard-float",
        "armeabi-v7a",
        "arm-linux-gnueabihf-gcc",
        (*NDK_CLANG, *V7_HARD),
        "qemu-arm-static",
        "arm-linux-gnueabihf",
    ),
    _cross(
        "armv7 gcc 12 VFPv3 softfp",
        "armeabi-v7a (NDK's float ABI)",
        "arm-linux-gnueabi-gcc",
        (*EMITTED, *V7_SOFTFP),
        "qemu-arm-static",
    ),
    _cross(
        "armv7 clang 14 VFPv3 softfp",
        "armeabi-v7a (NDK's float ABI)",
        "arm-linux-gnueabi-gcc",
        (*NDK_CLANG, *V7_SOFTFP),
        "qemu-arm-static",
        "arm-linux-gnueabi",
    ),
    _cross(
        "i686 gcc 12 (emitted flags: SSE2 math)",
        "x86",
        "i686-linux-gnu-gcc",
        (*EMITTED, *X86_32),
        "qemu-i386-static",
    ),
    _cross(
        "i686 clang 14 (-msse2 -mfpmath=sse)",
        "x86",
        "i686-linux-gnu-gcc",
        (*NDK_CLANG, *X86_32),
        "qemu-i386-static",
        "i686-linux-gnu",
    ),
    # s390x gcc in ISO C mode declares FLT_EVAL_METHOD 1 (float arithmetic in double), which the
    # guards refuse; in GNU mode it is 0, and -ffp-contract=off stops its fused multiply-add.
    _cross(
        "s390x gcc 12 -std=gnu99 (big-endian)",
        "- (byte order)",
        "s390x-linux-gnu-gcc",
        ("-std=gnu99", *EMITTED[1:]),
        "qemu-s390x-static",
    ),
    _cross(
        "ppc64 gcc 12 (big-endian)",
        "- (byte order)",
        "powerpc64-linux-gnu-gcc",
        EMITTED,
        "qemu-ppc64-static",
    ),
]
BY_LABEL = {b.label: b for b in BUILDS}

# Negative controls: builds the generated guards must refuse (tests/test_abi_matrix.py).
X87_GCC = _cross(
    "i686 gcc 12 -std=c99 (x87, the compiler's default)",
    "x86",
    "i686-linux-gnu-gcc",
    ("-std=c99", "-O2"),
    "qemu-i386-static",
)
X87_CLANG = _cross(
    "i686 clang 14 (x87, the compiler's default)",
    "x86",
    "i686-linux-gnu-gcc",
    NDK_CLANG,
    "qemu-i386-static",
    "i686-linux-gnu",
)
FAST_MATH = Build(
    "x86-64 gcc 12 -O2 -ffast-math",
    "x86_64",
    ("gcc", "-std=c99", "-O2", "-ffast-math"),
    (),
    ("gcc",),
)


def _render(template: str, **context) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(template).render(**context)


def _c_files(files: dict, workdir: Path) -> Path:
    c_dir = Path(workdir) / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        if rel.startswith("c/") and rel.count("/") == 1:  # not c/tl2cgen/
            (Path(workdir) / rel).write_text(text)
    return c_dir


def compile_driver(
    build: Build, files: dict, sources: list[str], driver: str, workdir: Path
) -> Path:
    """Compile ``sources`` (names under c/) with ``driver`` (C text); RuntimeError carrying the
    compiler's message when the build is refused."""
    c_dir = _c_files(files, workdir)
    (c_dir / "driver.c").write_text(driver)
    tag = hashlib.sha256("\0".join([*build.compile, driver]).encode()).hexdigest()[:12]
    exe = Path(workdir) / f"driver-{tag}"
    cmd = [
        *build.compile,
        "-I",
        str(c_dir),
        *(str(c_dir / s) for s in sources),
        str(c_dir / "driver.c"),
        "-o",
        str(exe),
        "-lm",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{build.label}: compiling failed:\n{' '.join(cmd)}\n{result.stderr}")
    return exe


def features_comparison(
    build: Build, files: dict, name: str, module, recordings: dict, workdir: Path
) -> harness.Comparison:
    """The full featuriser on ``build`` against numpy, every vector of every recording."""
    target = harness.driver_target(
        files, name, workdir, list(build.compile), list(build.runner), label=build.label
    )
    return harness.compare_target(module, target, recordings)


@dataclass
class DetectorResult:
    """One build's detector and model against numpy + XGBoost."""

    label: str
    vectors: int = 0
    device_features: int = 0
    feature_mismatches: int = 0  # device vector entries whose bits differ from numpy's
    worst_ulp: int = 0
    margins_equal: int = 0  # stream vectors whose margins are XGBoost's bits
    decisions_equal: int = 0
    events_equal: int = 0
    events: int = 0
    rows: int = 0  # boundary rows
    row_margins_equal: int = 0  # one-row function
    batch_margins_equal: int = 0  # batch function
    problems: list = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return (
            not self.problems
            and self.feature_mismatches == 0
            and self.margins_equal == self.vectors == self.decisions_equal == self.events_equal
            and self.row_margins_equal == self.rows == self.batch_margins_equal
            and self.vectors > 0
        )

    def summary(self) -> str:
        return (
            f"{self.label}: {self.vectors} vectors, {self.feature_mismatches} device feature "
            f"values differ (worst {self.worst_ulp} ULP), margins {self.margins_equal}, "
            f"decisions {self.decisions_equal}, events {self.events_equal} equal; "
            f"{self.rows} boundary rows: one-row {self.row_margins_equal}, batch "
            f"{self.batch_margins_equal} equal; {'; '.join(self.problems)}"
        )


def decision_of(files: dict) -> decisions.Decision:
    d = manifest_of(files).model.decision
    return decisions.Decision(
        d["kind"],
        d.get("threshold", 0.0),
        float.fromhex(d["margin_threshold"]) if d["kind"] == "binary" else 0.0,
        d.get("positive_class", 1),
        d["consecutive"],
        d["refractory_samples"],
    )


class DetectorDriver:
    """The detector driver built for one ABI, run as a subprocess (under qemu-user)."""

    def __init__(self, build: Build, files: dict, name: str, workdir: Path):
        self.build, self.name, self.workdir = build, name, Path(workdir)
        feat, self.columns = mh.device_featuriser(files, name)
        manifest = manifest_of(files)
        self.n_features = (
            len(manifest.model.device.names) if self.columns is not None else manifest.n_features
        )
        self.n_outputs = len(manifest.model.base_margin)
        driver = _render("c/detector_driver.c.j2", name=name, P=name.upper(), FP=feat.upper())
        self.exe = compile_driver(
            build,
            files,
            [
                f"{feat}_features.c",
                f"{name}_model.c",
                f"{name}_model_batch.c",
                f"{name}_detector.c",
            ],
            driver,
            self.workdir,
        )

    def run(self, samples: np.ndarray, rows: np.ndarray) -> dict:
        samples = np.ascontiguousarray(samples, dtype="<f8")
        rows = np.ascontiguousarray(rows, dtype="<f8").reshape(-1, self.n_features)
        src, rsrc, dst = (self.workdir / f for f in ("samples.bin", "rows.bin", "out.bin"))
        src.write_bytes(samples.tobytes())
        rsrc.write_bytes(rows.tobytes())
        run = subprocess.run(
            [*self.build.runner, str(self.exe), str(src), str(rsrc), str(dst)],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise RuntimeError(
                f"{self.build.label}: detector driver failed ({run.returncode}): {run.stderr}"
            )
        raw = dst.read_bytes()
        n, m, k, f = samples.shape[0], rows.shape[0], self.n_outputs, self.n_features
        record = 8 * f + 4 * k + 12
        tail = n + 2 * 4 * m * k
        scored, rest = divmod(len(raw) - tail, record)
        if rest or scored < 0:
            raise RuntimeError(
                f"{self.build.label}: detector driver wrote {len(raw)} bytes, "
                "not a whole number of records"
            )
        records = np.frombuffer(raw[: scored * record], dtype=np.uint8).reshape(scored, record)
        vectors = records[:, : 8 * f].copy().view("<f8")
        margins = records[:, 8 * f : 8 * f + 4 * k].copy().view("<f4")
        flags = records[:, 8 * f + 4 * k :].copy().view("<i4")
        at = scored * record
        status = np.frombuffer(raw[at : at + n], dtype=np.int8)
        at += n
        row_margins = np.frombuffer(raw[at : at + 4 * m * k], dtype="<f4").reshape(m, k)
        batch = np.frombuffer(raw[at + 4 * m * k :], dtype="<f4").reshape(m, k)
        return {
            "status": status,
            "ends": np.flatnonzero(status > 0),
            "vectors": vectors.astype(np.float64),
            "margins": margins.astype(np.float32),
            "positive": flags[:, 0].astype(bool),
            "run": flags[:, 1],
            "event": flags[:, 2].astype(bool),
            "row_margins": row_margins.astype(np.float32),
            "batch_margins": batch.astype(np.float32),
        }


def detector_comparison(
    build: Build,
    files: dict,
    name: str,
    module,
    booster,
    forest,
    recordings: dict,
    workdir: Path,
    boundary_limit: int = 20_000,
) -> DetectorResult:
    """The device featuriser, both model functions and the event stream of ``build`` against
    numpy and XGBoost: every recording, plus boundary vectors from the model's thresholds."""
    driver = DetectorDriver(build, files, name, workdir)
    decision = decision_of(files)
    out = DetectorResult(build.label, device_features=driver.n_features)
    for label, samples in recordings.items():
        features, ends = module.featurize(samples, nonfinite="drop")
        X = mh.model_input(features, driver.columns)
        full_rows = mh.boundary_vectors(
            forest, features[len(features) // 2][None, :], boundary_limit
        )
        got = driver.run(samples, mh.model_input(full_rows, driver.columns))
        if not np.array_equal(got["ends"], ends):
            out.problems.append(
                f"{label}: scored {len(got['ends'])} vectors, numpy emitted {len(ends)}"
            )
            continue
        finite = np.isfinite(samples).all(axis=1)
        if not np.array_equal(np.flatnonzero(got["status"] < 0), np.flatnonzero(~finite)):
            out.problems.append(f"{label}: rejected rows are not the non-finite rows")
        same = harness.same_bits(X, got["vectors"])
        out.feature_mismatches += int((~same).sum())
        if (~same).any():
            out.worst_ulp = max(
                out.worst_ulp, int(harness.ulp_distance(X, got["vectors"])[~same].max())
            )
        ref = mh.xgboost_margins(booster, features)
        positive = decisions.positive(decision, ref)
        _, fired = decisions.events(decision, positive, np.cumsum(finite)[ends] - 1)
        out.vectors += len(ref)
        out.margins_equal += int(mh.bits_equal(ref, got["margins"]).sum())
        out.decisions_equal += int((positive == got["positive"]).sum())
        out.events_equal += int((fired == got["event"]).sum())
        out.events += int(fired.sum())
        row_ref = mh.xgboost_margins(booster, full_rows)
        out.rows += len(full_rows)
        out.row_margins_equal += int(mh.bits_equal(row_ref, got["row_margins"]).sum())
        out.batch_margins_equal += int(mh.bits_equal(row_ref, got["batch_margins"]).sum())
    return out


def main() -> None:
    """Print the ABI matrix for the bundled example as a Markdown table (the README's)."""
    import tempfile

    from codegen.build import generate
    from codegen.trees.model_dir import load_bundle
    from featgen.harness.recordings import parity_recordings
    from featurespec import load_spec

    from .conftest import EXAMPLE

    spec = load_spec(EXAMPLE)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    bundle = load_bundle(spec)
    booster = mh.load_booster(bundle.raw)
    recordings = parity_recordings(len(spec.inputs), n=6_000, count=3)
    print(
        "| build | Android ABI | features (168): max ULP | device features: max ULP | "
        "margins bit-equal (stream / boundary one-row / batch) | decisions, events |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for build in BUILDS:
        if build.missing():
            print(
                f"| {build.label} | {build.abi} | not run: {', '.join(build.missing())} "
                "missing | | | |"
            )
            continue
        with tempfile.TemporaryDirectory() as tmp:
            fc = features_comparison(build, files, spec.name, module, recordings, Path(tmp) / "f")
            dc = detector_comparison(
                build, files, spec.name, module, booster, bundle.forest, recordings, Path(tmp) / "d"
            )
        print(
            f"| {build.label} | {build.abi} | {_ulp_cell(fc)} ({fc.vectors:,} vectors) | "
            f"{dc.worst_ulp} | {_pct(dc.margins_equal, dc.vectors)} of {dc.vectors:,} / "
            f"{_pct(dc.row_margins_equal, dc.rows)} / {_pct(dc.batch_margins_equal, dc.rows)} "
            f"of {dc.rows:,} | {_pct(dc.decisions_equal, dc.vectors)}, "
            f"{_pct(dc.events_equal, dc.vectors)} ({dc.events} events) |",
            flush=True,
        )


def _ulp_cell(comparison: harness.Comparison) -> str:
    if comparison.problems:
        return "DIFFER: " + "; ".join(comparison.problems)
    differing = [s for s in comparison.stats if s.mismatches]
    if not differing:
        return "0"
    return f"{len(differing)} differ, worst {comparison.worst.max_ulp}"


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f} %" if whole else "-"


if __name__ == "__main__":
    main()
