"""Malformed specs: each case is the valid BASE spec with one defect, and the exact located
message it must produce (``file:line:column: path: message``)."""

from __future__ import annotations

import pickle
import re

import pytest
import yaml

from featurespec import SpecError, load_spec, load_spec_text
from featurespec.vocabulary import features as feature_registry
from featurespec.vocabulary.features import FeatureKind

BASE = """\
spec: featgen/v1
name: twist_and_go
sample_rate_hz: 50
inputs: [acc_x, acc_y, acc_z, gyro_y]
signals:
  acc_mag: {magnitude: [acc_x, acc_y, acc_z]}
  gyro_y_d: {diff: gyro_y}
windows:
  short: {length: 0.5s, hop: 1}
  long: {length: 100, hop: 5}
features:
  - compute: [mean, std]
    of: [acc_x, acc_mag]
    over: [short, long]
  - {compute: histogram, of: gyro_y, over: long, bins: 20, range: [-8, 8]}
"""
FEATURES_SECTION = BASE[BASE.index("features:") :]
SIGNALS_SECTION = BASE[BASE.index("signals:") : BASE.index("windows:")]
WINDOWS_SECTION = BASE[BASE.index("windows:") : BASE.index("features:")]
TINY = "  long: {length: 100, hop: 5}\n  tiny: {length: 1, hop: 1}\n"  # shifts features by 1


def defect(*edits: str) -> str:
    """BASE with each (old, new) pair replaced; old must occur exactly once."""
    text = BASE
    for old, new in zip(edits[::2], edits[1::2]):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def add_input(name: str) -> str:
    """BASE with one more input, written at line 4, column 39 (path inputs[4])."""
    return defect("gyro_y]", f"gyro_y, {name}]")


def add_feature(line: str) -> str:
    """BASE with one more feature entry, at line 16 (path features[2])."""
    return BASE + f"  - {line}\n"


def case(name: str, text: str, expected: str):
    return pytest.param(text, expected, id=name)


LAUGHS = "".join(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9))

