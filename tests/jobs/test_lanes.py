"""The two lanes (app/core/lanes.py): people already answering are served by processes that
never see a newcomer's request.

- Every route of an attempt already open is routed to the inside lane, and opening one (the
  waiting room), login and the pages stay in the public lane: a route added later in the wrong
  place fails here, before it puts saves back behind the rush.
- Behind a real HAProxy with the configuration `python -m app balancer-config` prints: a
  participant's open and login are answered by the public process, their saves, resume and
  submit by the inside one; when the inside lane's process dies, the public lane takes its
  requests over and no acknowledged answer is lost.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile

import httpx
import pytest
from sqlalchemy import func, select

from app.attempts.models import Attempt, AttemptAnswer
from app.core.lanes import balancer_config, lane_of
from tests.attempts.helpers import correct_option
from tests.faults.processes import AppProcess
from tests.jobs.processes import HAProxy, haproxy_binary
from tests.routes import walk_routes


def _routes(app) -> list[tuple[str, set[str]]]:
    return [(path, set(getattr(route, "methods", None) or ())) for path, route in walk_routes(app.routes)]


def test_every_route_of_an_open_attempt_is_in_the_inside_lane_and_opening_one_is_not(app):
    routes = _routes(app)
    of_attempt = [path for path, _ in routes if "{attempt_id}" in path and not path.startswith(("/admin", "/api/v1/admin"))]
    assert len(of_attempt) >= 6  # resume, save, prediction, submit, the attempt and result pages
    assert {path: lane_of(path) for path in of_attempt} == {path: "inside" for path in of_attempt}
    opening = [path for path, methods in routes if path.startswith(("/api/v1/rounds/", "/rounds/")) and "POST" in methods]
    assert "/api/v1/rounds/{round_id}/attempts" in opening
    for path in opening + ["/api/v1/auth/login", "/", "/api/v1/ping", "/admin", "/readyz"]:
        assert lane_of(path) == "public", path
    # Staff screens that show an attempt are consoles, not the participant's hot path.
    assert all(lane_of(path) == "public" for path, _ in routes if path.startswith(("/admin", "/api/v1/admin")))


def test_the_printed_configuration_is_one_haproxy_accepts():
    printed = subprocess.run(
        [sys.executable, "-m", "app", "balancer-config", "--public", "10.0.0.11:8000", "10.0.0.12:8000",
         "--inside", "10.0.0.11:8001", "10.0.0.12:8001", "--bind", ":8080"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "use_backend inside if inside" in printed and printed.count(" backup\n") == 4
    if not haproxy_binary():
        pytest.skip("HAProxy is not installed (apt-get install haproxy; .ci/run does)")
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
        f.write(printed)
        f.flush()
        checked = subprocess.run([haproxy_binary(), "-c", "-f", f.name], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def lanes(settings, app, is_postgres):
    if not is_postgres:
        pytest.skip("two app processes share PostgreSQL and a networked Redis (the embedded ones belong to one)")
    if not haproxy_binary():
        if __import__("os").environ.get("REQUIRE_HAPROXY"):
            pytest.fail("REQUIRE_HAPROXY is set but haproxy is not installed")
        pytest.skip("HAProxy is not installed (apt-get install haproxy; .ci/run does)")
    env = {"JOBS_IN_PROCESS": "0", "SECRET_KEY": app.state.runtime.settings.effective_secret_key}
    public = AppProcess({**env, "VAR_DIR": tempfile.mkdtemp(prefix="ttn-public-")})
    inside = AppProcess({**env, "VAR_DIR": tempfile.mkdtemp(prefix="ttn-inside-")})
    balancer = None
    try:
        public.start(timeout=180)
        inside.start(timeout=180)
        balancer = HAProxy(config=lambda port: balancer_config(
            [f"127.0.0.1:{public.port}"], [f"127.0.0.1:{inside.port}"], bind=f"127.0.0.1:{port}", served_by=True))
        balancer.start()
        yield balancer, public, inside
    finally:
        if balancer:
            balancer.stop()
        inside.stop()
        public.stop()


async def _call(http: httpx.AsyncClient, method: str, url: str, token: str, **kwargs) -> httpx.Response:
    """As the pages do: a request refused while a process dies (502/503, reset) is sent again."""
    for _ in range(60):
        try:
            response = await http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.TransportError:
            await asyncio.sleep(0.25)
            continue
        if response.status_code not in (502, 503, 504):
            return response
        await asyncio.sleep(0.25)
    raise AssertionError(f"{method} {url}: nobody answered")


@pytest.mark.slow
async def test_saves_go_to_the_inside_lane_and_survive_losing_it(lanes, factory, app):
    balancer, public, inside = lanes
    live_round = await factory.round(questions_per_attempt=6)
    person = await factory.participant()
    async with httpx.AsyncClient(base_url=balancer.base, timeout=30) as http:
        opened = await _call(http, "POST", f"/api/v1/rounds/{live_round.id}/attempts", person.token)
        assert opened.status_code == 201, opened.text
        assert opened.headers["x-served-by"] == "public1"
        attempt = opened.json()
        questions = attempt["questions"]

        async def save(q) -> httpx.Response:
            return await _call(http, "PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                               person.token, json={"option_id": correct_option(q)})

        first = [await save(q) for q in questions[:3]]
        assert [r.status_code for r in first] == [200] * 3
        assert {r.headers["x-served-by"] for r in first} == {"inside1"}
        resumed = await _call(http, "GET", f"/api/v1/attempts/{attempt['attempt_id']}", person.token)
        assert resumed.headers["x-served-by"] == "inside1"
        assert len(resumed.json()["answers"]) == 3

        inside.kill()  # the whole inside lane gone: its requests go to the public lane (its backup)
        rest = [await save(q) for q in questions[3:]]
        assert [r.status_code for r in rest] == [200] * 3
        assert {r.headers["x-served-by"] for r in rest} == {"public1"}
        submitted = await _call(http, "POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", person.token,
                                json={"prediction": 1})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["correct"] == 6

    async with app.state.runtime.sessionmaker() as db:
        closed = await db.get(Attempt, attempt["attempt_id"])
        saved = await db.scalar(select(func.count()).select_from(AttemptAnswer)
                                .where(AttemptAnswer.attempt_id == closed.id))
        assert closed.status == "submitted" and saved == 6
