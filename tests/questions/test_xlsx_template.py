"""Item 1: the .xlsx importer for the shared template, judged on files an organizer could upload."""
from __future__ import annotations

import io
import unicodedata
import zipfile

from app.questions.importing import parse_bank_file
from tests.questions.helpers import HEADERS, problems_of, questions, row, xlsx


def test_headers_match_ignoring_case_accents_spacing_and_order():
    headers = ["  stt ", "CAU HOI", "phương  án a", "Phuong an B:", "PHƯƠNG ÁN C", "Đáp Án ", "chu de", "Mức  độ"]
    data = xlsx([[1, "Thủ đô của Việt Nam là thành phố nào?", "Hà Nội", "Huế", "Đà Nẵng", "a", "Địa lý", "Dễ"]],
                headers=headers)
    result = parse_bank_file(data, "bank.xlsx")
    assert result.problems == []
    [q] = result.questions
    assert (q.text, q.options, q.answer_index, q.topic, q.difficulty) == (
        "Thủ đô của Việt Nam là thành phố nào?", ("Hà Nội", "Huế", "Đà Nẵng"), 0, "Địa lý", 1)


def test_two_to_six_options_and_every_answer_key_form():
    rows = [row(1, "Hai phương án?", ("Có", "Không"), answer="B"),
            row(2, "Sáu phương án?", ("1", "2", "3", "4", "5", "6"), answer=" f. "),
            row(3, "Chữ thường?", ("x", "y", "z"), answer="c"),
            row(4, "Có dấu chấm và khoảng trắng?", ("x", "y", "z"), answer=" A. "),
            row(5, "Mức độ bằng số?", ("x", "y"), answer="(B)", difficulty="3")]
    result = parse_bank_file(xlsx(rows), "bank.xlsx")
    assert result.problems == []
    assert [(len(q.options), q.answer_index, q.difficulty) for q in result.questions] == [
        (2, 1, 1), (6, 5, 1), (3, 2, 1), (3, 0, 1), (2, 1, 3)]


def test_every_problem_is_reported_in_one_pass_with_row_and_column_and_nothing_is_returned():
    rows = [row(1, "Câu đúng mẫu?"),
            row(2, "Chỉ một phương án?", ("Một",), answer="A"),                       # row 3
            row(3, "Đáp án trỏ vào ô trống?", ("x", "y"), answer="D"),                # row 4
            row(4, "", ("x", "y"), answer="A"),                                      # row 5
            row(5, "Hai phương án trùng nhau?", ("Giống", "giống "), answer="A"),      # row 6
            row(6, "Bỏ cách phương án?", ("x", None, "z"), answer="A"),               # row 7
            row(7, "Đáp án không hợp lệ?", ("x", "y"), answer="G"),                   # row 8
            row(8, "Nhiều đáp án?", ("x", "y", "z"), answer="A, B"),                  # row 9
            row(9, "Mức độ lạ?", ("x", "y"), difficulty="Rất khó")]                   # row 10
    result = parse_bank_file(xlsx(rows), "bank.xlsx")
    assert result.questions == []  # all or nothing
    found = {(r, c) for r, c, _ in problems_of(result)}
    assert {(3, "Phương án B"), (4, "Đáp án"), (5, "Câu hỏi"), (6, "Phương án B"), (7, "Phương án B"),
            (8, "Đáp án"), (9, "Đáp án"), (10, "Mức độ")} <= found
    assert all(r != 2 for r, _, _ in problems_of(result))
    messages = " ".join(m for _, _, m in problems_of(result))
    for words in ("ít nhất 2 phương án", "trỏ tới phương án trống", "Thiếu nội dung câu hỏi", "trùng với phương án A",
                  "không được bỏ cách", "không hợp lệ", "nhiều phương án", "Mức độ 'Rất khó'"):
        assert words in messages, words


def test_missing_required_column_is_named():
    headers = [h for h in HEADERS if h != "Đáp án"]
    result = parse_bank_file(xlsx([[1, "Câu?", "x", "y"]], headers=headers), "bank.xlsx")
    assert any("Thiếu cột bắt buộc 'Đáp án'" in p.message for p in result.problems)
    assert result.questions == []


def test_duplicates_within_the_file_are_reported_once_and_kept_once():
    rows = [row(1, "Đại hội XIII họp năm nào?", ("2021", "2016")),
            row(2, "  đại hội   XIII họp năm nào ", ("2021", "2016")),   # same question: case, spaces, "?"
            row(3, "Câu khác?")]
    result = parse_bank_file(xlsx(rows), "bank.xlsx")
    assert result.problems == []
    assert [q.row for q in result.questions] == [2, 4]
    assert result.duplicate_rows == [(3, 2)]


