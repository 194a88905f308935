"""Recordings at scale and partitioned feature tables (Parquet), on any fsspec filesystem.

* ``discover`` turns directories, globs and files (local paths or fsspec URLs such as
  ``s3://bucket/fleet/*.parquet``) into a sorted list of :class:`RecordingRef`, one per recording:
  a CSV or Parquet file is one recording, an NPZ archive holds one per 2-D array (featgen's NPZ
  convention, see featgen/data.py). Names are those the single-machine path gives them.
* ``read_samples`` / ``read_labeled_one`` read one recording (on whichever machine runs the task)
  with the same readers as ``featgen featurize`` / ``featgen train``.
* The feature table is a directory with one Parquet file per recording (its "partition":
  ``recording``, ``end_sample`` and one float64 column per feature, in FEATURE_NAMES order),
  written a row group at a time as the recording streams through. Each file's schema metadata
  (key ``featgen``, in the footer) names the spec (name, spec hash, features hash), the
  feature names, the recording and a fingerprint of its source, so a rerun knows which
  partitions are finished and refuses partitions written by another spec. A partition is
  written under a temporary name and renamed into place, so a killed writer never leaves a
  half-written one. ``_featgen.json`` (written last) lists the partitions in recording order.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

import fsspec.core
import numpy as np
from fsspec.implementations.local import LocalFileSystem

from .data import (
    CHUNK_ROWS,
    DataError,
    Recording,
    Source,
    npz_members,
    read_chunks,
    read_labeled_source,
    read_whole,
)

FORMAT = "featgen-features/1"
META_KEY = b"featgen"
MANIFEST = "_featgen.json"
TMP_MARK = ".featgen-tmp-"
PREFIX = "part-"
SUFFIXES = (".csv", ".npz", ".parquet")
GLOB_CHARS = set("*?[")


@dataclasses.dataclass(frozen=True)
class RecordingRef:
    """One recording: where it is and what it is called (picklable, sent to workers)."""

    name: str  # e.g. "s00_r01" (CSV/Parquet: file stem), "fleet:s00_r01" (NPZ)
    url: str  # local path or fsspec URL of its file
    kind: str  # "csv" | "npz" | "parquet"
    key: str | None = None  # the array inside an NPZ archive
    fingerprint: str = ""  # size and modification time (or ETag) of the file

    @property
    def file(self) -> str:
        """The partition's file name: the recording name, percent-encoded (reversible)."""
        return f"{PREFIX}{quote(self.name, safe='')}.parquet"


def _fs(url: str):
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # unknown protocol, or its package not installed
        raise DataError(f"{url}: cannot open this location ({exc})") from None


def _is_local(fs) -> bool:
    return isinstance(fs, LocalFileSystem)


def _url(fs, path: str) -> str:
    return path if _is_local(fs) else fs.unstrip_protocol(path)


def _fingerprint(fs, path: str) -> str:
    info = fs.info(path)
    stamp = next(
        (
            info[k]
            for k in (
                "mtime",
                "LastModified",
                "last_modified",
                "ETag",
                "etag",
                "md5Hash",
                "created",
            )
            if info.get(k) is not None
        ),
        "",
    )
    return f"{info.get('size')}:{stamp}"


