"""The audit log as organizers read it: Vietnamese, local time, before → after, filters, .xlsx."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from app.admin.audit_view import changes_of
from app.core.clock import to_local, utcnow
from tests.admin.helpers import make_staff


def test_changes_read_as_before_and_after_in_vietnamese():
    rows = changes_of({"title": "Cũ", "published": True, "close_at": "2026-12-01T01:00:00+00:00"},
                      {"title": "Mới", "published": False, "close_at": "2026-12-02T01:00:00+00:00"})
    assert rows == [("Tên cuộc thi", "Cũ", "Mới"), ("Công bố", "Có", "Không"),
                    ("Đóng lúc", "08:00 01/12/2026", "08:00 02/12/2026")]  # Asia/Ho_Chi_Minh, UTC+7


async def test_audit_page_filters_by_action_and_person_and_exports_xlsx(factory, app, client):
    round_ = await factory.round()
    cid = round_.contest_id
    first = await make_staff(app, client, roles={cid: "organizer"}, name="Lê Văn Một")
    second = await make_staff(app, client, roles={cid: "organizer"}, name="Trần Thị Hai")
    await first.call("PUT", f"/api/v1/admin/contests/{cid}", json={"title": "Tìm hiểu Nghị quyết — sửa lần 1",
                                                                    "rules_text": "Thể lệ 1"})
    await second.call("PUT", f"/api/v1/admin/contests/{cid}", json={"title": "Tìm hiểu Nghị quyết — sửa lần 2",
                                                                     "rules_text": "Thể lệ 2"})
    page = await first.call("GET", f"/admin/contests/{cid}/audit")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert "Sửa cuộc thi" in text and "Lê Văn Một" in text and "Trần Thị Hai" in text
    assert "\\u" not in page.text and '{"' not in page.text  # no raw JSON
    assert to_local(utcnow()).strftime("%d/%m/%Y") in text  # local date
    assert "<del>Tìm hiểu Nghị quyết — sửa lần 1</del> → <ins>Tìm hiểu Nghị quyết — sửa lần 2</ins>" in page.text

    only_second = await first.call("GET", f"/admin/contests/{cid}/audit", params={"actor": "Trần Thị Hai",
                                                                                   "action": "contest.update"})
    entries = only_second.text.count('class="card audit-entry"')
    assert entries == 1 and "sửa lần 2" in only_second.text

    exported = await first.call("GET", f"/admin/contests/{cid}/audit.xlsx", params={"action": "contest.update"})
    assert exported.status_code == 200 and exported.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(exported.content)).active
    rows = [[c for c in row] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert ["Sửa cuộc thi", "Tên cuộc thi", "Tìm hiểu Nghị quyết — sửa lần 1", "Tìm hiểu Nghị quyết — sửa lần 2"] in \
        [[r[2], r[4], r[5], r[6]] for r in rows]
    assert {r[1] for r in rows} == {"Lê Văn Một", "Trần Thị Hai"}
