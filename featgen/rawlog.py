"""Raw timestamped multi-sensor logs (docs/sensors.md, "Raw logs"): read, resample through the
generated numpy adapter (the rule the phones run), and hand fixed-rate recordings to featurize
and train; ``featgen resample`` writes the fixed-rate recording to inspect.

Layout (CSV with a header, or Parquet with the same columns), one event per row in arrival
order:

    t_ns,sensor,x,y,z            t_ns: int64 nanoseconds (Android SensorEvent.timestamp)
    t_s,sensor,x,y,z             or t_s: seconds (iOS CMLogItem.timestamp, a double): the
                                 double times 1e9 in double, rounded to nearest ns (ties even)

``sensor`` is a sensor name of the spec's sensors: block (or its index); optional columns:
``platform`` (android/ios, one value per file; else --platform), a label column (the label of a
fixed-rate sample is the label of the latest event at or before it) and a group column (one
value per file). Each segment (see the rule's resets) becomes its own recording: the featuriser
starts afresh on it, as on the phone.
"""

from __future__ import annotations

import csv
import math
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
from rich.markup import escape

from . import ui
from .data import DataError, Recording, _csv_header, _encoding_error, _open_csv
from .safe_io import atomic_file, check_output_file

TIME_COLUMNS = ("t_ns", "t_s")
INT64 = (-(2**63), 2**63 - 1)
_INT = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass
class RawLog:
    name: str
    t_ns: np.ndarray  # int64, arrival order
    sensor: np.ndarray  # int64 sensor index
    values: np.ndarray  # (n, 3) float64 raw x, y, z
    platform: str | None  # from a platform column
    labels: np.ndarray | None  # per event
    group: str | None


def is_raw_log(path: str | Path) -> bool:
    """A CSV or Parquet file whose columns include a time column and ``sensor``."""
    path = Path(path)
    if not path.is_file():
        return False  # a FIFO or device would block here: the ordinary readers refuse it
    try:
        if path.suffix.lower() == ".csv":  # utf-8-sig: Excel's byte-order mark is not a name
            with open(path, newline="", encoding="utf-8-sig") as handle:
                header = [h.strip() for h in next(csv.reader(handle), [])]
        elif path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

            header = pq.read_schema(path).names
        else:
            return False
    except (OSError, UnicodeDecodeError, ValueError, csv.Error):
        return False  # the ordinary readers report it
    return "sensor" in header and any(c in header for c in TIME_COLUMNS)


def raw_and_rest(spec, paths) -> tuple[list[Path], list[Path]]:
    """Split DATA into raw sensor logs (only when the spec has sensors:) and the rest."""
    paths = [Path(p) for p in paths]
    if spec.sensors is None:
        return [], paths
    raw = [p for p in paths if is_raw_log(p)]
    return raw, [p for p in paths if p not in raw]


def refuse_raw_logs(spec, refs, where: str) -> None:
    """A DataError when a raw sensor log reaches a path that reads only fixed-rate recordings
    (Parquet-directory output, --cluster): it would be read as a table of wrong columns."""
    if spec.sensors is None:
        return
    raw = [r.url for r in refs if r.kind in ("csv", "parquet") and is_raw_log(r.url)]
    if raw:
        raise DataError(
            f"{raw[0]}: a raw sensor log ({len(raw)} in all); {where} reads only "
            "fixed-rate recordings. featgen featurize into a .csv or .npz file and "
            "featgen train without --cluster read raw logs (featgen resample writes "
            "the fixed-rate samples of one)."
        )


def sensors_module(spec, files: Mapping[str, str | bytes]) -> types.ModuleType:
    """The generated numpy resampler (python/<name>_sensors.py), imported from its text."""
    name = f"python/{spec.name}_sensors.py"
    module = types.ModuleType(f"featgen_generated_{spec.name}_sensors")
    module.__file__ = f"<generated {name}>"
    exec(compile(files[name], module.__file__, "exec"), module.__dict__)
    return module


