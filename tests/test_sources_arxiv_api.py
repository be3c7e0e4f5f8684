"""The arXiv API client and Atom parser against recorded responses served from a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from papertide.arxiv_ids import InvalidArxivId
from papertide.records import AuthorRecord, VersionRecord
from papertide.sources.arxiv_api import ArxivApiClient, ArxivApiError, parse_feed
from papertide.sources.http import PoliteClient
from tests.helpers.data import SHARED_DATA
from tests.helpers.replay import FakeClock, ReplayServer, Reply

API = SHARED_DATA / "fixtures" / "arxiv_api"
QUERY_PATH = "/api/query"


@pytest.fixture
def client(server: ReplayServer, clock: FakeClock) -> Iterator[ArxivApiClient]:
    with PoliteClient(f"{server.url}{QUERY_PATH}", clock=clock, sleep=clock.sleep) as http:
        yield ArxivApiClient(http)


def test_search_pages_through_two_recorded_pages(
    server: ReplayServer, client: ArxivApiClient, clock: FakeClock
) -> None:
    server.route(QUERY_PATH, Reply(body=API / "api2026_search_testing_start0_max10.xml"), params={"start": "0"})
    server.route(QUERY_PATH, Reply(body=API / "api2026_search_testing_start10_max10.xml"), params={"start": "10"})

    records = list(client.search("testing", max_results=20, page_size=10))

    assert [(r.params["start"], r.params["max_results"]) for r in server.requests] == [("0", "10"), ("10", "10")]
    assert {r.params["search_query"] for r in server.requests} == {"testing"}
    assert "sortBy" not in server.requests[0].params
    assert server.requests[1].at - server.requests[0].at >= 3.0
    assert len(records) == 20
    assert records[0].arxiv_id == "2202.12139"
    assert records[-1].arxiv_id == "2202.06271"
    first = records[0]
    assert first.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert first.authors[:2] == (AuthorRecord("Mohit Kumar Ahuja"), AuthorRecord("Arnaud Gotlieb"))
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.journal_ref is not None and first.journal_ref.startswith("Artificial Intelligence in Software")
    assert first.comments == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.submitted_at == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert first.announced_on == date(2022, 2, 24)
    assert first.abstract is not None and first.abstract.startswith("Deep Learning (DL) has revolutionized")
    fuzzing = next(r for r in records if r.arxiv_id == "2005.14124")
    assert fuzzing.version == 2
    assert fuzzing.categories == ("cs.SE", "cs.CR", "cs.LG")
    assert [v.version for v in fuzzing.versions] == [1, 2]


def test_search_since_sorts_by_date_and_stops_at_older_papers(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(QUERY_PATH, Reply(body=API / "api2026_search_testing_start0_max10.xml"))

    records = list(client.search("testing", since=date(2020, 1, 1), page_size=10))

    # The sixth entry (1202.4527, from 2012) is the first one older than `since`.
    assert [r.arxiv_id for r in records] == ["2202.12139", "2405.13786", "2005.14124", "2204.08348", "2302.03287"]
    assert len(server.requests) == 1
    assert server.requests[0].params["sortBy"] == "submittedDate"
    assert server.requests[0].params["sortOrder"] == "descending"


def test_classic_2016_feed_with_old_style_ids() -> None:
    page = parse_feed((API / "classic2016_search_au_del_maestro.xml").read_bytes())

    assert (page.total_results, page.start_index, page.items_per_page) == (31, 0, 10)
    assert len(page.records) == 10
    assert page.rejected == []
    old = next(r for r in page.records if r.arxiv_id == "cond-mat/0412498")
    assert old.version == 1
    assert old.title == "Thermal melting of density waves on the square lattice"
    assert old.authors == (AuthorRecord("Adrian Del Maestro"), AuthorRecord("Subir Sachdev"))
    assert old.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert old.doi == "10.1103/PhysRevB.71.184511"
    assert old.journal_ref == "Physical Review B 71, 184511 (2005)"
    assert old.comments == "12 pages, 5 figures"
    first = page.records[0]
    assert first.arxiv_id == "1201.4869"
    assert first.categories == ("cond-mat.mes-hall", "cond-mat.other")
    assert first.abstract is not None
    assert first.abstract.startswith("As helium-4 is cooled below 2.17 K it undergoes a phase transition to a fund")
    assert "\n" not in first.abstract and "  " not in first.abstract


def test_classic_id_list_with_two_versions() -> None:
    (record,) = parse_feed((API / "classic2016_idlist_1111.2011v2.xml").read_bytes()).records

    assert record.arxiv_id == "1111.2011"
    assert record.version == 2
    assert record.title == ("Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit")
    assert record.versions == (
        VersionRecord(1, datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)),
        VersionRecord(2, datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)),
    )
    assert record.submitted_at == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert record.updated_at == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert record.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert record.doi == "10.1103/PhysRevB.85.115117"


def test_fetch_ids_with_a_versioned_id(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(QUERY_PATH, Reply(body=API / "api2026_idlist_2104.12255v1.xml"), params={"id_list": "2104.12255v1"})

    fetched = client.fetch_ids(["arXiv:2104.12255v1"])

    assert fetched.missing == []
    (record,) = fetched.records
    assert (record.arxiv_id, record.version, record.title) == ("2104.12255", 1, "0")
    assert record.authors == (AuthorRecord("Quan Thoi Minh Nguyen"),)
    assert record.categories == ("cs.CR",)
    assert record.versions == (VersionRecord(1, datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)),)
    assert server.requests[0].params["max_results"] == "1"


def test_fetch_ids_with_an_old_style_id_and_affiliations(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(
        QUERY_PATH, Reply(body=API / "api2026_idlist_astro-ph_0601001.xml"), params={"id_list": "astro-ph/0601001"}
    )

    fetched = client.fetch_ids(["https://arxiv.org/abs/astro-ph/0601001"])

    (record,) = fetched.records
    assert record.arxiv_id == "astro-ph/0601001"
    assert record.authors[0] == AuthorRecord("Andrew Gould", ("Ohio State",))
    assert record.authors[3] == AuthorRecord("Andrzej Udalski", ("Warsaw University Observatory",))
    assert record.journal_ref == "ActaAstron.56:1-50,2006"
    assert record.categories == ("astro-ph",)
    assert record.comments is not None and record.comments.startswith("62 pages including 16 figures")


def test_fetch_ids_reports_ids_arxiv_did_not_return(server: ReplayServer, client: ArxivApiClient) -> None:
    # Recorded for id_list=0808.05394,1707.08567: arXiv answered with 1707.08567 only.
    server.route(QUERY_PATH, Reply(body=API / "api2026_idlist_two_ids_one_missing.xml"))

    fetched = client.fetch_ids(["0808.0539", "1707.08567v1"])

    assert [r.arxiv_id for r in fetched.records] == ["1707.08567"]
    assert fetched.missing == ["0808.0539"]
    assert server.requests[0].params["id_list"] == "0808.0539,1707.08567v1"


def test_fetch_ids_refuses_impossible_ids_before_asking(server: ReplayServer, client: ArxivApiClient) -> None:
    with pytest.raises(InvalidArxivId, match="before 1501 numbers have 4 digits"):
        client.fetch_ids(["1707.08567", "0808.05394"])
    assert server.requests == []


def test_fetch_ids_sends_at_most_100_ids_per_request(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(QUERY_PATH, Reply(body=API / "api2026_idlist_no_results.xml"))
    ids = [f"2501.{number:05d}" for number in range(1, 151)]

    fetched = client.fetch_ids(ids)

    assert [len(r.params["id_list"].split(",")) for r in server.requests] == [100, 50]
    assert fetched.records == []
    assert fetched.missing == ids


def test_empty_feed(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(QUERY_PATH, Reply(body=API / "api2026_idlist_no_results.xml"))

    assert list(client.search("ti:nothing-matches-this")) == []
    assert len(server.requests) == 1
    page = parse_feed((API / "api2026_idlist_no_results.xml").read_bytes())
    assert (page.total_results, page.records) == (0, [])


def test_http_400_error_feed_raises_with_arxivs_message(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(QUERY_PATH, Reply(400, API / "api2026_error_400_bad_id.xml"))

    with pytest.raises(ArxivApiError, match="incorrect id format for abc") as caught:
        list(client.search("id:abc"))
    assert "HTTP 400" in str(caught.value)
    assert len(server.requests) == 1


def test_error_feed_parsed_directly() -> None:
    with pytest.raises(ArxivApiError, match="rejected the query: incorrect id format for abc"):
        parse_feed((API / "api2026_error_400_bad_id.xml").read_bytes())


def test_a_body_that_is_not_atom(server: ReplayServer, client: ArxivApiClient) -> None:
    server.route(QUERY_PATH, Reply(404, b"<html>not here</html>"))

    with pytest.raises(ArxivApiError, match=r"<html> instead of an Atom feed.*HTTP 404"):
        client.fetch_ids(["2104.12255"])


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z"])
def test_timestamps_at_the_ends_of_the_calendar_reject_the_entry_not_the_page(moment: str) -> None:
    """The listing-date estimate moves a timestamp to New York and past weekends: once an OverflowError."""
    entries = "".join(
        f"<entry><id>http://arxiv.org/abs/2104.1225{n}v1</id><published>{published}</published>"
        f"<title>Paper {n}</title></entry>"
        for n, published in enumerate([moment, "2021-04-26T17:59:59Z"], start=5)
    )
    feed = f'<feed xmlns="http://www.w3.org/2005/Atom">{entries}</feed>'

    page = parse_feed(feed.encode())

    assert [record.arxiv_id for record in page.records] == ["2104.12256"]
    assert [(line.line_no, line.reason) for line in page.rejected] == [
        (1, f"unreadable <published> timestamp {moment!r}")
    ]


def test_a_count_too_long_to_read_is_unknown_and_depth_is_refused() -> None:
    """Hostile input the second audit could not try: a million-digit totalResults once raised ValueError."""
    opensearch = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
    entry = "<entry><id>http://arxiv.org/abs/2104.12255v1</id><title>Kept</title></entry>"
    counted = f"<opensearch:totalResults>{'9' * 5_000}</opensearch:totalResults>"
    page = parse_feed(f'<feed xmlns="http://www.w3.org/2005/Atom" {opensearch}>{counted}{entry}</feed>'.encode())
    assert (page.total_results, [record.title for record in page.records]) == (1, ["Kept"])
    deep = "<a>" * 5_000 + "</a>" * 5_000
    with pytest.raises(ArxivApiError, match="not an Atom feed"):
        parse_feed(f'<feed xmlns="http://www.w3.org/2005/Atom">{deep}</feed>'.encode())
