"""The model zoo (parity_tests/model_zoo.py): 41 XGBoost, LightGBM and scikit-learn models across
objectives, boosters, depths (to 12) and sizes (to 2000 trees), trained here on seeded synthetic
data, shipped through import-model / from_sklearn and featgen's build, the C of all of them
compiled in one compiler run. On boundary vectors (every threshold, its float32 and double
neighbours, NaN, +-inf, +-0, subnormals, LightGBM's zero band): 100 % bit-equal margins in
the one-row C, the batch C and the IR's reference evaluator, and 0 decision flips against
the library's own transformed prediction. Then the Swift of one model per rule (compiled
together in one swiftc run) against the same library margins.

The larger zoo: ``python3 -m parity_tests.model_zoo --large`` (docs/model.md)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np
import pytest

from . import model_zoo as zoo

if os.environ.get("CI") != "true":  # CI installs the extras (.ci/run): never skipped there
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    entries = zoo.zoo()
    assert len(entries) >= 30
    prepared = []
    for k, e in enumerate(entries):
        model = zoo.train(e, 400, seed=k)
        _, files, forest = zoo.ship(e, model, root / e.name)
        prepared.append((e, model, files, forest))
    return root, prepared


def test_zoo_is_bit_exact_with_zero_flips(shipped):
    root, prepared = shipped
    lib = zoo.compile_zoo([(e.name, files) for e, _, files, _ in prepared], root / "c")
    failures, rows = [], 0
    libraries, objectives, max_depth, max_trees = set(), set(), 0, 0
    for k, (e, model, files, forest) in enumerate(prepared):
        X = zoo.boundary_rows(forest, finite=False, nan=True, n_random=256, seed=k)
        ref = zoo.reference(e, model, forest, X)
        one, batch = zoo.c_margins(lib, e.name, forest, X)
        ref = ref.astype(one.dtype)
        ir = forest.margins(X).astype(one.dtype)
        mine, theirs = zoo.decisions(files, forest, one, zoo._transformed(e, model, forest, X, ref))
        counts = (
            zoo.differing(ref, one),
            zoo.differing(ref, batch),
            zoo.differing(ref, ir),
            int((mine != theirs).sum()) if mine is not None else 0,
        )
        if any(counts):
            failures.append(
                f"{e.name}: one-row {counts[0]}, batch {counts[1]}, IR "
                f"{counts[2]} rows differ, {counts[3]} decision flips of {len(X)}"
            )
        rows += len(X)
        libraries.add(e.library)
        objectives.add(forest.objective)
        max_depth, max_trees = max(max_depth, forest.max_depth), max(max_trees, len(forest.trees))
    assert not failures, "\n".join(failures)
    assert libraries == {"xgboost", "lightgbm", "sklearn"}
    assert len(objectives) >= 20 and max_depth >= 12 and max_trees >= 2000 and rows > 50_000


def test_zoo_rows_reach_every_boundary(shipped):
    """The boundary rows hold, for every threshold, the threshold and both double neighbours,
    and NaN, +-inf, +-0 and the smallest subnormals: a mutant rule (< for <=) is caught."""
    _, prepared = shipped
    e, model, _, forest = next(p for p in prepared if p[0].name == "l_zero")
    X = zoo.boundary_rows(forest, finite=False, nan=True, n_random=16, seed=0)
    for f, thresholds in forest.thresholds().items():
        column = set(X[:, f].tolist())
        for t in thresholds.tolist():
            assert {t, float(np.nextafter(t, -np.inf)), float(np.nextafter(t, np.inf))} <= column
        assert {np.inf, -np.inf, 5e-324, 0.0} <= column and np.isnan(X[:, f]).any()
    import dataclasses

    wrong = dataclasses.replace(forest, rule=dataclasses.replace(forest.rule, compare="<"))
    assert zoo.differing(zoo.reference(e, model, forest, X), wrong.margins(X)) > 0


def test_zoo_swift_is_bit_exact(shipped, tmp_path):
    """One model per rule (LightGBM with zero-as-missing, a scikit-learn forest with float32
    inputs and double thresholds, HistGradientBoosting, XGBoost) in Swift, one swiftc run."""
    from featgen.harness import build_swift_library, swift_sources

    from .conftest import require_swiftc

    require_swiftc()
    _, prepared = shipped
    chosen = [
        p
        for p in prepared
        if p[0].name in ("l_zero", "s_rfc_multiclass", "s_hgbr_count", "x_reg_gamma")
    ]
    sources: dict[str, str] = {}
    for e, _, files, _ in chosen:
        sources.update(swift_sources(files, e.name))
    library = ctypes.CDLL(str(build_swift_library(sources, "ZooShims", tmp_path)))
    for k, (e, model, _files, forest) in enumerate(chosen):
        X = zoo.boundary_rows(forest, finite=False, nan=True, n_random=128, seed=k)
        ref = zoo.reference(e, model, forest, X)
        swift, _ = zoo.c_margins(library, e.name, forest, X, batch=False)
        assert zoo.differing(ref.astype(swift.dtype), swift) == 0, e.name


def test_zoo_android_module_compiles_with_double_margins(shipped, tmp_path):
    """The Android module of a double-margin model: the JNI bridge (jdoubleArray margins over
    the C detector, which the one-row C above proves) compiles with -Werror against the JDK's
    jni.h, and kotlinc accepts the Kotlin class (DoubleArray margins, a Long-bits threshold)."""
    import shutil
    import subprocess

    from featgen.harness import C_FLAGS

    from .conftest import require_tools

    require_tools(
        [t for t in ("javac", "kotlinc") if shutil.which(t) is None],
        "the Android module of a LightGBM model",
    )
    _, prepared = shipped
    e, _, files, _ = next(p for p in prepared if p[0].name == "l_binary")
    module = tmp_path / "android"
    for path, text in files.items():
        if path.startswith("android/"):
            (module / path).parent.mkdir(parents=True, exist_ok=True)
            (module / path).write_text(text)
    home = Path(shutil.which("javac")).resolve().parent.parent
    cpp = sorted(str(p) for p in module.rglob("*.c"))
    jni = next(p for p in module.rglob(f"{e.name}_jni.c")).read_text()
    assert "jdoubleArray margins" in jni and "SetDoubleArrayRegion" in jni
    subprocess.run(
        [
            "gcc",
            *C_FLAGS,
            "-fPIC",
            "-shared",
            f"-I{home / 'include'}",
            f"-I{home / 'include' / 'linux'}",
            "-o",
            str(tmp_path / "libjni.so"),
            *cpp,
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    kt = next(module.rglob("*.kt"))
    result = subprocess.run(
        ["kotlinc", str(kt), "-d", str(tmp_path / "classes")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "val margins: DoubleArray" in kt.read_text()
