"""What the MCP tools say to arguments they cannot take, and the one mistake they forgive.

The SDK checks a call's arguments against the tool's schema before the tool runs and answers a failure with
pydantic's own text ("Field required", "Input should be a valid string [type=string_type, input_value=2506.11136,
input_type=float]"). :func:`argument_advice` says instead, for each argument, what was wrong and what to send,
from the argument's description in the tool's schema (docs/api.md promises as much).

An arXiv id sent as a JSON number (the MCP Inspector's CLI sends ``arxiv_id=2506.11136`` unquoted) is taken when
it is unambiguous: a number drops trailing zeros (``2506.10`` arrives as ``2506.1``) and leading ones (``0704.0001``
as ``704.0001``), so it is taken only when the number, written out, is a whole id; otherwise the answer names the
id it may have been and asks for the id as a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from papertide.arxiv_ids import try_parse_arxiv_id

# Five-digit sequence numbers started with 1501 (arxiv_ids.py); before, four.
FIVE_DIGITS_FROM = 1501
_PROBLEMS = {
    "missing": "is missing",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": 'must be a list, e.g. ["2503.24322"]',
    "date_type": "must be a day, YYYY-MM-DD",
    "date_parsing": "must be a day, YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a day, YYYY-MM-DD",
    "string_too_short": "must not be empty",
}


def id_from_number(value: Any) -> Any:
    """A JSON number where an arXiv id belongs: the id when the number spells one whole, else a validation error
    that says to send the id as a string (with the id it may have been). Anything else passes unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    written = repr(value) if isinstance(value, float) else str(value)
    if try_parse_arxiv_id(written) is not None:
        return written
    guess = _padded(written)
    if guess is not None:
        raise PydanticCustomError(
            "arxiv_id_number",
            "{written} arrived as a number, and a number loses an id's leading and trailing zeros: it may be "
            '{guess} or an id cut short. Send the id as a string, e.g. "{guess}"',
            {"written": written, "guess": guess},
        )
    raise PydanticCustomError(
        "arxiv_id_number",
        'an arXiv id is text: send it as a string, e.g. "2503.24322", not the number {written}',
        {"written": written},
    )


def _padded(written: str) -> str | None:
    """The id a number would be with the zeros a number drops put back, when that is an id."""
    whole, _, fraction = written.partition(".")
    if not (whole.isdigit() and fraction.isdigit() and len(whole) <= 4):
        return None
    yymm = whole.zfill(4)
    digits = 5 if int(yymm) >= FIVE_DIGITS_FROM else 4
    found = try_parse_arxiv_id(f"{yymm}.{fraction.ljust(digits, '0')}")
    return found.id if found else None


def argument_advice(tool: str, error: ValidationError, schema: Mapping[str, Any], sent: Mapping[str, Any]) -> str:
    """One message for every argument of ``sent`` that ``tool`` could not take: what was wrong and what to send,
    from the descriptions in its input ``schema``; arguments it does not know are named too."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    problems = [_problem(detail, properties) for detail in error.errors()]
    unknown = [name for name in sent if name not in properties]
    if unknown:
        problems.append(f"it takes no {', '.join(unknown)} (its arguments: {', '.join(properties)})")
    return f"{tool} could not take its arguments: " + "; ".join(problems) + "."


def _problem(detail: Any, properties: Mapping[str, Any]) -> str:
    location = detail["loc"]
    name = str(location[0]) if location else "the arguments"
    where = name + "".join(f"[{part}]" for part in location[1:])
    description = properties.get(name, {}).get("description")
    advice = f"{where} {_what(detail)}"
    return f"{advice} ({name}: {description.rstrip('.')})" if description else advice


def _what(detail: Any) -> str:
    kind, context = detail["type"], detail.get("ctx") or {}
    if kind == "arxiv_id_number":
        return f"was not taken: {detail['msg']}"
    if kind == "string_type":
        return f"must be a string (text in quotes), not {_json_kind(detail.get('input'))}"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = context.get("ge", context.get("le"))
        return f"must be at {'least' if kind == 'greater_than_equal' else 'most'} {bound}"
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind == "string_too_long" else "items"
        return f"must be at most {context.get('max_length')} {unit}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"is not in the form asked for (got {detail.get('input')!r})"
    return _PROBLEMS.get(kind, f"is not valid ({detail['msg']})")


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return f"the number {value}"
    return {list: "a list", dict: "an object", type(None): "null"}.get(type(value), "something else")
