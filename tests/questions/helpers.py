"""Builders of bank files for the importer tests: real .xlsx written by openpyxl, .ods and
hostile zips written by hand, so every test reads bytes an organizer could upload."""
from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from openpyxl import Workbook
from sqlalchemy import func, select

from app.staff.models import StaffAssignment
from app.questions.importing import TEMPLATE_HEADERS
from app.questions.models import Question

HEADERS = TEMPLATE_HEADERS  # STT, Câu hỏi, Phương án A-F, Đáp án, Chủ đề, Mức độ, Giải thích, Nguồn


def row(n: int, text: str, options=("Đúng", "Sai 1", "Sai 2", "Sai 3"), answer="A", topic="Chủ đề 1",
        difficulty="Dễ", explanation=None, source=None) -> list:
    options = list(options) + [None] * (6 - len(options))
    return [n, text, *options, answer, topic, difficulty, explanation, source]


def questions(count: int, prefix: str = "Câu hỏi mẫu") -> list[list]:
    return [row(i, f"{prefix} số {i}: đâu là phương án đúng?", (f"Đúng {i}", f"Sai {i}a", f"Sai {i}b"))
            for i in range(1, count + 1)]


def xlsx(rows: list[list], headers: list | None = None, setup=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Câu hỏi"
    sheet.append(headers if headers is not None else HEADERS)
    for values in rows:
        sheet.append(values)
    if setup:
        setup(workbook, sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ods(rows: list[list], headers: list | None = None) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice's content.xml lays it out."""
    def cell(value) -> str:
        if value is None:
            return "<table:table-cell/>"
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'
    body = "".join("<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>"
                   for r in [headers or HEADERS, *rows])
    content = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="Câu hỏi">'
               f'{body}</table:table></office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def problems_of(result) -> list[tuple]:
    return [(p.row, p.column, p.message) for p in result.problems]


async def count_questions(db, contest_id: int, retired: bool | None = None) -> int:
    query = select(func.count()).select_from(Question).where(Question.contest_id == contest_id)
    if retired is not None:
        query = query.where(Question.retired.is_(retired))
    count = await db.scalar(query)
    await db.rollback()  # SQLite: end the read transaction before the app writes
    return count


async def make_staff(app, factory, contest_id: int, role: str = "organizer"):
    """A registered user holding `role` for the contest; returns the Participant (bearer token)."""
    person = await factory.participant()
    async with app.state.runtime.sessionmaker() as db:
        db.add(StaffAssignment(user_id=person.user["id"], contest_id=contest_id, role=role))
        await db.commit()
    return person
