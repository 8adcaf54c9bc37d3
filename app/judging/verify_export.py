"""`python -m app verify-export FILE`: recomputes a frozen ranking's SHA-256 from the exported
.xlsx alone (no database) and says whether it matches the digest the file carries.

The file's sheet "Kiểm tra" gives the canonical format, round id, snapshot version, T and the
digest; the sheet "Xếp hạng" gives the rows (app/judging/canonical.py says which columns and how).
Editing any shown value of any row, reordering, adding or removing a row makes it not match."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from app.core.clock import VN_TZ
from app.judging import canonical

_RANKING_SHEET = "Xếp hạng"
_CHECK_SHEET = "Kiểm tra"
_COLUMNS = {
    "position": "Hạng",
    "full_name": "Họ và tên",
    "unit": "Đơn vị",
    "province": "Tỉnh/Thành phố",
    "district": "Quận/Huyện",
    "commune": "Xã/Phường",
    "correct": "Số câu đúng",
    "total": "Tổng số câu",
    "prediction": "Dự đoán",
    "distance": "Chênh lệch dự đoán",
    "seconds": "Thời gian làm bài (giây)",
    "submitted": "Nộp bài lúc",
    "attempt_id": "Mã lượt thi",
}
_EXCEL_EPOCH = datetime(1899, 12, 30)


@dataclass(frozen=True)
class Verdict:
    matches: bool
    message: str  # Vietnamese, for the judge
    stated: str | None = None
    computed: str | None = None


class _Unreadable(Exception):
    pass


def _int(value, what: str, row: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise _Unreadable(f"dòng {row}: “{what}” không phải số nguyên ({value!r})")
    return int(value)


def _optional_int(value, what: str, row: int) -> int | None:
    return None if value is None else _int(value, what, row)


def _submitted_ms(value, row: int) -> int:
    """The shown Vietnamese wall-clock time back to milliseconds since the epoch (UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        local_ms = round(value * 86_400_000)
        local = _EXCEL_EPOCH + timedelta(milliseconds=local_ms)
    elif isinstance(value, datetime):
        local = _EXCEL_EPOCH + timedelta(milliseconds=round((value - _EXCEL_EPOCH).total_seconds() * 1000))
    else:
        raise _Unreadable(f"dòng {row}: “Nộp bài lúc” không phải ngày giờ ({value!r})")
    return canonical.epoch_ms(local.replace(tzinfo=VN_TZ))


def _check_values(book) -> dict[str, str]:
    if _CHECK_SHEET not in book.sheetnames:
        raise _Unreadable(
            f"tệp không có trang “{_CHECK_SHEET}” (không phải bảng xếp hạng xuất từ hệ thống, "
            "hoặc xuất trước khi có chức năng này)"
        )
    values = {}
    for row in book[_CHECK_SHEET].iter_rows(values_only=True):
        if len(row) >= 2 and isinstance(row[0], str) and row[1] is not None:
            values[row[0].strip()] = str(row[1]).strip()
    return values


def _ranking_rows(book):
    if _RANKING_SHEET not in book.sheetnames:
        raise _Unreadable(f"tệp không có trang “{_RANKING_SHEET}”")
    rows = book[_RANKING_SHEET].iter_rows(values_only=True)
    for row in rows:
        if row and row[0] == _COLUMNS["position"]:
            header = [str(c).strip() if c is not None else "" for c in row]
            break
    else:
        raise _Unreadable("không thấy dòng tiêu đề của bảng xếp hạng")
    missing = [h for h in _COLUMNS.values() if h not in header]
    if missing:
        raise _Unreadable("thiếu cột " + ", ".join(f"“{m}”" for m in missing))
    index = {name: header.index(h) for name, h in _COLUMNS.items()}
    for row in rows:
        if not row or all(c is None for c in row):
            continue
        yield {name: (row[i] if i < len(row) else None) for name, i in index.items()}


def _row_bytes(cells: dict, number: int) -> bytes:
    h = _COLUMNS
    seconds = cells["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise _Unreadable(f"dòng {number}: “{h['seconds']}” không phải số ({seconds!r})")
    return canonical.row_bytes(
        position=_int(cells["position"], h["position"], number),
        attempt_id=_int(cells["attempt_id"], h["attempt_id"], number),
        full_name=cells["full_name"],
        unit=cells["unit"],
        province=cells["province"],
        district=cells["district"],
        commune=cells["commune"],
        correct=_int(cells["correct"], h["correct"], number),
        total=_int(cells["total"], h["total"], number),
        prediction=_optional_int(cells["prediction"], h["prediction"], number),
        distance=_optional_int(cells["distance"], h["distance"], number),
        time_ms=round(seconds * 1000),
        submitted_ms=_submitted_ms(cells["submitted"], number),
    )


def verify_file(path: Path) -> Verdict:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same answer
        return Verdict(False, f"Không đọc được tệp {path}: không phải tệp Excel (.xlsx) hợp lệ ({type(exc).__name__}).")
    try:
        check = _check_values(book)
        stated = check.get("sha256")
        fmt = check.get("format")
        if fmt != str(canonical.FORMAT):
            return Verdict(
                False,
                f"Bảng kết quả này được chốt theo định dạng {fmt or '?'}: mã SHA-256 của nó không "
                "tính lại được từ tệp (gồm mã người dùng nội bộ). Hãy kiểm tra trong hệ thống: "
                "danh sách bảng đã chốt của đợt thi cho biết bảng còn nguyên vẹn hay không.",
                stated,
            )
        try:
            round_id, version, rows = int(check["round"]), int(check["version"]), int(check["rows"])
            truth = None if check["truth"] == "-" else int(check["truth"])
        except (KeyError, ValueError) as exc:
            raise _Unreadable(f"trang “{_CHECK_SHEET}” thiếu hoặc sai thông tin ({exc})") from exc
        encoded = [_row_bytes(cells, n) for n, cells in enumerate(_ranking_rows(book), start=1)]
    except _Unreadable as exc:
        return Verdict(False, f"Không kiểm tra được: {exc}.")
    finally:
        book.close()
    computed = canonical.digest(round_id, version, truth, encoded)
    if len(encoded) != rows:
        return Verdict(
            False, f"KHÔNG KHỚP: tệp có {len(encoded)} dòng xếp hạng, bảng đã chốt có {rows} dòng.", stated, computed
        )
    if computed != stated:
        return Verdict(
            False,
            f"KHÔNG KHỚP: mã SHA-256 tính từ tệp là {computed}, khác mã ghi trong tệp {stated}. "
            "Tệp đã bị sửa sau khi xuất (hoặc không phải bản xuất của bảng này).",
            stated,
            computed,
        )
    return Verdict(
        True,
        f"KHỚP: {rows} dòng xếp hạng của đợt thi #{round_id}, bảng chốt lần {version}, SHA-256 {computed}.",
        stated,
        computed,
    )
