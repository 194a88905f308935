"""The spec as a JSON Schema (draft 2020-12), for editors: validation and completion as you type.

Generated from the registries the validator itself reads (the feature and signal kinds of
featurespec/vocabulary/features.py and featurespec/vocabulary/signals.py with their Param declarations, the key lists, limits
and name rules of featurespec/validate.py, the defaults of featurespec/schema.py), so it cannot
drift from them; ``featgen schema`` prints it and docs/featgen-spec.schema.json is a copy (a
test keeps the two identical).

The schema states everything *structural*: types, required and unknown keys, kinds and their
parameters (enums, ranges, defaults), name rules and reserved words, durations. The validator
remains the authority: the rules that need the rest of the document (a signal that does not
exist, a duration that is not a whole number of samples at this sample rate, a window too short
for a kind, a cutoff above Nyquist...) are only in it; :data:`VALIDATOR_ONLY` lists them, and
:func:`unstated_param_rules` the parameter checks this module cannot state.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from featurespec.vocabulary.features import FALLBACK, FEATURES, RATIO, RATIO_DOC
from featurespec.vocabulary.params import Interval, Param, below_nyquist
from featurespec.vocabulary.signals import SIGNALS

from .schema import SPEC_VERSION, DecisionDef
from .sensors import json_schema as sensors_schema
from .validate import (
    DECISION_KEYS,
    DURATION,
    FEATURE_KEYS,
    MAX_CONSECUTIVE,
    MAX_FEATURES,
    MAX_NAME,
    MAX_RATE_HZ,
    MAX_WINDOW,
    MODEL_KEYS,
    RESERVED,
    TOP_KEYS,
    TOP_REQUIRED,
    WINDOW_KEYS,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:featgen:spec:v1"

# name_problem() as a pattern: a letter, then letters, digits and single inner underscores (no
# '__', no trailing '_'); at most MAX_NAME characters; not a reserved word. tests/test_schema.py
# checks the pattern against name_problem on generated strings.
# The end of the text in both regex dialects: a bare `$` also matches before a final newline in
# Python's re (jsonschema's engine) but not in ECMA-262 (editors'), so 'a\n' would pass one and
# fail the other (and the validator).
END = r"(?!\n)$"
NAME_PATTERN = "^[a-z][a-z0-9]*(_[a-z0-9]+)*" + END

# Rules the validator enforces that a JSON Schema cannot state, because they need the rest of the
# document or arithmetic a schema does not have. Each is reported by `featgen build` with its
# file:line:col.
VALIDATOR_ONLY = (
    "a signal, window or feature kind named in signals/of/over must be declared (unknown names)",
    "a signal may not have the name of an input; signals may not form a cycle",
    "a duration ('0.5s', '250ms') must be a whole number of samples at sample_rate_hz",
    "every window must be used by a feature; the spec expands to at most "
    f"{MAX_FEATURES} feature columns",
    "no two entries may produce the same feature name (set label: to rename one)",
    "a window must be long enough for each kind over it (min length, ddof, lag, DFT bins, "
    "spectral window size, adjusted moments, a run's min_length)",
    "a ratio's two operands must be different feature columns declared above it, over one "
    "window (so ratios cannot form a cycle), never its own column",
    "filter cutoffs and bands must lie below the Nyquist frequency (sample_rate_hz / 2)",
    "[low, high] ranges need low < high; numbers must be finite (JSON has no NaN or infinity)",
    "whole numbers must be written without a fraction (YAML 2.0 is a float to featgen)",
    "a decision's class must exist in the model; the model directory must hold a model trained "
    "on this spec's features",
    "sensors: every input fed by exactly one sensor, inputs that exist, a platform unit of the "
    "same quantity as the inputs' unit, the same platforms for every sensor, max_gap a whole "
    "number of nanoseconds up to 3600s",
    "YAML level: one document, no duplicate keys, anchors, aliases, merge keys or tags, at most "
    "1 MiB and 32 levels of nesting (PyYAML and the editor's parser would otherwise disagree)",
)


def _same_keys(where: str, properties: dict[str, Any], keys: tuple[str, ...]) -> None:
    """The schema and the validator list the same keys (a drift is a featgen bug)."""
    if set(properties) != set(keys):
        raise RuntimeError(
            f"the JSON Schema's keys for {where} differ from the validator's: "
            f"{sorted(set(properties) ^ set(keys))}"
        )


def _reserved_words() -> list[str]:
    """Reserved words that the name pattern would let through (the others fail it already)."""
    import re

    pattern = re.compile(NAME_PATTERN)
    words = set().union(*(words for _, words in RESERVED))
    return sorted(w for w in words if pattern.fullmatch(w) and len(w) <= MAX_NAME)


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _interval(check: Any) -> dict[str, Any]:
    """JSON Schema bounds of an Interval check ({} for no check)."""
    out: dict[str, Any] = {}
    if isinstance(check, Interval):
        if check.low is not None:
            out["minimum" if check.low_inclusive else "exclusiveMinimum"] = check.low
        if check.high is not None:
            out["maximum" if check.high_inclusive else "exclusiveMaximum"] = check.high
    return out


def unstated_param_rules() -> list[tuple[str, str, str]]:
    """(kind, parameter, check function) for parameter checks that are not an Interval: the
    schema cannot state them, so only the validator applies them."""
    out = []
    for kinds in (SIGNALS, FEATURES):
        for kind in kinds.values():
            for key, param in kind.params.items():
                if param.check is not None and not isinstance(param.check, Interval):
                    out.append((kind.name, key, getattr(param.check, "__name__", "?")))
    return out


def param_schema(param: Param) -> dict[str, Any]:
    """One declared parameter: type, bounds, enum, default and description."""
    above_zero = {"exclusiveMinimum": 0} if param.rate_check is below_nyquist else {}
    if param.kind == "number":
        s: dict[str, Any] = {"type": "number", **_interval(param.check), **above_zero}
    elif param.kind == "int":
        s = {"type": "integer", **_interval(param.check)}
    elif param.kind == "bool":
        s = {"type": "boolean"}
    elif param.kind == "range":
        # items + minItems/maxItems rather than prefixItems: VS Code's YAML extension validates
        # as draft-07, where `items: false` would refuse every range (tests/test_schema.py)
        s = {
            "type": "array",
            "items": {"type": "number", **above_zero},
            "minItems": 2,
            "maxItems": 2,
        }
    elif param.kind == "choice":
        s = {"enum": list(param.choices)}
    elif param.kind == "ints":
        s = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "uniqueItems": True}
    elif param.kind == "name":
        s = {"type": "string"}
    else:
        raise ValueError(f"parameter kind {param.kind!r} has no JSON Schema")
    doc = param.doc
    if not param.required:
        if param.default is None:
            doc += " (default: none)"
        else:
            s["default"] = _json_value(param.default)
    return {"description": doc, **s}


def _sources(lo: int, hi: int) -> dict[str, Any]:
    ref = {"$ref": "#/$defs/signal_ref"}
    many = {"type": "array", "items": ref, "minItems": lo, "maxItems": hi}
    return {"anyOf": [ref, many]} if lo <= 1 <= hi else many


def signal_schema(kind: Any) -> dict[str, Any]:
    if kind.distinct:  # e.g. a ratio of a signal to itself
        sources = dict(_sources(kind.min_sources, kind.max_sources), uniqueItems=True)
        return _signal_schema(kind, sources)
    return _signal_schema(kind, _sources(kind.min_sources, kind.max_sources))


def _signal_schema(kind: Any, sources: dict[str, Any]) -> dict[str, Any]:
    count = (
        str(kind.min_sources)
        if kind.min_sources == kind.max_sources
        else f"{kind.min_sources} to {kind.max_sources}"
    )
    props = {kind.name: {"description": f"the source signal(s): {count}", **sources}}
    props.update({k: param_schema(p) for k, p in kind.params.items()})
    return {
        "title": kind.name,
        "description": kind.doc,
        "type": "object",
        "required": [kind.name, *(k for k, p in kind.params.items() if p.required)],
        "properties": props,
        "additionalProperties": False,
    }


def _of(n_signals: int) -> dict[str, Any]:
    if n_signals == 1:
        return {"$ref": "#/$defs/signal_list"}
    group = {
        "type": "array",
        "items": {"$ref": "#/$defs/signal_ref"},
        "minItems": n_signals,
        "maxItems": n_signals,
    }
    return {
        "description": f"groups of {n_signals} signals, e.g. [[acc_x, acc_y]]",
        "type": "array",
        "items": group,
        "minItems": 1,
        "uniqueItems": True,
    }


def _names_or_list(ref: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"$ref": ref},
            {"type": "array", "items": {"$ref": ref}, "minItems": 1, "uniqueItems": True},
        ]
    }


def feature_entry_schema() -> dict[str, Any]:
    """One entry of features: compute/of/over/label, and the parameters of its kinds; an
    if/then per kind names the parameters that kind takes, so a parameter given to a list of
    kinds must suit each of them, as in the validator."""
    keys = list(FEATURE_KEYS) + ["label"]
    variants: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for kind in FEATURES.values():
        for key, param in kind.params.items():
            variants.setdefault(key, []).append((kind.name, param_schema(param)))
    props: dict[str, Any] = {
        "compute": {
            "description": "feature kind(s), see docs/vocabulary.md",
            **_names_or_list("#/$defs/feature_kind"),
        },
        "of": {
            "description": "signal(s); two-signal kinds take groups: [[acc_x, acc_y]]",
            "anyOf": [{"$ref": "#/$defs/signal_list"}, _of(2)],
        },
        "over": {"description": "window name(s)", **_names_or_list("#/$defs/window_ref")},
        "label": {
            "description": "replaces the kind in the feature name (one kind only)",
            "$ref": "#/$defs/name",
        },
    }
    for key in sorted(variants):
        distinct: dict[str, tuple[list[str], dict[str, Any]]] = {}
        for kind_name, s in variants[key]:
            text = json.dumps(s, sort_keys=True)
            distinct.setdefault(text, ([], s))[0].append(kind_name)
        if len(distinct) == 1:
            ((kinds, s),) = distinct.values()
            props[key] = dict(s, description=f"{', '.join(kinds)}: {s['description']}")
        else:
            props[key] = {
                "anyOf": [
                    dict(s, description=f"{', '.join(k)}: {s['description']}")
                    for k, s in distinct.values()
                ]
            }
    rules = []
    for kind in FEATURES.values():
        is_kind = {
            "anyOf": [{"const": kind.name}, {"type": "array", "contains": {"const": kind.name}}]
        }
        then: dict[str, Any] = {
            "propertyNames": {"enum": [*keys, *kind.params]},
            "properties": {
                "of": _of(kind.n_signals),
                **{k: param_schema(p) for k, p in kind.params.items()},
            },
        }
        required = [k for k, p in kind.params.items() if p.required]
        if required:
            then["required"] = required
        rules.append(
            {"if": {"required": ["compute"], "properties": {"compute": is_kind}}, "then": then}
        )
    rules.append(
        {
            "if": {"required": ["label"]},
            "then": {
                "properties": {
                    "compute": {"anyOf": [{"type": "string"}, {"type": "array", "maxItems": 1}]}
                }
            },
        }
    )
    return {
        "type": "object",
        "required": list(FEATURE_KEYS),
        "properties": props,
        "additionalProperties": False,
        "allOf": rules,
    }


def ratio_entry_schema() -> dict[str, Any]:
    """``{ratio: [num, den], label: name, fallback: 0.0}``: one column ``label__window``."""
    column = {
        "type": "string",
        "minLength": 1,
        "description": "a feature column declared above, e.g. bp_twist__gyro_y__long",
    }
    return {
        "title": RATIO,
        "description": RATIO_DOC,
        "type": "object",
        "required": [RATIO, "label"],
        "properties": {
            RATIO: {
                "description": "[numerator, denominator]: two different feature "
                "columns of one window, declared above this entry",
                "type": "array",
                "items": column,
                "minItems": 2,
                "maxItems": 2,
                "uniqueItems": True,
            },
            "label": {"description": "names the column label__window", "$ref": "#/$defs/name"},
            "fallback": param_schema(FALLBACK),
        },
        "additionalProperties": False,
    }


def _samples(minimum: int, maximum: int, what: str) -> dict[str, Any]:
    return {
        "description": f"{what}: a whole number of samples, or a duration like '0.5s' or "
        "'250ms' (a whole number of samples at sample_rate_hz)",
        "anyOf": [
            {"type": "integer", "minimum": minimum, "maximum": maximum},
            {"type": "string", "pattern": f"^(?:{DURATION.pattern})" + END},
        ],
    }


def spec_schema() -> dict[str, Any]:
    """The whole schema (a JSON-serialisable dict)."""
    reserved = _reserved_words()
    name = {
        "type": "string",
        "pattern": NAME_PATTERN,
        "maxLength": MAX_NAME,
        "description": "a-z, 0-9 and single inner underscores, starting with a letter; at "
        f"most {MAX_NAME} characters; no word C, Swift or Python reserves",
    }
    defaults = {f.name: f.default for f in fields(DecisionDef)}
    decision = {
        "threshold": {
            "description": "value a vector's prediction must reach to be positive: "
            "a probability in (0, 1) for logistic models, any value "
            "for regressions (decided exactly on the margin)",
            "type": "number",
            "default": defaults["threshold"],
        },
        "consecutive": {
            "description": "positive vectors in a row that fire the event",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_CONSECUTIVE,
            "default": defaults["consecutive"],
        },
        "refractory": dict(
            _samples(0, MAX_WINDOW * 16, "time after an event before vectors count again"),
            default=defaults["refractory"],
        ),
        "class": {
            "description": "multi-class models: the index of the positive class",
            "type": "integer",
            "minimum": 0,
        },
    }
    _same_keys("decision", decision, DECISION_KEYS)
    top = {
        "spec": {"description": "the spec format version", "const": SPEC_VERSION},
        "name": {
            "description": "the spec's name: prefix of every generated identifier",
            "$ref": "#/$defs/name",
        },
        "sample_rate_hz": {
            "description": "samples per second",
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_RATE_HZ,
        },
        "inputs": {
            "description": "one sample = one value per input, in this order",
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "minItems": 1,
            "uniqueItems": True,
        },
        "signals": {
            "description": "derived per-sample signals: name -> {kind: source(s), parameters}",
            "type": ["object", "null"],
            "propertyNames": {"$ref": "#/$defs/name"},
            "additionalProperties": {"$ref": "#/$defs/signal"},
        },
        "windows": {
            "description": "sliding windows: name -> {length, hop}",
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/window_name"},
            "additionalProperties": {"$ref": "#/$defs/window"},
        },
        "features": {
            "description": "feature entries; vector order = document order, then each "
            "signal, each window, each kind",
            "type": "array",
            "minItems": 1,
            "items": {
                "if": {"type": "object", "required": [RATIO]},
                "then": {"$ref": "#/$defs/ratio"},
                "else": {"$ref": "#/$defs/feature"},
            },
        },
        "model": {
            "description": "a model directory written by featgen train",
            "type": "object",
            "required": list(MODEL_KEYS),
            "properties": {
                "path": {
                    "description": "the model directory, relative to the spec file",
                    "type": "string",
                    "allOf": [{"pattern": "\\S"}, {"pattern": "^[^/~]"}],
                }
            },
            "additionalProperties": False,
        },
        "decision": {
            "description": "when the detector fires its event (needs model:)",
            "type": "object",
            "properties": decision,
            "additionalProperties": False,
        },
        "sensors": sensors_schema(),
    }
    _same_keys("the top level", top, TOP_KEYS)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "featgen feature spec",
        "description": "Generated by `featgen schema` from featgen's registries. Structural "
        "rules only; the validator (`featgen build`) also checks references, "
        "durations against the sample rate and window lengths, with "
        "file:line:col messages.",
        "$comment": "Checked by `featgen build` only: " + "; ".join(VALIDATOR_ONLY) + ".",
        "type": "object",
        "required": list(TOP_REQUIRED),
        "properties": top,
        "additionalProperties": False,
        "dependentRequired": {"decision": ["model"]},
        "$defs": {
            "name": {**name, "not": {"enum": reserved}},
            "window_name": {
                **name,
                "description": "a-z, 0-9 and single inner underscores, "
                f"starting with a letter; at most {MAX_NAME} characters",
            },
            "signal_ref": {
                "description": "an input or a signal declared under signals",
                "$ref": "#/$defs/name",
            },
            "window_ref": {
                "description": "a window declared under windows",
                "$ref": "#/$defs/window_name",
            },
            "signal_list": {
                "anyOf": [
                    {"$ref": "#/$defs/signal_ref"},
                    {
                        "type": "array",
                        "items": {"$ref": "#/$defs/signal_ref"},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                ]
            },
            "signal": {
                "description": "one signal kind as a key (its source or sources), plus "
                "that kind's parameters",
                "oneOf": [signal_schema(k) for k in SIGNALS.values()],
            },
            "window": {
                "type": "object",
                "required": list(WINDOW_KEYS),
                "properties": {
                    "length": _samples(1, MAX_WINDOW, "window length"),
                    "hop": _samples(1, MAX_WINDOW, "evaluate every hop samples"),
                },
                "additionalProperties": False,
            },
            "feature_kind": {
                "anyOf": [{"const": k.name, "description": k.doc} for k in FEATURES.values()]
            },
            "feature": feature_entry_schema(),
            "ratio": ratio_entry_schema(),
        },
    }


def schema_text() -> str:
    """The schema as published: indented JSON, keys in declaration order, final newline."""
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
