"""Item 8: the sample banks in question_banks/ are exactly their reviewed JSON sources (so a
correction made in the source reaches the .xlsx that `make run` imports), each question with
an explanation a participant can read after the round and its source in the "Nguồn" column.
Issue 14: every bank passes the editorial checks of `make banks-check` (app/questions/quality.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.questions.importing import parse_bank_file

BANKS = Path(__file__).resolve().parents[2] / "question_banks"


@pytest.mark.parametrize("name, minimum", [("chi-thi-05-ct-tw", 100), ("nghi-quyet-dai-hoi-xiii", 150),
                                           ("nghi-quyet-dai-hoi-xiv", 120)])
def test_bank_file_matches_its_source(name, minimum):
    source = json.loads((BANKS / "sources" / f"{name}.json").read_text(encoding="utf-8"))
    result = parse_bank_file((BANKS / f"{name}.xlsx").read_bytes(), f"{name}.xlsx")
    assert result.ok and result.notes == [] and result.converted_rows == []
    assert len(result.questions) == len(source["questions"]) >= minimum
    for parsed, wanted in zip(result.questions, source["questions"]):
        assert parsed.text == wanted["text"]
        assert list(parsed.options) == wanted["options"]
        assert "ABCDEF"[parsed.answer_index] == wanted["answer"]
        assert parsed.topic == wanted["topic"]
        assert parsed.explanation and parsed.explanation == wanted.get("explanation")
        assert parsed.source == wanted.get("source")


@pytest.mark.parametrize("source", sorted((BANKS / "sources").glob("*.json")), ids=lambda path: path.stem)
def test_bank_passes_the_editorial_checks(source):
    from app.questions.quality import check_source_file

    bank = json.loads(source.read_text(encoding="utf-8"))
    report = check_source_file(source)
    assert report.ok, f"{source.name}: {report.figures()}\n" + "\n".join(report.warnings)
    assert len(bank["questions"]) >= 100


def test_the_current_bank_is_dated_and_anchors_offices_to_a_date():
    bank = json.loads((BANKS / "sources" / "nghi-quyet-dai-hoi-xiv.json").read_text(encoding="utf-8"))
    assert bank["prepared"] and "Soạn ngày" in bank["source"]
    for question in bank["questions"]:
        assert question["source"].count("https://") == 1, question["text"]
        text = question["text"]
        if "khóa XIV" in text and ("giữ chức" in text or text.lower().startswith("ai ") or " ai " in text):
            assert "23/1/2026" in text, text   # "who holds office X" is anchored to the first plenum
