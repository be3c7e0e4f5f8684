"""The SQLAlchemy tables of papertide, a module per subject (papers, accounts, community, lab, field, mail,
operations) over
one declarative base (``base``). One metadata object serves SQLite and PostgreSQL; Alembic migrations in
``migrations/`` create it. Every table is imported here, so ``Base.metadata`` knows them all and callers import
tables from ``papertide.models``.
"""

from __future__ import annotations

from papertide.models.accounts import AccessToken, Organization, OrganizationMember, User, UserSession
from papertide.models.base import NAMING, VECTOR_DIMENSIONS, Base, JsonType, UtcDateTime, VectorType, utcnow
from papertide.models.community import (
    VISIBILITIES,
    Collection,
    CollectionItem,
    Comment,
    Follow,
    PaperDismissal,
    UserRanker,
)
from papertide.models.field import (
    FacetDay,
    PaperInsight,
    PaperKeyphrase,
    Topic,
    TopicBuild,
    TopicEvent,
    TopicPaper,
    TopicWeek,
    VoteDay,
)
from papertide.models.lab import AuthorClaim, OrganizationInvitation, ReadingSession, ReadingSessionPaper
from papertide.models.mail import AlertDelivery, DigestDelivery, Subscription
from papertide.models.operations import (
    IngestCheckpoint,
    Job,
    JobLease,
    ModerationAction,
    RateLimitHit,
    SourceState,
)
from papertide.models.papers import FeaturedPaper, Paper, PaperAuthor, PaperCategory, PaperEmbedding, Vote

__all__ = [
    "AccessToken",
    "AlertDelivery",
    "AuthorClaim",
    "Base",
    "Collection",
    "CollectionItem",
    "Comment",
    "DigestDelivery",
    "FacetDay",
    "FeaturedPaper",
    "Follow",
    "IngestCheckpoint",
    "Job",
    "JobLease",
    "ModerationAction",
    "JsonType",
    "NAMING",
    "Organization",
    "OrganizationInvitation",
    "OrganizationMember",
    "Paper",
    "PaperAuthor",
    "PaperCategory",
    "PaperDismissal",
    "PaperEmbedding",
    "PaperInsight",
    "PaperKeyphrase",
    "RateLimitHit",
    "ReadingSession",
    "ReadingSessionPaper",
    "SourceState",
    "Subscription",
    "Topic",
    "TopicBuild",
    "TopicEvent",
    "TopicPaper",
    "TopicWeek",
    "User",
    "UserRanker",
    "UserSession",
    "UtcDateTime",
    "VECTOR_DIMENSIONS",
    "VISIBILITIES",
    "VectorType",
    "Vote",
    "VoteDay",
    "utcnow",
]
