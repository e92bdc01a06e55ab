"""Tiny inline SVG charts (no plotting library, so report.html works offline)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 240, 60, 130, 20, 30
COLORS = ("#e69f00", "#0072b2", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#999999")


def _scale(lo: float, hi: float, a: float, b: float, v: float) -> float:
    return a if hi == lo else a + (v - lo) * (b - a) / (hi - lo)


def _frame(title: str, lo: float, hi: float, unit: str, xlabels: Sequence[str]) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" role="img"><title>{escape(title)}</title>',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    for frac in (0.0, 0.5, 1.0):
        v = lo + (hi - lo) * frac
        y = _scale(lo, hi, H - PAD_B, PAD_T, v)
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                   f'{v:,.1f}</text>')
    out.append(f'<text x="4" y="12" font-size="10">{escape(unit)}</text>')
    n = len(xlabels)
    for i in range(0, n, max(1, n // 8)):
        x = _scale(0, max(n - 1, 1), PAD_L, W - PAD_R, i)
        out.append(f'<text x="{x:.1f}" y="{H - 8}" font-size="10" text-anchor="middle">'
                   f'{escape(xlabels[i])}</text>')
    return out


def _legend(out: list[str], names: Sequence[str]) -> None:
    for k, name in enumerate(names):
        y = PAD_T + 14 * k + 6
        out.append(f'<rect x="{W - PAD_R + 8}" y="{y - 8}" width="10" height="10" '
                   f'fill="{COLORS[k % len(COLORS)]}"/>')
        out.append(f'<text x="{W - PAD_R + 22}" y="{y + 1}" font-size="11">{escape(name)}</text>')


def line_chart(title: str, unit: str, xlabels: Sequence[str],
               series: dict[str, Sequence[float | None]]) -> str:
    """Lines over a shared x axis; None leaves a gap."""
    values = [v for s in series.values() for v in s if v is not None]
    lo, hi = min([0.0, *values]), max([1e-9, *values])
    out = _frame(title, lo, hi, unit, xlabels)
    n = len(xlabels)
    for k, data in enumerate(series.values()):
        pts: list[str] = []
        for i, v in enumerate(data):
            if v is None:
                continue
            x = _scale(0, max(n - 1, 1), PAD_L, W - PAD_R, i)
            y = _scale(lo, hi, H - PAD_B, PAD_T, v)
            pts.append(f"{x:.1f},{y:.1f}")
        out.append(f'<polyline fill="none" stroke="{COLORS[k % len(COLORS)]}" stroke-width="1.6" '
                   f'points="{" ".join(pts)}"/>')
    _legend(out, list(series))
    out.append("</svg>")
    return "".join(out)


def bar_chart(title: str, unit: str, labels: Sequence[str],
              series: dict[str, Sequence[float]]) -> str:
    """Grouped bars, one group per label."""
    values = [v for s in series.values() for v in s]
    lo, hi = min([0.0, *values]), max([1e-9, *values])
    out = _frame(title, lo, hi, unit, [""] * len(labels))
    groups, per = len(labels), len(series)
    width = (W - PAD_L - PAD_R) / max(groups, 1)
    bar = width * 0.8 / max(per, 1)
    zero = _scale(lo, hi, H - PAD_B, PAD_T, 0.0)
    for g, label in enumerate(labels):
        x0 = PAD_L + g * width + width * 0.1
        if groups <= 40 or g % max(1, groups // 20) == 0:
            out.append(f'<text x="{x0 + width * 0.4:.1f}" y="{H - 8}" font-size="10" '
                       f'text-anchor="middle">{escape(label)}</text>')
        for k, data in enumerate(series.values()):
            y = _scale(lo, hi, H - PAD_B, PAD_T, data[g])
            top, height = min(y, zero), abs(zero - y)
            out.append(f'<rect x="{x0 + k * bar:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                       f'height="{height:.1f}" fill="{COLORS[k % len(COLORS)]}"/>')
    _legend(out, list(series))
    out.append("</svg>")
    return "".join(out)
