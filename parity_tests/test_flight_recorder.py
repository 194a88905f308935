"""The flight recorder (c/<name>_recorder.{h,c}) and `featgen replay`: logs from a correct build
replay as identical; logs from deliberately broken builds (FMA contraction on aarch64, x87 with
the guards stripped, a hand-edited constant, another model, sensor units) are named by their
cause; truncated and corrupted logs get a located error (exit 2), never a traceback."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.build import generate
from codegen.bundle import manifest_of
from featgen.data import DataError
from featgen.replay import compare, reference
from featgen.replay_text import parse
from featurespec import load_spec
from parity_tests import abi, model_fixtures
from parity_tests.conftest import EXAMPLE, ROOT, require_tools

DRIVER = r"""
#include "NAME_recorder.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_IN PREFIX_N_INPUTS

static void sink(void *ctx, const void *bytes, size_t n)
{
    fwrite(bytes, 1, n, (FILE *)ctx);
}

/* driver SAMPLES LOG [SCALE]: push every little-endian sample (times SCALE) through the
   recorded detector, the log written to LOG. */
int main(int argc, char **argv)
{
    static NAME_detector d;
    NAME_result r;
    NAME_recorder rec;
    unsigned char b[8 * N_IN];
    double s[N_IN];
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    double scale = 1.0;
    if (in == NULL || out == NULL) {
        return 2;
    }
    if (argc > 3) {
        sscanf(argv[3], "%lf", &scale);
    }
    NAME_detector_init(&d);
    if (NAME_recorder_start(&rec, sink, out, MODE) != 0) {
        return 3;
    }
    while (fread(b, 1, sizeof b, in) == sizeof b) {
        for (int i = 0; i < N_IN; ++i) {
            uint64_t u = 0;
            for (int k = 7; k >= 0; --k) {
                u = (u << 8) | b[8 * i + k];
            }
            memcpy(&s[i], &u, sizeof u);
            s[i] = s[i] * scale;
        }
        NAME_detector_push_recorded(&d, &rec, s, &r);
    }
    NAME_recorder_stop(&rec);
    fclose(out);
    fclose(in);
    return 0;
}
"""


def _sources(files: dict) -> dict[str, str]:
    return {
        Path(p).name: t
        for p, t in files.items()
        if p.startswith("c/") and p.count("/") == 1 and p.endswith((".c", ".h"))
    }


def _sensor_unit(files: dict, name: str) -> list[str]:
    """The adapter's .c when the spec has sensors: (the recorder's recorded sensor push)."""
    return [f"{name}_sensors.c"] if f"c/{name}_sensors.c" in files else []


def record(
    files: dict,
    name: str,
    samples: np.ndarray,
    work: Path,
    compile_cmd=("gcc", *abi.EMITTED),
    runner=(),
    scale: float | None = None,
    digest: bool = False,
) -> bytes:
    """Build the detector + recorder + DRIVER with ``compile_cmd``, run it on ``samples``
    (under ``runner``, e.g. qemu), return the log's bytes (cached: tests share builds)."""
    key = hashlib.sha256(
        repr(
            (sorted(_sources(files).items()), compile_cmd, runner, scale, digest, samples.tobytes())
        ).encode()
    ).hexdigest()
    if key not in _LOGS:
        _LOGS[key] = _record(files, name, samples, work, compile_cmd, runner, scale, digest)
    return _LOGS[key]


_LOGS: dict[str, bytes] = {}


def _record(files, name, samples, work, compile_cmd, runner, scale, digest) -> bytes:
    work.mkdir(parents=True, exist_ok=True)
    feat = manifest_of(files).model.device.featuriser
    for file_name, text in _sources(files).items():
        (work / file_name).write_text(text)
    (work / "driver.c").write_text(
        DRIVER.replace("NAME", name)
        .replace("PREFIX", feat.upper())
        .replace("MODE", "1" if digest else "0")
    )
    units = [
        f"{feat}_features.c",
        f"{name}_model.c",
        f"{name}_detector.c",
        f"{name}_recorder.c",
        "driver.c",
    ] + _sensor_unit(files, name)
    exe = work / "driver"
    subprocess.run(
        [*compile_cmd, "-I", str(work), *(str(work / u) for u in units), "-o", str(exe), "-lm"],
        check=True,
        capture_output=True,
        text=True,
    )
    (work / "samples.bin").write_bytes(np.ascontiguousarray(samples, "<f8").tobytes())
    args = [*runner, str(exe), str(work / "samples.bin"), str(work / "log.fglog")]
    if scale is not None:
        args.append(repr(scale))
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return (work / "log.fglog").read_bytes()


