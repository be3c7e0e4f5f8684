"""arXiv id parsing and the listing-date estimate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papertide.arxiv_ids import ArxivId, InvalidArxivId, estimate_announcement, parse_arxiv_id

EASTERN_SUMMER = timezone(timedelta(hours=-4))
EASTERN_WINTER = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2503.24322", ArxivId("2503.24322")),
        ("2503.24322v2", ArxivId("2503.24322", 2)),
        ("0704.0001", ArxivId("0704.0001")),
        ("1501.00001v12", ArxivId("1501.00001", 12)),
        ("  2503.24322 \n", ArxivId("2503.24322")),
        ("hep-th/9901001", ArxivId("hep-th/9901001")),
        ("HEP-TH/9901001v3", ArxivId("hep-th/9901001", 3)),
        ("math.GT/0309136", ArxivId("math/0309136")),
        ("cond-mat/0412498v1", ArxivId("cond-mat/0412498", 1)),
        ("arXiv:2503.24322v2", ArxivId("2503.24322", 2)),
        ("ARXIV:astro-ph/0601001", ArxivId("astro-ph/0601001")),
        ("oai:arXiv.org:2503.24322", ArxivId("2503.24322")),
        ("oai:arXiv.org:cs/0112017", ArxivId("cs/0112017")),
        ("https://arxiv.org/abs/2503.24322", ArxivId("2503.24322")),
        ("http://arxiv.org/abs/2104.12255v1", ArxivId("2104.12255", 1)),
        ("https://arxiv.org/pdf/2503.24322v2", ArxivId("2503.24322", 2)),
        ("https://arxiv.org/pdf/2503.24322v2.pdf", ArxivId("2503.24322", 2)),
        ("arxiv.org/pdf/hep-th/9901001.pdf", ArxivId("hep-th/9901001")),
        ("https://export.arxiv.org/abs/astro-ph/0601001v1", ArxivId("astro-ph/0601001", 1)),
        ("https://www.arxiv.org/abs/2503.24322?context=cs.CL", ArxivId("2503.24322")),
        ("https://arxiv.org/abs/2503.24322/", ArxivId("2503.24322")),
        ("https://hf.co/papers/2503.24322", ArxivId("2503.24322")),
        ("https://huggingface.co/papers/2503.24322#community", ArxivId("2503.24322")),
    ],
)
def test_valid_ids(text: str, expected: ArxivId) -> None:
    assert parse_arxiv_id(text) == expected


def test_str_gives_the_canonical_form() -> None:
    assert str(parse_arxiv_id("arXiv:2503.24322v2")) == "2503.24322v2"
    assert str(parse_arxiv_id("Math.GT/0309136")) == "math/0309136"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2513.00001", "month 13 does not exist"),
        ("2500.00001", "month 00 does not exist"),
        ("hep-th/9913001", "month 13 does not exist"),
        ("2503.2432", "since 1501 numbers have 5 digits"),
        ("1412.00001", "before 1501 numbers have 4 digits"),
        ("2503.243221", "is not an arXiv id: expected something like 2503.24322"),
        ("2503.24322v0", "is not an arXiv id"),
        ("hep-th/990100", "is not an arXiv id"),
        ("abc", "is not an arXiv id"),
        ("", "is not an arXiv id"),
        ("２５０３.２４３２２", "is not an arXiv id"),
        ("https://example.com/abs/2503.24322", "is not an arXiv id"),
        ("x" * 10_000, "at most 200 characters; got 10000"),
    ],
)
def test_invalid_ids_explain_themselves(text: str, message: str) -> None:
    with pytest.raises(InvalidArxivId, match=message):
        parse_arxiv_id(text)


def test_long_inputs_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidArxivId) as caught:
        parse_arxiv_id("y" * 150)
    assert len(str(caught.value)) < 200
    assert "..." in str(caught.value)


@given(st.text())
def test_any_text_parses_or_raises_invalid_arxiv_id(text: str) -> None:
    try:
        parsed = parse_arxiv_id(text)
    except InvalidArxivId as error:
        assert str(error)
    else:
        assert parse_arxiv_id(str(parsed)) == parsed


@given(
    st.integers(15, 99),
    st.integers(1, 12),
    st.integers(1, 99_999),
    st.one_of(st.none(), st.integers(1, 9999)),
)
def test_generated_new_style_ids_round_trip(year: int, month: int, number: int, version: int | None) -> None:
    text = f"{year:02d}{month:02d}.{number:05d}" + (f"v{version}" if version else "")

    parsed = parse_arxiv_id(f"https://arxiv.org/abs/{text}")

    assert str(parsed) == text
    assert parsed.version == version


@pytest.mark.parametrize(
    ("submitted", "listed"),
    [
        # Tuesday 15 April 2025, daylight saving time.
        (datetime(2025, 4, 15, 13, 59, tzinfo=EASTERN_SUMMER), date(2025, 4, 15)),
        (datetime(2025, 4, 15, 14, 0, tzinfo=EASTERN_SUMMER), date(2025, 4, 16)),
        (datetime(2025, 4, 15, 17, 59, tzinfo=UTC), date(2025, 4, 15)),
        (datetime(2025, 4, 15, 18, 0, tzinfo=UTC), date(2025, 4, 16)),
        # Winter: the cut-off is 19:00 UTC.
        (datetime(2025, 1, 14, 18, 59, tzinfo=UTC), date(2025, 1, 14)),
        (datetime(2025, 1, 14, 19, 0, tzinfo=UTC), date(2025, 1, 15)),
        (datetime(2025, 1, 14, 13, 0, tzinfo=EASTERN_WINTER), date(2025, 1, 14)),
        # Thursday evening goes to Friday; Friday evening and the weekend go to Monday.
        (datetime(2025, 4, 17, 16, 0, tzinfo=EASTERN_SUMMER), date(2025, 4, 18)),
        (datetime(2025, 4, 18, 13, 0, tzinfo=EASTERN_SUMMER), date(2025, 4, 18)),
        (datetime(2025, 4, 18, 18, 30, tzinfo=EASTERN_SUMMER), date(2025, 4, 21)),
        (datetime(2025, 4, 19, 10, 0, tzinfo=EASTERN_SUMMER), date(2025, 4, 21)),
        (datetime(2025, 4, 20, 23, 0, tzinfo=EASTERN_SUMMER), date(2025, 4, 21)),
        # Saturday 01:00 UTC is still Friday evening in New York.
        (datetime(2025, 4, 19, 1, 0, tzinfo=UTC), date(2025, 4, 21)),
        # Naive timestamps are taken as UTC.
        (datetime(2025, 4, 15, 12, 0), date(2025, 4, 15)),
    ],
)
def test_estimate_announcement(submitted: datetime, listed: date) -> None:
    assert estimate_announcement(submitted) == listed