def _time_ns(text: str, column: str, where: str) -> int:
    text = text.strip()
    if column == "t_ns":
        if not _INT.fullmatch(text):
            if _DECIMAL.fullmatch(text) and float(text).is_integer():  # a float64 column
                raise DataError(
                    f"{where}: t_ns {text!r} is written as a decimal, not an integer: write "
                    "t_ns as int64 (a double cannot hold every nanosecond time past 2^53 ns, "
                    "104 days of uptime), or times in seconds as t_s"
                )
            raise DataError(f"{where}: t_ns {text!r} is not a whole number of nanoseconds")
        value = int(text)
    else:
        if not _DECIMAL.fullmatch(text):
            raise DataError(f"{where}: t_s {text!r} is not a decimal number of seconds")
        # as the phone converts a TimeInterval: the double, times 1e9 in double, rounded to the
        # nearest integer (ties to even); the Swift adapter does exactly this
        product = float(text) * 1e9
        if not math.isfinite(product):
            raise DataError(f"{where}: t_s {text!r} is outside the int64 nanosecond range")
        value = round(product)
    if not INT64[0] <= value <= INT64[1]:
        raise DataError(f"{where}: {column} {text!r} is outside the int64 nanosecond range")
    return value


def _sensor_id(text: str, names: list[str], where: str) -> int:
    text = text.strip()
    if text in names:
        return names.index(text)
    if _INT.fullmatch(text) and 0 <= int(text) < len(names):
        return int(text)
    raise DataError(
        f"{where}: unknown sensor {text!r}; the spec's sensors are "
        f"{', '.join(map(repr, names))} (or their index)"
    )


