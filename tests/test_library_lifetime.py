"""Generated libraries stay loaded for the life of the process.

A Swift image registers its type metadata with the Swift runtime when it is loaded and cannot
unregister it; cffi closes a library when its lib object is collected. A full test run loads
dozens of Swift featurisers, and one collected and unmapped image crashed the next runtime lookup
with SIGSEGV (a CI run died so). ``harness.open_library`` loads with ``RTLD_NODELETE``: the check
here is on the process's memory map, with a plain ``ffi.dlopen`` as the control that shows the
map does change when a library is closed."""

from __future__ import annotations

import gc
import subprocess
from pathlib import Path

import cffi
import pytest

from featgen import harness


def _mapped(path: Path) -> bool:
    return str(path) in Path("/proc/self/maps").read_text()


def _library(tmp_path: Path, name: str) -> Path:
    source = tmp_path / f"{name}.c"
    source.write_text("int answer(void) { return 42; }\n")
    out = tmp_path / f"lib{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", str(source), "-o", str(out)], check=True)
    return out


def _open_and_drop(path: Path, opener) -> None:
    ffi = cffi.FFI()
    ffi.cdef("int answer(void);")
    lib = opener(ffi, path)
    assert lib.answer() == 42
    assert _mapped(path)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
def test_a_collected_library_stays_mapped(tmp_path):
    kept, control = _library(tmp_path, "kept"), _library(tmp_path, "control")
    _open_and_drop(control, lambda ffi, p: ffi.dlopen(str(p)))
    _open_and_drop(kept, harness.open_library)
    gc.collect()
    assert not _mapped(control), "control: cffi no longer closes collected libraries?"
    assert _mapped(kept)


def test_every_generated_library_is_opened_through_open_library():
    """No loader in the product opens a generated library by itself."""
    root = Path(harness.__file__).resolve().parent.parent.parent
    found = [
        f"{p.relative_to(root)}:{i}"
        for pkg in ("featgen", "codegen")
        for p in sorted((root / pkg).rglob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if ".dlopen(" in line and "def open_library" not in line and "RTLD_NODELETE" not in line
    ]
    assert not found, found