CASES = [
    # ---- top level
    case(
        "unknown_top_key",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\nwindow: 1\n"),
        "<spec>:4:1: window: unknown key 'window' (did you mean 'windows'?)",
    ),
    case(
        "missing_name",
        defect("name: twist_and_go\n", ""),
        "<spec>:1:1: missing required key 'name'",
    ),
    case(
        "missing_features",
        defect(FEATURES_SECTION, ""),
        "<spec>:1:1: missing required key 'features'",
    ),
    case(
        "missing_windows", defect(WINDOWS_SECTION, ""), "<spec>:1:1: missing required key 'windows'"
    ),
    case(
        "wrong_version",
        defect("spec: featgen/v1", "spec: featgen/v2"),
        "<spec>:1:7: spec: unsupported spec version 'featgen/v2'; this featgen reads 'featgen/v1'",
    ),
    case(
        "version_not_text",
        defect("spec: featgen/v1", "spec: 1.0"),
        "<spec>:1:7: spec: expected 'featgen/v1', got the number 1.0",
    ),
    case(
        "name_not_text",
        defect("name: twist_and_go", "name: 12"),
        "<spec>:2:7: name: expected a name for the spec, got the number 12",
    ),
    case(
        "name_c_and_swift_keyword",
        defect("name: twist_and_go", "name: struct"),
        "<spec>:2:7: name: 'struct' is a reserved word in C and Swift; choose another name",
    ),
    case(
        "rate_zero",
        defect("sample_rate_hz: 50", "sample_rate_hz: 0"),
        "<spec>:3:17: sample_rate_hz: must be greater than 0, got 0",
    ),
    case(
        "rate_negative",
        defect("sample_rate_hz: 50", "sample_rate_hz: -2.5"),
        "<spec>:3:17: sample_rate_hz: must be greater than 0, got -2.5",
    ),
    case(
        "rate_infinite",
        defect("sample_rate_hz: 50", "sample_rate_hz: .inf"),
        "<spec>:3:17: sample_rate_hz: expected a finite number, got inf",
    ),
    case(
        "rate_nan",
        defect("sample_rate_hz: 50", "sample_rate_hz: .nan"),
        "<spec>:3:17: sample_rate_hz: expected a finite number, got nan",
    ),
    case(
        "rate_text",
        defect("sample_rate_hz: 50", "sample_rate_hz: fifty"),
        "<spec>:3:17: sample_rate_hz: expected a number of samples per second, "
        "got the text 'fifty'",
    ),
    case(
        "rate_bool",
        defect("sample_rate_hz: 50", "sample_rate_hz: true"),
        "<spec>:3:17: sample_rate_hz: expected a number of samples per second, "
        "got the boolean true",
    ),
    case(
        "rate_too_high",
        defect("sample_rate_hz: 50", "sample_rate_hz: 200000"),
        "<spec>:3:17: sample_rate_hz: must be at most 100000 Hz, got 200000",
    ),
    # ---- inputs
    case(
        "inputs_not_a_list",
        defect("[acc_x, acc_y, acc_z, gyro_y]", "acc_x"),
        "<spec>:4:9: inputs: expected a list of input names, got the text 'acc_x'",
    ),
    case(
        "inputs_empty",
        defect("[acc_x, acc_y, acc_z, gyro_y]", "[]"),
        "<spec>:4:9: inputs: needs at least one input",
    ),
    case(
        "input_duplicate",
        add_input("acc_y"),
        "<spec>:4:39: inputs[4]: duplicate input 'acc_y' (first listed on line 4)",
    ),
    case(
        "input_not_text",
        add_input("5"),
        "<spec>:4:39: inputs[4]: expected an input name, got the number 5",
    ),
    case(
        "input_null",
        add_input("null"),
        "<spec>:4:39: inputs[4]: expected an input name, got nothing (null)",
    ),
    case(
        "input_list",
        add_input("[a, b]"),
        "<spec>:4:39: inputs[4]: expected an input name, got a list",
    ),
    case(
        "name_capital",
        add_input("Gyro_z"),
        "<spec>:4:39: inputs[4]: 'Gyro_z' is not a valid name: it contains the capital 'G'; "
        "names use only a-z, 0-9 and _, starting with a letter",
    ),
    case(
        "name_cyrillic_lookalike",
        add_input("\u0430cc_w"),
        "<spec>:4:39: inputs[4]: '\u0430cc_w' is not a valid name: it contains '\u0430' "
        "(U+0430 CYRILLIC SMALL LETTER A), which is not ASCII",
    ),
    case(
        "name_newline",
        add_input('"acc\\nw"'),
        "<spec>:4:39: inputs[4]: 'acc\\nw' is not a valid name: it contains '\\n'",
    ),
    case(
        "name_bidi_override",
        add_input('"acc\\u202ew"'),
        "<spec>:4:39: inputs[4]: 'acc\\u202ew' is not a valid name: it contains '\\u202e' "
        "(U+202E RIGHT-TO-LEFT OVERRIDE), which is not ASCII",
    ),
    case(
        "name_double_quote",
        add_input("'acc\"w'"),
        "<spec>:4:39: inputs[4]: 'acc\"w' is not a valid name: it contains '\"'",
    ),
    case(
        "name_single_quote",
        add_input('"acc\'w"'),
        '<spec>:4:39: inputs[4]: "acc\'w" is not a valid name: it contains "\'"',
    ),
    case(
        "name_backslash",
        add_input("'acc\\w'"),
        "<spec>:4:39: inputs[4]: 'acc\\\\w' is not a valid name: it contains '\\\\'",
    ),
    case(
        "name_comment_terminator",
        add_input('"acc*/w"'),
        "<spec>:4:39: inputs[4]: 'acc*/w' is not a valid name: it contains '*'",
    ),
    case(
        "name_format_string",
        add_input('"%s%n"'),
        "<spec>:4:39: inputs[4]: '%s%n' is not a valid name: it contains '%'",
    ),
    case(
        "name_space",
        add_input('"acc w"'),
        "<spec>:4:39: inputs[4]: 'acc w' is not a valid name: it contains ' '",
    ),
    case(
        "name_starts_with_digit",
        add_input("9acc"),
        "<spec>:4:39: inputs[4]: '9acc' is not a valid name: it starts with '9'",
    ),
    case(
        "name_starts_with_underscore",
        add_input("_acc"),
        "<spec>:4:39: inputs[4]: '_acc' is not a valid name: it starts with '_'",
    ),
    case("name_empty", add_input('""'), "<spec>:4:39: inputs[4]: an input name cannot be empty"),
    case(
        "name_too_long",
        add_input("a" * 49),
        f"<spec>:4:39: inputs[4]: '{'a' * 49}' is 49 characters long; a name has at most 48",
    ),
    case(
        "name_double_underscore",
        add_input("acc__w"),
        "<spec>:4:39: inputs[4]: 'acc__w' contains '__', which separates the parts of "
        "feature names",
    ),
    case(
        "name_trailing_underscore",
        add_input("acc_"),
        "<spec>:4:39: inputs[4]: 'acc_' ends with '_', which would run into the '__' of "
        "feature names",
    ),
    case(
        "c_keyword",
        add_input("volatile"),
        "<spec>:4:39: inputs[4]: 'volatile' is a reserved word in C; choose another name",
    ),
    case(
        "c_libm_name",
        add_input("sqrt"),
        "<spec>:4:39: inputs[4]: 'sqrt' is a reserved word in C; choose another name",
    ),
    case(
        "c_and_python_word",
        add_input("int"),
        "<spec>:4:39: inputs[4]: 'int' is a reserved word in C and Python",
    ),
    case(
        "swift_keyword",
        add_input("guard"),
        "<spec>:4:39: inputs[4]: 'guard' is a reserved word in Swift; choose another name",
    ),
    case(
        "swift_contextual_keyword",
        add_input("inout"),
        "<spec>:4:39: inputs[4]: 'inout' is a reserved word in Swift; choose another name",
    ),
    case(
        "swift_and_python_word",
        add_input("self"),
        "<spec>:4:39: inputs[4]: 'self' is a reserved word in Swift and Python",
    ),
    case(
        "python_keyword",
        add_input("lambda"),
        "<spec>:4:39: inputs[4]: 'lambda' is a reserved word in Python; choose another name",
    ),
    case(
        "python_soft_keyword",
        add_input("match"),
        "<spec>:4:39: inputs[4]: 'match' is a reserved word in Python; choose another name",
    ),
    case(
        "python_builtin",
        add_input("len"),
        "<spec>:4:39: inputs[4]: 'len' is a reserved word in Python; choose another name",
    ),
    case(
        "numpy_alias",
        add_input("np"),
        "<spec>:4:39: inputs[4]: 'np' is a reserved word in Python; choose another name",
    ),
    case(
        "word_of_all_three",
        add_input("while"),
        "<spec>:4:39: inputs[4]: 'while' is a reserved word in C, Swift and Python",
    ),
    # ---- signals
    case(
        "signals_not_a_mapping",
        defect(SIGNALS_SECTION, "signals: [acc_mag]\n"),
        "<spec>:5:10: signals: expected a mapping of signal name to definition, got a list",
    ),
    case(
        "unknown_signal_kind",
        defect("{magnitude:", "{magnitud:"),
        "<spec>:6:13: signals.acc_mag.magnitud: unknown signal kind 'magnitud' "
        "(did you mean 'magnitude'?)",
    ),
    case(
        "missing_signal_kind",
        defect("{diff: gyro_y}", "{alpha: 0.5}"),
        "<spec>:7:13: signals.gyro_y_d: missing the signal kind: one of atan2, bandpass, "
        "clip, diff, difference, ema, highpass, lowpass, magnitude, ratio, scale, sum",
    ),
    case(
        "two_signal_kinds",
        defect("{diff: gyro_y}", "{diff: gyro_y, ema: gyro_y}"),
        "<spec>:7:28: signals.gyro_y_d.ema: a signal has one kind, but both 'diff' and 'ema' "
        "are given",
    ),
    case(
        "signal_not_a_mapping",
        defect("{diff: gyro_y}", "diff"),
        "<spec>:7:13: signals.gyro_y_d: expected a mapping like {diff: gyro_y} or "
        "{ema: acc_x, alpha: 0.2}, got the text 'diff'",
    ),
    case(
        "unknown_source",
        defect("acc_z]}", "acc_q]}"),
        "<spec>:6:39: signals.acc_mag.magnitude[2]: unknown signal 'acc_q' (did you mean 'acc_x'?)",
    ),
    case(
        "too_few_sources",
        defect("[acc_x, acc_y, acc_z]}", "[acc_x]}"),
        "<spec>:6:24: signals.acc_mag.magnitude: 'magnitude' reads 2 to 3 sources, got 1",
    ),
    case(
        "too_many_sources",
        defect("{diff: gyro_y}", "{diff: [gyro_y, acc_x]}"),
        "<spec>:7:20: signals.gyro_y_d.diff: 'diff' reads 1 source, got 2",
    ),
    case(
        "source_not_text",
        defect("{diff: gyro_y}", "{diff: 3}"),
        "<spec>:7:20: signals.gyro_y_d.diff: expected a signal name or a list of them, "
        "got the number 3",
    ),
    case(
        "source_item_not_text",
        defect("acc_z]}", "true]}"),
        "<spec>:6:39: signals.acc_mag.magnitude[2]: expected a signal name, got the boolean true",
    ),
    case(
        "missing_signal_param",
        defect("{diff: gyro_y}", "{ema: gyro_y}"),
        "<spec>:7:13: signals.gyro_y_d: 'ema' needs the parameter 'alpha'",
    ),
    case(
        "signal_param_out_of_range",
        defect("{diff: gyro_y}", "{ema: gyro_y, alpha: 1.5}"),
        "<spec>:7:34: signals.gyro_y_d.alpha: must satisfy 0 < alpha <= 1, got 1.5",
    ),
    case(
        "signal_param_wrong_type",
        defect("{diff: gyro_y}", "{ema: gyro_y, alpha: fast}"),
        "<spec>:7:34: signals.gyro_y_d.alpha: expected a number, got the text 'fast'",
    ),
    case(
        "signal_takes_no_params",
        defect("{diff: gyro_y}", "{diff: gyro_y, alpha: 0.5}"),
        "<spec>:7:28: signals.gyro_y_d.alpha: 'diff' takes no parameters, got 'alpha'",
    ),
    case(
        "signal_param_misspelled",
        defect("{diff: gyro_y}", "{ema: gyro_y, alpah: 0.5}"),
        "<spec>:7:27: signals.gyro_y_d.alpah: 'ema' has no parameter 'alpah' "
        "(did you mean 'alpha'?)",
    ),
    case(
        "signal_named_like_input",
        defect("  gyro_y_d: {diff: gyro_y}", "  acc_x: {diff: gyro_y}"),
        "<spec>:7:3: signals.acc_x: signal 'acc_x' has the same name as an input (line 4)",
    ),
    case(
        "signal_bad_name",
        defect("  gyro_y_d:", "  gyro-y-d:"),
        "<spec>:7:3: signals['gyro-y-d']: 'gyro-y-d' is not a valid name: it contains '-'",
    ),
    case(
        "signal_swift_keyword",
        defect("  gyro_y_d:", "  repeat:"),
        "<spec>:7:3: signals.repeat: 'repeat' is a reserved word in Swift",
    ),
    case(
        "signal_cycle",
        defect(
            "{magnitude: [acc_x, acc_y, acc_z]}",
            "{diff: gyro_y_d}",
            "{diff: gyro_y}",
            "{diff: acc_mag}",
        ),
        "<spec>:6:3: signals.acc_mag: signals form a cycle: acc_mag -> gyro_y_d -> acc_mag",
    ),
    case(
        "signal_reads_itself",
        defect("{diff: gyro_y}", "{diff: gyro_y_d}"),
        "<spec>:7:3: signals.gyro_y_d: signals form a cycle: gyro_y_d -> gyro_y_d",
    ),
    # ---- windows
    case(
        "windows_not_a_mapping",
        defect(WINDOWS_SECTION, "windows: [short, long]\n"),
        "<spec>:8:10: windows: expected a mapping of window name to {length: ..., hop: ...}, "
        "got a list",
    ),
    case(
        "windows_empty",
        defect(WINDOWS_SECTION, "windows: {}\n"),
        "<spec>:8:10: windows: needs at least one window",
    ),
    case(
        "window_not_a_mapping",
        defect("long: {length: 100, hop: 5}", "long: 100"),
        "<spec>:10:9: windows.long: expected {length: ..., hop: ...}, got the number 100",
    ),
    case(
        "seconds_not_whole",
        defect("0.5s", "0.33s"),
        "<spec>:9:19: windows.short.length: 0.33s at 50 Hz is 16.5 samples, not a whole number",
    ),
    case(
        "milliseconds_not_whole",
        defect("0.5s", "250ms"),
        "<spec>:9:19: windows.short.length: 250ms at 50 Hz is 12.5 samples, not a whole number",
    ),
    case(
        "zero_seconds",
        defect("0.5s", "0s"),
        "<spec>:9:19: windows.short.length: 0s at 50 Hz is 0 samples; the length must be "
        "at least 1 sample",
    ),
    case(
        "zero_length",
        defect("length: 100", "length: 0"),
        "<spec>:10:18: windows.long.length: the length must be at least 1 sample, got 0",
    ),
    case(
        "negative_hop",
        defect("hop: 5", "hop: -5"),
        "<spec>:10:28: windows.long.hop: the hop must be at least 1 sample, got -5",
    ),
    case(
        "bool_hop",
        defect("hop: 1}", "hop: true}"),
        "<spec>:9:30: windows.short.hop: expected a whole number of samples or a duration "
        "like '0.5s' or '250ms', got the boolean true",
    ),
    case(
        "float_length",
        defect("length: 100", "length: 2.5"),
        "<spec>:10:18: windows.long.length: expected a whole number of samples or a duration "
        "like '0.5s' or '250ms', got the number 2.5",
    ),
    case(
        "bad_duration",
        defect("0.5s", "0.5 sec"),
        "<spec>:9:19: windows.short.length: expected a whole number of samples or a duration "
        "like '0.5s' or '250ms', got the text '0.5 sec'",
    ),
    case(
        "unused_window",
        defect(
            "  long: {length: 100, hop: 5}\n",
            "  long: {length: 100, hop: 5}\n  spare: {length: 200, hop: 1}\n",
        ),
        "<spec>:11:3: windows.spare: window 'spare' is not used by any feature; remove it (it "
        "would still delay the first vector)",
    ),
    case(
        "hop_too_long",
        defect("hop: 5", "hop: 70000"),
        "<spec>:10:28: windows.long.hop: a hop of 70000 samples is too long; the limit is 65536",
    ),
    case(
        "length_too_long",
        defect("length: 100", "length: 70000"),
        "<spec>:10:18: windows.long.length: a window of 70000 samples is too long for a phone; "
        "the limit is 65536",
    ),
    case(
        "seconds_too_long",
        defect("0.5s", "2000s"),
        "<spec>:9:19: windows.short.length: a window of 100000 samples is too long for a "
        "phone; the limit is 65536",
    ),
    case(
        "missing_hop",
        defect("{length: 100, hop: 5}", "{length: 100}"),
        "<spec>:10:9: windows.long: missing required key 'hop'",
    ),
    case(
        "unknown_window_key",
        defect("{length: 100, hop: 5}", "{lenght: 100, hop: 5}"),
        "<spec>:10:10: windows.long.lenght: unknown key 'lenght' (did you mean 'length'?)",
    ),
    case(
        "window_bad_name",
        defect(
            "  long: {length: 100, hop: 5}\n",
            "  long: {length: 100, hop: 5}\n  x_: {length: 1, hop: 1}\n",
        ),
        "<spec>:11:3: windows.x_: 'x_' ends with '_'",
    ),
    # ---- features
    case(
        "features_empty",
        defect(FEATURES_SECTION, "features: []\n"),
        "<spec>:11:11: features: needs at least one feature",
    ),
    case(
        "features_not_a_list",
        defect(FEATURES_SECTION, "features: {compute: mean}\n"),
        "<spec>:11:11: features: expected a list of features, got a mapping",
    ),
    case(
        "feature_not_a_mapping",
        defect(
            "  - {compute: histogram, of: gyro_y, over: long, bins: 20, range: [-8, 8]}", "  - mean"
        ),
        "<spec>:15:5: features[1]: expected a mapping with compute, of and over, "
        "got the text 'mean'",
    ),
    case(
        "feature_missing_over",
        defect(", over: long, bins", ", bins"),
        "<spec>:15:5: features[1]: missing required key 'over'",
    ),
    case(
        "unknown_signal_in_of",
        defect("of: [acc_x, acc_mag]", "of: [acc_x, acc_q]"),
        "<spec>:13:17: features[0].of[1]: unknown signal 'acc_q' (did you mean 'acc_x'?)",
    ),
    case(
        "unknown_feature_kind",
        defect("[mean, std]", "[mean, stdev]"),
        "<spec>:12:21: features[0].compute[1]: unknown feature kind 'stdev' (did you mean 'std'?)",
    ),
    case(
        "unknown_window",
        defect("over: [short, long]", "over: [short, lng]"),
        "<spec>:14:19: features[0].over[1]: unknown window 'lng' (did you mean 'long'?)",
    ),
    case(
        "compute_not_text",
        defect("[mean, std]", "5"),
        "<spec>:12:14: features[0].compute: expected a feature kind or a list of them, "
        "got the number 5",
    ),
    case(
        "compute_empty",
        defect("[mean, std]", "[]"),
        "<spec>:12:14: features[0].compute: needs at least one feature kind",
    ),
    case(
        "compute_repeated",
        defect("[mean, std]", "[mean, std, mean]"),
        "<spec>:12:26: features[0].compute[2]: 'mean' is listed twice in compute",
    ),
    case(
        "of_mapping",
        defect("of: [acc_x, acc_mag]", "of: {acc_x: 1}"),
        "<spec>:13:9: features[0].of: expected a signal name or a list of them, got a mapping",
    ),
    case(
        "over_item_number",
        defect("over: [short, long]", "over: [short, 100]"),
        "<spec>:14:19: features[0].over[1]: expected a window name, got the number 100",
    ),
    case(
        "param_not_taken_by_every_kind",
        defect("[mean, std]\n", "[mean, std]\n    ddof: 1\n"),
        "<spec>:13:5: features[0].ddof: 'mean' does not take the parameter 'ddof'; "
        "give it its own entry",
    ),
    case(
        "param_not_taken",
        add_feature("{compute: mean, of: acc_x, over: long, bins: 3}"),
        "<spec>:16:44: features[2].bins: 'mean' does not take the parameter 'bins'",
    ),
    case(
        "feature_key_misspelled",
        defect("bins: 20", "bin: 20"),
        "<spec>:15:50: features[1].bin: unknown key 'bin' (did you mean 'bins'?)",
    ),
    case(
        "feature_param_missing",
        defect(", bins: 20", ""),
        "<spec>:15:5: features[1]: 'histogram' needs the parameter 'bins'",
    ),
    case(
        "bins_zero",
        defect("bins: 20", "bins: 0"),
        "<spec>:15:56: features[1].bins: must be between 1 and 256, got 0",
    ),
    case(
        "bins_float",
        defect("bins: 20", "bins: 2.5"),
        "<spec>:15:56: features[1].bins: expected a whole number, got the number 2.5",
    ),
    case(
        "range_reversed",
        defect("[-8, 8]", "[8, -8]"),
        "<spec>:15:67: features[1].range: expected finite [low, high] with low < high, "
        "got [8.0, -8.0]",
    ),
    case(
        "range_text",
        defect("[-8, 8]", "wide"),
        "<spec>:15:67: features[1].range: expected [low, high], got the text 'wide'",
    ),
    case(
        "ddof_out_of_range",
        add_feature("{compute: var, of: acc_x, over: long, ddof: 2}"),
        "<spec>:16:49: features[2].ddof: must be between 0 and 1, got 2",
    ),
    case(
        "window_too_short_for_slope",
        defect("  long: {length: 100, hop: 5}\n", TINY)
        + "  - {compute: slope, of: acc_x, over: tiny}\n",
        "<spec>:17:39: features[2].over: slope needs a window of at least 2 samples; 'tiny' has 1",
    ),
    case(
        "window_too_short_for_ddof",
        defect("  long: {length: 100, hop: 5}\n", TINY)
        + "  - {compute: std, of: acc_x, over: tiny, ddof: 1}\n",
        "<spec>:17:37: features[2].over: std with ddof 1 needs a window of at least "
        "2 samples; 'tiny' has 1",
    ),
    case(
        "duplicate_feature",
        add_feature("{compute: mean, of: acc_x, over: short}"),
        "<spec>:16:5: features[2]: feature 'mean__acc_x__short' is already computed by "
        "features[0] on line 12; remove the repeat or set label: to name it differently",
    ),
    case(
        "label_collides",
        add_feature("{compute: std, of: acc_x, over: long, label: mean}"),
        "<spec>:16:5: features[2]: feature 'mean__acc_x__long' is already computed by "
        "features[0] on line 12",
    ),
    case(
        "label_bad_name",
        add_feature("{compute: max, of: acc_x, over: long, label: big spin}"),
        "<spec>:16:50: features[2].label: 'big spin' is not a valid name: it contains ' '",
    ),
    case(
        "label_keyword",
        add_feature("{compute: max, of: acc_x, over: long, label: switch}"),
        "<spec>:16:50: features[2].label: 'switch' is a reserved word in C and Swift",
    ),
    case(
        "label_with_many_kinds",
        defect("[mean, std]\n", "[mean, std]\n    label: stats\n"),
        "<spec>:13:12: features[0].label: a label names one feature kind, but compute "
        "lists 2; split the entry",
    ),
    # ---- hostile YAML
    case(
        "billion_laughs",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\nx0: &a0 [lol]\n" + LAUGHS),
        "<spec>:4:5: anchors (&a0) are not allowed; write the value out",
    ),
    case(
        "alias",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\nx0: &a0 [lol]\n" + LAUGHS),
        "<spec>:5:10: aliases (*a0) are not allowed; write the value out",
    ),
    case(
        "alias_to_nothing",
        defect("[acc_x, acc_y, acc_z, gyro_y]", "*inputs"),
        "<spec>:4:9: aliases (*inputs) are not allowed; write the value out",
    ),
    case(
        "python_object_tag",
        defect("name: twist_and_go", "name: !!python/object/apply:os.system [echo hi]"),
        "<spec>:2:7: name: the tag '!!python/object/apply:os.system' is not allowed; "
        "a spec holds only plain YAML values",
    ),
    case(
        "python_name_tag_in_list",
        add_input("!!python/name:os.system ''"),
        "<spec>:4:39: inputs[4]: the tag '!!python/name:os.system' is not allowed",
    ),
    case(
        "local_tag",
        defect("sample_rate_hz: 50", "sample_rate_hz: !hz 50"),
        "<spec>:3:17: sample_rate_hz: the tag '!hz' is not allowed",
    ),
    case(
        "binary_tag",
        defect("name: twist_and_go", "name: !!binary aGk="),
        "<spec>:2:7: name: the tag '!!binary' is not allowed",
    ),
    case(
        "set_tag",
        defect("name: twist_and_go", "name: !!set {a, b}"),
        "<spec>:2:7: name: the tag '!!set' is not allowed",
    ),
    case(
        "date",
        defect("name: twist_and_go", "name: 2024-01-01"),
        "<spec>:2:7: name: '2024-01-01' reads as a date; quote it if you mean text",
    ),
    case(
        "merge_key",
        defect("long: {length: 100, hop: 5}", "long: {<<: {length: 100}, hop: 5}"),
        "<spec>:10:10: windows.long: merge keys (<<) are not allowed; write the entries out",
    ),
    case(
        "two_megabytes",
        BASE + "#" * (2 << 20) + "\n",
        "<spec>:1:1: the spec is 2.0 MiB; a spec may be at most 1 MiB",
    ),
    case(
        "syntax_unclosed_flow",
        defect("acc_z, gyro_y]", "acc_z, gyro_y"),
        "<spec>:5:8: YAML syntax error: expected ',' or ']', but got ':'",
    ),
    case(
        "syntax_tab",
        defect("  acc_mag:", "\tacc_mag:"),
        "<spec>:6:1: YAML syntax error: found character '\\t' that cannot start any token",
    ),
    case(
        "syntax_bad_indent",
        defect("name: twist_and_go\n", "name: twist_and_go\n  oops: 1\n"),
        "<spec>:3:7: YAML syntax error: mapping values are not allowed here",
    ),
    case(
        "control_character",
        defect("name: twist_and_go", "name: twist\x07and_go"),
        "<spec>:2:12: the character U+0007 is not allowed in a YAML file",
    ),
    case(
        "deep_nesting",
        add_input("[" * 100 + "]" * 100),
        "<spec>:4:69: values nest more than 32 levels deep",
    ),
    case(
        "not_a_mapping",
        "- spec\n- name\n",
        "<spec>:1:1: the spec must be a mapping with the keys spec, name, sample_rate_hz, "
        "inputs, windows and features; got a list",
    ),
    case(
        "scalar_document",
        "just some text\n",
        "<spec>:1:1: the spec must be a mapping with the keys spec, name, sample_rate_hz, "
        "inputs, windows and features; got the text 'just some text'",
    ),
    case("empty", "", "<spec>:1:1: the spec is empty"),
    case("comments_only", "# a spec\n\n# nothing here\n", "<spec>:1:1: the spec is empty"),
    case("empty_document", "---\n", "<spec>:1:1: the spec is empty"),
    case(
        "two_documents",
        BASE + "---\nspec: featgen/v1\n",
        "<spec>:16:1: a spec holds exactly one YAML document; remove this one",
    ),
    case(
        "duplicate_top_key",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\nname: again\n"),
        "<spec>:4:1: name: duplicate key 'name' (first given on line 2)",
    ),
    case(
        "duplicate_nested_key",
        defect("{length: 100, hop: 5}", "{length: 100, hop: 5, length: 9}"),
        "<spec>:10:31: windows.long.length: duplicate key 'length' (first given on line 10)",
    ),
    case(
        "number_key",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\n1: one\n"),
        "<spec>:4:1: a key must be text, got the number 1 (quote it)",
    ),
    case(
        "yes_key",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\nyes: 1\n"),
        "<spec>:4:1: a key must be text, got the boolean true (quote it)",
    ),
    case(
        "list_key",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\n? [a, b]\n: 1\n"),
        "<spec>:4:3: a key must be text, got a list",
    ),
    case(
        "tagged_key",
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\n!!python/str k: 1\n"),
        "<spec>:4:1: the tag '!!python/str' is not allowed",
    ),
    case(
        "boolean_name",
        add_input("on"),
        "<spec>:4:39: inputs[4]: expected an input name, got the boolean true "
        "(YAML reads yes/no/on/off as booleans; quote it)",
    ),
    case(
        "too_many_digits",
        defect("bins: 20", "bins: " + "9" * 5000),
        "<spec>:15:56: features[1].bins: '" + "9" * 60 + "'... has too many digits",
    ),
]

