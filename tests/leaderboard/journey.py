"""Taking a whole attempt through the JSON API, as a phone would (for leaderboard tests)."""
from __future__ import annotations

from tests.attempts.helpers import correct_option, wrong_option


async def take_attempt(call, round_id: int, right: int, prediction: int = 7) -> dict:
    """`call(method, url, **kw)` is an authenticated request; answers `right` questions correctly."""
    opened = await call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert opened.status_code in (200, 201), opened.text
    attempt = opened.json()
    for i, q in enumerate(attempt["questions"]):
        option = correct_option(q) if i < right else wrong_option(q)
        saved = await call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                           json={"option_id": option})
        assert saved.status_code == 200, saved.text
    done = await call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": prediction})
    assert done.status_code == 200, done.text
    return {"attempt_id": attempt["attempt_id"], **done.json()}
