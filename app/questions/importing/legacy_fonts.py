"""Text typed in the pre-Unicode Vietnamese fonts (TCVN3/ABC ".VnTime", VNI-Windows "VNI-Times"),
which a modern spreadsheet shows as mojibake, and its conversion back to Unicode.

Those fonts drew Vietnamese glyphs on the code points of the Windows-1252 (Western) code page, so
when Excel stored the text as Unicode it stored the Western characters: TCVN3 "NghÞ quyÕt" and VNI
"Nghò quyeát" are both "Nghị quyết". Bytes 0xA0-0xFF are the same in cp1252 and Latin-1, and
neither table uses 0x80-0x9F, so a character's code point below 256 is the byte the font saw.

- TCVN3 is single byte: one code point per letter (TCVN 5712:1993, the VN3 variant used by the
  ABC keyboard and the .VnTime family).
- VNI is "base letter + mark byte": "eá" is ế, "ôù" is ớ; a few letters have a byte of their own
  (ơ "ô", ư "ö", đ "ñ", the five toned i's, and ỵ "î").

Detection (`LegacyTextFixer`) works per cell and settles doubtful cells by the row, then the file:
a cell is converted only when the decoded text reads as Vietnamese *better* than the original
(see `syllables.plausibility`). Genuine Unicode is never touched: any character beyond Latin-1 that
cp1252 cannot produce (ư, ạ, ế, combining marks...) proves the cell is already Unicode.

Known limit of TCVN3 capitals: the main .VnTime font has no capital letters with tones (only
Ă Â Ê Ô Ơ Ư Đ exist, at 0xA1-0xA7). Typists wrote capitals with tones in ".VnTimeH", a font that
draws the *lowercase* code points as capitals, so "NGHỊ QUYẾT" is stored as "NGHÞ QUYÕT" and the
font choice is lost in a cell's value. We restore capitals where the word or the whole cell is
written in capitals (at least two capital letters and no lowercase ASCII letter); a lone capital
with a tone inside mixed-case text ("Ấp Bắc" typed with one .VnTimeH letter) comes back lowercase,
and a word typed in lowercase in .VnTimeH comes back lowercase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.questions.importing.syllables import TONES, VOWEL_BASES, plausibility, vietnamese_letter

TCVN3 = "tcvn3"
VNI = "vni"
LEGACY_ENCODINGS = (TCVN3, VNI)

# --- TCVN3 (VN3): one byte per letter. Columns follow syllables.TONES:
#     no tone, huyền (grave), hỏi (hook), ngã (tilde), sắc (acute), nặng (dot below).
#     None = the plain ASCII vowel.
_TCVN3_LOWERCASE: dict[str, tuple[int | None, int, int, int, int, int]] = {
    "a": (None, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (None, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (None, 0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (None, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (None, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9),  # 0xAD is the soft hyphen in cp1252
    "y": (None, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_OTHERS = {"đ": 0xAE, "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7}
_TCVN3_CAPITAL_CODES = frozenset(chr(b) for b in range(0xA1, 0xA8))

# --- VNI-Windows: marks typed after the base vowel. Capital letters use the capital form of the
#     mark byte ("AÙ" = Á), which is the cp1252 uppercase of the lowercase mark in every case.
_VNI_TONE_MARKS = (None, 0xF8, 0xFB, 0xF5, 0xF9, 0xEF)  # ø û õ ù ï
_VNI_CIRCUMFLEX = (0xE2, 0xE0, 0xE5, 0xE3, 0xE1, 0xE4)  # â à å ã á ä  (â ê ô + tone)
_VNI_BREVE = (0xEA, 0xE8, 0xFA, 0xFC, 0xE9, 0xEB)  # ê è ú ü é ë  (ă + tone)
_VNI_OWN_BYTE_BASES = {"ơ": 0xF4, "ư": 0xF6}  # ô ö, then a tone mark
_VNI_I = (None, 0xEC, 0xE6, 0xF3, 0xED, 0xF2)  # ì æ ó í ò: one byte each
_VNI_Y_DOT = 0xEE  # î = ỵ (other y tones use marks)
_VNI_D = 0xF1  # ñ = đ


def _vni_lowercase_table() -> dict[str, str]:
    table: dict[str, str] = {"đ": chr(_VNI_D)}
    for base in VOWEL_BASES:
        for tone_index, tone in enumerate(TONES):
            letter = vietnamese_letter(base, tone)
            if base in "aeouy":
                mark = _VNI_TONE_MARKS[tone_index]
                code = base + (chr(mark) if mark else "")
                if base == "y" and tone_index == 5:
                    code = chr(_VNI_Y_DOT)
            elif base in "âêô":
                code = base.translate({ord("â"): "a", ord("ê"): "e", ord("ô"): "o"}) + chr(_VNI_CIRCUMFLEX[tone_index])
            elif base == "ă":
                code = "a" + chr(_VNI_BREVE[tone_index])
            elif base in _VNI_OWN_BYTE_BASES:
                mark = _VNI_TONE_MARKS[tone_index]
                code = chr(_VNI_OWN_BYTE_BASES[base]) + (chr(mark) if mark else "")
            else:  # i
                own = _VNI_I[tone_index]
                code = chr(own) if own else "i"
            table[letter] = code
    return table


def _build_tables():
    tcvn3_encode: dict[str, str] = {}
    for base, codes in _TCVN3_LOWERCASE.items():
        for tone, code in zip(TONES, codes):
            if code is not None:
                letter = vietnamese_letter(base, tone)
                tcvn3_encode[letter] = chr(code)
                # .VnTimeH convention: a capital with a tone is typed on the lowercase code point.
                tcvn3_encode.setdefault(letter.upper(), chr(code))
    for letter, code in _TCVN3_OTHERS.items():
        tcvn3_encode[letter] = chr(code)
    tcvn3_decode = {
        ord(code): letter for letter, code in tcvn3_encode.items() if letter.islower() or letter in _TCVN3_OTHERS
    }

    vni_encode: dict[str, str] = {}
    for letter, code in _vni_lowercase_table().items():
        vni_encode[letter] = code
        vni_encode[letter.upper()] = code.upper()
    vni_decode: dict[str, str] = {}
    for letter, code in vni_encode.items():
        if code != letter:
            vni_decode[code] = letter
    # Leniency: a capital base followed by a lowercase mark ("Aù") still means the capital letter.
    for letter, code in list(vni_encode.items()):
        if letter.isupper() and len(code) == 2:
            vni_decode.setdefault(code[0] + code[1].lower(), letter)
    return tcvn3_encode, tcvn3_decode, vni_encode, vni_decode


_TCVN3_ENCODE, _TCVN3_DECODE, _VNI_ENCODE, _VNI_DECODE = _build_tables()

_VNI_MARK_CHARS = "".join(sorted({code[1] for code in _VNI_DECODE if len(code) == 2}))
_VNI_BASE_CHARS = "".join(sorted({code[0] for code in _VNI_DECODE if len(code) == 2}))
_VNI_SINGLE_CHARS = "".join(sorted({code for code in _VNI_DECODE if len(code) == 1}))
_VNI_SEQUENCE = re.compile(f"[{_VNI_BASE_CHARS}][{_VNI_MARK_CHARS}]|[{_VNI_SINGLE_CHARS}]")

# Characters a cp1252 round trip can produce. Anything else proves the text is real Unicode.
_CP1252_EXTRAS = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_BEYOND_CP1252 = re.compile(f"[^\\x00-\\xff{_CP1252_EXTRAS}]")
_TCVN3_WORD = re.compile(r"[A-Za-z\u00a1-\u00ff]+")


def encode_tcvn3(text: str) -> str:
    """Unicode -> TCVN3 as it shows through cp1252. Capitals with tones take the lowercase code
    (the .VnTimeH convention); characters TCVN3 lacks are kept as they are."""
    return "".join(_TCVN3_ENCODE.get(ch, ch) for ch in text)


def encode_vni(text: str) -> str:
    """Unicode -> VNI-Windows as it shows through cp1252."""
    return "".join(_VNI_ENCODE.get(ch, ch) for ch in text)


def decode_tcvn3(text: str) -> str:
    decoded = text.translate(_TCVN3_DECODE)
    if decoded == text or not any("A" <= ch <= "Z" or ch in _TCVN3_CAPITAL_CODES for ch in text):
        return decoded
    return _restore_vntimeh_capitals(text, decoded)


def _is_written_in_capitals(encoded: str) -> bool:
    capitals = 0
    for ch in encoded:
        if "a" <= ch <= "z":
            return False
        if "A" <= ch <= "Z" or ch in _TCVN3_CAPITAL_CODES:
            capitals += 1
    return capitals >= 2


def _restore_vntimeh_capitals(encoded: str, decoded: str) -> str:
    # decode is one character for one character, so positions in both strings line up.
    if _is_written_in_capitals(encoded):
        return decoded.upper()
    pieces = []
    done = 0
    for word in _TCVN3_WORD.finditer(encoded):
        if _is_written_in_capitals(word.group()):
            pieces.append(decoded[done : word.start()])
            pieces.append(decoded[word.start() : word.end()].upper())
            done = word.end()
    pieces.append(decoded[done:])
    return "".join(pieces)


def _vni_replacement(match: re.Match) -> str:
    sequence = match.group()
    letter = _VNI_DECODE.get(sequence)
    if letter is not None:
        return letter
    # A base followed by a mark that does not combine with it ("iù"): decode the base alone.
    return _VNI_DECODE.get(sequence[0], sequence[0]) + sequence[1:]


def decode_vni(text: str) -> str:
    return _VNI_SEQUENCE.sub(_vni_replacement, text)


_DECODERS = {TCVN3: decode_tcvn3, VNI: decode_vni}


def decode_legacy(text: str, encoding: str) -> str:
    return _DECODERS[encoding](text)


# --- Detection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CellVerdict:
    """What one cell's text is. `kind`:
    - "plain": ASCII or empty, the same in every encoding;
    - "unicode": proven genuine Unicode;
    - "tcvn3" / "vni": that decoding reads clearly better than the text as it is;
    - "doubtful": some decodings read as well as the original ("Cã" is TCVN3 "Có", but "Cã" also
      fits the shape of a Vietnamese word) or two decodings tie: `acceptable` lists those that are
      no worse than the original, to be settled by the row or the file. `surely_legacy` is set
      when both decodings beat the original and only tie with each other."""

    kind: str
    acceptable: tuple[str, ...] = ()
    surely_legacy: bool = False


PLAIN = CellVerdict("plain")
UNICODE = CellVerdict("unicode")


def classify_cell(text: str) -> CellVerdict:
    if text.isascii():
        return PLAIN
    if _BEYOND_CP1252.search(text):
        return UNICODE
    original = plausibility(text)
    scores = {}
    for encoding in LEGACY_ENCODINGS:
        decoded = _DECODERS[encoding](text)
        if decoded != text:
            scores[encoding] = plausibility(decoded)
    if not scores:
        return PLAIN  # only Latin-1 symbols that neither table uses ("©", "°")
    best = max(scores.values())
    winners = tuple(e for e in LEGACY_ENCODINGS if scores.get(e) == best)
    if best > original and len(winners) == 1:
        return CellVerdict(winners[0])
    acceptable = tuple(e for e in LEGACY_ENCODINGS if e in scores and scores[e] >= original)
    if not acceptable:
        return UNICODE  # every decoding reads worse: the text is what it says ("Café", "Müller")
    return CellVerdict("doubtful", acceptable, surely_legacy=best > original)


def detect_legacy_encoding(text: str) -> str | None:
    """The legacy encoding one piece of text is clearly written in, judged on its own."""
    verdict = classify_cell(text)
    return verdict.kind if verdict.kind in LEGACY_ENCODINGS else None


def _dominant(votes: dict[str, int]) -> str | None:
    """The legacy encoding with the most clear cells, if legacy cells outnumber Unicode ones."""
    legacy = max(LEGACY_ENCODINGS, key=lambda e: votes.get(e, 0))
    if votes.get(legacy, 0) > 0 and votes.get(legacy, 0) > votes.get("unicode", 0):
        return legacy
    return None


class LegacyTextFixer:
    """Converts a table of cell texts, deciding per cell, then per row, then per file.

    A bank keeps one font per row far more often than per cell, and usually one per file: a row
    whose question is clearly TCVN3 has TCVN3 options even when an option ("Cã" = "Có") would
    pass for Unicode on its own."""

    def fix_rows(self, rows: list[list[str | None]]) -> list[tuple[list[str | None], frozenset[str]]]:
        """Returns, for each row, its cells with legacy text converted and the encodings used."""
        verdicts = [[classify_cell(c) if isinstance(c, str) and c else PLAIN for c in row] for row in rows]
        file_votes: dict[str, int] = {}
        row_votes_list = []
        for row_verdicts in verdicts:
            votes: dict[str, int] = {}
            for v in row_verdicts:
                if v.kind in ("unicode", TCVN3, VNI):
                    votes[v.kind] = votes.get(v.kind, 0) + 1
                    file_votes[v.kind] = file_votes.get(v.kind, 0) + 1
            row_votes_list.append(votes)
        file_choice = _dominant(file_votes)

        fixed = []
        for row, row_verdicts, votes in zip(rows, verdicts, row_votes_list):
            row_choice = _dominant(votes) if votes else file_choice
            used: set[str] = set()
            out: list[str | None] = list(row)
            for index, (cell, verdict) in enumerate(zip(row, row_verdicts)):
                encoding = None
                if verdict.kind in LEGACY_ENCODINGS:
                    encoding = verdict.kind
                elif verdict.kind == "doubtful":
                    if row_choice in verdict.acceptable:
                        encoding = row_choice
                    elif verdict.surely_legacy:
                        # Both decodings beat the original equally: the text is legacy for sure,
                        # and the file's own choice (or the commoner TCVN3) settles which.
                        encoding = file_choice if file_choice in verdict.acceptable else TCVN3
                if encoding is not None and cell is not None:
                    out[index] = _DECODERS[encoding](cell)
                    if out[index] != cell:
                        used.add(encoding)
            fixed.append((out, frozenset(used)))
        return fixed


def convert_legacy_text(text: str) -> tuple[str, str | None]:
    """One piece of text on its own: (converted text, encoding used or None)."""
    ((cells, used),) = LegacyTextFixer().fix_rows([[text]])
    encoding = next(iter(used), None)
    converted = cells[0]
    assert converted is not None  # text in, text out
    return converted, encoding
