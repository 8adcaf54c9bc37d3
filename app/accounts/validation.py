"""Validation of the registration profile. Every error message is Vietnamese and says how to fix it."""

from __future__ import annotations

import re
from datetime import date

from app.accounts.localities import PROVINCES
from app.accounts.weak_passwords import message_for, weakness
from app.core.textnorm import clean_text

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


# The first three digits of a CCCD: the province where the birth was registered (Circular
# 07/2016/TT-BCA, Appendix 1, kept by Circular 59/2021/TT-BCA). These 63 codes of the provinces
# before the July 2025 merger are still the ones on every card: personal identification numbers
# never change, and the merger created no new codes. Numbers not in this table do not exist.
CCCD_PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}
# 4th digit: century of birth and gender (even: male, odd: female).
_CENTURY_OF_CODE = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200, 8: 1800, 9: 1800}


def normalize_citizen_id(raw: str) -> str:
    """The format only (12 digits): what a login by CCCD needs. Registration also checks the
    structure (`check_citizen_id_structure`, `check_citizen_id_matches`)."""
    value = re.sub(r"\s", "", raw or "")
    if not _CCCD.match(value):
        raise FieldError("citizen_id", "Số CCCD phải gồm đúng 12 chữ số.")
    return value


def check_citizen_id_structure(citizen_id: str) -> str:
    """A registration's CCCD: 12 digits whose first three are an issued province code."""
    citizen_id = normalize_citizen_id(citizen_id)
    if citizen_id[:3] not in CCCD_PROVINCE_CODES:
        raise FieldError(
            "citizen_id",
            f"Số CCCD không hợp lệ: 3 chữ số đầu ({citizen_id[:3]}) phải là mã tỉnh nơi "
            "đăng ký khai sinh (ví dụ 001 là Hà Nội, 079 là TP. Hồ Chí Minh). "
            "Kiểm tra lại số trên thẻ.",
        )
    return citizen_id


def check_citizen_id_matches(citizen_id: str, birth: date, gender: str) -> None:
    """The 4th digit of a CCCD encodes century and gender (0/1: 1900s male/female, 2/3: 2000s,
    8/9: 1800s, 4–7 the centuries after), the 5th-6th the last two digits of the birth year
    (Circular 07/2016/TT-BCA). A mismatch is almost always a typo, which would later block a
    prize winner's identity check. "Khác" (other) is accepted with either gender digit: the card
    records only male or female."""
    code = int(citizen_id[3])
    century = _CENTURY_OF_CODE[code]
    if not century <= birth.year < century + 100:
        raise FieldError(
            "citizen_id",
            f"Số CCCD không khớp với năm sinh: chữ số thứ 4 ({code}) là mã thế kỷ sinh "
            f"{century}–{century + 99}. Kiểm tra lại số CCCD hoặc ngày sinh.",
        )
    if century + int(citizen_id[4:6]) != birth.year:
        raise FieldError(
            "citizen_id",
            "Số CCCD không khớp với năm sinh (chữ số thứ 5–6 là hai số cuối của năm sinh): "
            "kiểm tra lại số CCCD hoặc ngày sinh.",
        )
    if gender in ("male", "female") and code % 2 != (0 if gender == "male" else 1):
        raise FieldError(
            "citizen_id",
            "Số CCCD không khớp với giới tính đã chọn (chữ số thứ 4: số chẵn là nam, số lẻ là nữ): kiểm tra lại.",
        )


def normalize_full_name(raw: str) -> str:
    value = clean_text(raw or "")
    if not (2 <= len(value) <= 120) or not _NAME.match(value):
        raise FieldError("full_name", "Họ và tên chỉ gồm chữ cái và khoảng trắng, từ 2 đến 120 ký tự.")
    # Kept as typed apart from spaces (clean_text): re-casing turned "Quản trị" into "Quản Trị";
    # prize lists print what the person wrote.
    return value


def check_birth_date(value: date | None, today: date) -> date:
    if value is None:  # not a date at all (the page's form): reported with the other fields, not alone
        raise FieldError("date_of_birth", "Ngày sinh không hợp lệ (ngày/tháng/năm).")
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
