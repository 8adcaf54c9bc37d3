"""A bank as an .xlsx in the organizers' template, which the importer reads back unchanged
(parse_bank_file(export_bank_xlsx(questions)) gives the same questions).

Accepts anything shaped like a question: ParsedQuestion, or a database Question whose `options`
are Option rows (`.text`, `.is_correct`) in bank order."""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from app.core.cells import formula_like
from app.questions.importing.template import TEMPLATE_HEADERS

LETTERS = "ABCDEF"
DIFFICULTY_LABELS = {1: "Dễ", 2: "Trung bình", 3: "Khó"}
# Same order as TEMPLATE_HEADERS: STT, Câu hỏi, Phương án A-F, Đáp án, Chủ đề, Mức độ, Giải thích, Nguồn.
COLUMN_WIDTHS = [6, 60, 30, 30, 30, 30, 20, 20, 8, 30, 12, 50, 40]
SHEET_TITLE = "Câu hỏi"
_WRAP = Alignment(wrap_text=True, vertical="top")


def _option_texts_and_answer(question) -> tuple[list[str], int]:
    options = list(question.options)
    texts = [o if isinstance(o, str) else o.text for o in options]
    answer = getattr(question, "answer_index", None)
    if answer is None:
        answer = next(i for i, o in enumerate(options) if getattr(o, "is_correct", False))
    return texts, answer


def _put(sheet, row: int, column: int, value, bold: bool = False, wrap: bool = True) -> None:
    if value is None:
        return
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        # Assigning "=SUM(A1)" makes openpyxl store a formula; a bank's text is never one. Forcing
        # the string type keeps "=", "+", "-", "@" texts as text; the quote prefix (the rule of every
        # export) keeps them text when the organizer edits the cell or saves the sheet as CSV.
        cell.data_type = "s"
        if formula_like(value):
            cell.quotePrefix = True
    if bold:
        cell.font = Font(bold=True)
    if wrap:
        cell.alignment = _WRAP


def export_bank_xlsx(questions: Iterable, title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.freeze_panes = "A2"
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for column, header in enumerate(TEMPLATE_HEADERS, start=1):
        _put(sheet, 1, column, header, bold=True, wrap=False)
    count = 0
    for count, question in enumerate(questions, start=1):
        texts, answer = _option_texts_and_answer(question)
        texts += [None] * (len(LETTERS) - len(texts))  # type: ignore[list-item]
        row = [
            count,
            question.text,
            *texts,
            LETTERS[answer],
            question.topic,
            DIFFICULTY_LABELS.get(question.difficulty, "Trung bình"),
            question.explanation,
            getattr(question, "source", None),
        ]
        for column, value in enumerate(row, start=1):
            _put(sheet, count + 1, column, value)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(TEMPLATE_HEADERS))}{max(count + 1, 2)}"
    workbook.properties.title = title
    workbook.properties.creator = "Thi trắc nghiệm"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
