"""Property tests (hypothesis) for every parser of outside input: JSON bodies, page forms, the
field normalizers behind them, and spreadsheet cells. Whatever arrives, the answer is a clear
4xx error (JSON or a Vietnamese page), never a 500 and never a crash."""
from __future__ import annotations

import datetime as dt
import math

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts import validation as v
from app.accounts.throttle import login_identity
from app.core.errors import AppError
from app.questions.importing.cells import column_letter, value_to_text
from app.accounts.login_pages import _DateError, _parse_date
from app.attempts.pages import _parse_prediction

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12)
# Bodies shaped like the real ones, with hostile values in the real field names.
field_values = st.none() | st.booleans() | st.integers() | st.text(max_size=300) | st.floats(allow_nan=False, allow_infinity=False) | st.lists(st.integers(), max_size=3)
register_like = st.fixed_dictionaries({}, optional={k: field_values for k in (
    "full_name", "date_of_birth", "gender", "phone", "citizen_id", "province", "district", "commune", "unit",
    "party_member", "password")})
login_like = st.fixed_dictionaries({}, optional={"login": field_values, "password": field_values})


def assert_clean_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers["content-type"].startswith("application/json"):
        error = response.json()["error"]
        assert error["code"] and error["message"]


@pytest.fixture
async def fuzz_target(factory):
    round_ = await factory.round(questions_per_attempt=3)
    participant = await factory.participant()
    attempt = (await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    return participant, attempt


@FAST
@given(body=json_values | register_like)
async def test_register_json_bodies(client, body):
    assert_clean_error(await client.post("/api/v1/auth/register", json=body))
    client.cookies.clear()


@FAST
@given(body=json_values | login_like)
async def test_login_json_bodies(client, body):
    assert_clean_error(await client.post("/api/v1/auth/login", json=body))


@FAST
@given(body=json_values | st.fixed_dictionaries({"option_id": field_values}), question=st.integers(-2**40, 2**40))
async def test_answer_json_bodies(fuzz_target, body, question):
    participant, attempt = fuzz_target
    qid = attempt["questions"][0]["id"] if question % 2 else question
    assert_clean_error(await participant.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{qid}",
                                              json=body))


@FAST
@given(body=json_values | st.fixed_dictionaries({"prediction": field_values}))
async def test_prediction_json_bodies(fuzz_target, body):
    participant, attempt = fuzz_target
    assert_clean_error(await participant.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/prediction", json=body))


@FAST
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(["application/json", "text/plain", "",
                                                                  "application/x-www-form-urlencoded"]))
async def test_raw_bytes_bodies(client, raw, content_type):
    headers = {"content-type": content_type} if content_type else {}
    assert_clean_error(await client.post("/api/v1/auth/login", content=raw, headers=headers))


form_text = st.text(max_size=120)


@FAST
@given(fields=st.dictionaries(st.sampled_from(["full_name", "date_of_birth", "gender", "phone", "citizen_id",
                                               "province", "district", "commune", "unit", "party_member",
                                               "password", "password2", "extra"]), form_text, max_size=13))
async def test_register_form(client, fields):
    await client.get("/register")
    response = await client.post("/register", data={**fields, "csrf_token": client.cookies["csrftoken"]})
    assert response.status_code in (303, 409, 422, 429), response.status_code
    if response.status_code != 303:
        assert "<html" in response.text and "Traceback" not in response.text
    client.cookies.clear()


@FAST
@given(login=form_text, password=form_text, next_=form_text)
async def test_login_form(client, login, password, next_):
    await client.get("/login")
    response = await client.post("/login", data={"login": login, "password": password, "next": next_,
                                                 "csrf_token": client.cookies["csrftoken"]})
    assert response.status_code in (303, 401, 429)
    if response.status_code == 303:  # never an open redirect
        assert response.headers["location"].startswith("/") and not response.headers["location"].startswith("//")


@FAST
@given(raw=st.text(max_size=40))
def test_date_parser_returns_a_date_or_a_date_error(raw):
    try:
        assert isinstance(_parse_date(raw), dt.date)
    except _DateError:
        pass


@FAST
@given(raw=st.one_of(st.none(), st.text(max_size=30), st.integers().map(str)))
def test_prediction_parser(raw):
    try:
        value = _parse_prediction(raw)
    except AppError as exc:
        assert exc.status == 422
        return
    assert value is None or (isinstance(value, int) and value >= 0)


@FAST
@given(raw=st.text(max_size=200))
def test_field_normalizers_return_clean_values_or_a_field_error(raw):
    for normalize in (v.normalize_phone, v.normalize_citizen_id, v.normalize_full_name):
        try:
            out = normalize(raw)
        except v.FieldError as exc:
            assert exc.message
            continue
        assert normalize(out) == out  # normalizing twice changes nothing
    assert len(login_identity(raw)) <= 60


cell_values = st.one_of(
    st.none(), st.text(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(), st.dates(), st.times(), st.decimals(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(value=cell_values, number_format=st.none() | st.sampled_from(["General", "0.00%", "0%", "@", "dd/mm/yyyy"]))
def test_spreadsheet_cells_become_text_as_the_organizer_sees_them(value, number_format):
    text = value_to_text(value, number_format)
    if value is None:
        assert text is None
        return
    assert isinstance(text, str)
    if isinstance(value, bool):
        assert text in ("TRUE", "FALSE")
    elif isinstance(value, int):
        assert text == str(value)
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15 \
            and not (number_format and "%" in number_format):
        assert text == str(int(value))  # 12.0 typed as 12 reads "12", not "12.0"
    elif isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) == (0, 0, 0):
        assert text == value.strftime("%d/%m/%Y")


@given(index=st.integers(0, 20000))
def test_column_letters_are_excel_names(index):
    letters = column_letter(index)
    assert letters.isalpha() and letters.isupper()
    back = 0
    for ch in letters:
        back = back * 26 + (ord(ch) - 64)
    assert back - 1 == index
