"""Schemathesis against /openapi.json of a real server process: every operation, with data that
fits the schema and data that does not, as a participant with a real round, attempt and
questions (and with made-up ids). Zero server errors (5xx) allowed. Bounded: a fixed number of
examples per operation and a time budget for the whole run."""
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

EXAMPLES_PER_OPERATION = 25
TIME_BUDGET_SECONDS = 90
# Last, so that they do not end the session or the attempt the other operations use.
LAST = ("/api/v1/attempts/{attempt_id}/submit", "/api/v1/auth/logout")


def fuzz(base: str, token: str, ids: dict[str, int]) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.path in LAST, LAST.index(op.path) if op.path in LAST else 0))
    failures: list[str] = []
    calls = 0
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        for operation in operations:
            real = {name: ids[name] for name in ids if f"{{{name}}}" in operation.path}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for path_parameters in ([None, real] if real else [None]):
                    if time.monotonic() - started > TIME_BUDGET_SECONDS:
                        return failures, calls
                    strategy = operation.as_strategy(mode, headers=headers, path_parameters=path_parameters)

                    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
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
                                    failures.append(f"{case.method} {case.formatted_path}: connection failed "
                                                    f"({exc!r}) {kwargs!r}"[:600])
                                    return
                        calls += 1
                        if response.status_code >= 500:
                            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                            f"{response.text[:200]}")
                        elif response.headers.get("content-type", "").startswith("application/json") and \
                                response.status_code >= 400:
                            body = response.json()
                            if not (isinstance(body, dict) and {"code", "message"} <= set(body.get("error", {}))):
                                failures.append(f"{case.method} {case.formatted_path}: error without code/message")

                    try:
                        run()
                    except Exception as exc:  # schemathesis could not build a case: not a server error
                        if "Unsatisfiable" not in type(exc).__name__:
                            raise
    return failures, calls


async def test_openapi_fuzzing_finds_no_server_error(factory, live_server):
    round_ = await factory.round(questions_per_attempt=5)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        token = (await http.post("/api/v1/auth/register", json=profile())).json()["token"]
        attempt = (await http.post(f"/api/v1/rounds/{round_.id}/attempts",
                                   headers={"Authorization": f"Bearer {token}"})).json()
    ids = {"round_id": round_.id, "contest_id": round_.contest_id, "attempt_id": attempt["attempt_id"],
           "question_id": attempt["questions"][0]["id"]}
    failures, calls = await asyncio.to_thread(fuzz, live_server, token, ids)
    assert calls >= 150  # the run really exercised the API
    assert failures == [], "\n".join(failures)
