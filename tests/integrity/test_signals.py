"""What registration and login keep for the jury: a keyed hash of the browser's random id and
the address, per event — never the id itself, never shown to the participant, masked in logs,
purged after the retention period."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from app.core.clock import utcnow
from app.core.logs import mask
from app.integrity.models import AccountEvent
from app.integrity.signals import DEVICE_COOKIE, device_hash, purge_events
from tests.factories import profile
from tests.live import ROOT

DEVICE = "b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6"


async def events_of(db, user_id: int) -> list[tuple[str, str, str]]:
    """(kind, device, ip) of a user's events, oldest first."""
    rows = [tuple(r) for r in (await db.execute(select(AccountEvent.kind, AccountEvent.device, AccountEvent.ip)
                                                .where(AccountEvent.user_id == user_id).order_by(AccountEvent.id)))]
    await db.rollback()
    return rows


async def test_registration_and_login_record_the_hashed_device_and_address(app, client, db):
    data = profile(device_id=DEVICE)
    registered = await client.post("/api/v1/auth/register", json=data)
    assert registered.status_code == 201
    assert registered.cookies.get(DEVICE_COOKIE) == DEVICE  # the browser keeps it (HttpOnly)
    assert DEVICE not in registered.text and "device" not in registered.text
    user_id = registered.json()["user"]["id"]
    client.cookies.clear()
    # A login from another browser (no id sent): a fresh id is given and recorded.
    login = await client.post("/api/v1/auth/login", json={"login": data["phone"], "password": data["password"]})
    assert login.status_code == 200
    fresh = login.cookies.get(DEVICE_COOKIE)
    assert fresh and fresh != DEVICE
    client.cookies.clear()
    # A page login whose form carries one id while the cookie holds another: both are recorded.
    other = "ffffeeeeddddccccbbbbaaaa99998888"
    client.cookies.set(DEVICE_COOKIE, DEVICE)
    client.cookies.set("csrftoken", "t")
    page = await client.post("/login", data={"login": data["citizen_id"], "password": data["password"],
                                             "csrf_token": "t", "device_id": other, "next": "/"})
    client.cookies.clear()
    assert page.status_code == 303
    events = await events_of(db, user_id)
    secret = app.state.runtime.settings.effective_secret_key
    assert [(kind, device) for kind, device, _ in events] == [
        ("register", device_hash(secret, DEVICE)), ("login", device_hash(secret, fresh)),
        ("login", device_hash(secret, other)), ("login", device_hash(secret, DEVICE))]
    assert all(ip == "127.0.0.1" for _, _, ip in events)  # httpx's ASGI transport: the loopback address
    assert all(DEVICE not in device for _, device, _ in events)  # only the keyed hash is stored


def test_logs_mask_device_ids_and_the_host_part_of_addresses():
    line = mask(f'login from 203.0.113.45 device_id={DEVICE} "device_id": "{DEVICE}" x-device-id: {DEVICE}')
    assert "203.0.113.*" in line and "203.0.113.45" not in line and DEVICE not in line


async def test_events_older_than_the_retention_period_are_purged(app, client, db):
    registered = await client.post("/api/v1/auth/register", json=profile())
    client.cookies.clear()
    user_id = registered.json()["user"]["id"]
    other = await client.post("/api/v1/auth/register", json=profile())
    client.cookies.clear()
    await db.execute(update(AccountEvent).where(AccountEvent.user_id == user_id)
                     .values(created_at=utcnow() - timedelta(days=200)))
    await db.commit()
    assert len(await events_of(db, user_id)) == 1
    deleted = await purge_events(db, 180)
    assert deleted >= 1
    assert await events_of(db, user_id) == []
    assert len(await events_of(db, other.json()["user"]["id"])) == 1  # recent ones stay


def test_purge_command(settings):
    done = subprocess.run([sys.executable, "-m", "app", "purge-signals", "--days", "3650"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "cũ hơn 3650 ngày" in done.stdout
