"""Loading the generated numpy featuriser from its text.

This EXECUTES generated code: it is the harness's (and featurize/train's) way to run the numpy
target. `featgen build` never calls it (golden vectors are an explicit step: golden.py)."""

from __future__ import annotations

import types
from collections.abc import Mapping


def load_numpy_module(files: Mapping[str, str | bytes], name: str) -> types.ModuleType:
    """Import the generated numpy module from its text (no file on sys.path needed)."""
    source = files[f"python/{name}_features.py"]
    module = types.ModuleType(f"featgen_generated_{name}")
    module.__file__ = f"<generated python/{name}_features.py>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
