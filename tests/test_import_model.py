"""featgen import-model: formats read by content, SageMaker artifacts, the feature-order check,
provenance, and every refusal as a clear exit-2 message; featgen train's --param, --params and
--early-stopping-rounds."""

from __future__ import annotations

import io
import json
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from featgen.cli import main

SPEC = """\
spec: featgen/v1
name: byom
sample_rate_hz: 50
inputs: [acc_x, gyro_y]
windows:
  short: {length: 10, hop: 1}
features:
  - compute: [mean, std, min, max]
    of: [acc_x, gyro_y]
    over: [short]
model: {path: model}
"""
NAMES = [
    "mean__acc_x__short",
    "std__acc_x__short",
    "min__acc_x__short",
    "max__acc_x__short",
    "mean__gyro_y__short",
    "std__gyro_y__short",
    "min__gyro_y__short",
    "max__gyro_y__short",
]


@pytest.fixture()
def spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def booster(names=NAMES, objective="binary:logistic", rounds=4, **params):
    import xgboost

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, len(NAMES)))
    y = (X[:, 0] > 0).astype(float) if objective.startswith("binary") else X[:, 0]
    d = xgboost.DMatrix(X, label=y, feature_names=list(names) if names else None)
    return xgboost.train(
        {"objective": objective, "max_depth": 2, "nthread": 1, **params}, d, rounds
    )


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_json_import_then_build(spec, tmp_path):
    b = booster()
    b.save_model(str(tmp_path / "notebook.json"))
    config = tmp_path / "config.json"
    config.write_text(b.save_config())
    code, out = run(
        "import-model",
        tmp_path / "notebook.json",
        "--spec",
        spec,
        "-o",
        tmp_path / "model",
        "--config",
        config,
    )
    assert code == 0, out
    assert "margins verified on 2048 probe rows" in out
    meta = json.loads((tmp_path / "model" / "featgen_model.json").read_text())
    p = meta["provenance"]
    assert p["source_format"] == "json" and p["saved_by_xgboost"][0] >= 2
    assert p["training_config"]["gradient_booster.tree_train_param.max_depth"] == "2"
    assert meta["params"]["objective.name"] == "binary:logistic"
    import hashlib

    assert (
        p["source_sha256"] == hashlib.sha256((tmp_path / "notebook.json").read_bytes()).hexdigest()
    )
    assert (
        meta["model_sha256"]
        == hashlib.sha256((tmp_path / "model" / "model.json").read_bytes()).hexdigest()
    )
    assert not list(tmp_path.glob(".model.featgen-tmp-*"))  # written atomically
    code, out = run("build", spec, "-o", tmp_path / "gen")
    assert code == 0, out
    assert "binary:logistic, 4 trees" in out


def sagemaker_tar(path, members: dict[str, bytes], gz: bool = True, symlink: str | None = None):
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)


def test_sagemaker_artifact(spec, tmp_path):
    raw = bytes(booster().save_raw("ubj"))
    sagemaker_tar(tmp_path / "model.tar.gz", {"xgboost-model": raw})
    code, out = run(
        "import-model", tmp_path / "model.tar.gz", "--spec", spec, "-o", tmp_path / "model"
    )
    assert code == 0, out
    meta = json.loads((tmp_path / "model" / "featgen_model.json").read_text())
    assert meta["provenance"]["source_format"] == "ubjson (tar member 'xgboost-model')"
    # a model file named like a model, whatever its extension: the content decides
    (tmp_path / "xgboost-model").write_bytes(raw)
    code, out = run(
        "import-model", tmp_path / "xgboost-model", "--spec", spec, "-o", tmp_path / "model2"
    )
    assert code == 0, out


def refused(spec, tmp_path, source, *extra):
    code, out = run("import-model", source, "--spec", spec, "-o", tmp_path / "out", *extra)
    assert code == 2, out
    assert "Traceback" not in out
    assert not (tmp_path / "out").exists()
    return " ".join(out.split())


