"""What the spreadsheet readers hand to the template rules: rows of cell texts, plus the facts
about the sheet that only a reader can see (merged ranges, formulas, hidden rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.questions.importing.results import Problem


@dataclass(frozen=True)
class CellIssue:
    """A cell whose content cannot be used, with the reason in Vietnamese. Stands in the row
    where the text would be, so the template rules report it once, under the right column."""

    message: str


CellValue = str | None | CellIssue

FORMULA_WITHOUT_VALUE = CellIssue(
    "Ô chứa công thức, hãy dán dạng giá trị: tệp không lưu sẵn kết quả của công thức này "
    "(sao chép ô rồi chọn Dán đặc biệt → Giá trị / Paste Special → Values)"
)


def error_value_issue(code: str) -> CellIssue:
    return CellIssue(f"Ô có giá trị lỗi {code} (thường do công thức hỏng): hãy gõ lại nội dung của ô")


@dataclass
class RawSheet:
    """One worksheet as read: `rows` are (row number as Excel shows it, cell values from column A),
    empty rows left out. Column indexes everywhere are 0-based."""

    sheet_name: str | None = None
    rows: list[tuple[int, list[CellValue]]] = field(default_factory=list)
    merged_ranges: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col
    formula_cells_with_value: list[tuple[int, int]] = field(
        default_factory=list
    )  # (row, col) whose cached value was used
    hidden_rows: list[int] = field(default_factory=list)
    too_many_rows: bool = False
    problems: list[Problem] = field(default_factory=list)  # file-level: nothing can be read
    notes: list[Problem] = field(default_factory=list)


def is_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def value_to_text(value: object, number_format: str | None = None) -> str | None:
    """A typed cell value as the organizer reads it in the sheet (numbers without a trailing
    ".0", dates day/month/year as written in Vietnam, percentages with %)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if number_format and "%" in number_format:
            return _plain_number(value * 100) + "%"
        return _plain_number(value)
    if isinstance(value, dt.datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


def _plain_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


def column_letter(index: int) -> str:
    """0 -> 'A', 26 -> 'AA'."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
