"""CRUD routes for every record kind, generated from `alignment.records.KINDS`.

No `from __future__ import annotations` here: FastAPI reads the body types from the closures.
"""

from typing import Any

from fastapi import APIRouter, Query, Response

from alignment import repository
from alignment.access import audit
from alignment.jobs import SCORE_PARAMS, enqueue
from alignment.records import KINDS, RecordKind, filter_type
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep

router = APIRouter(prefix="/orgs/{org_id}")

# What a DELETE refuses, in the API's documentation: a record people still point at stays.
_DELETE_NOTES = {
    "objectives": "Refused (409) while any OKR declares a link to it, naming those OKRs: "
    "remove it from their `declared_links` first, so no team's stated link disappears "
    "unseen. Its KPIs and scored links go with it.",
    "teams": "Refused (409) while OKRs or child teams reference it.",
    "cycles": "Refused (409) while OKRs reference it.",
}

# Cycles carry no text the engine reads; every other kind changes what scoring sees.
_UNSCORED = {"cycles"}


def _queue_scoring(
    kind: RecordKind, org_id: str, session: SessionDep, by: CurrentPrincipal, response: Response
) -> None:
    """A write queues scoring in its own transaction (joining a job that waits), as an import
    does: an OKR created here would otherwise stay unscored until someone asked, and a team
    lead may not ask. The header names the job."""
    if kind.path in _UNSCORED:
        return
    job = enqueue(session, org_id, "score", SCORE_PARAMS, requested_by=by.name).job
    response.headers["Scoring-Job"] = f"/jobs/{job.id}"


def _add_routes(kind: RecordKind) -> None:
    create_model, update_model = kind.create, kind.update
    tag = [kind.path]
    item_path = f"/{kind.path}/{{record_id}}"

    def list_(org_id: str, session: SessionDep, page: PageDep, **filters: Any) -> dict[str, Any]:
        items, total = repository.list_records(
            session, kind, org_id, filters=filters, limit=page.limit, offset=page.offset
        )
        return page.envelope(items, total)

    # FastAPI needs the filter parameters in the signature to document and parse them.
    list_.__signature__ = _with_filters(list_, kind)  # type: ignore[attr-defined]

    def create(
        org_id: str,
        body: create_model,  # type: ignore[valid-type]
        session: SessionDep,
        principal: CurrentPrincipal,
        response: Response,
    ) -> dict[str, Any]:
        created = repository.create_record(session, kind, org_id, body.model_dump())
        audit.name_created(session, created["id"])
        _queue_scoring(kind, org_id, session, principal, response)
        return created

    def read(org_id: str, record_id: str, session: SessionDep) -> dict[str, Any]:
        return repository.get_record(session, kind, org_id, record_id)

    def update(
        org_id: str,
        record_id: str,
        body: update_model,  # type: ignore[valid-type]
        session: SessionDep,
        principal: CurrentPrincipal,
        response: Response,
    ) -> dict[str, Any]:
        updated, changed = repository.update_record(
            session, kind, org_id, record_id, body.model_dump(exclude_unset=True)
        )
        if changed:
            _queue_scoring(kind, org_id, session, principal, response)
        return updated

    def remove(
        org_id: str, record_id: str, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        repository.delete_record(session, kind, org_id, record_id)
        response = Response(status_code=204)
        _queue_scoring(kind, org_id, session, principal, response)
        return response

    name = kind.path.replace("-", "_")
    router.add_api_route(
        f"/{kind.path}",
        list_,
        methods=["GET"],
        tags=tag,
        name=f"list_{name}",
        summary=f"List {kind.label}s",
    )
    router.add_api_route(
        f"/{kind.path}",
        create,
        methods=["POST"],
        status_code=201,
        tags=tag,
        name=f"create_{name}",
        summary=f"Create a {kind.label}",
    )
    router.add_api_route(
        item_path,
        read,
        methods=["GET"],
        tags=tag,
        name=f"get_{name}",
        summary=f"Get a {kind.label}",
    )
    router.add_api_route(
        item_path,
        update,
        methods=["PATCH"],
        tags=tag,
        name=f"update_{name}",
        summary=f"Change a {kind.label} (only the fields sent)",
    )
    router.add_api_route(
        item_path,
        remove,
        methods=["DELETE"],
        status_code=204,
        tags=tag,
        response_class=Response,
        name=f"delete_{name}",
        summary=f"Delete a {kind.label} (and what it owns)",
        description=_DELETE_NOTES.get(kind.path, ""),
    )


def _with_filters(func: Any, kind: RecordKind) -> Any:
    import inspect

    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    params += [
        inspect.Parameter(
            f,
            inspect.Parameter.KEYWORD_ONLY,
            default=Query(None),
            annotation=filter_type(kind.create, f),
        )
        for f in kind.filters
    ]
    return sig.replace(parameters=params)


for _kind in KINDS.values():
    _add_routes(_kind)
