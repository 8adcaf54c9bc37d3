"""Item 2: text typed in TCVN3 (.VnTime) or VNI fonts is detected and converted to Unicode, checked
both ways on the full Vietnamese alphabet against reference tables that are not ours
(tests/questions/data/legacy_reference.json says where each comes from)."""
from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from app.questions.importing import parse_bank_file
from app.questions.importing.legacy_fonts import (
    LegacyTextFixer, convert_legacy_text, decode_tcvn3, decode_vni, encode_tcvn3, encode_vni,
)
from app.questions.importing.syllables import TONES, VOWEL_BASES
from tests.questions.helpers import row, xlsx

REFERENCE = json.loads((Path(__file__).parent / "data" / "legacy_reference.json").read_text(encoding="utf-8"))
SAMPLE_BANK = Path(__file__).resolve().parents[2] / "question_banks" / "nghi-quyet-dai-hoi-xiii.xlsx"

LOWERCASE = sorted({unicodedata.normalize("NFC", b + t) for b in VOWEL_BASES for t in TONES} | {"đ"})
ALPHABET = LOWERCASE + [c.upper() for c in LOWERCASE]
TCVN3_CAPITALS = set("ĂÂÊÔƠƯĐ")  # the only capitals the .VnTime fonts have


def test_the_alphabet_under_test_is_complete():
    assert len(LOWERCASE) == 12 * 6 + 1 == 73  # 12 vowels x 6 tones (incl. none) + đ
    assert len(REFERENCE["vni_npm"]) == 134      # every non-ASCII letter, both cases
    assert len(REFERENCE["tcvn3_glibc"]) == 67 + 7


def test_tcvn3_both_directions_match_glibc_table():
    for letter, code in REFERENCE["tcvn3_glibc"].items():
        assert encode_tcvn3(letter) == code, letter
        assert decode_tcvn3(code) == letter, letter
    for letter, code in REFERENCE["tcvn3_npm"].items():
        assert encode_tcvn3(letter) == code, letter


@pytest.mark.skipif(shutil.which("iconv") is None, reason="glibc iconv not installed")
def test_tcvn3_reference_still_equals_glibc_iconv():
    """The committed table is what glibc's TCVN5712-1 converter says today."""
    for letter, code in REFERENCE["tcvn3_glibc"].items():
        decoded = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=code.encode("latin-1"),
                                 capture_output=True, check=True).stdout.decode()
        assert unicodedata.normalize("NFC", decoded) == letter


def test_vni_both_directions_match_reference_table():
    for letter, code in REFERENCE["vni_npm"].items():
        assert encode_vni(letter) == code, letter
        assert decode_vni(code) == letter, letter


def test_full_alphabet_round_trips():
    text = " ".join(ALPHABET)
    assert decode_vni(encode_vni(text)) == text
    lowercase = " ".join(LOWERCASE)
    assert decode_tcvn3(encode_tcvn3(lowercase)) == lowercase
    # .VnTimeH: capitals with tones are typed on the lowercase codes; a word written in capitals
    # comes back in capitals.
    capitals = " ".join(c.upper() * 2 for c in LOWERCASE)
    assert decode_tcvn3(encode_tcvn3(capitals)) == capitals


def test_words_from_the_issue_are_converted_and_unicode_is_left_alone():
    assert convert_legacy_text("NghÞ quyÕt §¹i héi") == ("Nghị quyết Đại hội", "tcvn3")
    assert convert_legacy_text("Nghò quyeát Ñaïi hoäi") == ("Nghị quyết Đại hội", "vni")
    assert convert_legacy_text("NGHÞ QUYÕT") == ("NGHỊ QUYẾT", "tcvn3")
    for genuine in ("Nghị quyết Đại hội XIII", "Café Müller", "Hà Nội", "2021", "Tiếng Việt có dấu", "Señor Ñoño"):
        assert convert_legacy_text(genuine) == (genuine, None), genuine


def _sample_bank_rows():
    result = parse_bank_file(SAMPLE_BANK.read_bytes(), SAMPLE_BANK.name)
    assert result.ok
    return result.questions


def _as_rows(questions, encode):
    return [row(i, encode(q.text), tuple(encode(o) for o in q.options), "ABCDEF"[q.answer_index],
                encode(q.topic), encode({1: "Dễ", 2: "Trung bình", 3: "Khó"}[q.difficulty]),
                encode(q.explanation) if q.explanation else None)
            for i, q in enumerate(questions, start=1)]


def test_a_whole_bank_typed_in_vni_imports_as_the_unicode_bank():
    original = _sample_bank_rows()
    result = parse_bank_file(xlsx(_as_rows(original, encode_vni)), "vni.xlsx")
    assert result.problems == []
    assert [(q.text, q.options, q.topic, q.difficulty, q.explanation) for q in result.questions] == \
           [(q.text, q.options, q.topic, q.difficulty, q.explanation) for q in original]
    assert result.conversions["vni"] == len(original) and result.conversions["tcvn3"] == 0
    assert result.converted_rows == list(range(2, len(original) + 2))


def test_a_whole_bank_typed_in_tcvn3_imports_as_the_unicode_bank():
    original = _sample_bank_rows()
    result = parse_bank_file(xlsx(_as_rows(original, encode_tcvn3)), "tcvn3.xlsx")
    assert result.problems == []
    assert result.conversions["tcvn3"] == len(original)

    def expected(text):
        # .VnTime has no capital with a tone: a lone one inside mixed-case text comes back
        # lowercase ("Ủy ban" typed in .VnTime reads "ủy ban"); everything else is exact.
        if not any(c.isupper() and c not in TCVN3_CAPITALS and not c.isascii() for c in text):
            return text
        return None

    compared = 0
    for got, want in zip(result.questions, original):
        for a, b in [(got.text, want.text), *zip(got.options, want.options), (got.explanation, want.explanation)]:
            if b is None:
                continue
            if expected(b) is not None:
                assert a == b
                compared += 1
            else:
                assert a.casefold() == b.casefold()
    assert compared > 800


def test_report_names_converted_rows_and_leaves_unicode_rows_alone():
    rows = [row(1, "Nghị quyết Đại hội XIII được thông qua năm nào?", ("2021", "2016")),       # Unicode
            row(2, encode_tcvn3("Đảng Cộng sản Việt Nam ra đời năm nào?"), ("1930", "1945")),
            row(3, encode_vni("Chủ tịch Hồ Chí Minh sinh năm nào?"), ("1890", "1900"),
                topic=encode_vni("Tiểu sử"))]
    result = parse_bank_file(xlsx(rows), "mixed.xlsx")
    assert result.problems == []
    assert [q.text for q in result.questions] == ["Nghị quyết Đại hội XIII được thông qua năm nào?",
                                                  "Đảng Cộng sản Việt Nam ra đời năm nào?",
                                                  "Chủ tịch Hồ Chí Minh sinh năm nào?"]
    assert result.questions[2].topic == "Tiểu sử"
    assert result.converted_rows == [3, 4]
    assert result.conversions == {"tcvn3": 1, "vni": 1}


def test_a_short_ambiguous_option_follows_its_row():
    # "Cã" is TCVN3 for "Có" but could pass for a word on its own; its row is clearly TCVN3.
    [(cells, used)] = LegacyTextFixer().fix_rows([[encode_tcvn3("Câu này đúng hay sai?"), "Cã", "Kh«ng"]])
    assert cells == ["Câu này đúng hay sai?", "Có", "Không"] and used == {"tcvn3"}
