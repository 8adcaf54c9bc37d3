"""One writer rule for formula injection in every export (issue 13 item 12): any text cell that
a spreadsheet could read as a formula (starting with =, +, -, @, tab or CR) carries Excel's quote
prefix, in every judge's export (enumerated from the registry, so a new export is covered) and in
the organizer's question-bank export."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select, update

from app.accounts.models import User
from app.exports.reports import EXPORTS
from app.core.cells import FORMULA_PREFIXES
from app.questions.models import Option, Question
from tests.admin.helpers import end_round_now, make_staff, take_attempt
from tests.admin.test_closing_and_exports import export

HOSTILE_NAME = '=HYPERLINK("http://x","bấm")'


def formula_like_cells(book) -> list:
    return [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES)]


async def test_every_export_quotes_text_that_a_spreadsheet_would_read_as_a_formula(factory, app, client):
    contest = await factory.contest(questions=6)
    async with app.state.runtime.sessionmaker() as db:
        questions = (await db.scalars(select(Question).where(Question.contest_id == contest.id)
                                      .order_by(Question.id))).all()
        for i, question in enumerate(questions):
            await db.execute(update(Question).where(Question.id == question.id)
                             .values(text=f"=1+{i} bằng mấy?", topic="-Chủ đề âm", explanation="@giải thích"))
            await db.execute(update(Option).where(Option.question_id == question.id, Option.position == 1)
                             .values(text=f"+{i} phương án"))
        await db.commit()
    round_ = await factory.round(contest, questions_per_attempt=6, prediction_enabled=True)
    judge = await make_staff(app, client, roles={contest.id: "judge"})
    people = [await factory.participant(unit="+Sở Tư pháp", commune="-Phường Ba Đình") for _ in range(2)]
    async with app.state.runtime.sessionmaker() as db:
        await db.execute(update(User).where(User.id == people[0].user["id"]).values(full_name=HOSTILE_NAME))
        await db.commit()
    for i, person in enumerate(people):
        await take_attempt(person, round_.id, 6 - i, prediction=1)
    await end_round_now(app, round_.id)
    assert (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": 1})).status_code == 201

    books = {kind: await export(judge, round_.id, kind, app) for kind in EXPORTS}
    bank = await judge.call("GET", f"/api/v1/contests/{contest.id}/bank/export.xlsx")
    assert bank.status_code == 200, bank.text
    books["bank"] = load_workbook(io.BytesIO(bank.content))
    for kind, book in books.items():
        cells = formula_like_cells(book)
        # (The integrity report lists suspicious accounts only: none here.)
        assert cells or kind == "integrity", f"{kind}: the hostile texts should appear in this export"
        unquoted = [(c.parent.title, c.coordinate, c.value) for c in cells if not (c.data_type == "s" and c.quotePrefix)]
        assert unquoted == [], kind
    assert HOSTILE_NAME in [c.value for c in formula_like_cells(books["ranking"])]
    assert {"=1+0 bằng mấy?", "+0 phương án", "-Chủ đề âm", "@giải thích"} <= {c.value for c in formula_like_cells(books["bank"])}
