"""The spec's JSON Schema (featgen schema, docs/featgen-spec.schema.json) against the validator.

The schema must accept every valid spec (the example, the specs that use every kind, random valid
specs) and reject every structurally broken one of the located-error catalog; the semantic
errors only the validator catches are listed here by name, and the test fails when the list and
the schema disagree in either direction.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from featgen.cli import main
from featurespec import load_spec_text
from featurespec.json_schema import (
    VALIDATOR_ONLY,
    param_schema,
    schema_text,
    spec_schema,
    unstated_param_rules,
)
from featurespec.validate import RESERVED, name_problem
from featurespec.vocabulary.features import FEATURES, RATIO
from featurespec.vocabulary.params import Interval, ParamError
from featurespec.vocabulary.signals import SIGNALS
from parity_tests.test_property_parity import specs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "featgen-spec.schema.json"

_spec = importlib.util.spec_from_file_location(
    "spec_error_cases", Path(__file__).with_name("test_spec_errors.py")
)
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
CASES = {p.id: p.values for p in _cases.CASES}

SCHEMA = spec_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# Catalog cases the schema accepts: each breaks a rule that needs the rest of the document, a
# rule the validator alone states (VALIDATOR_ONLY), or is a YAML-level problem invisible once
# the YAML is parsed. Every other case must be rejected by the schema.
SEMANTIC = {
    "rate_nan": "NaN compares false with every bound (JSON has no NaN)",
    "unknown_source": "unknown signal",
    "unknown_signal_in_of": "unknown signal",
    "pair_unknown": "unknown signal",
    "unknown_window": "unknown window",
    "signal_named_like_input": "name clash between signals and inputs",
    "signal_cycle": "signals form a cycle",
    "signal_reads_itself": "signals form a cycle",
    "seconds_not_whole": "duration at the sample rate",
    "milliseconds_not_whole": "duration at the sample rate",
    "zero_seconds": "duration at the sample rate",
    "seconds_too_long": "duration at the sample rate",
    "unused_window": "window not used by any feature",
    "range_reversed": "low < high",
    "window_too_short_for_slope": "window length for the kind",
    "window_too_short_for_ddof": "window length for the kind",
    "lag_long": "window length for the kind",
    "skew_short": "window length for the kind",
    "bins_high": "window length for the kind",
    "band_no_bin": "window length for the kind",
    "entropy_tiny": "window length for the kind",
    "spectral_long": "window length for the kind",
    "duplicate_feature": "two entries produce the same feature name",
    "label_collides": "two entries produce the same feature name",
    "cutoff_nyquist": "Nyquist frequency",
    "band_above": "Nyquist frequency",
    "two_megabytes": "YAML level: file size",
    "merge_key": "YAML level: a plain YAML reader merges the keys",
    "duplicate_top_key": "YAML level: a plain YAML reader keeps the last value",
    "duplicate_nested_key": "YAML level: a plain YAML reader keeps the last value",
}
# Cases a plain YAML reader (yaml.safe_load) refuses before any schema sees them.
NOT_YAML = {
    "alias_to_nothing",
    "python_object_tag",
    "python_name_tag_in_list",
    "local_tag",
    "syntax_unclosed_flow",
    "syntax_tab",
    "syntax_bad_indent",
    "control_character",
    "two_documents",
    "list_key",
    "tagged_key",
    "too_many_digits",
}


def schema_errors(document) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}"
        for e in VALIDATOR.iter_errors(document)
    ]


def test_schema_is_valid_draft_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_published_schema_is_current():
    assert DOC.read_text() == schema_text(), "run: featgen schema -o docs/featgen-spec.schema.json"
    assert json.loads(DOC.read_text()) == SCHEMA


def test_schema_command_prints_and_writes(tmp_path):
    printed = CliRunner().invoke(main, ["schema"])
    assert printed.exit_code == 0 and printed.output == schema_text()
    out = tmp_path / "s.json"
    written = CliRunner().invoke(main, ["schema", "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text() == schema_text()


def test_schema_names_every_kind_and_parameter():
    defs = SCHEMA["$defs"]
    assert [k["const"] for k in defs["feature_kind"]["anyOf"]] == list(FEATURES)
    assert [s["title"] for s in defs["signal"]["oneOf"]] == list(SIGNALS)
    for s in defs["signal"]["oneOf"]:
        assert s["additionalProperties"] is False
        assert set(s["properties"]) == {s["title"], *SIGNALS[s["title"]].params}
    params = set(defs["feature"]["properties"]) - {"compute", "of", "over", "label"}
    assert params == {p for k in FEATURES.values() for p in k.params}
    assert SCHEMA["additionalProperties"] is False
    assert defs["window"]["additionalProperties"] is False


# ---- valid specs are accepted


def _example_specs() -> list[Path]:
    return sorted(ROOT.glob("examples/*/spec.yaml"))


@pytest.mark.parametrize("path", _example_specs(), ids=lambda p: p.parent.name)
def test_every_example_is_accepted(path):
    assert schema_errors(yaml.safe_load(path.read_text())) == []


def test_draft_07_editors_accept_valid_specs_too():
    """VS Code's YAML extension validates with draft-07 semantics; the schema uses no keyword
    that draft reads differently (prefixItems with items: false would refuse every range)."""
    from parity_tests.test_parity import SMALL, VOCAB

    draft7 = jsonschema.Draft7Validator(SCHEMA)
    for text in (SMALL, VOCAB, _cases.BASE, *(p.read_text() for p in _example_specs())):
        assert list(draft7.iter_errors(yaml.safe_load(text))) == []
    text = json.dumps(SCHEMA)
    for keyword in ("prefixItems", "$dynamicRef", "unevaluated", "dependentSchemas"):
        assert keyword not in text, keyword
    structural = [c for c in CASES if c not in SEMANTIC and c not in NOT_YAML]
    caught = sum(1 for c in structural if not draft7.is_valid(yaml.safe_load(CASES[c][0])))
    assert caught == len(structural)


def test_specs_using_every_kind_are_accepted():
    from parity_tests.test_parity import SMALL, VOCAB

    used_features, used_signals = set(), set()
    for text in (SMALL, VOCAB, _cases.BASE):
        spec = load_spec_text(text)  # valid for the validator ...
        assert schema_errors(yaml.safe_load(text)) == []  # ... and for the schema
        used_features |= {f.kind for f in spec.features}
        used_signals |= {s.kind for s in spec.signals}
    assert used_features == set(FEATURES) | {RATIO}  # and a ratio of two columns
    assert used_signals - {"input"} == set(SIGNALS)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(data=st.data())
def test_random_valid_specs_are_accepted(data):
    """The registry-built random specs of the property parity test: valid for the validator,
    so the schema must accept them."""
    text = data.draw(specs(), label="spec")
    load_spec_text(text)
    assert schema_errors(json.loads(text)) == [], text


# ---- broken specs are rejected, or listed as the validator's alone


def test_catalog_is_classified_completely():
    assert set(SEMANTIC) <= set(CASES) and NOT_YAML <= set(CASES)
    assert len(CASES) - len(SEMANTIC) - len(NOT_YAML) >= 120


@pytest.mark.parametrize("case", sorted(CASES))
def test_catalog_case(case):
    text, expected = CASES[case]
    if case in NOT_YAML:
        with pytest.raises((yaml.YAMLError, ValueError)):
            yaml.safe_load(text)
        return
    errors = schema_errors(yaml.safe_load(text))
    if case in SEMANTIC:
        assert errors == [], (
            f"{case} is now rejected by the schema: remove it from SEMANTIC ({errors})"
        )
    else:
        assert errors, f"the schema accepts {case!r}, which the validator refuses: {expected}"


def test_validator_only_rules_are_documented():
    """The categories of SEMANTIC are the rules the schema says it leaves to the validator."""
    text = " ".join(VALIDATOR_ONLY).lower()
    for word in (
        "unknown names",
        "cycle",
        "whole number of samples",
        "used by a feature",
        "same feature name",
        "long enough",
        "nyquist",
        "low < high",
        "nan",
        "duplicate keys",
        "1 mib",
        "merge keys",
    ):
        assert word in text, word
    assert "validator" in SCHEMA["description"]
    assert all(rule in SCHEMA["$comment"] for rule in VALIDATOR_ONLY)


def test_parameter_checks_the_schema_cannot_state_are_listed():
    assert unstated_param_rules() == [("bandpass", "band", "_band_check")]
    # ... and that one (band[0] > 0) is stated anyway through the Nyquist rule's lower bound
    band = param_schema(SIGNALS["bandpass"].params["band"])
    assert band["items"]["exclusiveMinimum"] == 0


# ---- the pieces agree with the validator's own rules

PROBES = [
    0,
    1,
    2,
    -1,
    0.5,
    -0.5,
    1.5,
    7,
    8,
    9,
    100,
    100.5,
    101,
    256,
    257,
    1e9,
    -1e9,
    1e-300,
    True,
    False,
    None,
    "x",
    "linear",
    "hann",
    "none",
    "power",
    [],
    [1],
    [1, 2],
    [2, 1],
    [0, 5],
    [-1, 3],
    [1, 1],
    [1, 2.5],
    [0.5, 3],
    [1, 2, 3],
    [3, 1, 2],
    [1, "a"],
    {"a": 1},
]


def _declared():
    for kinds in (SIGNALS, FEATURES):
        for kind in kinds.values():
            for key, param in kind.params.items():
                yield f"{kind.name}.{key}", param


@pytest.mark.parametrize(
    "where, param", list(_declared()), ids=lambda x: x if isinstance(x, str) else ""
)
def test_parameter_schema_agrees_with_coerce(where, param):
    """For values around each declared bound, the schema fragment accepts exactly what Param
    accepts, except [low, high] with low >= high and whole numbers written as floats
    (VALIDATOR_ONLY)."""
    probes = list(PROBES)
    if isinstance(param.check, Interval):
        for b in (param.check.low, param.check.high):
            if b is not None:
                probes += [b, math.nextafter(b, -math.inf), math.nextafter(b, math.inf)]
    fragment = jsonschema.Draft202012Validator(param_schema(param))
    for value in probes:
        try:
            coerced = param.coerce(value)
            accepted = param.rate_check is None or param.rate_check(coerced, 1e300) is None
        except ParamError:
            accepted = False
        reversed_range = (
            param.kind == "range"
            and isinstance(value, list)
            and len(value) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
            and not value[0] < value[1]
        )
        # JSON Schema's integer includes 1e9 and 2.0; featgen wants them written as integers
        integral_float = param.kind == "int" and isinstance(value, float) and value.is_integer()
        if reversed_range or integral_float:
            assert not accepted
            continue
        assert fragment.is_valid(value) == accepted, (where, value)


NAME_CHARS = st.sampled_from(list("abz09_A-. ") + ["\u0430", "\n"])
RESERVED_WORDS = sorted(set().union(*(w for _, w in RESERVED)))


@pytest.mark.parametrize("value", ["a\n", "acc_x\n", "a\r", "\na", "a\n\n", "a b"])
def test_a_trailing_newline_is_not_a_name_in_either_regex_dialect(value):
    """Python's `$` matches before a final newline; the schema must not (nor must the validator)."""
    names = jsonschema.Draft202012Validator({**SCHEMA["$defs"]["name"], "$defs": SCHEMA["$defs"]})
    assert name_problem(value, "a name") is not None
    assert not names.is_valid(value)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.one_of(
        st.text(NAME_CHARS, max_size=52),
        st.sampled_from(RESERVED_WORDS),
        st.integers(1, 60).map(lambda n: "a" * n),
        st.sampled_from(["on", "yes", "n"]),
    )
)
def test_name_rules_agree_with_the_validator(value):
    names = jsonschema.Draft202012Validator({**SCHEMA["$defs"]["name"], "$defs": SCHEMA["$defs"]})
    windows = jsonschema.Draft202012Validator(SCHEMA["$defs"]["window_name"])
    assert names.is_valid(value) == (name_problem(value, "a name") is None), value
    assert windows.is_valid(value) == (name_problem(value, "a name", reserved=False) is None), value


