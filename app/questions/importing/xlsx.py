"""The .xlsx reader: the first visible worksheet, streamed once with openpyxl in read-only mode.

openpyxl's read-only mode does not expose three things the template rules need, so one extra
streaming pass over the worksheet XML collects them, and only when a quick byte scan shows the
sheet has any of them (most banks have none, and skip the pass):
- formulas: with data_only=True a formula cell reads as its cached value, or as empty when the
  file was never recalculated (files written by scripts) - which must be told apart from empty;
- merged ranges (<mergeCell> comes after the cell data);
- hidden rows."""

from __future__ import annotations

import io
import logging
import xml.etree.ElementTree as ET
import zipfile

from openpyxl.cell.read_only import EMPTY_CELL
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import FORMULA_TAG, INLINE_STRING, WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse as openpyxl_iterparse

from app.questions.importing.cells import (
    FORMULA_WITHOUT_VALUE,
    CellValue,
    RawSheet,
    error_value_issue,
    value_to_text,
)
from app.questions.importing.guards import file_problem, open_zip_safely
from app.questions.importing.results import ImportLimits, Problem

logger = logging.getLogger(__name__)

_SCAN_CHUNK = 1 << 20
_SCAN_OVERLAP = 64
# Literal markers (bytes.find is far faster than a regex over megabytes of XML): a formula
# element, with or without a namespace prefix, a merged range, a hidden row.
_WORTH_A_SECOND_PASS = (
    b"<f>",
    b"<f ",
    b"<f/",
    b":f>",
    b":f ",
    b":f/",
    b"<mergeCell",
    b":mergeCell",
    b'hidden="1"',
    b'hidden="true"',
)

_BROKEN = (
    "Tệp Excel bị hỏng hoặc không đúng định dạng .xlsx nên không đọc được. "
    "Hãy mở tệp bằng Excel, chọn Lưu thành (Save As) → Excel Workbook (.xlsx) rồi tải lên lại."
)


def read_xlsx(data: bytes, limits: ImportLimits) -> RawSheet:
    archive, problem = open_zip_safely(data, limits)
    if problem is not None:
        return RawSheet(problems=[problem])
    with archive:
        try:
            return _read(data, archive, limits)
        except Exception:  # noqa: BLE001 - hostile or broken input can break openpyxl in many ways;
            # any of them means "this file cannot be read", never a server error. Logged, so that
            # a bug of ours showing up this way does not go unseen.
            logger.warning("xlsx file could not be read", exc_info=True)
            return RawSheet(problems=[file_problem(_BROKEN)])


_SI = f"{{{SHEET_MAIN_NS}}}si"
_T = f"{{{SHEET_MAIN_NS}}}t"
_R = f"{{{SHEET_MAIN_NS}}}r"


def _text_of(node) -> str:
    """An <si> or <is> element's text as openpyxl's Text.content gives it: the plain <t> and the
    <t> of each rich-text run, phonetic runs left out."""
    parts = []
    plain = node.find(_T)
    if plain is not None and plain.text is not None:
        parts.append(plain.text)
    for run in node.findall(_R):
        run_text = run.find(_T)
        if run_text is not None and run_text.text is not None:
            parts.append(run_text.text)
    return "".join(parts)


def read_shared_strings(source) -> list[str]:
    """The same strings as openpyxl's read_string_table (plain text plus rich-text runs, phonetic
    runs left out, its 'x005F_' unescaping), without building a Text object per string, which
    is most of openpyxl's read time on a large bank."""
    strings = []
    for _, node in openpyxl_iterparse(source):
        if node.tag == _SI:
            strings.append(_text_of(node).replace("x005F_", ""))
            node.clear()
    return strings


class _FastInlineStringParser(WorkSheetParser):
    """openpyxl (and so our own export) writes every text as an inline string, <is><t>…</t></is>,
    and its reader builds a Text object for each to get the same characters back: most of the
    time of a 10,000-question import. Reads those cells directly; every other cell as openpyxl does."""

    def parse_cell(self, element):
        if (
            element.get("t") != "inlineStr"
            or self.rich_text
            or (not self.data_only and element.find(FORMULA_TAG) is not None)
        ):
            return super().parse_cell(element)
        coordinate = element.get("r")
        if coordinate:
            row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        style_id = int(element.get("s", 0) or 0)
        child = element.find(INLINE_STRING)
        if child is None:
            return {"row": row, "column": column, "value": None, "data_type": "inlineStr", "style_id": style_id}
        return {"row": row, "column": column, "value": _text_of(child), "data_type": "s", "style_id": style_id}


class _FastReadOnlyWorksheet(ReadOnlyWorksheet):
    """ReadOnlyWorksheet whose row iteration uses _FastInlineStringParser (same rows, same
    cells; the loop is openpyxl's own _cells_by_row)."""

    def _cells_by_row(self, min_col, min_row, max_col, max_row, values_only=False):
        filler = None if values_only else EMPTY_CELL
        max_col = max_col or self.max_column
        max_row = max_row or self.max_row
        empty_row = []
        if max_col is not None:
            empty_row = (filler,) * (max_col + 1 - min_col)
        counter = min_row
        idx = 1
        with self._get_source() as src:
            parser = _FastInlineStringParser(
                src,
                self._shared_strings,
                data_only=self.parent.data_only,
                epoch=self.parent.epoch,
                date_formats=self.parent._date_formats,
                timedelta_formats=self.parent._timedelta_formats,
            )
            for idx, row in parser.parse():
                if max_row is not None and idx > max_row:
                    break
                for _ in range(counter, idx):
                    counter += 1
                    yield empty_row
                if counter <= idx:
                    row = self._get_row(row, min_col, max_col, values_only)
                    counter += 1
                    yield row
        if max_row is not None and max_row < idx:
            for _ in range(counter, max_row + 1):
                yield empty_row


