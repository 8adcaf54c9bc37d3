"""The suspicious-accounts report: clusters found in generated data, each signal on its own,
and the report as a console page and an .xlsx export."""
from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta, timezone

from openpyxl import load_workbook

from app.exports import jobs
from app.integrity.report import Member, build_report, cluster_members, find_signals
from tests.admin.helpers import make_staff
from tests.integrity.population import populate

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


def member(user_id: int, name: str = "Người Thứ", born: date = date(1990, 1, 1), phone: str | None = None,
           cccd: str | None = None, predictions=()) -> Member:
    return Member(user_id, f"{name} {user_id}" if name == "Người Thứ" else name, born, "male",
                  phone or f"09{user_id * 7919 % 10**8:08d}", cccd or f"079090{user_id * 104729 % 10**6:06d}", T0,
                  list(predictions))


def kinds(clusters) -> list[set[str]]:
    return [{s.kind for s in c.signals} for c in clusters]


async def test_a_ring_on_one_device_is_one_cluster_among_5000_people_and_few_others_are_flagged(factory, app, db):
    round_ = await factory.round(prediction_enabled=True)
    population = await populate(app, round_.id, normal=5000, ring=30)
    started = time.perf_counter()
    report = await build_report(db, round_.id)
    elapsed = time.perf_counter() - started
    print(f"report over {report.participants} participants and {report.events} events: {elapsed:.2f} s")
    assert report.participants == 5030
    ring = set(population.ring_ids)
    holding = [c for c in report.clusters if ring & {m.user_id for m in c.members}]
    assert len(holding) == 1, "the whole ring is one cluster"
    cluster = holding[0]
    assert {m.user_id for m in cluster.members} >= ring
    device = next(s for s in cluster.signals if s.kind == "device")
    assert set(device.user_ids) == ring and "30 tài khoản" in device.detail and device.why
    covering = next(s for s in cluster.signals if s.kind == "covering")
    assert cluster.covering.distinct == 30 and (cluster.covering.low, cluster.covering.high) == (1200, 1229)
    assert "30 dự đoán khác nhau, từ 1.200 đến 1.229" in covering.detail
    normal_flagged = {m.user_id for c in report.clusters for m in c.members} - ring
    print(f"{len(report.clusters)} clusters; ordinary participants flagged: {len(normal_flagged)} of 5000")
    assert len(normal_flagged) <= 5, f"{len(normal_flagged)} ordinary participants flagged"


def test_each_signal_links_accounts_and_says_why():
    people = [member(1), member(2), member(3), member(4), member(5), member(6), member(7), member(8), member(9)]
    # CCCDs in sequence (3: strong), phones in sequence (3: strong), same name + birth date.
    for i, m in zip(range(3), people[:3]):
        m.citizen_id = f"001090{123450 + i:06d}"
    for i, m in zip(range(3), people[3:6]):
        m.phone = f"0988{100200 + 2 * i:06d}"
    people[6].full_name = people[7].full_name = "Nguyễn Thị Hoa"
    people[7].full_name = "nguyễn  thị hoa"
    people[6].date_of_birth = people[7].date_of_birth = date(1985, 3, 8)
    clusters = cluster_members(people, find_signals(people, []), None)
    assert kinds(clusters) == [{"cccd_sequence"}, {"name_dob"}, {"phone_sequence"}] or \
        sorted(map(sorted, kinds(clusters))) == [["cccd_sequence"], ["name_dob"], ["phone_sequence"]]
    assert all(s.why and s.detail for c in clusters for s in c.signals)
    assert {m.user_id for c in clusters for m in c.members} == {1, 2, 3, 4, 5, 6, 7, 8}


