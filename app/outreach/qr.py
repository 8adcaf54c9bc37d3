"""QR codes (segno: pure Python, no image library) for posters and screens."""

from __future__ import annotations

import io

from markupsafe import Markup


def _code(url: str):
    import segno  # only the console's QR pages need it: not loaded at every app start

    # Error correction "M": a poster may be folded or scuffed; segno raises it further when it
    # fits in the same size (boost_error, its default).
    return segno.make_qr(url, error="m")


def svg(url: str, title: str = "") -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff", title=title or None)
    return out.getvalue()


def png(url: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def inline_svg(url: str, label: str) -> Markup:
    """The code as markup inside a page (the printed notice): scalable, and without the XML
    declaration; an image with its text alternative for screen readers."""
    out = io.BytesIO()
    _code(url).save(
        out,
        kind="svg",
        scale=8,
        border=4,
        xmldecl=False,
        svgns=True,
        nl=False,
        svgclass="qr",
        lineclass=None,
        omitsize=True,
    )
    markup = out.getvalue().decode()
    return Markup(markup.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1))
