"""The search box, parsed into a value object before any SQL sees it.

Grammar (case-insensitive keys; anything else is a word):

    word  prefix*  "a phrase"  -excluded  -"excluded phrase"
    title:word  author:"Ada Lovelace"  abstract:word       field-restricted words or phrases
    cat:cs.CL  org:meta-ai  after:2024-01-01  before:2024-12-31  year:2024  upvotes:>10  has:code
    kw:"graph neural networks"                              papertide's own keyphrases (exact, case-folded)
    2503.24322 | https://arxiv.org/abs/2503.24322v2       jumps to the paper

Every input gives a :class:`SearchQuery`: unknown keys are plain words, a bad filter value becomes a warning the
page shows, a quote with no partner is dropped with a warning (its words read as plain words), and the text is cut
to ``MAX_QUERY_CHARS``. A hyphenated compound typed without quotes (``UniWorld-View``) is a phrase, except in a
sentence, where it stands for its words like quotes do. Words are kept as text; each retriever escapes them for its
own engine.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from papertide.arxiv_ids import try_parse_arxiv_id

MAX_QUERY_CHARS = 1_000
MAX_TERMS = 32
KEYPHRASE_CHARS = 120
SENTENCE_WORDS = 8  # plain words from which a query reads as a sentence (quotes become emphasis)
Field = Literal["title", "author", "abstract"]
_FIELDS: dict[str, Field] = {
    "title": "title",
    "ti": "title",
    "author": "author",
    "au": "author",
    "abstract": "abstract",
    "abs": "abstract",
}
_TOKEN = re.compile(r'(-?)(?:([A-Za-z]+):)?(?:"([^"]*)"?|(\S+))')
_WORD_CHARS = re.compile(r"[\w]+(?:[.'’-][\w]+)*", re.UNICODE)
_CLAUSE_MARK = re.compile(r"[,;:.?!()\[\]]")
_COMPOUND = re.compile(r"\w-\w")  # a hyphen between two word characters: "UniWorld-View", "fine-tuning"
_COMPARISON = re.compile(r"^(>=|<=|>|<|=)?(\d{1,9})$")
_CATEGORY = re.compile(r"^[a-z-]+(\.[a-z-]+)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    field: Field | None = None
    phrase: bool = False
    negated: bool = False
    prefix: bool = False
    # Punctuation that ends a clause (, ; : . ? ! or a bracket) follows the word: the next word is not its
    # neighbour ("local networks, network operating systems"), which proximity ranking reads. Where a term sits,
    # not what it is, so it takes no part in comparing terms (``dataclasses.field``: ``field`` above is a field).
    clause_end: bool = dataclasses.field(default=False, compare=False)
    # A phrase typed as a hyphenated compound, not in quotes: a sentence reads it as its words again.
    compound: bool = dataclasses.field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: tuple[Term, ...] = ()
    categories: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    after: date | None = None
    before: date | None = None
    min_upvotes: int | None = None
    max_upvotes: int | None = None
    has_code: bool = False
    keyphrases: tuple[str, ...] = ()  # kw: papertide's own keyphrases, folded (fold_keyphrase)
    arxiv_id: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def positive_terms(self) -> tuple[Term, ...]:
        return tuple(term for term in self.terms if not term.negated)

    @property
    def natural_text(self) -> str:
        """The words a semantic retriever should embed: every positive word and phrase, no syntax."""
        return " ".join(term.text for term in self.positive_terms)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.categories
            or self.organizations
            or self.after
            or self.before
            or self.has_code
            or self.keyphrases
            or self.min_upvotes is not None
            or self.max_upvotes is not None
        )

    @property
    def is_empty(self) -> bool:
        return not self.positive_terms and not self.has_filters and self.arxiv_id is None


def parse_query(text: str) -> SearchQuery:
    warnings: list[str] = []
    if len(text) > MAX_QUERY_CHARS:
        warnings.append(f"The query was cut to its first {MAX_QUERY_CHARS:,} characters.")
        text = text[:MAX_QUERY_CHARS]
    text = text.replace("\x00", " ").strip()
    jump = try_parse_arxiv_id(text) if text and " " not in text else None
    if jump is not None:
        return SearchQuery(arxiv_id=jump.id)
    text = _unpaired_quote_dropped(text, warnings)
    query = SearchQuery()
    for match in _TOKEN.finditer(text):
        query = _apply(query, match, warnings)
    if len(query.terms) > MAX_TERMS:
        warnings.append(f"Only the first {MAX_TERMS} words were used.")
        query = replace(query, terms=query.terms[:MAX_TERMS])
    return replace(_quotes_as_emphasis(query), warnings=tuple(warnings))


def _unpaired_quote_dropped(text: str, warnings: list[str]) -> str:
    """Quotes pair from the left, so with an odd number the last one has no partner: it is dropped and its words
    are plain words, with a warning saying so (a phrase running to the end of the box matched nothing)."""
    if text.count('"') % 2 == 0:
        return text
    position = text.rindex('"')
    following = " ".join(_words(text[position + 1 :])[:4])
    where = f" before {following!r}" if following else " at the end"
    warnings.append(f"The quote{where} has no closing quote, so its words were read as plain words.")
    return text[:position] + " " + text[position + 1 :]


def _quotes_as_emphasis(query: SearchQuery) -> SearchQuery:
    """In a sentence (``SENTENCE_WORDS`` plain words or more), unfielded quotes are emphasis, not a requirement:
    a description or pasted abstract that quotes a term ('systems that are "type correct"') should still find
    papers wording it otherwise. Their words join the alternatives; excluded and fielded phrases stay hard.
    Requiring such phrases left CACM queries without their relevant documents (bench/RESULTS.md). Hyphenated
    compounds count as words here and are words again in a sentence ("fine-tuning" stands for fine and tuning)."""
    plain = [t for t in query.terms if not ((t.phrase and not t.compound) or t.field or t.negated)]
    if len(plain) < SENTENCE_WORDS:
        return query
    terms: list[Term] = []
    for term in query.terms:
        if term.compound and not term.negated:
            terms.append(replace(term, phrase=False, compound=False))
        elif term.phrase and term.field is None and not term.negated:
            terms.extend(Term(word) for word in term.text.split())
        else:
            terms.append(term)
    return replace(query, terms=tuple(terms))


def _apply(query: SearchQuery, match: re.Match[str], warnings: list[str]) -> SearchQuery:
    negated, key, quoted, bare = match.group(1) == "-", (match.group(2) or "").lower(), match.group(3), match.group(4)
    value = quoted if quoted is not None else bare or ""
    if key and key not in _FIELDS:
        filtered = _filter(query, key, value, warnings)
        if filtered is not None:
            return filtered
        value = f"{match.group(2)}:{value}"  # an unknown key is just a word such as "TL;DR:" or "re:"
        key = ""
    field_name = _FIELDS.get(key)
    if quoted is not None:
        phrase = _words(value)
        return _with_terms(query, [Term(" ".join(phrase), field_name, True, negated)] if phrase else [])
    found = list(_WORD_CHARS.finditer(value))
    if found and query.terms and _CLAUSE_MARK.search(value, 0, found[0].start()):  # "(like this)"
        query = replace(query, terms=(*query.terms[:-1], replace(query.terms[-1], clause_end=True)))
    following = [m.start() for m in found[1:]] + [len(value)]  # where the text after each word ends
    terms = [
        _bare(m.group(0), field_name, negated, bool(_CLAUSE_MARK.search(value, m.end(), stop)))
        for m, stop in zip(found, following, strict=False)
    ]
    if terms and value.endswith("*"):  # "prun*" matches pruning, pruner, …
        terms[-1] = replace(terms[-1], prefix=True, phrase=False, compound=False)
    return _with_terms(query, terms)


def _bare(word: str, field_name: Field | None, negated: bool, clause_end: bool) -> Term:
    """A word typed without quotes; a hyphenated compound ("UniWorld-View") is a phrase of its parts."""
    compound = bool(_COMPOUND.search(word))
    return Term(word, field_name, compound, negated, clause_end=clause_end, compound=compound)


def _words(text: str) -> list[str]:
    return _WORD_CHARS.findall(text)


def _with_terms(query: SearchQuery, terms: list[Term]) -> SearchQuery:
    return replace(query, terms=query.terms + tuple(terms)) if terms else query


def _filter(query: SearchQuery, key: str, value: str, warnings: list[str]) -> SearchQuery | None:
    """Apply a ``key:value`` filter; None when ``key`` is not a filter name."""
    if key == "cat":
        if _CATEGORY.match(value):
            return replace(query, categories=query.categories + (_category(value),))
        warnings.append(f"cat:{value[:40]} is not an arXiv category such as cs.CL.")
        return query
    if key == "org":
        return replace(query, organizations=query.organizations + (value[:96],)) if value else query
    if key == "kw":
        phrase = fold_keyphrase(value)
        return replace(query, keyphrases=query.keyphrases + (phrase,)) if phrase else query
    if key in ("after", "before", "year"):
        return _date_filter(query, key, value, warnings)
    if key == "upvotes":
        return _upvotes_filter(query, value, warnings)
    if key == "has":
        if value.lower() == "code":
            return replace(query, has_code=True)
        warnings.append(f"has:{value[:40]} is not known; try has:code.")
        return query
    return None


def fold_keyphrase(phrase: str) -> str:
    """A keyphrase as ``kw:`` compares it (and ``services/keyphrases.py`` stores it): lower case, single spaces."""
    return " ".join(phrase.lower().split())[:KEYPHRASE_CHARS]


def _category(value: str) -> str:
    archive, _, subject = value.partition(".")
    return f"{archive.lower()}.{subject.upper() if len(subject) == 2 else subject}" if subject else archive.lower()


def _date_filter(query: SearchQuery, key: str, value: str, warnings: list[str]) -> SearchQuery:
    try:
        if key == "year":
            year = int(value)
            if not 1991 <= year <= 2100:
                raise ValueError(value)
            return replace(query, after=date(year, 1, 1), before=date(year, 12, 31))
        day = date.fromisoformat(value)
    except ValueError:
        expected = "a year such as 2024" if key == "year" else "a date such as 2024-03-31"
        warnings.append(f"{key}:{value[:40]} is not {expected}; the filter was ignored.")
        return query
    return replace(query, after=day) if key == "after" else replace(query, before=day)


def _upvotes_filter(query: SearchQuery, value: str, warnings: list[str]) -> SearchQuery:
    match = _COMPARISON.match(value)
    if not match:
        warnings.append(f"upvotes:{value[:40]} should look like upvotes:>10; the filter was ignored.")
        return query
    operator, number = match.group(1) or "=", int(match.group(2))  # a bare number means exactly, as on GitHub
    if operator in (">", ">="):
        return replace(query, min_upvotes=number + (operator == ">"))
    if operator in ("<", "<="):
        return replace(query, max_upvotes=number - (operator == "<"))
    return replace(query, min_upvotes=number, max_upvotes=number)
