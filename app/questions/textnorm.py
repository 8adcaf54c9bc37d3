"""Text normalization shared by the importer, the duplicate check and the header matcher."""
from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACES = re.compile(r"\s+")
# NBSP, narrow NBSP, zero-width space/joiners, BOM: seen in banks pasted from Word and web pages.
_INVISIBLE = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u200b": "", "\u200c": "",
                            "\u200d": "", "\ufeff": ""})


_HAS_INVISIBLE = re.compile("[\u00a0\u202f\u2007\u200b\u200c\u200d\ufeff]")


def clean_text(value: str) -> str:
    """Trim, NFC-normalize, turn stray line breaks and non-breaking spaces into single spaces."""
    value = unicodedata.normalize("NFC", value)
    # Called for every cell of a bank: translate() with a dict is slow on non-ASCII text, so it
    # only runs when there is something to translate; split()/join() splits on exactly the
    # characters r"\s" matches (str.isspace) and is several times faster than re.sub + strip.
    if _HAS_INVISIBLE.search(value):
        value = value.translate(_INVISIBLE)
    return " ".join(value.split())


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def strip_accents(value: str) -> str:
    # A regex over the NFD form (C speed) rather than a per-character Python loop: this runs on
    # every question and option of a 10,000-question import.
    if value.isascii():
        return value
    without = _COMBINING.sub("", unicodedata.normalize("NFD", value))
    return without.replace("đ", "d").replace("Đ", "D")


def group_key(value: str | None) -> str:
    """The key units and provinces typed by participants are grouped by on every board and in
    every export: NFC, case folded, spaces collapsed ("Sở Tư pháp", "sở tư pháp" and
    "Sở  Tư Pháp" are one unit; accents still count). "" when there is none."""
    return clean_text(value or "").casefold()


def header_key(value: str) -> str:
    """'  Phương Án  A ' -> 'phuong an a': headers match ignoring case, accents and spacing."""
    return _SPACES.sub(" ", strip_accents(clean_text(value)).lower()).strip()


def question_key(text: str) -> str:
    """Identity of a question's text for duplicate detection (case and spacing ignored)."""
    normalized = clean_text(text).casefold()
    normalized = re.sub(r"[\s\.\?:…]+$", "", normalized)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def search_key(text: str, options=()) -> str:
    """What an organizer's search matches: the question and its options, lowercase and without
    accents, so "dai hoi" and "Đại hội" both find "ĐẠI HỘI" on SQLite as on PostgreSQL."""
    return strip_accents(" ".join([clean_text(text), *(clean_text(o) for o in options)])).lower()
