"""OKR quality rules: each named rule fires on what it describes and stays quiet on clean OKRs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment.quality import (
    RULES,
    SEVERITY,
    KrInput,
    OkrInput,
    QualityConfig,
    activity_verb,
    check_okr,
    is_metric_title,
    quote,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "sample-org.bundle.json"
DEV = sorted((REPO / "evals" / "datasets" / "dev").glob("*.bundle.json"))


def kr(title: str, unit: str | None = "%", baseline: float | None = 10, target=20, id="KR1"):
    return KrInput(id, title, unit, baseline, target, "lag")


def okr(title: str = "Customers renew without being chased", *krs: KrInput) -> OkrInput:
    krs = krs or (kr("Renewal rate", id="KR1"), kr("Renewals signed 30 days early", id="KR2"))
    return OkrInput("O-1", title, None, tuple(krs))


def rules(o: OkrInput, config: QualityConfig = QualityConfig()) -> list[tuple[str, str | None]]:
    return [(p.rule, p.key_result_id) for p in check_okr(o, config)]


def bundle_okrs(path: Path) -> list[OkrInput]:
    doc = json.loads(path.read_text())
    return [
        OkrInput(
            o["id"],
            o["title"],
            o.get("description"),
            tuple(
                KrInput(k["id"], k["title"], k.get("unit"), k.get("baseline"), k.get("target"),
                        k.get("kind"))
                for k in o.get("key_results", [])
            ),
        )
        for o in doc["okrs"]
    ]  # fmt: skip


def test_a_clean_okr_breaks_no_rule():
    assert rules(okr()) == []


def test_every_rule_is_documented_with_a_severity():
    assert set(RULES) == set(SEVERITY)
    assert all(len(text) > 40 for text in RULES.values())


def test_key_result_without_any_number():
    o = okr("Better onboarding", kr("Improve onboarding", None, None, None), kr("NPS", id="KR2"))
    assert ("kr_missing_number", "KR1") in rules(o)
    # it is one problem, not three: missing baseline/target are implied
    assert [r for r, k in rules(o) if k == "KR1"] == ["kr_missing_number"]


def test_missing_baseline_and_missing_target_separately():
    o = okr(
        "Faster support",
        kr("First reply time", "h", None, 4),
        kr("Tickets", "count", 9, None, "KR2"),
    )
    assert ("kr_missing_baseline", "KR1") in rules(o)
    assert ("kr_missing_target", "KR2") in rules(o)
    assert ("kr_missing_number", "KR1") not in rules(o)


def test_a_number_in_the_title_counts_as_a_number():
    o = okr("Faster support", kr("Reply within 4 hours", None, None, None), kr("CSAT", id="KR2"))
    assert ("kr_missing_number", "KR1") not in rules(o)


@pytest.mark.parametrize(
    "title", ["Hold 4 hand-hygiene workshops", "Launch the new portal", "Attend two trade fairs",
              "Run a pricing pilot", "Organize the partner summit", "Roll out the new CRM"],
)  # fmt: skip
def test_activity_shaped_key_results(title):
    o = okr("Win partners", kr(title, "count", 0, 4), kr("Partner revenue", "$k", 0, 90, "KR2"))
    assert ("activity_key_result", "KR1") in rules(o)


@pytest.mark.parametrize(
    "title", ["Run rate of new bookings", "Launch date slippage", "Deliveries on time",
              "Holdings reconciled daily", "Team members attending"],
)  # fmt: skip
def test_outcomes_that_merely_start_with_an_activity_word_are_not_tasks(title):
    assert activity_verb(title) is None


@pytest.mark.parametrize("title", ["NPS 45", "Churn: 2%", "ARR from $2M to $3M", "OTIF 98"])
def test_objective_that_is_a_metric(title):
    assert ("objective_is_metric", None) in rules(okr(title))


@pytest.mark.parametrize(
    "title", ["POS 2027", "Health score 2.0", "Route 9", "Teaching certificate, cohort 4",
              "Release $400k of cash sitting in linen stock", "Project Kestrel"],
)  # fmt: skip
def test_names_with_numbers_are_not_metrics(title):
    assert not is_metric_title(title)


def test_too_many_and_too_few_key_results():
    many = okr("Big", *(kr(f"Metric {i}", id=f"KR{i}") for i in range(1, 8)))
    assert ("too_many_key_results", None) in rules(many)
    assert ("too_few_key_results", None) in rules(okr("Small", kr("Only metric")))
    # limits are configuration
    assert rules(many, QualityConfig(max_key_results=7)) == []


def test_relative_target_without_baseline():
    o = okr("Sell better", kr("Increase conversion by 20%", "%", None, 20), kr("Deals", id="KR2"))
    assert ("relative_target_without_baseline", "KR1") in rules(o)
    # the more specific rule replaces the generic missing-baseline one
    assert ("kr_missing_baseline", "KR1") not in rules(o)
    with_baseline = okr(
        "Sell better", kr("Increase conversion by 20%", "%", 15, 18), kr("D", id="KR2")
    )
    assert rules(with_baseline) == []


def test_disabled_rules_are_not_reported():
    o = okr("NPS 45")
    assert rules(o, QualityConfig(disabled_rules=frozenset({"objective_is_metric"}))) == []


def messages(o: OkrInput) -> dict[str, str]:
    return {p.rule: p.message for p in check_okr(o)}


def test_messages_name_the_okr_and_say_whose_objective_is_a_metric():
    # "objective" alone reads as a strategic objective in this product
    assert messages(okr("NPS 45"))["objective_is_metric"] == (
        'OKR O-1\'s objective "NPS 45" is a metric, not an outcome'
    )
    assert messages(okr("Small", kr("Only metric")))["too_few_key_results"] == (
        "OKR O-1 has 1 key result (at least 2)"
    )
    many = okr("Big", *(kr(f"Metric {i}", id=f"KR{i}") for i in range(1, 8)))
    assert messages(many)["too_many_key_results"] == "OKR O-1 has 7 key results (at most 5)"
    unnamed = OkrInput(None, "NPS 45", None, ())
    assert messages(unnamed)["too_few_key_results"] == "the OKR has 0 key results (at least 2)"


def test_messages_quote_titles_as_written_without_escapes():
    assert quote('Fix "the" boiler\'s\n  valve ') == '"Fix "the" boiler\'s valve"'
    o = okr("NPS\n  45", kr("Hold 4 workshops\nfor 'ops'", id="K1"))
    text = " ".join(p.message for p in check_okr(o))
    assert 'key result "Hold 4 workshops for \'ops\'" starts with "hold"' in text
    assert 'objective "NPS 45" is a metric' in text
    assert "\\" not in text and "\n" not in text


def test_sample_org_planted_quality_problems_are_found_and_nothing_else():
    found = {(p.rule, p.okr_id, p.key_result_id) for o in bundle_okrs(SAMPLE) for p in check_okr(o)}
    assert found == {
        ("kr_missing_number", "O-43", "O-43-KR1"),
        ("activity_key_result", "O-39", "O-39-KR2"),
        ("activity_key_result", "O-45", "O-45-KR1"),
        ("kr_missing_number", "O-45", "O-45-KR1"),
        ("objective_is_metric", "O-14", None),
        ("too_few_key_results", "O-29", None),
        ("too_many_key_results", "O-30", None),  # part of planted problem 15 (7 key results)
        ("relative_target_without_baseline", "O-12", "O-12-KR3"),
    }


@pytest.mark.parametrize("path", DEV, ids=lambda p: p.name.removesuffix(".bundle.json"))
def test_dev_organizations_raise_almost_no_quality_alarms(path):
    okrs = bundle_okrs(path)
    problems = [p for o in okrs for p in check_okr(o)]
    flagged = {(p.okr_id, p.key_result_id) for p in problems}
    key_results = sum(len(o.key_results) for o in okrs)
    # The dev orgs are written clean; the few hits are real (harbor-ledger O-25-KR2 truly has
    # no baseline or target). Flagging more than 3% of key results would mean a rule misfires.
    assert len(flagged) <= 0.03 * key_results, [p.message for p in problems]
