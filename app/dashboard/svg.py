"""Charts as inline SVG rendered on the server: no chart library, no CDN, nothing for the CSP to
allow. Only presentation attributes (no style attributes: the CSP has no 'unsafe-inline')."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

BAR = "#1f6feb"
TEXT = "#222"
GRID = "#ddd"


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# Drawn at a phone's width and shown at natural size (never scaled down below it): the 12-px
# labels stay 12 px on a 360-px phone instead of shrinking to 7 px as a 560-wide drawing did.
WIDTH = 330


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def hbar_chart(items: list[tuple[str, int]], title: str, width: int = WIDTH) -> Markup:
    """Horizontal bars with labels: participation by province or unit."""
    row, label_w, top = 24, 128, 8
    height = top + row * max(len(items), 1) + 8
    peak = max((n for _, n in items), default=0) or 1
    parts = [_open(width, height, title)]
    if not items:
        parts.append(f'<text x="4" y="20" fill="{TEXT}" font-size="13">Chưa có dữ liệu</text>')
    for i, (label, n) in enumerate(items):
        y = top + i * row
        bar = (width - label_w - 48) * n / peak
        short = label if len(label) <= 17 else label[:16] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="{TEXT}" font-size="12">'
            f'<title>{escape(label)}</title>{escape(short)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row - 6}" fill="{BAR}" '
            f'data-value="{n}"/>'
            f'<text x="{label_w + bar + 4:.1f}" y="{y + 15}" fill="{TEXT}" font-size="12">{_fmt(n)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    items: list[tuple[str, int]], title: str, width: int = WIDTH, height: int = 170, label_every: int = 1
) -> Markup:
    """Vertical columns: submissions per minute, score distribution."""
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    peak = max((n for _, n in items), default=0) or 1
    step = plot_w / max(len(items), 1)
    label_every = max(label_every, math.ceil(26 / step))  # labels never overlap (about 26 px each)
    parts = [
        _open(width, height, title),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" stroke="{GRID}"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" fill="{TEXT}" font-size="11">{_fmt(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="{TEXT}" font-size="11">0</text>',
    ]
    for i, (label, n) in enumerate(items):
        h = plot_h * n / peak
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{BAR}" data-value="{n}"><title>{escape(str(label))}: {_fmt(n)}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="{TEXT}" '
                f'font-size="11">{escape(str(label))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
