"""Checks made before any reader touches the bytes: size, zip bombs, XML tricks, encryption.

Everything here looks at the container only (the zip central directory, the first bytes of each
XML part, the OLE2 directory), so a hostile file is refused before a parser spends memory on it.
Nothing is ever written to disk."""

from __future__ import annotations

import io
import zipfile

from app.questions.importing.results import ImportLimits, Problem

# Deflate cannot compress better than about 1032:1; real spreadsheet XML stays under about 100:1.
# A member far past that is a bomb built from repeated bytes.
MAX_COMPRESSION_RATIO = 250
RATIO_CHECK_FROM_BYTES = 1_000_000  # tiny members (a 2 KB style part) may have any ratio
MAX_ZIP_MEMBERS = 5_000
# An Office XML part starts with its declaration and root element; a DOCTYPE (the door to entity
# expansion and external entities) has no business there. We read the prolog up to the root.
XML_PROLOG_READ_BYTES = 65_536
XML_SUFFIXES = (".xml", ".rels", ".vml")

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def file_problem(message: str) -> Problem:
    return Problem(row=None, column=None, message=message)


def format_count(n: int) -> str:
    """20000 -> '20.000', the way Vietnamese writes thousands."""
    return f"{n:,}".replace(",", ".")


def check_size(data: bytes, limits: ImportLimits) -> Problem | None:
    if not data or not data.strip():
        return file_problem("Tệp rỗng: không có nội dung nào. Hãy chọn đúng tệp ngân hàng câu hỏi.")
    if len(data) > limits.max_bytes:
        return file_problem(
            f"Tệp quá lớn ({format_count(len(data) // 1_000_000)} MB), giới hạn là "
            f"{format_count(limits.max_bytes // 1_000_000)} MB. Hãy chia ngân hàng thành nhiều tệp nhỏ hơn."
        )
    return None


def open_zip_safely(data: bytes, limits: ImportLimits) -> tuple[zipfile.ZipFile | None, Problem | None]:
    """Opens a zip container after checking its central directory. Declared sizes can be trusted
    as upper bounds: Python's zipfile stops at the declared size and then fails the CRC check."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        return None, file_problem("Tệp bị hỏng, không mở được. Hãy mở tệp bằng Excel, lưu lại (.xlsx) rồi tải lên lại.")
    problem = _check_members(members, limits)
    if problem is None:
        problem = _check_xml_prologs(archive, members)
    if problem is not None:
        archive.close()
        return None, problem
    return archive, None


def _check_members(members: list[zipfile.ZipInfo], limits: ImportLimits) -> Problem | None:
    bomb = file_problem(
        "Tệp có dấu hiệu bất thường (dữ liệu nén phình to quá mức) nên không được mở. "
        "Hãy mở tệp bằng Excel, sao chép các câu hỏi sang một tệp mới rồi tải lên tệp đó."
    )
    if len(members) > MAX_ZIP_MEMBERS:
        return bomb
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            return file_problem("Tệp đang được đặt mật khẩu. Hãy gỡ mật khẩu trong Excel rồi tải lên lại.")
        total += member.file_size
        if total > limits.max_uncompressed_bytes:
            return bomb
        if member.file_size > RATIO_CHECK_FROM_BYTES and member.file_size > MAX_COMPRESSION_RATIO * max(
            member.compress_size, 1
        ):
            return bomb
    return None


def _check_xml_prologs(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> Problem | None:
    for member in members:
        if not member.filename.lower().endswith(XML_SUFFIXES) and member.filename != "[Content_Types].xml":
            continue
        try:
            with archive.open(member) as stream:
                head = stream.read(XML_PROLOG_READ_BYTES)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
            return file_problem("Tệp bị hỏng, không mở được. Hãy mở tệp bằng Excel, lưu lại rồi tải lên lại.")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            head = head.decode("utf-16", errors="replace").encode("utf-8")
        upper = head.upper()
        if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
            return file_problem(
                "Tệp chứa cấu trúc không được phép (khai báo DOCTYPE). "
                "Hãy mở tệp bằng Excel, lưu lại dạng .xlsx rồi tải lên lại."
            )
    return None


def ole2_is_encrypted(data: bytes) -> bool:
    """An Office file saved with a password is an OLE2 container holding an 'EncryptedPackage'
    stream (xlsx) or, for old .xls, is flagged inside the workbook stream, which xlrd reports."""
    return "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data
