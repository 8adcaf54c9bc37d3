"""The suspicious-accounts report of a round, for the jury before prizes are confirmed.

Accounts that took part in the round are grouped into clusters when they share a signal:

| signal | strength | what links two accounts |
|---|---|---|
| device | strong | the same browser id at a registration or login (app.integrity.signals) |
| name_dob | strong | the same name (accents and case ignored) and birth date, different CCCDs |
| cccd_sequence | strong from 3 numbers (a pair: weak) | CCCDs of one province/century/year whose last 6 digits are within 2 of each other |
| phone_sequence | strong from 3 numbers (a pair: weak) | phone numbers within 2 of each other |
| burst | medium | 5 or more registrations from one address within 30 minutes |
| ip_window | weak | registrations/logins from one address within 10 minutes (not counted for an address that many accounts share at once: a carrier or office gateway) |

Within a cluster the predictions are shown (the covering pattern: many accounts spreading their
predictions over a range). Each signal says why it counts. A cluster is listed when its signals
weigh at least 3 (strong 3, medium 2, weak 1): a lone weak coincidence is not listed. Nothing here
is a verdict: the jury decides, and exclusion is a separate, audited act.

Efficiency: every signal is found by bucketing (hash map) or by one sort (sequences, time
windows), and clusters are the connected components of a union-find over those buckets —
O(n log n) in participants and events, never a comparison of every pair.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import SUBMITTED, Attempt
from app.contests.editing import PRIZE_TIERS, prize_plan
from app.contests.models import Round
from app.contests.service import get_round
from app.core.clock import to_local, utcnow
from app.core.textnorm import header_key
from app.integrity.models import REGISTER, AccountEvent, ResultExclusion
from app.judging.models import SnapshotRow
from app.judging.snapshots import latest_snapshot
from app.leaderboard.ranking import final_ranking

STRONG, MEDIUM, WEAK = 3, 2, 1
STRENGTH_LABELS = {STRONG: "Mạnh", MEDIUM: "Trung bình", WEAK: "Yếu"}
LIST_THRESHOLD = 3

IP_WINDOW = timedelta(minutes=10)
IP_SHARED_ACCOUNTS = 40  # more accounts than this in one address window: a shared gateway, not a signal
BURST_WINDOW = timedelta(minutes=30)
BURST_MIN = 5
SEQUENCE_GAP = 2
COVERING_MIN = 3

KIND_LABELS = {
    "device": "Cùng trình duyệt/thiết bị",
    "name_dob": "Trùng họ tên và ngày sinh, khác CCCD",
    "cccd_sequence": "Số CCCD liền nhau",
    "phone_sequence": "Số điện thoại liền nhau",
    "burst": "Đăng ký dồn dập từ một địa chỉ",
    "ip_window": "Cùng địa chỉ mạng trong vài phút",
    "covering": "Dự đoán rải thành dải",
}
WHY = {
    "device": "Mỗi trình duyệt giữ một mã ngẫu nhiên từ lần đăng ký/đăng nhập đầu tiên. Nhiều tài khoản mang cùng "
    "một mã nghĩa là chúng được đăng ký hoặc đăng nhập trên cùng một trình duyệt của cùng một máy "
    "(cũng có thể là máy dùng chung trong gia đình, cơ quan, phòng máy).",
    "name_dob": "Cùng họ tên và ngày sinh nhưng khác số CCCD: có thể là một người đăng ký nhiều lần bằng CCCD mượn "
    "hoặc tự đặt (hiếm khi là hai người trùng cả tên lẫn ngày sinh).",
    "cccd_sequence": "6 chữ số cuối của CCCD là số ngẫu nhiên của từng người; các số liền nhau cùng mã tỉnh, thế kỷ "
    "và năm sinh rất hiếm khi thuộc những người khác nhau, thường là số tự đặt ra. Hai số liền "
    "nhau có thể do tình cờ; từ ba số trở lên là dấu hiệu mạnh.",
    "phone_sequence": "Các số điện thoại liên tiếp thường là các SIM mua cùng lúc (một người giữ nhiều SIM). Hai số "
    "có thể là SIM của một gia đình; từ ba số trở lên là dấu hiệu mạnh.",
    "burst": f"Từ {BURST_MIN} tài khoản trở lên được đăng ký từ cùng một địa chỉ mạng trong "
    f"{int(BURST_WINDOW.total_seconds() // 60)} phút: thường là một người đăng ký hàng loạt (hoặc một "
    "buổi đăng ký tập trung của cơ quan, trường học).",
    "ip_window": f"Đăng ký/đăng nhập từ cùng một địa chỉ mạng cách nhau không quá "
    f"{int(IP_WINDOW.total_seconds() // 60)} phút. Dấu hiệu yếu: cùng wifi gia đình, cơ quan hay nhà "
    "mạng di động cũng dùng chung địa chỉ; chỉ có ý nghĩa khi đi cùng dấu hiệu khác.",
    "covering": "Câu hỏi dự đoán phân định thứ hạng khi bằng số câu đúng. Nhiều tài khoản rải dự đoán lên một dải "
    "giá trị khác nhau thì gần như chắc chắn có một tài khoản trúng gần đúng đáp án — cách “phủ” giải "
    "thưởng bằng nhiều bài dự thi.",
}


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


@dataclass
class Member:
    user_id: int
    full_name: str
    date_of_birth: date | None
    gender: str | None
    phone: str
    citizen_id: str | None
    registered_at: datetime
    predictions: list[int] = field(default_factory=list)
    position: int | None = None
    excluded: bool = False


@dataclass
class Signal:
    kind: str
    strength: int
    user_ids: list[int]
    detail: str

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def why(self) -> str:
        return WHY[self.kind]

    @property
    def strength_label(self) -> str:
        return STRENGTH_LABELS[self.strength]


@dataclass
class Covering:
    accounts: int  # accounts of the cluster that predicted
    distinct: int
    low: int
    high: int
    covers_truth: bool | None  # None: T not known yet

    def detail(self, truth: int | None) -> str:
        text = (
            f"{self.accounts} tài khoản đưa ra {self.distinct} dự đoán khác nhau, từ {_n(self.low)} đến {_n(self.high)}"
        )
        if truth is not None:
            text += f"; đáp án T = {_n(truth)} {'nằm trong' if self.covers_truth else 'nằm ngoài'} dải này"
        return text + "."


def _n(value: int) -> str:
    """1234567 -> "1.234.567", as Vietnamese write numbers."""
    return f"{value:,}".replace(",", ".")


@dataclass
class Cluster:
    number: int
    members: list[Member]
    signals: list[Signal]
    covering: Covering | None
    score: int

    @property
    def best_position(self) -> int | None:
        positions = [m.position for m in self.members if m.position is not None]
        return min(positions) if positions else None


@dataclass
class Report:
    round: Round
    participants: int
    events: int
    clusters: list[Cluster]
    truth: int | None
    prize_positions: int  # positions 1..this win a prize
    generated_at: datetime

    @property
    def flagged(self) -> int:
        return sum(len(c.members) for c in self.clusters)


@lru_cache(maxsize=65536)
def _name_key(name: str) -> str:
    """Accents, case and spacing ignored (names repeat a lot: cached)."""
    return header_key(name or "")


def _sequence_runs(items: list[tuple[tuple, int, int]]) -> list[list[int]]:
    """items: (group key, number, account index). Runs of ≥ 2 accounts whose numbers follow each
    other within SEQUENCE_GAP inside one group, found by one sort."""
    items.sort()
    runs: list[list[int]] = []
    current: list[int] = []
    for i, (group, number, idx) in enumerate(items):
        if current and (group != items[i - 1][0] or number - items[i - 1][1] > SEQUENCE_GAP):
            if len(current) > 1:
                runs.append(current)
            current = []
        current.append(idx)
    if len(current) > 1:
        runs.append(current)
    return runs


def _windows(events: list[tuple[datetime, int]], gap: timedelta) -> list[tuple[datetime, datetime, list[int]]]:
    """Time-sorted (time, account) of one address, chained while consecutive events are within
    `gap`: (start, end, distinct accounts) of every chain with ≥ 2 accounts."""
    events.sort()
    out, start, last, accounts = [], None, None, []
    for at, idx in events:
        if last is not None and at - last > gap:
            if len(set(accounts)) > 1:
                out.append((start, last, list(dict.fromkeys(accounts))))
            start, accounts = None, []
        if start is None:
            start = at
        last = at
        accounts.append(idx)
    if last is not None and len(set(accounts)) > 1:
        out.append((start, last, list(dict.fromkeys(accounts))))
    return out  # type: ignore[return-value]  # start is set whenever last is


def _bursts(items: list[tuple[datetime, int]]) -> list[tuple[datetime, datetime, list[int]]]:
    """Registrations of one address: every run in which some BURST_WINDOW holds ≥ BURST_MIN of
    them (two pointers over the time-sorted list, each registration marked once: linear)."""
    items.sort()
    marked = [False] * len(items)
    left, next_unmarked = 0, 0
    for right in range(len(items)):
        while items[right][0] - items[left][0] > BURST_WINDOW:
            left += 1
        if right - left + 1 >= BURST_MIN:
            for k in range(max(left, next_unmarked), right + 1):
                marked[k] = True
            next_unmarked = right + 1
    out: list = []
    span: list[int] = []
    for k, item in enumerate(items + [None]):
        if item is not None and marked[k] and (not span or span[-1] == k - 1):
            span.append(k)
            continue
        if span:
            accounts = list(dict.fromkeys(items[i][1] for i in span))
            if len(accounts) >= BURST_MIN:
                out.append((items[span[0]][0], items[span[-1]][0], accounts))
        span = [k] if item is not None and marked[k] else []
    return out


def _when(a: datetime, b: datetime) -> str:
    a, b = to_local(a), to_local(b)
    return f"{a:%H:%M}–{b:%H:%M} {a:%d/%m/%Y}" if a.date() == b.date() else f"{a:%H:%M %d/%m/%Y} – {b:%H:%M %d/%m/%Y}"


def find_signals(
    members: list[Member], events: list[tuple[int, str, str | None, str | None, datetime]]
) -> list[tuple[int, list[int], str, str]]:
    """Pure: (strength, account indexes, kind, detail) of every signal among the members.
    events: (account index, kind, device hash, ip, time)."""
    found: list[tuple[int, list[int], str, str]] = []

    devices: dict[str, set[int]] = defaultdict(set)
    by_ip: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    registrations: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for idx, kind, device, ip, at in events:
        if device:
            devices[device].add(idx)
        if ip:
            by_ip[ip].append((at, idx))
            if kind == REGISTER:
                registrations[ip].append((at, idx))
    for device, on_device in devices.items():
        if len(on_device) > 1:
            found.append(
                (
                    STRONG,
                    sorted(on_device),
                    "device",
                    f"{len(on_device)} tài khoản đăng ký/đăng nhập trên cùng một trình duyệt (mã #{device[:8]}).",
                )
            )

    names: dict[tuple[str, date], list[int]] = defaultdict(list)
    for idx, m in enumerate(members):
        if m.date_of_birth is not None:
            names[(_name_key(m.full_name), m.date_of_birth)].append(idx)
    for (_, born), idxs in names.items():
        if len(idxs) > 1:
            spelled = " / ".join(dict.fromkeys(f"“{members[i].full_name}”" for i in idxs))
            found.append(
                (
                    STRONG,
                    idxs,
                    "name_dob",
                    f"{len(idxs)} tài khoản cùng tên {spelled} (không tính dấu, hoa thường), sinh ngày "
                    f"{born:%d/%m/%Y}, với {len(idxs)} số CCCD khác nhau.",
                )
            )

    cccds = [
        ((m.citizen_id[:6],), int(m.citizen_id[6:]), idx)
        for idx, m in enumerate(members)
        if m.citizen_id and m.citizen_id.isdigit() and len(m.citizen_id) == 12
    ]
    for run in _sequence_runs(cccds):
        numbers = sorted(str(members[i].citizen_id) for i in run)
        found.append(
            (
                STRONG if len(run) >= 3 else WEAK,
                run,
                "cccd_sequence",
                f"{len(run)} số CCCD liền nhau: {numbers[0]} … {numbers[-1]}.",
            )
        )
    phones = [((), int(m.phone), idx) for idx, m in enumerate(members) if m.phone and m.phone.isdigit()]
    for run in _sequence_runs(phones):
        numbers = sorted(str(members[i].phone) for i in run)
        found.append(
            (
                STRONG if len(run) >= 3 else WEAK,
                run,
                "phone_sequence",
                f"{len(run)} số điện thoại liền nhau: {numbers[0]} … {numbers[-1]}.",
            )
        )

    for ip, items in registrations.items():
        for start, end, idxs in _bursts(items):
            found.append(
                (
                    MEDIUM,
                    idxs,
                    "burst",
                    f"{len(idxs)} tài khoản đăng ký từ địa chỉ {ip} trong khoảng {_when(start, end)}.",
                )
            )
    for ip, items in by_ip.items():
        for start, end, idxs in _windows(items, IP_WINDOW):
            if len(idxs) <= IP_SHARED_ACCOUNTS:
                found.append(
                    (
                        WEAK,
                        idxs,
                        "ip_window",
                        f"{len(idxs)} tài khoản đăng ký/đăng nhập từ địa chỉ {ip} trong khoảng {_when(start, end)}.",
                    )
                )
    return found


def cluster_members(
    members: list[Member], signals: list[tuple[int, list[int], str, str]], truth: int | None
) -> list[Cluster]:
    """Pure: union-find over the signals' accounts; the listed clusters, most worrying first."""
    uf = UnionFind(len(members))
    for _, idxs, _, _ in signals:
        for other in idxs[1:]:
            uf.union(idxs[0], other)
    grouped: dict[int, list[tuple[int, list[int], str, str]]] = defaultdict(list)
    for signal in signals:
        grouped[uf.find(signal[1][0])].append(signal)
    components: dict[int, list[int]] = defaultdict(list)
    for root in grouped:
        components[root] = []
    for idx in range(len(members)):
        root = uf.find(idx)
        if root in components:
            components[root].append(idx)
    clusters = []
    for root, idxs in components.items():
        found = grouped[root]
        score = sum(s[0] for s in found)
        if score < LIST_THRESHOLD:
            continue
        people = [members[i] for i in idxs]
        predictions = [p for m in people for p in m.predictions]
        covering = None
        distinct = sorted(set(predictions))
        if len(distinct) >= COVERING_MIN:
            covering = Covering(
                sum(1 for m in people if m.predictions),
                len(distinct),
                distinct[0],
                distinct[-1],
                None if truth is None else distinct[0] <= truth <= distinct[-1],
            )
        signals_out = [
            Signal(kind, strength, [members[i].user_id for i in s_idxs], detail)
            for strength, s_idxs, kind, detail in sorted(found, key=lambda s: (-s[0], s[2]))
        ]
        if covering is not None:
            signals_out.append(
                Signal("covering", MEDIUM, [m.user_id for m in people if m.predictions], covering.detail(truth))
            )
        people.sort(key=lambda m: (m.position is None, m.position or 0, m.user_id))
        clusters.append(Cluster(0, people, signals_out, covering, score))
    clusters.sort(key=lambda c: (c.best_position is None, c.best_position or 0, -c.score, -len(c.members)))
    for number, c in enumerate(clusters, start=1):
        c.number = number
    return clusters


