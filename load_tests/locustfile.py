"""Load scenarios for Thi trắc nghiệm.

    python -m load_tests.setup_data --users 20000 --out var/loadtest.json     # once, on the target database
    locust -f load_tests/locustfile.py --host http://127.0.0.1:8000 \\
        Participant LeaderboardWatcher Organizer

User classes
- Participant: one iteration = one participant's whole journey, as the browser does it (session
  cookie + X-CSRF-Token header): log in with a pre-registered account (or register a new one,
  --ttn-register-ratio of the time), open the contest page that lists the round, open an attempt,
  answer every question with think time in between, submit with a prediction, then look at the
  round's leaderboard. A completed journey is reported as the pseudo request
  "JOURNEY participant journey" (its count is journeys completed, its time the journey's length).
- LeaderboardWatcher: someone keeping the live board open; polls --ttn-leaderboard-path.
- Organizer: watches participation as an organizer of the contest (bearer session made by
  setup_data): polls --ttn-dashboard-path and the per-province and per-unit participation counts.
  A 404 from either path means "not on this build" (an older server) and is counted under the
  name "<name> (absent: 404)", so the scenario still runs; the options point it elsewhere.
- BarePing, AnswerSaver (benchmark only, defined when TTN_BENCH_CLASSES=1, as `make bench` sets):
  no think time, to measure the stack's ceiling (GET /api/v1/ping) and the answer save alone
  (PUT .../answers/{question_id} with ready-made sessions from setup_data, so no Argon2 in the loop).

Options (also as environment variables): --ttn-data (TTN_LOADTEST_DATA, the JSON setup_data wrote),
--ttn-think MIN,MAX seconds between answers (TTN_THINK; default 5,25, a person reading a question),
--ttn-register-ratio (TTN_REGISTER_RATIO, default 0.1), --ttn-account-offset (TTN_ACCOUNT_OFFSET,
to skip accounts an earlier run used: each allows `attempts_allowed` attempts),
--ttn-leaderboard-path (TTN_LEADERBOARD_PATH, default /api/v1/rounds/{round_id}/leaderboard),
--ttn-dashboard-path (TTN_DASHBOARD_PATH, default /api/v1/admin/rounds/{round_id}/dashboard).
"""
from __future__ import annotations

import itertools
import logging
import os
import random
import time
import sys
from pathlib import Path

from locust import FastHttpUser, between, constant, events, task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # locust puts only load_tests/ on the path
from load_tests.setup_data import LoadTestData, account_phone  # noqa: E402
from app.accounts.validation import CCCD_PROVINCE_CODES  # noqa: E402

_PROVINCE_CODES = sorted(CCCD_PROVINCE_CODES)  # registrations need a real province code

log = logging.getLogger("ttn.locust")

BENCH_CLASSES = os.environ.get("TTN_BENCH_CLASSES") == "1"


class Shared:
    """State of this Locust process: the test data and which accounts are taken."""

    data: LoadTestData | None = None
    think: tuple[float, float] = (5.0, 25.0)
    register_ratio = 0.1
    leaderboard_path = "/api/v1/rounds/{round_id}/leaderboard"
    dashboard_path = "/api/v1/admin/rounds/{round_id}/dashboard"
    accounts = itertools.count()
    registrations = itertools.count()
    sessions = itertools.count()
    run_base = random.randrange(10**7)


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--ttn-data", type=str, env_var="TTN_LOADTEST_DATA", default="var/loadtest.json",
                        help="JSON written by python -m load_tests.setup_data")
    parser.add_argument("--ttn-think", type=str, env_var="TTN_THINK", default="5,25",
                        help="MIN,MAX seconds a participant thinks before each answer")
    parser.add_argument("--ttn-register-ratio", type=float, env_var="TTN_REGISTER_RATIO", default=0.1,
                        help="share of journeys that register a new account instead of logging in")
    parser.add_argument("--ttn-account-offset", type=int, env_var="TTN_ACCOUNT_OFFSET", default=0,
                        help="skip this many pre-registered accounts (used by an earlier run)")
    parser.add_argument("--ttn-leaderboard-path", type=str, env_var="TTN_LEADERBOARD_PATH",
                        default=Shared.leaderboard_path, help="JSON leaderboard of a round ({round_id} is filled in)")
    parser.add_argument("--ttn-dashboard-path", type=str, env_var="TTN_DASHBOARD_PATH",
                        default=Shared.dashboard_path, help="organizer's live dashboard JSON ({round_id}, {contest_id})")


@events.test_start.add_listener
def _load(environment, **_kwargs):
    options = environment.parsed_options
    Shared.data = LoadTestData.load(Path(options.ttn_data))
    low, _, high = options.ttn_think.partition(",")
    Shared.think = (float(low), float(high or low))
    Shared.register_ratio = options.ttn_register_ratio
    Shared.accounts = itertools.count(options.ttn_account_offset)
    Shared.leaderboard_path = options.ttn_leaderboard_path
    Shared.dashboard_path = options.ttn_dashboard_path


def _path(template: str) -> str:
    return template.format(round_id=Shared.data.round_id, contest_id=Shared.data.contest_id)


def poll_tolerating_absence(client, template: str, name: str, headers: dict | None = None) -> None:
    """GET an endpoint that may not exist on this build: 404 is recorded apart, not as an error."""
    with client.get(_path(template), name=name, headers=headers, catch_response=True) as response:
        if response.status_code == 404:
            response.request_meta["name"] = f"{name} (absent: 404)"
            response.success()
        else:
            _expect(response, 200)


