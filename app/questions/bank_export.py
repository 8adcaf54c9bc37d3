"""A bank as an .xlsx in the organizers' template, which the importer reads back unchanged
(parse_bank_file(export_bank_xlsx(questions)) gives the same questions).

Accepts anything shaped like a question: ParsedQuestion, or a database Question whose `options`
are Option rows (`.text`, `.is_correct`) in bank order."""
from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from app.questions.importing.template import TEMPLATE_HEADERS

LETTERS = "ABCDEF"
DIFFICULTY_LABELS = {1: "Dễ", 2: "Trung bình", 3: "Khó"}
# Same order as TEMPLATE_HEADERS: STT, Câu hỏi, Phương án A-F, Đáp án, Chủ đề, Mức độ, Giải thích.
COLUMN_WIDTHS = [6, 60, 30, 30, 30, 30, 20, 20, 8, 30, 12, 50]
SHEET_TITLE = "Câu hỏi"


def _option_texts_and_answer(question) -> tuple[list[str], int]:
    options = list(question.options)
    texts = [o if isinstance(o, str) else o.text for o in options]
    answer = getattr(question, "answer_index", None)
    if answer is None:
        answer = next(i for i, o in enumerate(options) if getattr(o, "is_correct", False))
    return texts, answer


def _text_cell(sheet, value, bold: bool = False, wrap: bool = True) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # Assigning "=SUM(A1)" makes openpyxl store a formula; a bank's text is never one. Forcing
        # the string type keeps "=", "+", "-", "@" texts as text that no spreadsheet evaluates.
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def export_bank_xlsx(questions: Iterable, title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_text_cell(sheet, h, bold=True, wrap=False) for h in TEMPLATE_HEADERS])
    count = 0
    for count, question in enumerate(questions, start=1):
        texts, answer = _option_texts_and_answer(question)
        texts += [None] * (len(LETTERS) - len(texts))
        row = [count, question.text, *texts, LETTERS[answer], question.topic,
               DIFFICULTY_LABELS.get(question.difficulty, "Trung bình"), question.explanation]
        sheet.append([_text_cell(sheet, v) if v is not None else None for v in row])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(TEMPLATE_HEADERS))}{max(count + 1, 2)}"
    workbook.properties.title = title
    workbook.properties.creator = "Thi trắc nghiệm"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
