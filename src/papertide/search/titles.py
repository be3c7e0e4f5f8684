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

Mentions: a paper's title or abstract mentions a coined name when the name's words appear in its words whole and in
order, compared as above (so "MoBAs" mentions ``moba``: English stems fold plurals; "MoBAnet" does not), unless
the paper coins that name itself. A mention counts for one paper of that name: the newest one not newer than the
mentioning paper (``Namesakes.owners``), the one the authors could have meant and most likely did. So a name's
mentions are shared out by date among its namesakes: an obscure older namesake keeps what was said before the
famous one existed, a later namesake what is said after it, and the famous one, named between, collects the most.
``papers.name_mentions`` stores the count (``mention_counts``), kept by the upsert and filled by migration 0018.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

from papertide.search.tantivy_keyword.schema import STEMMED
from papertide.text import latex_plain, without_diacritics

# Endings that name a document, not the thing: "Phi-3 Technical Report" is about Phi-3.
GENERIC_ENDINGS = ("technical report", "tech report", "report", "system card", "model card")
_ARTICLES = frozenset({"the", "a", "an"})
_DIGITS = re.compile(r"\d+")
_LETTER = re.compile(r"[^\W\d_]")
_NOT_WORD = re.compile(r"[\W_]+")
_SEPARATOR = ":"
# A web address in an abstract: "github.com/vita-epfl/..." names a lab's account, not the paper called VITA.
_ADDRESS = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|org|io|ai|net)/\S*", re.IGNORECASE)
# The most words a name can have and still be looked for in other papers' text: longer heads are sentences.
MENTION_WORDS = 6
# The trie mark of a name's last word (never a word: words are never empty).
_END = ""
_Node = dict[str, "_Node"]


def title_words(text: str) -> list[str]:
    """``text`` as the words titles are compared by (see the module's docstring); a leading article dropped."""
    words = STEMMED.analyze(_digits_apart(_spelled_greek(latex_plain(text))))
    return words[1:] if len(words) > 1 and words[0] in _ARTICLES else words


def _digits_apart(text: str) -> str:
    """``text`` with a space wherever letters and digits meet (``Qwen2.5`` is ``Qwen 2.5``). Digit runs are found
    first and their neighbours looked at: a look-behind at every character took a fifth of a mention recount."""

    def spaced(run: re.Match[str]) -> str:
        start, end = run.span()
        before = " " if start and _LETTER.match(text, start - 1) else ""
        after = " " if end < len(text) and _LETTER.match(text, end) else ""
        return f"{before}{run.group(0)}{after}"

    return _DIGITS.sub(spaced, text)


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


class Names:
    """A set of name keys as a trie of their words, so that a text's word runs are followed only as far as some
    key goes on (most runs end at their first word)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = {key for key in keys if len(key.split()) <= MENTION_WORDS}
        # Each node maps a next word to the node after it; _END marks where a whole key ends.
        self._trie: _Node = {}
        for key in self.keys:
            node = self._trie
            for word in key.split():
                node = node.setdefault(word, {})
            node[_END] = {}
        # What every spelling of a key's first word holds, lowercased: its stem less a last letter that English
        # stems change ("happy" is "happi"), bar a handful of irregular forms ("skies" is "sky").
        self.heads = {word if len(word) <= 3 else word[:-1] for word in self._trie}

    def may_mention(self, text: str) -> bool:
        """A cheap first look, for reading many texts for a few names: False only when ``text``, lowercased,
        holds no key's head (above); a text with other than ASCII (accents, Greek letters) is always read."""
        if not text.isascii():
            return True
        lowered = text.lower()
        return any(head in lowered for head in self.heads)

    def mentioned(self, text: str) -> set[str]:
        """The keys whose words ``text`` holds whole and in order (see the module's docstring)."""
        words = title_words(text)
        found = set()
        trie = self._trie
        for start in [start for start, word in enumerate(words) if word in trie]:
            node: _Node | None = trie[words[start]]
            end = start + 1
            while node is not None:
                if _END in node:
                    found.add(" ".join(words[start:end]))
                node = node.get(words[end]) if end < len(words) else None
                end += 1
        return found


def mention_text(title: str, abstract: str | None) -> str:
    """What a paper says, as mentions are looked for in it: its title and its abstract, web addresses left out."""
    return _ADDRESS.sub(" ", f"{title}\n{abstract or ''}")


class Namesakes:
    """The papers that coin each name, by date: whom a mention of a name, made on a given day, counts for."""

    def __init__(self, named: Iterable[tuple[int, str, date | None]]) -> None:
        self.by_name: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for paper_id, key, named_on in named:
            self.by_name[key].append((named_on or date.min, paper_id))
        for papers in self.by_name.values():
            papers.sort()

    def owners(self, key: str, said_on: date | None) -> list[int]:
        """The papers a mention of ``key`` made on ``said_on`` counts for: the newest namesake not newer than the
        mention (all of them when several share its day); none when every namesake is newer. An undated namesake
        counts as the oldest, an undated mention as the newest."""
        day = said_on or date.max
        eligible = [named_on for named_on, _ in self.by_name.get(key, ()) if named_on <= day]
        if not eligible:
            return []
        newest = max(eligible)
        return [paper_id for named_on, paper_id in self.by_name[key] if named_on == newest]


def mention_counts(
    named: Iterable[tuple[int, str, date | None]], texts: Iterable[tuple[int, date | None, str | None, str]]
) -> Counter[int]:
    """For each named paper (id, name key, date), how many of ``texts`` (id, date, the name it coins, its text)
    mention its name and count for it (:meth:`Namesakes.owners`); a text never mentions the name it coins."""
    namesakes = Namesakes(named)
    names = Names(namesakes.by_name)
    counts: Counter[int] = Counter()
    for _, said_on, own_name, text in texts:
        for key in names.mentioned(text) - {own_name}:
            counts.update(namesakes.owners(key, said_on))
    return counts


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