def test_text_is_trimmed_nfc_normalized_and_cleaned_of_line_breaks_and_nbsp():
    decomposed = unicodedata.normalize("NFD", "Nghị quyết")
    assert decomposed != "Nghị quyết"
    rows = [row(1, f"  {decomposed}\u00a0Đại hội\nXIII\r\n là\u200b gì?  ", (" Một\u00a0 ", "Hai\n"))]
    [q] = parse_bank_file(xlsx(rows), "bank.xlsx").questions
    assert q.text == "Nghị quyết Đại hội XIII là gì?"
    assert unicodedata.is_normalized("NFC", q.text)
    assert q.options == ("Một", "Hai")


def test_numbers_and_dates_read_as_the_organizer_sees_them():
    rows = [row(1, "Năm nào?", (2021, 2016.0, 45.5), answer="A")]
    [q] = parse_bank_file(xlsx(rows), "bank.xlsx").questions
    assert q.options == ("2021", "2016", "45.5")


def test_a_large_bank_reads_every_row():
    result = parse_bank_file(xlsx(questions(500)), "bank.xlsx")
    assert result.problems == [] and len(result.questions) == 500


def test_fast_reading_gives_the_cells_openpyxl_gives():
    """The importer reads the cells with calamine: same text as openpyxl, except that the
    "_xHHHH_" escapes of OOXML text are decoded, as Excel shows them (openpyxl leaves them in
    inline strings): "x005F_x000D_" is "x005F" and a line break."""
    import io
    import re

    from openpyxl import load_workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    from app.questions.importing.xlsx import read_xlsx
    from app.questions.importing.results import ImportLimits

    def setup(_, sheet):
        sheet["B3"] = CellRichText(["Chữ ", TextBlock(InlineFont(b=True), "đậm"), " và thường?"])
        sheet["B4"] = "x005F_x000D_ và <thẻ> & \"ngoặc\""
    data = xlsx([row(1, "Câu một?"), row(2, "tạm"), row(3, "tạm 2")], setup=setup)
    ours = {n: cells for n, cells in read_xlsx(data, ImportLimits()).rows}
    theirs = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
    for number, cells in enumerate(theirs.iter_rows(values_only=True), start=1):
        expected = [None if v is None else re.sub("_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), str(v))
                    for v in cells]
        got = [None if v is None else str(v) for v in ours[number]]
        assert (got + [None] * len(expected))[:len(expected)] == expected
    assert ours[3][1] == "Chữ đậm và thường?"


def test_a_title_above_the_header_is_skipped_and_said():
    def setup(_, sheet):
        sheet.insert_rows(1, 2)
        sheet["A1"] = "NGÂN HÀNG CÂU HỎI CUỘC THI TÌM HIỂU NGHỊ QUYẾT ĐẠI HỘI XIII"
        sheet.merge_cells("A1:L1")  # the usual merged, centred title
    result = parse_bank_file(xlsx([row(1, "Câu một?"), row(2, "Câu hai?", answer="")], setup=setup), "x.xlsx")
    # Rows keep the numbers Excel shows: the header is on row 3, the bad question on row 5.
    assert [(p.row, p.column) for p in result.problems] == [(5, "Đáp án")]
    fixed = xlsx([row(1, "Câu một?"), row(2, "Câu hai?")], setup=setup)
    result = parse_bank_file(fixed, "x.xlsx")
    assert result.problems == [] and [q.row for q in result.questions] == [4, 5]
    assert any("Dòng tiêu đề ở dòng 3" in n.message for n in result.notes)


def test_percentages_dates_error_values_and_hidden_rows_read_as_excel_shows_them():
    """What the cell reader must see beyond plain values: "50%" typed in a cell is 0.5 shown as a
    percentage, a date is a day/month/year, an error value (#DIV/0!) is reported at its cell, and
    a hidden row is read and said."""
    import datetime as dt

    def setup(_, sheet):
        sheet["E2"] = 0.5
        sheet["E2"].number_format = "0%"
        sheet["F2"] = dt.date(2021, 2, 1)
        sheet["F2"].number_format = "dd/mm/yyyy"
        sheet.row_dimensions[3].hidden = True
    data = xlsx([row(1, "Tỉ lệ nào?", ("25%", "40%", "50%", "ngày")), row(2, "Câu ẩn?"), row(3, "Câu lỗi?")],
                setup=setup)
    # openpyxl cannot write an error value: the cell is patched into the sheet's XML.
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                start = content.index(b'<c r="C4"')
                end = content.index(b"</c>", start) + 4
                content = content[:start] + b'<c r="C4" t="e"><v>#DIV/0!</v></c>' + content[end:]
            target.writestr(info, content)
    result = parse_bank_file(out.getvalue(), "bank.xlsx")
    assert [(p.row, p.column) for p in result.problems] == [(4, "Phương án A")] and "#DIV/0!" in result.problems[0].message
    result = parse_bank_file(data, "bank.xlsx")
    assert result.problems == []
    assert result.questions[0].options == ("25%", "40%", "50%", "01/02/2021")
    assert any("dòng đang bị ẩn (dòng 3)" in n.message for n in result.notes)
