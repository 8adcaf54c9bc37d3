"""The other spreadsheet formats an office may still have: Excel 97-2003 (.xls, read with xlrd)
and OpenDocument (.ods, LibreOffice), read here with the standard library.

Why our own .ods reader: the maintained choices are heavy (pandas) or load the whole document
tree into memory (odfpy, last released 2020). A spreadsheet's content.xml is simple to stream:
rows of cells, each with its displayed text in <text:p>, so one iterparse pass is enough."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

from app.questions.importing.cells import (
    FORMULA_WITHOUT_VALUE,
    CellValue,
    RawSheet,
    error_value_issue,
    value_to_text,
)
from app.questions.importing.guards import file_problem, open_zip_safely
from app.questions.importing.results import ImportLimits, Problem

_NO_VISIBLE_SHEET = (
    "Tệp không có trang tính nào đang hiện. Hãy bỏ ẩn trang tính chứa câu hỏi "
    "(chuột phải vào tên trang → Bỏ ẩn / Unhide)."
)


def _hidden_first_sheet_note(hidden: str, chosen: str) -> Problem:
    return file_problem(
        f"Trang tính đầu tiên ('{hidden}') đang bị ẩn nên được bỏ qua; "
        f"đã đọc trang '{chosen}', trang đầu tiên đang hiện."
    )


def _append_row(
    sheet: RawSheet, row_number: int, values: list[CellValue], limits: ImportLimits, data_rows: list[int]
) -> bool:
    """Adds a non-empty row; False once the row limit is passed."""
    if row_number > 1:
        data_rows[0] += 1
        if data_rows[0] > limits.max_rows:
            sheet.too_many_rows = True
            return False
    sheet.rows.append((row_number, values))
    return True


# --- .xls -----------------------------------------------------------------------------------


def read_xls(data: bytes, limits: ImportLimits) -> RawSheet:
    """Formulas in .xls are read as their cached values: xlrd does not expose the formulas, and
    Excel always stores the value it last computed."""
    import xlrd  # imported here so the rest of the importer works without it

    try:
        book = xlrd.open_workbook(
            file_contents=data, formatting_info=True, on_demand=True, logfile=io.StringIO(), verbosity=0
        )
    except Exception as error:  # noqa: BLE001 - any failure of a hostile/broken file means "cannot read"
        if "encrypt" in str(error).lower():
            return RawSheet(
                problems=[file_problem("Tệp đang được đặt mật khẩu. Hãy gỡ mật khẩu trong Excel rồi tải lên lại.")]
            )
        return RawSheet(
            problems=[
                file_problem(
                    "Tệp Excel 97-2003 (.xls) bị hỏng hoặc không đọc được. Hãy mở tệp bằng Excel, chọn Lưu thành → "
                    "Excel Workbook (.xlsx) rồi tải lên lại."
                )
            ]
        )
    try:
        return _read_xls_book(book, limits)
    except Exception:  # noqa: BLE001
        return RawSheet(
            problems=[
                file_problem(
                    "Tệp Excel 97-2003 (.xls) bị hỏng hoặc không đọc được. Hãy mở tệp bằng Excel, chọn Lưu thành → "
                    "Excel Workbook (.xlsx) rồi tải lên lại."
                )
            ]
        )
    finally:
        book.release_resources()


def _read_xls_book(book, limits: ImportLimits) -> RawSheet:
    import xlrd

    sheet = RawSheet()
    names = book.sheet_names()
    worksheet = None
    for index, name in enumerate(names):
        candidate = book.sheet_by_index(index)
        if candidate.visibility == 0:
            worksheet = candidate
            if index > 0:
                sheet.notes.append(_hidden_first_sheet_note(names[0], name))
            break
    if worksheet is None:
        sheet.problems.append(file_problem(_NO_VISIBLE_SHEET))
        return sheet
    sheet.sheet_name = worksheet.name
    for rlo, rhi, clo, chi in worksheet.merged_cells:
        sheet.merged_ranges.append((rlo + 1, clo, rhi, chi - 1))
    sheet.hidden_rows = sorted(r + 1 for r, info in worksheet.rowinfo_map.items() if info.hidden)
    data_rows = [0]
    for r in range(worksheet.nrows):
        values: list[CellValue] = []
        for c, cell in enumerate(worksheet.row(r)):
            kind = cell.ctype
            if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                values.append(None)
            elif kind == xlrd.XL_CELL_TEXT:
                values.append(cell.value)
            elif kind == xlrd.XL_CELL_NUMBER:
                values.append(value_to_text(cell.value, _xls_number_format(book, worksheet, r, c)))
            elif kind == xlrd.XL_CELL_DATE:
                try:
                    values.append(value_to_text(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)))
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    values.append(value_to_text(cell.value))
            elif kind == xlrd.XL_CELL_BOOLEAN:
                values.append(value_to_text(bool(cell.value)))
            else:
                values.append(error_value_issue(xlrd.error_text_from_code.get(cell.value, "#ERR")))
        if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values):
            if not _append_row(sheet, r + 1, values, limits, data_rows):
                break
    return sheet


def _xls_number_format(book, worksheet, r: int, c: int) -> str | None:
    try:
        xf = book.xf_list[worksheet.cell_xf_index(r, c)]
        return book.format_map[xf.format_key].format_str
    except (IndexError, KeyError, AttributeError):
        return None


# --- .ods -----------------------------------------------------------------------------------

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_CELL_TAGS = (_TABLE + "table-cell", _TABLE + "covered-table-cell")
_MAX_COLUMNS = 256  # repeated cells past this are trailing formatting, never template columns
_ODS_ERROR = re.compile(r"^(#[A-Z/0!?]+[!?]?|#N/A|Err:\d+)$")
_BROKEN_ODS = (
    "Tệp OpenDocument (.ods) bị hỏng hoặc không đọc được. Hãy mở bằng LibreOffice/Excel, "
    "lưu lại dạng .xlsx rồi tải lên lại."
)


def read_ods(data: bytes, limits: ImportLimits) -> RawSheet:
    archive, problem = open_zip_safely(data, limits)
    if problem is not None:
        return RawSheet(problems=[problem])
    assert archive is not None  # no problem: an archive
    with archive:
        try:
            with archive.open("content.xml") as stream:
                return _OdsReader(limits).read(stream)
        except Exception:  # noqa: BLE001 - hostile or broken XML means "cannot read"
            return RawSheet(problems=[file_problem(_BROKEN_ODS)])


def _paragraph_text(element) -> str:
    """Text of a <text:p>, with <text:s text:c="3"/> spaces, tabs and line breaks."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == _TEXT + "s":
            parts.append(" " * int(child.get(_TEXT + "c", "1")))
        elif tag == _TEXT + "tab":
            parts.append("\t")
        elif tag == _TEXT + "line-break":
            parts.append("\n")
        else:
            parts.append(_paragraph_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


class _OdsReader:
    def __init__(self, limits: ImportLimits):
        self.limits = limits
        self.sheet = RawSheet()
        self.hidden_table_styles: set[str] = set()
        self.first_table_name: str | None = None
        self.data_rows = [0]

    def read(self, stream) -> RawSheet:
        sheet = self.sheet
        stack: list = []
        in_chosen = False
        skipping_table = False
        row_number = 0
        column = 0
        row_values: list[CellValue] = []
        for event, element in ET.iterparse(stream, events=("start", "end")):
            tag = element.tag
            if event == "start":
                stack.append(element)
                if tag == _TABLE + "table" and not in_chosen:
                    name = element.get(_TABLE + "name", "")
                    self.first_table_name = self.first_table_name or name
                    skipping_table = element.get(_TABLE + "style-name") in self.hidden_table_styles
                    if not skipping_table:
                        in_chosen = True
                        sheet.sheet_name = name
                        if name != self.first_table_name:
                            sheet.notes.append(_hidden_first_sheet_note(self.first_table_name, name))
                elif in_chosen and tag == _TABLE + "table-row":
                    column = 0
                    row_values = []
                continue
            stack.pop()
            if tag == _STYLE + "style" and element.get(_STYLE + "family") == "table":
                properties = element.find(_STYLE + "table-properties")
                if properties is not None and properties.get(_TABLE + "display") == "false":
                    self.hidden_table_styles.add(element.get(_STYLE + "name"))
            if not in_chosen:
                if tag == _TABLE + "table":
                    element.clear()
                continue
            if tag in _CELL_TAGS:
                column = self._cell(element, row_number + 1, column, row_values)
            elif tag == _TABLE + "table-row":
                repeat = int(element.get(_TABLE + "number-rows-repeated", "1"))
                hidden = element.get(_TABLE + "visibility") in ("collapse", "filter")
                has_content = any(v is not None for v in row_values)
                for _ in range(repeat if has_content else 0):
                    if hidden:
                        sheet.hidden_rows.append(row_number + 1)
                    if not _append_row(sheet, row_number + 1, list(row_values), self.limits, self.data_rows):
                        return sheet
                    row_number += 1
                if not has_content:
                    row_number += repeat
                if stack:
                    stack[-1].remove(element)
            elif tag == _TABLE + "table":
                break  # only the first visible sheet is read
        if sheet.sheet_name is None:
            sheet.problems.append(file_problem(_NO_VISIBLE_SHEET))
        return sheet

    def _cell(self, element, row: int, column: int, row_values: list[CellValue]) -> int:
        repeat = int(element.get(_TABLE + "number-columns-repeated", "1"))
        value = self._cell_value(element, row, column)
        if element.tag == _TABLE + "table-cell":
            cols = int(element.get(_TABLE + "number-columns-spanned", "1"))
            rows = int(element.get(_TABLE + "number-rows-spanned", "1"))
            if cols > 1 or rows > 1:
                self.sheet.merged_ranges.append((row, column, row + rows - 1, column + cols - 1))
        if value is None:
            return column + repeat
        for _ in range(min(repeat, max(_MAX_COLUMNS - column, 0))):
            while len(row_values) < column:
                row_values.append(None)
            row_values.append(value)
            column += 1
        return column

    def _cell_value(self, element, row: int, column: int) -> CellValue:
        paragraphs = element.findall(_TEXT + "p")
        text = "\n".join(_paragraph_text(p) for p in paragraphs) if paragraphs else None
        if text is None:
            for attribute in ("value", "date-value", "boolean-value", "string-value", "time-value"):
                raw = element.get(_OFFICE + attribute)
                if raw is not None:
                    text = raw
                    break
        if element.get(_TABLE + "formula") is not None:
            if text is None:
                return FORMULA_WITHOUT_VALUE
            if _ODS_ERROR.match(text.strip()):
                return error_value_issue(text.strip())
            self.sheet.formula_cells_with_value.append((row, column))
        return text if text and text.strip() else None
