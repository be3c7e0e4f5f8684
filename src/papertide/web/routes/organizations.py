"""Organizations: the public page (``/orgs/{name}``, with its JSON twin and the feed of papers submitted for it),
its collections, and the members-only pages: the members and their roles, invitations, what the lab read
(``/orgs/{name}/activity``, its JSON twin and RSS/Atom feeds), and the private link of the members-only feeds.

Members-only pages send a visitor to log in and tell a signed-in non-member they are for members (403); their
feeds (``activity.rss``, the reading group's ``.ics`` in ``routes/reading_group.py``) take the signed-in session or
a member's lab token (``?token=``) instead, since feed readers and calendar apps carry no cookie. Every change is a
POST with the CSRF token and counts against the account's write limit; an invitation link opens a page whose
button joins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from papertide.periods import InvalidPeriod
from papertide.queries.collections import can_see, query_organization_collection
from papertide.queries.people import OrganizationPage, query_organization
from papertide.services.accounts import Identity, account_email
from papertide.services.collections import create_organization_collection
from papertide.services.invitations import (
    accept_invitation,
    check_invitation,
    create_invitation,
    invitation_url,
    invite_by_mail,
    revoke_invitation,
)
from papertide.services.organizations import (
    change_role,
    issue_lab_token,
    leave,
    remove_member,
    require_admin,
    require_member,
    set_sharing,
    user_for_lab_token,
)
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, RowId, WriteSession
from papertide.web.rendering.feeds import FeedRef, FeedSpec, feed_response
from papertide.web.rendering.templating import render_page, templates
from papertide.web.security import CurrentUser, SignedIn, enforce_mail_limit, enforce_rate_limit
from papertide.web.viewmodels.collections import collection_page
from papertide.web.viewmodels.organizations import (
    ActivityPeriod,
    activity_feed_items,
    activity_page,
    activity_period,
    members_page,
    organization_page,
)

router = APIRouter()
Role = Annotated[Literal["member", "admin"], Form()]
Period = Annotated[str | None, Query(max_length=10)]
Token = Annotated[str | None, Query(max_length=100)]


def organization_named(session: Session, name: str) -> OrganizationPage:
    org = query_organization(session, name)
    if org is None:
        raise HTTPException(404, f"There is no organization named {name[:96]!r}.")
    return org


def member_of(session: Session, name: str, user: Identity | None) -> OrganizationPage:
    """The organization, when ``user`` is one of its members (else 403 saying it is for members)."""
    org = organization_named(session, name)
    require_member(session, org.id, org.name, user.id if user else None)
    return org


def feed_reader(session: Session, name: str, user: Identity | None, token: str | None) -> OrganizationPage:
    """The organization of a members-only feed, read by a signed-in member or with a member's lab token."""
    reader = user.id if user else (user_for_lab_token(session, token) if token else None)
    if reader is None:
        raise HTTPException(404, "This feed link was revoked or never existed. A member makes one on the members page.")
    org = organization_named(session, name)
    require_member(session, org.id, org.name, reader)
    return org


@router.get("/orgs/{name}")
@router.get("/orgs/{name}.json")  # the inner decorator registers first, so .json wins
def organization(request: Request, name: str, session: ReadSession, user: CurrentUser) -> Response:
    org = organization_named(session, name)
    feed = FeedRef(f"Papers from {org.name}", f"/feeds/org/{org.name}")
    return render_page(request, "organization.html", organization_page(session, org, user), [feed])


@router.get("/orgs/{name}/members")
@router.get("/orgs/{name}/members.json")
def members(request: Request, name: str, session: ReadSession, user: SignedIn) -> Response:
    org = member_of(session, name, user)
    return render_page(request, "org_members.html", members_page(session, org, user))


@router.post("/orgs/{name}/invitations")
def invite_by_link(
    request: Request, name: str, session: WriteSession, settings: AppSettings, user: SignedIn, role: Role = "member"
) -> Response:
    """A single-use link, shown once to the admin who made it."""
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    secret = create_invitation(session, settings, org.id, org.name, user.id, role)
    context = members_page(session, org, user, new_link=invitation_url(settings, org.name, secret))
    return templates.TemplateResponse(request, "org_members.html", context, status_code=201)


@router.post("/orgs/{name}/invitations/mail")
def invite_by_email(
    request: Request,
    name: str,
    session: ReadSession,
    database: AppDatabase,
    settings: AppSettings,
    user: SignedIn,
    email: Annotated[str, Form(max_length=320)],
    role: Role = "member",
) -> Response:
    """The link mailed to an address, which counts against that address's mails of the day."""
    enforce_rate_limit(request, "write", user.id)
    org = organization_named(session, name)
    require_admin(session, org.id, org.name, user.id)
    address = account_email(email)
    enforce_mail_limit(request, address)
    invite_by_mail(database, settings, org.id, org.name, user.username, user.id, role, address)
    context = members_page(session, org, user, mailed_to=address)
    return templates.TemplateResponse(request, "org_members.html", context, status_code=201)


