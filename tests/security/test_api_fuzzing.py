"""Schemathesis against /openapi.json of a real server process, as each role in turn: anonymous,
a participant with a real round, attempt and questions (every operation, also with made-up ids),
a judge and an organizer of that contest, and an admin (the staff operations). Zero server
errors (5xx) for any of them, and no staff route answers 2xx to a role that lacks it (the STAFF
table below, from app/staff/roles.py). Bounded: a few examples per operation, and a time budget per role
after which each remaining operation is tried once."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.factories import profile

pytestmark = pytest.mark.slow

# Examples per operation, generation mode and id set, by role. The participant's run is the broad
# one: every operation, with the real attempt and made-up ids. The other roles run the staff
# operations only (what a role may or may not reach): valid data with the real ids, invalid data
# with made-up ones, a few examples each, to keep CI short.
EXAMPLES = {"anonymous": 3, "participant": 10, "judge": 3, "organizer": 3, "admin": 3}
TIME_BUDGET_SECONDS = {"anonymous": 20, "participant": 60, "judge": 20, "organizer": 20, "admin": 20}
# Last, so that they do not end the session or the attempt the other operations use.
LAST = ("/api/v1/attempts/{attempt_id}/submit", "/api/v1/auth/logout")

ORGANIZER, JUDGE, ADMIN = "organizer", "judge", "admin"
BOTH = {ORGANIZER, JUDGE, ADMIN}
# Every staff operation and the roles that may reach it (app/staff/roles.py). A 2xx for any other
# role is a failure; a route of the API missing here and not listed as a participant's is too.
STAFF = {
    ("POST", "/api/v1/admin/contests"): {ADMIN},
    ("PUT", "/api/v1/admin/contests/{contest_id}"): {ORGANIZER, ADMIN},
    ("POST", "/api/v1/admin/contests/{contest_id}/rounds"): {ORGANIZER, ADMIN},
    ("PUT", "/api/v1/admin/rounds/{round_id}"): {ORGANIZER, ADMIN},
    ("GET", "/api/v1/admin/contests/{contest_id}/audit"): BOTH,
    ("GET", "/api/v1/admin/rounds/{round_id}/dashboard"): BOTH,
    ("POST", "/api/v1/admin/rounds/{round_id}/close"): {JUDGE, ADMIN},
    ("POST", "/api/v1/admin/rounds/{round_id}/regrade"): {JUDGE, ADMIN},
    ("GET", "/api/v1/admin/rounds/{round_id}/snapshots"): BOTH,
    ("POST", "/api/v1/admin/rounds/{round_id}/exports/{kind}"): BOTH,   # ranking/prizes: judges (below)
    ("GET", "/api/v1/admin/exports/{job_id}"): BOTH,
    ("GET", "/api/v1/admin/exports/{job_id}/file"): BOTH,
    ("POST", "/api/v1/admin/staff"): {ADMIN},
    ("POST", "/api/v1/admin/contests/{contest_id}/staff"): {ADMIN},
    ("GET", "/api/v1/rounds/{round_id}/leaderboard/settings"): BOTH,
    ("PUT", "/api/v1/rounds/{round_id}/leaderboard/settings"): {ORGANIZER, ADMIN},
    ("POST", "/api/v1/rounds/{round_id}/leaderboard/finalize"): {JUDGE, ADMIN},
    ("POST", "/api/v1/rounds/{round_id}/leaderboard/rebuild"): BOTH,
    ("POST", "/api/v1/contests/{contest_id}/bank/imports"): {ORGANIZER, ADMIN},
    ("GET", "/api/v1/contests/{contest_id}/bank/questions"): BOTH,
    ("GET", "/api/v1/contests/{contest_id}/bank/counts"): BOTH,
    ("GET", "/api/v1/contests/{contest_id}/bank/export.xlsx"): BOTH,
    ("GET", "/api/v1/contests/{contest_id}/bank/questions/{question_id}"): BOTH,
    ("PUT", "/api/v1/contests/{contest_id}/bank/questions/{question_id}"): {ORGANIZER, ADMIN},
    ("POST", "/api/v1/contests/{contest_id}/bank/questions/{question_id}/retire"): {ORGANIZER, ADMIN},
    ("POST", "/api/v1/contests/{contest_id}/bank/questions/{question_id}/restore"): {ORGANIZER, ADMIN},
    ("GET", "/api/v1/admin/rounds/{round_id}/suspicious-accounts"): {JUDGE, ADMIN},
    ("GET", "/api/v1/admin/rounds/{round_id}/exclusions"): {JUDGE, ADMIN},
    ("POST", "/api/v1/admin/rounds/{round_id}/exclusions"): {JUDGE, ADMIN},
    ("POST", "/api/v1/admin/exclusions/{exclusion_id}/reinstate"): {JUDGE, ADMIN},
    ("POST", "/api/v1/admin/contests/{contest_id}/staff/override"): {ADMIN},
}
PARTICIPANT_PREFIXES = ("/api/v1/auth/", "/api/v1/me", "/api/v1/contests", "/api/v1/rounds/", "/api/v1/attempts/")


def may_reach(role: str, method: str, path: str, parameters: dict) -> bool:
    allowed = STAFF[(method, path)]
    if path.endswith("/exports/{kind}") and parameters.get("kind") in ("ranking", "prizes", "integrity"):
        allowed = {JUDGE, ADMIN}
    return role in allowed


def fuzz(base: str, role: str, token: str | None, ids: dict[str, int]) -> tuple[list[str], int, set]:
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    if role != "participant":
        operations = [op for op in operations if (op.method.upper(), op.path) in STAFF]
    # Staff operations first (they are what a role must not reach), the session enders last.
    operations.sort(key=lambda op: (op.path in LAST, LAST.index(op.path) if op.path in LAST else 0,
                                    (op.method.upper(), op.path) not in STAFF))
    failures: list[str] = []
    reached: set[tuple[str, str]] = set()
    calls = 0
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, timeout=10) as http:
        for operation in operations:
            key = (operation.method.upper(), operation.path)
            if key not in STAFF and not operation.path.startswith(PARTICIPANT_PREFIXES):
                failures.append(f"{key}: neither a staff nor a participant route; add it to STAFF with its roles")
            real = {name: ids[name] for name in ids if f"{{{name}}}" in operation.path}
            deep = role == "participant" and key not in STAFF
            examples = EXAMPLES[role] if deep or role != "participant" else EXAMPLES["anonymous"]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if deep:
                    variants = [None, real] if real else [None]
                else:
                    variants = [real or None] if mode == GenerationMode.POSITIVE else [None]
                for path_parameters in variants:
                    # Past the time budget every operation is still tried, once per variant.
                    over_budget = time.monotonic() - started > TIME_BUDGET_SECONDS[role]
                    strategy = operation.as_strategy(mode, headers=headers, path_parameters=path_parameters)

                    @settings(max_examples=1 if over_budget else examples, deadline=None, database=None,
                              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
                    @given(case=strategy)
                    def run(case):
                        nonlocal calls
                        kwargs = case.as_transport_kwargs(base_url=base)
                        data = kwargs.get("data")
                        # Transport-level headers are the HTTP client's business, not an API input.
                        headers_ = {k: v for k, v in (kwargs.get("headers") or {}).items()
                                    if k.lower() not in ("content-length", "transfer-encoding", "host", "connection")}
                        request = dict(headers=headers_, params=kwargs.get("params"),
                                       json=kwargs.get("json"),
                                       content=data if isinstance(data, (bytes, str)) else None)
                        for attempt in (1, 2):  # once more on a fresh connection: a keep-alive race is
                            try:                # the client's problem, a second failure is the server's
                                response = http.request(kwargs["method"], kwargs["url"], **request)
                                break
                            except httpx.TransportError as exc:
                                if attempt == 2:
                                    failures.append(f"{role}: {case.method} {case.formatted_path}: connection failed "
                                                    f"({exc!r}) {kwargs!r}"[:600])
                                    return
                        calls += 1
                        reached.add(key)
                        if response.status_code >= 500:
                            failures.append(f"{role}: {case.method} {case.formatted_path} -> {response.status_code}: "
                                            f"{response.text[:200]}")
                        elif response.status_code < 300 and key in STAFF and \
                                not may_reach(role, *key, case.path_parameters or {}):
                            failures.append(f"{role} reached a staff route: {case.method} {case.formatted_path} -> "
                                            f"{response.status_code}")
                        elif response.headers.get("content-type", "").startswith("application/json") and \
                                response.status_code >= 400:
                            body = response.json()
                            if not (isinstance(body, dict) and {"code", "message"} <= set(body.get("error", {}))):
                                failures.append(f"{role}: {case.method} {case.formatted_path}: error without code/message")

                    try:
                        run()
                    except Exception as exc:  # schemathesis could not build a case: not a server error
                        if "Unsatisfiable" not in type(exc).__name__:
                            raise
    return failures, calls, reached


async def test_openapi_fuzzing_as_every_role_finds_no_server_error_and_no_reachable_staff_route(
        factory, app, client, live_server):
    from tests.admin.helpers import make_staff

    round_ = await factory.round(questions_per_attempt=5)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        token = (await http.post("/api/v1/auth/register", json=profile())).json()["token"]
        attempt = (await http.post(f"/api/v1/rounds/{round_.id}/attempts",
                                   headers={"Authorization": f"Bearer {token}"})).json()
    ids = {"round_id": round_.id, "contest_id": round_.contest_id, "attempt_id": attempt["attempt_id"],
           "question_id": attempt["questions"][0]["id"]}
    tokens = {"anonymous": None, "participant": token,
              "judge": (await make_staff(app, client, roles={round_.contest_id: JUDGE})).token,
              "organizer": (await make_staff(app, client, roles={round_.contest_id: ORGANIZER})).token,
              "admin": (await make_staff(app, client, admin=True)).token}
    failures, reached = [], {}
    for role, role_token in tokens.items():
        found, calls, reached[role] = await asyncio.to_thread(fuzz, live_server, role, role_token, ids)
        assert calls >= (150 if role == "participant" else 50), (role, calls)  # the run really exercised the API
        failures += found
    assert failures == [], "\n".join(failures)
    # Every staff route was tried by every role that must not reach it, and the participant tried
    # every operation of the API.
    for role in ("anonymous", "participant", "judge", "organizer"):
        assert {k for k in STAFF if not may_reach(role, *k, {})} <= reached[role], role
    everything = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    assert reached["participant"] == everything