@pytest.fixture(scope="module")
def setup():
    spec = load_spec(EXAMPLE)
    files = generate(spec)
    ref = reference(str(EXAMPLE))
    recs = model_fixtures.labelled(subjects=1, recordings=1, seconds=24.0, seed=11)
    samples = next(iter(recs.values())).samples[:1000].copy()
    samples[37, 2] = np.nan  # a rejected sample is logged and replayed too
    return spec, files, ref, samples


def _replay(log: bytes, ref) -> dict:
    return compare(parse(log), ref)


def test_correct_build_replays_identical(setup, tmp_path):
    spec, files, ref, samples = setup
    report = _replay(record(files, spec.name, samples, tmp_path), ref)
    assert report["identical"], report["causes"]
    assert report["first_divergence"] is None and report["causes"] == []
    assert report["vectors"]["device"] == report["vectors"]["reference"] == 900
    assert report["pushes"] == 1000 and report["complete"]
    assert report["events"]["device"], "the recording should fire at least one event"


def test_fma_contraction_on_aarch64_is_named(setup, tmp_path):
    build = abi._cross(
        "aarch64 clang",
        "arm64-v8a",
        "aarch64-linux-gnu-gcc",
        ("-std=c99", "-O2", "-ffp-contract=fast"),
        "qemu-aarch64-static",
        "aarch64-linux-gnu",
    )
    require_tools(build.missing(), "the FMA flight-recorder case")
    spec, files, ref, samples = setup
    report = _replay(record(files, spec.name, samples, tmp_path, build.compile, build.runner), ref)
    assert not report["identical"]
    assert report["fingerprint"]["contraction_observed"]
    assert any(c.startswith("fused multiply-add suspected") for c in report["causes"])
    assert report["first_divergence"]["features"], "FMA changes features first"
    assert report["identity"]["spec_sha256"][0] == report["identity"]["spec_sha256"][1]


def _strip_guards(files: dict) -> dict:
    out = dict(files)
    for path, text in files.items():
        if path.startswith("c/") and path.count("/") == 1 and path.endswith(".c"):
            out[path] = re.sub(r"#if [^\n]*\n#error [^\n]*\n#endif\n", "", text)
    return out


def test_x87_build_is_named(setup, tmp_path):
    build = abi.X87_GCC
    require_tools(build.missing(), "the x87 flight-recorder case")
    spec, files, ref, samples = setup
    report = _replay(
        record(_strip_guards(files), spec.name, samples, tmp_path, build.compile, build.runner), ref
    )
    assert not report["identical"]
    assert report["fingerprint"]["FLT_EVAL_METHOD"] == 2
    assert report["fingerprint"]["pointer_bytes"] == 4
    assert report["causes"][0].startswith("x87 excess precision")
    assert report["first_divergence"] is not None


def test_hand_edited_constant_is_named(setup, tmp_path):
    spec, files, ref, samples = setup
    path = f"c/{spec.name}_device_features.c"
    text = files[path]
    # the EMA's alpha (0.2 in the spec) as the generated C writes it
    literal = re.search(r"0x1\.999999999999ap-3", text)
    assert literal, "expected the EMA constant 0.2 in the device featuriser"
    # someone "tunes" the smoothing on the device: 0.2 -> 0.21 (and 0.8 left alone)
    edited = dict(files, **{path: text.replace(literal.group(0), "0.21")})
    report = _replay(record(edited, spec.name, samples, tmp_path), ref)
    assert not report["identical"]
    assert len(report["causes"]) == 1
    assert report["causes"][0].startswith("generated code edited or miscompiled")
    names = [f["name"] for f in report["first_divergence"]["features"]]
    assert names and all("acc_x_lp" in n for n in names)


def test_digest_mode_finds_the_same_first_push(setup, tmp_path):
    """Digest mode logs one 64-bit digest per vector: a correct build is identical, an edited
    constant diverges at the same push as in full mode (without naming the features)."""
    spec, files, ref, samples = setup
    full = parse(record(files, spec.name, samples, tmp_path / "full"))
    digest_log = record(files, spec.name, samples, tmp_path / "digest", digest=True)
    assert len(digest_log) * 8 < full.size
    assert _replay(digest_log, ref)["identical"]
    path = f"c/{spec.name}_device_features.c"
    edited = dict(files, **{path: files[path].replace("0x1.999999999999ap-3", "0.21")})
    a = _replay(record(edited, spec.name, samples, tmp_path / "e1"), ref)
    b = _replay(record(edited, spec.name, samples, tmp_path / "e2", digest=True), ref)
    assert b["vector_mode"] == "digest" and not b["identical"]
    assert a["first_divergence"]["push"] == b["first_divergence"]["push"]
    assert a["vectors"]["features_differ"] == b["vectors"]["features_differ"]
    assert b["causes"][0].startswith("generated code edited or miscompiled")


