"""What an import returns: the questions read, or the reasons nothing can be imported.

Kept apart from the readers so that every format module can build these without importing
the package's entry point (which imports every format module)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParsedQuestion:
    row: int  # row number as the organizer sees it in Excel (header = row 1), or line number in text formats
    text: str  # cleaned (clean_text), NFC
    options: tuple[str, ...]  # 2..6, cleaned, no gaps, all different (case-insensitive after cleaning)
    answer_index: int  # 0-based index into options
    topic: str | None
    difficulty: int  # 1 Dễ, 2 Trung bình (default), 3 Khó
    explanation: str | None
    source: str | None = None  # "Nguồn": document and section, or article and address; staff only


@dataclass(frozen=True)
class Problem:
    row: int | None  # None for file-level problems
    column: str | None  # the column header as the organizer wrote it (e.g. "Đáp án"), or None
    message: str  # Vietnamese, plain words, says what is wrong and how to fix it

    # One way to say where a problem is and what it is, for every reader of a report: the page,
    # the queued import's page, the CLI, the API's error message.
    @property
    def place(self) -> str:
        """ "dòng 3, cột Đáp án", "dòng 3", "cột Đáp án" or "" (a problem of the whole file)."""
        parts = (f"dòng {self.row}" if self.row else "", f"cột {self.column}" if self.column else "")
        return ", ".join(p for p in parts if p)

    def describe(self) -> str:
        """ "dòng 3, cột Đáp án: Thiếu đáp án…" (the message alone for a file-level problem)."""
        return f"{self.place}: {self.message}" if self.place else self.message

    def to_json(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}

    @classmethod
    def from_json(cls, data: dict) -> Problem:
        return cls(data.get("row"), data.get("column"), data["message"])


@dataclass
class ParseResult:
    format: str  # "xlsx" | "xls" | "ods" | "csv" | "gift" | "aiken"
    questions: list[ParsedQuestion]  # empty whenever problems is non-empty (all or nothing)
    problems: list[Problem]
    converted_rows: list[int] = field(default_factory=list)  # rows whose text was converted from TCVN3 or VNI
    conversions: dict[str, int] = field(default_factory=lambda: {"tcvn3": 0, "vni": 0})  # rows per legacy encoding
    duplicate_rows: list[tuple[int, int]] = field(default_factory=list)  # (row, first row with the same question_key)
    # Things the organizer should know that do not block the import (a formula's cached value was
    # used, the first sheet was hidden, a duplicate has different options...). Same shape as problems.
    notes: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = 20_000_000
    max_rows: int = 20_000
    max_cell_chars: int = 2_000
    max_uncompressed_bytes: int = 200_000_000  # zip-bomb guard for xlsx/ods