def test_weak_coincidences_alone_are_not_listed_but_a_registration_burst_is():
    people = [member(i) for i in range(1, 12)]
    people[0].citizen_id, people[1].citizen_id = "001090500000", "001090500001"  # a pair: weak
    events = [(2, "login", "d2", "10.0.0.1", T0), (3, "login", "d3", "10.0.0.1", T0 + timedelta(minutes=4))]  # weak
    assert cluster_members(people, find_signals(people, events), None) == []
    burst = [(5 + k, "register", f"x{k}", "10.9.9.9", T0 + timedelta(minutes=6 * k)) for k in range(5)]
    clusters = cluster_members(people, find_signals(people, events + burst), None)
    assert len(clusters) == 1 and "burst" in kinds(clusters)[0]
    assert {m.user_id for m in clusters[0].members} == {6, 7, 8, 9, 10}
    # Five registrations spread over two hours are no burst.
    slow = [(5 + k, "register", f"x{k}", "10.9.9.9", T0 + timedelta(minutes=31 * k)) for k in range(5)]
    assert cluster_members(people, find_signals(people, slow), None) == []


def test_an_address_many_accounts_share_at_once_is_not_a_signal():
    people = [member(i) for i in range(1, 80)]
    crowd = [(i, "login", f"d{i}", "203.0.113.7", T0 + timedelta(seconds=20 * i)) for i in range(79)]
    assert not [s for s in find_signals(people, crowd) if s[2] == "ip_window"]


def test_covering_says_whether_the_range_holds_t():
    people = [member(i, predictions=[100 + i]) for i in range(1, 6)]
    events = [(i, "login", "same-device", "10.1.1.1", T0) for i in range(5)]
    (cluster,) = cluster_members(people, find_signals(people, events), 103)
    assert cluster.covering.covers_truth is True
    assert "T = 103 nằm trong dải này" in next(s.detail for s in cluster.signals if s.kind == "covering")


async def test_the_report_as_a_console_page_and_an_xlsx_export(factory, app, client):
    round_ = await factory.round(prediction_enabled=True)
    population = await populate(app, round_.id, normal=200, ring=8, seed=7)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    page = await judge.call("GET", f"/admin/rounds/{round_.id}/integrity")
    assert page.status_code == 200
    assert "Báo cáo tài khoản đáng ngờ" in page.text and "không phải kết luận" in page.text
    assert "Cùng trình duyệt/thiết bị" in page.text and "Dự đoán rải thành dải" in page.text
    assert all(f'data-user-id="{uid}"' in page.text for uid in population.ring_ids)
    # Organizers do not see it (nor does the API show it to them).
    assert (await organizer.call("GET", f"/admin/rounds/{round_.id}/integrity")).status_code == 403
    assert (await organizer.call("GET", f"/api/v1/admin/rounds/{round_.id}/suspicious-accounts")).status_code == 403
    data = (await judge.call("GET", f"/api/v1/admin/rounds/{round_.id}/suspicious-accounts")).json()
    assert data["participants"] == 208 and data["clusters"][0]["signals"][0]["why"]

    started = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/exports/integrity")
    assert started.status_code == 202, started.text
    job = await jobs.wait(app.state.runtime.redis, started.json()["job_id"])
    assert job.status == "done", job.error
    book = load_workbook(io.BytesIO((await judge.call("GET", f"/api/v1/admin/exports/{job.id}/file")).content))
    assert book.sheetnames == ["Nhóm tài khoản", "Dấu hiệu", "Tài khoản bị loại"]
    sheet = book["Nhóm tài khoản"]
    header = next(r for r in range(1, 15) if sheet.cell(row=r, column=1).value == "Nhóm")
    assert sheet.freeze_panes == f"A{header + 1}"
    ids = {sheet.cell(row=r, column=4).value for r in range(header + 1, sheet.max_row + 1)}
    assert set(population.ring_ids) <= ids
    text = "\n".join(str(c) for row in book["Dấu hiệu"].iter_rows(values_only=True) for c in row if c)
    assert "Cùng trình duyệt/thiết bị" in text and "Vì sao đáng chú ý" in text and "8 dự đoán khác nhau" in text
    assert (await organizer.call("POST", f"/api/v1/admin/rounds/{round_.id}/exports/integrity")).status_code == 403
