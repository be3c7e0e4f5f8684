"""Zotero's reading of a page's meta tags, reproduced for the tests: what its Embedded Metadata translator (the one
the Zotero Connector and translation-server run on pages without a site translator) makes of papertide's paper
page, rule by rule as its source reads them.

Transcribed from zotero/translators ``Embedded Metadata.js`` and ``RDF.js`` at 2814370161d05d799086825fac8d499db3a33aa3,
zotero/utilities ``utilities.js`` (``cleanAuthor``, ``cleanDOI``, ``trimInternal``) at 4051881d and the item checks
of zotero/translate ``testTranslators/test.mjs`` at 017253c1, with the item types and fields of zotero/zotero-schema
at 5eedf440. Only the rules that papertide's tags reach are here: the Highwire mappings, the RDF statements made
from ``DC.*`` and ``og:*`` tags (title, type, abstract, identifiers, URL), creators, the PDF attachment, and the
move of a base field to the item type's own field (``number`` is a preprint's ``archiveID``), dropping fields the
type lacks. Nothing else of Zotero runs; a rule a page does not exercise is not reproduced.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import html

# Embedded Metadata.js HIGHWIRE_MAPPINGS, in its order (a later mapping to the same field wins).
HIGHWIRE_MAPPINGS = (
    ("citation_title", "title"),
    ("citation_publication_date", "date"),
    ("citation_cover_date", "date"),
    ("citation_date", "date"),
    ("citation_journal_title", "publicationTitle"),
    ("citation_journal_abbrev", "journalAbbreviation"),
    ("citation_inbook_title", "publicationTitle"),
    ("citation_book_title", "bookTitle"),
    ("citation_volume", "volume"),
    ("citation_issue", "issue"),
    ("citation_series_title", "series"),
    ("citation_conference_title", "conferenceName"),
    ("citation_conference", "conferenceName"),
    ("citation_dissertation_institution", "university"),
    ("citation_technical_report_institution", "institution"),
    ("citation_technical_report_number", "number"),
    ("citation_publisher", "publisher"),
    ("citation_isbn", "ISBN"),
    ("citation_abstract", "abstractNote"),
    ("citation_doi", "DOI"),
    ("citation_public_url", "url"),
    ("citation_language", "language"),
)
# init(): the Highwire tags that name an item type; the last one on the page wins. citation_title only guesses.
HIGHWIRE_TYPES = {
    "citation_journal_title": "journalArticle",
    "citation_technical_report_institution": "report",
    "citation_conference_title": "conferencePaper",
    "citation_conference": "conferencePaper",
    "citation_book_title": "bookSection",
    "citation_inbook_title": "bookSection",
    "citation_dissertation_institution": "thesis",
}
PREFIXES = {"dc": "dc", "dcterms": "dcterms", "og": "og"}  # the namespaces papertide's tags use, of _prefixes
# zotero-schema: the fields of the types a paper page can become, and base fields moved to a type's own field.
FIELDS = {
    "preprint": {"title", "abstractNote", "genre", "repository", "archiveID", "place", "date", "series", "DOI", "url"},
    "journalArticle": {
        "title",
        "abstractNote",
        "publicationTitle",
        "publisher",
        "date",
        "volume",
        "issue",
        "DOI",
        "url",
    },
    "report": {"title", "abstractNote", "reportNumber", "reportType", "institution", "place", "date", "DOI", "url"},
}
SUBFIELDS = {
    "preprint": {"number": "archiveID", "publisher": "repository", "type": "genre"},
    "report": {"number": "reportNumber", "publisher": "institution", "type": "reportType"},
}
ITEM_TYPES = {*FIELDS, "document", "webpage", "book"}  # ZU.itemTypeExists, for the types a DC.type may name


def trim_internal(text: str) -> str:
    return re.sub(r"[\xa0\r\n\s]+", " ", text).strip()


def clean_doi(text: str) -> str | None:
    found = re.search(r"10(?:\.[0-9]{4,})?/\S*[^\s.,]", text)
    return found.group(0) if found else None


def clean_author(name: str, comma: bool) -> dict[str, str]:
    """ZU.cleanAuthor, without its handling of initials: "Family, Given" with a comma, else the last word is the
    family name."""
    name = re.sub(r"[\s\xa0.,/\[\]:]+$", "", re.sub(r"^[\s\xa0.,/\[\]:]+", "", name))
    if comma:
        family, _, given = re.sub(r"\.([^ ])", r". \1", name, count=1).partition(",")
        return {"lastName": family, "firstName": given.lstrip()}
    given, _, family = name.rpartition(" ")
    return {"lastName": family, "firstName": given}


def fix_case(name: str) -> str:
    """Embedded Metadata's fixCase: a name all in capitals or all in lower case is title-cased."""
    return name.title() if name in (name.upper(), name.lower()) else name