@router.post("/orgs/{name}/invitations/{invitation_id}/revoke")
def revoke(request: Request, name: str, invitation_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    revoke_invitation(session, org.id, org.name, user.id, invitation_id)
    return RedirectResponse(f"/orgs/{org.name}/members", status_code=303)


@router.get("/orgs/{name}/join/{secret}")
def join_page(request: Request, name: str, secret: str, session: ReadSession, user: SignedIn) -> Response:
    """What joining means, and the button that joins (opening the link changes nothing)."""
    org = organization_named(session, name)
    invitation = check_invitation(session, org.id, secret[:100])
    context = {"org": org, "role": invitation.role, "secret": secret, "expires_at": invitation.expires_at}
    return templates.TemplateResponse(request, "org_join.html", context)


@router.post("/orgs/{name}/join/{secret}")
def join(request: Request, name: str, secret: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    accept_invitation(session, org.id, org.name, secret[:100], user.id)
    return RedirectResponse(f"/orgs/{org.name}", status_code=303)


@router.post("/orgs/{name}/leave")
def leave_organization(request: Request, name: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    leave(session, org.id, org.name, user.id)
    return RedirectResponse(f"/orgs/{org.name}", status_code=303)


@router.post("/orgs/{name}/members/{username}/role")
def member_role(
    request: Request, name: str, username: str, session: WriteSession, user: SignedIn, role: Role
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    change_role(session, org.id, org.name, user.id, username, role)
    return RedirectResponse(f"/orgs/{org.name}/members", status_code=303)


@router.post("/orgs/{name}/members/{username}/remove")
def member_remove(request: Request, name: str, username: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    remove_member(session, org.id, org.name, user.id, username)
    return RedirectResponse(f"/orgs/{org.name}/members", status_code=303)


@router.post("/orgs/{name}/sharing")
def sharing(
    request: Request,
    name: str,
    session: WriteSession,
    user: SignedIn,
    share: Annotated[int, Form(ge=0, le=1)],
) -> Response:
    """Share (1) or stop sharing (0) one's activity with the organization; stopping hides what came before too."""
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    set_sharing(session, org.id, org.name, user.id, bool(share))
    return RedirectResponse(f"/orgs/{org.name}", status_code=303)


@router.post("/orgs/{name}/feed-token")
def feed_links(request: Request, name: str, session: WriteSession, settings: AppSettings, user: SignedIn) -> Response:
    """A new private link token for the members-only feeds (shown once; the previous one stops working)."""
    enforce_rate_limit(request, "write", user.id, session)
    org = member_of(session, name, user)
    token = issue_lab_token(session, user.id)
    base = f"{settings.base_url}/orgs/{org.name}"
    links = {
        "activity_rss": f"{base}/activity.rss?token={token}",
        "activity_atom": f"{base}/activity.atom?token={token}",
        "calendar": f"{base}/reading-group.ics?token={token}",
    }
    return templates.TemplateResponse(request, "org_links.html", {"org": org, "links": links})


@router.get("/orgs/{name}/activity")
@router.get("/orgs/{name}/activity.json")
def activity(
    request: Request,
    name: str,
    session: ReadSession,
    user: SignedIn,
    date: Period = None,
    week: Period = None,
    month: Period = None,
) -> Response:
    org = member_of(session, name, user)
    context = activity_page(session, org, user, _period(date, week, month))
    return render_page(request, "org_activity.html", context)


@router.get("/orgs/{name}/activity.rss")
@router.get("/orgs/{name}/activity.atom")
def activity_feed(
    request: Request,
    name: str,
    session: ReadSession,
    settings: AppSettings,
    user: CurrentUser,
    token: Token = None,
    date: Period = None,
    week: Period = None,
    month: Period = None,
) -> Response:
    org = feed_reader(session, name, user, token)
    found = activity_feed_items(session, org, _period(date, week, month))
    spec = FeedSpec(
        f"papertide: what {org.fullname or org.name} read",
        f"{settings.base_url}/orgs/{org.name}/activity",
        f"/orgs/{org.name}/activity",
        [each.paper for each in found],
        private=True,
        query=f"?token={token}" if token else "",
        reasons={each.paper.id: each.line for each in found},
    )
    return feed_response(request, spec, "atom" if request.url.path.endswith(".atom") else "rss", settings.base_url)


def _period(day: str | None, week: str | None, month: str | None) -> ActivityPeriod:
    try:
        return activity_period(day, week, month, datetime.now(UTC))
    except InvalidPeriod as error:
        raise HTTPException(400, str(error)) from error


@router.post("/orgs/{name}/collections")
def new_collection(
    request: Request,
    name: str,
    session: WriteSession,
    user: SignedIn,
    title: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=4_000)] = "",
    visibility: Annotated[str, Form(max_length=16)] = "organization",
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    made = create_organization_collection(
        session, organization_id=org.id, member_id=user.id, title=title, description=description, visibility=visibility
    )
    return RedirectResponse(f"/orgs/{org.name}/collections/{made.slug}", status_code=303)


@router.get("/orgs/{name}/collections/{slug}")
@router.get("/orgs/{name}/collections/{slug}.json")
def collection(request: Request, name: str, slug: str, session: ReadSession, user: CurrentUser) -> Response:
    found = query_organization_collection(session, name, slug)
    if found is None or not can_see(session, found, user.id if user else None):
        raise HTTPException(404, "There is no such collection, or it is not yours to see.")
    feeds = [FeedRef("This collection", f"/feeds/orgs/{found.owner}/collections/{found.slug}")]
    return render_page(
        request, "collection.html", collection_page(session, found, user), feeds if found.is_public else []
    )
