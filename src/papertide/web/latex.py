"""Text-mode LaTeX in titles and abstracts: escape everything, then turn the common text commands into HTML.

Math (``$…$``, ``$$…$$``, ``\\(…\\)``) is left alone for KaTeX in the browser; outside it, ``\\texttt{x}``,
``\\textbf{x}``, ``\\emph{x}``/``\\textit{x}`` and ``\\url{x}`` become tags so abstracts do not show raw
commands. The input is escaped first, so nothing a paper says can become markup of its own.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
_COMMANDS = {
    "texttt": ("<code>", "</code>"),
    "textbf": ("<strong>", "</strong>"),
    "textit": ("<em>", "</em>"),
    "emph": ("<em>", "</em>"),
    "textsc": ('<span class="sc">', "</span>"),
}
_COMMAND = re.compile(r"\\(texttt|textbf|textit|emph|textsc)\{([^{}$]*)\}")
_URL = re.compile(r"\\url\{(https?://[^{}\s\"<>]+)\}")


def latex_text(text: str | None) -> Markup:
    if not text:
        return Markup("")
    parts: list[str] = []
    position = 0
    for match in _MATH.finditer(text):
        parts.append(_text_mode(text[position : match.start()]))
        parts.append(str(escape(match.group(0))))
        position = match.end()
    parts.append(_text_mode(text[position:]))
    return Markup("".join(parts))


def _text_mode(segment: str) -> str:
    escaped = str(escape(segment))
    escaped = _COMMAND.sub(lambda m: f"{_COMMANDS[m.group(1)][0]}{m.group(2)}{_COMMANDS[m.group(1)][1]}", escaped)
    return _URL.sub(lambda m: f'<a href="{m.group(1)}" rel="nofollow noopener">{m.group(1)}</a>', escaped)
