"""Command line: `python -m app <command>`. Every command runs on the configured database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from sqlalchemy import select

from app.config import get_settings


def _sessionmaker():
    from app.core.db import create_engine, make_sessionmaker

    engine = create_engine(get_settings())
    return engine, make_sessionmaker(engine)


async def _find_contest(db, ref: str):
    from app.contests.models import Contest

    query = (
        select(Contest).where(Contest.id == int(ref))
        if ref.isascii() and ref.isdigit()
        else select(Contest).where(Contest.slug == ref)
    )
    contest = await db.scalar(query)
    if contest is None:
        raise SystemExit(f"Không tìm thấy cuộc thi '{ref}'.")
    return contest


async def import_bank_file(db, contest_id: int, path: Path, progress=None) -> int:
    """Imports one bank file into a contest (all or nothing) and prints the same Vietnamese report
    as the organizer's page: the summary and every note on stdout, problems on stderr. Returns
    the process exit code (1 when the file had problems and nothing was written)."""
    from app.questions.bank import import_bank, limits_from_settings, report_lines

    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"Không đọc được tệp {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    report = await import_bank(
        db, contest_id, data, path.name, limits=limits_from_settings(get_settings()), progress=progress
    )
    if progress is not None:
        progress.close()
    summary, *details = report_lines(report)
    if report.ok:
        print(summary)
        for line in details:
            print(line)
        return 0
    print(summary, file=sys.stderr)
    for line in details:
        print(line, file=sys.stderr)
    return 1


async def cmd_seed_demo(_args) -> int:
    from app.contests.demo import DEMO_CONTESTS, ensure_demo_contest

    engine, sessions = _sessionmaker()
    status = 0
    try:
        async with sessions() as db:
            # The first demo is created last: the home page lists the newest contest first.
            for demo in reversed(DEMO_CONTESTS):
                contest, created = await ensure_demo_contest(db, demo)
                print(("Đã tạo" if created else "Đã có") + f" cuộc thi mẫu #{contest.id}: {contest.title}")
                status |= await import_bank_file(db, contest.id, demo.bank)
        return status
    finally:
        await engine.dispose()


async def cmd_import_bank(args) -> int:
    engine, sessions = _sessionmaker()
    try:
        async with sessions() as db:
            from app.questions.progress import ProgressBar

            contest = await _find_contest(db, args.contest)
            return await import_bank_file(db, contest.id, Path(args.file), progress=ProgressBar())
    finally:
        await engine.dispose()


async def cmd_sweep(_args) -> int:
    from app.attempts.service import AttemptDeps, close_all_expired
    from app.wiring import build_runtime, close_runtime

    runtime = build_runtime(get_settings())
    try:
        async with runtime.sessionmaker() as db:
            closed = await close_all_expired(AttemptDeps.of(runtime, db), limit=100_000)
            print(f"Đã đóng {closed} lượt thi quá hạn.")
            return 0
    finally:
        await close_runtime(runtime)


async def cmd_worker(_args) -> int:
    """Runs background jobs (app/jobs) until SIGTERM/SIGINT; a running job is given its shutdown
    grace, then handed back to the queue."""
    from app.core.logs import configure_logging
    from app.jobs.worker import build_worker, yield_cpu
    from app.wiring import build_runtime, close_runtime

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level, settings.access_log)
    # Answer saves on this host come first (README, "Background jobs"): before any thread starts.
    logging.getLogger("app.jobs").info("worker CPU priority: %s", yield_cpu(settings))
    runtime = build_runtime(settings)
    await runtime.jobs.connect()
    worker = build_worker(runtime)
    try:
        await worker.start()
    finally:
        await close_runtime(runtime)
    return 0


async def cmd_rebuild_board(args) -> int:
    from app.core.errors import AppError
    from app.core.redis import create_redis
    from app.leaderboard.board import create_board_redis
    from app.leaderboard.rebuild import rebuild_boards

    if args.queue:  # minutes for a national round: hand it to the workers
        from app.jobs.queue import JobQueue

        queue = JobQueue(get_settings())
        await queue.connect()
        try:
            key = await queue.enqueue(
                "rebuild_board_task", key=f"rebuild:{args.round}", timeout=3600, heartbeat=0, round_id=args.round
            )
        finally:
            await queue.close()
        print(f"Đã giao việc dựng lại bảng xếp hạng đợt thi #{args.round} cho máy xử lý ({key}).")
        return 0
    engine, sessions = _sessionmaker()
    redis = create_redis(get_settings())
    boards = create_board_redis(get_settings(), redis)
    try:
        async with sessions() as db:
            try:
                report = await rebuild_boards(db, boards, args.round)
            except AppError as exc:  # unknown round, a rebuild already running
                print(exc.message, file=sys.stderr)
                return 1
        final = (
            "" if report.final_participants is None else f"; bảng kết quả chính thức: {report.final_participants} người"
        )
        print(f"Đã dựng lại bảng xếp hạng đợt thi #{args.round}: {report.live_participants} người dự thi{final}.")
        return 0
    finally:
        await boards.aclose()
        await redis.aclose()
        await engine.dispose()


def cmd_banks_check(args) -> int:
    """The editorial checks of app.questions.quality over the sample banks' JSON sources: prints
    each bank's figures and warnings; exit code 1 when any bank has a warning."""
    from app.questions.quality import check_source_file

    paths = [Path(p) for p in args.files] or sorted(
        (Path(__file__).resolve().parents[1] / "question_banks" / "sources").glob("*.json")
    )
    failed = 0
    for path in paths:
        report = check_source_file(path)
        print(f"{'ĐẠT' if report.ok else 'CHƯA ĐẠT'} {path.name}: {report.figures()}")
        for warning in report.warnings:
            print(f"  - {warning}")
        failed += not report.ok
    return 1 if failed else 0


