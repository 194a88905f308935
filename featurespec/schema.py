"""The validated, expanded form of a feature spec: frozen dataclasses, no YAML left.

Everything downstream (lowering, backends, manifest) reads only these types, so a spec that
reaches them has already passed every check in :mod:`featurespec.validate`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SPEC_VERSION = "featgen/v1"


@dataclass(frozen=True)
class Location:
    """Where a value came from: file, 1-based line and column, and its path in the document."""

    file: str
    line: int
    column: int
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Location("<spec>", 0, 0, "")


@dataclass(frozen=True)
class SignalDef:
    """A per-sample signal: a raw input, or derived from other signals (magnitude, diff, ema...)."""

    name: str
    kind: str                       # "input" or a key of codegen.signals.SIGNALS
    sources: tuple[str, ...]        # signals it reads, in order
    params: tuple[tuple[str, Any], ...] = ()
    loc: Location = field(default=NOWHERE, compare=False)

    def param(self, key: str) -> Any:
        return dict(self.params)[key]


@dataclass(frozen=True)
class WindowDef:
    """A sliding window: ``length`` samples, re-evaluated every ``hop`` samples."""

    name: str
    length: int
    hop: int
    loc: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class FeatureDef:
    """One feature computation over one window; it fills ``len(outputs)`` columns."""

    kind: str                       # a key of codegen.features.FEATURES
    signals: tuple[str, ...]
    window: str
    params: tuple[tuple[str, Any], ...]
    outputs: tuple[str, ...]        # column names, in vector order
    loc: Location = field(default=NOWHERE, compare=False)

    def param(self, key: str) -> Any:
        return dict(self.params)[key]


@dataclass(frozen=True)
class Spec:
    """A complete, validated spec. ``feature_names`` is the vector order: part of the contract."""

    name: str
    sample_rate_hz: float
    inputs: tuple[str, ...]
    signals: tuple[SignalDef, ...]          # inputs first, then derived in dependency order
    windows: tuple[WindowDef, ...]
    features: tuple[FeatureDef, ...]
    spec_hash: str                          # sha256 of the canonical document
    source: str = "<spec>"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(n for f in self.features for n in f.outputs)

    def signal(self, name: str) -> SignalDef:
        return next(s for s in self.signals if s.name == name)

    def window(self, name: str) -> WindowDef:
        return next(w for w in self.windows if w.name == name)

    @property
    def max_length(self) -> int:
        return max(w.length for w in self.windows)
