"""What the keyword index holds: its analyzers (Unicode words, lowercased, diacritics folded, English Snowball
stems), its schema, and the document a paper becomes (title, author names, abstract, categories, effective date).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import tantivy

from papertide.models import Paper

# Bump when the schema or the analyzer changes: an index of another version is rebuilt.
SCHEMA_VERSION = 2  # 2: papers dated by their effective date (``papers.published_on``)


ANALYZER = "papertide_english"


MARKER = "papertide-keyword-index"  # a file naming the directory ours, so a rebuild never deletes anything else


# Plain words and unfielded phrases are ranked by one BM25 over title, authors and abstract together ("text"):
# on CACM it beat per-field BM25 with weights 3/2/1, 2/1/1 and 1/1/1, and a title counted twice (bench/RESULTS.md).
# The separate fields serve ``title:``, ``author:`` and ``abstract:`` terms.
TEXT = "text"


FIELDS = {"title": "title", "author": "authors", "abstract": "abstract"}


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    """Unicode words, lowercased, diacritics folded ("Týr" is "tyr"), English Snowball stems. Function words stay
    in the index so phrases keep them; plain-word queries drop them (``content_words``)."""
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(64))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    return (builder.filter(tantivy.Filter.stemmer("english")) if stem else builder).build()


STEMMED = _analyzer(stem=True)


FOLDED = _analyzer(stem=False)  # for typed prefixes, which must not be stemmed themselves


def index_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)  # paper id; 0 holds the watermark document
    for name in (TEXT, *FIELDS.values()):
        builder.add_text_field(name, tokenizer_name=ANALYZER, index_option="position")
    # Filters only the upsert changes (and so stamps ``modified_at``), so tantivy can rank only papers that may
    # pass them; the database still checks every filter. Code links, upvotes, featured days and hidden flags
    # change elsewhere, so they are left to the database.
    builder.add_text_field("category", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("published", indexed=True, fast=True)  # the effective date, in days since 1970
    builder.add_text_field("meta", stored=True, tokenizer_name="raw")
    return builder.build()


INDEXED_COLUMNS = (
    Paper.id,
    Paper.title,
    Paper.author_names,
    Paper.abstract,
    Paper.categories,
    Paper.published_on,
    Paper.modified_at,
)


def document_of(row: Any) -> tantivy.Document:
    document = tantivy.Document()
    document.add_integer("id", row.id)
    for name, value in (("title", row.title), ("authors", row.author_names), ("abstract", row.abstract)):
        document.add_text(name, value or "")
        document.add_text(TEXT, value or "")  # three values of one field: a phrase never spans two of them
    for category in row.categories or ():
        document.add_text("category", category)
    if row.published_on is not None:  # the effective date, as the database filters by it
        document.add_integer("published", (row.published_on - EPOCH.date()).days)
    return document
