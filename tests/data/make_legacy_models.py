"""Writes the legacy-binary XGBoost models and their margins that tests/test_import_model.py
imports (XGBoost's pre-2.1 ``save_model`` format, which the installed XGBoost 3.x cannot read).

Run with an XGBoost that still writes the format, e.g. xgboost-cpu 2.1.4:
    pip install --target /tmp/xgb21 --no-deps xgboost-cpu==2.1.4
    PYTHONPATH=/tmp/xgb21 python3 tests/data/make_legacy_models.py
Seeded: the same XGBoost gives the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xgboost

HERE = Path(__file__).resolve().parent
OBJECTIVES = {"binary:logistic": 0, "count:poisson": 0, "multi:softprob": 3}


def main() -> None:
    assert xgboost.__version__.startswith(("1.", "2.0", "2.1")), xgboost.__version__
    rng = np.random.default_rng(21)
    X = np.round(rng.normal(size=(400, 8)), 2)
    X[rng.random(X.shape) < 0.05] = np.nan
    s = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 4]) + 0.3 * rng.normal(size=400)
    labels = {
        "binary:logistic": (s > 0.3).astype(float),
        "count:poisson": np.floor(np.exp(s / 2)),
        "multi:softprob": np.digitize(s, [-0.5, 0.5]).astype(float),
    }
    rows = np.concatenate([X[:200], np.full((1, 8), np.nan), np.zeros((1, 8))])
    out = {"rows": rows, "xgboost_version": np.array(xgboost.__version__)}
    for objective, n_class in OBJECTIVES.items():
        params = {
            "objective": objective,
            "max_depth": 3,
            "eta": 0.3,
            "nthread": 1,
            "seed": 0,
            "tree_method": "hist",
        }
        if n_class:
            params["num_class"] = n_class
        booster = xgboost.train(params, xgboost.DMatrix(X, label=labels[objective]), 6)
        stem = objective.replace(":", "_")
        (HERE / f"legacy_{stem}.bin").write_bytes(bytes(booster.save_raw("deprecated")))
        margin = booster.predict(xgboost.DMatrix(rows, missing=np.nan), output_margin=True)
        out[stem] = np.asarray(margin, dtype=np.float32).reshape(len(rows), -1)
    np.savez(HERE / "legacy_margins.npz", **out)


if __name__ == "__main__":
    main()
