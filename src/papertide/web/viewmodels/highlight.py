"""Search highlights and snippets: a title or an abstract with the words the index matched wrapped in ``<mark>``,
and the part of an abstract that shows them.

A word is marked when the keyword index would match it to a word of the query: the same tokens (runs of letters
and digits), lowercased, diacritics folded and reduced to the same English stem ("splatting" for "splat"), or
starting with a typed prefix's root; never a function word ("the", "for", "from") or a lone letter, which no
retriever ranks by. LaTeX renders as on the paper pages (``\\textbf{x}`` in bold, math left whole for KaTeX,
never marked inside), and the text is escaped first, so nothing a paper says is markup of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from papertide.search.query import SearchQuery
from papertide.search.retrieval import is_function_word, prefix_root, word_parts
from papertide.search.tantivy_keyword.schema import FOLDED, STEMMED
from papertide.text import latex_text, split_math
from papertide.web.viewmodels.cards import EXCERPT_CHARS, excerpt

# Private-use characters around a marked word while the text goes through ``latex_text``, then made tags: the
# marks never split a LaTeX command, and the text's own characters are escaped as on every page.
_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN = re.compile(r"[^\W_]+")
_URL = re.compile(r"\\url\{[^{}]*\}")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a query marks: the index stems of its content words and the roots of its prefixes."""

    stems: frozenset[str]
    roots: tuple[str, ...]

    @classmethod
    def of(cls, query: SearchQuery) -> Wanted:
        stems: set[str] = set()
        roots: list[str] = []
        for term in query.positive_terms:
            if term.prefix:
                roots.extend(FOLDED.analyze(prefix_root(term.text))[:1])
                continue
            stems.update(_stem(part) for part in word_parts(term.text) if not is_function_word(part))
        return cls(frozenset(stems) - {""}, tuple(roots))

    def __bool__(self) -> bool:
        return bool(self.stems or self.roots)

    def matches(self, word: str) -> bool:
        if is_function_word(word):
            return False
        return _stem(word) in self.stems or any(_folded(word).startswith(root) for root in self.roots)


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    stems = STEMMED.analyze(word)
    return stems[0] if stems else ""


@lru_cache(maxsize=65_536)
def _folded(word: str) -> str:
    folded = FOLDED.analyze(word)
    return folded[0] if folded else ""


def highlight(text_value: str | None, query: SearchQuery) -> Markup:
    """``text_value`` rendered as pages render it, with the words the index matched to ``query`` marked."""
    if not text_value:
        return Markup("")
    wanted = Wanted.of(query)
    clean = text_value.replace(_OPEN, "").replace(_CLOSE, "")
    if not wanted:
        return latex_text(clean)
    marked = "".join(segment if math else _marked(segment, wanted) for segment, math in split_math(clean))
    return Markup(str(latex_text(marked)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))


def snippet(abstract: str | None, query: SearchQuery, limit: int = EXCERPT_CHARS) -> str | None:
    """The part of ``abstract`` a result shows: its start (as ``cards.excerpt`` cuts it), or, when no matched
    word is in the first two thirds of that, from the sentence holding the first matched word."""
    if abstract is None or len(abstract) <= limit:
        return abstract
    first = _first_match(abstract, Wanted.of(query))
    if first is None or first < limit * 2 // 3:
        return excerpt(abstract, limit)
    sentence = abstract.rfind(". ", 0, first) + 2 if abstract.rfind(". ", 0, first) >= 0 else 0
    if abstract[:sentence].count("$") % 2:  # the full stop sat inside math: start at the word itself
        sentence = first
    return "…" + (excerpt(abstract[sentence:], limit) or "")


def _marked(segment: str, wanted: Wanted) -> str:
    """``segment`` (no math) with matched words between the private marks; command names and links untouched."""
    links = [match.span() for match in _URL.finditer(segment)]
    pieces: list[str] = []
    position = 0
    for token in _TOKEN.finditer(segment):
        start, end = token.span()
        if segment[start - 1 : start] == "\\" or any(a <= start < b for a, b in links):
            continue
        if wanted.matches(token.group()):
            pieces += [segment[position:start], _OPEN, token.group(), _CLOSE]
            position = end
    return "".join(pieces) + segment[position:]


def _first_match(text: str, wanted: Wanted) -> int | None:
    """Where the first matched word outside math starts; None when none (or nothing is wanted)."""
    offset = 0
    for segment, math in split_math(text):
        if not math and wanted:
            found = next((t.start() for t in _TOKEN.finditer(segment) if wanted.matches(t.group())), None)
            if found is not None:
                return offset + found
        offset += len(segment)
    return None