# ---- the new vocabulary: two-signal features, rate- and window-dependent parameters
CASES += [
    case(
        "pair_flat",
        add_feature("{compute: correlation, of: [acc_x, acc_y], over: long}"),
        "<spec>:16:32: features[2].of: 'correlation' reads 2 signals: write each group of 2 as a list, e.g. of: [[acc_x, acc_y]]; got a list",
    ),
    case(
        "pair_single_name",
        add_feature("{compute: covariance, of: acc_x, over: long}"),
        "<spec>:16:31: features[2].of: 'covariance' reads 2 signals: write each group of 2 as a list, e.g. of: [[acc_x, acc_y], [acc_x, acc_z]]; got the text 'acc_x'",
    ),
    case(
        "pair_wrong_size",
        add_feature("{compute: correlation, of: [[acc_x, acc_y, acc_z]], over: long}"),
        "<spec>:16:33: features[2].of[0]: expected a group of 2 signal names, got 3",
    ),
    case(
        "pair_unknown",
        add_feature("{compute: correlation, of: [[acc_x, acc_q]], over: long}"),
        "<spec>:16:41: features[2].of[0][1]: unknown signal 'acc_q' (did you mean 'acc_x'?)",
    ),
    case(
        "pair_not_text",
        add_feature("{compute: correlation, of: [[acc_x, 3]], over: long}"),
        "<spec>:16:41: features[2].of[0][1]: expected a signal name, got the number 3",
    ),
    case(
        "pair_twice",
        add_feature("{compute: correlation, of: [[acc_x, acc_y], [acc_x, acc_y]], over: long}"),
        "<spec>:16:49: features[2].of[1]: ['acc_x', 'acc_y'] is listed twice in of",
    ),
    case(
        "pair_mixed",
        add_feature("{compute: [mean, correlation], of: [[acc_x, acc_y]], over: long}"),
        "<spec>:16:22: features[2].compute[1]: 'correlation' reads 2 signals but 'mean' reads 1; give them separate entries",
    ),
    case(
        "single_given_pairs",
        add_feature("{compute: mean, of: [[acc_x, acc_y]], over: long}"),
        "<spec>:16:26: features[2].of[0]: expected a signal name, got a list",
    ),
    case(
        "cutoff_nyquist",
        defect("{diff: gyro_y}", "{lowpass: gyro_y, cutoff: 25}"),
        "<spec>:7:39: signals.gyro_y_d.cutoff: 25 Hz is not strictly between 0 Hz and the Nyquist frequency 25 Hz (half of sample_rate_hz)",
    ),
    case(
        "cutoff_negative",
        defect("{diff: gyro_y}", "{highpass: gyro_y, cutoff: -1}"),
        "<spec>:7:40: signals.gyro_y_d.cutoff: -1 Hz is not strictly between 0 Hz and the Nyquist frequency 25 Hz (half of sample_rate_hz)",
    ),
    case(
        "band_above",
        defect("{diff: gyro_y}", "{bandpass: gyro_y, band: [1, 30]}"),
        "<spec>:7:38: signals.gyro_y_d.band: 30 Hz is not strictly between 0 Hz and the Nyquist frequency 25 Hz (half of sample_rate_hz)",
    ),
    case(
        "band_zero",
        defect("{diff: gyro_y}", "{bandpass: gyro_y, band: [0, 3]}"),
        "<spec>:7:38: signals.gyro_y_d.band: the band must start above 0 Hz, got [0.0, 3.0]",
    ),
    case(
        "order_big",
        defect("{diff: gyro_y}", "{lowpass: gyro_y, cutoff: 2, order: 9}"),
        "<spec>:7:49: signals.gyro_y_d.order: must be between 1 and 8, got 9",
    ),
    case(
        "percentile_q",
        add_feature("{compute: percentile, of: acc_x, over: long, q: 101}"),
        "<spec>:16:53: features[2].q: must be between 0 and 100, got 101.0",
    ),
    case(
        "percentile_missing_q",
        add_feature("{compute: percentile, of: acc_x, over: long}"),
        "<spec>:16:5: features[2]: 'percentile' needs the parameter 'q'",
    ),
    case(
        "percentile_method",
        add_feature("{compute: percentile, of: acc_x, over: long, q: 5, method: nearest}"),
        "<spec>:16:64: features[2].method: expected one of linear, nearest_rank, got the text 'nearest'",
    ),
    case(
        "lag_long",
        add_feature("{compute: autocorrelation, of: acc_x, over: short, lag: 25}"),
        "<spec>:16:49: features[2].over: autocorrelation at lag 25 needs a window longer than the lag; 'short' has 25",
    ),
    case(
        "skew_short",
        defect(
            "  long: {length: 100, hop: 5}\n",
            "  long: {length: 100, hop: 5}\n  tiny: {length: 2, hop: 1}\n",
        )
        + "  - {compute: skewness, of: acc_x, over: tiny, bias: false}\n",
        "<spec>:17:42: features[2].over: adjusted skewness (bias: false) needs a window of at least 3 samples; 'tiny' has 2",
    ),
    case(
        "bins_high",
        add_feature("{compute: dft_magnitude, of: acc_x, over: short, bins: [1, 13]}"),
        "<spec>:16:47: features[2].over: DFT bins of a 25-sample window are 0 to 12, got 13; 'short' has 25",
    ),
    case(
        "bins_repeat",
        add_feature("{compute: dft_power, of: acc_x, over: short, bins: [1, 1]}"),
        "<spec>:16:56: features[2].bins: the list repeats a value: [1, 1]",
    ),
    case(
        "bins_text",
        add_feature("{compute: dft_power, of: acc_x, over: short, bins: 3}"),
        "<spec>:16:56: features[2].bins: expected a list of whole numbers like [1, 2, 5], got the number 3",
    ),
    case(
        "band_no_bin",
        add_feature("{compute: band_power, of: acc_x, over: short, band: [1.1, 1.9]}"),
        "<spec>:16:44: features[2].over: no DFT bin of a 25-sample window (bins every 2.0 Hz, up to 24.0 Hz) lies in the band [1.1, 1.9] Hz; 'short' has 25",
    ),
    case(
        "taper_unknown",
        add_feature("{compute: dft_power, of: acc_x, over: short, bins: [1], taper: hamming}"),
        "<spec>:16:68: features[2].taper: expected one of none, hann, got the text 'hamming'",
    ),
    case(
        "entropy_tiny",
        defect(
            "  long: {length: 100, hop: 5}\n",
            "  long: {length: 100, hop: 5}\n  tiny: {length: 3, hop: 1}\n",
        )
        + "  - {compute: spectral_entropy, of: acc_x, over: tiny}\n",
        "<spec>:17:50: features[2].over: spectral entropy needs at least 2 bins; a 3-sample window has 1 without DC; 'tiny' has 3",
    ),
    case(
        "spectral_long",
        defect("long: {length: 100, hop: 5}", "long: {length: 5000, hop: 5}")
        + "  - {compute: spectral_centroid, of: acc_x, over: long}\n",
        "<spec>:16:51: features[2].over: spectral features evaluate the DFT directly and support windows of at most 4096 samples; 'long' has 5000",
    ),
    case(
        "log_floor",
        add_feature("{compute: log_energy, of: acc_x, over: long, floor: -1}"),
        "<spec>:16:57: features[2].floor: must be >= 0, got -1.0",
    ),
    case(
        "atan2_one",
        defect("{diff: gyro_y}", "{atan2: gyro_y}"),
        "<spec>:7:21: signals.gyro_y_d.atan2: 'atan2' reads 2 sources, got 1",
    ),
]

