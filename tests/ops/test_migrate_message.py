"""`python -m app migrate` says what it did: a new database is created, a current one is left alone."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.live import ROOT


def test_migrate_reports_creating_then_nothing_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["VAR_DIR"] = str(tmp_path)  # an empty embedded SQLite database

    def migrate() -> str:
        done = subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "Đã tạo cơ sở dữ liệu mới" in migrate()
    assert "không có gì để cập nhật" in migrate()
