"""How much a piece of text looks like Vietnamese: the yardstick that decides whether a cell is
legacy-font mojibake (TCVN3/VNI) or genuine text.

Every Vietnamese word is a single syllable with a rigid shape: an optional initial consonant
cluster, a vowel nucleus from a closed list, an optional final consonant, at most one tone mark,
only the acute or dot-below tone before a stop final (c, ch, p, t), and the spelling rules
k/gh/ngh before i, e, ê (y) and c/g/ng elsewhere. Mojibake almost never
fits that shape ("NghÞ", "quyÕt", "Kh«ng"), while its correct decoding always does; genuine text
already fits it, so a decoding never scores better than the original and is left alone.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

VOWEL_BASES = "aăâeêioôơuưy"
# Tone marks in the traditional order (huyền, hỏi, ngã, sắc, nặng), as combining characters.
GRAVE, HOOK, TILDE, ACUTE, DOT = "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"
TONES = ("", GRAVE, HOOK, TILDE, ACUTE, DOT)


def vietnamese_letter(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


# Every lowercase Vietnamese letter -> (letter without tone, tone); plain ASCII letters too.
_TONE_SPLIT: dict[str, tuple[str, str]] = {c: (c, "") for c in "abcdefghijklmnopqrstuvwxyzđ"}
for _base in VOWEL_BASES:
    for _tone in TONES:
        _TONE_SPLIT[vietnamese_letter(_base, _tone)] = (_base, _tone)

_NUCLEI = """
    iêu yêu oai oao oay oeo uây uôi uya uyê uyu ươi ươu
    ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi ua uâ uê ui uô uơ uy ưa ưi ươ ưu yê
    a ă â e ê i o ô ơ u ư y
""".split()
# "oo" (xoong, boong) is left out on purpose: loanwords only, and it would let TCVN3 read VNI
# "Khoâng" as "Khoõng" as well as VNI reads it as "Không".
_SYLLABLE = re.compile(
    r"(?P<initial>ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdđghklmnprstvx])?"
    r"(?P<nucleus>" + "|".join(sorted(_NUCLEI, key=len, reverse=True)) + r")"
    r"(?P<final>ch|ng|nh|[cmnpt])?"
)
# Spelling rules: which initials may stand before a nucleus starting with which vowel.
_ONLY_BEFORE_FRONT_VOWELS = {"k": "ieêy", "gh": "ieê", "ngh": "ieê"}
_NEVER_BEFORE = {"c": "ieêy", "g": "eê", "ng": "ieê"}
_STOP_FINALS = {"c", "ch", "p", "t"}
# The longest Vietnamese syllables ("nghiêng", "khuyếch") have 7 letters.
_MAX_SYLLABLE_LETTERS = 7

# Words holding at least one non-ASCII letter, where "letter" also covers every Latin-1 symbol:
# TCVN3 puts Vietnamese letters on code points like "µ", "¸", "«" or the soft hyphen, which must
# stay inside the word they spell. ASCII-only words are never scored: every candidate decoding
# leaves them unchanged.
_LETTER = r"A-Za-z\u00a1-\u00ff\u0100-\u024f\u1ea0-\u1ef9"
_NON_ASCII_WORD = re.compile(f"[A-Za-z]*[\u00a1-\u00ff\u0100-\u024f\u1ea0-\u1ef9][{_LETTER}]*")


@lru_cache(maxsize=65_536)
def is_vietnamese_syllable(word: str) -> bool:
    """True when `word` (any case) has the shape of one Vietnamese syllable."""
    if len(word) > _MAX_SYLLABLE_LETTERS:
        return False
    bases = []
    tone = ""
    for ch in word.lower():
        split = _TONE_SPLIT.get(ch)
        if split is None:
            return False
        bases.append(split[0])
        if split[1]:
            if tone:
                return False  # two tone marks in one syllable
            tone = split[1]
    match = _SYLLABLE.fullmatch("".join(bases))
    if match is None:
        return False
    initial, first_vowel = match.group("initial"), match.group("nucleus")[0]
    if initial in _ONLY_BEFORE_FRONT_VOWELS and first_vowel not in _ONLY_BEFORE_FRONT_VOWELS[initial]:
        return False
    if initial in _NEVER_BEFORE and first_vowel in _NEVER_BEFORE[initial]:
        return False
    return match.group("final") not in _STOP_FINALS or tone in (ACUTE, DOT)


@lru_cache(maxsize=65_536)
def _word_score(word: str) -> int:
    return 1 if is_vietnamese_syllable(word) else -1


def plausibility(text: str) -> int:
    """+1 for each word with non-ASCII letters that is a Vietnamese syllable, -1 for each that is
    not (ASCII-only words do not count)."""
    return sum(map(_word_score, _NON_ASCII_WORD.findall(text)))
