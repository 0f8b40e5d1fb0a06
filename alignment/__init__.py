"""Golden Thread alignment core: strategy -> team OKRs -> check-ins, kept traceable.

ingest  -> bundle/API input validated and upserted (content hash per text)
           `imports` (entry points) -> `bundle/` (schema, rules) -> `bundle_rows` -> `ingest`
embed   -> only texts whose (model, content hash) has no vector yet: `embed`, `embedder`
score   -> OKR <-> objective links with score, label and evidence: `scoring/` (`stage` runs it)
report  -> findings for the strategy office: `report/` (`build` runs it, `render` draws it)
draft   -> prompt vN + model -> validated draft with provenance: `drafting/` (`draft`)
approve -> human decision recorded beside the AI proposal: `drafting/approve` for drafts,
           `review` (OKR verdicts) and `check_in_review` (drift) for the review queue

Around the pipeline: `jobs/` runs the long work off the request (procrastinate), `webhooks/`
tells other tools, `access/` holds keys, roles and the audit log, `models/` the tables,
`tenancy` pins each transaction to one organization, `repository` the plain records' SQL.
"""
