"""Golden Thread alignment core: strategy -> team OKRs -> check-ins, kept traceable.

ingest  -> bundle/API input validated and upserted (content hash per text)
embed   -> only texts whose (model, content hash) has no vector yet
score   -> OKR <-> objective links with score, label and evidence
report  -> findings for the strategy office
draft   -> prompt vN + model -> validated draft with provenance
approve -> human decision recorded beside the AI proposal
"""
