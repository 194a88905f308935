"""Hostile and edge declarations of issue 19's vocabulary (clip, ratio signals, histogram
outside, min_length, the longest-run starts, ratios of two columns): each is refused with one
located line (``file:line:column: path: message``), never a traceback, and valid edge cases
(a ratio of a ratio, min_length equal to the window) are accepted."""

from __future__ import annotations

import pytest

from featurespec import SpecError, load_spec_text

BASE = """\
spec: featgen/v1
name: vocab
sample_rate_hz: 50
inputs: [acc_x, acc_y, gyro_y]
signals:
  acc_mag: {magnitude: [acc_x, acc_y]}
windows:
  short: {length: 10, hop: 1}
  long: {length: 100, hop: 5}
features:
  - {compute: [mean, energy], of: [acc_x, gyro_y], over: [short, long]}
"""


def signal(line: str) -> str:
    """BASE with one more signal, at line 7 (path signals.<name>)."""
    return BASE.replace("windows:", f"  {line}\nwindows:")


def features(*lines: str) -> str:
    """BASE with more feature entries, from line 12 (path features[1])."""
    return BASE + "".join(f"  - {line}\n" for line in lines)


R = "{ratio: [mean__acc_x__long, energy__acc_x__long], label: r"

CASES = [
    # ---- clip
    (
        "clip_low_above_high",
        signal("lim: {clip: acc_x, range: [2, -2]}"),
        "<spec>:7:29: signals.lim.range: expected finite [low, high] with low < high, got "
        "[2.0, -2.0]",
    ),
    (
        "clip_infinite_bound",
        signal("lim: {clip: acc_x, range: [-.inf, 2]}"),
        "<spec>:7:29: signals.lim.range: expected finite [low, high] with low < high, got "
        "[-inf, 2.0]",
    ),
    (
        "clip_nan_bound",
        signal("lim: {clip: acc_x, range: [0, .nan]}"),
        "<spec>:7:29: signals.lim.range: expected finite [low, high] with low < high, got "
        "[0.0, nan]",
    ),
    (
        "clip_empty_range",
        signal("lim: {clip: acc_x, range: [1, 1]}"),
        "<spec>:7:29: signals.lim.range: expected finite [low, high] with low < high, got "
        "[1.0, 1.0]",
    ),
    (
        "clip_without_range",
        signal("lim: {clip: acc_x}"),
        "<spec>:7:8: signals.lim: 'clip' needs the parameter 'range'",
    ),
    (
        "clip_two_sources",
        signal("lim: {clip: [acc_x, acc_y], range: [0, 1]}"),
        "<spec>:7:15: signals.lim.clip: 'clip' reads 1 source, got 2",
    ),
    # ---- ratio of two signals
    (
        "ratio_signal_of_itself",
        signal("q: {ratio: [acc_x, acc_x]}"),
        "<spec>:7:14: signals.q.ratio: 'ratio' needs different signals, but 'acc_x' is given "
        "twice (its ratio to itself is always 1 or the fallback)",
    ),
    (
        "ratio_signal_one_source",
        signal("q: {ratio: acc_x}"),
        "<spec>:7:14: signals.q.ratio: 'ratio' reads 2 sources, got 1",
    ),
    (
        "ratio_signal_nan_fallback",
        signal("q: {ratio: [acc_x, acc_y], fallback: .nan}"),
        "<spec>:7:40: signals.q.fallback: expected a finite number, got nan",
    ),
    (
        "ratio_signal_infinite_fallback",
        signal("q: {ratio: [acc_x, acc_y], fallback: -.inf}"),
        "<spec>:7:40: signals.q.fallback: expected a finite number, got -inf",
    ),
    (
        "ratio_signal_unknown_source",
        signal("q: {ratio: [acc_x, acc_z]}"),
        "<spec>:7:22: signals.q.ratio[1]: unknown signal 'acc_z' (did you mean 'acc_x'?)",
    ),
    # ---- histogram outside
    (
        "histogram_outside_unknown",
        features(
            "{compute: histogram, of: acc_x, over: long, bins: 4, range: [-1, 1], outside: wrap}"
        ),
        "<spec>:12:83: features[1].outside: expected one of drop, clamp, got the text 'wrap'",
    ),
    (
        "histogram_outside_boolean",
        features(
            "{compute: histogram, of: acc_x, over: long, bins: 4, range: [-1, 1], outside: true}"
        ),
        "<spec>:12:83: features[1].outside: expected one of drop, clamp, got the boolean true",
    ),
    (
        "outside_on_another_kind",
        features("{compute: mean, of: acc_y, over: long, outside: clamp}"),
        "<spec>:12:44: features[1].outside: 'mean' does not take the parameter 'outside'",
    ),
    # ---- min_length
    (
        "min_length_zero",
        features(
            "{compute: longest_run_above, of: acc_x, over: long, threshold: 0, min_length: 0}"
        ),
        "<spec>:12:83: features[1].min_length: must be at least 1, got 0",
    ),
    (
        "min_length_negative",
        features(
            "{compute: longest_run_below, of: acc_x, over: long, threshold: 0, min_length: -3}"
        ),
        "<spec>:12:83: features[1].min_length: must be at least 1, got -3",
    ),
    (
        "min_length_fraction",
        features(
            "{compute: longest_run_below_start, of: acc_x, over: long, threshold: 0, "
            "min_length: 2.5}"
        ),
        "<spec>:12:89: features[1].min_length: expected a whole number, got the number 2.5",
    ),
    (
        "min_length_longer_than_the_window",
        features(
            "{compute: longest_run_above_start, of: acc_x, over: [short, long], threshold: 0, "
            "min_length: 11}"
        ),
        "<spec>:12:58: features[1].over[0]: min_length 11 is longer than the window: no run could "
        "count and the feature would always be 0 (or -1 for a start); 'short' has 10",
    ),
    (
        "min_length_on_another_kind",
        features("{compute: [mean, longest_run_above], of: acc_y, over: long, min_length: 2}"),
        "<spec>:12:65: features[1].min_length: 'mean' does not take the parameter 'min_length'; "
        "give it its own entry",
    ),
    (
        "run_start_without_threshold",
        features("{compute: longest_run_above_start, of: acc_x, over: long}"),
        "<spec>:12:5: features[1]: 'longest_run_above_start' needs the parameter 'threshold'",
    ),
    # ---- ratio of two columns
    (
        "ratio_unknown_column",
        features(R.replace("energy__acc_x__long", "energy__acc_x__lng") + "}"),
        "<spec>:12:33: features[1].ratio[1]: unknown feature column 'energy__acc_x__lng' (did you "
        "mean 'energy__acc_x__long'?)",
    ),
    (
        "ratio_of_a_column_declared_below",
        features(
            "{ratio: [mean__acc_x__long, later__long], label: r}",
            "{ratio: [mean__acc_x__long, energy__acc_x__long], label: later}",
        ),
        "<spec>:12:33: features[1].ratio[1]: 'later__long' is declared below, in features[2] on "
        "line 13; a ratio reads only columns declared above it (so ratios cannot form a cycle)",
    ),
    (
        "ratio_cycle",
        features(
            "{ratio: [mean__acc_x__long, b__long], label: a}",
            "{ratio: [a__long, energy__acc_x__long], label: b}",
        ),
        "<spec>:12:33: features[1].ratio[1]: 'b__long' is declared below, in features[2] on "
        "line 13; a ratio reads only columns declared above it (so ratios cannot form a cycle)",
    ),
    (
        "ratio_of_itself",
        features("{ratio: [r__long, energy__acc_x__long], label: r}"),
        "<spec>:12:14: features[1].ratio[0]: a ratio cannot read its own column 'r__long'",
    ),
    (
        "ratio_same_column_twice",
        features("{ratio: [mean__acc_x__long, mean__acc_x__long], label: r}"),
        "<spec>:12:13: features[1].ratio: the numerator and the denominator are the same column "
        "'mean__acc_x__long'; its ratio to itself is always 1 or the fallback",
    ),
    (
        "ratio_across_windows",
        features("{ratio: [mean__acc_x__long, energy__acc_x__short], label: r}"),
        "<spec>:12:13: features[1].ratio: a ratio reads two columns of one window, but "
        "'mean__acc_x__long' is over 'long' and 'energy__acc_x__short' over 'short'",
    ),
    (
        "ratio_without_label",
        features("{ratio: [mean__acc_x__long, energy__acc_x__long]}"),
        "<spec>:12:5: features[1]: missing required key 'label'",
    ),
    (
        "ratio_with_compute",
        features(R + ", compute: mean}"),
        "<spec>:12:65: features[1].compute: unknown key 'compute'",
    ),
    (
        "ratio_not_a_list",
        features("{ratio: mean__acc_x__long, label: r}"),
        "<spec>:12:13: features[1].ratio: expected [numerator, denominator]: two feature column "
        "names declared above, e.g. [bp_twist__gyro_y__long, energy__gyro_y__long]; got the text "
        "'mean__acc_x__long'",
    ),
    (
        "ratio_of_three",
        features("{ratio: [a, b, c], label: r}"),
        "<spec>:12:13: features[1].ratio: expected [numerator, denominator]: two feature column "
        "names declared above, e.g. [bp_twist__gyro_y__long, energy__gyro_y__long]; got a list",
    ),
    (
        "ratio_infinite_fallback",
        features(R + ", fallback: .inf}"),
        "<spec>:12:75: features[1].fallback: expected a finite number, got inf",
    ),
    (
        "ratio_label_with_separator",
        features(R.replace("label: r", "label: mean__acc_x") + "}"),
        "<spec>:12:62: features[1].label: 'mean__acc_x' contains '__', which separates the parts "
        "of feature names",
    ),
    (
        "ratio_label_twice",
        features(R + "}", "{ratio: [energy__acc_x__long, mean__acc_x__long], label: r}"),
        "<spec>:13:62: features[2].label: feature 'r__long' is already computed by features[1] on "
        "line 12; choose another label",
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=n) for n, t, e in CASES])
def test_refused_with_one_located_line(text: str, expected: str):
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    assert str(info.value) == expected