# ---- generation-time constants: finite and usable after every derived computation. Kept out
# of CASES: tests/test_schema.py sorts every CASES entry into schema-checkable or SEMANTIC, and
# these are all semantic (no JSON Schema can compute a filter design); test_hostile_specs.py
# runs them through the CLI too.
POLE = "its coefficients, rounded to doubles, put a pole on or outside the unit circle"
MOVE = "move the cutoff away from 0 Hz and from the Nyquist frequency (or lower the order)"
CONSTANT_CASES = [
    case(
        "cutoff_tiny",
        defect("{diff: gyro_y}", "{lowpass: gyro_y, cutoff: 1.0e-10}"),
        "<spec>:7:39: signals.gyro_y_d.cutoff: an order-2 Butterworth lowpass at 1e-10 Hz "
        f"sampled at 50 Hz cannot be generated: {POLE} (the exact design divides by zero: "
        f"DivisionByZero); {MOVE}",
    ),
    case(
        "highpass_tiny",
        defect("{diff: gyro_y}", "{highpass: gyro_y, cutoff: 1.0e-12, order: 3}"),
        "<spec>:7:40: signals.gyro_y_d.cutoff: an order-3 Butterworth highpass at 1e-12 Hz "
        f"sampled at 50 Hz cannot be generated: {POLE} (the exact design divides by zero: "
        f"InvalidOperation); {MOVE}",
    ),
    case(
        "cutoff_nyquist_rounding",
        defect("{diff: gyro_y}", "{lowpass: gyro_y, cutoff: 24.9999999999999, order: 8}"),
        "<spec>:7:39: signals.gyro_y_d.cutoff: an order-8 Butterworth lowpass at "
        f"24.9999999999999 Hz sampled at 50 Hz cannot be generated: {POLE}; {MOVE}",
    ),
    case(
        "band_tiny",
        defect("{diff: gyro_y}", "{bandpass: gyro_y, band: [1.0e-12, 3]}"),
        "<spec>:7:38: signals.gyro_y_d.band: an order-2 Butterworth bandpass at 1e-12 Hz and "
        f"3 Hz sampled at 50 Hz cannot be generated: {POLE}; {MOVE}",
    ),
    case(
        "ema_tiny",
        defect("{diff: gyro_y}", "{ema: gyro_y, alpha: 1.0e-17}"),
        "<spec>:7:34: signals.gyro_y_d.alpha: alpha 1e-17 is so small that 1 - alpha rounds "
        "to 1 in double precision: the average would never follow its input; use alpha >= "
        "1.2e-16",
    ),
    case(
        "histogram_overflow",
        defect("range: [-8, 8]", "range: [-1.0e+308, 1.0e+308]"),
        "<spec>:15:67: features[1].range: the bin edges of [-1e+308, 1e+308] are not finite: "
        "high - low overflows a double; narrow the range",
    ),
    case(
        "integral_rate",
        defect(
            "sample_rate_hz: 50",
            "sample_rate_hz: 1.0e-310",
            "0.5s",
            "1",
            "length: 100",
            "length: 10",
        )
        + "  - {compute: integral, of: acc_x, over: long}\n",
        "<spec>:16:5: features[2]: the integral's step 0.5 / sample_rate_hz overflows a double "
        "at 1e-310 Hz; use a larger sample rate",
    ),
    case(
        "histogram_edges_repeat",
        defect("range: [-8, 8]", "range: [0, 5.0e-323]"),
        "<spec>:15:67: features[1].range: 20 bins over [0.0, 5e-323] are narrower than a "
        "double can tell apart (bin edges repeat); widen the range or use fewer bins",
    ),
]

