"""Issue 14, items 5 and 7: the optional "Nguồn" column travels from every spreadsheet format to
the bank, its pages, the export and the API, never to a participant during a round; and the
quality report (key spread, longest option, "all of the above", near-duplicates, sources) that
`make banks-check` enforces on the sample banks and organizers get with every import."""
from __future__ import annotations

import csv
import io
import random

from app.cli import main as cli_main
from app.questions.importing import parse_bank_file
from app.questions.quality import BankItem, check_bank, is_all_of_the_above
from tests.questions.helpers import HEADERS, make_staff, ods, row, xlsx
from tests.questions.test_bank_api import bank_url, upload
from tests.questions.test_bank_pages import browser, csrf_of, log_in  # noqa: F401 (browser is a fixture)

SOURCE = "Nghị quyết Đại hội XIV, mục II.1 (https://example.vn/nghi-quyet-xiv)"


def _csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows([["" if v is None else v for v in r] for r in rows])
    return buffer.getvalue().encode("utf-8")


def test_the_source_column_is_read_from_xlsx_ods_and_csv_and_is_optional():
    rows = [row(1, "Câu có nguồn?", source=f"  {SOURCE}  "), row(2, "Câu chưa có nguồn?")]
    for name, data in (("a.xlsx", xlsx(rows)), ("a.ods", ods(rows)), ("a.csv", _csv(rows))):
        result = parse_bank_file(data, name)
        assert result.ok, (name, result.problems)
        assert [q.source for q in result.questions] == [SOURCE, None], name  # trimmed; empty is fine
    # A file without the column at all (the old template) still imports, and a row holding only
    # a source is not a question.
    old = xlsx([r[:-1] for r in rows] + [[None] * 12], headers=HEADERS[:-1])
    assert parse_bank_file(old, "cu.xlsx").ok
    only_source = parse_bank_file(xlsx(rows + [[None] * 12 + [SOURCE]]), "b.xlsx")
    assert only_source.ok and len(only_source.questions) == 2
    # "Nguồn tài liệu" and an unaccented "Nguon" name the same column.
    renamed = [*HEADERS[:-1], "nguon tai lieu"]
    assert parse_bank_file(xlsx(rows, headers=renamed), "c.xlsx").questions[0].source == SOURCE


async def test_staff_see_edit_and_export_the_source_participants_never_get_it(app, factory, browser):
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    rows = [row(i, f"Câu hỏi số {i} về Đại hội XIV?", (f"Đúng {i}", f"Sai {i}a", f"Sai {i}b", f"Sai {i}c"),
                source=f"{SOURCE} #{i}") for i in range(1, 26)]
    assert (await upload(organizer, contest.id, xlsx(rows))).json()["added"] == 25

    listing = (await organizer.call("GET", bank_url(contest.id, "/questions"), params={"per_page": 100})).json()
    assert {q["source"] for q in listing["items"]} == {f"{SOURCE} #{i}" for i in range(1, 26)}
    first = listing["items"][0]
    edited = await organizer.call("PUT", bank_url(contest.id, f"/questions/{first['id']}"), json={
        "text": first["text"], "options": [o["text"] for o in first["options"]], "answer": first["answer"],
        "source": "Báo cáo chính trị, phần III"})
    assert edited.status_code == 200 and edited.json()["source"] == "Báo cáo chính trị, phần III"

    exported = await organizer.call("GET", bank_url(contest.id, "/export.xlsx"))
    back = parse_bank_file(exported.content, "export.xlsx")
    assert "Báo cáo chính trị, phần III" in {q.source for q in back.questions}
    assert len({q.source for q in back.questions}) == 25

    await log_in(browser, factory, app, contest.id)
    page = await browser.get(f"/admin/contests/{contest.id}/bank")
    assert f"Nguồn: {SOURCE} #2" in page.text
    shown = await browser.get(f"/admin/contests/{contest.id}/bank/questions/{edited.json()['id']}")
    assert "Báo cáo chính trị, phần III</textarea>" in shown.text

    round_ = await factory.round(contest, questions_per_attempt=20)
    participant = await factory.participant()
    attempt = await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert attempt.status_code == 201, attempt.text
    assert len(attempt.json()["questions"]) == 20
    assert "Nghị quyết Đại hội XIV, mục" not in attempt.text and "Báo cáo chính trị" not in attempt.text


WORDS = ("đảng nhân dân kinh tế văn hóa quốc phòng an ninh đối ngoại thể chế hạ tầng nhân lực khoa học công nghệ "
         "đổi mới sáng tạo chuyển đổi số môi trường giáo dục y tế doanh nghiệp tư nhân nông thôn đô thị biển đảo "
         "cán bộ kiểm tra giám sát tham nhũng lãng phí tiêu cực mặt trận đoàn kết dân tộc tôn giáo").split()


def _words(seed: int, count: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.sample(WORDS, count))


