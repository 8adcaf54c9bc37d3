"""CCCD checks at registration: as strict as the number's public structure allows (province code
among the 63 issued, century/gender digit and birth year consistent with the profile)."""
from __future__ import annotations

from datetime import date

import pytest

from app.accounts import validation as v
from tests.factories import profile


def test_the_63_province_codes_are_those_of_circular_07_2016():
    codes = v.CCCD_PROVINCE_CODES
    assert len(codes) == 63 and min(codes) == "001" and max(codes) == "096"
    assert codes["001"] == "Hà Nội" and codes["079"] == "Hồ Chí Minh" and codes["096"] == "Cà Mau"
    assert not {"003", "005", "007", "013", "097", "100"} & codes.keys()  # numbers never issued


@pytest.mark.parametrize("cccd, born, gender, problem", [
    ("003090123456", date(1990, 5, 1), "male", "mã tỉnh"),             # 003: no province has it
    ("100195123456", date(1995, 5, 1), "female", "mã tỉnh"),
    ("079890123456", date(1990, 5, 1), "male", "thế kỷ sinh 1800"),   # 8: born in the 1800s
    ("079290123456", date(1990, 5, 1), "male", "thế kỷ sinh 2000"),   # 2: born in the 2000s
    ("079091123456", date(1990, 5, 1), "male", "hai số cuối của năm sinh"),
    ("079190123456", date(1990, 5, 1), "male", "giới tính"),          # odd: female
    ("079205123456", date(2005, 5, 1), "female", "giới tính"),
])
def test_impossible_numbers_are_refused_with_the_reason(cccd, born, gender, problem):
    with pytest.raises(v.FieldError) as error:
        v.check_citizen_id_structure(cccd)
        v.check_citizen_id_matches(cccd, born, gender)
    assert problem in error.value.message


@pytest.mark.parametrize("cccd, born, gender", [
    ("001090123456", date(1990, 5, 1), "male"), ("079191000001", date(1991, 1, 1), "female"),
    ("096208999999", date(2008, 12, 31), "male"), ("048303000000", date(2003, 7, 7), "female"),
    ("048303000000", date(2003, 7, 7), "other"), ("048203000000", date(2003, 7, 7), "other"),
])
def test_well_formed_numbers_pass(cccd, born, gender):
    assert v.check_citizen_id_structure(cccd) == cccd
    v.check_citizen_id_matches(cccd, born, gender)


async def test_registration_refuses_an_unissued_province_code_in_vietnamese(client):
    response = await client.post("/api/v1/auth/register", json=profile(citizen_id="003090123456"))
    assert response.status_code == 422
    message = response.json()["error"]["details"]["fields"]["citizen_id"]
    assert "3 chữ số đầu (003)" in message and "mã tỉnh" in message
    # Logging in by CCCD still only needs 12 digits (accounts made before this check keep working).
    assert v.normalize_citizen_id("003090123456") == "003090123456"
