"""Citations: papers as BibTeX (written by bibtexparser 2), RIS (written by rispy) and CSL-JSON, plus the Highwire,
schema.org and COinS metadata that citation managers read from pages.

The paper page, its ``.bib``/``.ris``/``.csl.json`` twins, collection and search exports and the CLI all format
through here, from :class:`Citable` values read by :func:`query_citables` (the one read this use-case needs).

BibTeX follows arXiv's own export: ``@misc`` with ``eprint``, ``archivePrefix = {arXiv}``, ``primaryClass``, the
abs page as ``url``, plus ``doi`` and ``journal`` where arXiv knows them; ``eprinttype = {arXiv}`` beside
``archivePrefix`` is BibLaTeX's name for it, the one Zotero's BibTeX import reads. Names are written "Family, Given"
(a first name such as ``{\\L}ukasz`` then cannot be read as a name particle) and an unknown author is left out, not
made "Anonymous". Titles keep their LaTeX (``$\\alpha$`` stays math), only non-ASCII characters become LaTeX (``ü``
→ ``{\\"u}``, braced so BibTeX sorts and abbreviates right; ``π`` → ``$\\pi$``, as every BibTeX reader knows
math), a ``$`` with no partner ("Pretraining for $60") is escaped so it opens no math, and braces that do not pair
are dropped, since one stray brace makes the whole file unreadable. Citation keys are arXiv's shape
(``vaswani2017attentionneed``), derived from the paper alone so they stay the same across exports, with ``-2``,
``-3`` appended where two papers of one export would share one.

RIS has one ``UR`` (the abs page) and the PDF in ``L1``, as RIS defines: readers such as citation-js turn two ``UR``
lines into a list that no style prints. The page metadata is what Zotero's Embedded Metadata translator keeps: the
whole abstract in ``citation_abstract`` and ``DC.description``, a preprint's type in ``DC.type``, and the arXiv id
as its number (``citation_technical_report_number``) and as arXiv's DOI in ``DC.identifier``: Zotero ignores
``citation_arxiv_id``, which Google Scholar reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import bibtexparser
import rispy
from bibtexparser.model import Entry, Field
from pylatexenc.latexencode import UnicodeToLatexEncoder
from rispy.writer import RisWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.arxiv_ids import abs_url, arxiv_doi, pdf_url
from papertide.db import among
from papertide.models import Paper
from papertide.text import latex_plain, split_math, without_diacritics

FORMATS = ("bibtex", "ris", "csl")
MEDIA_TYPES = {
    "bibtex": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "csl": "application/vnd.citationstyles.csl+json",
}
SUFFIXES = {"bibtex": ".bib", "ris": ".ris", "csl": ".csl.json"}
LABELS = {"bibtex": "BibTeX", "ris": "RIS", "csl": "CSL-JSON"}
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "dos", "ter"})
_GROUP_WORDS = ("collaboration", "consortium", "team", "group", "project")
_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by can do does for from how in is it its of on or our the to towards via we what"
        " when where which who why with without you your all",
    )
)
# Only non-ASCII becomes LaTeX: the title's own LaTeX (math, \emph, \"o) is ASCII and passes through untouched.
_LATEX = UnicodeToLatexEncoder(non_ascii_only=True, replacement_latex_protection="braces-all")
# Outside math a lone $ would open math; inside, & and # are as wrong as outside, and % starts a comment anywhere.
_UNESCAPED_IN_TEXT = re.compile(r"(?<!\\)([&%#$])")
_UNESCAPED_IN_MATH = re.compile(r"(?<!\\)([&%#])")
# pylatexenc writes a math symbol outside math as {\ensuremath{\pi}}, which citation-js and Zotero show as written.
_ENSUREMATH = re.compile(r"\{\\ensuremath\{([^{}]*)\}\}")
_ENSUREMATH_RUN = re.compile(r"(?:\{\\ensuremath\{[^{}]*\}\})+")
# ...and an accented i on a dotless one ({\"\i}), which citation-js reads as "ı̈", not "ï": {\"i} is read right.
_ACCENTED_DOTLESS_I = re.compile(r"(\\[\"'`^~=])\\i\}")


@dataclass(frozen=True, slots=True)
class Citable:
    """What a citation needs of one paper."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    abstract: str | None
    primary_category: str | None
    categories: tuple[str, ...]
    first_version: date | None
    doi: str | None
    journal_ref: str | None
    published_on: date | None = None  # the effective date (``arxiv_ids.effective_date``)

    @property
    def year(self) -> int | None:
        """The first version's year, else the effective date's: a paper known only from a daily list is cited by
        the year it was featured (or its id names), never without one."""
        day = self.first_version or self.published_on
        return day.year if day else None

    def day(self, form: str) -> str | None:
        """The first version's day written in ``form`` (strftime), else the year alone: no day is made up."""
        if self.first_version:
            return self.first_version.strftime(form)
        return str(self.year) if self.year else None


