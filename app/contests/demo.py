"""The demo contest `make run` creates: a real-looking contest with an open weekly round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import Contest, Round
from app.core.clock import VN_TZ, utcnow

BANKS_DIR = Path(__file__).resolve().parents[2] / "question_banks"


@dataclass(frozen=True)
class DemoContest:
    slug: str
    title: str
    description: str
    bank: Path


# The first is the main demo: `seed-demo` creates it last, so the home page (newest first) lists it
# first. The others stay for the tests and the organizers' console examples.
DEMO_CONTESTS = (
    DemoContest(
        slug="nghi-quyet-dai-hoi-xiv",
        title="Cuộc thi trắc nghiệm trực tuyến tìm hiểu Nghị quyết Đại hội đại biểu toàn quốc lần thứ XIV của Đảng",
        description="Cuộc thi mẫu để dùng thử hệ thống, trên ngân hàng câu hỏi về Đại hội XIV của Đảng (tháng 1/2026): "
        "mỗi tuần một đợt thi, 20 câu hỏi trong 15 phút.",
        bank=BANKS_DIR / "nghi-quyet-dai-hoi-xiv.xlsx",
    ),
    DemoContest(
        slug="nghi-quyet-dai-hoi-xiii",
        title="Cuộc thi trắc nghiệm trực tuyến tìm hiểu Nghị quyết Đại hội đại biểu toàn quốc lần thứ XIII của Đảng",
        description="Cuộc thi mẫu trên ngân hàng câu hỏi về Nghị quyết Đại hội XIII: mỗi tuần một đợt thi, 20 câu hỏi "
        "trong 15 phút.",
        bank=BANKS_DIR / "nghi-quyet-dai-hoi-xiii.xlsx",
    ),
    DemoContest(
        slug="chi-thi-05-ct-tw",
        title="Cuộc thi trắc nghiệm trực tuyến tìm hiểu về học tập và làm theo tư tưởng, đạo đức, "
        "phong cách Hồ Chí Minh (Chỉ thị 05-CT/TW)",
        description="Cuộc thi mẫu thứ hai, trên ngân hàng câu hỏi về Chỉ thị 05-CT/TW của Bộ Chính trị.",
        bank=BANKS_DIR / "chi-thi-05-ct-tw.xlsx",
    ),
)

RULES = """\
1. Đối tượng dự thi: công dân Việt Nam từ đủ 14 tuổi trở lên có căn cước công dân. Thành viên Ban Tổ chức, Ban Giám khảo và Tổ giúp việc không tham gia dự thi.
2. Hình thức: thi trắc nghiệm trực tuyến. Mỗi người đăng ký một tài khoản duy nhất bằng số điện thoại và số CCCD.
3. Mỗi đợt thi, người dự thi được thi tối đa 2 lượt; mỗi lượt gồm 20 câu hỏi trắc nghiệm chọn ngẫu nhiên từ ngân hàng câu hỏi, làm trong 15 phút, và 01 câu hỏi dự đoán số người trả lời đúng tất cả các câu hỏi. Kết quả được tính là lượt thi tốt nhất.
4. Hết thời gian làm bài, hệ thống tự động nộp bài với các câu đã trả lời.
5. Xếp giải: người trả lời đúng nhiều câu hơn xếp trên; nếu bằng nhau, người có số dự đoán gần đúng hơn xếp trên; nếu vẫn bằng nhau, người có thời gian làm bài ngắn hơn xếp trên; tiếp theo là người nộp bài sớm hơn.
6. Cơ cấu giải mỗi đợt: 01 giải Nhất, 02 giải Nhì, 03 giải Ba, 10 giải Khuyến khích; giải tập thể cho các đơn vị có số người tham gia đông nhất.
7. Người đoạt giải phải xuất trình CCCD trùng khớp với thông tin đăng ký khi nhận giải. Mọi hành vi gian lận sẽ bị hủy kết quả."""


def _local_midnight(now: datetime) -> datetime:
    local = now.astimezone(VN_TZ)
    return datetime.combine(local.date(), time(0, 0), tzinfo=VN_TZ)


async def ensure_demo_contest(db: AsyncSession, demo: DemoContest) -> tuple[Contest, bool]:
    """Creates a demo contest with an open week-1 round, an upcoming week 2 and an ended round ready
    to be closed by a judge (idempotent)."""
    contest = await db.scalar(select(Contest).where(Contest.slug == demo.slug))
    if contest is not None:
        return contest, False
    contest = Contest(
        slug=demo.slug,
        title=demo.title,
        description=demo.description,
        rules_text=RULES,
        organizer_name="Ban Tuyên giáo và Dân vận Tỉnh ủy (dữ liệu mẫu)",
    )
    db.add(contest)
    await db.flush()
    start = _local_midnight(utcnow())
    for week in range(2):
        db.add(
            Round(
                contest_id=contest.id,
                name=f"Tuần {week + 1}",
                open_at=start + timedelta(days=7 * week),
                close_at=start + timedelta(days=7 * (week + 1)),
                questions_per_attempt=20,
                time_limit_seconds=15 * 60,
                attempts_allowed=2,
                quotas=[],
                prediction_enabled=True,
            )
        )
    # A round that has already ended, so judges can try closing and the exports right away.
    db.add(
        Round(
            contest_id=contest.id,
            name="Đợt thi thử (đã kết thúc, chờ chốt kết quả)",
            open_at=start - timedelta(days=8),
            close_at=start - timedelta(days=1),
            questions_per_attempt=20,
            time_limit_seconds=15 * 60,
            attempts_allowed=2,
            quotas=[],
            prediction_enabled=True,
        )
    )
    await db.commit()
    return contest, True
