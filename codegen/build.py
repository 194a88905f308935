"""Spec -> generated file tree (in memory), manifest, atomic write, staleness check.

Output is byte-for-byte deterministic: no timestamps, no dict-order or hash-seed dependence,
``\\n`` line endings, one trailing newline per file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from featurespec.errors import OutputError
from featurespec.schema import Spec
from featurespec.vocabulary.features import FEATURES

from . import __version__, escape, pipeline
from . import targets as registry
from .bundle import MANIFEST, Bundle, Files, Manifest
from .lowering import Program
from .pipeline import device_program  # noqa: F401  (the public name it always had)
from .targets import EmitContext
from .targets.base import (
    TEMPLATES,  # noqa: F401  (the harness and tests read it here)
    header_lines,
)
from .targets.base import common as _common
from .targets.base import environment as _environment
from .targets.base import normalise as _normalise
from .targets.swift import GOLDEN_FILE, GOLDEN_MAGIC, SWIFT_MEMORY_PUSHES, SWIFT_MEMORY_PUSHES_DEBUG  # noqa: F401  (re-exported: tests and the harness read them here)


def _quiet(kind: str, key: str, value: object) -> bool:
    """A parameter left at a ``quiet_default`` (see featurespec/vocabulary/params.py): not listed."""
    param = FEATURES[kind].params[key] if kind in FEATURES else None
    return param is not None and param.quiet_default and value == param.default


def manifest(program: Program) -> dict[str, Any]:
    spec = program.spec
    features = []
    column = 0
    for f in spec.features:
        for out in f.outputs:
            features.append(
                {
                    "index": column,
                    "name": out,
                    "kind": f.kind,
                    "signals": list(f.signals),
                    "window": f.window,
                    "params": {
                        k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in f.params
                        if not _quiet(f.kind, k, v)
                    },
                }
            )
            column += 1
    return {
        "spec": spec.name,
        "spec_hash": spec.spec_hash,
        "generator": "featgen",
        "generator_version": __version__,
        "sample_rate_hz": spec.sample_rate_hz,
        "inputs": list(spec.inputs),
        "windows": [{"name": w.name, "length": w.length, "hop": w.hop} for w in spec.windows],
        "max_length": program.warmup,
        "emission": "a vector on every accepted sample where a window is evaluated; windows are "
        "evaluated from the first sample on which the longest window is full, then "
        "every hop samples; columns of windows not evaluated hold their last value",
        "nonfinite_samples": "rejected (push returns -1, state unchanged)",
        "n_features": len(program.feature_names),
        "features": features,
        "files": {},
    }


GoldenVectors = Callable[[Program, "dict[str, str | bytes]"], bytes]


def build(
    spec: Spec, prune: bool = True, share: bool = True, golden: GoldenVectors | None = None
) -> Bundle:
    """The whole build, once: lower -> passes -> model and sensors stages -> every registered
    target's emit (codegen/targets) -> golden vectors (only with ``golden``) -> manifest.
    Returns the frozen ``Bundle`` (files, manifest, programs, model, each target's file roles).

    With a model, the detector's featuriser computes only what the model reads unless
    ``prune`` is off (a debugging/logging build computing everything). ``share=False`` emits
    each feature's kernel separately (the oracle for sharing, and the "before" of the
    benchmarks).

    Building executes nothing: it renders text. The Swift package's golden vectors are the
    one output that needs the features computed, so they are an explicit step: ``golden``
    (``featgen.harness.golden.swift_golden``, i.e. ``featgen build --golden``) computes them from
    the files rendered so far, by running the generated numpy module. Without it the package
    has no golden.bin and its golden-vector XCTests skip, saying how to get them."""
    plan = pipeline.plan(spec, prune, share, registry.passes_needed())
    program, device = plan.program, plan.device
    env = _environment()
    lines = header_lines(program)
    files: dict[str, str | bytes] = {}
    meta = manifest(program)
    if spec.sensors is not None:  # sensor adapters for numpy, C and Swift: codegen/sensors.py
        from .sensors import manifest_entry, sensor_files

        files.update(
            sensor_files(
                spec,
                env,
                escape.c_block_comment(lines),
                escape.python_docstring(lines),
                escape.line_comments(lines),
                _normalise,
            )
        )
        meta["sensors"] = manifest_entry(spec)
    if spec.model is not None:  # model artifacts: codegen/trees/build.py
        from .trees.build import model_files

        model_out, meta["model"] = model_files(
            spec, program, device, env, lines, _common(program), _normalise, plan.model
        )
        files.update(model_out)
    roles: dict[str, dict[str, str]] = {}
    for target in registry.TARGETS:  # in registry order: a target sees the files before it
        files.update(
            target.emit(
                plan,
                EmitContext(env, tuple(lines), Files(files), meta.get("model"), golden is not None),
            )
        )
        roles[target.name] = target.roles(plan)
    if golden is not None:
        files[roles["Swift"]["golden"]] = golden(program, files)
    else:  # no golden.bin: no role naming it
        roles["Swift"] = {r: p for r, p in roles["Swift"].items() if r != "golden"}
    meta["files"] = {p: hashlib.sha256(_bytes(t)).hexdigest() for p, t in sorted(files.items())}
    text = json.dumps(meta, indent=2, sort_keys=False) + "\n"
    files[MANIFEST] = text
    return Bundle(Files(files), Manifest.parse(text), program, device, plan.model, roles)


def generate(
    spec: Spec, prune: bool = True, share: bool = True, golden: GoldenVectors | None = None
) -> Bundle:
    """All generated files for ``spec``: a ``Bundle``, which reads as {relative path: text}
    (binary files, the Swift golden vectors and the Core ML model, as bytes). See ``build``."""
    return build(spec, prune, share, golden)


# what the caller keeps out of a generated tree: (what, path, refuse_inside), see tree_problem
Protected = tuple[tuple[str, Path, bool], ...]

GOLDEN_SEED = 5
GOLDEN_BUDGET = 256 * 1024  # bytes: the golden file stays small enough to commit
# (the golden file's format and its computation: featgen/harness/golden.py)


def _tool_output(rel: str) -> bool:
    """SwiftPM's build folders inside ios/ (created by `swift build` there): not ours to judge."""
    return any(part in (".build", ".swiftpm") for part in rel.split("/"))


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def target_problem(target: Path) -> str | None:
    """What is in the way of directory ``target`` (a file, a link, a file among its parents),
    or None. Shared by ``build`` (before writing) and ``check`` (before reading)."""
    target = Path(target)
    if target.is_symlink():
        return (
            f"{target} is a symbolic link (to {os.readlink(target)}); featgen replaces its "
            "output folder as a whole and will not replace a link: remove the link, or give "
            "-o the folder it points into"
        )
    if target.exists() and not target.is_dir():
        return f"{target} is a file, not a folder featgen generated; featgen will not replace it"
    for parent in target.parents:
        if parent.is_symlink() and not parent.exists():
            return f"{parent} is a broken symbolic link (to {os.readlink(parent)})"
        if parent.exists():
            if not parent.is_dir():
                return f"cannot create {target}: {parent} is a file, not a folder"
            break
    return None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def tree_problem(target: Path, protect: Protected = ()) -> str | None:
    """Why ``target`` may not be replaced by a generated tree, or None when it may.

    It may when it is absent, empty, or a tree featgen wrote: its manifest.json says generator
    "featgen" and every file in it is listed there (contents may differ: generated files say "Do
    not edit") or is SwiftPM's output (ios/.build, .swiftpm: regenerable caches, removed). A
    file added by hand is refused by name, not kept: the tree is replaced as a whole, and a
    kept file would make `featgen check` fail right after the build. ``protect``: (what, path,
    refuse_inside) that the target must not contain (nor lie inside, when refuse_inside)."""
    target = Path(target)
    problem = target_problem(target)
    if problem:
        return problem
    real = target.resolve()
    for what, path, refuse_inside in protect:
        path = Path(path).resolve()
        if _inside(path, real):
            return (
                f"{target} holds {what} ({path}); featgen replaces {target}/ as a whole and "
                "would destroy it: choose another -o"
            )
        if refuse_inside and _inside(real, path):
            return f"{target} is inside {what} ({path}): choose another -o"
    if not target.exists() or not any(target.iterdir()):
        return None
    try:
        meta = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        listed = set(meta["files"]) if meta.get("generator") == "featgen" else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        listed = None
    for dirpath, dirnames, filenames in os.walk(target):
        base = Path(dirpath)
        dirnames.sort()
        links = [d for d in dirnames if (base / d).is_symlink()]
        dirnames[:] = [
            d
            for d in dirnames
            if d not in links and not _tool_output((base / d).relative_to(target).as_posix())
        ]
        for name in sorted(filenames + links):
            rel = (base / name).relative_to(target).as_posix()
            if listed is None:
                return (
                    f"refusing to replace {target}/: it was not generated by featgen (no "
                    f"featgen {MANIFEST}) and holds {target / rel}; move it away or choose "
                    "another -o"
                )
            if rel != MANIFEST and rel not in listed and not _tool_output(rel):
                return (
                    f"refusing to replace {target}/: {target / rel} was not written by "
                    f"featgen (it is not in {target / MANIFEST}) and would be destroyed; "
                    "move it out of the folder, or choose another -o"
                )
    return None


