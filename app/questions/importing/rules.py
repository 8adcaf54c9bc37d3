"""Rules every format shares: the answer key, the options, the difficulty, duplicates within the
file, and "all or nothing" when the result is put together."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.textnorm import comparable, header_key, question_key
from app.questions.importing.results import ParsedQuestion, ParseResult, Problem

LETTERS = "ABCDEF"
MIN_OPTIONS, MAX_OPTIONS = 2, 6

# "A", "a", " A. ", "(A)", "A)", "A:" and "Phương án A" / "Đáp án A" all name option A.
_ANSWER_LETTER = re.compile(r"^(?:phuong an |dap an |pa )?\(?\s*([a-z])\s*[.):]?$")
_SEVERAL_LETTERS = re.compile(r"^[a-f](?:\s*[,;/&+ ]\s*(?:va\s+)?[a-f])+$|^[a-f]{2,6}$")
_DIFFICULTY_WORDS = {"de": 1, "1": 1, "trung binh": 2, "tb": 2, "2": 2, "kho": 3, "3": 3}
_DIFFICULTY_HINT = "dùng Dễ, Trung bình, Khó hoặc 1, 2, 3"


@dataclass(frozen=True)
class CandidateQuestion:
    """A question as read, valid or not; `valid` is False when a problem was found on it."""

    row: int
    text: str | None
    options: tuple[str, ...]
    answer_index: int | None
    topic: str | None
    difficulty: int
    explanation: str | None
    valid: bool
    source: str | None = None


def check_options(options: list[str | None]) -> list[tuple[int, str]]:
    """Problems with a question's options (list of cleaned texts or None, A first), as
    (position of the option the problem belongs to, message)."""
    found: list[tuple[int, str]] = []
    filled = [i for i, o in enumerate(options) if o]
    if filled:
        last = filled[-1]
        for position in range(last):
            if not options[position]:
                following = next(i for i in filled if i > position)
                found.append(
                    (
                        position,
                        f"Phương án {LETTERS[position]} trống nhưng phương án "
                        f"{LETTERS[following]} có nội dung (không được bỏ cách)",
                    )
                )
    if len(filled) < MIN_OPTIONS:
        found.append((min(len(filled), 1), f"Câu hỏi phải có ít nhất {MIN_OPTIONS} phương án"))
    seen: dict[str, int] = {}
    for position in filled:
        option = options[position]
        assert option  # filled
        key = option.casefold()
        if key in seen:
            found.append((position, f"Phương án {LETTERS[position]} trùng với phương án {LETTERS[seen[key]]}"))
        else:
            seen[key] = position
    return found


def parse_answer(text: str | None, options: list[str | None]) -> tuple[int | None, str | None]:
    """(0-based index, None) or (None, message) for the answer-key cell."""
    if not text:
        return None, "Thiếu đáp án: ghi chữ cái của phương án đúng (A, B, C, D, E hoặc F)"
    key = header_key(text)
    if _SEVERAL_LETTERS.match(key):
        return None, f"Đáp án '{text}' có nhiều phương án; mỗi câu hỏi chỉ có đúng một đáp án đúng"
    match = _ANSWER_LETTER.match(key)
    if not match or match.group(1).upper() not in LETTERS:
        return None, f"Đáp án '{text}' không hợp lệ: ghi một chữ cái từ A đến F"
    letter = match.group(1).upper()
    index = LETTERS.index(letter)
    if index >= len(options) or not options[index]:
        return None, f"Đáp án '{letter}' trỏ tới phương án trống"
    # Options are stored without gaps; with no gap before it the position is unchanged.
    return index, None


def parse_difficulty(text: str | None) -> tuple[int, str | None]:
    if not text:
        return 2, None
    level = _DIFFICULTY_WORDS.get(header_key(text))
    if level is None:
        return 2, f"Mức độ '{text}' không hợp lệ: {_DIFFICULTY_HINT}"
    return level, None


def right_option(question) -> str:
    """The right option of a question (ParsedQuestion or CandidateQuestion), as duplicates compare it."""
    return comparable(question.options[question.answer_index])


def same_key(one, other) -> bool:
    return right_option(one) == right_option(other)


def _sort_key(problem: Problem) -> tuple[int, int]:
    return (problem.row or 0, 0)


def assemble_result(
    format_name: str,
    candidates: list[CandidateQuestion],
    problems: list[Problem],
    notes: list[Problem],
    converted_rows: list[int],
    conversions: dict[str, int],
) -> ParseResult:
    """Duplicates within the file, then all or nothing: questions only when there is no problem.
    A duplicate is the same wording with the same options and the same right option; the same
    wording with other options is another question, and with the same options but another right
    option a contradiction (a problem: one of the two rows is wrong)."""
    first_by_key: dict[str, CandidateQuestion] = {}
    duplicate_rows: list[tuple[int, int]] = []
    questions: list[ParsedQuestion] = []
    for candidate in candidates:
        if candidate.text is None:
            continue
        key = question_key(candidate.text, candidate.options)
        first = first_by_key.get(key)
        if first is not None:
            if candidate.valid and first.valid and not same_key(candidate, first):
                assert first.answer_index is not None and candidate.answer_index is not None  # valid
                problems.append(
                    Problem(
                        candidate.row,
                        None,
                        (
                            f"Câu hỏi và các phương án giống hệt dòng {first.row} nhưng đáp án khác "
                            f"({LETTERS[first.answer_index]} ở dòng {first.row}, {LETTERS[candidate.answer_index]} ở dòng "
                            f"{candidate.row}): hai đáp án không thể cùng đúng. Hãy sửa dòng sai (hoặc xóa một dòng)."
                        ),
                    )
                )
            else:
                duplicate_rows.append((candidate.row, first.row))
            continue
        first_by_key[key] = candidate
        if candidate.valid:
            assert candidate.answer_index is not None  # a valid candidate has its key
            questions.append(
                ParsedQuestion(
                    row=candidate.row,
                    text=candidate.text,
                    options=candidate.options,
                    answer_index=candidate.answer_index,
                    topic=candidate.topic,
                    difficulty=candidate.difficulty,
                    explanation=candidate.explanation,
                    source=candidate.source,
                )
            )
    problems = sorted(problems, key=_sort_key)  # stable: keeps column order within a row
    if problems:
        questions = []
    elif not questions and not duplicate_rows:
        problems = [Problem(None, None, "Tệp không có câu hỏi nào. Hãy điền câu hỏi theo mẫu rồi tải lên lại.")]
    return ParseResult(
        format=format_name,
        questions=questions,
        problems=problems,
        converted_rows=converted_rows,
        conversions=conversions,
        duplicate_rows=duplicate_rows,
        notes=notes,
    )


def convert_legacy_fields(
    items: list[tuple[int, list[str | None]]],
) -> tuple[list[list[str | None]], list[int], dict[str, int]]:
    """Legacy-font conversion for the text formats: each item is (line number, the question's
    texts). Returns the converted texts, the converted line numbers and rows per encoding."""
    from app.questions.importing.legacy_fonts import LegacyTextFixer

    fixed = LegacyTextFixer().fix_rows([texts for _, texts in items])
    converted_rows: list[int] = []
    conversions = {"tcvn3": 0, "vni": 0}
    for (row, _), (_, used) in zip(items, fixed):
        if used:
            converted_rows.append(row)
            for encoding in used:
                conversions[encoding] += 1
    return [cells for cells, _ in fixed], converted_rows, conversions