@pytest.mark.parametrize(
    "length, ok",
    [
        (1, True),
        (65536, True),
        (0, False),
        (65537, False),
        ("0.5s", True),
        ("250ms", True),
        (".5s", True),
        ("2 s", False),
        ("0.5sec", False),
        ("1e3ms", False),
        ("\uff15s", False),
        (2.5, False),
        (True, False),
        ("0.5s\n", False),
    ],
)
def test_window_lengths(length, ok):
    doc = yaml.safe_load(_cases.BASE)
    doc["windows"]["long"]["length"] = length
    assert (schema_errors(doc) == []) == ok


def test_decision_needs_a_model_and_takes_known_keys():
    doc = yaml.safe_load((ROOT / "examples/twist_and_go/spec.yaml").read_text())
    assert schema_errors(doc) == []
    for broken in (
        {"threshold": "high"},
        {"threshold": True},
        {"consecutive": 0},
        {"refractory": -1},
        {"refractory": "1 s"},
        {"class": -1},
        {"treshold": 0.5},
    ):
        assert schema_errors({**doc, "decision": broken}), broken
    # a threshold's range depends on the model's objective (checked at build time): a
    # regression takes any value
    assert schema_errors({**doc, "decision": {"threshold": 2.5}}) == []
    assert schema_errors({**doc, "decision": {"refractory": "250ms", "class": 2}}) == []
    without_model = {k: v for k, v in doc.items() if k != "model"}
    assert schema_errors(without_model)
    for path in ("/abs/model", "~/model", "", "   "):
        assert schema_errors({**doc, "model": {"path": path}}), path
