from __future__ import annotations


def correct_option(question: dict) -> str:
    """Test banks mark the right option with the word 'Đúng' (see tests/factories.py)."""
    return next(o["id"] for o in question["options"] if o["text"].startswith("Đúng"))


def wrong_option(question: dict) -> str:
    return next(o["id"] for o in question["options"] if o["text"].startswith("Sai"))
