"""Properties of the pure input guards: the text cleaner, the link validator, comment Markdown and period parsing.

Hypothesis drives each with what a person or a tampered export can send (control, private-use and surrogate
characters, every year of the calendar), so an input that makes one of them raise is found here, not by a 500.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from papertide.periods import InvalidPeriod, Period, PeriodKind, parse_period, period_of
from papertide.services.comments import render_markdown
from papertide.sources.normalize import clean_text
from papertide.text import http_url, xml_safe

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Every code point, lone surrogates and noncharacters included: str from JSON or a form can hold any of them.
any_text = st.text(st.characters(codec=None, categories=None), max_size=60)
hostile_text = st.text(
    st.one_of(
        st.sampled_from("\x00\x01\x0b\x1f\x7f\ud800\udfff\ufffe\uffff\ue000\ue001\u2028$\\*_`[]() \n\t"),
        st.characters(),
    ),
    max_size=60,
)


@given(st.one_of(any_text, hostile_text))
@example("\ue0000\ue001")
def test_clean_text_leaves_only_what_xml_carries(value: str) -> None:
    cleaned = clean_text(value)
    if cleaned is None:
        return
    assert not NOT_XML.search(cleaned)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert clean_text(cleaned) == cleaned
    etree.Element("title").text = cleaned  # lxml refuses what XML 1.0 cannot carry


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [("a\x01b", "ab"), ("x \x00 y", "x y"), ("\ufffeend\uffff", "end"), ("lone \ud800 half", "lone half")],
    ids=["control", "nul", "noncharacters", "surrogate"],  # xdist cannot send a lone surrogate in a test id
)
def test_xml_safe_drops_exactly_the_unsayable(dirty: str, clean: str) -> None:
    assert clean_text(dirty) == clean
    assert xml_safe("tab\tnew\nline\rémoji 🙂 \ue000") == "tab\tnew\nline\rémoji 🙂 \ue000"


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "\x00javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "file:///etc/passwd",
        "//evil.example",
        "/relative/path",
        "https:no-host",
        "http://",
        "https://exa mple.org",
        "https://example.org/\x01",
        "https://example.org/" + "x" * 500,
        "",
        "   ",
    ],
)
def test_http_url_refuses_everything_but_absolute_http_links(link: str) -> None:
    assert http_url(link) is None


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("  http://example.org/x?y=1#z  ", "http://example.org/x?y=1#z"),
        ("HTTPS://Example.org", "HTTPS://Example.org"),
        ("https://例え.jp/パス", "https://例え.jp/パス"),
    ],
)
def test_http_url_keeps_web_links(link: str, kept: str) -> None:
    assert http_url(link) == kept


@given(st.one_of(any_text, hostile_text, st.builds("{}:{}".format, st.from_regex(r"[a-zA-Z]{1,10}"), any_text)))
def test_http_url_never_passes_another_scheme(value: str) -> None:
    kept = http_url(value)
    assert kept is None or re.match(r"(?i)https?://[^/?#\s]", kept)


@given(st.one_of(any_text, hostile_text))
@example("\ue000")
@example("\ue0009\ue001")  # once an IndexError: a placeholder naming a math span that was never stashed
@example("\ue0000\ue001 $x$")
@example("$a$ \ue0001\ue001 $b$ \ue001")
def test_comment_markdown_renders_any_text(typed: str) -> None:
    body = xml_safe(typed)  # what add_comment and edit_comment store and render
    html = render_markdown(body)
    # The placeholders that keep math from Markdown never show: only the person's own characters remain.
    assert html.count("\ue000") <= body.count("\ue000") and html.count("\ue001") <= body.count("\ue001")


@given(st.from_regex(r"\$[a-z_0-9 ]{1,12}\$", fullmatch=True), st.sampled_from(["\ue000", "\ue001", "\ue0000\ue001"]))
def test_comment_math_and_private_use_characters_both_survive(math: str, private: str) -> None:
    html = render_markdown(f"{private} {math} {private}")
    assert html.count(private) == 2 and math in html


KINDS: list[PeriodKind] = ["day", "week", "month"]
years = st.integers(min_value=0, max_value=10_000)
period_texts = st.one_of(
    st.builds("{:04d}-{:02d}-{:02d}".format, years, st.integers(0, 13), st.integers(0, 32)),
    st.builds("{:04d}-W{:02d}".format, years, st.integers(0, 54)),
    st.builds("{:04d}-{:02d}".format, years, st.integers(0, 13)),
    any_text,
)


@given(st.sampled_from(KINDS), period_texts)
@example("week", "9999-W52")
@example("week", "0001-W01")
@example("month", "9999-12")
@example("month", "0001-01")
@example("day", "9999-12-31")
@settings(max_examples=400)
def test_parse_period_gives_a_period_or_invalid_period(kind: PeriodKind, text: str) -> None:
    try:
        period = parse_period(kind, text)
    except InvalidPeriod as error:
        assert str(error)
        return
    assert_well_formed(period)
    assert parse_period(kind, period.key) == period


def assert_well_formed(period: Period) -> None:
    assert date.min <= period.start <= period.end <= date.max
    assert period.label and period.key
    # previous/next links find the period that holds a featured day: each of its days must give it back
    assert period_of(period.kind, period.start) == period == period_of(period.kind, period.end)


@pytest.mark.parametrize(
    ("kind", "text"),
    [("week", "0001-W01"), ("week", "9999-W52"), ("month", "0001-01"), ("month", "9999-12"), ("day", "0001-01-01")],
)
def test_the_ends_of_the_calendar_are_periods_that_hold_their_days(kind: PeriodKind, text: str) -> None:
    period = parse_period(kind, text)
    assert period.key == text
    assert period_of(kind, period.start) == period == period_of(kind, period.end)
