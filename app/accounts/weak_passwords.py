"""Refusing the passwords everybody guesses first: the most common ones worldwide and in Vietnam
("12345678", "matkhau", "anhyeuem"), and the citizen's own phone number, CCCD and birth date,
which are printed on the ranking's verification list and known to family and colleagues."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# Lower-case, without diacritics, spaces or punctuation (see _fold). Lists of leaked passwords put
# these at the top; the Vietnamese ones are the habits of "mật khẩu", "anh yêu em", lucky numbers.
COMMON = frozenset(
    """
12345678 123456789 1234567890 0123456789 01234567 87654321 987654321 9876543210 11111111 111111111
00000000 22222222 33333333 55555555 66666666 68686868 86868686 88888888 99999999 12341234 11223344
12121212 123123123 147258369 159753123 123456aa 123456ab 123456abc 123456789a 12345678a 123456qwe
abc12345 abcd1234 abcdefgh a1234567 aa123456 1q2w3e4r 1qaz2wsx qwertyui qwerty123 asdfghjk zxcvbnm123
password password1 password123 passw0rd iloveyou iloveyou1 letmein1 welcome1 admin123 administrator
matkhau matkhau1 matkhau123 matkhaucuatoi matkhaumoi matkhau2024 matkhau2025 matkhau2026 khongcomatkhau
anhyeuem emyeuanh yeuemnhieu anhyeuem123 emyeuanh123 iloveu123 vietnam vietnam1 vietnam123 vietnamvodich
hanoi123 hanoi1234 saigon123 hochiminh tphcm123 conganhandan doanthanhnien dangcongsan dangcongsanvietnam
thitracnghiem cuocthi123 tracnghiem 123456789vn khongbiet khongnho
""".split()
)

_SEPARATORS = re.compile(r"[\s.\-_/\\,]+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub("", text.lower())


def _date_forms(birth: date) -> set[str]:
    d, m, y = birth.day, birth.month, birth.year
    forms = set()
    for day in {f"{d:02d}", str(d)}:
        for month in {f"{m:02d}", str(m)}:
            for year in (str(y), f"{y % 100:02d}"):
                forms |= {day + month + year, year + month + day, month + day + year}
    return forms


def _is_trivial(folded: str) -> bool:
    if len(set(folded)) <= 2:  # "aaaaaaaa", "abababab", "12121212"
        return True
    steps = {ord(b) - ord(a) for a, b in zip(folded, folded[1:])}
    return steps in ({1}, {-1})  # "23456789", "hgfedcba"


def weakness(
    password: str,
    *,
    phone: str | None = None,
    citizen_id: str | None = None,
    birth: date | None = None,
    full_name: str | None = None,
) -> str | None:
    """Why this password is easy to guess (a Vietnamese phrase), or None when it is not."""
    folded = _fold(password or "")
    if folded in COMMON or _is_trivial(folded):
        return "thuộc nhóm mật khẩu phổ biến, ai cũng đoán được"
    personal = []
    if phone:
        digits = re.sub(r"\D", "", phone)
        personal += [("số điện thoại", digits), ("số điện thoại", "84" + digits.lstrip("0"))]
    if citizen_id:
        personal.append(("số CCCD", citizen_id))
    for label, value in personal:
        # The number itself, or the number with a few characters around it ("0912345678a").
        if len(value) >= 6 and value in folded and len(folded) - len(value) < 4:
            return f"chứa {label} của bạn"
    if birth and any(form in folded and len(folded) - len(form) < 4 for form in _date_forms(birth)):
        return "chứa ngày sinh của bạn"
    if full_name and _fold(full_name) and _fold(full_name) in folded and len(folded) - len(_fold(full_name)) < 4:
        return "chứa họ tên của bạn"
    return None


def message_for(reason: str) -> str:
    return (
        f"Mật khẩu này {reason}. Hãy chọn mật khẩu khác, ví dụ ghép vài từ dễ nhớ với nhau như \"hoa-sen-ven-ho-2026\"."
    )
