"""Item 7: `python -m app import-bank FILE --contest SLUG`, run as the organizer's shell runs it,
with a progress bar on stderr (redrawn on a terminal, plain lines otherwise) and the same
Vietnamese report as the page."""
from __future__ import annotations

import io
import subprocess

from app.questions.importing.legacy_fonts import encode_vni
from app.questions.progress import ProgressBar
from tests.live import run_app_command
from tests.questions.helpers import count_questions, questions, row, xlsx


async def run_cli(*args: str) -> subprocess.CompletedProcess:
    return await run_app_command(*args, env={"PYTHONIOENCODING": "utf-8"})


async def test_import_bank_command_reports_and_is_all_or_nothing(factory, db, tmp_path):
    contest = await factory.contest(questions=0)
    good = tmp_path / "ngan-hang.xlsx"
    good.write_bytes(xlsx(questions(40) + [row(41, encode_vni("Chủ tịch Hồ Chí Minh sinh năm nào?"), ("1890", "1900"))]))

    done = await run_cli("import-bank", str(good), "--contest", contest.slug)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Đã nhập 41 câu hỏi mới từ tệp ngan-hang.xlsx (Excel (.xlsx))."
    assert "VNI (VNI-Times): 1 dòng" in done.stdout and "các dòng: 42." in done.stdout
    # Not a terminal: one plain line per stage, no carriage returns.
    assert done.stderr.splitlines() == ["Đọc và kiểm tra tệp…", "Ghi vào ngân hàng…"]
    assert await count_questions(db, contest.id) == 41

    again = await run_cli("import-bank", str(good), "--contest", str(contest.id))
    assert again.returncode == 0 and "41 câu đã có trong ngân hàng nên bỏ qua" in again.stdout
    assert await count_questions(db, contest.id) == 41

    bad = tmp_path / "loi.xlsx"
    bad.write_bytes(xlsx([row(1, "Câu mới hoàn toàn?"), row(2, "Câu thiếu đáp án?", answer="")]))
    failed = await run_cli("import-bank", str(bad), "--contest", contest.slug)
    assert failed.returncode == 1
    assert "Không nhập được tệp loi.xlsx: có 1 lỗi cần sửa" in failed.stderr
    assert "Lỗi dòng 3, cột Đáp án: Thiếu đáp án" in failed.stderr
    assert await count_questions(db, contest.id) == 41

    missing = await run_cli("import-bank", str(tmp_path / "khong-co.xlsx"), "--contest", contest.slug)
    assert missing.returncode == 2 and "Không đọc được tệp" in missing.stderr
    unknown = await run_cli("import-bank", str(good), "--contest", "khong-co-cuoc-thi-nay")
    assert unknown.returncode != 0 and "Không tìm thấy cuộc thi" in unknown.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_redraws_in_place_on_a_terminal():
    screen = Terminal()
    bar = ProgressBar(screen, min_interval=0)
    bar("parse", 0, 1)
    bar("parse", 1, 1)
    for done in (500, 1000, 1500):
        bar("write", done, 1500)
    bar.close()
    text = screen.getvalue()
    assert text.count("\n") == 2  # one line per stage, redrawn with carriage returns
    assert "\rGhi vào ngân hàng" in text and "] 100% 1500/1500" in text and "33% 500/1500" in text
