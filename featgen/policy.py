"""The two data policies every command that reads recordings (featurize, train, parity) applies
the same way, with the same flags and messages (docs/semantics.md, "Recordings"):

* **non-finite samples**: refused by default, naming the file and line (CSV) or array and row
  (NPZ, Parquet) of the first one; ``--drop-nonfinite`` drops them, as the device runtimes do;
* **short recordings**: a recording with fewer finite samples than the longest window gives no
  feature vector. Each command says how many did and names a few; ``--min-vectors N`` refuses
  recordings that give fewer than N vectors instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
import numpy as np

from .data import DataError, Source, read_chunks

NONFINITE_HELP = (
    "Drop samples holding NaN/inf, as the device runtimes do (default: refuse "
    "them, naming the file and line of the first)."
)
MIN_VECTORS_HELP = (
    "Refuse (exit 2) when a recording gives fewer than N feature vectors "
    "(default 0: such recordings are counted and named, and contribute "
    "nothing)."
)
SHOWN = 4  # recordings named in a message; the rest are counted


def nonfinite_option(f):
    return click.option("--drop-nonfinite", is_flag=True, help=NONFINITE_HELP)(f)


def min_vectors_option(f):
    return click.option(
        "--min-vectors",
        "min_vectors",
        default=0,
        show_default=True,
        type=click.IntRange(min=0),
        metavar="N",
        help=MIN_VECTORS_HELP,
    )(f)


def nonfinite_message(where: str, input_name: str, value: float) -> str:
    """The one message for a refused non-finite sample (WHERE: file:line, or array and row)."""
    return (
        f"{where}: input {input_name!r}: {value!r} is not finite. featgen refuses "
        "non-finite samples; pass --drop-nonfinite to drop them, as the device runtimes do"
    )


def first_nonfinite(source: Source, inputs: tuple[str, ...]) -> DataError | None:
    """The located error for the first non-finite sample of SOURCE, or None."""
    for chunk in read_chunks(source, inputs):
        bad = ~np.isfinite(chunk.samples)
        if bad.any():
            r, c = (int(v) for v in np.argwhere(bad)[0])
            return DataError(
                nonfinite_message(
                    chunk.where(source, chunk.first + r), inputs[c], float(chunk.samples[r, c])
                )
            )
    return None


def refuse_nonfinite(
    samples: dict[str, np.ndarray], found: list[Source], inputs: tuple[str, ...]
) -> None:
    """Raise the located DataError when a recording in SAMPLES ({name: array}, read from the
    sources FOUND) holds a non-finite sample. The arrays are checked in memory; only a file
    with a bad sample is read again, to name its line."""
    by_name = {s.label: s for s in found}
    for name, array in samples.items():
        if np.isfinite(array).all():
            continue
        source = by_name.get(name)
        error = first_nonfinite(source, inputs) if source is not None else None
        if error is None:  # not from a file featgen reads by line (e.g. resampled logs)
            r, c = (int(v) for v in np.argwhere(~np.isfinite(array))[0])
            error = DataError(
                nonfinite_message(f"recording {name!r}, sample {r}", inputs[c], float(array[r, c]))
            )
        raise error


def expected_vectors(spec, finite: int) -> int:
    """Vectors a recording of FINITE accepted samples gives: one on every sample where a window
    is evaluated, from the longest window's first full sample on (docs/semantics.md)."""
    first = spec.max_length - 1
    if finite <= first:
        return 0
    due = np.zeros(finite - first, dtype=bool)
    for window in spec.windows:
        due[:: window.hop] = True
    return int(due.sum())


@dataclass(frozen=True)
class Yield:
    """What one recording gave: its samples, the finite ones among them, its vectors."""

    name: str
    samples: int
    finite: int
    vectors: int


def yields_of(spec, samples: dict[str, np.ndarray]) -> list[Yield]:
    out = []
    for name, array in samples.items():
        finite = int(np.isfinite(array).all(axis=1).sum()) if len(array) else 0
        out.append(Yield(name, len(array), finite, expected_vectors(spec, finite)))
    return out


def _describe(y: Yield) -> str:
    dropped = y.samples - y.finite
    return (
        f"{y.name} ({y.samples} samples"
        + (f", {dropped} non-finite" if dropped else "")
        + (f", {y.vectors} vector{'s' if y.vectors != 1 else ''}" if y.vectors else "")
        + ")"
    )


def _some(items: list[Yield]) -> str:
    shown = ", ".join(_describe(y) for y in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def short_recordings(spec, yields: list[Yield], min_vectors: int = 0) -> str | None:
    """The warning for recordings that gave no vectors (None when every one gave some); a
    DataError when MIN_VECTORS is set and a recording gave fewer."""
    need = spec.max_length
    if min_vectors:
        few = [y for y in yields if y.vectors < min_vectors]
        if few:
            raise DataError(
                f"--min-vectors {min_vectors}: {len(few)} of {len(yields)} "
                f"recording(s) gave fewer vectors: {_some(few)}; a recording needs "
                f"{need} finite samples (the longest window) for its first vector"
            )
    none = [y for y in yields if y.vectors == 0]
    if not none:
        return None
    return (
        f"{len(none)} of {len(yields)} recording(s) gave no feature vectors: {_some(none)}; "
        f"each needs at least {need} finite samples (the longest window) for its first "
        "vector. They contribute nothing; --min-vectors N refuses them instead"
    )
