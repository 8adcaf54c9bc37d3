"""Item 3: CSV (UTF-8 with or without BOM, and the single-byte files old Excel writes), Moodle
GIFT and Aiken (multiple choice only, other types reported as unsupported), .xls and .ods."""
from __future__ import annotations

import codecs
import io

import xlwt

from app.questions.importing import parse_bank_file
from app.questions.importing.legacy_fonts import encode_tcvn3
from tests.questions.helpers import HEADERS, ods, row

CSV_TEXT = ("STT,Câu hỏi,Phương án A,Phương án B,Phương án C,Đáp án,Chủ đề,Mức độ\n"
            '1,"Đại hội XIII của Đảng họp năm nào?",2016,2021,2026,B,Đại hội XIII,Dễ\n'
            '2,"Câu có dấu phẩy, và ""ngoặc kép""?",Có,Không,,a,Chung,Khó\n')
EXPECTED = [("Đại hội XIII của Đảng họp năm nào?", ("2016", "2021", "2026"), 1, "Đại hội XIII", 1),
            ('Câu có dấu phẩy, và "ngoặc kép"?', ("Có", "Không"), 0, "Chung", 3)]


def _summary(result):
    return [(q.text, q.options, q.answer_index, q.topic, q.difficulty) for q in result.questions]


def test_csv_utf8_with_and_without_bom_and_with_semicolons():
    for data in (CSV_TEXT.encode(), codecs.BOM_UTF8 + CSV_TEXT.encode(),
                 CSV_TEXT.replace(",", ";").replace('dấu phẩy; và', 'dấu phẩy, và').encode()):
        result = parse_bank_file(data, "ngan-hang.csv")
        assert result.format == "csv" and result.problems == [], result.problems
        assert _summary(result) == EXPECTED


def test_csv_saved_by_old_excel_in_windows_1258_or_typed_in_tcvn3():
    as_1258 = parse_bank_file(_cp1258(CSV_TEXT), "cu.csv")
    assert as_1258.problems == [] and _summary(as_1258) == EXPECTED
    assert any("Windows-1258" in n.message for n in as_1258.notes)
    tcvn3_bytes = encode_tcvn3(CSV_TEXT).encode("latin-1")  # one byte per letter, as the font saw it
    as_tcvn3 = parse_bank_file(tcvn3_bytes, "tcvn3.csv")
    assert as_tcvn3.problems == [] and _summary(as_tcvn3) == EXPECTED
    assert as_tcvn3.conversions["tcvn3"] == 2


def _cp1258(text: str) -> bytes:
    """Windows-1258 as Excel writes it: the letter with its hat or horn precomposed, the tone as a
    combining mark after it."""
    import unicodedata
    tones = "\u0300\u0309\u0303\u0301\u0323"
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


def test_csv_rows_with_problems_are_reported_by_row_and_column():
    data = (CSV_TEXT + "3,Thiếu đáp án?,x,y,,,Chung,Dễ\n").encode()
    result = parse_bank_file(data, "ngan-hang.csv")
    assert result.questions == []
    assert [(p.row, p.column) for p in result.problems] == [(4, "Đáp án")]


GIFT = """// Moodle export
$CATEGORY: $course$/Nghị quyết XIII

::Câu 1:: Đại hội XIII của Đảng họp năm nào? {
  =2021 #Đúng
  ~2016
  ~2026
  ####Đại hội XIII họp từ ngày 25/1 đến 1/2/2021.
}

::Câu 2:: Đại hội XIII xác định bao nhiêu đột phá chiến lược? {~2 =3 ~4}

Đảng Cộng sản Việt Nam ra đời năm {=1930 ~1945} tại Hương Cảng.

::Đúng sai:: Hà Nội là thủ đô của Việt Nam. {T}

::Trả lời ngắn:: Thủ đô của Việt Nam là? {=Hà Nội =Ha Noi}

::Ghép:: Ghép đôi {=Hà Nội -> Việt Nam =Paris -> Pháp}
"""


