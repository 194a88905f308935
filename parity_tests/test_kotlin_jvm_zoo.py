"""The pure Kotlin model and detector of LightGBM and scikit-learn models (each library's own
``Rule``: double thresholds, ``<=``, zero flush and zero band, Double sums, an averaged forest's
final division, float32 inputs against double thresholds) on the JVM, against the library's own
margins on the zoo's boundary rows (parity_tests/model_zoo.py): every margin bit-equal, the
Kotlin decision (``margin >= MARGIN_THRESHOLD`` in the margin's type, or the argmax) never
flipped against the library's transformed prediction. One kotlinc run for all the models (about
a minute), with negative-control copies whose trees compare with ``<`` instead of ``<=``.

Without kotlinc or java these tests skip loudly; with CI=true they fail (.ci/run installs them).
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from codegen.backends.kotlin_jvm import KOTLIN_PACKAGE, source_dir, upper_camel
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from featgen.harness import load_numpy_module
from featgen.harness.kotlin_jvm_runtime import KotlinRuntime, margin_type, missing_tools
from featgen.harness.recordings import parity_recordings

from . import model_zoo as zoo
from .conftest import require_tools

if os.environ.get("CI") != "true":  # CI installs the extras (.ci/run): never skipped there
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")

# one model per rule and transform: LightGBM binary with zero-as-missing (flush, zero band,
# logistic), multiclass (softmax), boosting=rf (average); scikit-learn RandomForest (float32
# input, double thresholds, average), GradientBoosting (NaN falls through <=) and
# HistGradientBoosting (double input, exp)
CHOSEN = ("l_zero", "l_multiclass", "l_rf", "s_rfc_binary", "s_gbc_binary", "s_hgbr_count")
CONTROLS = ("l_zero", "s_rfc_binary")  # compiled again with `<` for `<=`
N_RANDOM = 128  # random boundary rows per model, besides every feature's boundary values
ZOO_PACKAGE = KOTLIN_PACKAGE + ".zoo"
CONTROL_PACKAGE = KOTLIN_PACKAGE + ".zoocontrol"

_FIRST_TEST = re.compile(r"^(\s*if \((?:!\()?)(\S+) (>|<=) ", re.M)


def strict_compare(model_text: str) -> str:
    """The model with every split's own test made strict (``x <= t`` -> ``x < t``, ``!(x > t)``
    -> ``!(x >= t)``; the zero band untouched): the rule of XGBoost, not the model's."""
    out, n = _FIRST_TEST.subn(
        lambda m: f"{m.group(1)}{m.group(2)} {'>=' if m.group(3) == '>' else '<'} ", model_text
    )
    assert n > 0, "no <= split to perturb"
    return out.replace(f"package {KOTLIN_PACKAGE}\n", f"package {CONTROL_PACKAGE}\n", 1)


def _decision_kind(files: dict) -> str:
    return manifest_of(files).model.decision["kind"]


