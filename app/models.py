"""Imports every feature's models so that Base.metadata knows all tables (Alembic, tests)."""
from app.accounts.models import PasswordReset, User  # noqa: F401
from app.admin.models import (AuditEntry, ContestBanner, ContestLocality, ContestUnit,  # noqa: F401
                              PrizePlan, StaffAssignment)
from app.attempts.models import Attempt, AttemptAnswer  # noqa: F401
from app.contests.models import Contest, Round  # noqa: F401
from app.core.db import Base  # noqa: F401
from app.integrity.models import AccountEvent, ResultExclusion  # noqa: F401
from app.leaderboard.models import LeaderboardSettings  # noqa: F401
from app.judging.models import RankingSnapshot, SnapshotRow  # noqa: F401
from app.questions.models import Option, Question  # noqa: F401
from app.outreach.models import Invitation, InvitationSignup  # noqa: F401
