"""Imports every feature's models so that Base.metadata knows all tables (Alembic, tests)."""

from app.accounts.models import PasswordReset, User  # noqa: F401
from app.attempts.models import Attempt, AttemptAnswer  # noqa: F401
from app.contests.models import Contest, ContestBanner, ContestLocality, ContestUnit, PrizePlan, Round  # noqa: F401
from app.core.db import Base  # noqa: F401
from app.exports.models import ExportChunk, ExportJobRecord  # noqa: F401
from app.integrity.models import AccountEvent, ResultExclusion  # noqa: F401
from app.judging.models import RankingSnapshot, SnapshotRow  # noqa: F401
from app.leaderboard.privacy import LeaderboardSettings  # noqa: F401
from app.outreach.models import Invitation, InvitationSignup  # noqa: F401
from app.questions.models import BankImport, BankImportFile, Option, Question  # noqa: F401
from app.staff.models import AuditEntry, StaffAssignment  # noqa: F401
