"""Mail content: the digest and confirmation templates (``services/mail_templates``) rendered to a plain-text part
and an HTML part. Services compose here; :mod:`papertide.mail` only delivers what they composed."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from papertide.queries.papers import both_upvotes
from papertide.text import latex_plain

_TEMPLATES = Environment(
    loader=PackageLoader("papertide", "services/mail_templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters["plain"] = latex_plain
_TEMPLATES.filters["upvotes"] = both_upvotes  # the daily list's figure: hf.co's and this instance's together
# The site's accent (web/static/papertide.css, --accent), for the one link that is a button.
ACCENT = "#c2410c"
_TEMPLATES.globals["accent"] = ACCENT


def render_mail(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """``name.txt`` and ``name.html``: the plain-text part and the HTML part."""
    text = _TEMPLATES.get_template(f"{name}.txt").render(context)
    return text, _TEMPLATES.get_template(f"{name}.html").render(context)
