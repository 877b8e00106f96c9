"""What a school has left to do on an EOI: how many of the questions that apply to it are still unanswered, counted
as the dialog counts them (dialogs.eoi_dialog: the answers merged with what the register says of the school)."""

from __future__ import annotations

from dialogs import school_facts
from dialogs.questions import QuestionSet, eoi_questions
from storage.models import EOI, School


def questions_left(eoi: EOI, school: School, questions: QuestionSet | None = None) -> int:
    """Questions that apply to the EOI now and have no answer (a skipped optional one is answered)."""
    asked = questions or eoi_questions()
    known = {**eoi.answers, **school_facts.for_questions(school)}
    return sum(1 for q in asked.applicable(known) if q.id not in eoi.answers)


def left_words(eoi: EOI, school: School, questions: QuestionSet | None = None) -> str:
    """ "has 3 questions left", "has 1 question left", or "has every question answered: it only needs submitting"."""
    left = questions_left(eoi, school, questions)
    if not left:
        return "has every question answered: it only needs submitting"
    return f"has {left} question{'s' if left != 1 else ''} left"
