"""The council's shortlisting criteria are data (dialogs/shortlisting_criteria.yaml): the file as shipped holds, one
that would score the wrong criterion or count nothing is refused as it loads, and a weight counts in the totals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.shortlisting import criteria, feedback_from, load_criteria, out_of, score_form
from storage.models import Score
from storage.scores import Scored

CRITERION = """
  - key: {key}
    title: {title}
    description: What it is about.
    weight: {weight}
    words: [not shown, weak, good, strong]
    aliases: [{alias}]
"""


def _file(tmp_path: Path, *criteria: dict[str, object]) -> Path:
    path = tmp_path / "criteria.yaml"
    path.write_text("criteria:" + "".join(CRITERION.format(**c) for c in criteria), encoding="utf-8")
    return path


def _criterion(key: str, weight: object = 1, alias: str = "", title: str = "") -> dict[str, object]:
    return {"key": key, "weight": weight, "alias": alias or f"{key}-too", "title": title or key.capitalize()}


def _scored(*rows: tuple[str, str, int, str]) -> Scored:
    scored = Scored()
    for officer, criterion, score, reason in rows:
        row = Score(
            eoi_id=1, officer=officer, criterion=criterion, score=score, reason=reason, scored_at=datetime.now(UTC)
        )
        scored.by_officer.setdefault(officer, {})[criterion] = row
    return scored


def test_the_shipped_criteria_are_the_six_the_council_publishes_and_fit_a_slack_button() -> None:
    table = criteria()
    assert [c.key for c in table.criteria] == ["need", "travel", "accommodation", "staffing", "leadership", "value"]
    assert all(c.weight > 0 and len(c.words) == 4 and c.description for c in table.criteria)
    assert table.most == 18
    assert score_form("EOI-2627A-001", table, {}) is not None  # the form rides on a Slack button (2,000)


@pytest.mark.parametrize(
    ("criteria_in_file", "refused"),
    [
        ((_criterion("need"), _criterion("need", alias="fit")), "two criteria have the key 'need'"),
        ((_criterion("need"), _criterion("travel", alias="need-too")), "'need-too' names both"),
        ((_criterion("need", weight=0),), "weight must be a positive number"),
        ((_criterion("need", weight=-1),), "weight must be a positive number"),
        ((_criterion("need", weight="heavy"),), "weight must be a positive number"),
        ((_criterion("Need Type"),), "isn't a key"),
    ],
)
def test_criteria_that_would_score_the_wrong_one_or_count_nothing_are_refused(
    tmp_path: Path, criteria_in_file: tuple[dict[str, object], ...], refused: str
) -> None:
    with pytest.raises(ValueError, match=refused):
        load_criteria(_file(tmp_path, *criteria_in_file))


def test_four_words_are_needed_for_the_scores_0_to_3(tmp_path: Path) -> None:
    path = _file(tmp_path, _criterion("need"))
    path.write_text(path.read_text().replace("[not shown, weak, good, strong]", "[weak, good, strong]"))
    with pytest.raises(ValueError, match="four words"):
        load_criteria(path)


def test_a_weight_counts_in_each_total_and_in_the_mean(tmp_path: Path) -> None:
    table = load_criteria(_file(tmp_path, _criterion("need", weight=2), _criterion("value")))
    assert table.most == 9 and table.criteria[0].titled() == "Need (x2)"
    scored = _scored(
        ("a", "need", 3, "Close"), ("a", "value", 1, "Dear"), ("b", "need", 2, "Fair"), ("b", "value", 2, "Ok")
    )
    assert scored.total_of("a", table.weights) == 7 and scored.total_of("b", table.weights) == 6
    assert out_of(scored.mean_total(table.weights), table) == "6.5 of 9"


def test_feedback_is_the_reasons_for_the_lowest_scores_in_the_councils_words(tmp_path: Path) -> None:
    table = load_criteria(_file(tmp_path, _criterion("need"), _criterion("travel"), _criterion("value")))
    scored = _scored(
        ("a", "need", 3, "close match"),
        ("a", "travel", 1, "two buses from the north"),
        ("b", "travel", 0, "no transport from the north"),
        ("a", "value", 2, "fair"),
    )
    # Travel alone is below 2: the lowest officer's reason, as a sentence, after the council's word for its mean.
    assert feedback_from(scored, table) == "Travel (not shown): No transport from the north."
    all_good = _scored(("a", "need", 3, "Close."), ("a", "travel", 3, "Central."), ("a", "value", 2, "Fair."))
    assert feedback_from(all_good, table) == "Value (good): Fair."  # none below 2: the lowest
    assert feedback_from(Scored(), table) == ""
