from alignment.scoring import lexical_rank, link_features
from alignment.scoring.documents import KeyResultDoc, ObjectiveDoc, OkrDoc
from evals.sentence_fields import sentence_fields, sentences


def test_sentences_split_on_end_punctuation_before_a_capital_or_digit() -> None:
    text = (
        "Cost per hour is 14% above peers. Bring it down through repair! Why now? 2027 is our date."
    )
    assert sentences(text) == [
        "Cost per hour is 14% above peers.",
        "Bring it down through repair! Why now?",  # "Why now?" is too short to stand alone
        "2027 is our date.",
    ]
    assert sentences("One sentence only, ending here.") == ["One sentence only, ending here."]
    assert sentences("lower case. after a period is no new sentence") == [
        "lower case. after a period is no new sentence"
    ]


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text = "Grow sales in the U.S. Market share, e.g. Android, from 3.5% to 4.2% vs. Q1 targets."
    assert sentences(text) == [text]
    assert sentences(
        "Work with Dr. Okafor on this. The i.e. Clinic stays open all year round."
    ) == [
        "Work with Dr. Okafor on this.",
        "The i.e. Clinic stays open all year round.",
    ]


def test_short_fragments_stay_with_a_neighbour() -> None:
    assert sentences("No recalls. Keep pathogens out of every product line.") == [
        "No recalls. Keep pathogens out of every product line."  # a short first piece: the next
    ]
    assert sentences("Keep pathogens out of every product line. No recalls.") == [
        "Keep pathogens out of every product line. No recalls."  # a short piece: the previous
    ]


def test_patch_splits_fields_keeps_whole_text_and_is_undone() -> None:
    okr = OkrDoc(
        "k1", "Safer food", "Keep pathogens out of product lines. Audit suppliers twice a year.",
        (KeyResultDoc("r1", "Zero recalls"),), (), None,
    )  # fmt: skip
    obj = ObjectiveDoc("o1", "Food safety", "No recalls at all this year.", None, ("Recalls",))
    plain_text, plain_fields = link_features.okr_text(okr), link_features._okr_fields(okr)
    with sentence_fields():
        assert [n for n, _ in link_features._okr_fields(okr)] == [
            "title", "description", "description", "key_result:r1",
        ]  # fmt: skip
        assert link_features._objective_fields(obj) == [
            ("title", "Food safety"), ("description", "No recalls at all this year."),
            ("kpi", "Recalls"),
        ]  # fmt: skip
        assert link_features.okr_text(okr) == lexical_rank.okr_text(okr) == plain_text
    assert link_features._okr_fields(okr) == plain_fields
    assert lexical_rank.okr_text is link_features.okr_text
