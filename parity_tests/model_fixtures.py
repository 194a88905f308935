"""Labelled data and trained models for the prediction tests (small, seeded, made at run time)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "examples" / "twist_and_go"


def make_data_module():
    """examples/twist_and_go/make_data.py, imported by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "twist_and_go_make_data", EXAMPLE_DIR / "make_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def labelled(subjects: int = 3, recordings: int = 1, seconds: float = 30.0, seed: int = 7):
    """{name: Recording} straight from the generator (no files)."""
    from featgen.data import Recording

    data = make_data_module().generate(subjects, recordings, seconds, seed)
    return {
        name: Recording(name, samples, labels.astype(np.int64), str(subject))
        for name, (samples, labels, subject) in data.items()
    }


def three_classes(recordings: dict) -> dict:
    """Class 1: twist; class 2: fast long-axis rotation that is not a twist; 0: the rest."""
    from featgen.data import Recording

    out = {}
    for name, rec in recordings.items():
        labels = rec.labels.copy()
        labels[(labels == 0) & (np.abs(rec.samples[:, 4]) > 2.0)] = 2
        out[name] = Recording(name, rec.samples, labels, rec.group)
    return out


def spec_with_model(directory: Path, model_dir: str, decision: str) -> Path:
    """The example spec, written to ``directory`` with its model: and decision: blocks replaced."""
    text = (EXAMPLE_DIR / "spec.yaml").read_text()
    text = text[: text.index("model: {path: model}")]
    text += f"model: {{path: {model_dir}}}\ndecision: {decision}\n"
    path = directory / "spec.yaml"
    path.write_text(text)
    return path
