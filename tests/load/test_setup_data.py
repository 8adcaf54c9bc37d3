"""The load test's data is made by script (load_tests/setup_data.py); it must give Locust a round
that people can really take, on whichever stack the suite runs."""
from __future__ import annotations

from load_tests.setup_data import account_phone, setup


async def test_setup_data_makes_a_round_that_participants_and_an_organizer_can_use(app, client):
    data = await setup(app.state.runtime.sessionmaker, app.state.runtime.redis, users=5, sessions=2, questions=30)

    login = await client.post("/api/v1/auth/login", json={"login": account_phone(data.first_account + 4),
                                                          "password": data.password})
    assert login.status_code == 200, login.text
    participant = {"Authorization": f"Bearer {login.json()['token']}"}
    attempt = await client.post(f"/api/v1/rounds/{data.round_id}/attempts", headers=participant)
    assert attempt.status_code == 201, attempt.text
    assert len(attempt.json()["questions"]) == 20
    assert attempt.json()["prediction_enabled"] is True

    assert len(data.session_tokens) == 2
    ready = {"Authorization": f"Bearer {data.session_tokens[1]}"}
    assert (await client.get("/api/v1/me", headers=ready)).status_code == 200

    # The organizer watcher's session holds the contest's organizer role (a staff-only endpoint).
    organizer = {"Authorization": f"Bearer {data.organizer_token}"}
    settings = await client.get(f"/api/v1/rounds/{data.round_id}/leaderboard/settings", headers=organizer)
    assert settings.status_code == 200, settings.text
    assert (await client.get(f"/api/v1/rounds/{data.round_id}/leaderboard/settings", headers=ready)).status_code == 403
