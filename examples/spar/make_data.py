#!/usr/bin/env python3
"""The SPAR smartwatch recordings in featgen's recording format (one NPZ archive).

Data: the shoulder-exercise recordings of Burns, Leung, Hardisty, Whyne, Henry and McLachlin,
"Shoulder physiotherapy exercise recognition: machine learning the inertial signals from a
smartwatch", Physiological Measurement 39(7), 2018 (arXiv:1802.01489). Each recording is one set
of 20 repetitions of one exercise; 140 recordings (10 subjects x 7 exercises x 2 sides: the
data set's ``side``, 0 left, 1 right), an Apple Watch at 50 Hz: ax, ay, az
(accelerometer, g, gravity included) and wx, wy, wz (gyroscope, rad/s). Classes, in the data
set's order: 0 PEN (pendulum), 1 ABD (abduction), 2 FEL (forward elevation), 3 IR (internal
rotation), 4 ER (external rotation), 5 TRAP (trapezius extension), 6 ROW (upright row).

They ship inside the seglearn 1.2.5 wheel as ``seglearn/data/watch_dataset.npy`` (a pickled
dict). This script never installs or imports seglearn (its code needs scikit-learn):

1. ``pip download --no-deps seglearn==1.2.5`` into a cache directory (``$FEATGEN_CACHE/spar``,
   default ``~/.cache/featgen/spar``), once; the wheel's sha256 is pinned;
2. reads the one data file out of the wheel with ``zipfile`` and checks its sha256;
3. unpickles it with an unpickler that can build nothing but numpy arrays (four allowed globals:
   the ones an object-array .npy of float arrays needs), then checks every field's type, shape,
   range and the channel names, and converts them to plain float64 / int64 arrays;
4. writes ``spar.npz``: for each recording ``s03_fel_side1`` its (n, 6) samples, and
   ``s03_fel_side1.label`` (the class index on every sample) and ``s03_fel_side1.subject``
   (``featgen train`` splits by subject).

    python examples/spar/make_data.py -o out/spar          # -> out/spar/spar.npz
    featgen train examples/spar/spec.yaml out/spar/spar.npz -o examples/spar/model \\
        --objective multi:softprob --rounds 40 --max-depth 4
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEEL = "seglearn-1.2.5-py3-none-any.whl"
WHEEL_SHA256 = "ec6b952c85c9627050102854b372d85951563d3b990df677d7c55547e87413dd"
MEMBER = "seglearn/data/watch_dataset.npy"
MEMBER_SHA256 = "eb122f23cdf06ef6bd6c6c5312958ec5cf9d038e2e6d457b8081662c75a42537"
CHANNELS = ("ax", "ay", "az", "wx", "wy", "wz")
CLASSES = ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW")
RECORDINGS = 140
SUBJECTS = 10


class DataError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("FEATGEN_CACHE", Path.home() / ".cache" / "featgen")) / "spar"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(cache: Path | None = None) -> Path:
    """The seglearn 1.2.5 wheel (downloaded from PyPI with pip on first use), hash-checked."""
    cache = Path(cache or cache_dir())
    path = cache / WHEEL
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "seglearn==1.2.5",
            "-d",
            str(cache),
        ]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0 or not path.is_file():
            raise DataError(
                f"could not download {WHEEL} from PyPI ({' '.join(cmd[2:])}):\n{run.stderr.strip()}"
            )
    digest = _sha256(path.read_bytes())
    if digest != WHEEL_SHA256:
        raise DataError(
            f"{path}: sha256 {digest}, expected {WHEEL_SHA256} (delete the file to "
            "download it again)"
        )
    return path


class _ArraysOnly(pickle.Unpickler):
    """Builds numpy arrays, dtypes, lists, dicts, strings and numbers; nothing else."""

    def find_class(self, module: str, name: str):
        try:
            from numpy._core import multiarray
        except ImportError:  # numpy < 2
            from numpy.core import multiarray
        import codecs

        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): codecs.encode,
        }
        if (module, name) not in allowed:
            raise DataError(
                f"{MEMBER}: the pickle asks for {module}.{name}, which a data file "
                "has no reason to need; refusing it"
            )
        return allowed[(module, name)]


def read_member(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        try:
            data = archive.read(MEMBER)
        except KeyError:
            raise DataError(f"{wheel}: no {MEMBER} in the wheel") from None
    digest = _sha256(data)
    if digest != MEMBER_SHA256:
        raise DataError(f"{wheel}!{MEMBER}: sha256 {digest}, expected {MEMBER_SHA256}")
    return data


def load_watch_dataset(data: bytes) -> dict:
    """The data set as plain arrays: X (list of (n, 6) float64), y, subject (int64), side
    (int64), checked field by field."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _, dtype = read_header(stream)
    if dtype != np.dtype(object) or shape != ():
        raise DataError(
            f"{MEMBER}: expected a pickled object (dtype object, shape ()), got "
            f"dtype {dtype} shape {shape}"
        )
    box = _ArraysOnly(stream).load()
    raw = box.item() if isinstance(box, np.ndarray) and box.shape == () else None
    if not isinstance(raw, dict):
        raise DataError(f"{MEMBER}: expected a dict, got {type(raw).__name__}")
    keys = {"X", "y", "y_labels", "subject", "side", "X_labels"}
    if set(raw) != keys:
        raise DataError(f"{MEMBER}: keys {sorted(raw)}, expected {sorted(keys)}")
    if tuple(raw["X_labels"]) != CHANNELS or tuple(raw["y_labels"]) != CLASSES:
        raise DataError(
            f"{MEMBER}: channels {raw['X_labels']} / classes {raw['y_labels']} are "
            f"not {CHANNELS} / {CLASSES}"
        )
    X = list(raw["X"])
    if len(X) != RECORDINGS:
        raise DataError(f"{MEMBER}: {len(X)} recordings, expected {RECORDINGS}")
    out_x = []
    for i, x in enumerate(X):
        if not (
            isinstance(x, np.ndarray)
            and x.dtype.kind == "f"
            and x.ndim == 2
            and x.shape[1] == len(CHANNELS)
            and x.shape[0] > 0
            and np.isfinite(x).all()
        ):
            raise DataError(f"{MEMBER}: recording {i} is not a finite (n, 6) float array")
        out_x.append(np.ascontiguousarray(x, dtype=np.float64))
    fields = {}
    for key, low, high in (("y", 0, len(CLASSES) - 1), ("subject", 1, SUBJECTS), ("side", 0, 1)):
        v = np.asarray(raw[key])
        if (
            v.shape != (RECORDINGS,)
            or v.dtype.kind not in "iuf"
            or not (v == np.round(v)).all()
            or v.min() < low
            or v.max() > high
        ):
            raise DataError(f"{MEMBER}: {key} is not {RECORDINGS} whole numbers in [{low}, {high}]")
        fields[key] = v.astype(np.int64)
    return {"X": out_x, **fields}


