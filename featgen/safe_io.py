"""Crash-safe outputs: a file or a directory appears at its final path complete, or not at all.

Every command that writes a user-visible output (featurize, train, build, parity reports,
schema) writes beside the final path, flushes to disk, then renames over it. A run killed
half-way (SIGTERM, SIGINT, a full disk) leaves the previous output intact, or no output, plus
at worst a hidden ``.<name>.featgen-tmp-*`` sibling, never a truncated file at the final path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from featurespec.errors import OutputError

TMP_MARK = ".featgen-tmp-"


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every filesystem allows it)."""
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


def _sibling(path: Path, tag: str = "") -> Path:
    """A fresh hidden name beside ``path``, chosen BEFORE anything is created: a signal that
    lands just after the creation still finds the name in the cleanup (mkstemp's would not)."""
    return path.with_name(f".{path.name}{TMP_MARK}{tag}{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike,
    mode: str = "wb",
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator:
    """Open a temporary sibling of ``path`` for writing; on a clean exit flush, fsync and rename
    it to ``path`` (mode 0666 & ~umask, like a plain ``open``); on any exception remove it."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp = _sibling(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(directory)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # ENOSPC on write(): say where
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_file(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_file(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging directory beside ``path``; on a clean exit it replaces ``path``
    (the old tree is moved aside, the new one renamed in, the old one removed), so a reader sees
    the old tree or the new one, never a mix. On any exception the staging tree is removed and
    ``path`` is untouched. Directories are 0777 & ~umask, like ``mkdir``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    staging, old = _sibling(path), None
    try:
        os.mkdir(staging, 0o777)  # the umask applies
        yield staging
        _fsync_tree(staging)
        if os.path.lexists(path):
            old = _sibling(path, "old-")
            os.replace(path, old)
        os.replace(staging, path)
        _fsync_dir(directory)
    except BaseException:
        if old is not None and not os.path.lexists(path) and os.path.lexists(old):
            os.replace(old, path)  # interrupted between the two renames: put it back
            old = None
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_dir(Path(dirpath))


def check_output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """Refuse, before any work, a file output that cannot be written atomically: a link (the
    rename would replace the link, not its target), a folder, a device or FIFO (/dev/full,
    /dev/stdout), a missing or unwritable folder. OutputError names the path; returns it."""
    path = Path(path)
    if path.is_symlink():
        raise OutputError(
            f"{what} {path} is a symbolic link (to {os.readlink(path)}); featgen "
            "writes a new file and renames it over the path, which would replace "
            "the link: give the real path"
        )
    if path.exists() and not path.is_file():
        mode = path.stat().st_mode
        kind = (
            "a folder"
            if stat.S_ISDIR(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise OutputError(f"{what} {path} is {kind}; featgen writes regular files only")
    check_output_folder(path.parent if str(path.parent) else Path("."), f"{what} {path}")
    return path


def check_output_folder(folder: str | os.PathLike, what: str, create: bool = False) -> None:
    """Refuse a folder an output cannot be written in: missing (unless ``create``: then its
    nearest existing ancestor must be a writable folder), a file, or not writable (probed by
    creating and removing a temporary file, which also catches read-only file systems)."""
    folder = Path(folder)
    probe = folder
    if create:
        while not os.path.lexists(probe) and probe != probe.parent:
            probe = probe.parent
    if not probe.exists():
        raise OutputError(f"{what}: the folder {folder} does not exist")
    if not probe.is_dir():
        raise OutputError(f"{what}: {probe} is not a folder")
    tmp = _sibling(probe / "featgen-probe")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise OutputError(f"{what}: cannot write in {probe} ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def same_file_among(path: str | os.PathLike, candidates):
    """The first of CANDIDATES that is the file PATH (by path, link or hard link), or None; a
    path that cannot be read is nobody's twin (its reader reports it)."""
    for candidate in candidates:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, candidate):
                return candidate
    return None


def check_not_an_input(path: str | os.PathLike, inputs, what: str = "output") -> None:
    """Refuse, before any work, an output that is one of the command's INPUTS (the same file by
    path, link or hard link): the rename would replace the input with the output, and the data
    would be gone (``featgen featurize rec.csv -o rec.csv``, ``replay LOG --html LOG``)."""
    if not os.path.lexists(path):
        return
    source = same_file_among(path, inputs)
    if source is not None:
        raise OutputError(
            f"{what} {path} is an input of this command ({source}); writing it "
            "would replace that input: choose another file"
        )


def check_not_inside_an_input(folder: str | os.PathLike, sources, what: str = "output") -> None:
    """Refuse, before any work, an output FOLDER that is one of the command's input directories
    (SOURCES) or lies inside one: inputs are read recursively, so what is written there would be
    read back as input on the next run (``featgen featurize data -o data/features``)."""
    if "://" in str(folder):
        return
    target = Path(folder).resolve()
    for source in sources:
        if "://" in str(source) or not Path(source).is_dir():
            continue
        base = Path(source).resolve()
        if target == base or base in target.parents:
            raise OutputError(
                f"{what} {folder} is an input of this command (inside {source}, which is read "
                "with everything under it): the next run would read what it writes as input; "
                "choose a folder outside it"
            )
