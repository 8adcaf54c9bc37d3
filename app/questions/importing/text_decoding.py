"""Bytes of a text file (CSV, GIFT, Aiken) to text.

UTF-8 (with or without BOM) and UTF-16 with BOM ("Unicode Text" from Excel) are read as they are.
Anything else is an old single-byte file, and on a Vietnamese office PC that is one of two things:
- Windows-1258, what Excel's plain "CSV (Comma delimited)" writes on Vietnamese Windows;
- bytes typed in a TCVN3 or VNI font, which read through Windows-1252 give the same mojibake the
  spreadsheet readers see, and which the legacy-font conversion then repairs.
The two are told apart by which reading looks more like Vietnamese words."""

from __future__ import annotations

import codecs
import unicodedata

from app.questions.importing.legacy_fonts import decode_tcvn3, decode_vni
from app.questions.importing.results import Problem
from app.questions.importing.syllables import plausibility

_SAMPLE_BYTES = 200_000
# cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; read those as Latin-1 instead of failing.
_LATIN1_TO_CP1252 = {b: bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(0x80, 0xA0)}


def _decode_cp1252(data: bytes) -> str:
    return data.decode("latin-1").translate(_LATIN1_TO_CP1252)


def _decode_cp1258(data: bytes) -> str:
    return unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))


def decode_text_file(data: bytes) -> tuple[str | None, Problem | None]:
    """(text, note) on success, the note saying how a non-UTF-8 file was read; (None, problem)
    when the file cannot be read as text."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, Problem(
                None, None, "Tệp văn bản bị hỏng (lỗi mã hóa UTF-16). Hãy lưu lại dạng CSV UTF-8 rồi tải lên lại."
            )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    sample = data[:_SAMPLE_BYTES]
    as_1258 = plausibility(_decode_cp1258(sample))
    western = _decode_cp1252(sample)
    as_legacy = max(plausibility(decode_tcvn3(western)), plausibility(decode_vni(western)))
    if as_1258 >= as_legacy and as_1258 > 0:
        return _decode_cp1258(data), Problem(
            None,
            None,
            (
                "Tệp không ở dạng UTF-8 nên đã được đọc theo bảng mã Windows-1258 (tiếng Việt). Nếu chữ hiển thị sai, "
                "hãy lưu lại trong Excel bằng Lưu thành → CSV UTF-8 (Comma delimited)."
            ),
        )
    return _decode_cp1252(data), Problem(
        None,
        None,
        (
            "Tệp không ở dạng UTF-8 nên đã được đọc như văn bản gõ bằng phông chữ cũ (TCVN3/VNI). Nếu chữ hiển thị sai, "
            "hãy lưu lại trong Excel bằng Lưu thành → CSV UTF-8 (Comma delimited)."
        ),
    )
