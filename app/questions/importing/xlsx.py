"""The .xlsx reader: the cell values of the first visible worksheet come from calamine (Rust,
python-calamine), six times faster than openpyxl's read-only mode on a 10,000-question bank
(README, "Question bank import"); dates come back as dates, numbers as numbers.

calamine does not expose five things the template rules need, so one extra streaming pass over
the worksheet XML collects them, and only when a quick byte scan shows the sheet has any of them
(most banks have none, and skip the pass):
- formulas: a formula cell reads as its cached value, or as empty when the file was never
  recalculated (files written by scripts) - which must be told apart from empty;
- error values (#DIV/0!, #N/A...), which calamine reads as empty;
- cells shown as percentages (calamine gives 0.5 for "50%"; the organizer typed "50%");
- merged ranges (<mergeCell> comes after the cell data);
- hidden rows."""

from __future__ import annotations

import io
import logging
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field

from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

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
# element, with or without a namespace prefix, a merged range, a hidden row, an error value.
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
    b't="e"',
)
_PERCENT_BUILTIN_FORMATS = {9, 10}  # "0%", "0.00%"

_BROKEN = (
    "Tệp Excel bị hỏng hoặc không đúng định dạng .xlsx nên không đọc được. "
    "Hãy mở tệp bằng Excel, chọn Lưu thành (Save As) → Excel Workbook (.xlsx) rồi tải lên lại."
)
_NO_VISIBLE_SHEET = (
    "Tệp không có trang tính nào đang hiện. Hãy bỏ ẩn trang tính chứa câu hỏi "
    "(chuột phải vào tên trang → Bỏ ẩn / Unhide)."
)
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def read_xlsx(data: bytes, limits: ImportLimits) -> RawSheet:
    archive, problem = open_zip_safely(data, limits)
    if archive is None:
        return RawSheet(problems=[problem] if problem else [])
    with archive:
        try:
            return _read(data, archive, limits)
        except Exception:  # noqa: BLE001 - hostile or broken input can break a reader in many ways;
            # any of them means "this file cannot be read", never a server error. Logged, so that
            # a bug of ours showing up this way does not go unseen.
            logger.warning("xlsx file could not be read", exc_info=True)
            return RawSheet(problems=[file_problem(_BROKEN)])
        except BaseException as exc:  # a panic inside calamine (Rust) is raised as pyo3's PanicException
            if type(exc).__name__ != "PanicException":
                raise
            logger.warning("xlsx file could not be read (calamine panicked)", exc_info=True)
            return RawSheet(problems=[file_problem(_BROKEN)])


@dataclass
class _Extras:
    """What the XML pass found: (row, 1-based column) of every formula cell -> whether it has a
    cached value, of every error cell -> its code, of every cell shown as a percentage."""

    formulas: dict[tuple[int, int], bool] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    percent: set[tuple[int, int]] = field(default_factory=set)


def _read(data: bytes, archive: zipfile.ZipFile, limits: ImportLimits) -> RawSheet:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        sheet = RawSheet()
        chosen = _first_visible_worksheet(workbook, sheet.notes)
        if chosen is None:
            sheet.problems.append(file_problem(_NO_VISIBLE_SHEET))
            return sheet
        sheet.sheet_name = chosen
        extras = _scan_sheet_xml(archive, _worksheet_paths(archive)[chosen], _percent_styles(archive), sheet)
        _read_rows(workbook.get_sheet_by_name(chosen), extras, sheet, limits)
        return sheet
    finally:
        workbook.close()


def _worksheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its worksheet part in the zip, from xl/workbook.xml and its relationships
    (the same parts calamine reads)."""
    workbook_path = "xl/workbook.xml"
    for rel in ET.fromstring(archive.read("_rels/.rels")):
        if rel.get("Type", "").endswith("/officeDocument"):
            workbook_path = rel.get("Target", workbook_path).lstrip("/")
    folder, name = posixpath.split(workbook_path)
    targets = {}
    for rel in ET.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels"))):
        target = rel.get("Target", "")
        targets[rel.get("Id")] = (
            target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        )
    paths = {}
    for element in ET.fromstring(archive.read(workbook_path)).iter():
        if _local(element.tag) == "sheet":
            paths[element.get("name") or ""] = targets.get(element.get(f"{{{_REL_NS}}}id"), "")
    return paths


def _percent_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes (the `s` attribute of a cell) of the cell formats that show a number as a percentage."""
    try:
        root = ET.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return set()
    custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in root.iter() if _local(f.tag) == "numFmt"}
    percent = set()
    for element in root:
        if _local(element.tag) == "cellXfs":
            for index, xf in enumerate(x for x in element if _local(x.tag) == "xf"):
                number_format = int(xf.get("numFmtId", 0) or 0)
                if number_format in _PERCENT_BUILTIN_FORMATS or "%" in custom.get(number_format, ""):
                    percent.add(index)
    return percent