def test_an_invalid_operand_feature_is_not_reported_again_by_its_ratio():
    text = features(
        "{compute: mean, of: nope, over: long, label: m2}",
        "{ratio: [m2__nope__long, energy__acc_x__long], label: r}",
    )
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    assert str(info.value) == "<spec>:12:25: features[1].of: unknown signal 'nope'"


def test_a_ratio_of_ratios_and_edge_values_are_accepted():
    spec = load_spec_text(
        features(
            R + ", fallback: -1}",
            "{ratio: [r__long, mean__gyro_y__long], label: r2}",
            "{ratio: [r2__long, r__long], label: r3}",
            "{compute: longest_run_below_start, of: acc_x, over: short, threshold: 0, "
            "min_length: 10}",
            "{compute: histogram, of: acc_x, over: short, bins: 1, range: [-1, 1], outside: clamp}",
        ),
    )
    ratios = [f for f in spec.features if f.kind == "ratio"]
    assert [f.outputs for f in ratios] == [("r__long",), ("r2__long",), ("r3__long",)]
    assert ratios[1].signals == ("acc_x", "gyro_y")  # the operands' signals, in order
    assert dict(ratios[0].params) == {
        "num": "mean__acc_x__long",
        "den": "energy__acc_x__long",
        "fallback": -1.0,
    }
    assert spec.feature_names[-2:] == (
        "longest_run_below_start_0_min10__acc_x__short",
        "histogram_clamp_b0__acc_x__short",
    )
