"""The batch entry point ``<name>_model_margins_batch`` (c/<name>_model_batch.c, node tables, tree
by tree over blocks of rows): bit-equal to XGBoost and to the one-row ``<name>_model_margins`` on
every row, whatever the block a row falls in; on the example's model and data, on boundary
vectors (every threshold, its float32 and double neighbours, NaN, +-inf, subnormals...), and on
bare forests that exercise what the example does not: NaN sent both ways, deep unbalanced trees,
trees that are a single leaf, several classes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.trees import xgboost_json
from codegen.trees.model_dir import load_bundle
from featgen.harness import prediction as mh
from parity_tests.model_fixtures import labelled


def _with_nans(X: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    X = np.array(X, dtype=np.float64)
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


def _check(xgb: np.ndarray, one_row: np.ndarray, batch_fn, X: np.ndarray, block: int) -> None:
    """batch(X) == XGBoost == one row, bit for bit; and over slices that start and end inside
    blocks (a row's margin must not depend on its neighbours)."""
    batch = batch_fn(X)
    assert mh.bits_equal(xgb, one_row).all()
    assert mh.bits_equal(xgb, batch).all(), np.flatnonzero(~mh.bits_equal(xgb, batch))[:10]
    n = X.shape[0]
    for start, stop in ((0, 0), (0, 1), (3, 3 + block - 1), (block - 1, 2 * block + 2), (5, n)):
        stop = min(stop, n)
        part = batch_fn(X[start:stop])
        assert part.shape == (max(stop - start, 0), xgb.shape[1])
        assert stop == start or mh.bits_equal(batch[start:stop], part).all(), (start, stop)


@pytest.fixture(scope="module")
def example_batch(example, tmp_path_factory):
    spec, files, module = example
    bundle = load_bundle(spec)
    detector = mh.Detector(files, spec.name, tmp_path_factory.mktemp("batch"))
    return spec, files, module, bundle, mh.load_booster(bundle.raw), detector


def test_example_batch_is_bit_identical(example_batch, capsys):
    spec, files, module, bundle, booster, detector = example_batch
    recordings = labelled(subjects=1, seconds=60.0, seed=11)
    rows = np.concatenate([module.featurize(r.samples)[0] for r in recordings.values()])
    missing = _with_nans(rows[:1_500], 0.05, seed=2)
    boundary = mh.boundary_vectors(bundle.forest, rows[[0, len(rows) // 2]])
    X = np.concatenate([rows, missing, boundary])
    assert np.isnan(X).any() and X.shape[0] > 10_000
    block = getattr(detector.lib, f"{spec.name.upper()}_MODEL_BATCH_ROWS")
    X = X[: X.shape[0] - (X.shape[0] % block == 0)]  # a partial last block
    _check(mh.xgboost_margins(booster, X), detector.margins(X), detector.margins_batch, X, block)
    with capsys.disabled():
        print(
            f"\n    batch margins: {X.shape[0]} rows ({boundary.shape[0]} boundary vectors, "
            f"{missing.shape[0]} with NaNs) bit-equal to XGBoost and to the one-row function"
        )


def _train(params: dict, rounds: int, seed: int = 0):
    import xgboost

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4_000, 12))
    score = X[:, 0] + X[:, 1] * X[:, 2] - np.abs(X[:, 3])
    classes = params.get("num_class", 2)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    X = _with_nans(X, 0.1, seed + 1)  # default directions both ways
    X[:200, 4] = np.round(X[:200, 4], 1)  # repeated values: thresholds on data
    booster = xgboost.train(
        {"seed": 0, "nthread": 1, "tree_method": "hist", **params},
        xgboost.DMatrix(X, label=y),
        rounds,
    )
    raw = bytes(booster.save_raw("json"))
    doc = json.loads(raw, parse_float=str, parse_int=str)
    forest = xgboost_json.forest_from_json(doc, xgboost_json.base_margin_of(raw))
    return booster, forest, X


FORESTS = {
    "deep_unbalanced": (
        {
            "objective": "binary:logistic",
            "grow_policy": "lossguide",
            "max_depth": 0,
            "max_leaves": 48,
            "eta": 0.3,
        },
        30,
    ),
    "three_classes": ({"objective": "multi:softprob", "num_class": 3, "max_depth": 4}, 12),
    "leaf_only_trees": ({"objective": "binary:logistic", "max_depth": 3, "gamma": 1e9}, 4),
}


@pytest.mark.parametrize("kind", sorted(FORESTS))
def test_bare_forest_batch_is_bit_identical(kind, tmp_path):
    params, rounds = FORESTS[kind]
    booster, forest, X = _train(params, rounds)
    depths = [t.depth() for t in forest.trees]
    if kind == "deep_unbalanced":
        assert max(depths) >= 8 and len(set(depths)) > 1
        assert {n.default_left for t in forest.trees for n in t.nodes if not n.is_leaf} == {
            True,
            False,
        }
    if kind == "leaf_only_trees":
        assert max(depths) == 0
    if kind == "three_classes":
        assert forest.n_outputs == 3
    model = mh.ForestC(forest, tmp_path)
    rows = np.concatenate([X[:3_000], mh.boundary_vectors(forest, X[[7, 11]])])
    _check(
        mh.xgboost_margins(booster, rows),
        model.margins(rows),
        model.margins_batch,
        rows,
        model.batch_rows,
    )


def test_batch_c_compiles_strictly_without_heap_or_libm(example, tmp_path):
    spec, files, _ = example
    name = spec.name
    for rel in (f"c/{name}_model.h", f"c/{name}_model_batch.c"):
        (tmp_path / rel.split("/")[1]).write_text(files[rel])
    clang = shutil.which("clang") or shutil.which("clang-14")
    if clang is None:
        pytest.fail("clang not found: the CI machine must have it (install it in .ci/run)")
    for cc in ("gcc", clang):
        obj = tmp_path / f"batch_{Path(cc).name}.o"
        subprocess.run(
            [
                cc,
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-pedantic",
                "-Wconversion",
                "-Wshadow",
                "-Werror",
                "-O2",
                "-c",
                str(tmp_path / f"{name}_model_batch.c"),
                "-o",
                str(obj),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True).stdout
        # a compiler may turn the block's copy loops into memcpy/memset; nothing else
        assert set(re.findall(r"\bU (\w+)", undefined)) <= {"memcpy", "memset"}, undefined
    text = files[f"c/{name}_model_batch.c"]
    assert "malloc" not in text and "#pragma STDC FP_CONTRACT OFF" in text
    assert f"{name}_model_batch.c" in files["c/CMakeLists.txt"]
