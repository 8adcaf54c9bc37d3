"""Writing the judges' spreadsheets: streamed (openpyxl write-only mode, rows go to disk as they
come, so 100,000 rows cost no more memory than 100), Vietnamese headers, a title block with the
frozen ranking's SHA-256 digest, frozen header row, autofilter, readable widths, local times.

Formula injection: a participant can type "=HYPERLINK(...)" as their name or unit. Every text
cell is written as a string cell (never a formula), and text that a spreadsheet would read as a
formula when re-typed or re-saved as CSV ("=", "+", "-", "@", tab, CR) also gets Excel's own
"quote prefix" flag, so the cell shows exactly what was typed and is never evaluated."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.views import Pane, Selection

from app.core.clock import to_local

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_STYLE, DATE_STYLE = "Ngày giờ", "Ngày"
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_TITLE_FONT = Font(bold=True, size=14)
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Column:
    header: str   # Vietnamese
    width: float  # characters
    kind: str = "text"  # text | int | float | percent | datetime | date


Progress = Callable[[int, int], None]  # (rows done, rows expected)


class XlsxExport:
    """One workbook, one or more sheets, written to `path` on close."""

    def __init__(self, path: Path, title: str, info_lines: list[str]):
        self.path = path
        self.title = title
        self.info_lines = info_lines
        self.book = Workbook(write_only=True)
        for name, fmt in ((DATETIME_STYLE, DATETIME_FORMAT), (DATE_STYLE, DATE_FORMAT)):
            self.book.add_named_style(NamedStyle(name=name, number_format=fmt))

    def sheet(self, name: str, columns: list[Column], rows: Iterable[Iterable]) -> int:
        sheet = self.open_sheet(name, columns)
        for row in rows:
            sheet.append(row)
        return sheet.finish()

    def open_sheet(self, name: str, columns: list[Column]) -> Sheet:
        ws = self.book.create_sheet(name[:31])
        for i, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        header_row = len(self.info_lines) + 3
        # Write-only sheets ignore `freeze_panes` and write the sheet view with the first row:
        # the pane goes on the view directly, before anything is appended.
        ws.sheet_view.pane = Pane(ySplit=header_row, topLeftCell=f"A{header_row + 1}", activePane="bottomLeft",
                                  state="frozen")
        ws.sheet_view.selection = [Selection(pane="bottomLeft", activeCell=f"A{header_row + 1}",
                                             sqref=f"A{header_row + 1}")]
        ws.append([self._cell(ws, self.title, font=_TITLE_FONT)])
        for line in self.info_lines:
            ws.append([self._cell(ws, line)])
        ws.append([])
        ws.append([self._cell(ws, c.header, font=_HEADER_FONT, fill=_HEADER_FILL, alignment=_WRAP) for c in columns])
        ws.print_title_rows = f"{header_row}:{header_row}"
        return Sheet(self, ws, columns, header_row)

    def _cell(self, ws, value, **style) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=None)
        self._set_text(cell, value)
        for name, item in style.items():
            setattr(cell, name, item)
        return cell

    @staticmethod
    def _set_text(cell: WriteOnlyCell, value) -> None:
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        cell.value = text
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if text.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True

    def _value(self, ws, value, column: Column):
        if value is None or value == "":
            return None
        if column.kind == "text":
            text = str(value)
            # Fast path (the bulk of 100,000-row files): a plain string that cannot be read as a
            # formula goes in as is; only risky or dirty text pays for a styled cell.
            if text.startswith(FORMULA_PREFIXES) or ILLEGAL_CHARACTERS_RE.search(text):
                return self._cell(ws, text)
            return text
        if column.kind in ("datetime", "date"):
            cell = WriteOnlyCell(ws, value=excel_time(value) if column.kind == "datetime" else value)
            cell.style = DATETIME_STYLE if column.kind == "datetime" else DATE_STYLE  # named: one lookup
            return cell
        if column.kind == "percent":
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = "0.0%"
            return cell
        if column.kind == "float":
            return round(value, 3)
        return value  # int: plain values are the fast path of write-only mode

    def close(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.book.save(self.path)
        return self.path


class Sheet:
    def __init__(self, export: XlsxExport, ws, columns: list[Column], header_row: int):
        self.export, self.ws, self.columns, self.header_row = export, ws, columns, header_row
        self.count = 0

    def append(self, row: Iterable) -> None:
        self.ws.append([self.export._value(self.ws, value, column) for value, column in zip(row, self.columns)])
        self.count += 1

    def finish(self) -> int:
        last = self.header_row + max(self.count, 1)
        self.ws.auto_filter.ref = f"A{self.header_row}:{get_column_letter(len(self.columns))}{last}"
        return self.count


def excel_time(value: datetime | date) -> datetime | date:
    """Excel has no time zones: write the Vietnamese wall-clock time, as the header says."""
    if isinstance(value, datetime):
        return to_local(value).replace(tzinfo=None, microsecond=value.microsecond // 1000 * 1000)
    return value
