"""Trend counts by index (issue 31 at a million papers): ``facet_days``, the papers and upvotes of each category,
keyphrase and organization by day of publication, filled from the papers there are and kept by triggers.

Triggers rather than the writers: papers, their categories, keyphrases, featurings, hidden flags, dates and both
vote figures are written by ingest, the mirror, votes, moderation, the insights job and imports; a trigger changes
the counts in the writer's own transaction, so a trend never differs from what search finds, and no writer can
forget to. Every trigger runs one statement shape (:func:`_counted`): it *appends* the change (papers and upvotes
added or taken away at their day) as new rows, never updating a shared one, so two writers never wait on each
other's counts. Updating one row per day made a vote and a mirror run deadlock on PostgreSQL (each held a row the
other needed). A read adds a day's rows up; ``services/trends.fold_facet_days`` folds them into one a day now and
then. A paper's contribution leaves before it is deleted (``BEFORE DELETE``): its rows' cascades run after it is
gone and then find nothing to take away.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every (paper, kind, facet) a trend series of one filter counts: the same rows search's filters look up.
FACETS = (
    "(SELECT paper_id, 'cat' AS kind, category AS facet FROM paper_categories"
    " UNION ALL SELECT paper_id, 'kw', phrase FROM paper_keyphrases"
    " UNION ALL SELECT f.paper_id, 'org', lower(o.name) FROM featured_papers f"
    " JOIN organizations o ON o.id = f.organization_id)"
)


def _counted(sign: int, paper: str, kind: str, facet: str, source: str) -> str:
    """Append ``sign`` × each paper of ``source`` (``paper`` names the papers row or trigger record) that search can
    find: visible and dated, at its day (a featuring without an organization counts nowhere)."""
    return (
        "INSERT INTO facet_days (kind, facet, day, papers, upvotes) "
        f"SELECT {kind}, {facet}, {paper}.published_on, {sign}, "
        f"{sign} * ({paper}.upvote_count + coalesce({paper}.hf_upvotes, 0)) FROM {source} "
        f"AND {facet} IS NOT NULL AND NOT {paper}.hidden AND {paper}.published_on IS NOT NULL"
    )


def _of_row(sign: int, row: str, kind: str, facet: str) -> str:
    """The statement for one row of a facet table (``row`` is NEW or OLD)."""
    return _counted(sign, "p", kind, facet.format(row=row), f"papers p WHERE p.id = {row}.paper_id")


def _of_paper(sign: int, row: str) -> str:
    """The statement for every facet of one paper (``row`` is NEW or OLD of ``papers``)."""
    return _counted(sign, row, "x.kind", "x.facet", f"{FACETS} x WHERE x.paper_id = {row}.id")


def _of_organization(sign: int, row: str) -> str:
    """The statement for every paper an organization (``row``) featured."""
    source = f"featured_papers f JOIN papers p ON p.id = f.paper_id WHERE f.organization_id = {row}.id"
    return _counted(sign, "p", "'org'", f"lower({row}.name)", source)


_ORG_OF_ROW = "(SELECT lower(name) FROM organizations WHERE id = {row}.organization_id)"


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a trigger runs for the row as it was (``old``: taken away) and as it is (``new``: added), on which
    events, and (``changed``) the columns whose change is worth the work."""

    name: str
    table: str
    timing: str
    events: tuple[str, ...]
    old: str | None
    new: str | None
    changed: tuple[str, ...] = ()


