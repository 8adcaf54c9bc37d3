"""Charts as inline SVG rendered on the server: no chart library, no CDN, nothing for the CSP to
allow. Only presentation attributes (no style attributes: the CSP has no 'unsafe-inline')."""
from __future__ import annotations

from markupsafe import Markup, escape

BAR = "#1f6feb"
TEXT = "#222"
GRID = "#ddd"


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def hbar_chart(items: list[tuple[str, int]], title: str, width: int = 560) -> Markup:
    """Horizontal bars with labels: participation by province or unit."""
    row, label_w, top = 22, 190, 8
    height = top + row * max(len(items), 1) + 8
    peak = max((n for _, n in items), default=0) or 1
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    if not items:
        parts.append(f'<text x="4" y="20" fill="{TEXT}" font-size="13">Chưa có dữ liệu</text>')
    for i, (label, n) in enumerate(items):
        y = top + i * row
        bar = (width - label_w - 60) * n / peak
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="{TEXT}" font-size="12">'
                     f'<title>{escape(label)}</title>{escape(short)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row - 6}" fill="{BAR}" '
                     f'data-value="{n}"/>'
                     f'<text x="{label_w + bar + 4:.1f}" y="{y + 15}" fill="{TEXT}" font-size="12">{_fmt(n)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(items: list[tuple[str, int]], title: str, width: int = 560, height: int = 180,
                 label_every: int = 1) -> Markup:
    """Vertical columns: submissions per minute, score distribution."""
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    peak = max((n for _, n in items), default=0) or 1
    step = plot_w / max(len(items), 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" stroke="{GRID}"/>',
             f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" fill="{TEXT}" font-size="11">{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="{TEXT}" font-size="11">0</text>']
    for i, (label, n) in enumerate(items):
        h = plot_h * n / peak
        x = left + i * step
        parts.append(f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.8:.1f}" '
                     f'height="{h:.1f}" fill="{BAR}" data-value="{n}"><title>{escape(str(label))}: {_fmt(n)}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="{TEXT}" '
                         f'font-size="10">{escape(str(label))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
