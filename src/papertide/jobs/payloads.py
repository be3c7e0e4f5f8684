"""A job's JSON arguments: reading one back with its type checked (``argument``, ``date_argument``), and
:class:`JobArguments`, the base of dataclasses whose fields alone say how they map to a payload and back.

A payload that lacks or mistypes an argument raises :class:`TaskArgumentError`: retrying cannot help, so the worker
fails the job at once. Enqueueing code and the task reading the payload share one declaration, so they cannot drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import NoneType
from typing import Any, Self, get_args, get_origin, get_type_hints


class TaskArgumentError(ValueError):
    """A job's payload lacks or mistypes an argument; retrying cannot help, so the job fails at once."""


def argument(payload: Mapping[str, Any], name: str, kind: type, required: bool = True) -> Any:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise TaskArgumentError(f"argument {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def date_argument(payload: Mapping[str, Any], name: str, required: bool = True) -> date | None:
    value = argument(payload, name, str, required)
    try:
        return date.fromisoformat(value) if value is not None else None
    except ValueError as error:
        raise TaskArgumentError(f"argument {name!r} must be a YYYY-MM-DD date, got {value!r}") from error


def payload_key(key: str) -> dict[str, str]:
    """Field metadata naming a field's payload key where its Python name cannot be the key (``from``)."""
    return {"payload_key": key}


@dataclass(frozen=True, slots=True)
class JobArguments:
    """Fields of type str, int, date, Path or list[str], each optional with ``| None`` or a default: a date
    travels as YYYY-MM-DD and a Path as its text."""

    def payload(self) -> dict[str, Any]:
        return {_key(field): _encoded(getattr(self, field.name)) for field in dataclasses.fields(self)}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        hints = get_type_hints(cls)
        arguments = cls(**{f.name: _decoded(payload, f, hints[f.name]) for f in dataclasses.fields(cls)})
        arguments.check()
        return arguments

    def check(self) -> None:
        """Raise :class:`TaskArgumentError` when the arguments make no sense together (or on this machine)."""


def _key(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("payload_key", field.name))


def _encoded(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return list(value) if isinstance(value, list) else value


def _decoded(payload: Mapping[str, Any], field: dataclasses.Field[Any], hint: Any) -> Any:
    key = _key(field)
    if payload.get(key) is None and field.default is not dataclasses.MISSING:
        return field.default
    kinds = get_args(hint)
    required = NoneType not in kinds
    kind = hint if required else next(k for k in kinds if k is not NoneType)
    if kind is date:
        return date_argument(payload, key, required)
    value = argument(payload, key, str if kind is Path else get_origin(kind) or kind, required)
    if value is None:
        return None
    if kind is Path:
        return Path(value)
    return [get_args(kind)[0](item) for item in value] if get_origin(kind) is list else value