def zoo_driver(models: list[tuple[str, str, str, str, str]]) -> str:
    """``ZooMain <mode> <in> <out>``: per row the margins (Float or Double, little-endian) then
    the Kotlin decision as an int: 1/0 against the detector's MARGIN_THRESHOLD (in the margin's
    type), the model's argmax for a multiclass model, -1 without a decision. ``models``: (mode,
    package, camel name, margin type, decision kind)."""
    funs, cases = [], []
    for mode, package, camel, m_type, kind in models:
        model = f"{package}.{camel}Model"
        decide = {
            "binary": f"if (m[0] >= {KOTLIN_PACKAGE}.{camel}Detector.MARGIN_THRESHOLD) 1 else 0",
            "multiclass": f"{model}.argmax(m)",
        }.get(kind, "-1")
        width = 8 if m_type == "Double" else 4
        funs.append(
            f"""
    private fun run_{mode}(x: Array<DoubleArray>): ByteBuffer {{
        val k = {model}.OUTPUT_COUNT
        val b = ByteBuffer.allocate(x.size * ({width} * k + 4)).order(ByteOrder.LITTLE_ENDIAN)
        val m = {m_type}Array(k)
        for (v in x) {{
            {model}.margins(v, m)
            for (y in m) b.put{m_type}(y)
            b.putInt({decide})
        }}
        return b
    }}
"""
        )
        cases.append(f'            "{mode}" -> run_{mode}(x)')
    return (
        f"package {ZOO_PACKAGE}\n\n"
        "import java.nio.ByteBuffer\nimport java.nio.ByteOrder\n"
        "import java.nio.file.Files\nimport java.nio.file.Paths\n\n"
        "object ZooMain {\n"
        "    private fun rows(path: String): Array<DoubleArray> {\n"
        "        val b = ByteBuffer.wrap(Files.readAllBytes(Paths.get(path)))"
        ".order(ByteOrder.LITTLE_ENDIAN)\n"
        "        val n = b.getInt()\n        val d = b.getInt()\n"
        "        return Array(n) { DoubleArray(d) { b.getDouble() } }\n    }\n"
        + "".join(funs)
        + "\n    @JvmStatic\n    fun main(args: Array<String>) {\n"
        "        val x = rows(args[1])\n        val b: ByteBuffer = when (args[0]) {\n"
        + "\n".join(cases)
        + '\n            else -> throw IllegalArgumentException("unknown mode " + args[0])\n'
        "        }\n        Files.write(Paths.get(args[2]), b.array().copyOf(b.position()))\n"
        "    }\n}\n"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The chosen zoo models trained, shipped and built, and all their kotlin/ sources plus the
    controls and the driver compiled in one kotlinc run."""
    require_tools(missing_tools(), "the pure Kotlin model of LightGBM and scikit-learn models")
    root = tmp_path_factory.mktemp("kotlin-zoo")
    entries = {e.name: e for e in zoo.zoo()}
    prepared, sources, drivers, specs = [], {}, [], {}
    for k, name in enumerate(CHOSEN):
        e = entries[name]
        model = zoo.train(e, 400, seed=k)
        spec, files, forest = zoo.ship(e, model, root / name)
        assert forest.rule.library != "xgboost", name
        camel = upper_camel(name)
        ours = {p: t for p, t in files.items() if p.startswith("kotlin/") and p.endswith(".kt")}
        model_path = f"{source_dir()}/{camel}Model.kt"
        assert model_path in ours and f"{source_dir()}/{camel}Detector.kt" in ours, name
        sources.update(ours)
        m_type, kind = margin_type(ours[model_path]), _decision_kind(files)
        drivers.append((name, KOTLIN_PACKAGE, camel, m_type, kind))
        if name in CONTROLS:
            sources[f"control/{camel}Model.kt"] = strict_compare(ours[model_path])
            drivers.append((f"control_{name}", CONTROL_PACKAGE, camel, m_type, kind))
        prepared.append((k, e, model, files, forest, m_type))
        specs[name] = spec
    first = prepared[0][3]  # its parity driver streams the first model's Kotlin detector
    runtime = KotlinRuntime(
        first, CHOSEN[0], root / "jvm", extra={**sources, "zoo/ZooMain.kt": zoo_driver(drivers)}
    )
    return runtime, prepared, specs


def run_zoo(runtime: KotlinRuntime, mode: str, X: np.ndarray, k: int, m_type: str):
    """(margins (rows, k) float32 or float64, decisions (rows,) int) from ZooMain."""
    src = runtime._rows_file(X)
    dst = runtime.workdir / f"zoo-{mode}.bin"
    runtime.run_main(f"{ZOO_PACKAGE}.ZooMain", mode, str(src), str(dst))
    w = "<f8" if m_type == "Double" else "<f4"
    rec = np.frombuffer(dst.read_bytes(), dtype=np.dtype([("m", w, (k,)), ("d", "<i4")]))
    return rec["m"].astype(np.float64 if m_type == "Double" else np.float32), rec["d"]


def test_kotlinc_compiles_every_rule_without_warnings(built):
    runtime = built[0]
    assert runtime.warnings == []


def test_zoo_margins_bit_equal_and_no_decision_flips(built, capsys):
    runtime, prepared, _ = built
    failures, rows, decided = [], 0, 0
    for k, e, model, files, forest, m_type in prepared:
        X = zoo.boundary_rows(forest, finite=False, nan=True, n_random=N_RANDOM, seed=k)
        ref = zoo.reference(e, model, forest, X)
        got, decision = run_zoo(runtime, e.name, X, forest.n_outputs, m_type)
        assert got.dtype == (np.float64 if forest.rule.accumulate == "float64" else np.float32)
        ref = ref.astype(got.dtype)
        _, theirs = zoo.decisions(files, forest, got, zoo._transformed(e, model, forest, X, ref))
        kind = _decision_kind(files)
        flips = 0
        if kind == "binary":
            flips = int((decision != theirs.astype(np.int32)).sum())
        elif kind == "multiclass":
            flips = int((decision != theirs).sum())
        else:
            assert (decision == -1).all()
        differ = zoo.differing(ref, got)
        if differ or flips:
            failures.append(f"{e.name}: {differ} of {len(X)} rows differ, {flips} decision flips")
        rows += len(X)
        decided += len(X) if kind != "none" else 0
    assert not failures, "\n".join(failures)
    with capsys.disabled():
        print(
            f"\n    Kotlin/JVM zoo: {len(prepared)} LightGBM/scikit-learn models, {rows} boundary "
            f"rows 100% bit-equal to the libraries' margins, 0 flips in {decided} decisions"
        )


def test_negative_control_strict_compare_is_caught(built, capsys):
    """The same models with ``<`` for ``<=``: the boundary rows (every threshold itself) must
    show it, else the margins comparison above could not fail."""
    runtime, prepared, _ = built
    for k, e, model, _files, forest, m_type in prepared:
        if e.name not in CONTROLS:
            continue
        X = zoo.boundary_rows(forest, finite=False, nan=True, n_random=N_RANDOM, seed=k)
        ref = zoo.reference(e, model, forest, X)
        bad, _ = run_zoo(runtime, f"control_{e.name}", X, forest.n_outputs, m_type)
        n = zoo.differing(ref.astype(bad.dtype), bad)
        assert n > 0, f"{e.name}: `<` for `<=` changed no margin"
        with capsys.disabled():
            print(f"\n    {e.name} with `<` for `<=`: {n} of {len(X)} rows differ (caught)")


def test_zoo_detector_streams_double_margins_and_events(built, capsys):
    """The first model's Kotlin detector (Double margins, a Double MARGIN_THRESHOLD) pushed
    sample by sample over recordings with NaN/inf rows: every vector's margins bit-equal to
    LightGBM's on the numpy features, decisions and events equal to the decision block's."""
    runtime, prepared, specs = built
    k, e, model, files, forest, m_type = prepared[0]
    assert m_type == "Double"
    module = load_numpy_module(files, e.name)
    decision = decisions.resolve(specs[e.name].decision, forest)
    assert decision.kind == "binary" and decision.precision == "float64"
    vectors = events = 0
    for label, samples in parity_recordings(2, n=3_000, count=2).items():
        features, ends = module.featurize(samples, nonfinite="drop")
        got = runtime.detector(samples)
        assert np.array_equal(got["ends"], ends), label
        ref = zoo.reference(e, model, forest, features)
        assert got["margins"].dtype == np.float64
        assert zoo.differing(ref, got["margins"]) == 0, label
        positive = decisions.positive(decision, ref)
        finite = np.isfinite(samples).all(axis=1)
        _, fired = decisions.events(decision, positive, np.cumsum(finite)[ends] - 1)
        assert np.array_equal(got["positive"], positive), label
        assert np.array_equal(got["event"], fired), label
        vectors += len(ref)
        events += int(fired.sum())
    assert vectors > 5_000 and events > 0
    with capsys.disabled():
        print(
            f"\n    Kotlin/JVM {e.name} detector: {vectors} vectors, Double margins bit-equal to "
            f"LightGBM, decisions and {events} events equal"
        )
