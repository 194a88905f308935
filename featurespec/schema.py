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
    kind: str  # "input" or a key of featurespec.vocabulary.signals.SIGNALS
    sources: tuple[str, ...]  # signals it reads, in order
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

    kind: str  # a key of featurespec.vocabulary.features.FEATURES, or "ratio" (params
    # num, den: column names; fallback)
    signals: tuple[str, ...]
    window: str
    params: tuple[tuple[str, Any], ...]
    outputs: tuple[str, ...]  # column names, in vector order
    loc: Location = field(default=NOWHERE, compare=False)

    def param(self, key: str) -> Any:
        return dict(self.params)[key]


@dataclass(frozen=True)
class ModelDef:
    """``model: {path: ...}``: a directory written by ``featgen train`` (XGBoost JSON and the
    feature order it was trained on), relative to the spec file."""

    path: str  # as written in the spec
    directory: str  # resolved against the spec's directory
    loc: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class DecisionDef:
    """``decision:``: when the detector fires its event ("Opening!").

    A vector is positive when its probability reaches ``threshold`` (binary models; decided on
    the margin, see docs/model.md) or when its most likely class is ``positive_class``
    (multi-class models). The event fires on ``consecutive`` positive vectors in a row; after it,
    ``refractory`` accepted samples pass before vectors count again."""

    threshold: float = 0.5
    consecutive: int = 1
    refractory: int = 0  # samples
    positive_class: int | None = None  # multi-class models only
    loc: Location = field(default=NOWHERE, compare=False)
    locs: tuple[tuple[str, Location], ...] = field(default=(), compare=False)  # key -> where

    def where(self, key: str) -> Location:
        return dict(self.locs).get(key, self.loc)


@dataclass(frozen=True)
class SensorVariant:
    """How one platform delivers a sensor: its unit, and for each of the sensor's spec inputs
    which raw axis (0 = x, 1 = y, 2 = z) feeds it and with which sign (+1 or -1). ``factors``
    are the doubles each interpolated raw value is multiplied by (unit conversion and sign in
    one exact-by-construction multiplication; see docs/sensors.md)."""

    platform: str  # "android" or "ios"
    unit: str  # as written: m/s^2, g, rad/s, deg/s, uT, nT
    axes: tuple[int, ...]  # raw axis per input
    signs: tuple[int, ...]  # +1 / -1 per input
    factors: tuple[float, ...]  # sign * (unit -> canonical scale), per input
    loc: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class SensorSource:
    """One platform sensor (e.g. the accelerometer) and the spec inputs it feeds, in order."""

    name: str
    inputs: tuple[str, ...]
    unit: str  # the canonical unit of those inputs
    variants: tuple[SensorVariant, ...]  # one per platform, in SensorsDef.platforms order
    loc: Location = field(default=NOWHERE, compare=False)

    def variant(self, platform: str) -> SensorVariant:
        return next(v for v in self.variants if v.platform == platform)


@dataclass(frozen=True)
class SensorsDef:
    """``sensors:``: timestamped platform events -> the spec's fixed-rate samples (the rule is
    stated in docs/sensors.md and codegen/sensors.py). Times are int64 nanoseconds."""

    method: str  # "linear" or "hold"
    max_gap_ns: int  # a longer gap between two events of one sensor: reset
    gravity: float  # m/s^2 per g
    buffer: int  # pending events held per sensor (fixed memory)
    sources: tuple[SensorSource, ...]
    platforms: tuple[str, ...]  # every source has a variant for each
    sensors_hash: str = ""  # sha256 of the sensors block, rate and inputs
    loc: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Spec:
    """A complete, validated spec. ``feature_names`` is the vector order: part of the contract."""

    name: str
    sample_rate_hz: float
    inputs: tuple[str, ...]
    signals: tuple[SignalDef, ...]  # inputs first, then derived in dependency order
    windows: tuple[WindowDef, ...]
    features: tuple[FeatureDef, ...]
    spec_hash: str  # sha256 of the canonical document
    source: str = "<spec>"
    model: ModelDef | None = None  # optional model: block
    decision: DecisionDef | None = None  # decision: block (defaults when model: is given)
    features_hash: str = ""  # sha256 of the document without model:/decision:
    # (what a trained model depends on)
    sensors: SensorsDef | None = None  # optional sensors: block (not part of spec_hash:
    # it changes no feature code; see sensors_hash)

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
