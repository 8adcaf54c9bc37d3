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
    await jobs.wait(app.state.runtime.redis, started.json()["job_id"])
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


# --- printing: what LibreOffice (a real spreadsheet client) prints -----------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import unicodedata  # noqa: E402

import pytest  # noqa: E402

from app.exports.reports import EXPORTS  # noqa: E402

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).split())


def print_to_pdf(files: list, out_dir) -> dict:
    """Every file converted by one headless LibreOffice run; returns name -> list of page texts."""
    from pypdf import PdfReader

    profile = out_dir / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, files)],
                   check=True, capture_output=True, timeout=240)
    return {f.stem: [page.extract_text() or "" for page in PdfReader(out_dir / f"{f.stem}.pdf").pages] for f in files}


async def test_every_export_prints_on_a4_landscape_with_all_columns_on_page_one(app, factory, client, tmp_path):
    if SOFFICE is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            raise RuntimeError("REQUIRE_BROWSER=1 but LibreOffice is missing (apt-get install libreoffice-calc-nogui)")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    round_, judge = await closed_round(app, factory, client)
    files = []
    for kind in KINDS:
        response = await download(judge, app, round_.id, kind)
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(response.content)
        files.append(path)
    pages = print_to_pdf(files, tmp_path)
    for kind in KINDS:
        book = load_workbook(tmp_path / f"{kind}.xlsx")
        sheets = book.worksheets
        first = sheets[0]
        header_row = next(r for r in range(1, 20) if first.cell(row=r, column=1).value in ("Hạng", "Giải")
                          or (first.cell(row=r, column=2).value and first.cell(row=r + 1, column=1).value is not None
                              and r > 2 and first.cell(row=r - 1, column=1).value is None))
        headers = [c.value for c in first[header_row] if c.value]
        page_one = squash(pages[kind][0])
        missing = [h for h in headers if squash(h) not in page_one]
        assert not missing, (kind, missing)  # every column of the table is on the first page
        assert squash(first["A1"].value) in page_one  # the title block is on page 1
        # A small round: each sheet fits on one page (the first report: 2 pages, prize list: 6).
        assert len(pages[kind]) == len(sheets), (kind, len(pages[kind]), len(sheets))
        assert "Trang1/" in squash(pages[kind][0])  # page numbers in the footer
    # Every page listing prize winners ends with the jury's signature block (other sheets may follow).
    prize_pages = [squash(p) for p in pages["prizes"] if "GiảiNhất1" in squash(p) or "GiảiNhì2" in squash(p)]
    assert prize_pages and all("TM.BANGIÁMKHẢO" in p and "TM.BANTỔCHỨC" in p and "ngày……tháng" in p
                               for p in prize_pages)