_COUNTED_COLUMNS = ("published_on", "hidden", "upvote_count", "hf_upvotes")
TRIGGERS = [
    *(
        Trigger(
            f"facet_days_{table}",
            table,
            "AFTER",
            ("INSERT", "DELETE", f"UPDATE OF paper_id, {column}"),
            _of_row(-1, "OLD", kind, facet),
            _of_row(1, "NEW", kind, facet),
        )
        for table, column, kind, facet in (
            ("paper_categories", "category", "'cat'", "{row}.category"),
            ("paper_keyphrases", "phrase", "'kw'", "{row}.phrase"),
            ("featured_papers", "organization_id", "'org'", _ORG_OF_ROW),
        )
    ),
    Trigger(
        "facet_days_papers_change",
        "papers",
        "AFTER",
        (f"UPDATE OF {', '.join(_COUNTED_COLUMNS)}",),
        _of_paper(-1, "OLD"),
        _of_paper(1, "NEW"),
        _COUNTED_COLUMNS,  # a re-ingest that sets them unchanged costs nothing
    ),
    Trigger("facet_days_papers_delete", "papers", "BEFORE", ("DELETE",), _of_paper(-1, "OLD"), None),
    Trigger(
        "facet_days_organizations_rename",
        "organizations",
        "AFTER",
        ("UPDATE OF name",),
        _of_organization(-1, "OLD"),
        _of_organization(1, "NEW"),
    ),
    Trigger(
        "facet_days_organizations_delete", "organizations", "BEFORE", ("DELETE",), _of_organization(-1, "OLD"), None
    ),
]


def _sqlite_triggers() -> list[str]:
    """SQLite runs a trigger per event."""
    statements = []
    for trigger in TRIGGERS:
        when = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in trigger.changed)
        for event in trigger.events:
            verb = event.split()[0]
            body = [trigger.old if verb != "INSERT" else None, trigger.new if verb != "DELETE" else None]
            statements.append(
                f"CREATE TRIGGER {trigger.name}_{verb.lower()} {trigger.timing} {event} ON {trigger.table} "
                f"FOR EACH ROW {f'WHEN {when} ' if when else ''}"
                f"BEGIN {'; '.join(s for s in body if s)}; END"
            )
    return statements


def _postgres_triggers() -> list[str]:
    """PostgreSQL runs a function per table; it returns OLD so a BEFORE DELETE goes ahead."""
    statements = []
    for trigger in TRIGGERS:
        when = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in trigger.changed)
        body = "".join(
            f"IF TG_OP IN {ops} THEN {statement}; END IF; "
            for ops, statement in (("('DELETE', 'UPDATE')", trigger.old), ("('INSERT', 'UPDATE')", trigger.new))
            if statement
        )
        statements += [
            f"CREATE FUNCTION {trigger.name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}"
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$",
            f"CREATE TRIGGER {trigger.name} {trigger.timing} {' OR '.join(trigger.events)} ON {trigger.table} "
            f"FOR EACH ROW {f'WHEN ({when}) ' if when else ''}EXECUTE FUNCTION {trigger.name}()",
        ]
    return statements


def _drops(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER {t.name}_{event.split()[0].lower()}" for t in TRIGGERS for event in t.events]
    return [f"DROP TRIGGER {t.name} ON {t.table}" for t in TRIGGERS] + [f"DROP FUNCTION {t.name}()" for t in TRIGGERS]


def upgrade() -> None:
    op.create_table(
        "facet_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("facet", sa.String(length=120), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("papers", sa.Integer(), nullable=False),
        sa.Column("upvotes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_facet_days"),
    )
    # Every column: a series adds its days up from the index alone.
    op.create_index("ix_facet_days_facet_day", "facet_days", ["kind", "facet", "day", "papers", "upvotes"])
    # The counts of the papers there are, then the triggers that keep them (one transaction: no write between).
    op.execute(
        "INSERT INTO facet_days (kind, facet, day, papers, upvotes) "
        "SELECT x.kind, x.facet, p.published_on, count(*), sum(p.upvote_count + coalesce(p.hf_upvotes, 0)) "
        f"FROM papers p JOIN {FACETS} x ON x.paper_id = p.id "
        "WHERE NOT p.hidden AND p.published_on IS NOT NULL GROUP BY 1, 2, 3"
    )
    dialect = op.get_bind().dialect.name
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgres_triggers():
        op.execute(statement)


def downgrade() -> None:
    for statement in _drops(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("facet_days")
