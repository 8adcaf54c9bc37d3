"""Moodle GIFT text: multiple choice with exactly one correct answer.

    // comment
    $CATEGORY: $course$/Nghị quyết XIII        <- becomes the topic of the questions below it
    ::Câu 1:: Đại hội XIII họp năm nào? {
        =2021 #Đúng
        ~2016
        ~2026
        ####Đại hội XIII họp từ 25/1 đến 1/2/2021.   <- general feedback becomes the explanation
    }

Questions are separated by blank lines. A "missing word" question ("Đại hội {=XIII ~XII} ...")
keeps a blank "_____" where the answers were. Every other GIFT question type (true/false, short
answer, matching, numerical, essay, descriptions, several correct answers or weights) is reported
as unsupported, with its line number."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from app.core.textnorm import clean_text
from app.questions.importing.guards import format_count
from app.questions.importing.results import ImportLimits, ParseResult, Problem
from app.questions.importing.rules import (
    MAX_OPTIONS,
    CandidateQuestion,
    assemble_result,
    check_options,
    convert_legacy_fields,
)

MISSING_WORD_BLANK = "_____"
_TITLE = re.compile(r"^\s*::(.*?)::", re.DOTALL)
_FORMAT = re.compile(r"^\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]+>")
_TRUE_FALSE = re.compile(r"^(T|F|TRUE|FALSE)\s*(#.*)?$", re.IGNORECASE | re.DOTALL)
_WEIGHT = re.compile(r"^%-?\d+(?:[.,]\d+)?%")
_CATEGORY = re.compile(r"^\s*\$CATEGORY\s*:\s*(.*)$", re.IGNORECASE)
_ESCAPABLE = set("~=#{}:\\")


@dataclass
class _Answer:
    correct: bool
    text: str = ""
    feedback: str = ""
    weighted: bool = False


@dataclass
class _Block:
    line: int
    text: str
    topic: str | None
    lines: list[str] = field(default_factory=list)


def _unescape(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt if nxt in _ESCAPABLE else "\\" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _find_unescaped(text: str, chars: str, start: int = 0) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in chars:
            return i
        i += 1
    return -1


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    topic: str | None = None
    current: list[tuple[int, str]] = []

    def flush() -> None:
        if current:
            blocks.append(_Block(current[0][0], "\n".join(line for _, line in current), topic))
            current.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        category = _CATEGORY.match(line)
        if category:
            flush()
            path = category.group(1).strip()
            topic = clean_text(path.rsplit("/", 1)[-1]) or None
            continue
        if not stripped:
            flush()
            continue
        current.append((number, line))
    flush()
    return blocks


def _split_answers(body: str) -> tuple[list[_Answer], str | None]:
    """Answers of a {...} body and the general feedback (after ####)."""
    general = None
    cut = body.find("####")
    while cut != -1 and cut > 0 and body[cut - 1] == "\\":
        cut = body.find("####", cut + 1)
    if cut != -1:
        general, body = body[cut + 4 :], body[:cut]
    answers: list[_Answer] = []
    i = _find_unescaped(body, "=~")
    while i != -1:
        nxt = _find_unescaped(body, "=~", i + 1)
        chunk = body[i + 1 : nxt if nxt != -1 else len(body)]
        answer = _Answer(correct=body[i] == "=")
        weight = _WEIGHT.match(chunk.lstrip())
        if weight:
            answer.weighted = True
            chunk = chunk.lstrip()[weight.end() :]
        hash_at = _find_unescaped(chunk, "#")
        if hash_at != -1:
            answer.feedback, chunk = chunk[hash_at + 1 :], chunk[:hash_at]
        answer.text = chunk
        answers.append(answer)
        i = nxt
    return answers, general


def _plain(text: str, is_html: bool) -> str:
    text = _unescape(text)
    if is_html:
        text = html.unescape(_HTML_TAG.sub(" ", text))
    return clean_text(text)


def parse_gift(text: str, limits: ImportLimits) -> ParseResult:
    problems: list[Problem] = []
    parsed: list[tuple[int, list[str | None], str | None]] = []  # line, [text, options..., explanation], topic
    answers_of: dict[int, int] = {}
    blocks = _blocks(text)
    if len(blocks) > limits.max_rows:
        return ParseResult(
            "gift",
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
    for block in blocks:
        result = _parse_block(block, limits)
        if isinstance(result, Problem):
            problems.append(result)
            continue
        question, options, correct, explanation = result
        parsed.append((block.line, [question, *options, explanation], block.topic))
        answers_of[block.line] = correct

    fixed, converted_rows, conversions = convert_legacy_fields([(line, texts) for line, texts, _ in parsed])
    candidates = []
    for (line, _, topic), texts in zip(parsed, fixed):
        question, *options, explanation = [clean_text(t) if t else None for t in texts]
        found = check_options(list(options))
        for _position, message in found:
            problems.append(Problem(line, None, message))
        if not question:
            problems.append(Problem(line, None, "Thiếu nội dung câu hỏi"))
        candidates.append(
            CandidateQuestion(
                row=line,
                text=question,
                options=tuple(o for o in options if o),
                answer_index=answers_of[line],
                topic=topic,
                difficulty=2,
                explanation=explanation or None,
                valid=not found and bool(question),
            )
        )
    if not blocks:
        problems.append(Problem(None, None, "Tệp GIFT không có câu hỏi nào."))
    return assemble_result("gift", candidates, problems, [], converted_rows, conversions)


def _unsupported(line: int, kind: str) -> Problem:
    return Problem(
        line,
        None,
        f"Câu hỏi dạng {kind} chưa được hỗ trợ; chỉ nhập được câu hỏi trắc nghiệm "
        f"có đúng một đáp án đúng (một '=' và các '~').",
    )


def _parse_block(block: _Block, limits: ImportLimits):
    source = block.text
    title = _TITLE.match(source)
    if title:
        source = source[title.end() :]
    fmt = _FORMAT.match(source)
    is_html = bool(fmt and fmt.group(1).lower() == "html")
    if fmt:
        source = source[fmt.end() :]
    open_at = _find_unescaped(source, "{")
    if open_at == -1:
        return _unsupported(block.line, "mô tả (không có phần đáp án trong dấu { })")
    close_at = _find_unescaped(source, "}", open_at + 1)
    if close_at == -1:
        return Problem(block.line, None, "Thiếu dấu '}' đóng phần đáp án.")
    body = source[open_at + 1 : close_at]
    before, after = source[:open_at], source[close_at + 1 :]
    stripped = body.strip()
    if not stripped:
        return _unsupported(block.line, "tự luận")
    if stripped.startswith("#"):
        return _unsupported(block.line, "số (numerical)")
    if _TRUE_FALSE.match(stripped):
        return _unsupported(block.line, "đúng/sai")
    answers, general = _split_answers(body)
    if not answers:
        return Problem(
            block.line, None, "Không đọc được phương án nào: mỗi phương án bắt đầu bằng '=' (đúng) hoặc '~' (sai)."
        )
    if any("->" in a.text for a in answers):
        return _unsupported(block.line, "ghép đôi (matching)")
    if any(a.weighted for a in answers):
        return _unsupported(block.line, "nhiều đáp án đúng có trọng số (%)")
    if not any(not a.correct for a in answers):
        return _unsupported(block.line, "trả lời ngắn (short answer)")
    correct = [i for i, a in enumerate(answers) if a.correct]
    if len(correct) > 1:
        return _unsupported(block.line, "nhiều đáp án đúng")
    if not correct:
        return Problem(block.line, None, "Không có đáp án đúng: đánh dấu phương án đúng bằng '='.")
    if len(answers) > MAX_OPTIONS:
        return Problem(block.line, None, f"Câu hỏi có {len(answers)} phương án, tối đa là {MAX_OPTIONS}.")
    question = _plain(before, is_html)
    if after.strip():
        question = clean_text(f"{question} {MISSING_WORD_BLANK} {_plain(after, is_html)}")
    options = [_plain(a.text, is_html) for a in answers]
    explanation = _plain(general, is_html) if general else None
    for value in [question, *options, explanation or ""]:
        if len(value) > limits.max_cell_chars:
            return Problem(
                block.line,
                None,
                f"Nội dung dài {format_count(len(value))} ký tự, vượt giới hạn "
                f"{format_count(limits.max_cell_chars)} ký tự.",
            )
    padded: list[str | None] = [*options, *[None] * (MAX_OPTIONS - len(options))]
    return question, padded, correct[0], explanation
