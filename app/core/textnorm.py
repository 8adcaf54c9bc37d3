"""Text normalization shared by the importer, the duplicate check and the header matcher."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_SPACES = re.compile(r"\s+")
# NBSP, narrow NBSP, zero-width space/joiners, BOM: seen in banks pasted from Word and web pages.
# A zero-width space marks a break between words (web editors put it where a space was), so it
# becomes a space: deleting it would join "Nguyễn\u200bVăn" into "NguyễnVăn". Joiners and the BOM
# join or mark nothing in Vietnamese text and are dropped; so is NUL, which PostgreSQL text refuses.
_INVISIBLE = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u200b": " ", "\u200c": "", "\u200d": "", "\ufeff": "", "\x00": ""}
)


_HAS_INVISIBLE = re.compile("[\u00a0\u202f\u2007\u200b\u200c\u200d\ufeff\x00]")


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


_TRAILING = re.compile(r"[\s\.\?:…]+$")


def comparable(text: str) -> str:
    """A text as duplicates are compared: case, spacing and final punctuation ignored."""
    return _TRAILING.sub("", clean_text(text).casefold())


def question_key(text: str, options: Iterable[str]) -> str:
    """Identity of a question for duplicate detection: its wording with its set of options (each
    compared by `comparable`; their order does not matter, as options are shuffled when drawn).
    Two questions with the same wording ("Chọn phương án đúng:") but other options are two
    questions; the key (which option is right) is not part of it, so that two rows differing
    only in the key are caught as a contradiction rather than imported side by side."""
    parts = [comparable(text), *sorted(comparable(o) for o in options)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def search_key(text: str, options=()) -> str:
    """What an organizer's search matches: the question and its options, lowercase and without
    accents, so "dai hoi" and "Đại hội" both find "ĐẠI HỘI" on SQLite as on PostgreSQL."""
    return strip_accents(" ".join([clean_text(text), *(clean_text(o) for o in options)])).lower()