def test_pickled_sagemaker_model_is_refused(spec, tmp_path):
    sagemaker_tar(tmp_path / "model.tar.gz", {"xgboost-model": pickle.dumps(booster())})
    out = refused(spec, tmp_path, tmp_path / "model.tar.gz")
    assert "a Python pickle" in out and "does not unpickle it" in out
    assert "runs whatever code the file names" in out
    assert "booster.save_model('model.json')" in out


def test_archive_members_are_never_paths(spec, tmp_path):
    raw = bytes(booster().save_raw("json"))
    sagemaker_tar(tmp_path / "a.tar.gz", {"../xgboost-model": raw, "code/x.py": b""})
    out = refused(spec, tmp_path, tmp_path / "a.tar.gz")
    assert "no 'xgboost-model' at the top of the archive" in out and "'../xgboost-model'" in out
    sagemaker_tar(tmp_path / "b.tar", {}, gz=False, symlink="xgboost-model")
    out = refused(spec, tmp_path, tmp_path / "b.tar")
    assert "is a link or special file" in out
    assert not (tmp_path / "xgboost-model").exists()


def test_feature_order_is_checked_by_name(spec, tmp_path):
    swapped = [NAMES[1], NAMES[0], *NAMES[2:]]
    booster(swapped).save_model(str(tmp_path / "m.json"))
    out = refused(spec, tmp_path, tmp_path / "m.json")
    assert (
        "first difference at column 0: expected 'mean__acc_x__short', got 'std__acc_x__short'"
    ) in out
    booster(NAMES[:-1] + ["extra"]).save_model(str(tmp_path / "m.json"))
    out = refused(spec, tmp_path, tmp_path / "m.json")
    assert "column 7: expected 'max__gyro_y__short', got 'extra'" in out


def test_a_booster_without_names_needs_feature_names(spec, tmp_path):
    booster(names=None).save_model(str(tmp_path / "m.ubj"))
    out = refused(spec, tmp_path, tmp_path / "m.ubj")
    assert "no feature names" in out and "--feature-names FILE" in out
    assert "never matches columns by position" in out
    # a featurize CSV header in the wrong order
    (tmp_path / "features.csv").write_text(
        "recording,end_sample,"
        + ",".join(NAMES[:4] + NAMES[5:] + NAMES[4:5])
        + "\nr,9,"
        + ",".join(["0"] * 8)
        + "\n"
    )
    out = refused(spec, tmp_path, tmp_path / "m.ubj", "--feature-names", tmp_path / "features.csv")
    assert "column 4: expected 'mean__gyro_y__short', got 'std__gyro_y__short'" in out
    (tmp_path / "names.txt").write_text("\n".join(NAMES) + "\n")
    code, out = run(
        "import-model",
        tmp_path / "m.ubj",
        "--spec",
        spec,
        "-o",
        tmp_path / "model",
        "--feature-names",
        tmp_path / "names.txt",
    )
    assert code == 0, out
    np.savez(tmp_path / "features.npz", features=np.zeros((1, 8)), feature_names=np.array(NAMES))
    code, out = run(
        "import-model",
        tmp_path / "m.ubj",
        "--spec",
        spec,
        "-o",
        tmp_path / "model",
        "--feature-names",
        tmp_path / "features.npz",
    )
    assert code == 0, out


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "the file is empty"),
        (b'{"learner": {"gradient_booster"', "starts like JSON but is not valid JSON"),
        (b"\x00\x01garbage" * 40, "not an XGBoost model"),
        (
            b"binf"
            + struct.pack("<f", 0.5)
            + b"\0" * 132
            + struct.pack("<Q", 15)
            + b"binary:logistic"
            + struct.pack("<Q", 6)
            + b"gbtree",
            "Treelite cannot read this legacy binary model",
        ),
        (b"\x1f\x8b\x08\x00garbage", "corrupt"),
    ],
)
def test_corrupt_files(spec, tmp_path, content, message):
    (tmp_path / "model.bin").write_bytes(content)
    assert message in refused(spec, tmp_path, tmp_path / "model.bin")


DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("stem", ["binary_logistic", "count_poisson", "multi_softprob"])
def test_legacy_binary_models_import_exactly(spec, tmp_path, stem):
    """Legacy binary models written by XGBoost 2.1 (tests/data/make_legacy_models.py), which the
    installed XGBoost cannot read: imported (no feature names in the format: --feature-names),
    their margins bit-equal to the ones XGBoost 2.1 computed from the original file."""
    import xgboost

    from codegen.trees.model_dir import load_bundle
    from featurespec import load_spec

    (tmp_path / "names.txt").write_text("\n".join(NAMES) + "\n")
    source = DATA / f"legacy_{stem}.bin"
    if stem == "count_poisson":  # as SageMaker's 1.x containers ship it
        sagemaker_tar(tmp_path / "model.tar.gz", {"xgboost-model": source.read_bytes()})
        source = tmp_path / "model.tar.gz"
    code, out = run(
        "import-model",
        source,
        "--spec",
        spec,
        "-o",
        tmp_path / "model",
        "--feature-names",
        tmp_path / "names.txt",
    )
    assert code == 0, out
    assert "legacy binary" in out
    expected = np.load(DATA / "legacy_margins.npz")
    rows, want = expected["rows"], expected[stem]
    b = xgboost.Booster()
    b.load_model(str(tmp_path / "model" / "model.json"))
    got = np.asarray(
        b.inplace_predict(rows, predict_type="margin", missing=np.nan), dtype=np.float32
    ).reshape(want.shape)
    assert (got.view(np.uint32) == want.view(np.uint32)).all()
    forest = load_bundle(load_spec(spec)).forest
    assert (forest.margins(rows).view(np.uint32) == want.view(np.uint32)).all()


def test_truncated_ubjson(spec, tmp_path):
    raw = bytes(booster().save_raw("ubj"))
    (tmp_path / "m").write_bytes(raw[: len(raw) // 2])
    out = refused(spec, tmp_path, tmp_path / "m")
    assert "XGBoost cannot load this ubjson model (truncated or corrupt?)" in out


def unsupported(kind):
    import xgboost

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 8))
    y = (X[:, 0] > 0).astype(float)
    if kind == "categorical":
        X[:, 2] = rng.integers(0, 4, 200)
        y = (X[:, 2] % 2).astype(float)
        d = xgboost.DMatrix(
            X,
            label=y,
            feature_names=NAMES,
            feature_types=["q", "q", "c", "q", "q", "q", "q", "q"],
            enable_categorical=True,
        )
        return xgboost.train(
            {"tree_method": "hist", "max_cat_to_onehot": 1, "max_depth": 3, "nthread": 1}, d, 3
        )
    d = xgboost.DMatrix(X, label=y, feature_names=NAMES)
    params = {
        "gblinear": {"booster": "gblinear", "objective": "binary:logistic"},
        "dart": {"booster": "dart", "objective": "binary:logistic", "rate_drop": 0.3},
        "rank": {"objective": "rank:pairwise"},
        "multi_output": {
            "tree_method": "hist",
            "multi_strategy": "multi_output_tree",
            "objective": "reg:squarederror",
        },
    }[kind]
    if kind == "rank":
        d.set_group([100, 100])
    if kind == "multi_output":
        d = xgboost.DMatrix(X, label=np.stack([X[:, 0], X[:, 1]], axis=1), feature_names=NAMES)
    return xgboost.train({**params, "nthread": 1}, d, 3)


@pytest.mark.parametrize(
    "kind,message",
    [
        ("gblinear", "booster 'gblinear' is not supported: a linear model has no trees"),
        ("dart", "booster 'dart' is not supported"),
        ("categorical", "feature 'min__acc_x__short' is categorical (feature_types 'c')"),
        ("rank", "objective 'rank:pairwise' is not supported: a ranking objective"),
        ("multi_output", "targets"),
    ],
)
def test_unsupported_models_are_refused_with_the_reason(spec, tmp_path, kind, message):
    unsupported(kind).save_model(str(tmp_path / "m.json"))
    assert message in refused(spec, tmp_path, tmp_path / "m.json")


