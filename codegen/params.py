"""Declared parameters of features and signals: type, default, and the rule they must meet.

The spec validator reads these declarations (so a parameter is documented and checked in one
place, next to the math that uses it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

REQUIRED = object()


class ParamError(ValueError):
    """A parameter value that does not meet its declaration; the message is user-facing."""


@dataclass(frozen=True)
class Param:
    kind: str                                   # "number", "int", "bool", "range", "name"
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None   # returns a message when invalid
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def coerce(self, value: Any) -> Any:
        """Turn a YAML value into the declared type, or raise ParamError saying what was wanted."""
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(f"expected a number, got {describe(value)}")
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(f"expected a finite number, got {value}")
        elif self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParamError(f"expected a whole number, got {describe(value)}")
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"expected true or false, got {describe(value)}")
        elif self.kind == "range":
            if (not isinstance(value, (list, tuple)) or len(value) != 2
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
                raise ParamError(f"expected [low, high], got {describe(value)}")
            value = (float(value[0]), float(value[1]))
            if not all(math.isfinite(v) for v in value) or not value[0] < value[1]:
                raise ParamError(f"expected finite [low, high] with low < high, got {list(value)}")
        elif self.kind == "name":
            if not isinstance(value, str):
                raise ParamError(f"expected a name, got {describe(value)}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ParamError(problem)
        return value


MAX_SHOWN = 60  # characters of user text quoted in a message


def show(text: str) -> str:
    """Quote user text for a message: ``repr`` (escapes control characters), truncated."""
    if len(text) > MAX_SHOWN:
        return repr(text[:MAX_SHOWN]) + "..."
    return repr(text)


def describe(value: Any) -> str:
    """What a YAML value is, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        text = str(value) if abs(value) < 10**30 else "a huge integer"
        return f"the number {text}"
    if isinstance(value, float):
        return f"the number {value!r}"
    return type(value).__name__


def at_least(lo: int) -> Callable[[Any], str | None]:
    return lambda v: None if v >= lo else f"must be at least {lo}, got {v}"


def between(lo: int, hi: int) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be between {lo} and {hi}, got {v}"
