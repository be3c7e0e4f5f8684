"""Why a filtered search found nothing: for each filter of the query that no paper on this instance can pass, a
sentence saying so (``cat:cs.CL`` where no paper lists categories, ``after:`` past the newest paper, an
organization nobody features …), so an empty page explains itself instead of going silent.

Only an empty search asks (one small query per filter, on indexed columns or one aggregate), so a search that
finds papers pays nothing for it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from papertide.models import FeaturedPaper, Organization, Paper, PaperCategory
from papertide.queries.papers import BOTH_UPVOTES
from papertide.search.query import SearchQuery


def unmatchable_filters(session: Session, query: SearchQuery, featured_only: bool = False) -> list[str]:
    """A sentence for each filter of ``query`` that no visible paper here passes, whatever the words."""
    notices = [_category(session, category) for category in query.categories]
    notices += [_organization(session, name) for name in query.organizations]
    notices.append(_dates(session, query.after, query.before))
    notices.append(_upvotes(session, query.min_upvotes, query.max_upvotes))
    if query.has_code and not _exists(session, Paper.code_url.is_not(None)):
        notices.append("has:code matches nothing here: no paper on this instance has a code link yet.")
    if featured_only and session.scalar(select(FeaturedPaper.id).limit(1)) is None:
        notices.append("No paper has been featured on this instance's daily lists yet.")
    return [notice for notice in notices if notice]


def _exists(session: Session, condition: ColumnElement[bool]) -> bool:
    statement = select(Paper.id).where(Paper.hidden.is_(False), condition).limit(1)
    return session.scalar(statement) is not None


def _category(session: Session, category: str) -> str | None:
    if session.scalar(select(PaperCategory.paper_id).where(PaperCategory.category == category).limit(1)):
        return None
    if session.scalar(select(PaperCategory.paper_id).limit(1)) is None:
        return (
            f"cat:{category} matches nothing here: no paper on this instance lists arXiv categories (papers known "
            "only from daily lists carry none until their arXiv record is fetched)."
        )
    return f"cat:{category} matches nothing here: no paper on this instance lists that category."


def _organization(session: Session, name: str) -> str | None:
    featuring = (
        select(FeaturedPaper.id)
        .join(Organization, Organization.id == FeaturedPaper.organization_id)
        .where(func.lower(Organization.name) == name.lower())
        .limit(1)
    )
    if session.scalar(featuring) is not None:
        return None
    return f"org:{name} matches nothing here: no paper on this instance is featured for an organization of that name."


def _dates(session: Session, after: date | None, before: date | None) -> str | None:
    if after and before and after > before:
        return f"The dates cannot both hold: after {after.isoformat()} is later than before {before.isoformat()}."
    if not (after or before):
        return None
    oldest, newest = session.execute(
        select(func.min(Paper.published_on), func.max(Paper.published_on)).where(Paper.hidden.is_(False))
    ).one()
    if newest is None or oldest is None:
        return "No paper on this instance has a date yet, so date filters match nothing."
    if after and after > newest:
        return f"No paper here is dated after {after.isoformat()}: the newest is dated {newest.isoformat()}."
    if before and before < oldest:
        return f"No paper here is dated before {before.isoformat()}: the oldest is dated {oldest.isoformat()}."
    return None


def _upvotes(session: Session, least: int | None, most: int | None) -> str | None:
    if least is not None and most is not None and least > most:
        return f"upvotes cannot be at least {least} and at most {most} at once."
    if least is None:
        return None
    ceiling = session.scalar(select(func.max(BOTH_UPVOTES)).where(Paper.hidden.is_(False))) or 0
    if least > ceiling:
        return (
            f"No paper here has {least} or more upvotes (hf.co's and this instance's together): the most any has "
            f"is {ceiling}."
        )
    return None