def _item(number: int, answer: int, options=None, source: str | None = "Văn kiện") -> BankItem:
    """A question unlike every other one (random words), four options of about equal length."""
    options = options or [_words(number * 10 + i, 3) for i in range(4)]
    return BankItem(f"Câu hỏi về {_words(number, 8)}?", options, answer, source)


def test_a_balanced_sourced_bank_passes():
    report = check_bank(_item(n, n % 4) for n in range(80))
    assert report.ok, report.warnings
    assert report.key_counts == {"A": 20, "B": 20, "C": 20, "D": 20}
    assert report.with_source == 80 and report.near_duplicates == []


def test_each_cue_is_reported_with_its_figures():
    items = [_item(n, 0 if n < 50 else n % 4) for n in range(80)]                 # A: 55 of 80
    items += [_item(100 + n, 1, ["Ngắn", "Phương án đúng rất dài, dài hơn hẳn", "Vừa", "Cũng ngắn"])
              for n in range(40)]                                                 # the longest is the key
    items += [_item(200 + n, 3, ["Một", "Hai", "Ba", "Tất cả các phương án trên"]) for n in range(3)]
    items += [BankItem("Đại hội XIV của Đảng họp ở đâu?", ["Hà Nội", "Huế", "Đà Nẵng", "Cần Thơ"], 0, None),
              BankItem("Đại hội XIV của Đảng họp ở đâu ?", ["Huế", "Hà Nội", "Đà Nẵng", "Cần Thơ"], 1, "")]
    report = check_bank(items)
    text = "\n".join(report.warnings)
    assert len(report.warnings) == 5, text
    assert "Đáp án dồn vào" in text and "A: " in text
    assert f"Phương án dài nhất là đáp án ở {report.longest_is_key}/{len(items)}" in text
    assert report.all_of_the_above == report.all_of_the_above_key == 3
    assert [(a, b) for a, b, _ in report.near_duplicates] == [(f"câu {len(items) - 1}", f"câu {len(items)}")]
    assert "2/125 câu chưa ghi nguồn" in text


def test_small_uploads_are_not_judged_on_shares():
    report = check_bank(_item(n, 0) for n in range(10))   # every key is A, but 10 questions say little
    assert report.ok, report.warnings


def test_all_of_the_above_wordings():
    for option in ("Tất cả các phương án trên", "Cả A, B và C đều đúng", "Tất cả đều đúng", "cả ba phương án trên",
                   "Cả A, B, C", "Tất cả các đáp án trên."):
        assert is_all_of_the_above(option), option
    for option in ("Tất cả đảng viên", "Cả nước", "Cả hệ thống chính trị"):
        assert not is_all_of_the_above(option), option


async def test_the_import_report_carries_the_quality_report_on_the_page_and_in_the_api(app, factory, browser):
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    rows = [row(i, f"Câu hỏi về {_words(i, 8)}?", ("Đúng", f"Sai {i}a", f"Sai {i}b", f"Sai {i}c"))
            for i in range(1, 46)]   # every key is A
    api = (await upload(organizer, contest.id, xlsx(rows), dry_run="true")).json()
    assert api["ok"] and api["added"] == 45          # a warning never refuses a file
    quality = api["quality"]
    assert quality["key_counts"] == {"A": 45, "B": 0, "C": 0, "D": 0} and quality["with_source"] == 0
    assert any(w.startswith("Đáp án dồn vào") for w in quality["warnings"])
    assert any("45/45 câu chưa ghi nguồn" in w for w in quality["warnings"])

    await log_in(browser, factory, app, contest.id)
    page = await browser.get(f"/admin/contests/{contest.id}/bank")
    report = await browser.post(f"/admin/contests/{contest.id}/bank/import", data={"csrf_token": csrf_of(page.text)},
                                files={"file": ("ngan-hang.xlsx", xlsx(rows))})
    assert report.status_code == 200
    assert "Báo cáo chất lượng" in report.text and "Đáp án dồn vào" in report.text


def test_banks_check_command_prints_figures_and_fails_on_a_warning(tmp_path, capsys):
    import json
    good = {"title": "t", "questions": [
        {"text": f"Câu hỏi về {_words(n, 8)}?",
         "options": [f"Một {n}", f"Hai {n}", f"Ba {n}", f"Bốn {n}"], "answer": "ABCD"[n % 4], "source": "Văn kiện"}
        for n in range(40)]}
    bad = {"title": "t", "questions": [dict(q, source=None) for q in good["questions"]]}
    (tmp_path / "good.json").write_text(json.dumps(good), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    assert cli_main(["banks-check", str(tmp_path / "good.json")]) == 0
    assert "ĐẠT good.json: 40 câu; đáp án A/B/C/D = 10/10/10/10" in capsys.readouterr().out
    assert cli_main(["banks-check", str(tmp_path / "good.json"), str(tmp_path / "bad.json")]) == 1
    assert "CHƯA ĐẠT bad.json" in capsys.readouterr().out