LOCATED = re.compile(r"<spec>:[1-9]\d*:[1-9]\d*: \S")


def errors_of(text: str, filename: str = "<spec>") -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec_text(text, filename)
    return info.value


def test_base_spec_is_valid():
    assert len(load_spec_text(BASE).feature_names) == 8 + 20


def test_there_are_many_cases():
    assert len(CASES) >= 35


@pytest.fixture(params=["libyaml", "pure"])
def parser(request, monkeypatch):
    """Both parsers must give the same messages (YAML errors are always worded by PyYAML's
    pure-Python parser)."""
    if request.param == "pure":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    return request.param


@pytest.mark.parametrize("text, expected", CASES + CONSTANT_CASES)
def test_malformed_spec(text: str, expected: str, parser: str):
    message = str(errors_of(text))
    assert expected in message


@pytest.mark.parametrize("text, expected", CASES + CONSTANT_CASES)
def test_every_message_is_one_located_line(text: str, expected: str):
    error = errors_of(text)
    lines = str(error).split("\n")
    assert len(lines) == len(error.problems)
    for line in lines:
        assert LOCATED.match(line), line
        assert line.isprintable(), line
        assert len(line) < 600
    for bad in ("Traceback", 'File "', "Error:", "Error(", "<class", "  ^", "object at 0x"):
        assert bad not in str(error)
    assert all(p.line >= 1 and p.column >= 1 for p in error.problems)


