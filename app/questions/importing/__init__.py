"""Reading question-bank files: the organizer's Excel template (.xlsx, also .xls, .ods and CSV)
and Moodle's GIFT and Aiken text formats. Pure functions of the bytes: nothing is written to disk
and nothing touches the database (duplicates against the existing bank are the caller's job,
by `app.core.textnorm.question_key`).

    result = parse_bank_file(data, "ngan-hang.xlsx")
    if result.ok: ...result.questions...      # all rows valid: import them
    else: ...result.problems...               # nothing may be imported; show every problem
"""

from __future__ import annotations

from app.questions.importing.aiken import parse_aiken
from app.questions.importing.csv_format import read_csv
from app.questions.importing.gift import parse_gift
from app.questions.importing.guards import check_size
from app.questions.importing.results import ImportLimits, ParsedQuestion, ParseResult, Problem
from app.questions.importing.sniff import extension_of, sniff_format
from app.questions.importing.spreadsheet_other import read_ods, read_xls
from app.questions.importing.template import TEMPLATE_HEADERS, parse_table
from app.questions.importing.text_decoding import decode_text_file
from app.questions.importing.xlsx import read_xlsx

__all__ = [
    "ImportLimits",
    "ParsedQuestion",
    "ParseResult",
    "Problem",
    "TEMPLATE_HEADERS",
    "parse_bank_file",
]

_SHEET_READERS = {"xlsx": read_xlsx, "xls": read_xls, "ods": read_ods}
_EXTENSION_NAMES = {
    "xlsx": "Excel (.xlsx)",
    "xlsm": "Excel (.xlsm)",
    "xls": "Excel 97-2003 (.xls)",
    "ods": "OpenDocument (.ods)",
    "csv": "CSV",
    "txt": "văn bản (.txt)",
    "gift": "GIFT",
    "aiken": "Aiken",
}


def parse_bank_file(data: bytes, filename: str, limits: ImportLimits = ImportLimits()) -> ParseResult:
    """Reads a question-bank file, all or nothing. The format is judged by the content, with the
    file name only as a hint."""
    problem = check_size(data, limits)
    if problem is not None:
        return ParseResult(format=_format_hint(filename), questions=[], problems=[problem])
    sniffed = sniff_format(data, filename)
    if sniffed.problem is not None:
        return ParseResult(format=_format_hint(filename), questions=[], problems=[sniffed.problem])
    kind = sniffed.format
    assert kind is not None  # sniffed without a problem: a format
    if kind in _SHEET_READERS:
        result = parse_table(kind, _SHEET_READERS[kind](data, limits), limits)
    else:
        text, decoding_note = decode_text_file(data)
        if text is None:
            assert decoding_note is not None  # undecodable text says why
            return ParseResult(format=kind, questions=[], problems=[decoding_note])
        if kind == "csv":
            result = parse_table("csv", read_csv(text, limits), limits)
        elif kind == "gift":
            result = parse_gift(text, limits)
        else:
            result = parse_aiken(text, limits)
        if decoding_note is not None:
            result.notes.insert(0, decoding_note)
    _note_misleading_extension(result, filename)
    return result


def _format_hint(filename: str) -> str:
    extension = extension_of(filename)
    return {"xlsm": "xlsx", "txt": "gift"}.get(extension, extension if extension in _EXTENSION_NAMES else "xlsx")


def _note_misleading_extension(result: ParseResult, filename: str) -> None:
    extension = extension_of(filename)
    expected = {
        "xlsx": ("xlsx", "xlsm"),
        "xls": ("xls",),
        "ods": ("ods",),
        "csv": ("csv", "txt"),
        "gift": ("gift", "txt"),
        "aiken": ("aiken", "txt"),
    }[result.format]
    if extension and extension not in expected and extension in _EXTENSION_NAMES:
        result.notes.insert(
            0,
            Problem(
                None,
                None,
                f"Tệp có đuôi .{extension} nhưng nội dung là {_EXTENSION_NAMES[result.format if result.format != 'xlsx' else 'xlsx']}; "
                f"đã đọc theo nội dung thật của tệp.",
            ),
        )