def discover(sources: list[str] | tuple[str, ...]) -> list[RecordingRef]:
    """The recordings in SOURCES (files, directories, globs; local paths or fsspec URLs), each
    expanded in sorted order and the sources in the order given. Raises DataError for a missing
    path, a glob or directory without recordings, an unsupported file or two recordings with
    the same name."""
    refs: list[RecordingRef] = []
    for source in sources:
        fs, path = _fs(source)
        if any(c in GLOB_CHARS for c in path):
            files = sorted(p for p in fs.glob(path) if not fs.isdir(p))
            if not files:
                raise DataError(f"{source}: no files match this pattern")
            bad = [p for p in files if not p.lower().endswith(SUFFIXES)]
            if bad:
                raise DataError(
                    f"{source}: matches {_url(fs, bad[0])}, which is not a "
                    "recording (expected .csv, .npz or .parquet)"
                )
        elif fs.isdir(path):
            files = sorted(
                p
                for p in fs.find(path)
                if p.lower().endswith(SUFFIXES) and not posixpath.basename(p).startswith((".", "_"))
            )
            if not files:
                raise DataError(f"{source}: directory holds no .csv, .npz or .parquet files")
        elif fs.isfile(path):
            if not path.lower().endswith(SUFFIXES):
                raise DataError(
                    f"{source}: unsupported data file (expected .csv, .npz or .parquet)"
                )
            files = [path]
        else:
            raise DataError(f"{source}: no such file or directory")
        for p in files:
            refs += _refs_of(fs, p)
    seen: dict[str, RecordingRef] = {}
    for ref in refs:
        if ref.name in seen:
            raise DataError(
                f"two recordings are named {ref.name!r}: {seen[ref.name].url} and "
                f"{ref.url}; recordings are named by file (and NPZ array), so rename "
                "one of them"
            )
        seen[ref.name] = ref
    return refs


def local_files(sources) -> list[Path]:
    """SOURCES for the single-machine readers: files as given (a missing one is reported by
    the reader), directories and globs expanded as ``discover`` expands them."""
    out: list[Path] = []
    for source in sources:
        if Path(source).is_file() or not (
            Path(source).is_dir() or any(c in GLOB_CHARS for c in str(source))
        ):
            out.append(Path(source))
            continue
        for ref in discover([str(source)]):
            if "://" in ref.url:
                raise DataError(f"{source}: a remote location needs --cluster (or a local copy)")
            if Path(ref.url) not in out:
                out.append(Path(ref.url))
    return out


def _refs_of(fs, path: str) -> list[RecordingRef]:
    url = _url(fs, path)
    stem, suffix = posixpath.splitext(posixpath.basename(path))
    kind = suffix.lower()[1:]
    fingerprint = _fingerprint(fs, path)
    if kind != "npz":
        return [RecordingRef(stem, url, kind, None, fingerprint)]
    with _local_copy(url) as local:
        try:
            with np.load(local, allow_pickle=False) as archive:
                keys = [k for k in archive.files if "." not in k]
        except Exception as exc:  # numpy raises several types for a corrupt archive
            raise DataError(f"{url}: not a readable .npz archive ({exc})") from None
    if not keys:
        raise DataError(f"{url}: the archive holds no arrays")
    return [RecordingRef(f"{stem}:{k}", url, "npz", k, fingerprint) for k in keys]


@contextmanager
def _local_copy(url: str):
    """A local path to the file at URL: the file itself on a local filesystem, else a
    temporary copy (so the readers of featgen/data.py serve every filesystem)."""
    fs, path = _fs(url)
    if _is_local(fs):
        yield Path(path)
        return
    suffix = posixpath.splitext(path)[1]
    with tempfile.TemporaryDirectory(prefix="featgen-") as tmp:
        local = Path(tmp) / f"{posixpath.splitext(posixpath.basename(path))[0]}{suffix}"
        fs.get(path, str(local))
        yield local


# ---------------------------------------------------------------- reading one recording


def read_samples(ref: RecordingRef, inputs: tuple[str, ...]) -> np.ndarray:
    """(n_samples, len(inputs)) float64, read exactly as ``featgen featurize`` reads it."""
    with _local_copy(ref.url) as local:
        return read_whole(_source(ref, local), inputs)


def read_sample_chunks(ref: RecordingRef, inputs: tuple[str, ...], rows: int | None = None):
    """The samples of REF in chunks (featgen.data.Chunk), as ``featgen featurize`` reads them."""
    with _local_copy(ref.url) as local:
        yield from read_chunks(_source(ref, local), inputs, rows or CHUNK_ROWS)