def _expect(response, *statuses: int) -> bool:
    """Marks a catch_response request failed unless its status is one of `statuses`."""
    if response.status_code in statuses:
        response.success()
        return True
    body = (response.text or "")[:200]
    response.failure(f"HTTP {response.status_code} (expected {statuses}): {body}")
    return False


class Participant(FastHttpUser):
    weight = 20
    wait_time = constant(0)  # the think time is inside the journey; a new participant starts at once
    network_timeout = 30.0
    connection_timeout = 10.0

    def csrf_headers(self) -> dict:
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        return {"X-CSRF-Token": token, "Accept": "application/json"}

    def think(self) -> None:
        time.sleep(random.uniform(*Shared.think))  # gevent-patched: other users run meanwhile

    def log_in(self) -> bool:
        data = Shared.data
        index = next(Shared.accounts)
        if random.random() >= Shared.register_ratio and index < data.accounts:
            body = {"login": account_phone(data.first_account + index), "password": data.password}
            with self.client.post("/api/v1/auth/login", json=body, catch_response=True) as response:
                return _expect(response, 200)
        return self.register()

    def register(self) -> bool:
        seq = Shared.run_base + next(Shared.registrations)
        profile = {
            "full_name": "Trần Thị Bình", "date_of_birth": "1995-03-04", "gender": "female",
            "phone": f"03{seq % 10**8:08d}", "citizen_id": f"{_PROVINCE_CODES[seq // 10**6 % len(_PROVINCE_CODES)]}195{seq % 10**6:06d}",
            "province": "Hà Nội", "district": None, "commune": "Phường Ba Đình", "unit": "Đơn vị thử tải (đăng ký)",
            "party_member": False, "password": Shared.data.password,
        }
        with self.client.post("/api/v1/auth/register", json=profile, catch_response=True) as response:
            return _expect(response, 201)

    @task
    def journey(self) -> None:
        data = Shared.data
        started = time.perf_counter()
        self.client.cookiejar.clear()  # a new participant, a new browser
        if not self.log_in():
            return
        with self.client.get(f"/contests/{data.contest_id}", name="/contests/[id] (page)",
                             catch_response=True) as response:
            if not _expect(response, 200):
                return
        with self.client.post(f"/api/v1/rounds/{data.round_id}/attempts", headers=self.csrf_headers(),
                              name="/api/v1/rounds/[id]/attempts", catch_response=True) as response:
            if not _expect(response, 201, 200):
                return
            attempt = response.json()
        attempt_id = attempt["attempt_id"]
        for question in attempt["questions"]:
            self.think()
            option = random.choice(question["options"])["id"]
            with self.client.put(f"/api/v1/attempts/{attempt_id}/answers/{question['id']}",
                                 json={"option_id": option}, headers=self.csrf_headers(),
                                 name="/api/v1/attempts/[id]/answers/[qid]", catch_response=True) as response:
                if not _expect(response, 200):
                    return
        self.think()
        with self.client.post(f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": random.randrange(5000)},
                              headers=self.csrf_headers(), name="/api/v1/attempts/[id]/submit",
                              catch_response=True) as response:
            if not _expect(response, 200):
                return
        poll_tolerating_absence(self.client, Shared.leaderboard_path, "leaderboard")
        self.environment.events.request.fire(
            request_type="JOURNEY", name="participant journey", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=None, context={})


class LeaderboardWatcher(FastHttpUser):
    """Someone keeping the live leaderboard open (the page refreshes every few seconds)."""

    weight = 2
    wait_time = between(3, 6)

    @task
    def watch(self) -> None:
        poll_tolerating_absence(self.client, Shared.leaderboard_path, "leaderboard")


class Organizer(FastHttpUser):
    """An organizer of the contest watching participation live (bearer session from setup_data)."""

    weight = 1
    wait_time = between(5, 10)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {Shared.data.organizer_token}", "Accept": "application/json"}

    @task
    def watch(self) -> None:
        poll_tolerating_absence(self.client, Shared.dashboard_path, "dashboard (organizer)", self.headers)
        for scope in ("provinces", "units"):
            poll_tolerating_absence(self.client, Shared.leaderboard_path + "/" + scope,
                                    f"leaderboard/{scope} (organizer)", self.headers)


class BarePing(FastHttpUser):
    """The ceiling: the same app's cheapest JSON endpoint, no think time."""

    abstract = not BENCH_CLASSES
    wait_time = constant(0)

    @task
    def ping(self) -> None:
        self.client.get("/api/v1/ping")


class AnswerSaver(FastHttpUser):
    """Saves answers as fast as the server acknowledges them, on attempts opened at start by
    participants logged in by setup_data (bearer token, as a non-browser client would)."""

    abstract = not BENCH_CLASSES
    wait_time = constant(0)

    def on_start(self) -> None:
        tokens = Shared.data.session_tokens
        self.headers = {"Authorization": f"Bearer {tokens[next(Shared.sessions) % len(tokens)]}"}
        with self.client.post(f"/api/v1/rounds/{Shared.data.round_id}/attempts", headers=self.headers,
                              name="/api/v1/rounds/[id]/attempts", catch_response=True) as response:
            _expect(response, 201, 200)
            attempt = response.json()
        self.attempt_id = attempt["attempt_id"]
        self.answers = itertools.cycle([(q["id"], o["id"]) for q in attempt["questions"] for o in q["options"]])

    @task
    def save(self) -> None:
        question_id, option_id = next(self.answers)
        self.client.put(f"/api/v1/attempts/{self.attempt_id}/answers/{question_id}", json={"option_id": option_id},
                        headers=self.headers, name="/api/v1/attempts/[id]/answers/[qid]")