def cmd_migrate(_args) -> int:
    from app.core.migrate import current_revision, upgrade_to_head

    before = current_revision()
    upgrade_to_head()
    after = current_revision()
    if before == after:
        print(f"Cơ sở dữ liệu đã ở phiên bản mới nhất ({after}): không có gì để cập nhật.")
    elif before is None:
        print(f"Đã tạo cơ sở dữ liệu mới, phiên bản {after}.")
    else:
        print(f"Đã cập nhật cơ sở dữ liệu từ phiên bản {before} lên {after}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Thi trắc nghiệm: lệnh quản trị")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="create the demo contest and import the sample bank").set_defaults(
        func=cmd_seed_demo, is_async=True
    )
    imp = sub.add_parser("import-bank", help="import a question bank file into a contest")
    imp.add_argument("file")
    imp.add_argument("--contest", required=True, help="contest id or slug")
    imp.set_defaults(func=cmd_import_bank, is_async=True)
    check = sub.add_parser(
        "banks-check", help="check the sample question banks (key spread, cues, near-duplicates, sources)"
    )
    check.add_argument("files", nargs="*", help="bank sources (.json); default: question_banks/sources/*.json")
    check.set_defaults(func=cmd_banks_check)
    sub.add_parser("sweep", help="close attempts whose deadline has passed").set_defaults(func=cmd_sweep, is_async=True)
    sub.add_parser("worker", help="run background jobs (exports, board rebuilds, the deadline sweep)").set_defaults(
        func=cmd_worker, is_async=True
    )
    board = sub.add_parser("rebuild-board", help="rebuild a round's leaderboards from the database")
    board.add_argument("--round", type=int, required=True, help="round id")
    board.add_argument(
        "--queue", action="store_true", help="hand the rebuild to the workers instead of running it here"
    )
    board.set_defaults(func=cmd_rebuild_board, is_async=True)
    _add_console_commands(sub)
    purge = sub.add_parser("purge-signals", help="delete device/address events older than SIGNAL_RETENTION_DAYS")
    purge.add_argument("--days", type=int, help="retention in days (default: SIGNAL_RETENTION_DAYS)")
    purge.set_defaults(func=cmd_purge_signals, is_async=True)
    lanes = sub.add_parser(
        "balancer-config", help="print the HAProxy configuration of the two lanes (README, 'Scaling out')"
    )
    lanes.add_argument("--public", nargs="+", required=True, metavar="HOST:PORT", help="the public lane's servers")
    lanes.add_argument("--inside", nargs="+", required=True, metavar="HOST:PORT", help="the inside lane's servers")
    lanes.add_argument("--bind", default=":8000", help="HAProxy's bind line, e.g. ':443 ssl crt /etc/haproxy/x.pem'")
    lanes.add_argument("--maxconn", type=int, default=4000, help="client connections at once (2 open files each)")
    lanes.add_argument(
        "--public-maxconn", type=int, default=32, help="requests at once per public-lane server (16 x its workers)"
    )
    lanes.set_defaults(func=cmd_balancer_config)
    return parser


