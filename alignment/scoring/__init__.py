"""Alignment scoring: link features and calibration, check-in drift, the score stage, its reads.

- `documents`: the OKR/objective documents the math reads and the `Link`s it returns.
- `lexical`: tokens, stems and IDF-weighted overlap (the exact-term signal).
- `link_features`: per-(OKR, objective) features; `calibration`: features -> score -> label.
- `link_scores`: ranked, labelled links with evidence for an organization.
- `lexical_rank`: the order within a label, the score fused with character and word TF-IDF.
- `drift_features`: per-check-in features; `drift`: is a check-in about other work than its OKR.
- `org_documents`: an organization's records read as `documents`, with each OKR's fingerprint.
- `stage`: scores an organization's documents and replaces its stored verdicts.
- `earlier_verdicts`: what earlier runs decided that still holds (for `stability`).
- `people_decisions`: people's verdicts as a run reads them, and applied over the engine's.
- `preview`: a draft OKR's ranked objectives, stored nowhere.
- `reads`: what the service shows from the stored verdicts (rankings, orphans, drift).
- `feedback`: people's decisions on links, recorded and exported as labels.
- `team_decisions`: a decision on one OKR moves its teammates' scores for that objective.
- `drift_decisions`: people's verdicts on check-ins, kept while what they judged holds.
- `stability`: an unchanged OKR keeps its stored labels; `runs`: which queued runs one covered.
- `evidence`: the closest texts behind a link; `gc_paused`: scoring without GC pauses.
"""