def read_raw_log(
    path: str | Path, spec, label_column: str | None = None, group_column: str | None = None
) -> RawLog:
    """One raw log; DataError with file:line for anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    names = [s.name for s in spec.sensors.sources]
    if path.suffix.lower() == ".parquet":
        header, rows, first_line = _parquet_rows(path)
    else:  # as every CSV featgen reads: UTF-16/32 refused, a UTF-8 byte-order mark skipped
        check_memory(path)
        handle = _open_csv(path)
        reader = csv.reader(handle)
        rows, first_line = reader, 2
    try:
        if path.suffix.lower() != ".parquet":
            header = _csv_header(path, reader)  # empty, unnamed or duplicate columns refused
        time_column = next((c for c in TIME_COLUMNS if c in header), None)
        if all(c in header for c in TIME_COLUMNS):  # which clock is meant? never guess
            raise DataError(
                f"{path}:1: both columns 't_ns' and 't_s' are present; a raw log has one time "
                "column (t_ns: int64 nanoseconds, or t_s: seconds): drop the other"
            )
        wanted = ["sensor", "x", "y", "z"] + ([label_column] if label_column else [])
        missing = [c for c in wanted if c not in header] + ([] if time_column else ["t_ns"])
        if missing or time_column is None:  # no time column: "t_ns" is among the missing
            raise DataError(
                f"{path}:1: missing column(s) {', '.join(map(repr, missing))}; "
                f"a raw log has t_ns (or t_s), sensor, x, y, z"
            )
        col = {c: header.index(c) for c in header}
        t: list[int] = []
        ids: list[int] = []
        values: list[float] = []
        labels: list[int] = []
        platforms: set[str] = set()
        groups: set[str] = set()
        parts: list[tuple[np.ndarray, ...]] = []  # numpy chunks: 40 bytes an event, not ~250
        for line, row in enumerate(rows, start=first_line):
            if not row:
                continue
            if len(t) == _CHUNK:
                parts.append(_arrays(t, ids, values, labels))
                t, ids, values, labels = [], [], [], []
            where = f"{path}:{line}" if first_line else f"{path}: row {line}"  # Parquet: from 0
            if len(row) != len(header):
                raise DataError(f"{where}: {len(row)} fields, the header has {len(header)}")
            t.append(_time_ns(str(row[col[time_column]]), time_column, where))
            ids.append(_sensor_id(str(row[col["sensor"]]), names, where))
            try:
                values.extend([float(row[col[a]]) for a in "xyz"])
            except (TypeError, ValueError):
                bad = next(a for a in "xyz" if not _number(row[col[a]]))
                raise DataError(
                    f"{where}: column {bad!r}: {row[col[bad]]!r} is not a number"
                ) from None
            if label_column:
                labels.append(_label(row[col[label_column]], where, label_column))
            if "platform" in col:
                platforms.add(str(row[col["platform"]]).strip())
            if group_column and group_column in col:
                groups.add(str(row[col[group_column]]).strip())
    except UnicodeDecodeError:  # binary data, or text in another encoding: located by offset
        raise _encoding_error(path) from None
    except csv.Error as exc:  # a NUL byte, a field over csv's size limit (one huge line)
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    finally:
        if path.suffix.lower() != ".parquet":
            handle.close()
    if len(platforms) > 1:
        raise DataError(
            f"{path}: the platform column holds {sorted(platforms)}; one log comes "
            "from one platform"
        )
    if len(groups) > 1:
        raise DataError(
            f"{path}: column {group_column!r} holds {len(groups)} values; a log "
            "belongs to one group"
        )
    parts.append(_arrays(t, ids, values, labels))
    del t, ids, values, labels
    times, sensor, xyz, label = (
        np.concatenate([part[k] for part in parts]) if len(parts) > 1 else parts[0][k]
        for k in range(4)
    )
    return RawLog(
        path.stem,
        times,
        sensor,
        xyz,
        platforms.pop() if platforms else None,
        label if label_column else None,
        groups.pop() if groups else None,
    )


_CHUNK = 1 << 16  # events parsed into Python lists before they become numpy arrays

# A raw log is resampled whole (the generated resampler takes every event at once): peak RSS of
# `featgen resample` on a 10^7-event Android CSV (598 MB) is 2.08 GB, 208 bytes an event.
BYTES_PER_EVENT = 230
SHORTEST_ROW = 10  # bytes: "1,0,1,1,1\n"


def available_memory() -> int | None:
    """Bytes this process may still take: MemAvailable, or a smaller cgroup limit; None where
    neither can be read (then nothing is refused)."""
    found = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit.isdigit():
            found.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def check_memory(path: Path) -> None:
    """Refuse, before reading it, a CSV log whose events would not fit in the memory available
    (a clear message instead of the kernel's OOM killer, or a machine swapping for an hour).
    Lines are counted only when even the shortest rows could not fit."""
    available = available_memory()
    size = path.stat().st_size
    if available is None or size // SHORTEST_ROW * BYTES_PER_EVENT <= available:
        return
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
    need = lines * BYTES_PER_EVENT
    if need > available:
        raise DataError(
            f"{path}: {lines:,} events ({size / 1e9:.1f} GB) need about {need / 1e9:.1f} GB of "
            f"memory to resample (a log is resampled whole, ~{BYTES_PER_EVENT} bytes an "
            f"event), and {available / 1e9:.1f} GB are available: split the log into "
            "shorter ones, or run on a machine with more memory"
        )


def _arrays(t: list, ids: list, values: list, labels: list) -> tuple[np.ndarray, ...]:
    return (
        np.array(t, dtype=np.int64),
        np.array(ids, dtype=np.int64),
        np.array(values, dtype=np.float64).reshape(len(t), 3),
        np.array(labels, dtype=np.int64),
    )


def _number(text) -> bool:
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def _label(text, where: str, column: str) -> int:
    value = float(text) if _number(text) else float("nan")
    if not (value == value and 0 <= value < 2**31 and value == int(value)):
        raise DataError(
            f"{where}: column {column!r}: {text!r} is not a label (a whole number >= 0)"
        )
    return int(value)


def _parquet_rows(path: Path):
    import pyarrow as pa  # lazily: pyarrow is heavy, only this path needs it
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = [table.column(c).to_pylist() for c in table.column_names]
    rows = (
        [("" if v is None else str(v) if not isinstance(v, float) else repr(v)) for v in r]
        for r in zip(*columns)
    )
    return table.column_names, rows, 0  # "line" = row index in Parquet


def platform_of(spec, log: RawLog, platform: str | None, where: str | None = None) -> str:
    where = where or log.name  # the file's path when the caller has it
    choices = spec.sensors.platforms
    chosen = platform or log.platform
    if chosen is None:
        if len(choices) == 1:
            return choices[0]
        raise DataError(
            f"{where}: the spec declares {' and '.join(choices)}: pass "
            "--platform or add a platform column to the log"
        )
    if platform and log.platform and platform != log.platform:
        raise DataError(
            f"{where}: --platform {platform} but the log's platform column says {log.platform}"
        )
    if chosen not in choices:
        raise DataError(
            f"{where}: platform {chosen!r} is not declared by the spec's sensors "
            f"({', '.join(choices)})"
        )
    return chosen


def as_delivered(values: np.ndarray, platform: str) -> np.ndarray:
    """The values the phone's callback holds. Android's ``SensorEvent.values`` is a ``float[]``:
    a logged decimal (``Float.toString``, or more digits) is rounded to the nearest float32, the
    exact value the Kotlin listener widens with ``toDouble()``. Reading it as a double instead
    would train on numbers the phone never sees (measured on the example: README, "Twist and
    Go"). Core Motion's values are doubles and stay as read."""
    if platform != "android":
        return values
    with np.errstate(over="ignore"):  # beyond float32: inf, rejected by the rule
        return values.astype(np.float32).astype(np.float64)


def resample_log(spec, module, log: RawLog, platform: str | None, where: str | None = None):
    chosen = platform_of(spec, log, platform, where)
    r = module.resample(log.t_ns, log.sensor, as_delivered(log.values, chosen), chosen)
    c = r.counts
    ignored = c["out_of_order"] + c["duplicates"] + c["stale"]
    if ignored * 10 > len(log.t_ns):  # the phone's rule, but offline it is most likely a mistake
        ui.errors.print(
            f"[bold yellow]warning:[/] {escape(where or log.name)}: {ignored:,} of "
            f"{len(log.t_ns):,} events were not used ({c['out_of_order']:,} out of order, "
            f"{c['duplicates']:,} duplicate times, {c['stale']:,} older than their segment), "
            "as on the phone, whose adapter takes each sensor's events in arrival order: is "
            "the log in arrival order (not sorted by sensor, not several recordings one "
            "after another)?",
            soft_wrap=True,
        )
    return r


def segment_recordings(spec, files, paths, platform: str | None) -> dict[str, np.ndarray]:
    """{label: fixed-rate samples} for raw logs: one recording per segment (``name#k``)."""
    module = sensors_module(spec, files)
    out: dict[str, np.ndarray] = {}
    for path in paths:
        log = read_raw_log(path, spec)
        for k, (_, samples) in enumerate(
            module.segments(resample_log(spec, module, log, platform, str(path)))
        ):
            out[f"{log.name}#{k}"] = samples
    return out


def labeled_segments(
    spec, files, paths, platform: str | None, label_column: str, group_column: str | None
) -> dict[str, Recording]:
    """Training recordings from raw logs: a label per fixed-rate sample (the label of the
    latest accepted-or-not event at or before its time, in time order), the file's group."""
    module = sensors_module(spec, files)
    out: dict[str, Recording] = {}
    for path in paths:
        log = read_raw_log(path, spec, label_column, group_column)
        r = resample_log(spec, module, log, platform, str(path))
        order = np.argsort(log.t_ns, kind="stable")
        if log.labels is None:  # read_raw_log leaves them out only without a label column
            raise ValueError(f"{path}: labeled_segments needs a label column, got {label_column!r}")
        times, labels = log.t_ns[order], log.labels[order]
        starts = np.flatnonzero(r.segment_start).tolist() + [len(r.t_ns)]
        for k, (a, b) in enumerate(zip(starts, starts[1:])):
            at = np.searchsorted(times, r.t_ns[a:b], side="right") - 1
            name = f"{log.name}#{k}"
            out[name] = Recording(
                name,
                r.samples[a:b],
                labels[np.maximum(at, 0)],
                log.group if log.group is not None else log.name,
            )
    return out


def session_report(log: RawLog, r, names: list[str]) -> list[str]:
    """Per sensor: events, measured rate and jitter (Android CDD 7.3: the standard deviation of
    consecutive timestamp differences, over accepted events), then what the rule did."""
    lines = []
    accepted = r.status >= 0
    for k, name in enumerate(names):
        t = log.t_ns[accepted & (log.sensor == k)]
        d = np.diff(t).astype(np.float64)
        if d.size:
            lines.append(
                f"{name}: {t.size} events, {1e9 / d.mean():.2f} Hz, jitter "
                f"{d.std() / 1e6:.3f} ms ({100 * d.std() / d.mean():.1f} %)"
            )
        else:
            lines.append(f"{name}: {t.size} events")
    c = r.counts
    lines.append(
        f"{c['emitted']} samples in {int(r.segment_start.sum())} segment(s); "
        f"ignored: {c['duplicates']} duplicate, {c['out_of_order']} out of order, "
        f"{c['nonfinite']} non-finite; {c['stale']} stale; {c['resets']} reset(s) "
        f"({c['overflows']} from a full queue)"
    )
    return lines


def write_resampled(handle, inputs: tuple[str, ...], r, block: int = 1 << 15) -> None:
    """The fixed-rate recording into HANDLE: t_ns, segment, one column per input (exact repr
    values), a block of rows at a time (the whole text at once would cost ~150 bytes a
    sample more)."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["t_ns", "segment", *inputs])
    segment = np.cumsum(r.segment_start) - 1
    for a in range(0, len(r.t_ns), block):
        rows = zip(
            r.t_ns[a : a + block].tolist(),
            segment[a : a + block].tolist(),
            r.samples[a : a + block].tolist(),
        )
        writer.writerows([t, s, *map(repr, row)] for t, s, row in rows)


def register(main) -> None:
    """``featgen resample``."""

    @main.command("resample")
    @click.argument("spec", type=click.Path(dir_okay=False))
    @click.argument("log", type=click.Path(dir_okay=False))
    @click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False),
        help="CSV to write: t_ns, segment, one column per input (exact values).",
    )
    @click.option(
        "--platform",
        type=click.Choice(["android", "ios"]),
        help="The platform the log comes from (else its platform column, or the "
        "spec's only platform).",
    )
    def resample(spec: str, log: str, output: str, platform: str | None) -> None:
        """Resample a raw sensor LOG (t_ns|t_s, sensor, x, y, z) to SPEC's fixed rate with the
        rule of its sensors: block, exactly as the phones' adapters do."""
        check_output_file(output, "-o")  # before any work (OutputError: exit 2)
        if Path(output).resolve() in (Path(spec).resolve(), Path(log).resolve()):
            ui.fail(f"-o {output} is an input of this command; choose another file")
        parsed, files = ui.load(spec, features_only=True)
        if parsed.sensors is None:
            ui.fail(f"{spec}: the spec has no sensors: block (docs/sensors.md)")
        try:
            raw = read_raw_log(log, parsed)
            module = sensors_module(parsed, files)
            r = resample_log(parsed, module, raw, platform, log)
        except DataError as exc:
            ui.fail(str(exc))
        if not len(r.t_ns):  # as featurize: an empty table is never written as a result
            report = session_report(raw, r, [s.name for s in parsed.sensors.sources])
            ui.fail(
                f"{log}: no fixed-rate samples ({len(raw.t_ns)} events; {report[-1]}), so "
                f"nothing was written to {output}: a sample needs accepted events of every "
                "sensor of the spec around its grid time (docs/sensors.md)"
            )
        with atomic_file(output, "w", encoding="utf-8", newline="") as handle:
            write_resampled(handle, parsed.inputs, r)
        for line in session_report(raw, r, [s.name for s in parsed.sensors.sources]):
            ui.console.print(line, soft_wrap=True, markup=False)
        ui.console.print(f"wrote {len(r.t_ns)} samples to {output}", soft_wrap=True, markup=False)
