"""The flight log's text form (docs/replay.md, "The text form"): JSON lines carrying the same
header and records as the binary form, every double and float as the hex of its IEEE bits (never
a printf-rounded decimal), so a log converts both ways without losing a bit. `featgen replay`
reads either form; `featgen replay LOG --to-jsonl OUT` / `--to-binary OUT` convert.

Written for teams whose app cannot embed the binary writer (they may write these lines from any
language) and for people who want to read or diff a log.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from .data import DataError
from .replay import (
    ANCILLARY,
    COMPILERS,
    HEADER_BYTES,
    KIND_END,
    KIND_PUSH,
    KIND_RESET,
    KIND_SAMPLE,
    KIND_SENSOR,
    MAGIC,
    READS,
    Header,
    Log,
    _Builder,
    fnv1a,
    parse_binary,
)

TEXT_KEY = "featgen_flight_log"


def _h64(x: float) -> str:
    return struct.pack(">d", x).hex()


def _h64u(u: int) -> str:
    return f"{u:016x}"


def _h32(x: float) -> str:
    return struct.pack(">f", x).hex()


def _header_dict(h: Header) -> dict:
    return {
        "version": h.version,
        "spec_sha256": h.spec_sha256,
        "model_sha256": h.model_sha256,
        "feature_order_sha256": h.feature_order_sha256,
        "generator_version": h.generator_version,
        "spec_name": h.spec_name,
        "flt_eval_method": h.flt_eval_method,
        "flags": h.flags,
        "compiler": h.compiler_id,
        "compiler_major": h.compiler_major,
        "compiler_minor": h.compiler_minor,
        "pointer_bytes": h.pointer_bytes,
        "inputs": h.n_inputs,
        "features": h.n_features,
        "outputs": h.n_outputs,
        "vector_mode": 1 if h.digest else 0,
        "sensors_sha256": h.sensors_sha256,
        "runtime": h.runtime,
        "sensors": h.n_sensors,
    }


def to_text(log: Log) -> str:
    """The log as JSON lines (one header line, then one line per record, in log order)."""
    h = log.header
    lines = [json.dumps({TEXT_KEY: h.version, "header": _header_dict(h)})]
    scored_at = {int(p): i for i, p in enumerate(log.scored.tolist())}
    for kind, i in log.order:
        if kind == KIND_PUSH:
            rec: dict = {
                "status": int(log.status[i]),
                "sample": [_h64(x) for x in log.samples[i].tolist()],
            }
            j = scored_at.get(i)
            if j is not None:
                if h.digest:
                    rec["digest"] = _h64u(int(log.features[j].view("<u8")[0]))
                else:
                    rec["vector"] = [_h64(x) for x in log.features[j].tolist()]
                rec.update(
                    margins=[_h32(m) for m in log.margins[j].tolist()],
                    positive=int(log.positive[j]),
                    event=int(log.event[j]),
                    run=int(log.run[j]),
                )
            lines.append(json.dumps({"push": rec}))
        elif kind == KIND_RESET:
            lines.append(json.dumps({"reset": {}}))
        elif kind == KIND_SENSOR:
            s = log.sensor
            lines.append(
                json.dumps(
                    {
                        "sensor": {
                            "sensor": int(s["id"][i]),
                            "platform": int(s["platform"][i]),
                            "status": int(s["status"][i]),
                            "t_ns": int(s["t_ns"][i]),
                            "values": [_h64(x) for x in s["values"][i].tolist()],
                        }
                    }
                )
            )
        elif kind == KIND_SAMPLE:
            a = log.adapter
            lines.append(
                json.dumps(
                    {
                        "sample": {
                            "segment_start": int(a["segment_start"][i]),
                            "t_ns": int(a["t_ns"][i]),
                            "values": [_h64(x) for x in a["values"][i].tolist()],
                        }
                    }
                )
            )
        else:
            k, payload = log.ancillary[i]
            lines.append(json.dumps({"record": {"kind": k, "payload": payload.hex()}}))
    if log.ended:
        lines.append(json.dumps({"end": {"pushes": int(log.status.size)}}))
    return "\n".join(lines) + "\n"


def _le(value: int, n: int) -> bytes:
    return int(value).to_bytes(n, "little", signed=False)


def _pad(text: str, n: int) -> bytes:
    raw = text.encode("ascii", "replace")[: n - 1]
    return raw + b"\0" * (n - len(raw))


def to_binary(log: Log) -> bytes:
    """The log in the binary form of its format version (docs/replay.md)."""
    h = log.header
    head = (
        MAGIC
        + _le(h.version, 2)
        + _le(HEADER_BYTES[h.version], 2)
        + bytes.fromhex(h.spec_sha256)
        + bytes.fromhex(h.model_sha256)
        + bytes.fromhex(h.feature_order_sha256)
        + _pad(h.generator_version, 16)
        + _pad(h.spec_name, 32)
        + struct.pack(
            "<bBBBHHHHHH",
            h.flt_eval_method,
            h.flags,
            h.compiler_id,
            h.pointer_bytes,
            h.compiler_major,
            h.compiler_minor,
            h.n_inputs,
            h.n_features,
            h.n_outputs,
            1 if h.digest else 0,
        )
    )
    if h.version >= 2:
        head += (bytes.fromhex(h.sensors_sha256) if h.sensors_sha256 else bytes(32)) + bytes(
            [h.runtime, h.n_sensors, 0, 0]
        )
    out = [head + _le(fnv1a(head), 4)]

    def rec(payload: bytes) -> None:
        body = _le(len(payload), 4) + payload
        out.append(body + _le(fnv1a(body), 4))

    scored_at = {int(p): i for i, p in enumerate(log.scored.tolist())}
    for kind, i in log.order:
        if kind == KIND_PUSH:
            p = (
                struct.pack("<Bb", KIND_PUSH, int(log.status[i]))
                + log.samples[i].astype("<f8").tobytes()
            )
            j = scored_at.get(i)
            if j is not None:
                p += (
                    log.features[j].astype("<f8").tobytes()
                    + log.margins[j].astype("<f4").tobytes()
                    + struct.pack("<BBI", int(log.positive[j]), int(log.event[j]), int(log.run[j]))
                )
            rec(p)
        elif kind == KIND_RESET:
            rec(bytes([KIND_RESET]))
        elif kind == KIND_SENSOR:
            s = log.sensor
            rec(
                struct.pack(
                    "<BBBbq",
                    KIND_SENSOR,
                    int(s["id"][i]),
                    int(s["platform"][i]),
                    int(s["status"][i]),
                    int(s["t_ns"][i]),
                )
                + s["values"][i].astype("<f8").tobytes()
            )
        elif kind == KIND_SAMPLE:
            a = log.adapter
            rec(
                struct.pack("<BBq", KIND_SAMPLE, int(a["segment_start"][i]), int(a["t_ns"][i]))
                + a["values"][i].astype("<f8").tobytes()
            )
        else:
            k, payload = log.ancillary[i]
            rec(bytes([k]) + payload)
    if log.ended:
        rec(struct.pack("<BQ", KIND_END, int(log.status.size)))
    return b"".join(out)


# ---------------------------------------------------------------- reading


class _Text:
    """Field access on one JSON line with located errors."""

    def __init__(self, label: str, line: int, offset: int):
        self.label, self.line, self.offset = label, line, offset

    def bad(self, what: str) -> DataError:
        return DataError(f"{self.label}:{self.line}: {what} at byte offset {self.offset}")

    def get(self, d: dict, key: str, kind=int, lo: int | None = None, hi: int | None = None):
        if not isinstance(d, dict) or key not in d:
            raise self.bad(f"corrupt: missing {key!r}")
        v = d[key]
        if kind is int and (not isinstance(v, int) or isinstance(v, bool)):
            raise self.bad(f"corrupt: {key!r} must be an integer, got {json.dumps(v)[:40]}")
        if kind is str and not isinstance(v, str):
            raise self.bad(f"corrupt: {key!r} must be a string")
        if kind is int and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            raise self.bad(f"corrupt: {key!r} = {v} is outside {lo}..{hi}")
        return v

    def hexes(self, d: dict, key: str, n: int, digits: int) -> bytes:
        """n IEEE values given as hex of their bits -> their little-endian bytes."""
        v = d.get(key) if isinstance(d, dict) else None
        if not isinstance(v, list) or len(v) != n:
            raise self.bad(f"corrupt: {key!r} must be a list of {n} hex bit patterns")
        return b"".join(self.hex1(x, key, digits) for x in v)

    def hex1(self, x, key: str, digits: int) -> bytes:
        if not isinstance(x, str) or len(x) != digits:
            raise self.bad(
                f"corrupt: {key!r}: {json.dumps(x)[:30]} is not {digits} hex digits "
                "(the IEEE bits, not a decimal)"
            )
        try:
            return bytes.fromhex(x)[::-1]
        except ValueError:
            raise self.bad(f"corrupt: {key!r}: {x!r} is not hex") from None


def _sha(t: _Text, d: dict, key: str, empty_ok: bool = False) -> str:
    v = t.get(d, key, str)
    if (empty_ok and v == "") or (len(v) == 64 and all(c in "0123456789abcdef" for c in v)):
        return v
    raise t.bad(f"corrupt: {key!r} must be 64 lowercase hex digits")


def parse_text(data: bytes, label: str = "log") -> Log:
    """The JSON-lines form -> the same Log as the binary form; DataError
    "LABEL:LINE: ... at byte offset N" for anything malformed."""
    offset = 0
    builder = None
    header = None
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        t = _Text(label, number, offset)
        offset += len(raw) + 1
        if not raw.strip():
            if number == len(lines):  # after the last line's newline
                continue
            raise t.bad("corrupt: an empty line")
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise t.bad(f"corrupt: not a JSON line ({str(exc)[:80]})") from None
        if not isinstance(obj, dict):
            raise t.bad("corrupt: a line must be a JSON object")
        if header is None:
            if TEXT_KEY not in obj:
                raise t.bad(
                    f"corrupt: the first line must hold {TEXT_KEY!r} (the format "
                    "version) and 'header'"
                )
            header = _header(t, obj)
            builder = _Builder(header)
            continue
        if len(obj) != 1:
            raise t.bad(
                "corrupt: a record line holds exactly one of push, reset, sensor, "
                "sample, end, record"
            )
        ((kind, body),) = obj.items()
        if builder is None:  # set with the header, above
            raise t.bad("corrupt: a record before the header line")
        if builder.ended:
            raise t.bad("corrupt: a record after the end record")
        _record(t, builder, header, kind, body)
    if header is None or builder is None:
        raise DataError(f"{label}:1: truncated: no header line at byte offset 0")
    return builder.log(len(data))


def _header(t: _Text, obj: dict) -> Header:
    version = t.get(obj, TEXT_KEY)
    if version not in READS:
        raise t.bad(
            f"unsupported format version {version} (this featgen reads versions "
            f"{', '.join(map(str, READS))})"
        )
    d = obj.get("header")
    if not isinstance(d, dict):
        raise t.bad("corrupt: missing 'header'")
    if t.get(d, "version") != version:
        raise t.bad("corrupt: the header's version differs from the line's")
    comp, major, minor = (
        t.get(d, "compiler", int, 0, 255),
        t.get(d, "compiler_major", int, 0, 65535),
        t.get(d, "compiler_minor", int, 0, 65535),
    )
    n_in = t.get(d, "inputs", int, 1, 65535)
    h = Header(
        version,
        _sha(t, d, "spec_sha256"),
        _sha(t, d, "model_sha256"),
        _sha(t, d, "feature_order_sha256"),
        t.get(d, "generator_version", str)[:15],
        t.get(d, "spec_name", str)[:31],
        t.get(d, "flt_eval_method", int, -128, 127),
        t.get(d, "flags", int, 0, 255),
        COMPILERS.get(comp, f"compiler id {comp}"),
        f"{major}.{minor}",
        t.get(d, "pointer_bytes", int, 0, 255),
        n_in,
        t.get(d, "features", int, 0, 65535),
        t.get(d, "outputs", int, 0, 65535),
        t.get(d, "vector_mode", int, 0, 1) == 1,
        comp,
        major,
        minor,
    )
    if version >= 2:
        h.sensors_sha256 = _sha(t, d, "sensors_sha256", empty_ok=True)
        h.runtime = t.get(d, "runtime", int, 0, 255)
        h.n_sensors = t.get(d, "sensors", int, 0, 255)
    return h


def _record(t: _Text, b: _Builder, h: Header, kind: str, d) -> None:
    n_in = h.n_inputs
    if kind == "push":
        st = t.get(d, "status", int, -3, 2)
        sample = t.hexes(d, "sample", n_in, 16)
        if st <= 0:
            if any(k in d for k in ("vector", "digest", "margins")):
                raise t.bad(f"corrupt: a push with status {st} carries no vector")
            b.push(st, sample)
            return
        if h.digest:
            vec = t.hex1(d.get("digest"), "digest", 16)
        else:
            vec = t.hexes(d, "vector", h.n_features, 16)
        b.push(
            st,
            sample,
            vec,
            t.hexes(d, "margins", h.n_outputs, 8),
            (
                t.get(d, "positive", int, 0, 1),
                t.get(d, "event", int, 0, 1),
                t.get(d, "run", int, 0, 2**32 - 1),
            ),
        )
    elif kind == "end":
        count = t.get(d, "pushes", int, 0)
        if count != len(b.status):
            raise t.bad(
                f"corrupt: the end record counts {count} pushes, the log has {len(b.status)}"
            )
        b.ended = True
    elif h.version < 2 and kind in ("reset", "sensor", "sample"):
        raise t.bad(f"corrupt: a {kind} record in a format-1 log")
    elif kind == "reset":
        if d != {}:
            raise t.bad("corrupt: a reset record has no fields")
        b.reset()
    elif kind == "sensor":
        b.sensor_event(
            t.get(d, "sensor", int, 0, 255),
            t.get(d, "platform", int, 0, 255),
            t.get(d, "status", int, -128, 127),
            t.get(d, "t_ns", int, -(2**63), 2**63 - 1),
            t.hexes(d, "values", 3, 16),
        )
    elif kind == "sample":
        b.adapter_sample(
            t.get(d, "segment_start", int, 0, 1),
            t.get(d, "t_ns", int, -(2**63), 2**63 - 1),
            t.hexes(d, "values", n_in, 16),
        )
    elif kind == "record":
        k = t.get(d, "kind", int, 0, 255)
        if k < ANCILLARY:
            raise t.bad(f"record kind {k} is not known to this featgen")
        try:
            b.other(k, bytes.fromhex(t.get(d, "payload", str)))
        except ValueError:
            raise t.bad("corrupt: 'payload' is not hex") from None
    else:
        raise t.bad(f"corrupt: unknown record {kind!r}")


# ---------------------------------------------------------------- either form


def parse(data: bytes, label: str = "log") -> Log:
    """The log in ``data`` (the binary form, or the JSON-lines text form when it starts with
    "{"); DataError "LABEL: ... at byte offset N" when it is not whole."""
    if data[:1] == b"{":
        return parse_text(data, label)
    return parse_binary(data, label)


def read_log(path: Path) -> Log:
    try:
        with open(path, "rb") as handle:  # a file that is no log is refused by its first bytes,
            head = handle.read(12)  # before a gigabyte of it is read into memory
            if len(head) == 12 and head[:1] != b"{" and head[:8] != MAGIC:
                return parse(head, str(path))  # (raises: not a featgen flight log)
            data = head + handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse(data, str(path))


# ---------------------------------------------------------------- comparing
