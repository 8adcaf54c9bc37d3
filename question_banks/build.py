"""Builds the sample question banks (.xlsx, in the organizers' template) from sources/*.json.

The JSON files are the reviewable source of truth (diffs are readable); the .xlsx files beside
this script are what an organizer would upload and what `make run` imports.

    python question_banks/build.py          # rebuild every bank

Source format: {"title": str, "source": str, "prepared": "YYYY-MM-DD" (optional), "questions": [
    {"text": str, "options": [str, ...2-6], "answer": "A".."F", "topic": str,
     "difficulty": "Dễ" | "Trung bình" | "Khó", "explanation": str,
     "source": str (the document and section, or the article and its address)}, ...]}

`make banks-check` (python -m app banks-check) checks every bank here for the editorial rules
of issue 14: key spread, longest option, "all of the above", near-duplicates, sources.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
LETTERS = "ABCDEF"
HEADERS = ["STT", "Câu hỏi", *[f"Phương án {c}" for c in LETTERS], "Đáp án", "Chủ đề", "Mức độ", "Giải thích",
           "Nguồn"]
WIDTHS = [6, 60, 30, 30, 30, 30, 20, 20, 8, 30, 12, 50, 50]


def build(source: Path, target: Path) -> int:
    bank = json.loads(source.read_text(encoding="utf-8"))
    wb = Workbook()
    ws = wb.active
    ws.title = "Câu hỏi"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for number, q in enumerate(bank["questions"], start=1):
        options = list(q["options"]) + [None] * (6 - len(q["options"]))
        ws.append([number, q["text"], *options, q["answer"], q.get("topic"), q.get("difficulty", "Trung bình"),
                   q.get("explanation"), q.get("source")])
    for index, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.properties.title = bank["title"]
    wb.properties.description = bank.get("source")   # the title block: documents used, date of preparation
    if bank.get("prepared"):
        wb.properties.created = datetime.strptime(bank["prepared"], "%Y-%m-%d")
    wb.properties.creator = "Thi trắc nghiệm"
    wb.save(target)
    return len(bank["questions"])


def main() -> int:
    for source in sorted((HERE / "sources").glob("*.json")):
        target = HERE / f"{source.stem}.xlsx"
        count = build(source, target)
        print(f"{target.name}: {count} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