def test_problem_fields():
    error = errors_of(defect("of: [acc_x, acc_mag]", "of: [acc_x, acc_q]"))
    (problem,) = error.problems
    assert problem == (
        "<spec>",
        13,
        17,
        "features[0].of[1]",
        "unknown signal 'acc_q' (did you mean 'acc_x'?)",
    )


def test_spec_error_pickles():
    error = errors_of(defect("0.5s", "0.33s"))
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems == error.problems and str(copy) == str(error)


def test_all_problems_reported_in_document_order():
    text = defect(
        "sample_rate_hz: 50",
        "sample_rate_hz: 0",
        "{diff: gyro_y}",
        "{diff: gyro_q}",
        "[mean, std]",
        "[mean, stdev]",
    )
    lines = str(errors_of(text)).splitlines()
    assert [line.split(": ")[0] for line in lines] == ["<spec>:3:17", "<spec>:7:20", "<spec>:12:21"]


# ---- no cascades: a broken declaration is reported once, not at every use


@pytest.mark.parametrize(
    "text",
    [
        defect("[acc_x, acc_y, acc_z, gyro_y]", "acc_x"),  # inputs unusable
        defect("[acc_x, acc_y, acc_z, gyro_y]", "[]"),
        defect(SIGNALS_SECTION, "signals: [acc_mag]\n"),  # signals unusable
        defect(WINDOWS_SECTION, "windows: {}\n"),  # windows unusable
        defect("  acc_mag:", "  AccMag:", "acc_mag]", "AccMag]"),  # invalid name, used later
        defect("{diff: gyro_y}", "{dif: gyro_y}"),  # broken signal, used later
        defect("0.5s", "0.33s"),  # broken window, used later
        defect("sample_rate_hz: 50", "sample_rate_hz: -1"),  # durations cannot convert
        defect("[mean, std]", "[mean, stdev]"),  # broken kind, params fine
        defect("{length: 100, hop: 5}", "{lenght: 100, hop: 5}"),  # misspelled, not also missing
        defect("{diff: gyro_y}", "{ema: gyro_y, alpah: 0.5}"),
        defect("bins: 20", "bin: 20"),
        defect(", over: long", ", ovr: long"),
    ],
)
def test_one_defect_one_problem(text: str):
    assert len(errors_of(text).problems) == 1, str(errors_of(text))


