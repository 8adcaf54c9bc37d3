"""Importing a contest's official lists from Excel: units (for the collective ranking) and
localities (so statistics also show the places nobody came from). All or nothing, like banks."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from openpyxl import load_workbook
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import ContestLocality, ContestUnit
from app.core.errors import Invalid
from app.core.textnorm import clean_text, header_key
from app.staff import audit
from app.staff.roles import EDIT_CONTEST, StaffAccess

MAX_ROWS = 20_000
UNIT_HEADERS = {
    "name": ("ten don vi", "don vi", "ten co quan, don vi", "co quan, don vi"),
    "province": ("tinh", "tinh/thanh pho", "tinh, thanh pho", "tinh/tp"),
}
LOCALITY_HEADERS = {
    "province": ("tinh", "tinh/thanh pho", "tinh, thanh pho", "tinh/tp"),
    "district": ("huyen", "quan/huyen", "huyen/quan", "quan, huyen"),
    "commune": ("xa", "xa/phuong", "phuong/xa", "xa, phuong, thi tran"),
}


class ListInvalid(Invalid):
    def __init__(self, problems: list[str]):
        super().__init__(
            "invalid_list",
            "Không nhập được danh sách (chưa ghi gì): " + " ".join(problems[:20]),
            details={"problems": problems},
        )
        self.problems = problems


def name_key(value: str) -> str:
    """Units match ignoring accents, case and spacing ('Sở GD&ĐT' typed twice is one unit)."""
    return header_key(value)[:200]


def _rows(data: bytes) -> list[tuple]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ListInvalid(["Tệp không phải bảng tính Excel (.xlsx) hợp lệ."]) from exc
    sheet = book.worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        rows.append(row)
        if len(rows) > MAX_ROWS + 1:
            raise ListInvalid([f"Danh sách có hơn {MAX_ROWS:,} dòng.".replace(",", ".")])
    book.close()
    if not rows:
        raise ListInvalid(["Tệp trống."])
    return rows


def _columns(header: tuple, wanted: Mapping[str, tuple[str, ...]], required: tuple[str, ...]) -> dict[str, int]:
    keys = [header_key(str(h)) if h is not None else "" for h in header]
    found = {}
    for name, accepted in wanted.items():
        for i, key in enumerate(keys):
            if key in accepted:
                found[name] = i
                break
    missing = [wanted[n][0] for n in required if n not in found]
    if missing:
        raise ListInvalid([f"Dòng 1 thiếu cột “{m}” (ví dụ tiêu đề: “Tên đơn vị”, “Tỉnh”)." for m in missing])
    return found


def _cell(row: tuple, index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    return clean_text(str(row[index]))


def parse_units(data: bytes) -> list[tuple[str, str | None]]:
    rows = _rows(data)
    cols = _columns(rows[0], UNIT_HEADERS, ("name",))
    units: list = []
    problems: list = []
    seen: dict = {}
    for number, row in enumerate(rows[1:], start=2):
        name, province = _cell(row, cols["name"]), _cell(row, cols.get("province"))
        if not name and not province:
            continue
        if not name:
            problems.append(f"Dòng {number}: thiếu tên đơn vị.")
        elif len(name) > 200:
            problems.append(f"Dòng {number}: tên đơn vị dài quá 200 ký tự.")
        elif name_key(name) in seen:
            problems.append(f"Dòng {number}: đơn vị “{name}” trùng với dòng {seen[name_key(name)]}.")
        else:
            seen[name_key(name)] = number
            units.append((name, province[:80] or None))
    if problems:
        raise ListInvalid(problems)
    if not units:
        raise ListInvalid(["Danh sách không có đơn vị nào."])
    return units


def parse_localities(data: bytes) -> list[tuple[str, str, str]]:
    rows = _rows(data)
    cols = _columns(rows[0], LOCALITY_HEADERS, ("province",))
    found: dict = {}
    problems: list = []
    for number, row in enumerate(rows[1:], start=2):
        item = tuple(_cell(row, cols.get(n))[:80] for n in ("province", "district", "commune"))
        if not any(item):
            continue
        if not item[0]:
            problems.append(f"Dòng {number}: thiếu tên tỉnh/thành phố.")
        else:
            found.setdefault(item, number)
    if problems:
        raise ListInvalid(problems)
    return list(found)


async def replace_units(db: AsyncSession, actor: StaffAccess, contest_id: int, data: bytes) -> int:
    """Replaces the contest's unit list with the file's (the file is the list)."""
    actor.require(EDIT_CONTEST, contest_id)
    units = parse_units(data)
    before = (await db.scalars(select(ContestUnit.name).where(ContestUnit.contest_id == contest_id))).all()
    await db.execute(delete(ContestUnit).where(ContestUnit.contest_id == contest_id))
    db.add_all(ContestUnit(contest_id=contest_id, name=n, name_key=name_key(n), province=p) for n, p in units)
    audit.record(
        db,
        actor,
        "contest.units",
        contest_id=contest_id,
        target=f"contest:{contest_id}",
        before={"count": len(before), "sample": list(before[:20])},
        after={"count": len(units), "sample": [n for n, _ in units[:20]]},
    )
    await db.commit()
    return len(units)


async def replace_localities(db: AsyncSession, actor: StaffAccess, contest_id: int, data: bytes) -> int:
    actor.require(EDIT_CONTEST, contest_id)
    items = parse_localities(data)
    before = await db.scalar(select(ContestLocality.id).where(ContestLocality.contest_id == contest_id).limit(1))
    await db.execute(delete(ContestLocality).where(ContestLocality.contest_id == contest_id))
    db.add_all(ContestLocality(contest_id=contest_id, province=p, district=d, commune=c) for p, d, c in items)
    audit.record(
        db,
        actor,
        "contest.localities",
        contest_id=contest_id,
        target=f"contest:{contest_id}",
        before={"had_list": before is not None},
        after={"count": len(items)},
    )
    await db.commit()
    return len(items)


async def contest_units(db: AsyncSession, contest_id: int) -> list[ContestUnit]:
    return list(
        (
            await db.scalars(select(ContestUnit).where(ContestUnit.contest_id == contest_id).order_by(ContestUnit.name))
        ).all()
    )