def query_citables(session: Session, paper_ids: Sequence[int]) -> list[Citable]:
    """The visible papers of ``paper_ids`` as citables, in the order given."""
    if not paper_ids:
        return []
    papers = session.execute(select(Paper).where(among(session, Paper.id, list(paper_ids)), Paper.hidden.is_(False)))
    found = {paper.id: _citable(paper) for paper in papers.scalars()}
    return [found[paper_id] for paper_id in paper_ids if paper_id in found]


def _citable(paper: Paper) -> Citable:
    first = paper.submitted_at.date() if paper.submitted_at else paper.announced_on
    return Citable(
        arxiv_id=paper.arxiv_id,
        title=" ".join(paper.title.split()),
        authors=tuple(" ".join(str(author.get("name", "")).split()) for author in paper.authors if author.get("name")),
        abstract=" ".join(paper.abstract.split()) if paper.abstract else None,
        primary_category=paper.primary_category or (paper.categories[0] if paper.categories else None),
        categories=tuple(paper.categories),
        first_version=first,
        doi=paper.doi.strip() if paper.doi else None,
        journal_ref=" ".join(paper.journal_ref.split()) if paper.journal_ref else None,
        published_on=paper.published_on,
    )


# Names --------------------------------------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str] | None:
    """``"Ludwig van Beethoven"`` → ``("Ludwig", "van Beethoven")``: (given, family), or None for a name that is
    one word or a group ("ATLAS Collaboration"), which citations carry as written."""
    words = name.split()
    if len(words) < 2 or any(word.lower() in _GROUP_WORDS for word in words):
        return None
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def inverted_name(name: str) -> str:
    """``"Family, Given"`` as RIS and Highwire write authors; a group or one-word name as it is."""
    parts = split_name(name)
    return f"{parts[1]}, {parts[0]}" if parts else name


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", without_diacritics(latex_plain(text)).lower())


def citation_key(paper: Citable) -> str:
    """arXiv's key shape: first author's family name, year, first two title words that are not stopwords."""
    first = paper.authors[0] if paper.authors else ""
    parts = split_name(first)
    family = parts[1].split()[-1] if parts else (first.split() or ["anonymous"])[0]
    words = [_ascii_word(word) for word in latex_plain(paper.title).split()]
    significant = [word for word in words if word and word not in _STOPWORDS][:2]
    key = f"{_ascii_word(family) or 'anonymous'}{paper.year or ''}{''.join(significant)}"
    return key[:60]


def citation_keys(papers: Sequence[Citable]) -> list[str]:
    """One key per paper, unique within the export: a repeated key gets ``-2``, ``-3``."""
    seen: dict[str, int] = {}
    keys = []
    for paper in papers:
        key = citation_key(paper)
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}-{seen[key]}")
    return keys


# BibTeX -------------------------------------------------------------------------------------------------------


def balanced_braces(text: str) -> str:
    """``text`` without the braces that have no partner (BibTeX counts every brace, escaped or not)."""
    keep = [True] * len(text)
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "{":
            opened.append(index)
        elif char == "}":
            if opened:
                opened.pop()
            else:
                keep[index] = False
    for index in opened:
        keep[index] = False
    return "".join(char for char, kept in zip(text, keep, strict=True) if kept)


def bibtex_value(text: str) -> str:
    """Text as a BibTeX field value: LaTeX kept, non-ASCII as braced LaTeX (math symbols as ``$\\pi$``), ``& % #``
    and a lone ``$`` escaped, braces paired."""
    value = ""
    for part, math in split_math(text):
        written = _math_value(part) if math else _text_value(part)
        # "$\pi$" then "$x$" would read as "$$", display math: an empty group keeps the two apart.
        value += "{}" + written if value.endswith("$") and written.startswith("$") else written
    return balanced_braces(value)


def _text_value(text: str) -> str:
    """Outside math: symbols in a run ("πα") become one math span, ``$\\pi \\alpha$``."""
    encoded = _latex(_UNESCAPED_IN_TEXT.sub(r"\\\1", text))
    return _ENSUREMATH_RUN.sub(lambda run: f"${' '.join(_ENSUREMATH.findall(run.group(0)))}$", encoded)


def _math_value(span: str) -> str:
    return _ENSUREMATH.sub(r"{\1}", _latex(_UNESCAPED_IN_MATH.sub(r"\\\1", span)))


def _latex(text: str) -> str:
    return _ACCENTED_DOTLESS_I.sub(r"\1i}", _LATEX.unicode_to_latex(text))


