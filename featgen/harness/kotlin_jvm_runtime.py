"""The pure Kotlin target's runtime for the parity harness: compiles a build's kotlin/
sources once with kotlinc (cached by content and compiler version), then runs a small driver
on the JVM over a recording and reads back every status, vector, margin and decision.

A subprocess per recording (no JNI, no in-process JVM): the driver reads and writes
little-endian files, so the harness compares exactly the bits the JVM computed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import jinja2
import numpy as np

from codegen.backends.kotlin_jvm import KOTLIN_PACKAGE, source_dir
from codegen.backends.swift import upper_camel
from codegen.targets.base import TEMPLATES

from .sources import role_paths
from .sources import text as source_text
from .toolchains import CACHE

TOOLS = ("kotlinc", "java")
CONTROL_PACKAGE = KOTLIN_PACKAGE + ".control"  # negative-control copies, compiled alongside


class KotlinUnavailable(RuntimeError):
    """kotlinc or java is not installed."""


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _constant(text: str, name: str) -> int:
    """The value of ``const val NAME: Int = N`` in a generated Kotlin file."""
    m = re.search(rf"const val {name}: Int = (\d+)", text)
    if m is None:
        raise RuntimeError(f"no `const val {name}: Int` in the generated Kotlin")
    return int(m.group(1))


def kotlin_stdlib(kotlinc: str) -> Path:
    """kotlin-stdlib.jar next to kotlinc (official distribution) or Debian's /usr/share/java."""
    for candidate in (
        Path(kotlinc).resolve().parent.parent / "lib" / "kotlin-stdlib.jar",
        Path("/usr/share/java/kotlin-stdlib.jar"),
    ):
        if candidate.is_file():
            return candidate
    raise KotlinUnavailable(f"kotlin-stdlib.jar not found for {kotlinc}")


