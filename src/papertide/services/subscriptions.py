"""Digest subscriptions: subscribe with double opt-in, confirm, change preferences, unsubscribe, suspend.

Links in mails carry signed tokens (itsdangerous, keyed by the secret): a confirmation token expires after
``PAPERTIDE_CONFIRM_TOKEN_HOURS`` and is single-use (it names the confirmation it leads to, so after a confirmation,
or an unsubscribe that followed one, it opens nothing); the manage/unsubscribe token works for
``PAPERTIDE_MANAGE_LINK_DAYS`` without logging in, and every digest carries a fresh one (the untimed links of digests
sent before links expired still unsubscribe, and do nothing else). Tokens name the subscription
and its address, so a link stops working for an address that changed. The ``*_by_token`` verbs are what the pages
and the API call. Subscribing an address that is already active changes nothing (anyone can type any address); the
owner gets a mail with a link to their preferences instead. Saved searches (``Preferences.searches``) are query
texts; ``services/alerts.py`` turns each into a digest section of papers new since the last digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.email_address import InvalidEmail, normalise_email
from papertide.mail import Mailer, MailError, MailNotConfigured, OutgoingMail
from papertide.models import Subscription, utcnow
from papertide.services.alerts import InvalidSearch, saved_search_text
from papertide.services.compose import render_mail

Cadence = Literal["daily", "weekly"]
CADENCES: tuple[Cadence, ...] = ("daily", "weekly")
MAX_LIST = 20
MAX_SEARCHES = 10
_ITEM = re.compile(r"^[\w.\- ']{1,96}$", re.UNICODE)


class SubscriptionError(ValueError):
    """Bad input or a bad link; the message says what to do."""


class NotYours(SubscriptionError):
    """The account has no subscription of that id."""


@dataclass(frozen=True, slots=True)
class Preferences:
    trending: bool = True
    categories: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    personal: bool = False
    searches: tuple[str, ...] = ()  # saved searches, in the query language

    def as_json(self) -> dict[str, Any]:
        return {
            "trending": self.trending,
            "categories": list(self.categories),
            "organizations": list(self.organizations),
            "authors": list(self.authors),
            "personal": self.personal,
            "searches": list(self.searches),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Preferences:
        data = data or {}
        return cls(
            trending=bool(data.get("trending", True)),
            categories=tuple(data.get("categories") or ()),
            organizations=tuple(data.get("organizations") or ()),
            authors=tuple(data.get("authors") or ()),
            personal=bool(data.get("personal", False)),
            searches=tuple(data.get("searches") or ()),
        )

    @property
    def is_empty(self) -> bool:
        chosen = (self.trending, self.categories, self.organizations, self.authors, self.personal, self.searches)
        return not any(chosen)


@dataclass(frozen=True, slots=True)
class SubscribeOutcome:
    subscription: Subscription
    # "confirm": a confirmation mail is due; "already": the address is active, send it a manage link instead
    mail: Literal["confirm", "already"]


def parse_list(text: str, what: str) -> tuple[str, ...]:
    """Comma- or newline-separated names, deduplicated; a bad entry is an error that names it."""
    items = [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]
    for item in items:
        if not _ITEM.match(item):
            raise SubscriptionError(f"{item[:40]!r} is not a valid {what}")
    if len(items) > MAX_LIST:
        raise SubscriptionError(f"choose at most {MAX_LIST} {what}s")
    return tuple(dict.fromkeys(items))


def parse_searches(lines: str | list[str]) -> tuple[str, ...]:
    """Saved searches, one a line (or a list from the API), deduplicated; a bad one is an error that names it."""
    items = [line for line in (lines.splitlines() if isinstance(lines, str) else lines) if line.strip()]
    if len(items) > MAX_SEARCHES:
        raise SubscriptionError(f"Save at most {MAX_SEARCHES} searches.")
    try:
        return tuple(dict.fromkeys(saved_search_text(item) for item in items))
    except InvalidSearch as error:
        raise SubscriptionError(str(error)) from None


@dataclass(frozen=True, slots=True)
class OwnSubscription:
    """A subscription linked to an account, as the account's API and OPML list see it."""

    id: int
    email: str
    cadence: Cadence
    status: str
    preferences: Preferences

    @classmethod
    def of(cls, subscription: Subscription) -> OwnSubscription:
        cadence: Cadence = "weekly" if subscription.cadence == "weekly" else "daily"
        wanted = Preferences.from_json(subscription.preferences)
        return cls(subscription.id, subscription.email, cadence, subscription.status, wanted)


