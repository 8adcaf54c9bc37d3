"""Benchmark (not a test): writing the final-ranking export for 100,000 ranked rows with the
same streaming writer the app uses (app.exports.xlsx, openpyxl write-only). Rows are generated
in memory like those read from a frozen snapshot, so the figure is the spreadsheet writing cost.

    .venv/bin/python -m load_tests.bench_export [rows]

Targets: under 10 s and under 300 MB peak memory (ru_maxrss of this process)."""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from app.exports.reports import RANKING_COLUMNS, ranking_cells
from app.exports.xlsx import XlsxExport
from app.judging.snapshots import FrozenRow


def rows(n: int):
    start = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    for i in range(1, n + 1):
        yield FrozenRow(position=i, user_id=i, full_name=f"Nguyễn Thị Phương Thảo {i}", unit=f"Sở Giáo dục và Đào tạo {i % 500}",
                        province="Thừa Thiên Huế", district="Thành phố Huế", commune="Phường Phú Hội", attempt_id=i,
                        correct=20 - i % 21, total=20, prediction=i % 1000, distance=i % 977, time_ms=300_000 + i,
                        submitted_at=start + timedelta(seconds=i))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    path = Path(tempfile.mkdtemp()) / "ranking.xlsx"
    began = time.perf_counter()
    export = XlsxExport(path, "BẢNG XẾP HẠNG CHUNG CUỘC — benchmark", ["Mã kiểm tra SHA-256: " + "0" * 64])
    sheet = export.open_sheet("Xếp hạng", RANKING_COLUMNS)
    for row in rows(n):
        sheet.append(ranking_cells(row))
    sheet.finish()
    export.close()
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} rows: {seconds:.2f} s, peak RSS {peak_mb:.0f} MB, file {path.stat().st_size / 1e6:.1f} MB "
          f"({n / seconds:,.0f} rows/s); targets < 10 s and < 300 MB: "
          f"{'met' if seconds < 10 and peak_mb < 300 else 'NOT met'}")
    # Baseline in the same run: openpyxl's own write-only mode on a fifth of the rows.
    from openpyxl import Workbook

    m = max(1, n // 5)
    began = time.perf_counter()
    book = Workbook(write_only=True)
    ws = book.create_sheet("Xếp hạng")
    for row in rows(m):
        cells = list(ranking_cells(row))
        cells[11] = cells[11].replace(tzinfo=None)
        ws.append(cells)
    book.save(Path(tempfile.mkdtemp()) / "baseline.xlsx")
    baseline = time.perf_counter() - began
    print(f"openpyxl write-only, {m} rows: {baseline:.2f} s; per row it is "
          f"{(baseline / m) / (seconds / n):.1f}x slower than the app's writer (same run)")


if __name__ == "__main__":
    main()