def test_gift_multiple_choice_read_and_other_types_reported_as_unsupported():
    result = parse_bank_file(GIFT.encode(), "moodle.gift")
    assert result.format == "gift"
    assert result.questions == []  # all or nothing: the file has unsupported questions
    unsupported = [(p.row, p.message) for p in result.problems]
    assert [r for r, _ in unsupported] == [15, 17, 19]
    assert "đúng/sai" in unsupported[0][1] and "trả lời ngắn" in unsupported[1][1] and "ghép" in unsupported[2][1]

    supported_only = GIFT.split("::Đúng sai::")[0]
    result = parse_bank_file(supported_only.encode(), "moodle.txt")
    assert result.format == "gift" and result.problems == []
    assert [(q.text, q.options, q.answer_index, q.topic) for q in result.questions] == [
        ("Đại hội XIII của Đảng họp năm nào?", ("2021", "2016", "2026"), 0, "Nghị quyết XIII"),
        ("Đại hội XIII xác định bao nhiêu đột phá chiến lược?", ("2", "3", "4"), 1, "Nghị quyết XIII"),
        ("Đảng Cộng sản Việt Nam ra đời năm _____ tại Hương Cảng.", ("1930", "1945"), 0, "Nghị quyết XIII")]
    assert result.questions[0].explanation == "Đại hội XIII họp từ ngày 25/1 đến 1/2/2021."


AIKEN = """Đại hội XIII của Đảng họp năm nào?
A. 2016
B. 2021
C) 2026
ANSWER: B

Chủ tịch Hồ Chí Minh sinh năm nào?
A. 1890
B. 1900
ANSWER: A
"""


def test_aiken_read_and_a_broken_question_reported_with_its_line():
    result = parse_bank_file(AIKEN.encode(), "aiken.txt")
    assert result.format == "aiken" and result.problems == []
    assert [(q.text, q.options, q.answer_index) for q in result.questions] == [
        ("Đại hội XIII của Đảng họp năm nào?", ("2016", "2021", "2026"), 1),
        ("Chủ tịch Hồ Chí Minh sinh năm nào?", ("1890", "1900"), 0)]
    broken = AIKEN + "\nCâu thiếu đáp án?\nA. Có\nB. Không\n"
    result = parse_bank_file(broken.encode(), "aiken.txt")
    assert result.questions == [] and [p.row for p in result.problems] == [12]


def _xls(rows) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Câu hỏi")
    for r, values in enumerate([HEADERS, *rows]):
        for c, value in enumerate(values):
            if value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROWS = [row(1, "Đại hội XIII của Đảng họp năm nào?", ("2016", "2021", "2026"), answer="B", topic="Đại hội XIII"),
        row(2, "Chủ tịch Hồ Chí Minh sinh năm nào?", ("1890", "1900"), answer="a", difficulty="Khó", topic="Tiểu sử")]
ROW_SUMMARY = [("Đại hội XIII của Đảng họp năm nào?", ("2016", "2021", "2026"), 1, "Đại hội XIII", 1),
               ("Chủ tịch Hồ Chí Minh sinh năm nào?", ("1890", "1900"), 0, "Tiểu sử", 3)]


def test_xls_excel_97_2003():
    result = parse_bank_file(_xls(ROWS), "cu.xls")
    assert result.format == "xls" and result.problems == []
    assert _summary(result) == ROW_SUMMARY


def test_ods_opendocument():
    result = parse_bank_file(ods(ROWS), "libreoffice.ods")
    assert result.format == "ods" and result.problems == []
    assert _summary(result) == ROW_SUMMARY


def test_format_is_judged_by_content_not_by_the_name():
    result = parse_bank_file(ods(ROWS), "doi-ten.xlsx")
    assert result.format == "ods" and result.problems == []
    assert any("nội dung thật" in n.message for n in result.notes)