def _bibtex_author(name: str) -> str:
    """``Family, Given``; a group ("ATLAS Collaboration") has no given name and is kept whole in braces."""
    parts = split_name(name)
    if parts is None:
        return f"{{{bibtex_value(name)}}}" if len(name.split()) > 1 else bibtex_value(name)
    given, family = parts
    return f"{_name_part(family)}, {_name_part(given)}"


def _name_part(text: str) -> str:
    """Part of a name, braced when it holds a comma or the word "and", either of which would cut it in two."""
    value = bibtex_value(text)
    return f"{{{value}}}" if "," in value or re.search(r"\band\b", value, re.IGNORECASE) else value


def bibtex_entry(paper: Citable, key: str) -> Entry:
    fields = [
        Field("title", bibtex_value(paper.title)),
        Field("author", " and ".join(_bibtex_author(name) for name in paper.authors)) if paper.authors else None,
        Field("year", str(paper.year)) if paper.year else None,
        Field("eprint", paper.arxiv_id),
        Field("archivePrefix", "arXiv"),
        Field("eprinttype", "arXiv"),
        Field("primaryClass", paper.primary_category) if paper.primary_category else None,
        Field("doi", balanced_braces(paper.doi)) if paper.doi else None,
        Field("journal", bibtex_value(paper.journal_ref)) if paper.journal_ref else None,
        Field("url", abs_url(paper.arxiv_id)),
    ]
    return Entry("misc", key, [field for field in fields if field is not None])


def to_bibtex(papers: Sequence[Citable]) -> str:
    library = bibtexparser.Library()
    for paper, key in zip(papers, citation_keys(papers), strict=True):
        library.add(bibtex_entry(paper, key))
    style = bibtexparser.BibtexFormat()
    style.indent = "  "
    style.block_separator = "\n"
    style.trailing_comma = True
    return bibtexparser.write_string(library, bibtex_format=style).strip() + "\n" if papers else ""


# RIS ----------------------------------------------------------------------------------------------------------


class _UnnumberedRisWriter(RisWriter):
    """rispy numbers entries ("1.") by default; Zotero, Mendeley and EndNote neither write nor need that."""

    def set_header(self, count: int) -> str:
        return ""


def ris_reference(paper: Citable, key: str) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "type_of_reference": "JOUR" if paper.journal_ref else "UNPB",
        "id": key,
        "title": paper.title,
        "authors": [inverted_name(name) for name in paper.authors],
        "publisher": "arXiv",
        "urls": [abs_url(paper.arxiv_id)],
        "file_attachments1": pdf_url(paper.arxiv_id),
        "notes": [f"arXiv:{paper.arxiv_id}" + (f" [{paper.primary_category}]" if paper.primary_category else "")],
        "keywords": list(paper.categories),
    }
    if paper.year:
        reference["year"] = str(paper.year)
    if paper.first_version:
        reference["date"] = paper.first_version.strftime("%Y/%m/%d")
    if paper.abstract:
        reference["abstract"] = paper.abstract
    if paper.doi:
        reference["doi"] = paper.doi
    if paper.journal_ref:
        reference["journal_name"] = paper.journal_ref
    return reference


def to_ris(papers: Sequence[Citable]) -> str:
    keys = citation_keys(papers)
    references = [ris_reference(paper, key) for paper, key in zip(papers, keys, strict=True)]
    return rispy.dumps(references, implementation=_UnnumberedRisWriter) if references else ""


# CSL-JSON -----------------------------------------------------------------------------------------------------


def csl_name(name: str) -> dict[str, str]:
    parts = split_name(name)
    if parts is None:
        return {"literal": name}
    given, family = parts
    particle_words = [word for word in family.split()[:-1] if word.lower() in _PARTICLES]
    if particle_words:
        return {"given": given, "non-dropping-particle": " ".join(particle_words), "family": family.split()[-1]}
    return {"given": given, "family": family}


def csl_item(paper: Citable, key: str) -> dict[str, Any]:
    """A CSL-JSON item: a preprint is CSL's ``article``, published by arXiv, its id the ``number``."""
    item: dict[str, Any] = {
        "id": key,
        "type": "article-journal" if paper.journal_ref else "article",
        "title": paper.title,
        "author": [csl_name(name) for name in paper.authors],
        "publisher": "arXiv",
        "number": f"arXiv:{paper.arxiv_id}",
        "URL": abs_url(paper.arxiv_id),
    }
    if paper.first_version:
        day = paper.first_version
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    elif paper.year:
        item["issued"] = {"date-parts": [[paper.year]]}
    if paper.abstract:
        item["abstract"] = paper.abstract
    if paper.doi:
        item["DOI"] = paper.doi
    if paper.journal_ref:
        item["container-title"] = paper.journal_ref
    if paper.categories:
        item["keyword"] = ", ".join(paper.categories)
    return item


