"""Validation of the registration profile. Every error message is Vietnamese and says how to fix it."""
from __future__ import annotations

import re
from datetime import date

from app.accounts.localities import PROVINCES
from app.accounts.weak_passwords import message_for, weakness
from app.questions.textnorm import clean_text

GENDERS = {"male": "Nam", "female": "Nữ", "other": "Khác"}

# Mobile prefixes in use since the 2018 renumbering: 03x, 05x, 07x, 08x, 09x.
_MOBILE = re.compile(r"^0[35789]\d{8}$")
_CCCD = re.compile(r"^\d{12}$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")


class FieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_phone(raw: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _MOBILE.match(digits):
        raise FieldError("phone", "Số điện thoại không hợp lệ: nhập 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.")
    return digits


def normalize_citizen_id(raw: str) -> str:
    value = re.sub(r"\s", "", raw or "")
    if not _CCCD.match(value):
        raise FieldError("citizen_id", "Số CCCD phải gồm đúng 12 chữ số.")
    return value


def check_citizen_id_matches(citizen_id: str, birth: date, gender: str) -> None:
    """The 4th digit of a CCCD encodes century and gender (0/1: 1900s male/female, 2/3: 2000s),
    the 5th-6th the last two digits of the birth year (Circular 07/2016/TT-BCA). A mismatch is
    almost always a typo, which would later block a prize winner's identity check."""
    code = int(citizen_id[3])
    century = 1900 + (code // 2) * 100
    expected_year = century + int(citizen_id[4:6])
    if expected_year != birth.year:
        raise FieldError("citizen_id", "Số CCCD không khớp với năm sinh: kiểm tra lại số CCCD hoặc ngày sinh.")
    if gender in ("male", "female") and code % 2 != (0 if gender == "male" else 1):
        raise FieldError("citizen_id", "Số CCCD không khớp với giới tính đã chọn: kiểm tra lại.")


def normalize_full_name(raw: str) -> str:
    value = clean_text(raw or "")
    if not (2 <= len(value) <= 120) or not _NAME.match(value):
        raise FieldError("full_name", "Họ và tên chỉ gồm chữ cái và khoảng trắng, từ 2 đến 120 ký tự.")
    # "nguyễn văn an" -> "Nguyễn Văn An": ranking and prize lists print names as typed here.
    return " ".join(part[:1].upper() + part[1:] for part in value.split(" "))


def check_birth_date(value: date, today: date) -> date:
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if value > today:
        raise FieldError("date_of_birth", "Ngày sinh nằm trong tương lai: kiểm tra lại ngày/tháng/năm sinh.")
    if age > 120:
        raise FieldError("date_of_birth", "Ngày sinh không hợp lệ: quá 120 tuổi, kiểm tra lại năm sinh.")
    if age < 14:
        # A CCCD is issued from age 14; younger citizens cannot register with one.
        raise FieldError("date_of_birth", "Người dự thi phải từ đủ 14 tuổi (có CCCD).")
    return value


def normalize_gender(value: str) -> str:
    if value not in GENDERS:
        raise FieldError("gender", "Chọn giới tính: Nam, Nữ hoặc Khác.")
    return value


def normalize_province(value: str) -> str:
    value = clean_text(value or "")
    if value not in PROVINCES:
        raise FieldError("province", "Chọn tỉnh/thành phố trong danh sách.")
    return value


def normalize_place(field: str, value: str | None, *, required: bool, label: str) -> str | None:
    value = clean_text(value or "")
    if not value:
        if required:
            raise FieldError(field, f"Vui lòng nhập {label}.")
        return None
    if len(value) > 200:
        raise FieldError(field, f"{label.capitalize()} quá dài (tối đa 200 ký tự).")
    return value


def check_password(value: str, **personal) -> str:
    """Length, then guessability: `personal` (phone, citizen_id, birth, full_name) are the
    details of the account the password protects."""
    if not (8 <= len(value or "") <= 128):
        raise FieldError("password", "Mật khẩu phải có từ 8 đến 128 ký tự.")
    reason = weakness(value, **personal)
    if reason:
        raise FieldError("password", message_for(reason))
    return value