def cmd_balancer_config(args) -> int:
    from app.core.lanes import balancer_config

    config = balancer_config(
        args.public, args.inside, bind=args.bind, maxconn=args.maxconn, public_server_maxconn=args.public_maxconn
    )
    print(config, end="")
    return 0


async def cmd_purge_signals(args) -> int:
    """Prize-integrity evidence (device id hashes and addresses of registrations and logins) is
    kept only for the retention period; run this daily (cron, systemd timer)."""
    from app.integrity.signals import purge_events

    days = args.days if args.days is not None else get_settings().signal_retention_days
    if days < 0:
        print("Số ngày lưu giữ phải không âm.", file=sys.stderr)
        return 2
    engine, sessions = _sessionmaker()
    try:
        async with sessions() as db:
            deleted = await purge_events(db, days)
        print(f"Đã xóa {deleted} bản ghi thiết bị/địa chỉ cũ hơn {days} ngày.")
        return 0
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "is_async", False):
        return asyncio.run(args.func(args))
    return args.func(args)


# --- consoles (organizers, judges) -----------------------------------------------------------------


async def cmd_create_admin(args) -> int:
    import getpass
    import os

    from app.core.errors import AppError
    from app.staff.accounts import create_admin

    password = args.password or os.environ.get("ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            print("Mật khẩu nhập lại không khớp.", file=sys.stderr)
            return 2
    engine, sessions = _sessionmaker()
    try:
        async with sessions() as db:
            try:
                user, created = await create_admin(db, args.phone, args.name, password)
            except AppError as exc:
                print(exc.message, file=sys.stderr)
                return 2
        print(
            ("Đã tạo" if created else "Đã cấp quyền quản trị cho") + f" tài khoản #{user.id} ({user.phone}). "
            "Đăng nhập bằng số điện thoại này rồi mở /admin."
        )
        return 0
    finally:
        await engine.dispose()


class ProgressBar:
    """A text progress bar on stderr (redrawn in place on a terminal, a line per 10 % otherwise)."""

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(self.width * share)
        line = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} ({share:.0%})"
        if self.stream.isatty():
            self.stream.write("\r" + line)
            self.stream.flush()
        elif int(share * 10) != self.last_decile:
            self.last_decile = int(share * 10)
            print(line, file=self.stream)

    def close(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")


async def cmd_export(args) -> int:
    from app.core.errors import AppError
    from app.exports.reports import export_kind

    kind = export_kind(args.kind)
    out = Path(args.out or f"{kind.filename}-dot-{args.round}.xlsx")
    engine, sessions = _sessionmaker()
    bar = ProgressBar(kind.label)
    try:
        async with sessions() as db:
            try:
                rows = await kind.writer(db, args.round, out, bar)
            except AppError as exc:
                print(exc.message, file=sys.stderr)
                return 1
        bar.close()
        print(f"Đã xuất {rows} dòng vào {out}")
        return 0
    finally:
        await engine.dispose()


def cmd_verify_export(args) -> int:
    from app.judging.verify_export import verify_file

    verdict = verify_file(Path(args.file))
    print(verdict.message, file=sys.stdout if verdict.matches else sys.stderr)
    return 0 if verdict.matches else 1


def _add_console_commands(sub) -> None:
    admin = sub.add_parser("create-admin", help="create (or promote) the first admin account")
    admin.add_argument("--phone", required=True)
    admin.add_argument("--name", default="Quản trị hệ thống")
    admin.add_argument("--password", help="default: $ADMIN_PASSWORD, else asked for")
    admin.set_defaults(func=cmd_create_admin, is_async=True)
    from app.exports.reports import EXPORTS

    export = sub.add_parser("export", help="write one of a round's Excel exports, with a progress bar")
    export.add_argument("kind", choices=sorted(EXPORTS))
    export.add_argument("--round", type=int, required=True, help="round id")
    export.add_argument("--out", help="output .xlsx path")
    export.set_defaults(func=cmd_export, is_async=True)
    verify = sub.add_parser(
        "verify-export", help="recompute a ranking export's SHA-256 from the .xlsx alone (exit 0: matches, 1: does not)"
    )
    verify.add_argument("file", help="the exported ranking (.xlsx)")
    verify.set_defaults(func=cmd_verify_export, is_async=False)