def to_csl_json(papers: Sequence[Citable]) -> str:
    keys = citation_keys(papers)
    items = [csl_item(paper, key) for paper, key in zip(papers, keys, strict=True)]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def render(papers: Sequence[Citable], format_name: str) -> str:
    """``papers`` in one of :data:`FORMATS`."""
    writers = {"bibtex": to_bibtex, "ris": to_ris, "csl": to_csl_json}
    return writers[format_name](papers)


# Metadata for pages ---------------------------------------------------------------------------------------------


def highwire_tags(paper: Citable, page_url: str) -> list[tuple[str, str]]:
    """(name, content) of the ``citation_*`` meta tags Zotero's Connector and Google Scholar read, authors in
    order, one tag each, as arXiv's own pages write them, and the whole abstract.

    Zotero's Embedded Metadata translator ignores ``citation_arxiv_id`` (Google Scholar reads it). It keeps the
    number and the publisher of the item type that Dublin Core's ``DC.type`` names, so a preprint's number is
    ``arXiv:ID`` (Zotero's "Archive ID", as its own arXiv translator saves it) and its publisher arXiv (the
    "Repository"). A paper with a journal reference is a journal article instead, which has neither."""
    tags = [("citation_title", paper.title)]
    tags += [("citation_author", inverted_name(name)) for name in paper.authors]
    day = paper.day("%Y/%m/%d")
    if day:
        tags += [("citation_date", day), ("citation_publication_date", day), ("citation_online_date", day)]
    if paper.abstract:
        tags.append(("citation_abstract", paper.abstract))
    tags.append(("citation_arxiv_id", paper.arxiv_id))
    if not paper.journal_ref:
        tags += [("citation_technical_report_number", f"arXiv:{paper.arxiv_id}"), ("citation_publisher", "arXiv")]
    tags += [("citation_pdf_url", pdf_url(paper.arxiv_id)), ("citation_abstract_html_url", page_url)]
    if paper.doi:
        tags.append(("citation_doi", paper.doi))
    if paper.journal_ref:
        tags.append(("citation_journal_title", paper.journal_ref))
    return tags


def dublin_core_tags(paper: Citable) -> list[tuple[str, str]]:
    """(name, content) of the Dublin Core meta tags: the type (Zotero's item type unless a Highwire tag names one:
    ``citation_journal_title`` does), the whole abstract, and arXiv's DOI, which Zotero keeps as the item's DOI
    when the paper has no journal DOI of its own (``citation_doi`` wins over it)."""
    tags = [("DC.type", "preprint")]
    if paper.abstract:
        tags.append(("DC.description", paper.abstract))
    return [*tags, ("DC.identifier", f"doi:{arxiv_doi(paper.arxiv_id)}")]


def scholarly_article(paper: Citable, page_url: str) -> dict[str, Any]:
    """The schema.org ``ScholarlyArticle`` of a paper page (JSON-LD)."""
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle",
        "@id": page_url,
        "url": page_url,
        "headline": latex_plain(paper.title)[:500],
        "name": latex_plain(paper.title),
        "author": [{"@type": "Person", "name": name} for name in paper.authors],
        "identifier": [{"@type": "PropertyValue", "propertyID": "arXiv", "value": paper.arxiv_id}],
        "sameAs": abs_url(paper.arxiv_id),
        "encoding": {
            "@type": "MediaObject",
            "encodingFormat": "application/pdf",
            "contentUrl": pdf_url(paper.arxiv_id),
        },
    }
    published = paper.day("%Y-%m-%d")
    if published:
        article["datePublished"] = published
    if paper.abstract:
        article["abstract"] = latex_plain(paper.abstract)
    if paper.categories:
        article["keywords"] = list(paper.categories)
    if paper.doi:
        article["identifier"].append({"@type": "PropertyValue", "propertyID": "DOI", "value": paper.doi})
    return article


def coins(arxiv_id: str, title: str, authors: Iterable[str], published: str | None) -> str:
    """The OpenURL ContextObject of a COinS span (its ``title`` attribute, before HTML escaping)."""
    pairs = [
        ("ctx_ver", "Z39.88-2004"),
        ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
        ("rft.genre", "preprint"),
        ("rft.atitle", latex_plain(title)),
        ("rft.jtitle", "arXiv"),
        *(("rft.au", name) for name in authors),
        *((("rft.date", published),) if published else ()),
        ("rft_id", f"info:arxiv/{arxiv_id}"),
        ("rft_id", abs_url(arxiv_id)),
    ]
    return urlencode(pairs)
