"""Search highlights: a title or excerpt with the words that start like a query word wrapped in ``<mark>`` (a
display aid, not the matcher), escaped first so nothing a paper says is markup."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from papertide.search.query import SearchQuery


def highlight(text_value: str | None, query: SearchQuery) -> Markup:
    """Escape, then wrap the words that start like a query word in <mark> (a display aid, not the matcher)."""
    if not text_value:
        return Markup("")
    stems = sorted(
        {_ending_stripped(word) for term in query.positive_terms for word in term.text.split()}, key=len, reverse=True
    )
    escaped = str(escape(text_value))
    stems = [s for s in stems if len(s) >= 3]
    if not stems:
        return Markup(escaped)
    pattern = re.compile(r"(?<![&#\w])(" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE)
    return Markup(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))


def _ending_stripped(word: str) -> str:
    """A crude stem, enough to highlight 'pruning' for 'pruners': drop common English endings."""
    lowered = word.lower()
    for ending in ("ations", "ation", "ings", "ing", "ers", "ies", "es", "er", "ed", "s"):
        if lowered.endswith(ending) and len(lowered) - len(ending) >= 4:
            return lowered[: -len(ending)]
    return lowered
