"""The contest's banner image: PNG or JPEG, checked by its bytes (not its name), size and
dimensions read from the header, kept in the database so every app host serves the same one."""

from __future__ import annotations

import hashlib
import struct

from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import ContestBanner
from app.core.clock import utcnow
from app.core.errors import Invalid
from app.staff import audit
from app.staff.roles import EDIT_CONTEST, StaffAccess

MAX_BYTES = 1_000_000
MAX_SIDE = 4000


def image_info(data: bytes) -> tuple[str, int, int]:
    """(content type, width, height), or Invalid with a message an office worker understands."""
    if len(data) > MAX_BYTES:
        raise Invalid("banner_too_large", f"Ảnh banner quá lớn ({len(data) // 1024} KB); tối đa 1.000 KB.")
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        kind = "image/png"
    elif data[:2] == b"\xff\xd8":
        kind, (width, height) = "image/jpeg", _jpeg_size(data)
    else:
        raise Invalid("banner_not_image", "Ảnh banner phải là tệp PNG hoặc JPEG.")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise Invalid("banner_size", f"Ảnh banner {width}×{height} điểm ảnh: mỗi chiều phải từ 1 đến {MAX_SIDE}.")
    return kind, width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise Invalid("banner_not_image", "Tệp JPEG bị hỏng hoặc không đọc được kích thước ảnh.")


async def set_banner(db: AsyncSession, actor: StaffAccess, contest_id: int, data: bytes) -> ContestBanner:
    actor.require(EDIT_CONTEST, contest_id)
    kind, width, height = image_info(data)
    banner = await db.get(ContestBanner, contest_id)
    before = {"sha256": banner.sha256, "width": banner.width, "height": banner.height} if banner else None
    if banner is None:
        banner = ContestBanner(contest_id=contest_id)
        db.add(banner)
    banner.content_type, banner.data, banner.width, banner.height = kind, data, width, height
    banner.sha256, banner.updated_at = hashlib.sha256(data).hexdigest(), utcnow()
    audit.record(
        db,
        actor,
        "contest.banner",
        contest_id=contest_id,
        target=f"contest:{contest_id}",
        before=before,
        after={"sha256": banner.sha256, "width": width, "height": height, "type": kind},
    )
    await db.commit()
    return banner
