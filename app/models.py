"""Imports every feature's models so that Base.metadata knows all tables (Alembic, tests)."""
from app.accounts.models import User  # noqa: F401
from app.attempts.models import Attempt, AttemptAnswer  # noqa: F401
from app.contests.models import Contest, Round  # noqa: F401
from app.core.db import Base  # noqa: F401
from app.questions.models import Option, Question  # noqa: F401
