"""Moodle Aiken text: one multiple-choice question per group of lines.

    Đại hội XIII của Đảng họp năm nào?
    A. 2016
    B. 2021
    C) 2026
    ANSWER: B

The question may run over several lines before the first option; options are lettered in order
from A (at most F here); "ANSWER:" with a single letter closes the question."""

from __future__ import annotations

import re

from app.core.textnorm import clean_text
from app.questions.importing.guards import format_count
from app.questions.importing.results import ImportLimits, ParseResult, Problem
from app.questions.importing.rules import (
    LETTERS,
    MAX_OPTIONS,
    CandidateQuestion,
    assemble_result,
    check_options,
    convert_legacy_fields,
)

_OPTION = re.compile(r"^\s*([A-Za-z])\s*[.)]\s+(.*)$")
_ANSWER = re.compile(r"^\s*ANSWER\s*:\s*(.*)$", re.IGNORECASE)
_ONE_LETTER = re.compile(r"^([A-Za-z])\s*\.?$")


class _Question:
    def __init__(self, line: int):
        self.line = line
        self.text_lines: list[str] = []
        self.options: list[str] = []
        self.answer: int | None = None
        self.failed = False


def parse_aiken(text: str, limits: ImportLimits) -> ParseResult:
    problems: list[Problem] = []
    finished: list[_Question] = []
    current: _Question | None = None

    def fail(line: int, message: str) -> None:
        problems.append(Problem(line, None, message))
        if current is not None:
            current.failed = True

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if current is None:
            current = _Question(number)
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        expected = LETTERS[len(current.options)] if len(current.options) < len(LETTERS) else None
        if answer:
            _close(current, answer.group(1).strip(), number, fail)
            finished.append(current)
            current = None
            if len(finished) > limits.max_rows:
                return ParseResult(
                    "aiken",
                    [],
                    [
                        Problem(
                            None,
                            None,
                            f"Tệp có hơn {format_count(limits.max_rows)} câu hỏi, "
                            f"vượt giới hạn một lần nhập. Hãy chia thành nhiều tệp.",
                        )
                    ],
                )
        elif option and current.text_lines and expected is not None and option.group(1).upper() == expected:
            current.options.append(option.group(2))
        elif option and current.options:
            if expected is None:
                fail(number, f"Câu hỏi có quá {MAX_OPTIONS} phương án (A–F).")
            else:
                fail(
                    number, f"Phương án '{option.group(1)}' không đúng thứ tự: phương án tiếp theo phải là {expected}."
                )
        elif current.options:
            fail(
                number,
                "Dòng này không phải phương án (A. …) cũng không phải dòng 'ANSWER: …'. "
                "Mỗi câu hỏi kết thúc bằng dòng ANSWER.",
            )
        else:
            current.text_lines.append(line)
    if current is not None:
        fail(current.line, "Câu hỏi cuối thiếu dòng 'ANSWER: …' ghi đáp án đúng.")
        finished.append(current)
    if not finished:
        problems.append(Problem(None, None, "Tệp Aiken không có câu hỏi nào."))

    items: list[tuple[int, list[str | None]]] = [(q.line, [" ".join(q.text_lines), *q.options]) for q in finished]
    fixed, converted_rows, conversions = convert_legacy_fields(items)
    candidates = []
    for question, texts in zip(finished, fixed):
        stem, *options = [clean_text(t) if t else None for t in texts]
        found = check_options(options + [None] * (MAX_OPTIONS - len(options)))
        for _, message in found:
            problems.append(Problem(question.line, None, message))
        if not stem:
            problems.append(Problem(question.line, None, "Thiếu nội dung câu hỏi"))
        for value in [stem or "", *(o or "" for o in options)]:
            if len(value) > limits.max_cell_chars:
                problems.append(
                    Problem(
                        question.line,
                        None,
                        f"Nội dung dài {format_count(len(value))} ký tự, vượt giới hạn "
                        f"{format_count(limits.max_cell_chars)} ký tự.",
                    )
                )
                question.failed = True
        valid = not question.failed and not found and bool(stem)
        candidates.append(
            CandidateQuestion(
                row=question.line,
                text=stem,
                options=tuple(o for o in options if o),
                answer_index=question.answer,
                topic=None,
                difficulty=2,
                explanation=None,
                valid=valid,
            )
        )
    return assemble_result("aiken", candidates, problems, [], converted_rows, conversions)


def _close(question: _Question, answer: str, line: int, fail) -> None:
    if not question.text_lines:
        fail(line, "Dòng 'ANSWER' không có câu hỏi phía trên.")
        return
    if len(question.options) < 2:
        return  # reported with the other option rules
    letter = _ONE_LETTER.match(answer)
    if not letter:
        if re.match(r"^[A-Za-z](\s*[,;& ]\s*[A-Za-z])+$", answer):
            fail(
                line,
                f"Đáp án '{answer}' có nhiều phương án đúng; dạng câu hỏi này chưa được hỗ trợ, "
                f"mỗi câu chỉ có đúng một đáp án đúng.",
            )
        else:
            fail(line, f"Đáp án '{answer}' không hợp lệ: ghi một chữ cái, ví dụ 'ANSWER: B'.")
        return
    index = LETTERS.find(letter.group(1).upper())
    if index == -1 or index >= len(question.options):
        fail(line, f"Đáp án '{letter.group(1).upper()}' trỏ tới phương án không có trong câu hỏi.")
        return
    question.answer = index
