"""Benchmark of the bank importer's file parsing (not a test): builds a 10,000-question .xlsx in
the organizers' template and times parse_bank_file on it.

    .venv/bin/python load_tests/bench_import.py [--questions 10000] [--legacy tcvn3|vni]

Prints the build and parse times and the process's peak RSS (what the server actually pays)
measured in a fresh child process, so that building the file does not count. Target: parsing
under 5 s and under 300 MB peak RSS."""
from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook  # noqa: E402

from app.questions.importing.template import TEMPLATE_HEADERS  # noqa: E402

WORDS = ("Đảng Cộng sản Việt Nam nghị quyết đại hội đại biểu toàn quốc lần thứ XIII Ban Chấp hành Trung ương "
         "Bộ Chính trị chủ trương đường lối phát triển kinh tế xã hội quốc phòng an ninh đối ngoại nhân dân "
         "xây dựng chỉnh đốn tổ chức cán bộ đảng viên học tập làm theo tư tưởng đạo đức phong cách Hồ Chí Minh "
         "năm mục tiêu nhiệm vụ giải pháp đột phá chiến lược tầm nhìn đến 2030 2045").split()
TOPICS = ["Nghị quyết XIII", "Chỉ thị 05", "Xây dựng Đảng", "Kinh tế", "Quốc phòng - An ninh"]
LEVELS = ["Dễ", "Trung bình", "Khó"]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def build_bank(questions: int, legacy: str | None) -> bytes:
    from app.questions.importing.legacy_fonts import encode_tcvn3, encode_vni
    encode = {"tcvn3": encode_tcvn3, "vni": encode_vni}.get(legacy, lambda s: s)
    rng = random.Random(20240201)
    # A normal workbook, like Excel writes: shared strings and a <dimension> at the top.
    wb = Workbook()
    ws = wb.active
    ws.title = "Câu hỏi"
    ws.append(TEMPLATE_HEADERS)
    for number in range(1, questions + 1):
        count = rng.choice([2, 3, 4, 4, 4, 5, 6])
        options = []
        while len(options) < count:
            option = sentence(rng, rng.randint(2, 8))
            if option.casefold() not in (o.casefold() for o in options):
                options.append(option)
        row = [number, encode(f"Câu {number}: {sentence(rng, rng.randint(12, 30))}?"),
               *[encode(o) for o in options], *[None] * (6 - count), "ABCDEF"[rng.randrange(count)],
               encode(rng.choice(TOPICS)), encode(rng.choice(LEVELS)), encode(sentence(rng, rng.randint(10, 40)))]
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def parse_in_this_process(path: str) -> None:
    from app.questions.importing import parse_bank_file
    data = Path(path).read_bytes()
    started = time.perf_counter()
    result = parse_bank_file(data, "bench.xlsx")
    seconds = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mb": round(peak_rss_mb, 1),
                      "questions": len(result.questions), "problems": len(result.problems),
                      "converted_rows": len(result.converted_rows)}))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--legacy", choices=["tcvn3", "vni"], default=None)
    parser.add_argument("--parse-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.parse_only:
        parse_in_this_process(args.parse_only)
        return 0
    started = time.perf_counter()
    data = build_bank(args.questions, args.legacy)
    built = time.perf_counter() - started
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:  # the benchmark's input, not the parser's
        handle.write(data)
        handle.flush()
        output = subprocess.run([sys.executable, __file__, "--parse-only", handle.name],
                                check=True, capture_output=True, text=True).stdout
    figures = json.loads(output)
    print(f"file: {args.questions} questions{' in ' + args.legacy if args.legacy else ''}, "
          f"{len(data) / 1e6:.1f} MB, built in {built:.1f} s")
    print(f"parse_bank_file: {figures['seconds']:.2f} s, peak RSS {figures['peak_rss_mb']:.0f} MB "
          f"(whole process, including Python and imports); {figures['questions']} questions, "
          f"{figures['problems']} problems, {figures['converted_rows']} rows converted")
    ok = figures["seconds"] < 5 and figures["peak_rss_mb"] < 300 and figures["questions"] == args.questions
    print("target (< 5 s, < 300 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
