"""Bulk import and export: bundles (JSON/YAML) and the OKR spreadsheet form (CSV)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from alignment.access.principal import Role
from alignment.bundle.csvform import to_csv
from alignment.bundle.io import dump_document, load_document
from alignment.errors import Forbidden, Invalid
from alignment.export import export_bundle
from alignment.imports import import_csv, import_document
from alignment.jobs import SCORE_PARAMS, enqueue
from alignment.models import BundleUpload
from service.auth import CurrentPrincipal
from service.deps import SessionDep
from service.routes.jobs import ACCEPTED, accepted

router = APIRouter(tags=["bundles"])

_BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "description": "A goldenthread.bundle/v1 document (see docs/bundle-v1.md).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "OKR rows; columns documented in docs/csv.md.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def bundle_body(request: Request) -> bytes:
    """The bundle as sent in the body; a form upload or a compressed body is refused by name."""
    _refuse_form_upload(request, "bundle", "application/json", "org.bundle.json")
    _refuse_content_encoding(request, "bundle")
    return await request.body()


RawBody = Annotated[bytes, Depends(bundle_body)]


async def csv_body(request: Request) -> bytes:
    """The CSV as sent in the body. A form upload or a compressed body is refused by name: its
    bytes would otherwise be read as CSV ("unknown column ------bb1d...", "not UTF-8")."""
    _refuse_form_upload(request, "CSV", "text/csv", "okrs.csv")
    _refuse_content_encoding(request, "CSV")
    return await request.body()


def _refuse_form_upload(request: Request, what: str, media_type: str, example: str) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        raise Invalid(
            f"the {what} was sent as multipart/form-data (a form upload); send the file itself as "
            f"the request body with content-type {media_type} (curl: --data-binary @{example} "
            f"-H 'content-type: {media_type}', not -F)",
            details=[{"path": "header.content-type", "message": f"{media} is not accepted"}],
        )


def _refuse_content_encoding(request: Request, what: str) -> None:
    # Nothing decompresses request bodies: gzip bytes would be reported as text that is not
    # UTF-8, which sends the user looking at their file's encoding instead.
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise Invalid(
            f"Content-Encoding {encoding} is not supported: send the {what} uncompressed",
            details=[
                {"path": "header.content-encoding", "message": f"{encoding!r} is not supported"}
            ],
        )


CsvBody = Annotated[bytes, Depends(csv_body)]


def declared_json(request: Request) -> bool:
    """A body sent as application/json is read as JSON only: its syntax errors are JSON's."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


DeclaredJson = Annotated[bool, Depends(declared_json)]


@router.post(
    "/bundles",
    openapi_extra=_BUNDLE_BODY,
    summary="Import a bundle (all or nothing)",
    responses=ACCEPTED,
)
def import_bundle_route(
    raw: RawBody,
    is_json: DeclaredJson,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    prune: Annotated[bool, Query(description="Delete records the bundle no longer lists.")] = False,
    dry_run: Annotated[bool, Query(description="Validate and count, write nothing.")] = False,
    background: Annotated[
        bool,
        Query(
            description="Import as a job (202 + the job; its result is this answer's body): "
            "for bundles of thousands of OKRs, which take minutes."
        ),
    ] = False,
) -> dict[str, Any]:
    """The bundle must be of the key's own organization; `prune` (deleting) is for admins."""
    if prune and principal.role is not Role.admin:
        raise Forbidden("only an admin may prune (delete records the bundle no longer lists)")
    if background and not dry_run:
        if is_json:  # the job reads the body as the bundle's text; its syntax is checked now
            load_document(raw, json_only=True)
        return _import_later(session, raw, prune, principal, response)
    document = load_document(raw, json_only=is_json)
    summary = import_document(
        session,
        document,
        prune=prune,
        dry_run=dry_run,
        for_org=principal.org_id,
        may_rename=principal.role is Role.admin,
    )
    return _with_scoring(session, summary, principal.name, dry_run)


def _import_later(
    session: Session, raw: bytes, prune: bool, principal: Any, response: Response
) -> dict[str, Any]:
    """Keep the body and queue its import, in this request's transaction."""
    if principal.org_id is None:
        raise Invalid(
            "a background import needs an organization's key (the job runs in that "
            "organization); import inline, or with a key of the organization",
            details=[{"path": "query.background", "message": "needs an organization's key"}],
        )
    if not raw.strip():
        raise Invalid("the request body is empty; send a goldenthread.bundle/v1 document")
    upload = BundleUpload(org_id=principal.org_id, body=raw, prune=prune)
    session.add(upload)
    session.flush()
    params = {"upload": upload.id, "may_rename": principal.role is Role.admin}
    job = enqueue(session, principal.org_id, "import", params, requested_by=principal.name)
    return accepted(job, response)


def _with_scoring(session: Session, summary: Any, by: str, dry_run: bool) -> dict[str, Any]:
    """A change queues a scoring job in the import's transaction (joining one that waits), so
    the organization's verdicts catch up without anyone asking; the answer names the job."""
    out = summary.as_dict()
    if summary.changed and not dry_run:
        job = enqueue(session, summary.organization, "score", SCORE_PARAMS, requested_by=by).job
        out["scoring_job"] = f"/jobs/{job.id}"
    return out


@router.get(
    "/orgs/{org_id}/bundle",
    summary="Export an organization as a bundle",
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "object"}},
            }
        }
    },
)
def export_bundle_route(
    org_id: str,
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(json|yaml)$")] = "json",
) -> Response:
    document = export_bundle(session, org_id)
    media = "application/yaml" if format == "yaml" else "application/json"
    return Response(dump_document(document, fmt=format), media_type=media)


@router.post(
    "/orgs/{org_id}/okrs.csv",
    openapi_extra=_CSV_BODY,
    summary="Import OKRs and key results from CSV (all or nothing)",
)
def import_csv_route(
    org_id: str,
    raw: CsvBody,
    session: SessionDep,
    principal: CurrentPrincipal,
    dry_run: bool = False,
) -> dict[str, Any]:
    summary = import_csv(
        session, org_id, raw, dry_run=dry_run, may_delete=principal.role is Role.admin
    )
    return _with_scoring(session, summary, principal.name, dry_run)


@router.get(
    "/orgs/{org_id}/okrs.csv",
    response_class=PlainTextResponse,
    summary="Export OKRs and key results as CSV",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_csv_route(org_id: str, session: SessionDep) -> PlainTextResponse:
    return PlainTextResponse(to_csv(export_bundle(session, org_id)), media_type="text/csv")
