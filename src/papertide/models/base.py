"""What every table shares: the declarative base with its constraint naming, UTC timestamps, JSON that is JSONB on
PostgreSQL, and the embedding vector type (pgvector on PostgreSQL, raw float32 bytes on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    JSON,
    DateTime,
    LargeBinary,
    MetaData,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


JsonType = JSON().with_variant(JSONB(), "postgresql")


# The dimension of the stored vectors; pgvector's HNSW index needs it fixed (a model of another size needs a migration).
VECTOR_DIMENSIONS = 384


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and come back timezone-aware on SQLite too (it has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _SentVector(VECTOR):
    """pgvector's ``vector``, read in its binary send form (a 4-byte header, then big-endian float32s): parsing its
    text form took 146 s of a million-paper topics build on PostgreSQL, the bytes a tenth of that
    (bench/RESULTS.md). Writes and comparisons stay pgvector's own."""

    cache_ok = True

    def column_expression(self, column: Any) -> Any:
        return func.vector_send(column, type_=self)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def process(value: bytes | None) -> np.ndarray | None:
            return None if value is None else np.frombuffer(value, dtype=">f4", offset=4).astype(np.float32)

        return process


class VectorType(TypeDecorator[np.ndarray]):
    """A float32 vector: pgvector's ``vector`` on PostgreSQL (searched by its HNSW index), raw bytes on SQLite."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_SentVector(VECTOR_DIMENSIONS))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: np.ndarray | None, dialect: Any) -> Any:
        if value is None:
            return None
        vector = np.asarray(value, dtype=np.float32)
        return vector if dialect.name == "postgresql" else vector.tobytes()

    def process_result_value(self, value: Any, dialect: Any) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, bytes | memoryview):
            return np.frombuffer(value, dtype=np.float32)
        return np.asarray(value, dtype=np.float32)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
