from evals.glossary_expansion import expand


def test_abbreviations_are_spelled_out_once_as_whole_tokens() -> None:
    assert expand("P1 MTTR < 4h, MTTR reviewed") == (
        "P1 MTTR < 4h, MTTR reviewed (P1: priority 1 incident; MTTR: mean time to repair)"
    )
    assert expand("Grow MAUs and AP-2 sales") == "Grow MAUs and AP-2 sales"  # no partial tokens
    assert expand("Cut A&E waits") == "Cut A&E waits (A&E: accident and emergency)"
    assert expand("plain words only") == "plain words only"
