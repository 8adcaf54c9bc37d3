"""The editorial quality of a question bank: the checks `make banks-check` enforces on the sample
banks and the "quality report" an organizer gets when importing a bank (warnings, never refusals).

    report = check_bank([BankItem(text, options, answer_index, source), ...])
    report.warnings        # Vietnamese sentences, empty when the bank passes
    report.to_json()       # the figures, for the API and the CLI

What is checked (issue 14): the answer keys are spread evenly over the letters; the longest
option is not a cue (it is the key in at most 30% of the questions); an "all of the above"
option is not always the key; no two questions are near-duplicates (normalized stem and key text,
similarity >= 0.9); every question names its source. Pure functions: no database, no I/O."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from app.core.textnorm import clean_text, strip_accents

LETTERS = "ABCDEF"

# Thresholds. A letter's share of the keys may differ from its fair share (1/number of options,
# averaged over the questions offering that letter) by at most KEY_SPREAD_TOLERANCE.
KEY_SPREAD_TOLERANCE = 0.05
LONGEST_KEY_MAX_SHARE = 0.30
ALL_OF_THE_ABOVE_MAX_KEY_SHARE = 0.5
NEAR_DUPLICATE_SIMILARITY = 0.9
# Below this many questions the shares say nothing (5 questions can't spread over 4 letters).
MIN_ITEMS_FOR_SHARES = 40
# Comparing every pair costs n²/2 comparisons: an upload larger than this is not compared.
MAX_ITEMS_FOR_NEAR_DUPLICATES = 2000  # about 1 s on the 2-core machine; 5,000 took 7.5 s

# "Tất cả các phương án trên", "Cả A, B và C đều đúng", "Tất cả đều đúng"... (lowercase, no accents).
_ALL_OF_THE_ABOVE = re.compile(
    r"^(?:tat ca|ca)(?: (?:cac|nhung|ba|bon|hai))?(?: (?:phuong an|dap an|y|noi dung|lua chon))?"
    r"(?: (?:tren|noi tren|neu tren|da neu))?(?: (?:deu dung|dung))?$"
    r"|^(?:tat ca|ca)(?: (?:cac )?(?:phuong an|dap an|y))? [a-f](?: (?:va )?[a-f])+(?: (?:deu dung|dung))?$"
)
_NOT_WORD = re.compile(r"[^\w ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class BankItem:
    text: str
    options: Sequence[str]
    answer_index: int
    source: str | None = None
    label: str = ""  # how a person finds the item: "câu 12", "dòng 14"


def _plain(text: str) -> str:
    """Lowercase, no accents, no punctuation, single spaces: what two wordings have in common."""
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", strip_accents(clean_text(text)).lower().replace("đ", "d"))).strip()


def is_all_of_the_above(option: str) -> bool:
    return bool(_ALL_OF_THE_ABOVE.match(_plain(option)))


@dataclass
class QualityReport:
    total: int = 0
    key_counts: dict[str, int] = field(default_factory=dict)
    key_expected: dict[str, float] = field(default_factory=dict)
    longest_is_key: int = 0
    all_of_the_above: int = 0  # questions with such an option
    all_of_the_above_key: int = 0  # ... where it is the key
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)  # (label, label, similarity)
    near_duplicates_checked: bool = True
    with_source: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings

    @property
    def longest_share(self) -> float:
        return self.longest_is_key / self.total if self.total else 0.0

    @property
    def source_share(self) -> float:
        return self.with_source / self.total if self.total else 0.0

    def key_share(self, letter: str) -> float:
        return self.key_counts.get(letter, 0) / self.total if self.total else 0.0

    def figures(self) -> str:
        """One line of figures, the same for every bank (the CLI and the report to the lead)."""
        keys = "/".join(str(self.key_counts.get(letter, 0)) for letter in self.key_expected)
        pairs = len(self.near_duplicates) if self.near_duplicates_checked else "chưa so"
        return (
            f"{self.total} câu; đáp án {'/'.join(self.key_expected)} = {keys}; "
            f"phương án dài nhất là đáp án: {self.longest_is_key} ({self.longest_share:.0%}); "
            f"“tất cả các phương án trên”: {self.all_of_the_above_key}/{self.all_of_the_above} là đáp án; "
            f"cặp câu gần trùng: {pairs}; có nguồn: {self.with_source}/{self.total}"
        )

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "total": self.total,
            "key_counts": {letter: self.key_counts.get(letter, 0) for letter in self.key_expected},
            "key_expected": {letter: round(v, 1) for letter, v in self.key_expected.items()},
            "longest_is_key": self.longest_is_key,
            "longest_share": round(self.longest_share, 3),
            "all_of_the_above": self.all_of_the_above,
            "all_of_the_above_key": self.all_of_the_above_key,
            "near_duplicates": [
                {"first": a, "second": b, "similarity": round(s, 3)} for a, b, s in self.near_duplicates
            ],
            "near_duplicates_checked": self.near_duplicates_checked,
            "with_source": self.with_source,
            "source_share": round(self.source_share, 3),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: dict) -> QualityReport:
        """Back from `to_json` (a queued import's stored report), for the page to show it."""
        return cls(
            total=data["total"],
            key_counts=dict(data["key_counts"]),
            key_expected=dict(data["key_expected"]),
            longest_is_key=data["longest_is_key"],
            all_of_the_above=data["all_of_the_above"],
            all_of_the_above_key=data["all_of_the_above_key"],
            near_duplicates=[(d["first"], d["second"], d["similarity"]) for d in data["near_duplicates"]],
            near_duplicates_checked=data["near_duplicates_checked"],
            with_source=data["with_source"],
            warnings=list(data["warnings"]),
        )


def _single_longest(options: Sequence[str]) -> int | None:
    lengths = [len(clean_text(o)) for o in options]
    longest = max(lengths)
    return lengths.index(longest) if lengths.count(longest) == 1 else None


def near_duplicate_pairs(
    items: Sequence[BankItem], threshold: float = NEAR_DUPLICATE_SIMILARITY
) -> list[tuple[int, int, float]]:
    """(i, j, similarity) for i < j whose normalized stem and key text are at least `threshold`
    alike (rapidfuzz's ratio: 1 − edit distance with insertions and deletions / total length,
    the same measure as difflib's ratio without its heuristics)."""
    keys = [f"{_plain(item.text)} | {_plain(item.options[item.answer_index])}" for item in items]
    pairs = []
    for i in range(len(keys) - 1):
        for _, score, offset in process.extract(
            keys[i], keys[i + 1 :], scorer=fuzz.ratio, score_cutoff=threshold * 100, limit=None
        ):
            pairs.append((i, i + 1 + offset, score / 100))
    return sorted(pairs)


def check_bank(items: Iterable[BankItem], *, min_items_for_shares: int = MIN_ITEMS_FOR_SHARES) -> QualityReport:
    items = list(items)
    report = QualityReport(total=len(items))
    if not items:
        return report
    widest = max(len(item.options) for item in items)
    expected: dict[str, float] = {letter: 0.0 for letter in LETTERS[:widest]}
    keys: Counter = Counter()
    for item in items:
        keys[LETTERS[item.answer_index]] += 1
        for position in range(len(item.options)):
            expected[LETTERS[position]] += 1 / len(item.options)
        if _single_longest(item.options) == item.answer_index:
            report.longest_is_key += 1
        flagged = [i for i, option in enumerate(item.options) if is_all_of_the_above(option)]
        if flagged:
            report.all_of_the_above += 1
            report.all_of_the_above_key += item.answer_index in flagged
        report.with_source += bool(item.source and item.source.strip())
    report.key_counts = dict(keys)
    report.key_expected = expected
    if len(items) <= MAX_ITEMS_FOR_NEAR_DUPLICATES:
        report.near_duplicates = [
            (items[i].label or f"câu {i + 1}", items[j].label or f"câu {j + 1}", s)
            for i, j, s in near_duplicate_pairs(items)
        ]
    else:
        report.near_duplicates_checked = False
    _warn(report, len(items) >= min_items_for_shares)
    return report


def _warn(report: QualityReport, judge_shares: bool) -> None:
    warnings = report.warnings
    total = report.total
    if judge_shares:
        off = [
            f"{letter}: {report.key_counts.get(letter, 0)} câu ({report.key_share(letter):.0%}, nên khoảng "
            f"{fair / total:.0%})"
            for letter, fair in report.key_expected.items()
            if abs(report.key_counts.get(letter, 0) - fair) / total > KEY_SPREAD_TOLERANCE
        ]
        if off:
            warnings.append(
                "Đáp án dồn vào một số chữ cái (" + "; ".join(off) + "). Người thi đoán theo chữ cái sẽ "
                "được lợi; hãy đổi chỗ các phương án cho đều."
            )
        if report.longest_share > LONGEST_KEY_MAX_SHARE:
            warnings.append(
                f"Phương án dài nhất là đáp án ở {report.longest_is_key}/{total} câu "
                f"({report.longest_share:.0%}, nên không quá {LONGEST_KEY_MAX_SHARE:.0%}): người thi chọn "
                f"câu dài nhất sẽ đúng nhiều. Hãy viết các phương án nhiễu dài tương đương."
            )
    if (
        report.all_of_the_above
        and report.all_of_the_above_key > report.all_of_the_above * ALL_OF_THE_ABOVE_MAX_KEY_SHARE
    ):
        warnings.append(
            f"Phương án kiểu “Tất cả các phương án trên” là đáp án ở {report.all_of_the_above_key}/"
            f"{report.all_of_the_above} câu có phương án này: người thi sẽ chọn nó mà không cần đọc. "
            f"Hãy dùng nó cả làm phương án sai, hoặc bỏ đi."
        )
    if report.near_duplicates:
        shown = ", ".join(f"{a} và {b}" for a, b, _ in report.near_duplicates[:10])
        more = f" (và {len(report.near_duplicates) - 10} cặp khác)" if len(report.near_duplicates) > 10 else ""
        warnings.append(
            f"{len(report.near_duplicates)} cặp câu hỏi gần trùng nhau (cùng ý hỏi, cùng đáp án): "
            f"{shown}{more}. Hãy gộp hoặc thay bớt."
        )
    if not report.near_duplicates_checked:
        warnings.append(
            f"Ngân hàng có hơn {MAX_ITEMS_FOR_NEAR_DUPLICATES} câu nên chưa so các câu gần trùng; "
            f"hãy nhập thành nhiều tệp nhỏ hơn để được kiểm tra."
        )
    if report.with_source < total:
        warnings.append(
            f"{total - report.with_source}/{total} câu chưa ghi nguồn (cột “Nguồn”: văn kiện, mục, "
            f"hoặc bài báo và địa chỉ trang)."
        )


# --- the sample banks (question_banks/sources/*.json) ---------------------------------------------


def items_of_source(bank: dict) -> list[BankItem]:
    """A bank in build.py's JSON source format as items, named by their number in the file."""
    return [
        BankItem(q["text"], q["options"], LETTERS.index(q["answer"].strip().upper()), q.get("source"), f"câu {number}")
        for number, q in enumerate(bank["questions"], start=1)
    ]


def check_source_file(path) -> QualityReport:
    import json
    from pathlib import Path

    return check_bank(items_of_source(json.loads(Path(path).read_text(encoding="utf-8"))))
