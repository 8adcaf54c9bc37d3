"""Item 5: hostile or broken files are refused with a clear Vietnamese message, and nothing is
written. Each file is also uploaded through the API to check the bank is untouched."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from app.questions.importing import ImportLimits, parse_bank_file
from tests.questions.helpers import count_questions, make_staff, questions, row, xlsx


def rewrite_member(data: bytes, name: str, change) -> bytes:
    """The same zip with one member's bytes passed through `change`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def messages(result) -> str:
    return " ".join(p.message for p in result.problems)


def zip_bomb() -> bytes:
    """A real .xlsx whose worksheet inflates to 30 MB of padding from a few dozen KB."""
    padding = b" " * 30_000_000
    return rewrite_member(xlsx(questions(2)), SHEET, lambda c: c.replace(b"<sheetData>", padding + b"<sheetData>", 1))


def with_cached_formula(cached: str | None) -> bytes:
    data = xlsx([row(1, "=CONCAT(\"Đại hội XIII \",\"họp năm nào?\")", ("2021", "2016"))])

    def add_cache(content: bytes) -> bytes:
        text = content.decode()
        value = f'<v>{cached}</v>' if cached is not None else "<v></v>"
        return re.sub(r'<c r="B2"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?</c>',
                      lambda m: f'<c r="B2" t="str"><f>{m.group(2)}</f>{value}</c>', text).encode()
    return rewrite_member(data, SHEET, add_cache)


def merged() -> bytes:
    def setup(_, sheet):
        sheet.merge_cells("J2:J3")  # one topic for two questions: a common habit
    return xlsx([row(1, "Câu một?"), row(2, "Câu hai?")], setup=setup)


