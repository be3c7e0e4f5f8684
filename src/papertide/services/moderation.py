"""The moderation desk's verbs (issue 33): hide and unhide papers and comments, make and unmake administrators,
disable and enable accounts, end an account's sessions. Each verb logs who did what to which target in
``moderation_actions``, so the desk can say who hid something and when, and nothing an administrator does is
silent.

An administrator cannot remove their own rights or disable their own account: the desk would lock out the person
using it, and an instance with one administrator would have none.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.errors import Conflict, NotFound
from papertide.models import ModerationAction, User
from papertide.services.comments import set_comment_hidden
from papertide.services.sessions import end_sessions
from papertide.services.submissions import set_paper_hidden
from papertide.services.tokens import revoke_api_tokens

MODERATION_ACTIONS: Final = (
    "hide_paper",
    "unhide_paper",
    "hide_comment",
    "unhide_comment",
    "make_admin",
    "unmake_admin",
    "disable_user",
    "enable_user",
    "end_sessions",
)


class NoSuchAccount(NotFound):
    """The username names no account."""


class NotOnYourself(Conflict):
    """An administrator tried to remove their own rights or disable their own account."""


def _log(session: Session, actor_id: int, action: str, target: str) -> None:
    session.add(ModerationAction(actor_id=actor_id, action=action, target=target))


def hide_paper(session: Session, actor_id: int, arxiv_id: str, hidden: bool) -> None:
    set_paper_hidden(session, arxiv_id, hidden)
    _log(session, actor_id, "hide_paper" if hidden else "unhide_paper", arxiv_id)


def hide_comment(session: Session, actor_id: int, comment_id: int, hidden: bool) -> int:
    """Returns the comment's paper id, where the moderator goes back to."""
    comment = set_comment_hidden(session, comment_id, hidden)
    _log(session, actor_id, "hide_comment" if hidden else "unhide_comment", str(comment_id))
    return comment.paper_id


def account(session: Session, username: str) -> User:
    user = session.execute(select(User).where(func.lower(User.username) == username.strip().lower())).scalar()
    if user is None:
        raise NoSuchAccount(f"No account is named {username.strip()[:40]!r}: check the spelling in the user list.")
    return user


def set_admin(session: Session, actor_id: int, username: str, admin: bool) -> None:
    user = account(session, username)
    if user.id == actor_id and not admin:
        raise NotOnYourself("You cannot remove your own administrator rights: ask another administrator.")
    user.is_admin = admin
    _log(session, actor_id, "make_admin" if admin else "unmake_admin", user.username)


def set_disabled(session: Session, actor_id: int, username: str, disabled: bool) -> None:
    """A disabled account cannot log in, reset its password or use its tokens (every check reads ``is_active``);
    its sessions end and its API tokens are revoked at once, so enabling it again does not revive them."""
    user = account(session, username)
    if user.id == actor_id and disabled:
        raise NotOnYourself("You cannot disable your own account: ask another administrator.")
    user.is_active = not disabled
    if disabled:
        end_sessions(session, user.id)
        revoke_api_tokens(session, user.id)
    _log(session, actor_id, "disable_user" if disabled else "enable_user", user.username)


def end_sessions_of(session: Session, actor_id: int, username: str) -> int:
    """Sign an account out of every browser (a stolen laptop, a shared cookie); its tokens stay. Returns how many
    sessions ended."""
    user = account(session, username)
    ended = end_sessions(session, user.id)
    _log(session, actor_id, "end_sessions", user.username)
    return ended
