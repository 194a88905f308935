"""Prediction parity: XGBoost (the validated model) vs featgen's C and Swift detectors (bit for
bit: margins, decisions, events), with TL2cgen's C and the Core ML model measured and reported;
on recordings and on boundary vectors derived from the model's thresholds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from codegen.build import generate
from codegen.bundle import manifest_of
from codegen.trees import coreml, fp32, xgboost_json
from codegen.trees import decision as decisions
from codegen.trees.model_dir import load_bundle
from featgen import harness
from featgen.harness import adapters
from featgen.harness import prediction as mh
from featgen.harness.recordings import parity_recordings
from featurespec import load_spec
from parity_tests.conftest import c_and_swift_detectors, require_swiftc
from parity_tests.model_fixtures import labelled, spec_with_model, three_classes

CLANG = shutil.which("clang") or shutil.which("clang-14")


@pytest.fixture(scope="session")
def example_model(example, tmp_path_factory):
    spec, files, module = example
    bundle = load_bundle(spec)
    parity = mh.ModelParity(files, spec.name, tmp_path_factory.mktemp("model"), module)
    return spec, files, module, bundle, mh.load_booster(bundle.raw), parity


@pytest.fixture(scope="session")
def data_recordings():
    return {k: v.samples for k, v in labelled(subjects=2, seconds=40.0, seed=11).items()}


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n    {line}")


def test_example_model_is_imbalanced_and_modest(example_model):
    spec, files, _, bundle, _, _ = example_model
    forest = bundle.forest
    assert forest.base_margin[0] < -2.0  # base_score ~0.04: far from 0.5 (margin 0)
    assert len(forest.trees) <= 100 and forest.max_depth <= 6
    model = manifest_of(files).model
    assert model.model_sha256 == bundle.model_sha256
    assert model.base_margin == (fp32.hex32(forest.base_margin[0]),)


def test_example_predictions_are_bit_identical(example_model, data_recordings, capsys):
    spec, _, _, bundle, booster, parity = example_model
    result = mh.ModelComparison()
    recordings = {**parity_recordings(len(spec.inputs), n=6_000, count=3), **data_recordings}
    for label, samples in recordings.items():
        parity.compare_recording(booster, label, samples, result)
    report = result.to_json()
    assert result.identical, report
    assert result.vectors > 20_000 and result.events > 0
    assert report["targets"]["C"]["probabilities_bit_equal_pct"] > 99.0  # same libm: informative
    assert report["tl2cgen"]["max_abs_margin_diff"] < 1e-4
    assert report["coreml_spec_evaluator"]["max_abs_margin_diff"] < 1e-4
    _report(
        capsys,
        f"{result.vectors} vectors: own C 100% margins/decisions/events; TL2cgen "
        f"{report['tl2cgen']['margins_bit_equal_pct']:.1f}% bit-equal margins (max "
        f"{report['tl2cgen']['max_abs_margin_diff']:.2g}); Core ML "
        f"{report['coreml_spec_evaluator']['margins_equal_after_float32_rounding_pct']:.1f}%"
        f" (max {report['coreml_spec_evaluator']['max_abs_margin_diff']:.2g}), decisions "
        f"{report['coreml_spec_evaluator']['decisions_equal_pct']:.2f}%",
    )


def test_boundary_vectors(example_model, data_recordings, capsys):
    """Every threshold t, its float32 neighbours, the doubles that round onto or off t, t +- 1
    double ULP, NaN, +-inf, +-0, subnormals, FLT_MAX and beyond, on real feature rows."""
    spec, _, module, bundle, booster, parity = example_model
    rows = module.featurize(next(iter(data_recordings.values())))[0]
    out = mh.boundary_check(parity, booster, bundle.forest, rows)
    n = out["vectors"]
    assert n > 10_000
    assert out["targets_margins_bit_equal"] == {"C": n}
    assert out["reference_rule_bit_equal"] == n
    assert out["coreml_same_leaves"] == n  # Float-rounded inputs: XGBoost's paths
    assert out["coreml_unrounded_inputs_same_leaves"] < n  # raw doubles take other branches
    _report(
        capsys,
        f"{n} boundary vectors: own C {n}/{n}; TL2cgen "
        f"{out['tl2cgen_margins_bit_equal']}; Core ML same leaves {n}/{n} with "
        f"Float-rounded inputs, {out['coreml_unrounded_inputs_same_leaves']} without",
    )


def test_swift_detector_is_bit_identical(example, example_model, data_recordings, tmp_path):
    require_swiftc()
    spec, files, module, bundle, booster, _ = example_model
    parity = mh.ModelParity(
        files,
        spec.name,
        tmp_path,
        module,
        with_tl2cgen=False,
        detectors=c_and_swift_detectors(files, tmp_path),
    )
    result = mh.ModelComparison()
    recordings = {**parity_recordings(len(spec.inputs), n=4_000, count=2), **data_recordings}
    for label, samples in recordings.items():
        parity.compare_recording(booster, label, samples, result)
    assert "Swift" in result.targets and result.identical, result.to_json()
    rows = module.featurize(next(iter(data_recordings.values())))[0]
    out = mh.boundary_check(parity, booster, bundle.forest, rows, n_base=1)
    assert out["targets_margins_bit_equal"]["Swift"] == out["vectors"]


@pytest.fixture(scope="session")
def multiclass(tmp_path_factory):
    from featgen.train import Params, train

    root = tmp_path_factory.mktemp("multiclass")
    spec_path = spec_with_model(root, "mc", "{class: 1, consecutive: 2, refractory: 10}")
    spec = load_spec(spec_path)
    recordings = three_classes(labelled(subjects=3, seconds=30.0, seed=3))
    metrics = train(
        spec, recordings, root / "mc", Params(objective="multi:softprob", rounds=8, max_depth=3)
    )
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    return spec, files, module, recordings, metrics, root


def test_multiclass_end_to_end(multiclass, capsys):
    spec, files, module, recordings, metrics, root = multiclass
    assert metrics["objective"] == "multi:softprob"
    assert len(metrics["confusion_matrix"]["rows_true_cols_predicted"]) == 3
    bundle = load_bundle(spec)
    assert bundle.forest.n_outputs == 3
    booster = mh.load_booster(bundle.raw)
    swift = ("Swift",) if harness.find_swiftc() is not None else ()
    detectors = adapters.detectors(files, root / "work", ("C", *swift))
    parity = mh.ModelParity(files, spec.name, root / "work", module, detectors=detectors)
    result = mh.ModelComparison()
    data = {k: v.samples for k, v in recordings.items()}
    for label, samples in {**data, **parity_recordings(len(spec.inputs), 3_000, 2)}.items():
        parity.compare_recording(booster, label, samples, result)
    assert result.identical, result.to_json()
    assert result.events > 0
    report = result.to_json()
    assert report["targets"]["C"]["probabilities_bit_equal_pct"] > 99.0  # softmax, informative
    rows = module.featurize(next(iter(data.values())))[0]
    out = mh.boundary_check(parity, booster, bundle.forest, rows, n_base=1)
    assert set(out["targets_margins_bit_equal"]) == {"C", *swift}
    assert all(n == out["vectors"] for n in out["targets_margins_bit_equal"].values())
    assert out["coreml_same_leaves"] == out["vectors"]
    _report(
        capsys,
        f"multi:softprob (3 classes): {result.vectors} vectors bit-identical; "
        f"Core ML margins {report['coreml_spec_evaluator']['margins_equal_after_float32_rounding_pct']:.1f}% "
        f"equal after rounding, argmax decisions "
        f"{report['coreml_spec_evaluator']['decisions_equal_pct']:.2f}%",
    )


def test_multiclass_refuses_a_probability_threshold(multiclass, tmp_path):
    from featurespec import SpecError

    spec, _, _, _, _, root = multiclass
    text = (root / "spec.yaml").read_text().replace("{class: 1,", "{threshold: 0.7,")
    path = root / "spec_threshold.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        generate(load_spec(path))
    assert re.search(
        r"spec_threshold\.yaml:\d+:23: decision\.threshold: this model has 3 "
        r"classes and decides by the largest margin",
        str(info.value),
    )


# ---------------------------------------------------------------- the rules, one by one


def test_margin_threshold_is_exact_against_xgboosts_own_sigmoid():
    """m* from the float32 replica; then XGBoost itself (a zero-leaf model fed base margins)
    gives prob >= p at m* and above, < p below, for float32 neighbours of m*."""
    import xgboost

    ks = np.arange(-64, 65)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 1},
        xgboost.DMatrix(np.zeros((4, 1)), label=[0, 1, 0, 1]),
        1,
    )
    raw = bytearray(booster.save_raw("json"))
    doc = json.loads(raw)
    for t in doc["learner"]["gradient_booster"]["model"]["trees"]:
        t["split_conditions"] = [0.0 for _ in t["split_conditions"]]
    zero = xgboost.Booster()
    zero.load_model(bytearray(json.dumps(doc).encode()))
    for p in (0.5, 0.8, 0.1, 0.9, 0.99, 0.999, 0.3, 0.05, 0.7, 0.123456789):
        m = fp32.margin_threshold(p)
        margins = np.array([fp32.next_f32(m, int(k)) for k in ks], dtype=np.float32)
        d = xgboost.DMatrix(np.zeros((len(ks), 1)), base_margin=margins)
        zero_base = zero.predict(d, output_margin=True) - margins  # must be 0
        assert not zero_base.any()
        prob = zero.predict(d).astype(np.float64)
        assert (prob[ks >= 0] >= p).all() and (prob[ks < 0] < p).all(), p
        assert abs(fp32.ordered(m) - fp32.ordered(fp32.exact_margin_threshold(p))) < 300 or p == 0.5


def test_margin_threshold_agrees_with_this_machines_expf():
    libm = fp32.libm_expf()
    if libm is None:
        pytest.skip("no C library expf to compare with")
    rng = np.random.default_rng(1)
    for p in rng.uniform(0.01, 0.99, 40):
        assert fp32.margin_threshold(float(p)) == fp32.margin_threshold(
            float(p), exp=libm, window=64
        )


def test_event_state_machine():
    d = decisions.Decision("binary", 0.5, 0.0, 1, consecutive=2, refractory=3)
    positive = np.array([1, 1, 1, 1, 1, 1, 1, 0, 1, 1], dtype=bool)
    ordinals = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    runs, fired = decisions.events(d, positive, ordinals)
    # fires at 1; 2-4 refractory; counts again from 5: fires at 6; 7-9 refractory
    assert fired.tolist() == [False, True, False, False, False, False, True, False, False, False]
    assert runs.tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    # a hop: samples without vectors still count towards the refractory period
    runs, fired = decisions.events(d, np.array([1, 1, 1, 1], dtype=bool), np.array([0, 1, 5, 6]))
    assert fired.tolist() == [False, True, False, True]
    assert decisions.argmax_first(
        np.array([[1, 3, 3], [2, 2, 2], [0, -1, 5]], dtype=np.float32)
    ).tolist() == [1, 0, 2]


def test_coreml_check_refuses_the_converters_base_and_any_tampering(example_model):
    spec, files, _, bundle, _, _ = example_model
    Model_pb2 = coreml.proto()
    good = Model_pb2.Model.FromString(files["coreml/TwistAndGoModel.mlmodel"])
    forest, names = mh.device_model(files, spec.name, bundle.forest, spec.feature_names)
    assert coreml.check(good, forest, names) == []
    zero_base = Model_pb2.Model.FromString(good.SerializeToString())
    ens = zero_base.treeEnsembleClassifier.treeEnsemble
    del ens.basePredictionValue[:]
    ens.basePredictionValue.append(0.0)  # what coremltools writes
    assert any("basePredictionValue" in p for p in coreml.check(zero_base, forest, names))
    nudged = Model_pb2.Model.FromString(good.SerializeToString())
    node = next(
        n for n in nudged.treeEnsembleClassifier.treeEnsemble.nodes if n.nodeBehavior == 1
    )  # BranchOnValueLessThan
    node.branchFeatureValue = float(np.nextafter(node.branchFeatureValue, np.inf))
    assert coreml.check(nudged, forest, names)
    meta = dict(good.description.metadata.userDefined)
    assert meta["featgen.model_sha256"] == bundle.model_sha256
    assert good.SerializeToString(deterministic=True) == files["coreml/TwistAndGoModel.mlmodel"]


def test_tl2cgen_output_is_deterministic(example_model):
    from codegen.trees import tl2cgen_emit

    _, files, _, bundle, _, _ = example_model
    first, second = tl2cgen_emit.generate(bundle.raw), tl2cgen_emit.generate(bundle.raw)
    assert first == second
    assert first["main.c"].rstrip().splitlines()[-1] in files["c/tl2cgen/main.c"]


def _write_c(files, tmp_path):
    for rel, text in files.items():
        if rel.startswith("c/") and rel.endswith((".c", ".h", ".txt")):
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return tmp_path / "c"


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_model_and_detector_c_compile_strictly(example_model, tmp_path, compiler):
    if compiler == "clang" and CLANG is None:
        pytest.fail("clang not found: the CI machine must have it (install it in .ci/run)")
    spec, files, _, _, _, _ = example_model
    c_dir = _write_c(files, tmp_path)
    cc = compiler if compiler == "gcc" else CLANG
    symbols = set()
    for part in ("model", "detector"):
        obj = tmp_path / f"{part}.o"
        subprocess.run(
            [
                cc,
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-pedantic",
                "-Werror",
                "-O2",
                "-c",
                str(c_dir / f"{spec.name}_{part}.c"),
                "-o",
                str(obj),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True).stdout
        symbols |= set(re.findall(r"\bU (\w+)", undefined))
    feat, _ = mh.device_featuriser(files, spec.name)
    own = {f"{feat}_init", f"{feat}_push"} | {
        f"{spec.name}_{f}" for f in ("model_margins", "model_probability")
    }
    assert symbols <= {"expf", "memset"} | own, symbols  # no heap, no other libm
    assert "malloc" not in files[f"c/{spec.name}_detector.c"]
    for part in ("model", "detector"):
        assert "#pragma STDC FP_CONTRACT OFF" in files[f"c/{spec.name}_{part}.c"]
    assert f"add_library({spec.name}_detector" in files["c/CMakeLists.txt"]
    cpp = tmp_path / "use.cpp"
    cpp.write_text(
        f'#include "{spec.name}_detector.h"\n'
        f"int main() {{ {spec.name}_detector d; {spec.name}_detector_init(&d); "
        "return 0; }\n"
    )
    subprocess.run(
        [
            "g++",
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-pedantic",
            "-Werror",
            "-I",
            str(c_dir),
            "-c",
            str(cpp),
            "-o",
            str(tmp_path / "use.o"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def test_generated_literals_are_the_models_floats(example_model):
    spec, files, _, bundle, _, _ = example_model
    c = files[f"c/{spec.name}_model.c"]
    literals = {float.fromhex(x) for x in re.findall(r"(-?0x[0-9a-f.]+p[+-]\d+)f", c)}
    values = {n.threshold for t in bundle.forest.trees for n in t.nodes if not n.is_leaf}
    values |= {n.value for t in bundle.forest.trees for n in t.nodes if n.is_leaf}
    assert values <= literals
    assert all(fp32.is_f32(v) for v in literals)
    assert f"float m0 = {fp32.c_literal(bundle.forest.base_margin[0])};" in c


def test_proximity_counts(example_model, data_recordings):
    from codegen.trees.proximity import proximity, ulps_to_nearest_threshold

    spec, _, module, bundle, _, _ = example_model
    thresholds = np.array([1.0, 2.0], dtype=np.float32)
    values = np.array(
        [1.0, fp32.next_f32(1.0, 3), fp32.next_f32(2.0, -5), np.nan, 1.5, 1.0 + 1e-12]
    )
    assert ulps_to_nearest_threshold(values, thresholds).tolist()[:4] == [0, 3, 5, -1]
    assert ulps_to_nearest_threshold(values, thresholds)[5] == 0  # rounds onto 1.0f
    X = module.featurize(next(iter(data_recordings.values())))[0]
    rows = proximity(bundle.forest, X, spec.feature_names, k=4)
    assert rows and all(r["within_k"] >= r["exactly_on"] for r in rows)
    assert {r["feature"] for r in rows} <= set(spec.feature_names)


def test_forest_reference_rule_matches_xgboost_with_missing_values():
    import xgboost

    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 8))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0.5).astype(int)
    X[rng.random(X.shape) < 0.1] = np.nan  # default directions get used
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3},
        xgboost.DMatrix(X, label=y),
        20,
    )
    raw = bytes(booster.save_raw("json"))
    doc = json.loads(raw, parse_float=str, parse_int=str)
    forest = xgboost_json.forest_from_json(doc, xgboost_json.base_margin_of(raw))
    assert any(n.default_left for t in forest.trees for n in t.nodes if not n.is_leaf)
    dump = xgboost_json.treelite_dump(raw)
    assert xgboost_json.cross_check_treelite(forest, dump) == []
    assert xgboost_json.treelite_base_margin(dump) == forest.base_margin
    assert mh.bits_equal(mh.xgboost_margins(booster, X), forest.margins(X)).all()
