"""The tantivy query for a parsed :class:`SearchQuery`: built from its terms, each analysed like the index, never
by tantivy's query parser, so nothing a user types is query syntax; filters (categories, dates) restrict it
without scoring.
"""

from __future__ import annotations

from collections.abc import Sequence

import tantivy

from papertide.search.query import SearchQuery, Term
from papertide.search.retrieval import plain_words, prefix_root
from papertide.search.tantivy_keyword.schema import EPOCH, FIELDS, FOLDED, STEMMED, TEXT

PREFIX_EXPANSIONS = 16  # the commonest words of a prefix scored by BM25; every other word matches at a flat score


def with_filters(ranked: tantivy.Query, query: SearchQuery, schema: tantivy.Schema) -> tantivy.Query:
    """``ranked`` restricted to papers that can pass the query's categories and dates (scoring nothing), so a
    filtered search ranks candidates that pass instead of widening past many that do not."""
    filters = [tantivy.Query.term_query(schema, "category", category) for category in query.categories]
    if query.after or query.before:
        days = [(d - EPOCH.date()).days if d else None for d in (query.after, query.before)]
        filters.append(tantivy.Query.range_query(schema, "published", tantivy.FieldType.Integer, days[0], days[1]))
    if not filters:
        return ranked
    musts = [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, ranked), *musts])


def build_query(query: SearchQuery, schema: tantivy.Schema, searcher: tantivy.Searcher) -> tantivy.Query | None:
    """The tantivy query for ``query``: plain content words as alternatives (at least one must match), phrases and
    field terms required, exclusions removed; None when nothing positive remains. Built from the parsed terms,
    each analysed like the index, so nothing a user types is query syntax."""
    occur = tantivy.Occur
    build = _QueryBuilder(schema, searcher)
    words = [q for q in (build.anywhere(t) for t in plain_words(query)) if q is not None]
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if words:
        clauses.append((occur.Must, words[0] if len(words) == 1 else _any(words)))
    for term in query.positive_terms:
        if term.phrase or term.field is not None:
            clauses.append((occur.Must, build.required(term)))
    if not clauses:
        return None
    clauses.extend((occur.MustNot, excluded) for excluded in _exclusions(query, build))
    if len(clauses) == 1:
        return clauses[0][1]  # unwrapped, a disjunction of words is ranked by block-max WAND
    return tantivy.Query.boolean_query(clauses)


def excluded(query: SearchQuery, schema: tantivy.Schema, searcher: tantivy.Searcher) -> tantivy.Query | None:
    """The papers the query's exclusions remove (any excluded term), as its ranked query removes them; None when
    it excludes nothing the index holds a word of."""
    exclusions = _exclusions(query, _QueryBuilder(schema, searcher))
    return _any(exclusions) if exclusions else None


def _exclusions(query: SearchQuery, build: _QueryBuilder) -> list[tantivy.Query]:
    return [q for q in (build.anywhere(t) for t in query.terms if t.negated) if q is not None]


def _any(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


class _QueryBuilder:
    def __init__(self, schema: tantivy.Schema, searcher: tantivy.Searcher) -> None:
        self.schema = schema
        self.searcher = searcher

    def anywhere(self, term: Term) -> tantivy.Query | None:
        """The term in its field, or in title, authors and abstract together; None without an indexable word."""
        return self.in_field(term, FIELDS[term.field] if term.field else TEXT)

    def required(self, term: Term) -> tantivy.Query:
        # A required term with no indexable word (a 70-letter token) matches nothing, as it would in FTS5.
        return self.anywhere(term) or tantivy.Query.empty_query()

    def in_field(self, term: Term, name: str) -> tantivy.Query | None:
        if term.prefix:
            return self._prefix(term, name)
        tokens = STEMMED.analyze(term.text)
        if not tokens:
            return None
        if len(tokens) == 1:
            return tantivy.Query.term_query(self.schema, name, tokens[0])
        # "state-of-the-art" and quoted phrases: the words in order, as FTS5 reads a quoted string.
        words: list[str | tuple[int, str]] = list(tokens)
        return tantivy.Query.phrase_query(self.schema, name, words)

    def _prefix(self, term: Term, name: str) -> tantivy.Query | None:
        """Stored words are stems, which a typed prefix can overrun ("splatt*" against "splat"), so the last two
        letters are dropped as FTS5 does (``prefix_root``). Every word with the root matches; the commonest ones
        are scored by BM25 like typed words, the rest at a flat score."""
        tokens = FOLDED.analyze(prefix_root(term.text))
        if not tokens:
            return None
        if len(tokens) > 1:
            stems = [STEMMED.analyze(t)[0] if STEMMED.analyze(t) else t for t in tokens[:-1]]
            return tantivy.Query.phrase_prefix_query(self.schema, name, [*stems, tokens[-1]])
        root = tokens[0]
        expansions = self.searcher.terms_with_prefix(name, root, limit=PREFIX_EXPANSIONS)
        scored = [tantivy.Query.term_query(self.schema, name, word) for word, _ in expansions]
        everything = tantivy.Query.const_score_query(tantivy.Query.phrase_prefix_query(self.schema, name, [root]), 0.1)
        return _any([everything, *scored])
