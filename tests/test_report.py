"""`featgen parity --html`: the report for the example holds its sections with real data and
references nothing outside the file."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from codegen.bundle import Manifest
from codegen.targets import parity_targets
from featgen import harness
from featgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "twist_and_go" / "spec.yaml"
MANIFEST = Manifest.parse((ROOT / "generated" / "twist_and_go" / "manifest.json").read_text())
NAMES = list(MANIFEST.feature_names)
SMALL = ["--samples", "1500", "--streams", "1"]
NO_MODEL = """spec: featgen/v1
name: plain
sample_rate_hz: 50
inputs: [ax, gy]
windows: {w: {length: 25, hop: 2}}
features:
  - {compute: [mean, std, max], of: [ax, gy], over: w}
"""


def _run(tmp_path: Path, *extra: str) -> tuple[str, dict]:
    html_path, json_path = tmp_path / "report.html", tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        ["parity", str(SPEC), *SMALL, "--html", str(html_path), "--json", str(json_path), *extra],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote the HTML report to {html_path}" in result.output
    return html_path.read_text(encoding="utf-8"), json.loads(json_path.read_text())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from featgen.harness.kotlin_jvm_runtime import missing_tools
    from parity_tests.conftest import require_swiftc, require_tools

    require_swiftc()
    require_tools(missing_tools(), "the HTML report with every target's column")
    return _run(tmp_path_factory.mktemp("report"))


def _section(text: str, ident: str) -> str:
    """From the element with id=ident to the next <h2>."""
    start = text.index(f'id="{ident}"')
    end = text.find("<h2", start)
    return text[start : end if end > 0 else len(text)]


def _pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_sections_exist(report):
    text, _ = report
    for ident in (
        "features",
        "ulp-table",
        "predictions",
        "prediction-table",
        "proximity",
        "proximity-table",
        "timelines",
        "manifest",
        "manifest-table",
    ):
        assert f'id="{ident}"' in text, ident
    assert "NOT CHECKED" not in text


def test_ulp_table_has_a_row_per_feature_with_its_max_ulp(report):
    text, data = report
    table = text[
        text.index('id="ulp-table"') : text.index("</table>", text.index('id="ulp-table"'))
    ]
    rows = re.findall(r"<tr[ >].*?</tr>", table, re.S)
    assert len(rows) == len(NAMES) + 1  # header + one per feature
    targets = [t["target"] for t in data["targets"]]
    names = [t.name for t in parity_targets()]  # every registered target, then its device
    assert targets == names + [f"{n} device" for n in names]  # device: what the model reads
    device = data["targets"][len(names)]["features"]
    assert 0 < len(device) < len(NAMES) and set(device) <= set(NAMES)
    absent = [n for n in NAMES if n not in device]
    for name in absent:  # a feature the device does not compute: "·"
        row = next(r for r in rows if f'<td class="mono">{name}</td>' in r)
        assert row.count(">·</td>") == len(names), row
    for name in NAMES:
        assert f'<td class="mono">{name}</td>' in table, name
    for target in data["targets"]:
        for name, stat in target["features"].items():
            row = next(r for r in rows if f'<td class="mono">{name}</td>' in r)
            cells = re.findall(r'<td class="num (?:zero|diff)"[^>]*>([^<]*)</td>', row)
            column = targets.index(target["target"])
            assert cells[column].split()[0] == str(stat["max_ulp"]), (name, cells)
    assert f"All {len(NAMES)} features are bit-identical" in text


def test_prediction_table_reports_every_target(report):
    text, data = report
    table = _section(text, "predictions")
    p = data["predictions"]
    names = [t.name for t in parity_targets()]
    assert list(p["targets"]) == names  # keyed by registered name, registry order
    for target in [f"own {n} (model + detector)" for n in names] + ["TL2cgen C", "Core ML"]:
        assert target in table, target
    b = p["boundary_vectors"]
    assert list(b["targets_margins_bit_equal"]) == names
    for name in names:
        assert f"{p['targets'][name]['margins_bit_equal_pct']:.2f} %" in table
        assert f"{b['targets_margins_bit_equal'][name]:,}/{b['vectors']:,}" in table
    assert f"{p['tl2cgen']['margins_bit_equal_pct']:.2f} %" in table
    assert f"{p['tl2cgen']['max_abs_margin_diff']:.3g}" in table


def test_plots_are_real_pngs(report):
    text, _ = report
    images = _pngs(text)
    assert len(images) >= 5  # margins, proximity, threshold histograms, timeline(s)
    for png in images:
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    timeline = re.findall(r'<img class="timeline"[^>]*src="data:image/png;base64,([^"]+)"', text)
    assert timeline, "no timeline image"
    lanes = _section(text, "timelines")
    shown = [f"{t.name} detector" for t in parity_targets()] + ["Core ML evaluator"]
    for lane in shown:  # one lane per registered target: a new one shows up with no edit
        assert f"<b>{lane}</b>" in lanes
    assert lanes.count("0 decisions and 0 event flags differ") == len(shown)


def test_proximity_section_has_counts(report):
    text, _ = report
    section = _section(text, "proximity")
    rows = re.findall(r'<tr><td class="mono">(\w+)</td>', section)
    assert 1 <= len(rows) <= 15 and set(rows) <= set(NAMES)


def test_manifest_section(report):
    text, _ = report
    section = _section(text, "manifest")
    assert MANIFEST.spec_hash in section
    assert MANIFEST.model.model_sha256 in section
    for path in MANIFEST.files:
        if path.endswith("/golden.bin"):  # generated/ is built with --golden; parity is not
            assert path not in section
            continue
        assert path in section


def test_nothing_external(report):
    text, _ = report
    for bad in ("<script", "<link", "<iframe", "@import", "url(", "<object", "<embed"):
        assert bad not in text.lower(), bad
    for attr, value in re.findall(r'\b(src|href|action)\s*=\s*"([^"]*)"', text, re.I):
        assert value.startswith(("data:image/png;base64,", "#")), (attr, value[:80])
    assert not re.search(r"\b(src|href)\s*=\s*'", text)


def test_without_swift_the_report_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "find_swiftc", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    text, data = _run(tmp_path)
    from featgen.harness import adapters

    names = [
        t.name for t, a in adapters.parity_adapters() if t.name != "Swift" and a.missing() is None
    ]  # C and the other targets
    assert [t["target"] for t in data["targets"]] == names + [f"{n} device" for n in names]
    assert 'id="swift-missing"' in text
    assert "Swift (iOS) target NOT CHECKED" in text
    assert "NOT CHECKED: no swiftc" in text or _pngs(text)  # the timeline lane says it too
    lanes = _section(text, "timelines")
    assert '<b>Swift detector</b>: <span class="bad">NOT CHECKED: no swiftc' in lanes
    assert list(data["predictions"]["targets"]) == names
    assert data["not_checked"] == {"Swift": adapters.ADAPTERS["Swift"].missing()}
    assert text.count('<td class="num bad">not checked</td>') == len(NAMES)


def test_spec_without_a_model_has_no_prediction_sections(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "find_swiftc", lambda: None)  # C only: fast
    monkeypatch.delenv("CI", raising=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(NO_MODEL)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        main, ["parity", str(spec), "--samples", "600", "--streams", "1", "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert 'id="ulp-table"' in text and 'id="manifest"' in text
    assert "no <code>model:</code> block" in text
    assert 'id="timelines"' not in text and "<img" not in text


def test_phone_cost_cards_give_measured_numbers(report):
    text, _ = report
    cost = _section(text, "cost")
    assert "<b>C</b> (featuriser: all features)" in cost
    assert "<b>C detector</b> (device features + model + decision)" in cost
    assert "<b>Swift</b> (featuriser: all features)" in cost
    assert "<b>Swift detector</b> (device features + model + decision)" in cost
    pushes = re.findall(r'<div class="big">([\d.]+) (µs|ns) / push</div>', cost)
    assert len(pushes) == 4 and all(float(v) > 0 for v, _ in pushes), cost
    states = [int(v.replace(",", "")) for v in re.findall(r"state ([\d,]+) B", cost)]
    assert len(states) == 4 and all(s > 1000 for s in states[:2])  # C first: the whole state
    assert re.search(r"\(model [\d,]+ B\)", cost) and ".text" in cost
    assert "NOT MEASURED" not in cost


def test_each_plot_says_which_data_it_shows(report):
    text, _ = report
    for ident in ("features-data", "predictions-data", "proximity-data", "timeline-data"):
        line = text[text.index(f'id="{ident}"') : text.index("</p>", text.index(f'id="{ident}"'))]
        assert "1 seeded synthetic edge-case stream(s) of 1,500 samples" in line, line
    assert "pass\n<code>--data your_recordings/</code>" in text
