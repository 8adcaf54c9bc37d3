"""The attempt page's list of questions, written from per-question pieces kept in process memory.

Rendering the list with Jinja cost more than the rest of the request (twenty questions, eighty
options, every text escaped on every view). A question's words are the same for everyone, so its
escaped text and options are built once per process and kept; what belongs to one attempt is
joined in on each view with plain string concatenation: the question's number, the option order
and letters, the attempt's option tokens and which option the person chose. The pieces hold no
token and no choice, so one person's answers can never show on another person's page.

A piece is used only with the very content entry it was built from (app.questions.service.
ContentCache): questions are never edited in place (an edit makes a new question), and whenever
the content cache drops or reloads an entry, its piece is rebuilt from the new one.

The output is byte for byte what the attempt template's loop rendered before (a test holds it to
that), so the page, its no-JavaScript form and attempt.js see the same markup."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from markupsafe import Markup, escape

from app.questions.service import QuestionContent

LABELS = "ABCDEF"


class QuestionPiece:
    """One question's markup around what differs per attempt."""

    __slots__ = ("content", "open", "legend", "option_head", "option_tails")

    def __init__(self, content: QuestionContent):
        qid = content.id
        self.content = content
        # ...data-saved="<the saved option's token>">
        self.open = f'\n    <fieldset class="question" id="q-{qid}" data-question-id="{qid}" data-saved="'
        # ">...Câu <number>.</span> <text></legend>: the number goes between the two halves.
        self.legend = ('">\n      <legend><span class="qnum">Câu ', f".</span> {escape(content.text)}</legend>\n      ")
        self.option_head = f'\n        <label class="option">\n          <input type="radio" name="q{qid}" value="'
        # Per option id, per position (the letter): everything after the token and the checked mark.
        letters = LABELS[: len(content.options)]
        self.option_tails = {
            oid: [
                f'>\n          <span class="letter">{letter}.</span> <span>{escape(text)}</span>\n        </label>\n      '
                for letter in letters
            ]
            for oid, text in content.options.items()
        }


class QuestionPieces:
    """Pieces by question id, each valid for the content entry it was built from."""

    # A bank rarely holds more than a few thousand questions; a piece is a few kilobytes.
    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._items: OrderedDict[int, QuestionPiece] = OrderedDict()

    def of(self, content: QuestionContent) -> QuestionPiece:
        piece = self._items.get(content.id)
        if piece is None or piece.content is not content:
            piece = self._items[content.id] = QuestionPiece(content)
            if len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return piece

    def clear(self) -> None:
        self._items.clear()


PIECES = QuestionPieces()


def questions_html(
    paper: list,
    contents: dict[int, QuestionContent],
    answers: dict[int, int],
    token: Callable[[int], str],
    pieces: QuestionPieces = PIECES,
) -> Markup:
    """The fieldsets of an attempt's paper ([[question id, [option id, ...]], ...] in its order),
    the saved answers (question id -> option id) checked; `token(option_id)` is the attempt's
    token of an option (the value the form and the API take)."""
    out: list[str] = []
    add = out.append
    for number, (qid, option_ids) in enumerate(paper, start=1):
        piece = pieces.of(contents[qid])
        chosen = answers.get(qid)
        tokens = [token(oid) for oid in option_ids]
        add(piece.open)
        if chosen is not None:
            add(tokens[option_ids.index(chosen)] if chosen in option_ids else token(chosen))
        add(piece.legend[0])
        add(str(number))
        add(piece.legend[1])
        head, tails = piece.option_head, piece.option_tails
        for position, oid in enumerate(option_ids):
            add(head)
            add(tokens[position])
            add('" checked' if oid == chosen else '" ')
            add(tails[oid][position])
        add("\n    </fieldset>\n  ")
    return Markup("".join(out))