def test_each_anchor_and_alias_reported_once():
    error = errors_of(
        defect("sample_rate_hz: 50\n", "sample_rate_hz: 50\nx0: &a0 [lol]\n" + LAUGHS)
    )
    assert len(error.problems) == 9 + 8


def test_reading_problems_do_not_hide_validation_problems():
    text = defect(
        "sample_rate_hz: 50\n",
        "sample_rate_hz: 50\nname: again\n",
        "of: [acc_x, acc_mag]",
        "of: [acc_x, acc_q]",
    )
    assert [p.line for p in errors_of(text).problems] == [4, 14]


def test_cycle_reported_once_and_readers_of_the_cycle_left_alone():
    text = defect(
        "{magnitude: [acc_x, acc_y, acc_z]}",
        "{diff: gyro_y_d}",
        "{diff: gyro_y}",
        "{diff: acc_mag}",
        "  gyro_y_d: {diff: acc_mag}\n",
        "  gyro_y_d: {diff: acc_mag}\n  late: {diff: gyro_y_d}\n",
    )
    error = errors_of(text)
    assert [p.message for p in error.problems] == [
        "signals form a cycle: acc_mag -> gyro_y_d -> acc_mag"
    ]


def test_many_problems_are_capped():
    entries = "".join(f"  - {{compute: mean, of: nope{i}, over: long}}\n" for i in range(300))
    error = errors_of(defect(FEATURES_SECTION, "features:\n" + entries))
    assert len(error.problems) == 101
    assert error.problems[-1].message == "200 more problems not shown"
    assert error.problems[-1].line == 112


def test_two_signal_kinds_take_groups_and_name_both_signals():
    spec = load_spec_text(
        add_feature(
            "{compute: [covariance, correlation], "
            "of: [[acc_x, acc_y], [acc_mag, acc_x]], over: long}"
        )
    )
    pairs = [f for f in spec.features if f.kind in ("covariance", "correlation")]
    assert [(f.kind, f.signals) for f in pairs] == [
        ("covariance", ("acc_x", "acc_y")),
        ("correlation", ("acc_x", "acc_y")),
        ("covariance", ("acc_mag", "acc_x")),
        ("correlation", ("acc_mag", "acc_x")),
    ]
    assert spec.feature_names[-4:] == (
        "covariance__acc_x__acc_y__long",
        "correlation__acc_x__acc_y__long",
        "covariance__acc_mag__acc_x__long",
        "correlation__acc_mag__acc_x__long",
    )


def test_three_signal_kind_takes_groups_of_three(monkeypatch):
    triple = FeatureKind(
        name="tri", build=lambda b, x, y, z: b.out(x[0] + y[0] + z[0]), doc="", n_signals=3
    )
    monkeypatch.setitem(feature_registry.FEATURES, "tri", triple)
    error = errors_of(add_feature("{compute: tri, of: [[acc_x, acc_y]], over: long}"))
    assert str(error) == (
        "<spec>:16:25: features[2].of[0]: expected a group of 3 signal names, got 2"
    )
    spec = load_spec_text(add_feature("{compute: tri, of: [[acc_x, acc_y, acc_z]], over: long}"))
    assert spec.feature_names[-1] == "tri__acc_x__acc_y__acc_z__long"