def subscriptions_of_user(session: Session, user_id: int) -> list[OwnSubscription]:
    """The subscriptions made while signed in to this account, oldest first."""
    rows = session.execute(select(Subscription).where(Subscription.user_id == user_id).order_by(Subscription.id))
    return [OwnSubscription.of(subscription) for subscription in rows.scalars()]


def update_own(
    session: Session, user_id: int, subscription_id: int, cadence: Cadence, preferences: Preferences
) -> OwnSubscription:
    """Change what one of the account's subscriptions receives (:class:`NotYours` when it is not one of them)."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.user_id != user_id:
        raise NotYours(f"You have no subscription {subscription_id}.")
    update_preferences(subscription, cadence, preferences)
    return OwnSubscription.of(subscription)


def subscribe(
    session: Session, email: str, cadence: Cadence, preferences: Preferences, user_id: int | None = None
) -> SubscribeOutcome:
    try:
        address = normalise_email(email)
    except InvalidEmail as error:
        raise SubscriptionError(str(error)) from None
    if cadence not in CADENCES:
        raise SubscriptionError("Choose a daily or a weekly digest.")
    if preferences.is_empty:
        raise SubscriptionError("Choose at least one thing to receive: trending papers, categories, ….")
    existing = session.execute(select(Subscription).where(func.lower(Subscription.email) == address)).scalar()
    if existing is not None and existing.status == "active":
        return SubscribeOutcome(existing, "already")
    subscription = existing or Subscription(email=address)
    subscription.cadence = cadence
    subscription.preferences = preferences.as_json()
    subscription.status = "pending"
    if user_id is not None:
        subscription.user_id = user_id
    subscription.failure_count = 0
    session.add(subscription)
    session.flush()
    return SubscribeOutcome(subscription, "confirm")


class Tokens:
    """Signed tokens for confirmation (expiring, single-use) and manage/unsubscribe (expiring later) links."""

    def __init__(self, secret: str, confirm_hours: int, manage_days: int) -> None:
        self._confirm = URLSafeTimedSerializer(secret, salt="papertide-subscription-confirm")
        self._manage = URLSafeTimedSerializer(secret, salt="papertide-subscription-manage-timed")
        # Links in digests sent before manage links expired: they still unsubscribe (and only that).
        self._legacy_unsubscribe = URLSafeSerializer(secret, salt="papertide-subscription-manage")
        self.confirm_seconds = confirm_hours * 3600
        self.manage_seconds = manage_days * 86400

    @classmethod
    def of(cls, settings: Settings) -> Tokens:
        return cls(settings.secret_key, settings.confirm_token_hours, settings.manage_link_days)

    def confirm_token(self, subscription: Subscription) -> str:
        return str(self._confirm.dumps([subscription.id, subscription.email, _confirmation_mark(subscription)]))

    def manage_token(self, subscription: Subscription) -> str:
        return str(self._manage.dumps([subscription.id, subscription.email]))

    def from_confirm_token(self, session: Session, token: str) -> Subscription:
        try:
            payload = self._confirm.loads(token, max_age=self.confirm_seconds)
        except SignatureExpired as error:
            raise SubscriptionError("This confirmation link has expired. Subscribe again to get a new one.") from error
        except BadSignature as error:
            raise SubscriptionError(
                "This confirmation link is not valid. Copy the whole link from the mail."
            ) from error
        if not (isinstance(payload, list) and len(payload) == 3):
            raise SubscriptionError("This link is not valid.")
        subscription = _subscription(session, payload[:2])
        if payload[2] != _confirmation_mark(subscription):
            raise SubscriptionError("This confirmation link was already used. Subscribe again to get a new one.")
        return subscription

    def from_manage_token(self, session: Session, token: str, *, unsubscribing: bool = False) -> Subscription:
        if unsubscribing and token.count(".") == 1:  # untimed: payload.signature, no timestamp part
            try:
                return _subscription(session, self._legacy_unsubscribe.loads(token))
            except BadSignature:
                pass
        try:
            payload = self._manage.loads(token, max_age=self.manage_seconds)
        except SignatureExpired as error:
            raise SubscriptionError(
                "This link has expired. Subscribe again with your address: we mail you a link to your preferences."
            ) from error
        except BadSignature as error:
            raise SubscriptionError("This link is not valid. Copy the whole link from the mail.") from error
        return _subscription(session, payload)


def _confirmation_mark(subscription: Subscription) -> str:
    """What a confirmation token is issued against: the last confirmation, which confirming changes."""
    return subscription.confirmed_at.isoformat() if subscription.confirmed_at else ""


def _subscription(session: Session, payload: Any) -> Subscription:
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise SubscriptionError("This link is not valid.")
    subscription = session.get(Subscription, payload[0])
    if subscription is None or subscription.email != payload[1]:
        raise SubscriptionError("This subscription no longer exists. Subscribe again from any page.")
    return subscription


def confirm(subscription: Subscription) -> None:
    if subscription.status == "pending":
        subscription.status = "active"
        subscription.confirmed_at = utcnow()
        subscription.failure_count = 0


def unsubscribe(subscription: Subscription) -> None:
    subscription.status = "unsubscribed"


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A subscription as its preferences page shows it."""

    email: str
    cadence: Cadence
    preferences: Preferences
    status: str


