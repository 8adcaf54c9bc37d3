"""CSV in the template's layout: same headers as the Excel template, separated by comma,
semicolon (Excel's choice where the decimal mark is a comma, as in Vietnam) or tab.

Row numbers are record numbers, header = 1, which is the row Excel shows when it opens the file
(a quoted cell with line breaks stays one row)."""

from __future__ import annotations

import csv
import io

from app.questions.importing.cells import CellValue, RawSheet
from app.questions.importing.guards import file_problem
from app.questions.importing.results import ImportLimits
from app.questions.importing.template import header_field

DELIMITERS = (",", ";", "\t")


def _first_record(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text[:100_000]), delimiter=delimiter), [])
    except csv.Error:
        return []


def sniff_delimiter(text: str) -> str:
    """The delimiter under which the first record names the most template headers (ties: the
    one that splits it into more cells)."""

    def score(delimiter: str) -> tuple[int, int]:
        cells = _first_record(text, delimiter)
        return sum(1 for c in cells if header_field(c)), len(cells)

    return max(DELIMITERS, key=score)


def read_csv(text: str, limits: ImportLimits) -> RawSheet:
    sheet = RawSheet()
    text = text.lstrip("\ufeff")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    data_rows = 0
    row_number = 0
    try:
        for record in reader:
            row_number += 1
            values: list[CellValue] = [cell if cell.strip() else None for cell in record]
            if not any(values):
                continue
            if row_number > 1:
                data_rows += 1
                if data_rows > limits.max_rows:
                    sheet.too_many_rows = True
                    return sheet
            sheet.rows.append((row_number, values))
    except csv.Error:
        sheet.problems.append(
            file_problem(
                f"Tệp CSV sai định dạng gần dòng {row_number + 1} (dấu ngoặc kép không đóng, hoặc một ô quá dài). "
                f"Hãy mở bằng Excel, kiểm tra dòng đó rồi lưu lại dạng CSV UTF-8."
            )
        )
    return sheet
