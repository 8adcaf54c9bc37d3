"""Small parsers for the consoles' form fields, shared by the pages of several features."""

from __future__ import annotations

from app.core.errors import AppError


def optional_int(raw: object) -> int | None:
    """The round page's T field (and the regrade's question): blank is None, dots as thousands
    separators are allowed, anything else that is not a whole number is refused."""
    text = str(raw or "").strip().replace(".", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise AppError("invalid_truth", "Số người trả lời đúng tất cả phải là số nguyên không âm.", 422)
    return int(text)
