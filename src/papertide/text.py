"""Text every layer shares: what XML can carry, which links may be rendered, LaTeX in titles and abstracts, and
letters without their diacritics.

Sources and forms clean text with :func:`xml_safe` where it enters and check links with :func:`http_url`, and
the feeds and view-models apply the same two as a last line of defence for rows stored before; one definition
serves them all, so "clean" means the same thing at the door and at the page.

LaTeX becomes HTML for pages (math left to KaTeX) and readable plain text for mails and feeds. Math (``$…$``,
``$$…$$``, ``\\(…\\)``) is left alone for KaTeX in the browser; outside it, ``\\texttt{x}``, ``\\textbf{x}``,
``\\emph{x}``/``\\textit{x}`` and ``\\url{x}`` become tags so abstracts do not show raw commands. The input is
escaped first, so nothing a paper says can become markup of its own.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from markupsafe import Markup, escape

# The links papertide stores and renders are at most this long (the columns are VARCHAR(500)).
MAX_URL = 500
# XML 1.0 §2.2 Char: no C0 control but tab, LF and CR, no lone surrogate (JSON and forms can hold one), not
# U+FFFE or U+FFFF. One such character makes a whole feed unparseable, and PostgreSQL refuses NUL in text.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Never inside a link: spaces and controls (C0, DEL, C1), which browsers strip or stop at, so what is checked would
# not be what is followed; and what XML cannot carry.
_NOT_IN_URL = re.compile("[\x00-\x20\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# Pandoc's rule for $…$: the opening dollar has no space after it, the closing one no space before it and no digit
# after it, so "Pretraining for $60 with $\alpha$-nets" holds one formula, not "$60 with $". An escaped dollar (\$)
# opens nothing.
_MATH = re.compile(r"(?<!\\)\$\$.+?\$\$|(?<!\\)\$(?=[^\s$])[^$]*?(?<=\S)\$(?!\d)|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
_MATH_DELIMITERS = re.compile(r"^(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])$", re.DOTALL)
_COMMANDS = {
    "texttt": ("<code>", "</code>"),
    "textbf": ("<strong>", "</strong>"),
    "textit": ("<em>", "</em>"),
    "emph": ("<em>", "</em>"),
    "textsc": ('<span class="sc">', "</span>"),
}
_COMMAND = re.compile(r"\\(texttt|textbf|textit|emph|textsc)\{([^{}$]*)\}")
_URL = re.compile(r"\\url\{(https?://[^{}\s\"<>]+)\}")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry; everything else, private-use characters included."""
    return _NOT_XML.sub("", text)


def without_diacritics(text: str) -> str:
    """``"Núñez-García"`` → ``"Nunez-Garcia"``: compatibility-decomposed (NFKD), combining marks dropped. Names,
    titles and search all compare words this way."""
    if text.isascii():
        return text
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def http_url(value: str | None) -> str | None:
    """``value`` trimmed when it is an absolute http(s) link of at most MAX_URL characters, else ``None``.

    The only links a page may turn into an href: ``javascript:``, ``data:``, scheme-relative ``//host`` and
    relative paths are all refused, as are links with spaces or control characters inside.
    """
    url = (value or "").strip()
    if not url or len(url) > MAX_URL or _NOT_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced bracket in the host ("http://[::1")
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def split_math(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into its math spans (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``, delimiters included) and the
    text between them, in order: (segment, is math). A ``$`` with no partner stays in the text."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _MATH.finditer(text):
        if match.start() > position:
            parts.append((text[position : match.start()], False))
        parts.append((match.group(0), True))
        position = match.end()
    if position < len(text):
        parts.append((text[position:], False))
    return parts


def math_inside(span: str) -> str:
    """A math span of :func:`split_math` without its delimiters: ``$x^2$`` → ``x^2``."""
    found = _MATH_DELIMITERS.match(span)
    return found.group(1) if found else span


def latex_text(text: str | None) -> Markup:
    if not text:
        return Markup("")
    parts = [str(escape(segment)) if math else _text_mode(segment) for segment, math in split_math(text)]
    return Markup("".join(parts))


def _text_mode(segment: str) -> str:
    escaped = str(escape(segment))
    escaped = _COMMAND.sub(lambda m: f"{_COMMANDS[m.group(1)][0]}{m.group(2)}{_COMMANDS[m.group(1)][1]}", escaped)
    return _URL.sub(lambda m: f'<a href="{m.group(1)}" rel="nofollow noopener">{m.group(1)}</a>', escaped)


_SYMBOLS = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Omega": "Ω",
    "times": "×",
    "cdot": "·",
    "pm": "±",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "~",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "in": "∈",
    "ell": "ℓ",
    "partial": "∂",
    "nabla": "∇",
    "sum": "Σ",
    "prod": "∏",
    "sqrt": "√",
    "log": "log",
    "exp": "exp",
    "%": "%",
    "&": "&",
    "_": "_",
    "#": "#",
    "$": "$",
    "ldots": "…",
    "dots": "…",
    "cdots": "…",
    "textendash": "–",
}
_SYMBOL = re.compile(r"\\([A-Za-z]+|[%&_#$])")
_WRAPPER = re.compile(r"\\[A-Za-z]+\{([^{}]*)\}")  # \textbf{x}, \mathcal{X}, \text{y} -> their argument
_SCRIPT = re.compile(r"([_^])\{([^{}]*)\}")
_LATEX_MARK = re.compile(r"[\\${}]")  # what every rewrite below starts from


def latex_plain(text: str | None) -> str:
    """Readable text for mails and feeds: ``$O(n^{2})$ with \\textbf{Týr}`` becomes ``O(n^2) with Týr``."""
    if not text:
        return ""
    if not _LATEX_MARK.search(text):  # most text: nothing to unwrap, and the passes below cost a mention recount
        return " ".join(text.split())
    plain = "".join(math_inside(segment) if math else segment for segment, math in split_math(text))
    plain = plain.replace("\\(", "").replace("\\)", "")
    for _ in range(3):  # nested wrappers unwrap from the inside out
        plain = _WRAPPER.sub(lambda m: m.group(1), plain)
    plain = _SCRIPT.sub(lambda m: m.group(1) + m.group(2), plain)
    plain = plain.replace("{", "").replace("}", "")
    plain = _SYMBOL.sub(lambda m: _SYMBOLS.get(m.group(1), m.group(1)), plain)
    return re.sub(r"\s+", " ", plain).strip()
