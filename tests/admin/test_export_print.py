"""Exports as a judge receives them: named after the round, and printable (A4 landscape, fit to
width, repeated header rows, page numbers, title block, the prize list's signature block)."""
from __future__ import annotations

import io
from urllib.parse import unquote

from openpyxl import load_workbook

from app.exports import jobs
from tests.admin.helpers import end_round_now, make_staff, take_attempt

KINDS = ("ranking", "prizes", "units", "participation", "questions", "participants")


async def closed_round(app, factory, client, name: str = "Tuần 3 — Tháng 12/2026", people: int = 3):
    round_ = await factory.round(name=name, questions_per_attempt=3)
    for i in range(people):
        await take_attempt(await factory.participant(unit=f"Đơn vị {i % 2}"), round_.id, right=3 - i % 2)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    await end_round_now(app, round_.id)
    closed = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": None})
    assert closed.status_code == 201, closed.text
    return round_, judge


async def download(judge, app, round_id: int, kind: str):
    started = await judge.call("POST", f"/api/v1/admin/rounds/{round_id}/exports/{kind}")
    assert started.status_code == 202, started.text
    await jobs.wait(app.state.redis, started.json()["job_id"])
    status = (await judge.call("GET", started.json()["status_url"])).json()
    response = await judge.call("GET", status["download_url"])
    assert response.status_code == 200
    return response


async def test_export_file_names_use_the_rounds_name(app, factory, client):
    round_, judge = await closed_round(app, factory, client)
    response = await download(judge, app, round_.id, "ranking")
    disposition = response.headers["content-disposition"]
    ascii_name = disposition.split('filename="')[1].split('"')[0]
    assert ascii_name.startswith("bang-xep-hang-tuan-3-thang-12-2026-") and ascii_name.isascii()
    assert f"-dot-{round_.id}-" not in ascii_name
    utf8_name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert utf8_name.startswith("Bảng xếp hạng chung cuộc - Tuần 3 — Tháng 12-2026 - ") and utf8_name.endswith(".xlsx")
    load_workbook(io.BytesIO(response.content))