def recordings(data: dict) -> dict[str, tuple[np.ndarray, int, int]]:
    """{name: (samples, class, subject)} in a fixed order (subject, class, side)."""
    out = {}
    order = sorted(
        range(RECORDINGS), key=lambda i: (data["subject"][i], data["y"][i], data["side"][i])
    )
    for i in order:
        name = f"s{data['subject'][i]:02d}_{CLASSES[data['y'][i]].lower()}_side{data['side'][i]}"
        if name in out:
            raise DataError(f"{MEMBER}: two recordings named {name}")
        out[name] = (data["X"][i], int(data["y"][i]), int(data["subject"][i]))
    return out


def load(cache: Path | None = None) -> dict[str, tuple[np.ndarray, int, int]]:
    """Fetch (once), check and convert: {name: (samples (n, 6), class, subject)}."""
    return recordings(load_watch_dataset(read_member(fetch_wheel(cache))))


def write_npz(recs: dict, path: Path) -> None:
    arrays = {}
    for name, (samples, label, subject) in recs.items():
        arrays[name] = samples
        arrays[f"{name}.label"] = np.full(samples.shape[0], label, dtype=np.int64)
        arrays[f"{name}.subject"] = np.array([subject], dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, type=Path, help="directory for spar.npz")
    parser.add_argument(
        "--cache", type=Path, default=None, help=f"where the wheel is kept (default {cache_dir()})"
    )
    args = parser.parse_args(argv)
    try:
        recs = load(args.cache)
    except DataError as exc:
        print(f"make_data.py: {exc}", file=sys.stderr)
        return 1
    path = args.output / "spar.npz"
    write_npz(recs, path)
    samples = sum(s.shape[0] for s, _, _ in recs.values())
    print(
        f"wrote {path}: {len(recs)} recordings, {samples} samples, "
        f"{len({s for _, _, s in recs.values()})} subjects, {len(CLASSES)} classes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