def _source(ref: RecordingRef, local: Path) -> Source:
    if ref.kind == "npz" and ref.key not in npz_members(local):
        raise DataError(f"{ref.url}: the archive no longer holds array {ref.key!r}")
    return Source(ref.name, local, ref.kind, ref.key)


def read_labeled_one(
    ref: RecordingRef, inputs: tuple[str, ...], label_column: str, group_column: str | None
) -> Recording:
    """One :class:`featgen.data.Recording`, read exactly as ``featgen train`` reads it."""
    with _local_copy(ref.url) as local:
        return read_labeled_source(
            _source(ref, local), inputs, label_column, group_column, where=ref.url
        )


def write_recording_parquet(
    path, samples: np.ndarray, inputs: tuple[str, ...], extra: dict | None = None
) -> None:
    """A recording as a Parquet file (one float64 column per input, plus EXTRA columns)."""
    import pyarrow as pa  # lazily: pyarrow is heavy, only this path needs it
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    data = {name: samples[:, j] for j, name in enumerate(inputs)}
    data.update(extra or {})
    fs, p = _fs(str(path))
    with fs.open(p, "wb") as handle:
        pq.write_table(pa.table(data), handle)


# ---------------------------------------------------------------- the feature table


@dataclasses.dataclass(frozen=True)
class FeatureJob:
    """What every partition of one run shares: the spec's identity and its generated numpy
    featuriser (its source text, compiled once per worker process)."""

    spec_name: str
    spec_hash: str
    features_hash: str
    generator_version: str
    inputs: tuple[str, ...]
    feature_names: tuple[str, ...]
    source: str  # python/<name>_features.py as generated
    nonfinite: str = "raise"

    def metadata(self, ref: RecordingRef, n_samples: int, vectors: int, dropped: int) -> dict:
        return {
            "format": FORMAT,
            "spec_name": self.spec_name,
            "spec_hash": self.spec_hash,
            "features_hash": self.features_hash,
            "generator_version": self.generator_version,
            "feature_names": list(self.feature_names),
            "recording": ref.name,
            "source": ref.url,
            "source_fingerprint": ref.fingerprint,
            "samples": n_samples,
            "vectors": vectors,
            "nonfinite": self.nonfinite,
            "dropped_nonfinite_samples": dropped,
        }


def feature_table(
    job: FeatureJob, ref: RecordingRef, x: np.ndarray, ends: np.ndarray, meta: dict | None
):
    import pyarrow as pa  # lazily: pyarrow is heavy, only this path needs it

    columns = {
        "recording": pa.array([ref.name] * x.shape[0], pa.string()),
        "end_sample": pa.array(np.asarray(ends, dtype=np.int64)),
    }
    for j, name in enumerate(job.feature_names):
        columns[name] = pa.array(np.ascontiguousarray(x[:, j], dtype=np.float64))
    table = pa.table(columns)
    if meta is None:
        return table
    return table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})


def feature_schema(job: FeatureJob):
    import pyarrow as pa  # lazily: pyarrow is heavy, only this path needs it

    return pa.schema(
        [("recording", pa.string()), ("end_sample", pa.int64())]
        + [(name, pa.float64()) for name in job.feature_names]
    )


def write_atomic(out_url: str, file: str, write) -> None:
    """WRITE(handle) into OUT_URL/FILE through a temporary name in the same directory, then a
    rename: readers and reruns see the whole file or none of it."""
    fs, root = _fs(out_url)
    final = posixpath.join(root, file)
    tmp = posixpath.join(root, f"{TMP_MARK}{uuid.uuid4().hex}-{file}")
    try:
        with fs.open(tmp, "wb") as handle:
            write(handle)
        if _is_local(fs):
            os.replace(tmp, final)  # atomic on POSIX
        else:
            fs.mv(tmp, final)  # object stores: the object appears whole, or not at all
    except BaseException:
        try:
            fs.rm(tmp)
        except (OSError, FileNotFoundError):
            pass
        raise