def hidden_first_sheet() -> bytes:
    def setup(workbook, sheet):
        junk = workbook.create_sheet("Nháp", 0)
        junk.append(["không phải câu hỏi"])
        junk.sheet_state = "hidden"
    return xlsx([row(1, "Câu ở trang đang hiện?")], setup=setup)


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def with_doctype() -> bytes:
    return rewrite_member(xlsx(questions(1)), SHEET, lambda c: c.replace(
        b"<worksheet", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><worksheet', 1))


REFUSED = {
    "empty": (b"", "x.xlsx", "Tệp rỗng"),
    "only spaces": (b"  \r\n ", "x.csv", "Tệp rỗng"),
    "header only": (xlsx([]), "x.xlsx", "chưa có câu hỏi nào"),
    "pdf renamed": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 ...", "cau-hoi.xlsx", "tệp PDF"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "anh.xlsx", "tệp ảnh"),
    "word file": (docx(), "cau-hoi.xlsx", "tệp Word"),
    "random binary": (bytes(range(256)) * 10, "x.xlsx", "Không nhận ra định dạng"),
    "html saved as xls": (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "x.xls", "trang web"),
    "truncated zip": (xlsx(questions(3))[:700], "x.xlsx", "hỏng"),
    "zip bomb": (zip_bomb(), "bom.xlsx", "phình to"),
    "doctype entity": (with_doctype(), "xxe.xlsx", "DOCTYPE"),
    "formula without cached value": (with_cached_formula(None), "x.xlsx", "công thức"),
    "merged cells": (merged(), "x.xlsx", "gộp"),
    "over-long cell": (xlsx([row(1, "Rất dài " + "x" * 2100 + "?")]), "x.xlsx", "vượt giới hạn 2.000 ký tự"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_with_a_clear_message(name):
    data, filename, words = REFUSED[name]
    result = parse_bank_file(data, filename)
    assert result.questions == [] and result.problems, name
    assert words in messages(result), (name, messages(result))


def test_row_and_column_of_cell_problems():
    assert [(p.row, p.column) for p in parse_bank_file(*REFUSED["over-long cell"][:2]).problems] == [(2, "Câu hỏi")]
    assert [(p.row, p.column) for p in parse_bank_file(*REFUSED["merged cells"][:2]).problems] == [(2, "Chủ đề")]
    formula = parse_bank_file(*REFUSED["formula without cached value"][:2]).problems
    assert [(p.row, p.column) for p in formula] == [(2, "Câu hỏi")]
    assert "Dán đặc biệt" in formula[0].message


def test_an_over_long_cell_is_reported_once_without_false_follow_on_errors():
    """Issue 13 item 8: an option over the limit is one problem, not also "empty option" for the
    options after it and "key points at an empty option" for the answer; real problems of the
    same row are still all reported."""
    long = "y" * 2100
    rows = [row(1, "Câu một?", ("Đúng", long, "Sai 2"), answer="B"),             # only the length
            row(2, "Câu hai?", (long, "Sai 1"), answer="A"),                      # A over the limit, key on it
            row(3, "Câu ba?", (long, None, "Sai 2"), answer="G"),                 # + a real gap + a bad key
            row(4, "Câu bốn?", ("Đúng", "Sai"), answer=long)]                     # the key cell itself
    problems = [(p.row, p.column, p.message) for p in parse_bank_file(xlsx(rows), "x.xlsx").problems]
    assert [(r, c) for r, c, _ in problems] == [
        (2, "Phương án B"), (3, "Phương án A"), (4, "Phương án A"), (4, "Phương án B"), (4, "Đáp án"),
        (5, "Đáp án")], problems
    by_place = {(r, c): m for r, c, m in problems}
    assert all("vượt giới hạn 2.000 ký tự" in by_place[k] for k in [(2, "Phương án B"), (3, "Phương án A"),
                                                                     (4, "Phương án A"), (5, "Đáp án")])
    assert "trống nhưng phương án C" in by_place[(4, "Phương án B")]
    assert "'G' không hợp lệ" in by_place[(4, "Đáp án")]


def test_zip_bomb_is_refused_on_the_declared_sizes_and_the_total_cap():
    bomb = zip_bomb()
    assert len(bomb) < 200_000  # tiny on the wire
    # Under the configured total cap a file that is merely large is refused too.
    big = xlsx(questions(300))
    result = parse_bank_file(big, "x.xlsx", ImportLimits(max_uncompressed_bytes=50_000))
    assert "phình to" in messages(result)


def test_more_rows_than_the_configured_limit():
    data = xlsx(questions(101))
    assert parse_bank_file(data, "x.xlsx", ImportLimits(max_rows=101)).ok
    result = parse_bank_file(data, "x.xlsx", ImportLimits(max_rows=100))
    assert result.questions == [] and "hơn 100 dòng" in messages(result)


def test_file_over_the_size_limit():
    data = xlsx(questions(50))
    result = parse_bank_file(data, "x.xlsx", ImportLimits(max_bytes=len(data) - 1))
    assert result.questions == [] and "quá lớn" in messages(result)


def test_formula_with_a_cached_value_uses_the_value_and_says_so():
    result = parse_bank_file(with_cached_formula("Đại hội XIII họp năm nào?"), "x.xlsx")
    assert result.problems == []
    assert [q.text for q in result.questions] == ["Đại hội XIII họp năm nào?"]
    assert any("công thức" in n.message and "giá trị Excel tính sẵn" in n.message for n in result.notes)


def test_hidden_first_sheet_is_ignored_and_said():
    result = parse_bank_file(hidden_first_sheet(), "x.xlsx")
    assert result.problems == []
    assert [q.text for q in result.questions] == ["Câu ở trang đang hiện?"]
    assert any("bị ẩn nên được bỏ qua" in n.message for n in result.notes)


def test_only_hidden_sheets_is_refused():
    # Excel refuses to save such a file, but other programs write them; openpyxl too, when told.
    data = rewrite_member(xlsx([row(1, "Câu?")]), "xl/workbook.xml",
                          lambda c: c.replace(b'state="visible"', b'state="hidden"'))
    result = parse_bank_file(data, "x.xlsx")
    assert result.questions == [] and "Bỏ ẩn" in messages(result)


async def test_nothing_is_written_for_any_refused_file_through_the_api(app, factory, db):
    contest = await factory.contest(questions=5)
    organizer = await make_staff(app, factory, contest.id)
    before = await count_questions(db, contest.id)
    for name, (data, filename, words) in REFUSED.items():
        # One good row first: a file with any bad part imports nothing at all.
        response = await organizer.call("POST", f"/api/v1/contests/{contest.id}/bank/imports",
                                        files={"file": (filename, data)})
        assert response.status_code == 422, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "bank_invalid"
        assert words in " ".join(p["message"] for p in error["details"]["problems"]), name
    mixed = xlsx([row(1, "Câu hợp lệ hoàn toàn?"), row(2, "Câu thiếu đáp án?", answer="")])
    response = await organizer.call("POST", f"/api/v1/contests/{contest.id}/bank/imports",
                                    files={"file": ("x.xlsx", mixed)})
    assert response.status_code == 422
    assert await count_questions(db, contest.id) == before
