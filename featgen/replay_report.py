"""`featgen replay LOG --html REPORT.html`: one self-contained page per replay (no scripts, no
network): the verdict and causes, identity and build fingerprint, the timeline of margins on the
device against the reference with the first divergence highlighted, the per-feature ULP table and
the sensor adapter's checks. Every text from the log or the spec is escaped by jinja2's
autoescape; the timeline is an inline SVG built here from numbers only."""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
from markupsafe import Markup

from codegen import __version__

from .safe_io import write_text_atomic

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "report"
MAX_POINTS = 1200  # per series in the SVG: longer logs are drawn as min/max envelopes
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 940, 280, 58, 12, 16, 34


def _buckets(xs: list[int], ys: list[float]) -> list[tuple[float, float]]:
    """Points to draw: all of them, or each bucket's min and max (in push order) when there are
    more than MAX_POINTS, so a spike is never lost."""
    pts: list[tuple[float, float]] = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    if len(pts) <= MAX_POINTS:
        return pts
    per = math.ceil(len(pts) / (MAX_POINTS // 2))
    out: list[tuple[float, float]] = []
    for i in range(0, len(pts), per):
        chunk = pts[i : i + per]
        lo = min(chunk, key=lambda p: p[1])
        hi = max(chunk, key=lambda p: p[1])
        out.extend(sorted({lo, hi}))
    return out


def timeline_svg(report: dict) -> Markup:
    """Margins (output 0) per scored push: device (solid) and reference (dashed), the decision
    threshold, the pushes whose vectors differ (red ticks) and the first divergence (red line)."""
    tl = report.get("timeline") or {}
    xs, dev, ref = tl.get("push", []), tl.get("device", []), tl.get("reference", [])
    if not xs:
        return Markup('<p class="note">No vector was scored on both sides: nothing to draw.</p>')
    finite = [v for v in dev + ref if math.isfinite(v)]
    thr = report.get("margin_threshold")
    if thr is not None and math.isfinite(thr):
        finite.append(thr)
    lo, hi = (min(finite), max(finite)) if finite else (-1.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    x0, x1 = 0, max(report["pushes"] - 1, 1)

    def X(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def Y(y: float) -> float:
        return PAD_T + (hi - y) / (hi - lo) * (H - PAD_T - PAD_B)

    def path(points) -> str:
        return " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in points)

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" '
            f'role="img" aria-label="margins on device and in the reference">'
        ),
        (
            f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" '
            f'height="{H - PAD_T - PAD_B}" fill="#fbfbfc" stroke="#d5d8dc"/>'
        ),
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        parts.append(
            f'<text x="{PAD_L - 6}" y="{Y(v) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#5f6368">{v:.3g}</text>'
        )
    for k in range(6):
        v = x0 + (x1 - x0) * k / 5
        parts.append(
            f'<text x="{X(v):.1f}" y="{H - PAD_B + 16}" font-size="11" '
            f'text-anchor="middle" fill="#5f6368">{int(v)}</text>'
        )
    parts.append(
        f'<text x="{(PAD_L + W - PAD_R) / 2:.0f}" y="{H - 4}" font-size="11" '
        'text-anchor="middle" fill="#5f6368">push</text>'
    )
    if thr is not None and math.isfinite(thr) and lo <= thr <= hi:
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{Y(thr):.1f}" y2="{Y(thr):.1f}" '
            'stroke="#e0a000" stroke-dasharray="2,3"/>'
        )
    differs = [x for x, d in zip(xs, tl.get("differs", [])) if d]
    step = max(1, len(differs) // 600)
    for x in differs[::step]:
        parts.append(
            f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{H - PAD_B - 8}" '
            f'y2="{H - PAD_B}" stroke="#b00020"/>'
        )
    parts.append(
        f'<polyline fill="none" stroke="#1a56db" stroke-width="1.3" '
        f'points="{path(_buckets(xs, dev))}"/>'
    )
    parts.append(
        f'<polyline fill="none" stroke="#2e9e4a" stroke-width="1.1" '
        f'stroke-dasharray="4,3" points="{path(_buckets(xs, ref))}"/>'
    )
    first = report.get("first_divergence")
    if first is not None:
        fx = X(first["push"])
        parts.append(
            f'<line x1="{fx:.1f}" x2="{fx:.1f}" y1="{PAD_T}" y2="{H - PAD_B}" '
            'stroke="#b00020" stroke-width="2"/>'
        )
        anchor = "end" if fx > W * 0.7 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(
            f'<text x="{fx + dx:.1f}" y="{PAD_T + 13}" font-size="12" fill="#b00020" '
            f'text-anchor="{anchor}">first divergence: push {int(first["push"])}</text>'
        )
    for x in (report.get("events") or {}).get("device", []):
        parts.append(f'<circle cx="{X(x):.1f}" cy="{PAD_T + 4}" r="3" fill="#1a56db"/>')
    for x in (report.get("events") or {}).get("reference", []):
        parts.append(
            f'<circle cx="{X(x):.1f}" cy="{PAD_T + 12}" r="3" fill="none" stroke="#2e9e4a"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def build_html(reports: dict[str, dict]) -> str:
    """The page for one or more replays ({label: report made with want_timeline=True})."""

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    logs = [
        {"label": label, "r": r, "svg": timeline_svg(r), "anchor": f"log-{i}"}
        for i, (label, r) in enumerate(reports.items())
    ]
    return env.get_template("replay.html.j2").render(logs=logs, version=__version__)


def write_html(path: str | Path, reports: dict[str, dict]) -> None:
    write_text_atomic(path, build_html(reports))
