"""Inline SVG charts for the report, drawn in Python (no JavaScript, no external assets)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def colour(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    x: float
    y: float
    size: float  # 0..1, drawn as the bubble's radius
    note: str = ""


@dataclass(frozen=True, slots=True)
class Bar:
    group: str
    series: int
    value: float
    low: float
    high: float
    note: str = ""


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    return float(math.ceil(value / step * 1.1) * step)


def _axes(w: int, h: int, m: int, x_label: str, y_label: str, x_max: float, y_max: float) -> list[str]:
    out = [
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - 20}" y2="{h - m}" stroke="#333"/>',
        f'<line x1="{m}" y1="20" x2="{m}" y2="{h - m}" stroke="#333"/>',
        f'<text x="{(w + m) // 2}" y="{h - 12}" text-anchor="middle" {FONT}>{escape(x_label)}</text>',
        f'<text x="16" y="{h // 2}" text-anchor="middle" transform="rotate(-90 16 {h // 2})" {FONT}>'
        f"{escape(y_label)}</text>",
    ]
    for k in range(5):
        fy = k / 4
        y = h - m - fy * (h - m - 20)
        out.append(f'<line x1="{m}" y1="{y:.1f}" x2="{w - 20}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{m - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{fy * y_max:.2g}</text>')
        x = m + fy * (w - m - 20)
        out.append(f'<text x="{x:.1f}" y="{h - m + 16}" text-anchor="middle" {FONT}>{fy * x_max:.3g}</text>')
    return out


def scatter(points: list[Point], x_label: str, y_label: str, w: int = 760, h: int = 380) -> str:
    """Quality (y, 0..1) against cost or latency (x); bubble radius encodes the third measure."""
    m = 60
    x_max = _nice_max(max((p.x for p in points), default=1.0))
    parts = _axes(w, h, m, x_label, y_label, x_max, 1.0)
    for n, p in enumerate(points):
        cx = m + p.x / x_max * (w - m - 20)
        cy = h - m - max(0.0, min(1.0, p.y)) * (h - m - 20)
        r = 6 + 18 * max(0.0, min(1.0, p.size))
        title = escape(f"{p.label}: {p.note}")
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{colour(n)}" fill-opacity="0.75" '
            f'stroke="{colour(n)}"><title>{title}</title></circle>'
        )
        # labels of points in the right half go to their left, so they are not cut off at the edge
        right = cx > w / 2
        lx, anchor = (cx - r - 4, "end") if right else (cx + r + 4, "start")
        parts.append(
            f'<text x="{lx:.1f}" y="{cy + 4:.1f}" text-anchor="{anchor}" {FONT}>{escape(p.label)}</text>'
        )
    return _svg(w, h, "quality-scatter", parts)


def bars(
    bars_: list[Bar], groups: list[str], series: list[str], y_label: str, w: int = 760, h: int = 380
) -> str:
    """Grouped bars (one group per tag, one bar per model) with 95% CI whiskers."""
    m = 60
    parts = _axes(w, h, m, "", y_label, 0.0, 1.0)[:5]
    for k in range(5):
        y = h - m - k / 4 * (h - m - 20)
        parts.append(f'<line x1="{m}" y1="{y:.1f}" x2="{w - 20}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{m - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{k / 4:.2g}</text>')
    group_w = (w - m - 20) / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))
    scale = h - m - 20

    def y_of(v: float) -> float:
        return h - m - max(0.0, min(1.0, v)) * scale

    for g, name in enumerate(groups):
        gx = m + g * group_w
        parts.append(
            f'<text x="{gx + group_w / 2:.1f}" y="{h - m + 16}" text-anchor="middle" {FONT}>'
            f"{escape(name)}</text>"
        )
    for b in bars_:
        x = m + groups.index(b.group) * group_w + group_w * 0.1 + b.series * bar_w
        top = y_of(b.value)
        mid = x + bar_w / 2
        tip = escape(f"{series[b.series]} / {b.group}: {b.note}")
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar_w * 0.9:.1f}" height="{h - m - top:.1f}" '
            f'fill="{colour(b.series)}"><title>{tip}</title></rect>'
        )
        parts.append(
            f'<line class="ci" x1="{mid:.1f}" y1="{y_of(b.low):.1f}" x2="{mid:.1f}" y2="{y_of(b.high):.1f}" '
            'stroke="#111" stroke-width="1.5"/>'
        )
        for edge in (b.low, b.high):
            parts.append(
                f'<line x1="{mid - 4:.1f}" y1="{y_of(edge):.1f}" x2="{mid + 4:.1f}" '
                f'y2="{y_of(edge):.1f}" stroke="#111"/>'
            )
    return _svg(w, h, "tag-bars", parts)


def legend(series: list[str]) -> str:
    parts = []
    for n, name in enumerate(series):
        y = 14 + n * 18
        parts.append(f'<rect x="4" y="{y - 10}" width="12" height="12" fill="{colour(n)}"/>')
        parts.append(f'<text x="22" y="{y}" {FONT}>{escape(name)}</text>')
    return _svg(360, 18 * len(series) + 8, "legend", parts)


def _svg(w: int, h: int, cls: str, parts: list[str]) -> str:
    body = "\n".join(parts)
    return f'<svg class="{cls}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">\n{body}\n</svg>'
