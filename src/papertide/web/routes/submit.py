"""Submitting an arXiv paper to today's list: the form, the fetch from arXiv when needed, the outcome.

A paper this instance does not know is fetched while the submitter waits, for at most
``PAPERTIDE_SUBMIT_FETCH_SECONDS``; when arXiv does not answer in that time (or cannot be reached), the fetch is
queued and the page says what will happen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from papertide.arxiv_ids import parse_arxiv_id
from papertide.config import Settings
from papertide.jobs.tasks import queue_submission
from papertide.queries.people import query_memberships
from papertide.services.ingest import index_from_arxiv
from papertide.services.submissions import SubmissionError, submit_paper
from papertide.sources.arxiv_api import ArxivApiError
from papertide.sources.http import SourceUnavailable
from papertide.web.deps import AppDatabase, AppSettings, ReadSession
from papertide.web.rendering.templating import templates
from papertide.web.security import SignedIn, enforce_rate_limit
from papertide.web.viewmodels.cards import paper_url

router = APIRouter()


@router.get("/papers/submit")
def submit_form(request: Request, session: ReadSession, user: SignedIn, settings: AppSettings) -> Response:
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
    database: AppDatabase,
    user: SignedIn,
    settings: AppSettings,
    paper: Annotated[str, Form(max_length=300)],
    organization: Annotated[str, Form(max_length=96)] = "",
) -> Response:
    enforce_rate_limit(request, "write", user.id)
    today = datetime.now(UTC).date()
    try:
        submission = submit_paper(
            database,
            user_id=user.id,
            text=paper,
            organization=organization or None,
            today=today,
            window_days=settings.submit_window_days,
            fetch=lambda arxiv_id: (
                index_from_arxiv(database, settings, arxiv_id, wait=settings.submit_fetch_seconds) != "missing"
            ),
        )
    except (SourceUnavailable, ArxivApiError):
        arxiv_id = parse_arxiv_id(paper).id  # submit_paper parsed it before it asked arXiv
        queue_submission(database, user_id=user.id, arxiv_id=arxiv_id, organization=organization or None, day=today)
        return _queued(request, arxiv_id, today, settings)
    except SubmissionError as error:
        with database.read_session() as session:
            organizations = query_memberships(session, user.id)
        status = 409 if error.existing else 400
        return _form(request, organizations, settings, str(error), error.existing, paper, status)
    return RedirectResponse(paper_url(submission.arxiv_id), status_code=303)


def _queued(request: Request, arxiv_id: str, day: date, settings: Settings) -> Response:
    message = (
        f"arXiv did not answer within {settings.submit_fetch_seconds:g} seconds, so papertide will fetch {arxiv_id} in "
        f"the background and add it to the papers of {day} as soon as arXiv answers; there is nothing more to do. "
        f"If arXiv has no such paper, or its first version is more than {settings.submit_window_days} days old, it "
        "will not be added."
    )
    context = {"title": f"{arxiv_id} is on its way", "message": message}
    return templates.TemplateResponse(request, "notice.html", context, status_code=202)
