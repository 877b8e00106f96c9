"""The web form's pages drawn from the neutral replies: the question a page asks, what came before it, the check
of answers and the confirmation, with whatever anyone typed shown exactly as typed."""

from __future__ import annotations

import html
import re

from bot.web_pages import REVIEW_HEADING, render, rich_html, view
from dialogs.actions import Answer, ChangeAnswer, Command, KeepAnswer, OpenForm, Step, decode
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse, say
from dialogs.rich import bold, italic, md, rich


def page_of(replies: list[Reply], **values: object) -> str:
    shown = view(replies, **values)  # type: ignore[arg-type]
    return render("turn.html", page=shown, flash=[], steps=[], title=shown.title, csrf="c", page_key="k")


def question(text, *choices: Choice, answer_type: str = "single", multi: bool = False) -> Reply:  # type: ignore[no-untyped-def]
    return Reply(
        text=text, kind="question", question_id="q", choices=list(choices), answer_type=answer_type, multi=multi
    )


def test_a_choice_question_is_radios_under_its_question_as_the_heading():
    asked = question(
        rich(bold("Question 1 of 24."), " Which kind of provision?", "\n", italic("Why we ask.")),
        Choice("Resourced Provision", Answer("q", "rp")),
        Choice("Keep this answer", KeepAnswer("q")),
    )
    shown = page_of([say("Saved."), asked])
    assert re.search(r'<h1 class="govuk-fieldset__heading">\s*Which kind of provision\?</h1>', shown)
    assert '<span class="govuk-caption-l">Question 1 of 24.</span>' in shown
    assert 'type="radio"' in shown and "Resourced Provision" in shown
    assert "Keep this answer</button>" in shown  # not an option: a button beside the question
    assert '<div class="govuk-inset-text">' in shown and "Saved." in shown  # what came before, above it
    assert shown.count("<h1") == 1


def test_a_multiple_choice_question_is_checkboxes_with_the_ticked_ones_ticked():
    asked = question(
        "Which key stages?", Choice("KS1", Answer("q", "ks1")), Choice("KS2", Answer("q", "ks2")), multi=True
    )
    asked.selected = ["ks2"]
    shown = page_of([asked])
    assert shown.count('type="checkbox"') == 2
    assert re.search(r'value="ks2" checked', shown) and not re.search(r'value="ks1" checked', shown)
    done = re.search(r'name="done" value="([^"]*)"', shown)
    assert done and decode(html.unescape(done.group(1))) == Answer("q", "")


def test_a_long_answer_is_a_text_area_holding_the_current_answer_and_saying_its_limit():
    box = Form(
        "Answer",
        (FormField("answer", "Your answer", multiline=True, max_length=1500, value="Two rooms <b>"),),
        "answer q",
    )
    shown = page_of(
        [
            question(
                "Describe the space.", Choice("Larger box", OpenForm("answer", "q"), form=box), answer_type="long_text"
            )
        ]
    )
    assert "<textarea" in shown and "Two rooms &lt;b&gt;</textarea>" in shown
    assert "You can enter up to 1,500 characters" in shown and 'data-maxlength="1500"' in shown
    assert "Larger box" not in shown  # here the box is the page


def test_a_refused_answer_is_an_error_summary_linked_to_the_box_which_keeps_what_was_typed():
    replies = [refuse("I couldn't read that as a date."), question("When could it open?", answer_type="date")]
    shown = page_of(replies, typed="next tuesdy")
    assert '<a href="#answer">I couldn&#39;t read that as a date.</a>' in shown
    assert "govuk-form-group--error" in shown and 'value="next tuesdy"' in shown
    assert view(replies).title.startswith("Error: ")


def test_the_review_is_check_your_answers_with_a_change_button_for_each():
    review = Reply(
        text="Here is everything you've told us.",
        kind="review",
        title="Hillcrest Primary School: EOI-2627A-001",
        facts=[Fact("Places", "8", Choice("Change Places", ChangeAnswer("places")))],
        choices=[Choice("Submit", Step("submit"), style="primary")],
    )
    shown = page_of([review])
    assert f'<h1 class="govuk-heading-l">{REVIEW_HEADING}</h1>' in shown
    assert "Hillcrest Primary School: EOI-2627A-001" in shown  # the caption
    assert '<dt class="govuk-summary-list__key">Places</dt>' in shown and "Change Places</button>" in shown


def test_a_sent_eoi_is_a_confirmation_panel_with_its_reference_and_one_h1():
    sent = Reply(
        text=md("Thank you. Your reference is *{}*.", "EOI-2627A-001"),
        kind="summary",
        title="Submitted: EOI-2627A-001",
        reference="EOI-2627A-001",
    )
    shown = page_of([sent])
    assert '<div class="govuk-panel__body">Your reference<br><strong>EOI-2627A-001</strong></div>' in shown
    assert shown.count("<h1") == 1 and '<h2 class="govuk-heading-m">Submitted: EOI-2627A-001</h2>' in shown


def test_what_anyone_typed_is_shown_exactly_as_typed_never_as_markup():
    typed = '<script>alert("x")</script> & *bold* `code`'
    shown = page_of([say(md("You said {}.", typed), choices=[Choice(typed, Command("status"))])])
    assert "<script>alert" not in shown
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; *bold* `code`" in shown


def test_rich_text_becomes_paragraphs_and_lists_with_emphasis_as_tags():
    text = rich("First line with ", bold("bold"), "\n• one\n• two\nAfter.")
    drawn = str(rich_html(text))
    assert drawn.count("<li>") == 2 and '<ul class="govuk-list govuk-list--bullet">' in drawn
    assert "<strong>bold</strong>" in drawn and drawn.count('<p class="govuk-body">') == 2


def test_a_link_opens_only_a_web_address_or_an_email_and_anything_else_is_shown_as_words():
    from dialogs.rich import link

    drawn = str(
        rich_html(rich(link("the meeting", "https://teams.example/j/1"), " ", link("x", "javascript:alert(1)")))
    )
    assert '<a class="govuk-link" href="https://teams.example/j/1">the meeting</a>' in drawn
    assert 'href="javascript' not in drawn and "x (javascript:alert(1))" in drawn