def write_tree(files: Mapping[str, str | bytes], target: Path, protect: Protected = ()) -> None:
    """Replace directory ``target`` with exactly ``files`` when ``tree_problem`` allows it
    (else OutputError, nothing written). The tree is written to a hidden sibling, flushed to
    disk, then renamed into place: a failure or a kill leaves the old tree (or none), never a
    mix. Files 0666 and folders 0777 less the umask, as any tool would create them."""
    target = Path(target)
    problem = tree_problem(target, protect)
    if problem:
        raise OutputError(problem)
    target.parent.mkdir(parents=True, exist_ok=True)

    def sibling(tag: str = "") -> Path:  # named before it exists: a signal right after the
        return target.with_name(  # mkdir still finds it in the cleanup
            f".{target.name}.featgen-tmp-{tag}{os.getpid()}-{secrets.token_hex(4)}"
        )

    staging, old = sibling(), None
    try:
        os.mkdir(staging, 0o777)  # the umask applies (mkdtemp's 0700 would not)
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(_bytes(text))
                handle.flush()
                os.fsync(handle.fileno())
        if os.path.lexists(target):
            old = sibling("old-")
            os.replace(target, old)
        os.replace(staging, target)
    except BaseException:
        if old is not None and not os.path.lexists(target) and os.path.lexists(old):
            os.replace(old, target)  # interrupted between the two renames: put it back
            old = None
        _remove_tree(staging)
        raise
    finally:
        if old is not None:
            _remove_tree(old)
    _fsync_dir(target.parent)


def _remove_tree(path: Path) -> None:
    """``rmtree`` that a signal cannot cut short: SIGTERM/SIGINT raise in the main thread, and one
    landing mid-removal would leave a half-deleted sibling; the removal is finished first and the
    signal's exception raised after it."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stale_files(files: Mapping[str, str | bytes], target: Path) -> list[str]:
    """Paths that differ between ``files`` and directory ``target`` (missing, changed, extra)."""
    target = Path(target)
    problems = []
    for rel, text in files.items():
        path = target / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.read_bytes() != _bytes(text):
            problems.append(f"{rel}: differs")
    if target.is_dir():
        for path in sorted(target.rglob("*")):
            rel = path.relative_to(target).as_posix()
            if path.is_file() and rel not in files and not _tool_output(rel):
                problems.append(f"{rel}: not generated by this spec")
    return problems
