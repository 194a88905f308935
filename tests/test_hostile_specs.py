"""The hostile-spec catalog, end to end through `featgen build`: every broken spec gets a clear
located error and exit status 2, nothing is generated, and an existing generated/ is untouched.

The cases are the located-message catalog of test_spec_errors.py (keywords of C/Swift/Python,
quotes, backslashes, newlines, look-alikes, comment terminators, format strings, cycles,
duplicates, wrong types, alias bombs, object tags, oversized files...) plus a 100 MB spec.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from featgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "spec_error_cases", Path(__file__).with_name("test_spec_errors.py")
)
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
CASES = _cases.CASES + _cases.CONSTANT_CASES
LOCATED = re.compile(r"spec\.yaml:\d+:\d+: ")


@pytest.fixture(scope="module")
def existing_tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    result = CliRunner().invoke(
        main, ["build", str(ROOT / "examples/twist_and_go/spec.yaml"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out, _snapshot(out)


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_catalog_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("text, expected", CASES)
def test_hostile_spec_is_refused_and_leaves_generated_untouched(
    text, expected, existing_tree, tmp_path
):
    out, before = existing_tree
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    result = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert LOCATED.search(result.output), result.output
    assert (
        expected.split(": ", 1)[1] in result.output.replace("\n", " ")
        or expected.split(": ", 1)[1][:40] in result.output
    )
    assert _snapshot(out) == before
    assert not list(out.glob(".*")), "a temporary build directory was left behind"


def test_hundred_megabyte_spec_is_refused_before_reading(existing_tree, tmp_path):
    out, before = existing_tree
    spec = tmp_path / "spec.yaml"
    with open(spec, "wb") as handle:
        handle.write(b"spec: featgen/v1\n# " + b"x" * (100 * 1024 * 1024) + b"\n")
    result = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert result.exit_code == 2
    assert "spec.yaml:1:1" in result.output and "MiB" in result.output, result.output
    assert _snapshot(out) == before
