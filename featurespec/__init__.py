"""featurespec: read one YAML feature spec, check it, and expand it into schema objects.

``load_spec`` is the only way a spec enters featgen, so every downstream stage can trust it.
"""

from __future__ import annotations

import os

from .errors import Problem, SpecError
from .loader import MAX_SPEC_BYTES, load_spec_document, parse_document
from .schema import NOWHERE, SPEC_VERSION, FeatureDef, Location, SignalDef, Spec, WindowDef
from .validate import validate


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read, parse and validate the spec file at ``path``; raises SpecError."""
    return validate(load_spec_document(path))


def load_spec_text(text: str, filename: str = "<spec>") -> Spec:
    """Parse and validate spec text; ``filename`` is used in error locations and Spec.source."""
    return validate(parse_document(text, filename))


__all__ = [
    "load_spec",
    "load_spec_text",
    "SpecError",
    "Problem",
    "MAX_SPEC_BYTES",
    "Spec",
    "SignalDef",
    "WindowDef",
    "FeatureDef",
    "Location",
    "NOWHERE",
    "SPEC_VERSION",
]