def write_partition(
    out_url: str, job: FeatureJob, ref: RecordingRef, x: np.ndarray, ends: np.ndarray, meta: dict
) -> None:
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    table = feature_table(job, ref, x, ends, meta)
    # Dictionary encoding only pays for the recording name; on feature columns pyarrow would
    # try it and fall back (3x the write time).
    write_atomic(
        out_url,
        ref.file,
        lambda handle: pq.write_table(table, handle, use_dictionary=["recording"]),
    )


def write_partition_stream(out_url: str, job: FeatureJob, ref: RecordingRef, chunks, meta) -> int:
    """The partition of REF from CHUNKS, an iterable of (features, ends) blocks, each written
    as it comes (a row group per block: flat memory), then META(vectors), the featgen
    metadata, in the file's footer. Atomic like write_partition. Returns the vector count."""
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    schema = feature_schema(job)
    count = 0

    def write(handle):
        nonlocal count
        # Dictionary encoding only pays for the recording name (see write_partition).
        # store_schema=False: the key-value metadata added at the end (when the counts are
        # known) is then the schema metadata readers see (else the Arrow schema stored at the
        # start would hide it); the column types read back the same.
        writer = pq.ParquetWriter(handle, schema, use_dictionary=["recording"], store_schema=False)
        try:
            for x, ends in chunks:
                if x.shape[0]:
                    writer.write_table(feature_table(job, ref, x, ends, None).cast(schema))
                    count += x.shape[0]
            writer.add_key_value_metadata({META_KEY.decode(): json.dumps(meta(count))})
        finally:
            writer.close()

    write_atomic(out_url, ref.file, write)
    return count


def _footer_metadata(handle) -> dict:
    """The featgen metadata of an open partition: the file's key-value metadata (where a
    streamed partition puts it; a table written whole has it there too)."""
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    return json.loads((pq.read_metadata(handle).metadata or {})[META_KEY])


def partition_metadata(fs, path: str) -> dict | None:
    """The featgen metadata of the partition at PATH, or None when it is unreadable."""
    import pyarrow as pa  # lazily: pyarrow is heavy, only this path needs it

    try:
        with fs.open(path, "rb") as handle:
            return _footer_metadata(handle)
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return None


@dataclasses.dataclass
class Plan:
    todo: list[RecordingRef]
    done: list[RecordingRef]
    stale: list[RecordingRef]  # a finished partition whose recording has changed since
    unreadable: list[str]  # partitions that are not readable featgen Parquet: redone
    foreign: list[str]  # partitions of recordings not among the inputs: left alone


def plan(out_url: str, job: FeatureJob, refs: list[RecordingRef]) -> Plan:
    """Which partitions a run must write. Raises DataError when OUT_URL holds a partition of
    another spec (its features hash differs), which a rerun must not mix in."""
    fs, root = _fs(out_url)
    if fs.exists(root) and not fs.isdir(root):
        raise DataError(
            f"{out_url}: exists and is not a directory; the partitioned feature "
            "table is a directory (one Parquet file per recording)"
        )
    fs.makedirs(root, exist_ok=True)
    remove_leftovers(out_url)
    present = {posixpath.basename(p): p for p in fs.ls(root, detail=False)}
    wanted = {ref.file: ref for ref in refs}
    out = Plan([], [], [], [], [])
    for ref in refs:
        if ref.file not in present:
            out.todo.append(ref)
            continue
        meta = partition_metadata(fs, present[ref.file])
        if meta is None or meta.get("format") != FORMAT:
            out.unreadable.append(ref.file)
            out.todo.append(ref)
        elif meta.get("features_hash") != job.features_hash:
            raise DataError(
                f"{_url(fs, present[ref.file])} was written by spec {meta.get('spec_name')!r} "
                f"(features hash {str(meta.get('features_hash'))[:12]}), not by this spec "
                f"{job.spec_name!r} (features hash {job.features_hash[:12]}): its features "
                "differ. Write to another directory, or delete the old table first"
            )
        elif (
            meta.get("recording") != ref.name
            or meta.get("source_fingerprint") != ref.fingerprint
            or (meta.get("dropped_nonfinite_samples") and meta.get("nonfinite") != job.nonfinite)
        ):
            out.stale.append(ref)
            out.todo.append(ref)
        else:
            out.done.append(ref)
    out.foreign = sorted(
        n for n in present if n.startswith(PREFIX) and n.endswith(".parquet") and n not in wanted
    )
    return out


