"""``papertide user add|admin`` and ``papertide org add|member``: accounts and organizations, through
``services/accounts.py``; an ``AccountError`` (a taken name, an unknown user) is one red line and exit 1."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated

import typer

from papertide.cli.support import console, migrated_database, plain, reported
from papertide.services.accounts import AccountError, add_member, create_organization, create_user, set_admin

user_app = typer.Typer(help="Accounts.")
org_app = typer.Typer(help="Organizations.")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the account an administrator.")] = False,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="PAPERTIDE_NEW_PASSWORD",
            help="Prompted for when not given (or set PAPERTIDE_NEW_PASSWORD).",
        ),
    ] = "",
) -> None:
    """Create an account (an administrator with --admin)."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        create_user(session, username=username, password=password, email=email, is_admin=admin)
    console.print(f"created {'administrator' if admin else 'user'} {plain(username)}")


@user_app.command("admin")
def user_admin(
    username: Annotated[str, typer.Argument(help="Login name.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the administrator role away.")] = False,
) -> None:
    """Grant (or with --revoke, take away) the administrator role."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        set_admin(session, username, not revoke)
    console.print(f"{plain(username)} is {'no longer ' if revoke else ''}an administrator")


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="Short name used in URLs, e.g. meta-ai.")],
    fullname: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create an organization."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        create_organization(session, name, fullname)
    console.print(f"created organization {plain(name)}")


@org_app.command("member")
def org_member(
    name: Annotated[str, typer.Argument(help="Organization name.")],
    username: Annotated[str, typer.Argument(help="User to add.")],
    role: Annotated[str, typer.Option(help="member or admin.")] = "member",
) -> None:
    """Add a user to an organization, so they can submit papers on its behalf."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        add_member(session, name, username, role)
    console.print(f"{plain(username)} is a {role} of {plain(name)}")


def _account_errors() -> AbstractContextManager[None]:
    return reported(AccountError, heading="")
