"""Item 8: the sample banks in question_banks/ are exactly their reviewed JSON sources (so a
correction made in the source reaches the .xlsx that `make run` imports), each question with
an explanation a participant can read after the round."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.questions.importing import parse_bank_file

BANKS = Path(__file__).resolve().parents[2] / "question_banks"


@pytest.mark.parametrize("name, minimum", [("chi-thi-05-ct-tw", 100), ("nghi-quyet-dai-hoi-xiii", 150)])
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
