"""The canonical form of a frozen ranking: the exact bytes its SHA-256 digest covers.

Format 2 (every snapshot frozen since migration 0005) is built only from what the ranking export
(.xlsx, sheet "Xếp hạng") shows, so anyone holding the exported file can recompute the digest
without the database: `python -m app verify-export FILE` (app/judging/verify_export.py).

    header = "ttn-ranking/2|round:<round id>|version:<snapshot version>|truth:<T, or - when none>"
    row    = JSON array, compact (separators "," and ":"), UTF-8, non-ASCII kept as is:
             [position, attempt_id, full_name, unit, province, district, commune,
              correct, total, prediction, distance, time_ms, submitted_ms]
    digest = SHA-256 of header + "\n" + the rows in rank order joined by "\n"

- position, attempt_id, correct, total, prediction, distance, time_ms: integers (prediction and
  distance null when absent); in the export: "Hạng", "Mã lượt thi", "Số câu đúng", "Tổng số câu",
  "Dự đoán", "Chênh lệch dự đoán", and "Thời gian làm bài (giây)" × 1000 rounded to an integer.
- the five texts ("Họ và tên", "Đơn vị", "Tỉnh/Thành phố", "Quận/Huyện", "Xã/Phường") as the
  export writes them: characters a spreadsheet cannot hold removed, line breaks as "\n", an empty
  text is null.
- submitted_ms: the submit time in milliseconds since 1970-01-01 UTC; the export's "Nộp bài lúc"
  is the same instant in Vietnamese time (UTC+7), to the millisecond.
- round id, snapshot version and T are printed in the export's sheet "Kiểm tra" (and its title).

Format 1 (snapshots frozen before migration 0005) hashed the stored JSON objects, which include
the participant's internal user id: such a digest is verified from the database only
(app.judging.snapshots.verify), by the format recorded with the snapshot, and never recomputed
in another form.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from app.core.cells import clean

FORMAT = 2
TAG = "ttn-ranking/2"
TEXT_FIELDS = ("full_name", "unit", "province", "district", "commune")


def canonical_text(value) -> str | None:
    if value is None:
        return None
    text = clean(str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return text or None


def epoch_ms(value: datetime) -> int:
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def row_bytes(
    *,
    position: int,
    attempt_id: int,
    full_name,
    unit,
    province,
    district,
    commune,
    correct: int,
    total: int,
    prediction: int | None,
    distance: int | None,
    time_ms: int,
    submitted_ms: int,
) -> bytes:
    values = [
        int(position),
        int(attempt_id),
        *(canonical_text(v) for v in (full_name, unit, province, district, commune)),
        int(correct),
        int(total),
        None if prediction is None else int(prediction),
        None if distance is None else int(distance),
        int(time_ms),
        int(submitted_ms),
    ]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def row_of(entry) -> bytes:
    """`entry`: a RankedEntry (computed, or parsed from a snapshot)."""
    return row_bytes(
        position=entry.position,
        attempt_id=entry.attempt_id,
        full_name=entry.full_name,
        unit=entry.unit,
        province=entry.province,
        district=entry.district,
        commune=entry.commune,
        correct=entry.correct,
        total=entry.total,
        prediction=entry.prediction,
        distance=entry.distance,
        time_ms=entry.time_ms,
        submitted_ms=epoch_ms(entry.submitted_at),
    )


def digest(round_id: int, version: int, truth: int | None, rows: Iterable[bytes]) -> str:
    sha = hashlib.sha256(f"{TAG}|round:{round_id}|version:{version}|truth:{'-' if truth is None else truth}".encode())
    for row in rows:
        sha.update(b"\n")
        sha.update(row)
    return sha.hexdigest()