def remove_leftovers(out_url: str) -> int:
    """Delete the temporary files of writers that died mid-file (a killed worker's); called
    before a run and after its last partition. Returns how many there were."""
    fs, root = _fs(out_url)
    if not fs.isdir(root):
        return 0
    leftovers = [p for p in fs.ls(root, detail=False) if posixpath.basename(p).startswith(TMP_MARK)]
    for path in leftovers:
        try:
            fs.rm(path)
        except FileNotFoundError:
            pass
    return len(leftovers)


def remove_manifest(out_url: str) -> None:
    """Before a run rewrites partitions: no manifest means "not finished"."""
    fs, root = _fs(out_url)
    path = posixpath.join(root, MANIFEST)
    if fs.exists(path):
        fs.rm(path)


def write_manifest(
    out_url: str, job: FeatureJob, refs: list[RecordingRef], vectors: dict[str, int]
) -> None:
    manifest = {
        "format": FORMAT,
        "spec_name": job.spec_name,
        "spec_hash": job.spec_hash,
        "features_hash": job.features_hash,
        "generator_version": job.generator_version,
        "feature_names": list(job.feature_names),
        "recordings": len(refs),
        "vectors": int(sum(vectors.values())),
        "partitions": [
            {"recording": r.name, "file": r.file, "source": r.url, "vectors": int(vectors[r.name])}
            for r in refs
        ],
    }
    text = json.dumps(manifest, indent=2) + "\n"
    write_atomic(out_url, MANIFEST, lambda handle: handle.write(text.encode()))


def read_features(out_url: str):
    """(features (n, n_features) float64, end_sample (n,), recording (n,) str, manifest) of a
    partitioned feature table, partitions in the manifest's (the recordings') order."""
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    fs, root = _fs(out_url)
    path = posixpath.join(root, MANIFEST)
    if not fs.exists(path):
        raise DataError(f"{out_url}: no {MANIFEST}; not a finished featgen feature table")
    manifest = json.loads(fs.cat_file(path))
    xs, ends, names = [], [], []
    for part in manifest["partitions"]:
        with fs.open(posixpath.join(root, part["file"]), "rb") as handle:
            meta = _footer_metadata(handle)
            handle.seek(0)
            table = pq.read_table(handle)
        if (
            meta["features_hash"] != manifest["features_hash"]
            or meta["recording"] != part["recording"]
        ):
            raise DataError(f"{out_url}/{part['file']}: does not belong to this table")
        if table.num_rows:
            xs.append(
                np.stack([table.column(n).to_numpy() for n in manifest["feature_names"]], axis=1)
            )
        ends.append(table.column("end_sample").to_numpy())
        names += [part["recording"]] * table.num_rows
    n = len(manifest["feature_names"])
    x = np.concatenate(xs) if xs else np.empty((0, n))
    return (
        x.reshape(-1, n),
        np.concatenate(ends) if ends else np.empty(0, np.int64),
        np.array(names, dtype=str),
        manifest,
    )


def recording_of(file: str) -> str:
    """The recording name of a partition file name (the inverse of RecordingRef.file)."""
    return unquote(file[len(PREFIX) : -len(".parquet")])
