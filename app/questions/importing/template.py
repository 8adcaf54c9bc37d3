"""The question-bank template (shared/question-bank-template.md) applied to a table of cells:
header matching, legacy-font conversion, one question per row, every problem in one pass.

Used by the xlsx, xls, ods and csv readers, which only turn their format into a RawSheet."""

from __future__ import annotations

import re

from app.core.textnorm import clean_text, header_key
from app.questions.importing.cells import CellIssue, CellValue, RawSheet, column_letter, is_blank
from app.questions.importing.guards import file_problem, format_count
from app.questions.importing.legacy_fonts import LegacyTextFixer, decode_tcvn3, decode_vni
from app.questions.importing.results import ImportLimits, ParseResult, Problem
from app.questions.importing.rules import (
    LETTERS,
    CandidateQuestion,
    assemble_result,
    check_options,
    parse_answer,
    parse_difficulty,
)

QUESTION, ANSWER, TOPIC, DIFFICULTY, EXPLANATION, STT = (
    "question",
    "answer",
    "topic",
    "difficulty",
    "explanation",
    "stt",
)
SOURCE = "source"
OPTION_FIELDS = tuple(f"option_{letter.lower()}" for letter in LETTERS)

CANONICAL_HEADERS = {
    STT: "STT",
    QUESTION: "Câu hỏi",
    **{f: f"Phương án {letter}" for f, letter in zip(OPTION_FIELDS, LETTERS)},
    ANSWER: "Đáp án",
    TOPIC: "Chủ đề",
    DIFFICULTY: "Mức độ",
    EXPLANATION: "Giải thích",
    SOURCE: "Nguồn",
}
TEMPLATE_HEADERS = list(CANONICAL_HEADERS.values())
REQUIRED_FIELDS = (QUESTION, OPTION_FIELDS[0], OPTION_FIELDS[1], ANSWER)

# Header names after header_key() and dropping punctuation. Besides the template's own names,
# the few variants that offices commonly type.
_HEADER_NAMES: dict[str, str] = {
    "stt": STT,
    "so thu tu": STT,
    "tt": STT,
    "cau hoi": QUESTION,
    "noi dung cau hoi": QUESTION,
    "noi dung": QUESTION,
    "dap an": ANSWER,
    "dap an dung": ANSWER,
    "chu de": TOPIC,
    "chuyen de": TOPIC,
    "muc do": DIFFICULTY,
    "do kho": DIFFICULTY,
    "giai thich": EXPLANATION,
    "giai thich dap an": EXPLANATION,
    "nguon": SOURCE,
    "nguon tai lieu": SOURCE,
    "nguon trich dan": SOURCE,
    "tai lieu tham khao": SOURCE,
}
for _field, _letter in zip(OPTION_FIELDS, LETTERS):
    for _prefix in ("phuong an", "pa", "lua chon"):
        _HEADER_NAMES[f"{_prefix} {_letter.lower()}"] = _field

_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r" +")
HEADER_SEARCH_ROWS = 10  # how far down to look for a header row that is not on row 1
MAX_TOPIC_CHARS = 200  # questions.topic is String(200)


def header_field(text: str) -> str | None:
    """The template field a header cell names, if any ('  Phương Án  A: ' -> 'option_a').
    Headers typed in a legacy font ('§¸p ¸n') are tried decoded as well."""
    for candidate in (text, decode_tcvn3(text), decode_vni(text)):
        key = _SPACES.sub(" ", _NOT_WORD.sub(" ", header_key(candidate))).strip()
        found = _HEADER_NAMES.get(key)
        if found:
            return found
    return None