# ---- files


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(defect("0.5s", "0.33s"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == (
        f"{path}:9:19: windows.short.length: 0.33s at 50 Hz is 16.5 samples, not a whole number"
    )


def test_big_file_rejected_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(BASE + "#" * (2 << 20) + "\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}:1:1: the spec is 2.0 MiB; a spec may be at most 1 MiB"


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("twist_and_go", "tw\xefst").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}:2:9: the spec is not valid UTF-8 (byte 0xef)"


def test_missing_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "nope.yaml")
    assert str(info.value).endswith(
        "nope.yaml:1:1: cannot read the spec: No such file or directory"
    )


def test_hostile_file_name_is_escaped():
    error = errors_of("- x\n", filename="evil\nname.yaml")
    assert str(error).startswith("evil\\nname.yaml:1:1: ")
    assert "\n" not in str(error)


def test_fifo_is_refused_before_reading(tmp_path):
    """A FIFO as the spec used to block forever in open(); now refused at once, by type."""
    import os
    import threading

    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    outcome: list = []

    def load():
        try:
            load_spec(fifo)
        except SpecError as exc:
            outcome.append(str(exc))

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the stuck reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not reader.is_alive(), "load_spec blocked on a FIFO"
    assert outcome == [
        f"{fifo}:1:1: the spec is a FIFO (named pipe), not a regular file; give "
        "the path of a YAML file"
    ]


@pytest.mark.parametrize(
    "path, what",
    [
        ("/dev/null", "a character device"),
        ("/dev/zero", "a character device"),
        (".", "a directory"),
    ],
)
def test_non_regular_files_are_refused(path, what):
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == (
        f"{path}:1:1: the spec is {what}, not a regular file; give the path of a YAML file"
    )


def test_a_symlink_to_a_spec_is_read(tmp_path):
    (tmp_path / "real.yaml").write_text(BASE)
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert load_spec(tmp_path / "link.yaml").name == "twist_and_go"


def test_non_regular_spec_is_exit_2_in_the_cli(tmp_path):
    import os

    from click.testing import CliRunner

    from featgen.cli import main

    os.mkfifo(tmp_path / "spec.yaml")
    result = CliRunner().invoke(
        main, ["build", str(tmp_path / "spec.yaml"), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert "spec.yaml:1:1: the spec is a FIFO (named pipe)" in result.output
    assert not (tmp_path / "out").exists()


# ---- every numeric parameter at the edges of the doubles: refused with a located message, or
# generated with no non-finite constant the kind does not also emit for ordinary values

EXTREMES = (
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e300,
    -1e300,
    1e-300,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    0.0,
    1e-10,
    24.999999999999996,
    1 - 2**-53,
)
ORDINARY = {
    "threshold": 0.5,
    "q": 50.0,
    "range": (-1.0, 1.0),
    "band": (2.0, 5.0),
    "cutoff": 3.0,
    "alpha": 0.5,
}
CONSTANTS_SPEC = """\
spec: featgen/v1
name: edges
sample_rate_hz: 50
inputs: [a, b, c]
{signals}windows:
  w: {{length: 64, hop: 8}}
features:
  - {{compute: mean, of: a, over: w}}
{feature}"""


def _yaml_number(value: float) -> str:
    return f"{value:.17e}"  # YAML 1.1 floats need a '.' and a signed exponent


def _yaml_param(param, value) -> str:
    if param.kind in ("int", "ints"):
        return str(list(value) if isinstance(value, tuple) else value)
    if param.kind == "range":
        return "[" + ", ".join(_yaml_number(v) for v in value) + "]"
    return _yaml_number(value)


def _numeric_cases():
    """(kind name, is signal, parameter, YAML of the other parameters, [values])."""
    import random

    from featurespec.vocabulary.features import FEATURES
    from featurespec.vocabulary.signals import SIGNALS

    rng = random.Random(15)
    pairs = [(lo, hi) for lo in EXTREMES for hi in EXTREMES if lo < hi]
    for is_signal, registry in ((True, SIGNALS), (False, FEATURES)):
        for kind in registry.values():
            numeric = {k: p for k, p in kind.params.items() if p.kind in ("number", "range")}
            for key, param in numeric.items():
                others = {
                    k: ORDINARY.get(k, {"int": 4, "ints": (1,)}.get(p.kind))
                    for k, p in kind.params.items()
                    if k != key and (p.required or k in ORDINARY)
                }
                if any(v is None for v in others.values()):
                    raise AssertionError(
                        f"{kind.name}: give ORDINARY a value for its required parameters"
                    )
                values = (
                    list(EXTREMES)
                    if param.kind == "number"
                    else rng.sample(pairs, 12) + [(-1.7976931348623157e308, 1.7976931348623157e308)]
                )
                yield kind, is_signal, key, param, others, [ORDINARY.get(key, 1.0)] + values


def _constants_spec(kind, is_signal: bool, settings: dict) -> str:
    extra = "".join(f", {k}: {_yaml_param(kind.params[k], v)}" for k, v in settings.items())
    if is_signal:
        sources = ", ".join("abc"[: kind.min_sources])
        sources = f"[{sources}]" if kind.min_sources > 1 else sources
        return CONSTANTS_SPEC.format(
            signals=f"signals:\n  s: {{{kind.name}: {sources}{extra}}}\n",
            feature="  - {compute: std, of: s, over: w}\n",
        )
    of = "a" if kind.n_signals == 1 else "[[" + ", ".join("abc"[: kind.n_signals]) + "]]"
    return CONSTANTS_SPEC.format(
        signals="", feature=f"  - {{compute: {kind.name}, of: {of}, over: w{extra}}}\n"
    )


def _c_source(spec) -> str:
    from codegen.backends import c as c_backend
    from codegen.build import _common, _environment
    from codegen.lowering import lower

    program = lower(spec)
    return (
        _environment()
        .get_template("c/source.c.j2")
        .render(header="", **_common(program), **c_backend.render_context(program, True))
    )


def _nonfinite_literals(c_text: str) -> int:
    return len(re.findall(r"\b(?:NAN|INFINITY)\b", c_text))


@pytest.mark.parametrize(
    "kind, is_signal, key, param, others, values",
    [pytest.param(*c, id=f"{c[0].name}.{c[2]}") for c in _numeric_cases()],
)
def test_extreme_parameters_never_give_nonfinite_constants(
    kind, is_signal, key, param, others, values
):
    ordinary, *extremes = values
    baseline = _nonfinite_literals(
        _c_source(load_spec_text(_constants_spec(kind, is_signal, dict(others, **{key: ordinary}))))
    )
    refused = 0
    for value in extremes:
        text = _constants_spec(kind, is_signal, dict(others, **{key: value}))
        try:
            spec = load_spec_text(text)
        except SpecError as exc:
            refused += 1
            assert len(exc.problems) == 1 and LOCATED.match(str(exc)), str(exc)
            continue
        assert _nonfinite_literals(_c_source(spec)) <= baseline, (key, value)
    assert refused < len(extremes) or param.kind == "range" or key in ("alpha", "cutoff", "q"), (
        "every value refused: the sweep no longer reaches code generation"
    )


RATES = (5e-324, 1e-310, 1e-300, 1e-3, 100_000.0)


def _every_kind_spec(kinds, rate: float) -> tuple[str, dict[int, str]]:
    """One spec using each of ``kinds`` once (a signal kind as a signal read by a std feature),
    required parameters ordinary, frequencies scaled with the rate; and {line: kind name}."""
    scale = rate / 50
    lines = [
        "spec: featgen/v1",
        "name: every",
        f"sample_rate_hz: {_yaml_number(rate)}",
        "inputs: [a, b, c]",
        "signals:",
    ]
    features = ["features:"]
    where: dict[int, str] = {}
    for kind, is_signal in kinds:
        settings = {
            k: ORDINARY.get(k, {"int": 4, "ints": (1,)}.get(p.kind))
            for k, p in kind.params.items()
            if p.required
        }
        if "cutoff" in settings:
            settings["cutoff"] = 3.0 * scale
        if "band" in settings:
            settings["band"] = (2.0 * scale, 5.0 * scale)
        extra = "".join(f", {k}: {_yaml_param(kind.params[k], v)}" for k, v in settings.items())
        if is_signal:
            sources = ", ".join("abc"[: kind.min_sources])
            sources = f"[{sources}]" if kind.min_sources > 1 else sources
            lines.append(f"  s_{kind.name}: {{{kind.name}: {sources}{extra}}}")
            where[len(lines)] = kind.name
            features.append(f"  - {{compute: std, of: s_{kind.name}, over: w}}")
        else:
            of = "a" if kind.n_signals == 1 else "[[" + ", ".join("abc"[: kind.n_signals]) + "]]"
            features.append(f"  - {{compute: {kind.name}, of: {of}, over: w{extra}}}")
    first_feature = len(lines) + 3  # after windows: and its entry
    for i, line in enumerate(features[1:]):
        if "of: s_" not in line:
            where[first_feature + 1 + i] = line.split("compute: ")[1].split(",")[0]
    text = "\n".join(lines + ["windows:", "  w: {length: 64, hop: 8}"] + features) + "\n"
    return text, where


def test_extreme_sample_rates_never_give_nonfinite_constants():
    """Every signal and feature kind at sample rates from the smallest subnormal to the maximum
    (frequencies scaled along): a located error for the kinds that cannot be generated there,
    and for the rest no non-finite constant beyond those at 50 Hz."""
    from featurespec.vocabulary.features import FEATURES
    from featurespec.vocabulary.signals import SIGNALS

    kinds = [(k, True) for k in SIGNALS.values()] + [(k, False) for k in FEATURES.values()]
    refused: dict[float, set[str]] = {}
    for rate in RATES:
        remaining = list(kinds)
        while True:
            text, where = _every_kind_spec(remaining, rate)
            try:
                spec = load_spec_text(text)
            except SpecError as exc:
                bad = set()
                for problem in exc.problems:
                    assert LOCATED.match(str(problem)) and problem.line in where, str(problem)
                    bad.add(where[problem.line])
                refused.setdefault(rate, set()).update(bad)
                remaining = [(k, sig) for k, sig in remaining if k.name not in bad]
                continue
            baseline = _nonfinite_literals(
                _c_source(load_spec_text(_every_kind_spec(remaining, 50.0)[0]))
            )
            assert _nonfinite_literals(_c_source(spec)) <= baseline, rate
            break
    assert len(kinds) > 40
    assert refused[5e-324] >= {"lowpass", "integral"} and not refused.get(100_000.0)


def test_a_failed_generation_time_computation_is_still_a_located_error(monkeypatch):
    """The last line of defence: arithmetic that fails while lowering (a constants rule that
    missed a case) is a SpecError located at the feature, not a traceback."""
    from codegen.build import generate
    from featurespec.vocabulary import features

    def overflow(b, x, **params):
        raise OverflowError("integer division result too large for a float")

    kind = features.FEATURES["std"]
    monkeypatch.setitem(
        features.FEATURES, "std", FeatureKind(**{**kind.__dict__, "build": overflow})
    )
    with pytest.raises(SpecError) as info:
        generate(load_spec_text(BASE))
    assert str(info.value) == (
        "<spec>:12:21: features[0].compute[1]: the constants of this std "
        "feature cannot be computed in double precision (OverflowError: "
        "integer division result too large for a float)"
    )


def test_one_naming_rule_and_its_collisions():
    """Every generated type name comes from featurespec.naming (one rule, not one per target),
    and names the rule merges are found in document order."""
    from codegen import android
    from codegen.backends import swift
    from codegen.trees import build as trees_build
    from featurespec.naming import collisions, lower_camel, pascal_case

    assert swift.upper_camel is android.type_name is trees_build.type_name is pascal_case
    assert pascal_case("twist_and_go") == "TwistAndGo" and lower_camel("user_acc") == "userAcc"
    assert collisions(["a_b1", "x", "a_b_1", "ab1", "a_b1"], pascal_case) == [
        ("a_b1", "a_b_1", "AB1")
    ]
    assert collisions(["a_b1", "ab1", "a_b_1"], lower_camel) == [("a_b1", "a_b_1", "aB1")]