def driver_source(files: dict, name: str, controls: dict | None = None) -> str:
    """templates/kotlin/ParityDriver.kt.j2 for this build's featurisers and model, and for the
    negative-control copies in ``controls`` ({kotlin path: perturbed text})."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    camel = upper_camel(name)
    featurisers, models = [], []
    for tag, package, sources in (
        ("", KOTLIN_PACKAGE, kotlin_sources(files)),
        ("control_", CONTROL_PACKAGE, controls or {}),
    ):
        for p in sorted(_prefixes(files, name)):
            if f"{_root()}/{upper_camel(p)}Features.kt" in sources:
                featurisers.append(
                    {
                        "fn": tag + p,
                        "mode": f"{tag}features:{p}",
                        "control": bool(tag),
                        "type_name": f"{package}.{upper_camel(p)}Features",
                    }
                )
        if f"{_root()}/{camel}Model.kt" in sources:
            detector = f"{_root()}/{camel}Detector.kt" in sources
            models.append(
                (
                    f"{package}.{camel}Model",
                    f"{package}.{camel}Detector" if detector else "",
                    tag,
                    margin_type(sources[f"{_root()}/{camel}Model.kt"]),
                )
            )
    return env.get_template("kotlin/ParityDriver.kt.j2").render(
        kotlin_package=KOTLIN_PACKAGE, featurisers=featurisers, models=models
    )


def margin_type(model_text: str) -> str:
    """``Float`` (XGBoost's rule) or ``Double`` (float64 accumulation): the generated model's
    margin type, read from its ``margins`` signature."""
    m = re.search(r"fun margins\(features: DoubleArray, margins: (Float|Double)Array\)", model_text)
    if m is None:
        raise ValueError("not a generated Kotlin model: no margins(features, margins) function")
    return m.group(1)


def _prefixes(files: dict, name: str) -> list[str]:
    """The prefixes of the featurisers (``<name>``, ``<name>_device``): a Bundle's
    ``featurisers``; for a plain copy of a build, c/<prefix>_features.h."""
    featurisers = getattr(files, "featurisers", None)
    if featurisers is not None:
        return [prefix for prefix, _ in featurisers]
    return [
        Path(p).name[: -len("_features.h")]
        for p in files
        if p.startswith("c/") and p.endswith("_features.h")
    ] or [name]


def kotlin_sources(files: dict) -> dict[str, str]:
    """{relative path: text} of the Kotlin/JVM target's files (its roles; for a plain copy of a
    build, the .kt files under kotlin/)."""
    paths = role_paths(
        files,
        "Kotlin/JVM",
        lambda role, path: path.endswith(".kt"),
        lambda path: path.startswith("kotlin/") and path.endswith(".kt"),
    )
    return {p: source_text(files, p) for p in paths}


class KotlinRuntime:
    """One build's kotlin/ classes, compiled, with the parity driver."""

    def __init__(
        self,
        files: dict,
        name: str,
        workdir: Path,
        controls: dict | None = None,
        extra: dict | None = None,
    ):
        missing = missing_tools()
        kotlinc, java = shutil.which("kotlinc"), shutil.which("java")
        if missing or kotlinc is None or java is None:
            raise KotlinUnavailable(f"{', '.join(missing_tools())} not installed")
        self.kotlinc, self.java = kotlinc, java
        self.files, self.name = files, name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdlib = kotlin_stdlib(self.kotlinc)
        self.warnings: list[str] = []
        moved = {
            f"control/{p}": t.replace(
                f"package {KOTLIN_PACKAGE}\n", f"package {CONTROL_PACKAGE}\n", 1
            )
            for p, t in (controls or {}).items()
        }
        self.classes = self._compile(
            {
                **kotlin_sources(files),
                **moved,
                **(extra or {}),
                "harness/ParityDriver.kt": driver_source(files, name, controls),
            }
        )

    def _compile(self, sources: dict[str, str]) -> Path:
        version = subprocess.run([self.kotlinc, "-version"], capture_output=True, text=True).stderr
        key = hashlib.sha256(version.encode())
        for path, text in sorted(sources.items()):
            key.update(path.encode() + b"\0" + text.encode() + b"\0")
        classes = CACHE / "kotlin-jvm" / key.hexdigest()[:16]
        log = classes / "kotlinc.log"
        if log.is_file():
            self.warnings = _warnings(log.read_text())
            return classes
        src = self.workdir / "kotlin-src"
        for path, text in sources.items():
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            (src / path).write_text(text)
        staging = classes.with_name(f"{classes.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        cmd = [self.kotlinc, *sorted(str(src / p) for p in sources), "-d", str(staging)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"kotlinc failed ({run.returncode}):\n{run.stderr}")
        (staging / "kotlinc.log").write_text(run.stderr)
        self.warnings = _warnings(run.stderr)
        shutil.rmtree(classes, ignore_errors=True)
        os.replace(staging, classes)
        return classes

    def run_main(self, main_class: str, *args: str) -> str:
        """The standard output of ``main_class`` (one of the ``extra`` sources' objects) run
        with ``args``."""
        cmd = [self.java, "-cp", f"{self.classes}:{self.stdlib}", main_class, *args]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            raise RuntimeError(f"{main_class} failed ({run.returncode}): {run.stderr}")
        return run.stdout

    def run(self, *args: str) -> None:
        cmd = [
            self.java,
            "-cp",
            f"{self.classes}:{self.stdlib}",
            f"{KOTLIN_PACKAGE}.ParityDriver",
            *args,
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            raise RuntimeError(
                f"the Kotlin driver failed ({run.returncode}): {' '.join(cmd)}\n{run.stderr}"
            )

    def _rows_file(self, rows: np.ndarray) -> Path:
        rows = np.ascontiguousarray(rows, dtype="<f8")
        if rows.ndim != 2:
            raise ValueError("rows must be a matrix")
        path = self.workdir / f"in-{hashlib.sha256(rows.tobytes()).hexdigest()[:16]}.bin"
        path.write_bytes(struct.pack("<2i", *rows.shape) + rows.tobytes())
        return path

    def feature_count(self, prefix: str) -> int:
        text = self.files[f"{_root()}/{upper_camel(prefix)}Features.kt"]
        return _constant(text, "FEATURE_COUNT")

    def stream(self, prefix: str, control: bool = False):
        """``samples -> (vectors, emitting rows, rejected rows)`` for featuriser ``prefix``
        (the harness's Target protocol)."""
        n_features = self.feature_count(prefix)

        def stream(samples: np.ndarray):
            src = self._rows_file(samples)
            dst = self.workdir / f"out-{prefix}.bin"
            self.run(f"{'control_' if control else ''}features:{prefix}", str(src), str(dst))
            raw = dst.read_bytes()
            n = samples.shape[0]
            status = np.frombuffer(raw[:n], dtype=np.int8)
            vectors = np.frombuffer(raw[n:], dtype="<f8").reshape(-1, n_features)
            return (
                vectors.astype(np.float64),
                np.flatnonzero(status == 1).astype(np.int64),
                np.flatnonzero(status < 0).astype(np.int64),
            )

        return stream

    def contract(self, samples: np.ndarray) -> list[str]:
        """The driver's misuse calls (wrong-size arrays everywhere, another model's feature
        order, float vs double samples): one line each, what the call threw or returned."""
        dst = self.workdir / "out-contract.txt"
        self.run("contract", str(self._rows_file(samples)), str(dst))
        return dst.read_text().splitlines()

    def n_outputs(self) -> int:
        text = self.files[f"{_root()}/{upper_camel(self.name)}Model.kt"]
        return _constant(text, "OUTPUT_COUNT")

    def margin_dtype(self) -> str:
        """The margins' little-endian dtype: ``<f4`` (Float) or ``<f8`` (Double)."""
        text = self.files[f"{_root()}/{upper_camel(self.name)}Model.kt"]
        return "<f4" if margin_type(text) == "Float" else "<f8"

    def detector(self, samples: np.ndarray, control: bool = False) -> dict:
        """Every row through the Kotlin detector: the same dict as the C detector's stream."""
        k = self.n_outputs()
        dst = self.workdir / "out-detector.bin"
        self.run(
            ("control_" if control else "") + "detector", str(self._rows_file(samples)), str(dst)
        )
        raw = dst.read_bytes()
        n = samples.shape[0]
        status = np.frombuffer(raw[:n], dtype=np.int8).copy()
        w = self.margin_dtype()
        record = np.dtype(
            [("margins", w, (k,)), ("probabilities", w, (k,)), ("flags", "<i4", (4,))]
        )
        r = np.frombuffer(raw[n:], dtype=record)
        kind = np.float32 if w == "<f4" else np.float64
        return {
            "status": status,
            "ends": np.flatnonzero(status > 0).astype(np.int64),
            "margins": r["margins"].astype(kind),
            "probabilities": r["probabilities"].astype(kind),
            "predicted_class": r["flags"][:, 0].astype(np.int64),
            "positive": r["flags"][:, 1].astype(bool),
            "run": r["flags"][:, 2].astype(np.int64),
            "event": r["flags"][:, 3].astype(bool),
        }

    def margins(self, vectors: np.ndarray, control: bool = False) -> np.ndarray:
        """The Kotlin model's margins of device feature vectors: (rows, outputs), float32 or
        float64 as the model's margins."""
        k = self.n_outputs()
        dst = self.workdir / "out-margins.bin"
        self.run(
            ("control_" if control else "") + "margins", str(self._rows_file(vectors)), str(dst)
        )
        w = self.margin_dtype()
        kind = np.float32 if w == "<f4" else np.float64
        return np.frombuffer(dst.read_bytes(), dtype=w).reshape(-1, k).astype(kind)


def _root() -> str:
    return source_dir()


def _warnings(stderr: str) -> list[str]:
    """kotlinc's warnings and errors, without the JVM's own notice about -Xverify."""
    return [
        line
        for line in stderr.splitlines()
        if ("warning:" in line or "error:" in line) and "Xverify" not in line
    ]
