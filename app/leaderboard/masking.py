"""Showing names on public boards without exposing people more than the organizer wants."""

from __future__ import annotations

import unicodedata

INITIALS = "initials"  # "Nguyễn Văn An" -> "Nguyễn V. A."
FULL = "full"  # "Nguyễn Văn An"
HIDDEN = "hidden"  # "Ẩn danh": rank, unit and province only
NAME_STYLES = (INITIALS, FULL, HIDDEN)
HIDDEN_NAME = "Ẩn danh"


def _capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]


def mask_name(full_name: str, style: str) -> str:
    # NFC first: a name typed on some keyboards arrives decomposed, and its "first letter"
    # would then be a bare base letter without its diacritics.
    words = unicodedata.normalize("NFC", full_name or "").split()
    if style == HIDDEN or not words:
        return HIDDEN_NAME
    if style == FULL:
        return " ".join(words)
    # Vietnamese names run family name first, given name last: keep the family name, which
    # hundreds of thousands share, and reduce the rest to initials.
    if len(words) == 1:
        return _capitalized(words[0])[:1] + "."
    return " ".join([_capitalized(words[0])] + [_capitalized(w)[:1] + "." for w in words[1:]])
