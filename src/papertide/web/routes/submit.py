"""Submitting an arXiv paper to today's list: the form, the fetch from arXiv when needed, the outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from papertide.config import Settings
from papertide.queries import query_memberships
from papertide.services.ingest import index_from_arxiv
from papertide.services.submissions import SubmissionError, submit_paper
from papertide.sources.arxiv_api import ArxivApiError
from papertide.sources.http import SourceUnavailable
from papertide.web.deps import AppSettings, Db, DbSession
from papertide.web.security import SignedIn, enforce_rate_limit
from papertide.web.templating import templates
from papertide.web.viewmodels import paper_url

router = APIRouter()


@router.get("/papers/submit")
def submit_form(request: Request, session: DbSession, user: SignedIn, settings: AppSettings) -> Response:
    return _form(request, query_memberships(session, user.id), settings)


def _form(
    request: Request,
    organizations: list[str],
    settings: Settings,
    error: str | None = None,
    existing: str | None = None,
    value: str = "",
    status: int = 200,
) -> Response:
    context = {
        "organizations": organizations,
        "error": error,
        "existing": paper_url(existing) if existing else None,
        "value": value,
        "window_days": settings.submit_window_days,
    }
    return templates.TemplateResponse(request, "submit.html", context, status_code=status)


@router.post("/papers/submit")
def submit(
    request: Request,
    db: Db,
    user: SignedIn,
    settings: AppSettings,
    paper: Annotated[str, Form(max_length=300)],
    organization: Annotated[str, Form(max_length=96)] = "",
) -> Response:
    enforce_rate_limit(request, "write", user.id)
    try:
        submission = submit_paper(
            db,
            user_id=user.id,
            text=paper,
            organization=organization or None,
            today=datetime.now(UTC).date(),
            window_days=settings.submit_window_days,
            fetch=lambda arxiv_id: index_from_arxiv(db, settings, arxiv_id) != "missing",
        )
    except (SubmissionError, SourceUnavailable, ArxivApiError) as error:
        with db.read_session() as session:
            organizations = query_memberships(session, user.id)
        existing = error.existing if isinstance(error, SubmissionError) else None
        status = 409 if existing else 400 if isinstance(error, SubmissionError) else 502
        return _form(request, organizations, settings, str(error), existing, paper, status)
    return RedirectResponse(paper_url(submission.arxiv_id), status_code=303)
