"""Registration refuses the passwords everybody guesses, with a message that says why."""
from __future__ import annotations

from datetime import date

import pytest

from app.accounts.weak_passwords import weakness
from tests.factories import profile

PHONE, CCCD, BIRTH = "0912345678", "001090123456", date(1990, 5, 19)


@pytest.mark.parametrize("password", [
    "12345678", "matkhau", "Mật khẩu", "mat-khau-123", "anhyeuem", "Password1", "88888888", "abcdefgh",
    "98765432", "0912345678", "+84912345678", "0912345678a", "001090123456", "19051990", "19/05/1990",
    "1990-05-19", "19.5.1990", "190590", "nguyenvanan", "Nguyễn Văn An",
])
def test_guessable_passwords_are_refused(password):
    assert weakness(password, phone=PHONE, citizen_id=CCCD, birth=BIRTH, full_name="Nguyễn Văn An") is not None


@pytest.mark.parametrize("password", ["mat-khau-an-toan", "hoa-sen-ven-ho-2026", "Tr0ng-Dong!", "0912-ban-cu"])
def test_ordinary_good_passwords_pass(password):
    assert weakness(password, phone=PHONE, citizen_id=CCCD, birth=BIRTH, full_name="Nguyễn Văn An") is None


async def test_registration_says_why_a_password_is_refused(client):
    data = profile(password="19051990", date_of_birth="1990-05-19")
    response = await client.post("/api/v1/auth/register", json=data)
    assert response.status_code == 422
    assert "ngày sinh" in response.json()["error"]["details"]["fields"]["password"]
    response = await client.post("/api/v1/auth/register", json={**data, "password": data["phone"]})
    assert "số điện thoại" in response.json()["error"]["details"]["fields"]["password"]
    response = await client.post("/api/v1/auth/register", json={**data, "password": "12345678"})
    assert "phổ biến" in response.json()["error"]["details"]["fields"]["password"]


async def test_future_birth_date_is_explained(client):
    response = await client.post("/api/v1/auth/register", json=profile(date_of_birth="2099-01-01"))
    assert response.status_code == 422
    assert "tương lai" in response.json()["error"]["details"]["fields"]["date_of_birth"]
