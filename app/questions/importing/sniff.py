"""Which format a file really is, judged by its content; the file name is only a hint.

Organizers rename files ("cauhoi.pdf" -> "cauhoi.xlsx"), download "Excel" exports that are web
pages, or pick the Word file by mistake: each gets a message naming what the file really is."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

from app.questions.importing.guards import OLE2_SIGNATURE, file_problem, ole2_is_encrypted
from app.questions.importing.results import Problem

SPREADSHEET_FORMATS = ("xlsx", "xls", "ods")
TEXT_FORMATS = ("csv", "gift", "aiken")

_SAVE_AS_XLSX = "Hãy mở tệp bằng Excel rồi chọn Lưu thành (Save As) → Excel Workbook (.xlsx), sau đó tải lên lại."
_NOT_A_BANK = "Hãy tải lên tệp Excel (.xlsx) theo mẫu ngân hàng câu hỏi."

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "Đây là tệp PDF, không phải bảng tính. " + _NOT_A_BANK),
    (b"\x89PNG", "Đây là tệp ảnh, không phải bảng tính. " + _NOT_A_BANK),
    (b"\xff\xd8\xff", "Đây là tệp ảnh, không phải bảng tính. " + _NOT_A_BANK),
    (b"GIF8", "Đây là tệp ảnh, không phải bảng tính. " + _NOT_A_BANK),
    (b"Rar!", "Đây là tệp nén RAR. Hãy giải nén rồi tải lên tệp Excel (.xlsx) bên trong."),
    (b"7z\xbc\xaf", "Đây là tệp nén 7z. Hãy giải nén rồi tải lên tệp Excel (.xlsx) bên trong."),
    (b"\x1f\x8b", "Đây là tệp nén gzip. Hãy giải nén rồi tải lên tệp Excel (.xlsx) bên trong."),
    (b"{\\rtf", "Đây là tệp văn bản RTF (Word), không phải bảng tính. " + _NOT_A_BANK),
)

_AIKEN_ANSWER_LINE = re.compile(r"^\s*ANSWER\s*:\s*\S", re.IGNORECASE | re.MULTILINE)
_AIKEN_OPTION_LINE = re.compile(r"^\s*[A-Za-z]\s*[.)]\s+\S", re.MULTILINE)
_GIFT_MARKERS = re.compile(
    r"(^\s*::[^:]*::|^\s*\$CATEGORY\s*:|\{[^{}]*[~=][^{}]*\}|\{\s*\}|\{\s*#)", re.MULTILINE | re.IGNORECASE
)
_HTML = re.compile(rb"<\s*(html|table|!doctype\s+html|meta|body)\b", re.IGNORECASE)
_XML_SPREADSHEET_2003 = b"urn:schemas-microsoft-com:office:spreadsheet"


@dataclass(frozen=True)
class Sniffed:
    format: str | None  # one of SPREADSHEET_FORMATS + TEXT_FORMATS, or None
    problem: Problem | None = None


def extension_of(filename: str) -> str:
    name = (filename or "").strip().lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


def sniff_format(data: bytes, filename: str) -> Sniffed:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _sniff_zip(data)
    if data.startswith(OLE2_SIGNATURE):
        return _sniff_ole2(data)
    for magic, message in _MAGIC:
        if data.startswith(magic):
            return Sniffed(None, file_problem(message))
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if _XML_SPREADSHEET_2003 in data[:65536]:
        return Sniffed(None, file_problem("Đây là tệp \"XML Spreadsheet 2003\", chưa được hỗ trợ. " + _SAVE_AS_XLSX))
    if _HTML.search(head):
        return Sniffed(
            None, file_problem("Tệp này thực chất là một trang web (HTML) được đặt tên như tệp Excel. " + _SAVE_AS_XLSX)
        )
    if _looks_binary(data[:8192]):
        return Sniffed(None, file_problem("Không nhận ra định dạng tệp. " + _NOT_A_BANK))
    return Sniffed(_sniff_text_kind(data, extension_of(filename)))


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text ("Unicode Text" saved by Excel) is full of NUL bytes
    return b"\x00" in head


def _sniff_zip(data: bytes) -> Sniffed:
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                mimetype = archive.read("mimetype").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, RuntimeError, NotImplementedError):
        return Sniffed(None, file_problem("Tệp bị hỏng, không mở được. " + _SAVE_AS_XLSX))
    if "xl/workbook.xml" in names:
        return Sniffed("xlsx")
    if "xl/workbook.bin" in names:
        return Sniffed(None, file_problem("Tệp ở định dạng Excel nhị phân (.xlsb), chưa được hỗ trợ. " + _SAVE_AS_XLSX))
    if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
        return Sniffed("ods")
    if "word/document.xml" in names or mimetype == b"application/vnd.oasis.opendocument.text":
        return Sniffed(
            None,
            file_problem(
                "Đây là tệp Word (văn bản), không phải bảng tính. "
                "Hãy chép các câu hỏi vào tệp Excel theo mẫu rồi tải lên tệp Excel đó."
            ),
        )
    if any(n.startswith("ppt/") for n in names) or mimetype == b"application/vnd.oasis.opendocument.presentation":
        return Sniffed(None, file_problem("Đây là tệp trình chiếu (PowerPoint), không phải bảng tính. " + _NOT_A_BANK))
    return Sniffed(
        None,
        file_problem(
            "Đây là một tệp nén (zip), không phải bảng tính. Hãy giải nén rồi tải lên tệp Excel (.xlsx) bên trong."
        ),
    )


def _sniff_ole2(data: bytes) -> Sniffed:
    if ole2_is_encrypted(data):
        return Sniffed(None, file_problem("Tệp đang được đặt mật khẩu. Hãy gỡ mật khẩu trong Excel rồi tải lên lại."))
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return Sniffed("xls")
    if "WordDocument".encode("utf-16-le") in data:
        return Sniffed(
            None,
            file_problem(
                "Đây là tệp Word (.doc), không phải bảng tính. "
                "Hãy chép các câu hỏi vào tệp Excel theo mẫu rồi tải lên tệp Excel đó."
            ),
        )
    return Sniffed(None, file_problem("Không nhận ra định dạng tệp. " + _NOT_A_BANK))


def _sniff_text_kind(data: bytes, extension: str) -> str:
    """Text files: the extension decides when it names a text format; .txt (Moodle exports both
    GIFT and Aiken as .txt) and anything else are judged by their lines."""
    if extension == "csv":
        return "csv"
    if extension == "gift":
        return "gift"
    if extension == "aiken":
        return "aiken"
    sample = data[:200_000].decode("utf-8", errors="replace")
    if _AIKEN_ANSWER_LINE.search(sample) and _AIKEN_OPTION_LINE.search(sample):
        return "aiken"
    if _GIFT_MARKERS.search(sample):
        return "gift"
    return "csv"
