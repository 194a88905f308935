"""What a build returns: a frozen ``Bundle`` of files plus the typed facts callers used to
reverse-engineer from them (the manifest, the programs, the model, each file's role).

Consumers read fields (``bundle.manifest.n_features``, ``bundle.role("C", "header")``,
``bundle.model.forest``) instead of re-parsing manifest.json, scraping headers or matching path
prefixes. A ``Bundle`` is also a read-only ``Mapping`` of {relative path: content}, so code that
only writes or compares the tree (``write_tree``, ``stale_files``) takes it as it took the dict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # types only: the bundle module imports nothing of the pipeline
    from .lowering import Program
    from .trees.model_dir import Bundle as ModelBundle

MANIFEST = "manifest.json"


class Files(Mapping[str, str | bytes]):
    """A read-only {relative path: str | bytes}, sorted by path (picklable, unlike a
    MappingProxyType: dask ships it to workers)."""

    __slots__ = ("_files",)
    _files: dict[str, str | bytes]

    def __init__(self, files: Mapping[str, str | bytes]):
        object.__setattr__(self, "_files", dict(sorted(files.items())))

    def __getitem__(self, path: str) -> str | bytes:
        return self._files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Files is read-only")

    def __getstate__(self) -> dict[str, str | bytes]:
        return self._files

    def __setstate__(self, state: dict[str, str | bytes]) -> None:
        object.__setattr__(self, "_files", state)

    def __repr__(self) -> str:
        return f"Files({len(self._files)} files)"


@dataclass(frozen=True)
class DeviceEntry:
    """The featuriser the detector runs: its C/Swift prefix, and for each of its features the
    name and the full-vector column. ``full``: it computes the whole vector (no pruning)."""

    featuriser: str
    names: tuple[str, ...]
    columns: tuple[int, ...]
    of: int

    @property
    def full(self) -> bool:
        return len(self.names) == self.of


@dataclass(frozen=True)
class ModelEntry:
    """manifest.json's "model" entry, typed where callers read it."""

    model_sha256: str
    objective: str
    n_outputs: int
    n_trees: int
    max_depth: int
    base_margin: tuple[str, ...]
    decision: Mapping[str, Any]
    device: DeviceEntry
    coreml_file: str
    path: str


@dataclass(frozen=True)
class Manifest:
    """manifest.json: ``text`` is the file byte for byte; the fields are what it says."""

    text: str
    spec: str
    spec_hash: str
    generator_version: str
    sample_rate_hz: float
    inputs: tuple[str, ...]
    feature_names: tuple[str, ...]
    max_length: int
    windows: tuple[tuple[str, int, int], ...]  # (name, length, hop)
    model: ModelEntry | None
    files: Mapping[str, str]  # path -> sha256
    data: Mapping[str, Any] = field(repr=False, default_factory=dict)  # the whole JSON, read-only

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def as_dict(self) -> dict[str, Any]:
        """A mutable copy of the whole manifest (``data`` is the read-only one)."""
        data: dict[str, Any] = json.loads(self.text)
        return data

    @classmethod
    def parse(cls, text: str) -> Manifest:
        """A manifest from its JSON text (a tree on disk, or the build's own)."""
        meta = json.loads(text)
        model = None
        if meta.get("model") is not None:
            m = meta["model"]
            d = m["device"]
            model = ModelEntry(
                m["model_sha256"],
                m["objective"],
                m["n_outputs"],
                m["n_trees"],
                m["max_depth"],
                tuple(m["base_margin"]),
                _frozen(m["decision"]),
                DeviceEntry(
                    d["featuriser"],
                    tuple(f["name"] for f in d["features"]),
                    tuple(f["index"] for f in d["features"]),
                    d["of"],
                ),
                m["coreml"]["file"],
                m["path"],
            )
        return cls(
            text,
            meta["spec"],
            meta["spec_hash"],
            meta["generator_version"],
            meta["sample_rate_hz"],
            tuple(meta["inputs"]),
            tuple(f["name"] for f in meta["features"]),
            meta["max_length"],
            tuple((w["name"], w["length"], w["hop"]) for w in meta["windows"]),
            model,
            _frozen(meta["files"]),
            _frozen(meta),
        )

    def feature_names_of(self, prefix: str) -> tuple[str, ...]:
        """The features a featuriser computes: the full one (``spec``) or the device one."""
        if prefix == self.spec:
            return self.feature_names
        if self.model is not None and prefix == self.model.device.featuriser:
            return self.model.device.names
        raise KeyError(f"no featuriser {prefix!r} in this build")


def _frozen(value: Any) -> Any:
    """JSON objects as read-only mappings, lists as tuples (a manifest is a value)."""
    if isinstance(value, dict):
        return _ReadOnly({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


class _ReadOnly(dict[str, Any]):
    """A dict that refuses writes (picklable; ``dict(x)`` gives a mutable copy)."""

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("a manifest entry is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[_ReadOnly], tuple[dict[str, Any]]]:
        return (_ReadOnly, (dict(self),))


@dataclass(frozen=True, eq=False)
class Bundle(Mapping[str, str | bytes]):
    """One build: every generated file, and what it was generated from.

    ``program`` is the full featuriser's plan, ``device`` the one the detector runs (the same
    object when nothing is pruned), ``model`` the loaded model directory (None without a model),
    ``roles`` {target name: {role: path}} (codegen/targets: each target names its own files)."""

    files: Files
    manifest: Manifest
    program: Program
    device: Program
    model: ModelBundle | None = None
    roles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    # ---- a read-only mapping of the files (what write_tree / stale_files / tests take)
    def __getitem__(self, path: str) -> str | bytes:
        return self.files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Bundle({self.manifest.spec}: {len(self.files)} files, "
            f"{self.manifest.n_features} features)"
        )

    # ---- typed access
    def role(self, target: str, role: str) -> str:
        """The path of ``target``'s file with ``role`` (KeyError naming what exists)."""
        try:
            return self.roles[target][role]
        except KeyError:
            known = {t: sorted(r) for t, r in self.roles.items()}
            raise KeyError(
                f"no file with role {role!r} for target {target!r}; known: {known}"
            ) from None

    def text(self, target: str, role: str) -> str | bytes:
        return self.files[self.role(target, role)]

    @property
    def featurisers(self) -> tuple[tuple[str, tuple[int, ...] | None], ...]:
        """(prefix, full-vector columns or None) of each featuriser the build emits: the full
        one, then the device one when the model reads only some features."""
        out: list[tuple[str, tuple[int, ...] | None]] = [(self.program.name, None)]
        if self.device is not self.program:
            out.append((self.device.name, tuple(self.device.full_columns)))
        return tuple(out)


def manifest_of(files: Mapping[str, str | bytes]) -> Manifest:
    """The manifest of a build: the ``Bundle``'s own, or parsed from a plain {path: text}
    (a tree read from disk, or a test's edited copy of a build)."""
    if isinstance(files, Bundle):
        return files.manifest
    text = files[MANIFEST]
    return Manifest.parse(text if isinstance(text, str) else text.decode("utf-8"))
