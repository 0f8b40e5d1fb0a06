"""Server-rendered pages: the Jinja environment (every template autoescaped) and one way to
answer with a page, its Content-Security-Policy and `Cache-Control: no-store`."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from alignment.drafting.schemas import SHORT_MAX, TEXT_MAX
from alignment.report.evidence_text import RECORD_TYPES
from alignment.vocabulary import perspective_name

# No script, no frame, forms only to this site; inline styles are the pages' only styling.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# A page whose forms may come back refused: it runs the site's own shared script
# (static/refused.js), which puts the page's address back and brings the refusal into view.
FORMS_CSP = f"{PAGE_CSP}; script-src 'self'"
# Seconds between reloads of a page waiting for a job (a meta refresh: no page may run a script
# to poll), and the Retry-After a client polling the same wait is given: one pace everywhere.
RELOAD_SECONDS = 3
# A scored link's label in words, as the report says it (report/linkage.py `_support`).
LINK_LABELS = {"aligned": "aligned", "weak": "weak match", "none": "no match"}


@lru_cache(maxsize=1)
def templates() -> Environment:
    folder = Path(__file__).resolve().parent / "templates"
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["j2"]))
    # The forms' maxlength: the limits the server checks, so a browser stops the person first.
    env.globals.update(
        reload_seconds=RELOAD_SECONDS,
        title_max=SHORT_MAX,
        text_max=TEXT_MAX,
        note_max=TEXT_MAX,  # a reason or note: as long as a drafted text
    )
    # One name per perspective and per record type on every page, the report's too.
    env.filters["perspective"] = perspective_name
    env.filters["record_type"] = lambda t: RECORD_TYPES.get(t, t.replace("_", " "))
    env.filters["link_label"] = lambda label: LINK_LABELS.get(label, label)
    return env


def page(
    template: str,
    *,
    csp: str = PAGE_CSP,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = templates().get_template(template).render(**context)
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            # Pages show a signed-in person's data: none is kept where Back, after signing
            # out, or the next person at a shared computer would find it.
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )
