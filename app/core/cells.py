"""What any spreadsheet this app writes does to a text cell: illegal XML characters dropped, and
a text a spreadsheet could read as a formula marked (the exports, the bank export, the canonical
frozen ranking all apply it)."""

from __future__ import annotations

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]|[\ud800-\udfff]|[\ufffe\uffff]")


def formula_like(text: str) -> bool:
    """The one rule every export applies (the streamed files and the bank export, written with
    openpyxl): a text a spreadsheet could read as a formula gets Excel's quote prefix."""
    return text.startswith(FORMULA_PREFIXES)


def clean(text: str) -> str:
    return _ILLEGAL.sub("", text)