def _head_tags(page: str) -> list[tuple[str, str, bool]]:
    """(name or property, content, whether it is a ``name``) of the head's meta tags that have content."""
    tree = html.fromstring(page)
    return [
        (meta.get("name") or meta.get("property") or "", meta.get("content") or "", meta.get("name") is not None)
        for meta in tree.xpath("/html/head/meta")
        if (meta.get("name") or meta.get("property")) and meta.get("content")
    ]


def _content(tags: list[tuple[str, str, bool]], suffix: str) -> list[str]:
    """getContentText / getContent: the ``name`` tags ending with ``suffix`` (not an exact match), in page order."""
    return [content for name, content, is_name in tags if is_name and name.endswith(suffix)]


def _rdf_statements(tags: list[tuple[str, str, bool]]) -> dict[str, list[str]]:
    """init(): ``DC.description`` and ``og:description`` become RDF statements keyed by namespace and property."""
    statements: dict[str, list[str]] = {}
    for name, content, _ in tags:
        for tag in name.split():
            parts = re.split(r"[.:_]", tag)
            prefix = parts[0].lower()
            if prefix in PREFIXES:
                prop = tag[len(parts[0]) + 1 :]
                statements.setdefault(f"{PREFIXES[prefix]}:{prop[:1].lower()}{prop[1:]}", []).append(content)
    return statements


def _first(statements: dict[str, list[str]], *properties: str) -> str | None:
    """RDF.js getFirstResults: the first value of the first property that has one."""
    return next((statements[p][0] for p in properties if statements.get(p)), None)


def _rdf_item(statements: dict[str, list[str]], guess: str | None) -> dict[str, Any]:
    """RDF.js importItem, for what papertide's tags reach: type, title, identifiers, URL, abstract."""
    dc_type = _first(statements, "dc:type", "dcterms:type")
    og_guess = "journalArticle" if _first(statements, "og:type") == "article" else None
    item: dict[str, Any] = {"itemType": (dc_type if dc_type in ITEM_TYPES else None) or guess or og_guess}
    item["title"] = _first(statements, "dc:title", "dcterms:title", "og:title")
    for identifier in statements.get("dc:identifier", []) + statements.get("dcterms:identifier", []):
        before_space = identifier[: identifier.find(" ")].upper() if " " in identifier else ""
        doi = identifier[4:] if before_space == "DOI" else clean_doi(identifier)
        if doi:
            item["DOI"] = doi
    item["url"] = _first(statements, "og:url")
    abstract = _first(statements, "og:description", "dcterms:abstract", "dc:description.abstract")
    item["abstractNote"] = abstract or _first(statements, "dc:description", "dcterms:description")
    return {field: value for field, value in item.items() if value}


def _item_type(tags: list[tuple[str, str, bool]]) -> tuple[str | None, str | None]:
    """(hwType, hwTypeGuess) of init(): the last type-naming Highwire tag, and the guess citation_title makes."""
    hw_type = guess = None
    for name, _, _ in tags:
        short = name[name.rfind("citation_") :] if "citation_" in name else name
        hw_type = HIGHWIRE_TYPES.get(short, hw_type)
        if short in ("citation_title", "citation_series_title"):
            guess = guess or "journalArticle"
    return hw_type, guess


def zotero_item(page: str) -> dict[str, Any]:
    """The item Zotero saves from ``page``, as the translator tester compares items (base fields moved, fields the
    type lacks dropped, access date left out)."""
    tags = _head_tags(page)
    hw_type, guess = _item_type(tags)
    item = _rdf_item(_rdf_statements(tags), guess)
    if hw_type:
        item["itemType"] = hw_type
    for meta, field in HIGHWIRE_MAPPINGS:  # addHighwireMetadata → processFields: the first tag of each wins
        values = _content(tags, meta)
        if values and values[0].strip():
            item[field] = trim_internal(values[0])
    item["creators"] = [_creator(name) for name in _content(tags, "citation_author")]
    if not item.get("url"):
        item["url"] = next(iter(_content(tags, "citation_abstract_html_url")), None)
    pdf = _content(tags, "citation_pdf_url")
    item["attachments"] = [{"title": "Full Text PDF", "url": pdf[0]}] if pdf else [{"title": "Snapshot"}]
    if item.get("DOI"):
        item["DOI"] = clean_doi(item["DOI"])
    return _sanitized(item)


def _creator(name: str) -> dict[str, str]:
    creator = clean_author(name.strip(), "," in name)
    return {"firstName": fix_case(creator["firstName"]), "lastName": fix_case(creator["lastName"])}


def _sanitized(item: dict[str, Any]) -> dict[str, Any]:
    kind = item["itemType"]
    kept: dict[str, Any] = {"itemType": kind, "creators": item["creators"], "attachments": item["attachments"]}
    for field, value in item.items():
        field = SUBFIELDS.get(kind, {}).get(field, field)
        if field in FIELDS.get(kind, set()) and value:
            kept[field] = value
    return kept