def test_another_model_is_named(setup, tmp_path):
    spec, files, ref, samples = setup
    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "examples" / "twist_and_go" / "model", model_dir)
    doc = json.loads((model_dir / "model.json").read_text())
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][0]
    for i, left in enumerate(tree["left_children"]):  # another run: other leaf values
        if left == -1:
            tree["split_conditions"][i] += 0.25
    raw = json.dumps(doc).encode()
    (model_dir / "model.json").write_bytes(raw)
    meta = json.loads((model_dir / "featgen_model.json").read_text())
    meta["model_sha256"] = hashlib.sha256(raw).hexdigest()
    (model_dir / "featgen_model.json").write_text(json.dumps(meta))
    shutil.copy(EXAMPLE, tmp_path / "spec.yaml")  # the same spec, beside the other model
    other_files = generate(load_spec(tmp_path / "spec.yaml"))
    report = _replay(record(other_files, spec.name, samples, tmp_path / "c"), ref)
    assert not report["identical"]
    assert report["causes"][0].startswith("another model: model hash differs")
    assert report["identity"]["spec_sha256"][0] == report["identity"]["spec_sha256"][1]
    assert report["first_divergence"]["features"] == []  # the features are the same
    assert any(report["first_divergence"]["margins"]["ulp"])


@pytest.mark.parametrize("scale", [1 / 9.80665, 9.80665], ids=["in g", "times g"])
def test_wrong_units_are_named(setup, tmp_path, scale):
    spec, files, ref, samples = setup
    report = _replay(record(files, spec.name, samples, tmp_path, scale=scale), ref)
    assert not report["identical"]
    assert report["first_divergence"] is None  # the device computed faithfully...
    assert any(c.startswith("input units differ by 9.81x") for c in report["causes"])


def test_malformed_logs_name_the_byte_offset(setup, tmp_path):
    """A seeded, bounded fuzz: truncations and bit flips are a DataError naming an offset (a
    cut exactly at a record boundary: a log without its end record); never another exception."""
    spec, files, ref, samples = setup
    log = record(files, spec.name, samples[:120], tmp_path)
    assert compare(parse(log), ref)["identical"]
    rng = random.Random(5)
    offsets = set()
    for trial in range(300):
        data = bytearray(log)
        if trial % 2:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        if bytes(data) == log:
            continue
        try:
            cut = parse(bytes(data), "fuzz.fglog")
        except DataError as exc:
            m = re.search(r"at byte offset (\d+)$", str(exc))
            assert m, str(exc)
        else:  # only a cut exactly at a record boundary parses, and it says so
            assert trial % 2 and not cut.ended
            continue
        assert int(m.group(1)) <= len(data)
        offsets.add(int(m.group(1)))
    assert len(offsets) > 20
    # a log cut at a record boundary parses, but says it has no end record
    cut = parse(log[:-17])
    assert not cut.ended and cut.status.size == 120 and parse(log).ended
    with pytest.raises(DataError, match=r"counts 121 pushes.*at byte offset"):
        parse(_end_record(log, 121))


def _end_record(log: bytes, count: int) -> bytes:
    """``log`` with its end record replaced by one counting ``count`` pushes (checksum valid)."""
    import struct

    from featgen.replay import fnv1a

    body = struct.pack("<IBQ", 9, 2, count)
    return log[:-17] + body + struct.pack("<I", fnv1a(body))


def test_cli_exit_codes(setup, tmp_path):
    spec, files, ref, samples = setup
    good = record(files, spec.name, samples[:200], tmp_path / "good")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.fglog").write_bytes(good)
    from click.testing import CliRunner

    from featgen.cli import main

    def run(*args):
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(ROOT)
            return CliRunner().invoke(main, ["replay", *args])

    out = run(str(logs / "a.fglog"), "--spec", str(EXAMPLE), "--json", str(tmp_path / "r.json"))
    assert out.exit_code == 0, out.output
    assert "IDENTICAL" in out.stdout
    assert json.loads((tmp_path / "r.json").read_text())[str(logs / "a.fglog")]["identical"]
    (tmp_path / "cut.fglog").write_bytes(good[:-7])
    out = run(str(tmp_path / "cut.fglog"), "--spec", str(EXAMPLE))
    assert out.exit_code == 2 and "byte offset" in out.output and "Traceback" not in out.output
    (logs / "b.fglog").write_bytes(
        record(files, spec.name, samples[:200], tmp_path / "g", scale=9.80665)
    )
    out = run(str(logs))  # the spec found from the name in the log
    assert out.exit_code == 1, out.output
    assert "2 logs: 1 identical, 1 diverged" in out.stdout