async def _positions(db: AsyncSession, round_: Round) -> tuple[dict[int, int], int | None]:
    """Position of each ranked account: the latest frozen version, or the ranking as it stands."""
    snapshot = await latest_snapshot(db, round_.id)
    if snapshot is not None:
        positions: dict[int, int] = {}
        last = 0
        while True:  # only the user id of each frozen row is needed: no full parse
            rows = (
                await db.execute(
                    select(SnapshotRow.position, SnapshotRow.payload)
                    .where(SnapshotRow.snapshot_id == snapshot.id, SnapshotRow.position > last)
                    .order_by(SnapshotRow.position)
                    .limit(10_000)
                )
            ).all()
            if not rows:
                return positions, snapshot.truth
            for position, payload in rows:
                positions[json.loads(payload)["user_id"]] = position
            last = rows[-1][0]
    ranking = await final_ranking(db, round_.id, round_.prediction_truth)
    return {e.user_id: e.position for e in ranking}, round_.prediction_truth


async def build_report(db: AsyncSession, round_id: int) -> Report:
    round_ = await get_round(db, round_id)
    in_round = select(Attempt.user_id).where(Attempt.round_id == round_id).distinct().subquery()
    users = (
        await db.execute(
            select(
                User.id, User.full_name, User.date_of_birth, User.gender, User.phone, User.citizen_id, User.created_at
            )
            .where(User.id.in_(select(in_round.c.user_id)))
            .order_by(User.id)
        )
    ).all()
    members = [Member(*row) for row in users]
    index = {m.user_id: i for i, m in enumerate(members)}
    for user_id, prediction in await db.execute(
        select(Attempt.user_id, Attempt.prediction)
        .where(Attempt.round_id == round_id, Attempt.status == SUBMITTED, Attempt.prediction.is_not(None))
        .order_by(Attempt.id)
    ):
        members[index[user_id]].predictions.append(prediction)  # type: ignore[arg-type]  # not None (query)
    events = [
        (index[u], kind, device, ip, at)
        for u, kind, device, ip, at in await db.execute(
            select(
                AccountEvent.user_id, AccountEvent.kind, AccountEvent.device, AccountEvent.ip, AccountEvent.created_at
            ).where(AccountEvent.user_id.in_(select(in_round.c.user_id)))
        )
    ]
    excluded = set(
        (
            await db.scalars(
                select(ResultExclusion.user_id).where(
                    ResultExclusion.round_id == round_id, ResultExclusion.lifted_at.is_(None)
                )
            )
        ).all()
    )
    positions, truth = await _positions(db, round_)
    for m in members:
        m.position = positions.get(m.user_id)
        m.excluded = m.user_id in excluded
    plan = await prize_plan(db, round_id)
    await db.commit()  # nothing left open while the report is computed
    clusters = cluster_members(members, find_signals(members, events), truth)
    return Report(
        round_, len(members), len(events), clusters, truth, sum(getattr(plan, t) or 0 for t in PRIZE_TIERS), utcnow()
    )


def report_json(report: Report) -> dict:
    return {
        "round_id": report.round.id,
        "participants": report.participants,
        "events": report.events,
        "flagged_accounts": report.flagged,
        "truth": report.truth,
        "prize_positions": report.prize_positions,
        "generated_at": report.generated_at,
        "note": "Evidence for the jury to weigh, never an automatic verdict.",
        "clusters": [
            {
                "number": c.number,
                "score": c.score,
                "best_position": c.best_position,
                "size": len(c.members),
                "members": [
                    {
                        "user_id": m.user_id,
                        "full_name": m.full_name,
                        "date_of_birth": m.date_of_birth,
                        "phone": m.phone,
                        "citizen_id": m.citizen_id,
                        "registered_at": m.registered_at,
                        "predictions": m.predictions,
                        "position": m.position,
                        "excluded": m.excluded,
                    }
                    for m in c.members
                ],
                "signals": [
                    {
                        "kind": s.kind,
                        "label": s.label,
                        "strength": s.strength_label,
                        "detail": s.detail,
                        "why": s.why,
                        "user_ids": s.user_ids,
                    }
                    for s in c.signals
                ],
            }
            for c in report.clusters
        ],
    }