def test_output_that_is_not_a_model_directory_is_kept(spec, tmp_path):
    booster().save_model(str(tmp_path / "m.json"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    code, out = run("import-model", tmp_path / "m.json", "--spec", spec, "-o", tmp_path / "out")
    assert code == 2 and "not a featgen model directory" in " ".join(out.split())
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


# ---------------------------------------------------------------- featgen train's new options


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory):
    """Three subjects' recordings (acc_x, gyro_y, label, subject) from the example generator."""
    from parity_tests.model_fixtures import labelled

    out = tmp_path_factory.mktemp("csv")
    paths = []
    for name, rec in labelled(subjects=3, seconds=20.0, seed=4).items():
        path = out / f"{name}.csv"
        rows = ["acc_x,gyro_y,label,subject"] + [
            f"{a!r},{g!r},{label},{rec.group}"
            for (a, g), label in zip(rec.samples[:, [0, 4]].tolist(), rec.labels.tolist())
        ]
        path.write_text("\n".join(rows) + "\n")
        paths.append(path)
    return paths


def test_train_param_params_and_early_stopping(spec, tmp_path, labelled_csv):
    import xgboost

    (tmp_path / "params.yaml").write_text(
        "subsample: 0.8\nscale_pos_weight: 5\nmonotone_constraints: [1, 0, 0, 0, 0, 0, 0, 0]\n"
    )
    code, out = run(
        "train",
        spec,
        *labelled_csv,
        "-o",
        tmp_path / "model",
        "--rounds",
        300,
        "--params",
        tmp_path / "params.yaml",
        "--param",
        "min_child_weight=2",
        "--early-stopping-rounds",
        5,
    )
    assert code == 0, out
    meta = json.loads((tmp_path / "model" / "featgen_model.json").read_text())
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    s = metrics["early_stopping"]
    assert s["rounds_trained"] < 300 and s["rounds_shipped"] == s["best_iteration"] + 1
    assert "best iteration" in out and "shipped" in out
    assert meta["params"]["subsample"] == 0.8 and meta["params"]["min_child_weight"] == "2"
    assert meta["params"]["monotone_constraints"] == "(1,0,0,0,0,0,0,0)"
    assert meta["params"]["shipped_rounds"] == s["rounds_shipped"]
    b = xgboost.Booster()
    b.load_model(str(tmp_path / "model" / "model.json"))
    assert b.num_boosted_rounds() == s["rounds_shipped"]


@pytest.mark.parametrize(
    "args,message",
    [
        (("--param", "max_deph=3"), "XGBoost does not use these parameters"),
        (("--param", "max_depth=abc"), "XGBoost refused the parameters"),
        (("--param", "objective=reg:gamma"), "--param objective: set by --objective"),
        (("--param", "nonsense"), "expected key=value"),
    ],
)
def test_train_parameter_errors(spec, tmp_path, labelled_csv, args, message):
    code, out = run("train", spec, *labelled_csv, "-o", tmp_path / "model", "--rounds", 2, *args)
    assert code == 2, out
    assert message in " ".join(out.split()) and "Traceback" not in out


def test_train_a_regression(spec, tmp_path, labelled_csv):
    code, out = run(
        "train",
        spec,
        *labelled_csv,
        "-o",
        tmp_path / "model",
        "--rounds",
        5,
        "--objective",
        "count:poisson",
    )
    assert code == 0, out
    assert "held out (count:poisson): RMSE" in out and "no decision" in out
    code, out = run("build", spec, "-o", tmp_path / "gen")
    assert code == 0, out
    assert "count:poisson" in out and "never (no threshold" in out
