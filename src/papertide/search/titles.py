"""Titles as a known-item search compares them: the keys stored with every paper and the words a query is matched
by, so that a query that is a paper's title near enough finds it whatever the engine.

A title and a query become the same words when they differ only in case, punctuation, hyphens, accents, LaTeX or
Greek letters written out: LaTeX made plain (``$\\pi^3$`` is ``π^3``), Greek letters spelled (``π`` is ``pi``),
letters split from digits (``Qwen2.5`` is ``qwen 2 5``, as is ``Qwen 2.5``), then the keyword index's own analysis
(Unicode words, lowercased, diacritics folded, English stems), and a leading article dropped ("The Llama 3 Herd
of Models" starts with ``llama``).

Two keys are stored (``papers.title_key`` and ``papers.name_key``, written by the upsert in
``services/papers.py``): the whole title's words, and its coined name's: what comes before the first colon
("DeepSeek-R1" of "DeepSeek-R1: Incentivizing Reasoning …"), less a generic ending such as "Technical Report"
("Qwen2 Technical Report" is named ``qwen 2``). ``search/known_items.py`` looks queries up by them.
"""

from __future__ import annotations

import re
import unicodedata

from papertide.search.tantivy_keyword.schema import STEMMED
from papertide.text import latex_plain, without_diacritics

# Endings that name a document, not the thing: "Phi-3 Technical Report" is about Phi-3.
GENERIC_ENDINGS = ("technical report", "tech report", "report", "system card", "model card")
_ARTICLES = frozenset({"the", "a", "an"})
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_NOT_WORD = re.compile(r"[\W_]+")
_SEPARATOR = ":"


def title_words(text: str) -> list[str]:
    """``text`` as the words titles are compared by (see the module's docstring); a leading article dropped."""
    words = STEMMED.analyze(_LETTER_DIGIT.sub(" ", _spelled_greek(latex_plain(text))))
    return words[1:] if len(words) > 1 and words[0] in _ARTICLES else words


def title_key(title: str) -> str:
    """The stored key of a whole title: its words, space-separated."""
    return " ".join(title_words(title))


def coined_name(title: str) -> str | None:
    """The name a title coins, as written: the text before its first colon less a generic ending, or the title
    less a generic ending ("Qwen2 Technical Report" coins "Qwen2"); None when it coins none."""
    plain = latex_plain(title)
    head, colon, _ = plain.partition(_SEPARATOR)
    name = _without_generic_ending(head)
    if not colon and name == head:
        return None
    return name.strip(" -–—,.") or None


def name_key(title: str) -> str | None:
    """The stored key of a title's coined name (:func:`coined_name`), or None."""
    name = coined_name(title)
    return " ".join(title_words(name)) or None if name else None


def same_spelling(typed: str, written: str) -> bool:
    """Whether ``typed`` spells ``written`` letter for letter, capitals included (accents and punctuation aside):
    among papers that share a name, the one whose capitals the user typed ("MoBA", not "MobA")."""
    return _squeezed(typed) == _squeezed(written)


def _squeezed(text: str) -> str:
    return _NOT_WORD.sub("", without_diacritics(latex_plain(text)))


def _without_generic_ending(text: str) -> str:
    lowered = text.lower().rstrip()
    for ending in GENERIC_ENDINGS:
        if lowered.endswith(" " + ending):
            return text.rstrip()[: -len(ending)].rstrip()
    return text


def _spelled_greek(text: str) -> str:
    """Greek letters as their names, set apart as words: ``PixArt-Σ`` is ``PixArt- sigma``, ``Mem-α`` ``Mem- alpha``."""
    if text.isascii():
        return text
    return "".join(_greek_name(char) if "\u0370" <= char <= "\u03ff" else char for char in text)


def _greek_name(char: str) -> str:
    name = unicodedata.name(char, "")
    return f" {name.rsplit(' ', 1)[-1].lower()} " if name.startswith("GREEK") and "LETTER" in name else char
