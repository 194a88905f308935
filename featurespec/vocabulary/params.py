"""Declared parameters of features and signals: type, default, and the rule they must meet.

The spec validator reads these declarations (so a parameter is documented and checked in one
place, next to the math that uses it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REQUIRED = object()


class ParamError(ValueError):
    """A parameter value that does not meet its declaration; the message is user-facing."""


@dataclass(frozen=True)
class Param:
    kind: str  # "number", "int", "bool", "range", "name", "choice", "ints"
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None  # returns a message when invalid
    doc: str = ""
    choices: tuple[str, ...] = ()  # the allowed words of a "choice"
    # A rule that needs the spec's sample rate (e.g. a cutoff below Nyquist): (value, rate in
    # Hz) -> message when invalid. The validator applies it after coerce.
    rate_check: Callable[[Any, float], str | None] | None = None
    # A parameter added to an existing kind whose default keeps the earlier behaviour: the
    # manifest lists it only when set to something else, so the manifests of specs that do not
    # use it stay byte-identical (codegen/build.py).
    quiet_default: bool = False

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
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
            ):
                raise ParamError(f"expected [low, high], got {describe(value)}")
            value = (float(value[0]), float(value[1]))
            if not all(math.isfinite(v) for v in value) or not value[0] < value[1]:
                raise ParamError(f"expected finite [low, high] with low < high, got {list(value)}")
        elif self.kind == "name":
            if not isinstance(value, str):
                raise ParamError(f"expected a name, got {describe(value)}")
        elif self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                wanted = ", ".join(self.choices)
                raise ParamError(f"expected one of {wanted}, got {describe(value)}")
        elif self.kind == "ints":
            if (
                not isinstance(value, (list, tuple))
                or not value
                or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            ):
                raise ParamError(
                    f"expected a list of whole numbers like [1, 2, 5], got {describe(value)}"
                )
            if len(set(value)) != len(value):
                raise ParamError(f"the list repeats a value: {list(value)}")
            value = tuple(value)
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


@dataclass(frozen=True)
class Interval:
    """A check that is a plain interval of numbers, stated as data so that the JSON Schema of the
    spec (featurespec/json_schema.py) states the same bounds: ``low``/``high`` (None: open
    ended), each inclusive or not, and the message when a value falls outside."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    message: str = "must be between {low} and {high}, got {v}"  # str.format(v=, low=, high=)

    def __call__(self, v: Any) -> str | None:
        ok = (self.low is None or (v >= self.low if self.low_inclusive else v > self.low)) and (
            self.high is None or (v <= self.high if self.high_inclusive else v < self.high)
        )
        return None if ok else self.message.format(v=v, low=self.low, high=self.high)


def at_least(lo: int) -> Interval:
    return Interval(low=lo, message="must be at least {low}, got {v}")


def between(lo: int, hi: int) -> Interval:
    return Interval(low=lo, high=hi)


def positive(v: float) -> str | None:
    return None if v > 0 else f"must be greater than 0, got {v!r}"


def below_nyquist(v: Any, rate: float) -> str | None:
    """Frequencies (one, or a [low, high] band) strictly between 0 and half the sample rate."""
    values = v if isinstance(v, tuple) else (v,)
    nyquist = rate / 2
    for f in values:
        if not 0 < f < nyquist:
            return (
                f"{hz(f)} is not strictly between 0 Hz and the Nyquist frequency "
                f"{hz(nyquist)} (half of sample_rate_hz)"
            )
    return None


def hz(value: float) -> str:
    text = repr(float(value))
    return (text[:-2] if text.endswith(".0") else text) + " Hz"
