"""Two lanes of app processes, so that people already answering always go first.

When a round opens, thousands press "Bắt đầu thi" in the same second. However cheap the waiting
room makes each refusal, those requests reach the app processes first come, first served: one
event loop parses, authenticates and answers them in arrival order, and an answer save that
arrives behind a few thousand of them waits seconds (the storm bench measured 4.6 s p99 with one
pool). No ordering inside a process can fix that, because the queue is in front of the code.

So a deployment runs the same app as two pools of processes (README, "Scaling out"):

- the **inside lane** serves only the traffic of attempts already open: answer saves, the
  prediction, submit, resume, the attempt and result pages (the paths below). Its processes run at
  normal priority and their event loops never see a newcomer's request.
- the **public lane** serves everything else: pages, login, registration, opening attempts (the
  waiting room), consoles. Its processes run with a lower CPU priority (`nice` 10), so on a busy
  host the kernel gives the inside lane the CPU first: a burst of opens or of Argon2 logins slows
  newcomers, never the people answering.

The balancer routes by path prefix; each lane is the other's backup, so losing every process of
one lane degrades to one pool instead of an outage. `balancer_config` writes that HAProxy
configuration (`python -m app balancer-config`), and the fleet test and the storm bench run it.
Both lanes are the same code and share PostgreSQL and Redis: the split is only where requests go.
"""

from __future__ import annotations

from collections.abc import Sequence

# Every path of an attempt already open (the API and the pages); opening one is elsewhere
# (POST /api/v1/rounds/{id}/attempts, /rounds/{id}/start), so it stays in the public lane.
INSIDE_PREFIXES = ("/api/v1/attempts/", "/attempts/")

PUBLIC_LANE_NICE = 10


def lane_of(path: str) -> str:
    """'inside' or 'public': where the balancer sends a request for `path`."""
    return "inside" if path.startswith(INSIDE_PREFIXES) else "public"


_TEMPLATE = """\
# Written by `python -m app balancer-config` (app/core/lanes.py): two lanes of the same app.
# Requests of attempts already open go to the inside lane; everything else (pages, login, opening
# an attempt) to the public lane, whose processes run at a lower CPU priority. Each lane is the
# other's backup. A process is out after two failed /readyz checks; a request whose connection
# failed is sent to another process (saving an answer and submitting are idempotent).
global
    maxconn {maxconn}

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    # A busy process is not a dead one: under a rush the public lane (nice 10) may answer its
    # check late; only a refused connection or a silence of 10 s takes a process out.
    timeout check 10s
    retries 3
    option redispatch
    retry-on conn-failure empty-response response-timeout

frontend thitracnghiem
    bind {bind}
    acl inside path_beg {prefixes}
    use_backend inside if inside
    default_backend public

backend inside
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{served_by}{inside_servers}

backend public
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{served_by}{public_servers}
"""


def _servers(name: str, addresses: Sequence[str], backup: bool, maxconn: int = 0) -> list[str]:
    flags = (f" maxconn {maxconn}" if maxconn else "") + (" backup" if backup else "")
    return [
        f"    server {name}{i} {address} check inter 500ms fall 2 rise 2{flags}"
        for i, address in enumerate(addresses, start=1)
    ]


def balancer_config(
    public: Sequence[str],
    inside: Sequence[str],
    *,
    bind: str = ":8000",
    maxconn: int = 4000,
    public_server_maxconn: int = 32,
    served_by: bool = False,
) -> str:
    """An HAProxy configuration for the two lanes. `public`, `inside`: "host:port" of each app
    server (one uvicorn per lane per host); `maxconn`: client connections at once (HAProxy needs
    two file descriptors each: raise the open-files limit with it); `public_server_maxconn`: requests
    one public-lane server is given at once, the rest wait in HAProxy's queue (C, first come first
    served), so a rush of thousands never piles up in a Python event loop whose lag would then shut
    the waiting room and starve the checks; `served_by`: name the answering process in an
    X-Served-By response header (the tests and the bench read it)."""
    if not public or not inside:
        raise ValueError("both lanes need at least one server")
    header = "    http-response set-header X-Served-By %[srv_name]\n" if served_by else ""
    return _TEMPLATE.format(
        maxconn=maxconn,
        bind=bind,
        prefixes=" ".join(INSIDE_PREFIXES),
        served_by=header,
        inside_servers="\n".join(
            _servers("inside", inside, False) + _servers("public", public, True, public_server_maxconn)
        ),
        public_servers="\n".join(
            _servers("public", public, False, public_server_maxconn) + _servers("inside", inside, True)
        ),
    )
