"""Command line: `python -m app <command>`. Every command runs on the configured database."""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.config import get_settings


def _sessionmaker():
    from app.core.db import create_engine, make_sessionmaker

    engine = create_engine(get_settings())
    return engine, make_sessionmaker(engine)


async def _find_contest(db, ref: str):
    from app.contests.models import Contest

    query = select(Contest).where(Contest.id == int(ref)) if ref.isdigit() else select(Contest).where(Contest.slug == ref)
    contest = await db.scalar(query)
    if contest is None:
        raise SystemExit(f"Không tìm thấy cuộc thi '{ref}'.")
    return contest


async def import_bank_file(db, contest_id: int, path: Path) -> int:
    """Parses and imports one bank file; prints the report; returns the process exit code."""
    from app.questions.importing import parse_bank_file
    from app.questions.service import add_parsed_questions

    result = parse_bank_file(path.read_bytes(), path.name)
    if result.problems:
        print(f"{path.name}: không nhập được, {len(result.problems)} lỗi (chưa ghi câu nào):", file=sys.stderr)
        for p in result.problems:
            where = ", ".join(x for x in (f"dòng {p.row}" if p.row else "", f"cột {p.column}" if p.column else "") if x)
            print(f"  - {where + ': ' if where else ''}{p.message}", file=sys.stderr)
        return 1
    summary = await add_parsed_questions(db, contest_id, result.questions)
    print(f"{path.name}: thêm {summary.added} câu hỏi; {len(summary.duplicates_in_bank)} câu đã có trong ngân hàng; "
          f"{len(result.duplicate_rows)} câu trùng trong tệp.")
    return 0


async def cmd_seed_demo(_args) -> int:
    from app.contests.demo import DEMO_CONTESTS, ensure_demo_contest

    engine, sessions = _sessionmaker()
    status = 0
    try:
        async with sessions() as db:
            for demo in DEMO_CONTESTS:
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
            contest = await _find_contest(db, args.contest)
            return await import_bank_file(db, contest.id, Path(args.file))
    finally:
        await engine.dispose()


async def cmd_sweep(_args) -> int:
    from app.attempts.cache import AttemptCache
    from app.attempts.service import AttemptDeps, close_all_expired
    from app.attempts.tokens import OptionTokens
    from app.core.redis import create_redis

    settings = get_settings()
    engine, sessions = _sessionmaker()
    redis = create_redis(settings)
    try:
        async with sessions() as db:
            deps = AttemptDeps(db, AttemptCache(redis, settings.attempt_cache_ttl_seconds),
                               OptionTokens(settings.effective_secret_key),
                               timedelta(seconds=settings.deadline_grace_seconds))
            print(f"Đã đóng {await close_all_expired(deps, limit=100_000)} lượt thi quá hạn.")
            return 0
    finally:
        await redis.aclose()
        await engine.dispose()


async def cmd_rebuild_board(args) -> int:
    from app.core.errors import AppError
    from app.core.redis import create_redis
    from app.leaderboard.connection import create_board_redis
    from app.leaderboard.rebuild import rebuild_boards

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
        final = "" if report.final_participants is None else f"; bảng kết quả chính thức: {report.final_participants} người"
        print(f"Đã dựng lại bảng xếp hạng đợt thi #{args.round}: {report.live_participants} người dự thi{final}.")
        return 0
    finally:
        await boards.aclose()
        await redis.aclose()
        await engine.dispose()


def cmd_migrate(_args) -> int:
    from app.core.migrate import upgrade_to_head

    upgrade_to_head()
    print("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Thi trắc nghiệm: lệnh quản trị")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="create the demo contest and import the sample bank").set_defaults(
        func=cmd_seed_demo, is_async=True)
    imp = sub.add_parser("import-bank", help="import a question bank file into a contest")
    imp.add_argument("file")
    imp.add_argument("--contest", required=True, help="contest id or slug")
    imp.set_defaults(func=cmd_import_bank, is_async=True)
    sub.add_parser("sweep", help="close attempts whose deadline has passed").set_defaults(func=cmd_sweep, is_async=True)
    board = sub.add_parser("rebuild-board", help="rebuild a round's leaderboards from the database")
    board.add_argument("--round", type=int, required=True, help="round id")
    board.set_defaults(func=cmd_rebuild_board, is_async=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "is_async", False):
        return asyncio.run(args.func(args))
    return args.func(args)