CONTRACT = r"""
#include "NAME_recorder.h"

#include <string.h>

#define N_IN PREFIX_N_INPUTS

static size_t bytes;

static void sink(void *ctx, const void *b, size_t n)
{
    (void)ctx;
    (void)b;
    bytes += n;
}

/* Exit 0, or the number of the first broken promise. */
int main(void)
{
    static NAME_detector d, e;
    NAME_result r, r2;
    NAME_recorder rec;
    double s[N_IN];
    memset(&rec, 0, sizeof rec);
    NAME_detector_init(&d);
    NAME_detector_init(&e);
    for (int i = 0; i < 300; ++i) {
        for (int k = 0; k < N_IN; ++k) {
            s[k] = (k == 2 ? 9.81 : 0.0) + 0.25 * (double)((i * (k + 2)) % 31);
        }
        if (NAME_detector_push_recorded(&d, &rec, s, &r) != NAME_detector_push(&e, s, &r2)) {
            return 10; /* the same status as push */
        }
    }
    if (bytes != 0) {
        return 11; /* a zeroed recorder is off */
    }
    if (NAME_detector_push_recorded(&d, NULL, s, &r) < 0) {
        return 12; /* a NULL recorder is off */
    }
    if (NAME_recorder_start(NULL, sink, NULL, 0) != PPP_DETECTOR_ERR_NULL
        || NAME_recorder_start(&rec, NULL, NULL, 0) != PPP_DETECTOR_ERR_NULL
        || NAME_recorder_start(&rec, sink, NULL, 7) != PPP_DETECTOR_REJECTED || bytes != 0) {
        return 13;
    }
    if (NAME_recorder_start(&rec, sink, NULL, PPP_RECORDER_FULL_VECTORS) != 0
        || bytes != PPP_RECORDER_HEADER_BYTES) {
        return 14;
    }
    if (NAME_detector_push_recorded(&d, &rec, NULL, &r) != PPP_DETECTOR_ERR_NULL
        || bytes != PPP_RECORDER_HEADER_BYTES) {
        return 15; /* no sample: nothing to log */
    }
    if (NAME_detector_push_recorded(NULL, &rec, s, &r) != PPP_DETECTOR_ERR_NULL
        || bytes != PPP_RECORDER_HEADER_BYTES + 4 + 2 + 8 * N_IN + 4) {
        return 16; /* misuse with a sample: logged with its status */
    }
    NAME_recorder_stop(&rec);
    size_t after = bytes;
    NAME_detector_push_recorded(&d, &rec, s, &r);
    NAME_recorder_stop(&rec);
    if (after != PPP_RECORDER_HEADER_BYTES + 4 + 2 + 8 * N_IN + 4 + 17 || bytes != after) {
        return 17; /* one end record; nothing after stop */
    }
    return 0;
}
"""


def test_recorder_is_off_by_default_and_keeps_the_runtime_contract(setup, tmp_path):
    """A zeroed or NULL recorder logs nothing and changes no status; start refuses NULL and
    unknown modes; a NULL sample is not logged, a misuse with a sample is; stop ends it."""
    spec, files, _, _ = setup
    feat = manifest_of(files).model.device.featuriser
    for file_name, text in _sources(files).items():
        (tmp_path / file_name).write_text(text)
    (tmp_path / "contract.c").write_text(
        CONTRACT.replace("NAME", spec.name)
        .replace("PREFIX", feat.upper())
        .replace("PPP", spec.name.upper())
    )
    units = [
        f"{feat}_features.c",
        f"{spec.name}_model.c",
        f"{spec.name}_detector.c",
        f"{spec.name}_recorder.c",
        "contract.c",
    ] + _sensor_unit(files, spec.name)
    exe = tmp_path / "contract"
    subprocess.run(
        [
            "gcc",
            *abi.EMITTED,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-I",
            str(tmp_path),
            *(str(tmp_path / u) for u in units),
            "-o",
            str(exe),
            "-lm",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