class _Columns:
    """Where each template field is, and how the organizer wrote its header."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.written: dict[str, str] = {}

    def header(self, field: str) -> str:
        return self.written.get(field, CANONICAL_HEADERS[field])

    def field_at(self) -> dict[int, str]:
        return {i: f for f, i in self.index.items()}


def _match_header(cells: list[CellValue]) -> tuple[_Columns, list[Problem], list[str]]:
    columns = _Columns()
    problems: list[Problem] = []
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        written = clean_text(cell)
        field = header_field(written)
        if field is None:
            unknown.append(written)
            continue
        if field in columns.index:
            first = columns.index[field]
            problems.append(
                file_problem(
                    f"Cột '{CANONICAL_HEADERS[field]}' xuất hiện hai lần (cột {column_letter(first)} và cột "
                    f"{column_letter(index)}). Hãy xóa hoặc đổi tên một cột."
                )
            )
            continue
        columns.index[field] = index
        columns.written[field] = written
    return columns, problems, unknown


def _header_problems(columns: _Columns) -> list[Problem]:
    problems = [
        Problem(
            None,
            CANONICAL_HEADERS[f],
            f"Thiếu cột bắt buộc '{CANONICAL_HEADERS[f]}'. Dòng 1 phải là dòng tiêu đề theo mẫu.",
        )
        for f in REQUIRED_FIELDS
        if f not in columns.index
    ]
    present = [f in columns.index for f in OPTION_FIELDS]
    for position in range(2, len(OPTION_FIELDS)):
        if present[position] and not all(present[:position]):
            missing = next(i for i in range(position) if not present[i])
            problems.append(
                Problem(
                    None,
                    columns.header(OPTION_FIELDS[position]),
                    f"Có cột '{columns.header(OPTION_FIELDS[position])}' nhưng thiếu cột "
                    f"'{CANONICAL_HEADERS[OPTION_FIELDS[missing]]}' (các phương án phải liền nhau).",
                )
            )
            break
    return problems


def _misplaced_header_row(rows: list[tuple[int, list[CellValue]]]) -> int | None:
    for row_number, cells in rows[1:HEADER_SEARCH_ROWS]:
        columns, _, _ = _match_header(cells)
        if all(f in columns.index for f in REQUIRED_FIELDS):
            return row_number
    return None


def parse_table(format_name: str, sheet: RawSheet, limits: ImportLimits) -> ParseResult:
    notes = list(sheet.notes)
    if sheet.problems:
        return ParseResult(format_name, [], list(sheet.problems), notes=notes)
    if sheet.too_many_rows:
        return ParseResult(
            format_name,
            [],
            [
                file_problem(
                    f"Tệp có hơn {format_count(limits.max_rows)} dòng câu hỏi, vượt giới hạn một lần nhập. "
                    f"Hãy chia thành nhiều tệp nhỏ hơn."
                )
            ],
            notes=notes,
        )
    rows = sheet.rows
    if not rows:
        return ParseResult(
            format_name,
            [],
            [file_problem("Tệp không có dữ liệu: trang tính đầu tiên đang trống. Hãy điền câu hỏi theo mẫu.")],
            notes=notes,
        )

    # The template puts the header on row 1, but offices often keep a title or a note above it
    # ("NGÂN HÀNG CÂU HỎI ..."): a header found within the first rows is used, and said.
    header_index = 0
    header_row_number, header_cells = rows[0]
    columns, problems, unknown = _match_header(header_cells)
    if any(f not in columns.index for f in REQUIRED_FIELDS):
        found_at = _misplaced_header_row(rows)
        if found_at is not None:
            header_index = next(i for i, (n, _) in enumerate(rows) if n == found_at)
            header_row_number, header_cells = rows[header_index]
            columns, problems, unknown = _match_header(header_cells)
            notes.append(
                file_problem(
                    f"Dòng tiêu đề ở dòng {found_at} (mẫu đặt ở dòng 1): {header_index} dòng có nội dung phía trên "
                    f"(tên bảng, ghi chú) đã được bỏ qua."
                )
            )
    problems += _header_problems(columns)
    if problems:
        return ParseResult(format_name, [], problems, notes=notes)
    if unknown:
        notes.append(
            file_problem("Các cột không thuộc mẫu nên được bỏ qua: " + ", ".join(f"'{u}'" for u in unknown) + ".")
        )

    data_rows = rows[header_index + 1 :]
    used_fields = [
        f for f in (QUESTION, *OPTION_FIELDS, ANSWER, TOPIC, DIFFICULTY, EXPLANATION, SOURCE) if f in columns.index
    ]
    covered = _merged_cells_by_row(sheet, columns, problems, header_row_number)
    table = _pick_fields(data_rows, columns, used_fields, covered)
    if not table:
        return ParseResult(
            format_name,
            [],
            problems
            or [file_problem("Tệp chỉ có dòng tiêu đề, chưa có câu hỏi nào. Hãy điền câu hỏi từ dòng 2 trở đi.")],
            notes=notes,
        )

    header_texts = [header_cells[columns.index[f]] for f in used_fields]
    fixed = LegacyTextFixer().fix_rows(
        [[c if isinstance(c, str) else None for c in header_texts]]
        + [[c if isinstance(c, str) else None for c in cells] for _, cells in table]
    )
    header_used = fixed[0][1]
    if header_used:
        notes.append(
            file_problem(
                "Dòng tiêu đề được gõ bằng phông chữ cũ ("
                + _encoding_names(header_used)
                + ") và đã được chuyển sang Unicode."
            )
        )
    candidates: list[CandidateQuestion] = []
    converted_rows: list[int] = []
    conversions = {"tcvn3": 0, "vni": 0}
    for (row_number, cells), (converted, used) in zip(table, fixed[1:]):
        if used:
            converted_rows.append(row_number)
            for encoding in used:
                conversions[encoding] += 1
        values = {f: (cells[i] if isinstance(cells[i], CellIssue) else converted[i]) for i, f in enumerate(used_fields)}
        candidate = _read_row(row_number, values, columns, limits, problems)
        if candidate is not None:
            candidates.append(candidate)

    _note_formulas(sheet, columns, used_fields, notes)
    _note_hidden_rows(sheet, notes)
    return assemble_result(format_name, candidates, problems, notes, converted_rows, conversions)


def _encoding_names(encodings) -> str:
    return ", ".join({"tcvn3": "TCVN3/ABC", "vni": "VNI"}[e] for e in sorted(encodings))


def _merged_cells_by_row(
    sheet: RawSheet, columns: _Columns, problems: list[Problem], header_row_number: int = 1
) -> dict[int, set[int]]:
    """Merged ranges touching template columns are problems; their cells are reported once here
    rather than again as 'missing question' on every row the merge covers."""
    used_columns = columns.field_at()
    covered: dict[int, set[int]] = {}
    for min_row, min_col, max_row, max_col in sheet.merged_ranges:
        touched = [c for c in range(min_col, max_col + 1) if c in used_columns and used_columns[c] != STT]
        if not touched or max_row <= header_row_number:
            continue  # a merged title above the header (or a merged header cell) is no question's business
        ref = f"{column_letter(min_col)}{min_row}:{column_letter(max_col)}{max_row}"
        problems.append(
            Problem(
                min_row,
                columns.header(used_columns[touched[0]]),
                f"Có ô bị gộp (trộn ô) ở vùng {ref}. Hãy bỏ gộp ô (Trộn và căn giữa → Bỏ trộn ô / "
                f"Unmerge Cells) và điền đủ nội dung cho từng dòng.",
            )
        )
        for row in range(max(min_row, header_row_number + 1), max_row + 1):
            covered.setdefault(row, set()).update(touched)
    return covered


def _pick_fields(data_rows, columns: _Columns, used_fields: list[str], covered: dict[int, set[int]]):
    """Rows reduced to the used fields, in `used_fields` order, skipping rows with no question
    content (numbered-but-empty rows, rows with only a topic or a difficulty pre-filled)."""
    content_positions = [i for i, f in enumerate(used_fields) if f not in (TOPIC, DIFFICULTY, SOURCE)]
    indexes = [columns.index[f] for f in used_fields]
    table = []
    for row_number, cells in data_rows:
        width = len(cells)
        picked: list[CellValue] = [cells[i] if i < width else None for i in indexes]
        merged = covered.get(row_number)
        if merged:
            picked = [None if i in merged else v for i, v in zip(indexes, picked)]
        if merged or not all(is_blank(picked[p]) for p in content_positions):
            table.append((row_number, picked))
    return table


def _read_row(
    row_number: int, values: dict[str, CellValue], columns: _Columns, limits: ImportLimits, problems: list[Problem]
) -> CandidateQuestion | None:
    found: list[Problem] = []

    def problem(field: str, message: str) -> None:
        found.append(Problem(row_number, columns.header(field), message))

    # Fields whose cell was already reported (unusable content, over the length limit): reported
    # once, and never again as "empty" by the rules that look at the other cells.
    unusable = {f for f, v in values.items() if isinstance(v, CellIssue)}

    def text_of(field: str) -> str | None:
        value = values.get(field)
        if isinstance(value, CellIssue):
            problem(field, value.message)
            return None
        if value is None:
            return None
        if len(value) > limits.max_cell_chars:
            problem(
                field,
                f"Nội dung ô dài {format_count(len(value))} ký tự, vượt giới hạn "
                f"{format_count(limits.max_cell_chars)} ký tự. Hãy rút gọn.",
            )
            unusable.add(field)
            return None
        return clean_text(value) or None

    text = text_of(QUESTION)
    if text is None and QUESTION not in unusable:
        problem(QUESTION, "Thiếu nội dung câu hỏi")
    raw_options = [text_of(f) if f in columns.index else None for f in OPTION_FIELDS]
    # An option already reported stands in as filled (a distinct placeholder each), so the other
    # option rules and the answer key still check the rest without repeating its problem.
    checked = [o if f not in unusable else f"\x00{f}" for o, f in zip(raw_options, OPTION_FIELDS)]
    message: str | None
    for position, message in check_options(checked):
        problem(OPTION_FIELDS[position], message)
    answer_text = text_of(ANSWER)
    answer_index = None
    if ANSWER not in unusable:
        answer_index, message = parse_answer(answer_text, checked)
        if message:
            problem(ANSWER, message)
    difficulty, message = parse_difficulty(text_of(DIFFICULTY))
    if message:
        problem(DIFFICULTY, message)
    topic = text_of(TOPIC)
    if topic and len(topic) > MAX_TOPIC_CHARS:
        problem(TOPIC, f"Tên chủ đề dài {len(topic)} ký tự, tối đa {MAX_TOPIC_CHARS} ký tự. Hãy đặt tên ngắn hơn.")
    explanation = text_of(EXPLANATION)
    source = text_of(SOURCE)

    problems.extend(found)
    options = tuple(o for o in raw_options if o)
    return CandidateQuestion(
        row=row_number,
        text=text,
        options=options,
        answer_index=answer_index,
        topic=topic,
        difficulty=difficulty,
        explanation=explanation,
        valid=not found,
        source=source,
    )


def _note_formulas(sheet: RawSheet, columns: _Columns, used_fields: list[str], notes: list[Problem]) -> None:
    by_column: dict[int, list[tuple[int, int]]] = {}
    for row, col in sheet.formula_cells_with_value:
        by_column.setdefault(col, []).append((row, col))
    for field in used_fields:
        cells = by_column.get(columns.index[field])
        if cells:
            row, col = cells[0]
            notes.append(
                Problem(
                    row,
                    columns.header(field),
                    f"{format_count(len(cells))} ô trong cột '{columns.header(field)}' chứa công thức "
                    f"(ví dụ ô {column_letter(col)}{row}); đã dùng giá trị Excel tính sẵn. "
                    f"Nên dán dạng giá trị để chắc chắn nội dung không đổi.",
                )
            )


def _note_hidden_rows(sheet: RawSheet, notes: list[Problem]) -> None:
    if sheet.hidden_rows:
        shown = ", ".join(str(r) for r in sheet.hidden_rows[:20]) + (" …" if len(sheet.hidden_rows) > 20 else "")
        notes.append(
            file_problem(
                f"Có {format_count(len(sheet.hidden_rows))} dòng đang bị ẩn (dòng {shown}); "
                f"các dòng này vẫn được đọc như mọi dòng khác."
            )
        )