def _first_visible_worksheet(workbook: CalamineWorkbook, notes: list[Problem]) -> str | None:
    worksheets = [m for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]  # no chartsheets
    visible = [m.name for m in worksheets if m.visible == SheetVisibleEnum.Visible]
    if not visible:
        return None
    chosen = visible[0]
    names = [m.name for m in worksheets]
    hidden_before = names[: names.index(chosen)]
    if hidden_before:
        notes.append(
            file_problem(
                f"Trang tính đầu tiên ('{hidden_before[0]}') đang bị ẩn nên được bỏ qua; "
                f"đã đọc trang '{chosen}', trang đầu tiên đang hiện."
            )
        )
    others = visible[1:]
    if others:
        notes.append(
            file_problem(
                f"Chỉ đọc trang tính '{chosen}'; các trang khác bị bỏ qua: " + ", ".join(f"'{t}'" for t in others) + "."
            )
        )
    return chosen


def _has_anything_to_scan(stream, markers: tuple[bytes, ...]) -> bool:
    tail = b""
    while True:
        chunk = stream.read(_SCAN_CHUNK)
        if not chunk:
            return False
        window = tail + chunk
        if any(marker in window for marker in markers):
            return True
        tail = chunk[-_SCAN_OVERLAP:]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scan_sheet_xml(archive: zipfile.ZipFile, member: str, percent_styles: set[int], sheet: RawSheet) -> _Extras:
    """Formula, error and percentage cells (see _Extras); fills in merged ranges and hidden rows."""
    extras = _Extras()
    markers = _WORTH_A_SECOND_PASS + tuple(f's="{index}"'.encode() for index in percent_styles)
    with archive.open(member) as stream:
        if not _has_anything_to_scan(stream, markers):
            return extras
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
                cached = children.get("v")
                if "f" in children:
                    # Programs that never calculate write an empty <v/> (openpyxl does).
                    extras.formulas[(row_number, column)] = bool(cached is not None and cached.text) or "is" in children
                if element.get("t") == "e" and cached is not None and cached.text:
                    extras.errors[(row_number, column)] = cached.text
                elif percent_styles and int(element.get("s") or 0) in percent_styles:
                    extras.percent.add((row_number, column))
                element.clear()
            elif tag == "row":
                element.clear()
            elif tag == "mergeCell":
                reference = element.get("ref") or ""
                if ":" in reference:
                    min_col, min_row, max_col, max_row = range_boundaries(reference)
                    sheet.merged_ranges.append((min_row, min_col - 1, max_row, max_col - 1))
    return extras


def _read_rows(worksheet, extras: _Extras, sheet: RawSheet, limits: ImportLimits) -> None:
    # From A1 whatever the first filled cell, so that row and column numbers are the ones Excel
    # shows (iter_rows() starts at the first filled column: misaligned), and every row calamine
    # finds, whatever the sheet's <dimension> says (often wrong in files other programs write).
    formulas, errors, percent = extras.formulas, extras.errors, extras.percent
    data_rows = 0
    for row_number, cells in enumerate(worksheet.to_python(skip_empty_area=False), start=1):
        values: list[CellValue] = []
        filled = False
        for column, value in enumerate(cells, start=1):
            if value == "" or value is None:
                code = errors.get((row_number, column)) if errors else None
                if code is not None:
                    values.append(error_value_issue(code))
                    filled = True
                elif formulas and formulas.get((row_number, column)) is False:
                    values.append(FORMULA_WITHOUT_VALUE)
                    filled = True
                else:
                    values.append(None)
                continue
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, float) and percent and (row_number, column) in percent:
                values.append(value_to_text(value, "0%"))
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