class _FastStringsExcelReader(ExcelReader):
    def read_strings(self):
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = read_shared_strings(source)


def load_read_only_workbook(data: bytes):
    reader = _FastStringsExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


def _read(data: bytes, archive: zipfile.ZipFile, limits: ImportLimits) -> RawSheet:
    workbook = load_read_only_workbook(data)
    try:
        sheet = RawSheet()
        worksheet = _first_visible_worksheet(workbook, sheet.notes)
        if worksheet is None:
            sheet.problems.append(
                file_problem(
                    "Tệp không có trang tính nào đang hiện. Hãy bỏ ẩn trang tính chứa câu hỏi (chuột phải vào tên trang → Bỏ ẩn / Unhide)."
                )
            )
            return sheet
        sheet.sheet_name = worksheet.title
        worksheet.__class__ = _FastReadOnlyWorksheet
        formulas = _scan_sheet_xml(archive, worksheet._worksheet_path, sheet)  # noqa: SLF001 - see _scan_sheet_xml
        _read_rows(worksheet, formulas, sheet, limits)
        return sheet
    finally:
        workbook.close()


def _first_visible_worksheet(workbook, notes: list[Problem]):
    worksheets = workbook.worksheets  # chartsheets are not in this list
    visible = [ws for ws in worksheets if ws.sheet_state == "visible"]
    if not visible:
        return None
    chosen = visible[0]
    hidden_before = [ws.title for ws in worksheets[: worksheets.index(chosen)]]
    if hidden_before:
        notes.append(
            file_problem(
                f"Trang tính đầu tiên ('{hidden_before[0]}') đang bị ẩn nên được bỏ qua; "
                f"đã đọc trang '{chosen.title}', trang đầu tiên đang hiện."
            )
        )
    others = [ws.title for ws in visible[1:]]
    if others:
        notes.append(
            file_problem(
                f"Chỉ đọc trang tính '{chosen.title}'; các trang khác bị bỏ qua: "
                + ", ".join(f"'{t}'" for t in others)
                + "."
            )
        )
    return chosen


def _has_anything_to_scan(stream) -> bool:
    tail = b""
    while True:
        chunk = stream.read(_SCAN_CHUNK)
        if not chunk:
            return False
        window = tail + chunk
        if any(marker in window for marker in _WORTH_A_SECOND_PASS):
            return True
        tail = chunk[-_SCAN_OVERLAP:]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scan_sheet_xml(archive: zipfile.ZipFile, path: str, sheet: RawSheet) -> dict[tuple[int, int], bool]:
    """(row, 1-based column) of every formula cell -> whether it has a cached value; fills in
    merged ranges and hidden rows. `path` is openpyxl's own member name for the worksheet
    (ReadOnlyWorksheet._worksheet_path), so this pass reads exactly the sheet openpyxl streams."""
    member = path.lstrip("/")
    with archive.open(member) as stream:
        if not _has_anything_to_scan(stream):
            return {}
    formulas: dict[tuple[int, int], bool] = {}
    row_number = 0
    column = 0
    with archive.open(member) as stream:
        for event, element in ET.iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "row":
                    row_number = int(element.get("r") or row_number + 1)
                    column = 0
                    if element.get("hidden") in ("1", "true"):
                        sheet.hidden_rows.append(row_number)
                continue
            if tag == "c":
                reference = element.get("r")
                if reference:
                    row_number, column = coordinate_to_tuple(reference)
                else:
                    column += 1
                children = {_local(child.tag): child for child in element}
                if "f" in children:
                    # Programs that never calculate write an empty <v/> (openpyxl does).
                    cached = children.get("v")
                    formulas[(row_number, column)] = bool(cached is not None and cached.text) or "is" in children
                element.clear()
            elif tag == "row":
                element.clear()
            elif tag == "mergeCell":
                reference = element.get("ref") or ""
                if ":" in reference:
                    min_col, min_row, max_col, max_row = range_boundaries(reference)
                    sheet.merged_ranges.append((min_row, min_col - 1, max_row, max_col - 1))
    return formulas


def _read_rows(worksheet, formulas: dict[tuple[int, int], bool], sheet: RawSheet, limits: ImportLimits) -> None:
    # The <dimension> element is often wrong in files written by other programs, and read-only
    # mode would silently cut the sheet to it.
    worksheet.reset_dimensions()
    data_rows = 0
    for row_number, cells in enumerate(worksheet.iter_rows(), start=1):
        if not cells:
            continue
        values: list[CellValue] = []
        filled = False
        for column, cell in enumerate(cells, start=1):
            value = cell.value
            if value is None:
                if formulas and formulas.get((row_number, column)) is False:
                    values.append(FORMULA_WITHOUT_VALUE)
                    filled = True
                else:
                    values.append(None)
                continue
            if cell.data_type == "e":
                values.append(error_value_issue(str(value)))
            elif isinstance(value, str):
                values.append(value)
            elif isinstance(value, float):
                values.append(value_to_text(value, cell.number_format))
            else:
                values.append(value_to_text(value))
            filled = True
            if formulas and (row_number, column) in formulas:
                sheet.formula_cells_with_value.append((row_number, column - 1))
        if not filled:
            continue
        if row_number > 1:
            data_rows += 1
            if data_rows > limits.max_rows:
                sheet.too_many_rows = True
                return
        sheet.rows.append((row_number, values))