@dataclass(frozen=True, slots=True)
class Confirmed:
    email: str
    cadence: str
    manage_token: str


def confirm_by_token(session: Session, settings: Settings, token: str) -> Confirmed:
    """Confirm the subscription a confirmation link names (once); returns what the page tells."""
    tokens = Tokens.of(settings)
    subscription = tokens.from_confirm_token(session, token)
    confirm(subscription)
    return Confirmed(subscription.email, subscription.cadence, tokens.manage_token(subscription))


def view_by_token(session: Session, settings: Settings, token: str) -> SubscriptionView:
    subscription = Tokens.of(settings).from_manage_token(session, token)
    cadence: Cadence = "weekly" if subscription.cadence == "weekly" else "daily"
    return SubscriptionView(
        subscription.email, cadence, Preferences.from_json(subscription.preferences), subscription.status
    )


def update_by_token(
    session: Session, settings: Settings, token: str, cadence: Cadence, preferences: Preferences
) -> None:
    update_preferences(Tokens.of(settings).from_manage_token(session, token), cadence, preferences)


def unsubscribe_by_token(session: Session, settings: Settings, token: str) -> str:
    """Unsubscribe the address a manage link names; returns it."""
    subscription = Tokens.of(settings).from_manage_token(session, token, unsubscribing=True)
    unsubscribe(subscription)
    return subscription.email


def update_preferences(subscription: Subscription, cadence: Cadence, preferences: Preferences) -> None:
    if cadence not in CADENCES:
        raise SubscriptionError("Choose a daily or a weekly digest.")
    if preferences.is_empty:
        raise SubscriptionError("Choose at least one thing to receive, or unsubscribe instead.")
    subscription.cadence = cadence
    subscription.preferences = preferences.as_json()


def record_failure(subscription: Subscription, max_failures: int) -> bool:
    """Count a permanent delivery failure; True when the address is now suspended."""
    subscription.failure_count += 1
    if subscription.failure_count >= max_failures and subscription.status == "active":
        subscription.status = "suspended"
        return True
    return False


def confirmation_mail(settings: Settings, tokens: Tokens, subscription: Subscription, *, already: bool) -> OutgoingMail:
    """The double opt-in mail, or, for an address already active, a mail with its preferences link."""
    context = {
        "already": already,
        "cadence": subscription.cadence,
        "hours": settings.confirm_token_hours,
        "confirm_url": f"{settings.base_url}/subscribe/confirm?token={tokens.confirm_token(subscription)}",
        "manage_url": f"{settings.base_url}/subscription?token={tokens.manage_token(subscription)}",
    }
    text, html = render_mail("confirm", context)
    subject = "Your papertide subscription" if already else "Confirm your papertide digest"
    return OutgoingMail(to=subscription.email, subject=subject, text=text, html=html)


def request_subscription(
    database: Database, settings: Settings, email: str, cadence: Cadence, preferences: Preferences, user_id: int | None
) -> str:
    """Subscribe (or find the active subscription) and mail the address; returns the normalised address.

    Raises :class:`SubscriptionError` for bad input and ``MailError`` (with a message for the visitor) when the
    mail cannot leave; the pending subscription then stays, and subscribing again resends.
    """
    tokens = Tokens.of(settings)
    with database.write_session() as session:
        outcome = subscribe(session, email, cadence, preferences, user_id)
        mail = confirmation_mail(settings, tokens, outcome.subscription, already=outcome.mail == "already")
    try:
        with Mailer(settings) as mailer:
            mailer.send(mail)
    except MailNotConfigured as error:
        raise MailNotConfigured("This server cannot send mail yet (its operator sets PAPERTIDE_SMTP_HOST).") from error
    except MailError as error:
        raise MailError("The confirmation mail could not be sent just now. Try again in a few minutes.") from error
    return mail.to
