"""arXiv OAI-PMH harvesting against recorded responses served from a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from papertide.records import AuthorRecord, PaperRecord, RejectedLine
from papertide.sources.http import PoliteClient
from papertide.sources.oai import OaiClient, OaiError, parse_list_records
from tests.helpers.data import SHARED_DATA
from tests.helpers.replay import FakeClock, ReplayServer, Reply

OAI = SHARED_DATA / "fixtures" / "oai"
OAI_PATH = "/oai2"
TOKEN = "6960524|1001"


@pytest.fixture
def client(server: ReplayServer, clock: FakeClock) -> Iterator[OaiClient]:
    with PoliteClient(f"{server.url}{OAI_PATH}", clock=clock, sleep=clock.sleep) as http:
        yield OaiClient(http)


def parse_fixture(name: str) -> list[PaperRecord]:
    return parse_list_records((OAI / name).read_bytes()).records


def test_list_records_in_arxiv_format(server: ReplayServer, client: OaiClient) -> None:
    server.route(OAI_PATH, Reply(body=OAI / "oai_listrecords_arXiv_cs.xml"))

    pages = list(client.list_records(set_spec="cs", from_date=date(2015, 1, 16), until=date(2015, 1, 18)))

    assert server.requests[0].params == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "cs",
        "from": "2015-01-16",
        "until": "2015-01-18",
    }
    (page,) = pages
    assert len(page.records) == 46
    assert page.rejected == []
    assert page.resumption_token is None
    first = page.records[0]
    assert first.arxiv_id == "1101.4388"
    assert first.title == "Reproducing Kernel Banach Spaces with the l1 Norm"
    assert first.authors == (
        AuthorRecord("Guohui Song"),
        AuthorRecord("Haizhang Zhang"),
        AuthorRecord("Fred J. Hickernell"),
    )
    assert first.categories == ("stat.ML", "cs.LG", "math.FA")
    assert first.comments == "28 pages, an extra section was added"
    assert first.journal_ref == "Appl. Comput. Harmon. Anal., 34:96-116, 2013"
    assert first.doi == "10.1016/j.acha.2012.03.009"
    assert first.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert first.submitted_at == datetime(2011, 1, 23, tzinfo=UTC)
    assert first.updated_at == datetime(2012, 3, 28, tzinfo=UTC)
    # Version numbers are not in this format: the record leaves them unknown.
    assert (first.version, first.versions) == (None, ())
    assert first.abstract is not None and first.abstract.startswith("Targeting at sparse learning, we construct")
    assert "\n" not in first.abstract
    by_id = {record.arxiv_id: record for record in page.records}
    assert by_id["1111.1546"].authors[1] == AuthorRecord("Heiko Röglin")
    assert by_id["1207.1019"].authors[2] == AuthorRecord("Stéphane Ayache", ("LIF",))
    # No <updated>: the record has a single version, so updated_at is the creation date.
    assert by_id["1501.03810"].updated_at == datetime(2015, 1, 15, tzinfo=UTC)
    assert (
        by_id["1501.03810"].title == "Time-Varying Input and State Delay Compensation for Uncertain Nonlinear Systems"
    )


def test_oai_dc_pages_follow_the_resumption_token(server: ReplayServer, client: OaiClient) -> None:
    server.route(OAI_PATH, Reply(body=OAI / "oai_listrecords_oai_dc_cs_with_resumptionToken.xml"), params={"set": "cs"})
    server.route(OAI_PATH, Reply(body=OAI / "oai_error_noRecordsMatch.xml"), params={"resumptionToken": TOKEN})

    pages = list(client.list_records(set_spec="cs", from_date=date(2024, 1, 25), metadata_prefix="oai_dc"))

    assert [request.params for request in server.requests] == [
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "cs", "from": "2024-01-25"},
        {"verb": "ListRecords", "resumptionToken": TOKEN},
    ]
    assert server.requests[1].at - server.requests[0].at >= 3.0
    first_page, last_page = pages
    assert (first_page.resumption_token, first_page.complete_list_size) == (TOKEN, 1162)
    assert len(first_page.records) == 5
    assert last_page.records == []
    record = first_page.records[0]
    assert record.arxiv_id == "1303.2033"
    assert record.title == "Extended Fourier analysis of signals"
    assert record.authors == (AuthorRecord("Vilnis Liepins"),)
    assert record.comments == "32 pages, 9 figures"
    assert record.abstract is not None
    assert record.abstract.startswith("This summary of the doctoral thesis")
    assert "Comment:" not in record.abstract
    assert record.submitted_at == datetime(2013, 3, 8, tzinfo=UTC)
    assert record.updated_at == datetime(2024, 1, 23, tzinfo=UTC)
    assert record.categories == ()
    assert first_page.records[1].authors[0] == AuthorRecord("Chuankun Li")
    assert first_page.records[-1].comments == "Accepted to the Findings of EACL 2024"


def test_no_records_match_is_nothing_new_not_an_error(server: ReplayServer, client: OaiClient) -> None:
    server.route(OAI_PATH, Reply(body=OAI / "oai_error_noRecordsMatch.xml"))

    pages = list(client.list_records(set_spec="physics:hep-lat", from_date=date(2015, 1, 17)))

    assert [(page.records, page.rejected, page.resumption_token) for page in pages] == [([], [], None)]
    assert len(server.requests) == 1


def test_flow_control_503_with_retry_after(server: ReplayServer, client: OaiClient, clock: FakeClock) -> None:
    server.route(
        OAI_PATH, Reply(503, b"Retry later", {"Retry-After": "10"}), Reply(body=OAI / "oai_error_noRecordsMatch.xml")
    )

    list(client.list_records(set_spec="cs", from_date=date(2024, 1, 25)))

    assert 10 in clock.sleeps
    assert len(server.requests) == 2


def test_bad_resumption_token_raises_oai_error() -> None:
    with pytest.raises(OaiError, match="badResumptionToken: This resumptionToken is invalid") as caught:
        parse_fixture("generic_not_arxiv/oai_spec_example_badResumptionToken.xml")
    assert caught.value.code == "badResumptionToken"


def test_an_html_error_page_raises_oai_error(server: ReplayServer, client: OaiClient) -> None:
    server.route(OAI_PATH, Reply(404, b"<html><body>gone</body></html>"))

    with pytest.raises(OaiError, match="HTTP 404") as caught:
        list(client.list_records(set_spec="cs", from_date=date(2024, 1, 25)))
    assert caught.value.code == "HTTP 404"


def test_trimmed_hep_th_and_hep_ex_lists() -> None:
    hep_th = parse_fixture("oai_listrecords_arXiv_hep-th_trimmed.xml")
    hep_ex = {record.arxiv_id: record for record in parse_fixture("oai_listrecords_arXiv_hep-ex_trimmed.xml")}

    assert [record.arxiv_id for record in hep_th] == ["1412.8323", "1507.07790", "1607.01710"]
    assert hep_th[0].categories[0] == "quant-ph"
    assert hep_th[1].title == "Relativistic quantum dynamics of vector bosons in an Aharonov-Bohm potential"
    assert list(hep_ex) == ["1706.05371", "1706.09418", "1707.00874"]
    assert hep_ex["1706.09418"].report_no == "BONN-TH-2017-03"
    assert hep_ex["1706.09418"].journal_ref == "Eur. Phys. J. C (2017) 77:856"
    assert hep_ex["1706.09418"].doi == "10.1140/epjc/s10052-017-5414-4"
    assert hep_ex["1707.00874"].report_no == "IITH-PH-0001/17, IMSc/2017/07/05"
    assert hep_ex["1707.00874"].comments == (
        "Typos corrected, references added, version accepted for publication in PRD"
    )


def test_get_record_bodies_in_both_formats() -> None:
    (sergyeyev,) = parse_fixture("oai_getrecord_arXiv_1401.2122.xml")
    assert sergyeyev.arxiv_id == "1401.2122"
    assert sergyeyev.categories == ("math.AP", "hep-th", "math-ph", "math.DG", "math.MP", "nlin.SI")
    assert sergyeyev.doi == "10.1007/s11005-017-1013-4"
    assert sergyeyev.journal_ref == "Lett. Math. Phys. 108 (2018), no. 2, 359-376"

    (as_arxiv,) = parse_fixture("oai_getrecord_arXiv_1507.03011.xml")
    (as_dc,) = parse_fixture("oai_getrecord_oai_dc_1507.03011.xml")
    assert as_arxiv.arxiv_id == as_dc.arxiv_id == "1507.03011"
    assert as_arxiv.authors == as_dc.authors
    assert as_dc.authors[1] == AuthorRecord("Rachel Kuzio de Naray")
    assert as_arxiv.comments == as_dc.comments == "13 pages, 7 figures"
    assert as_arxiv.submitted_at == as_dc.submitted_at == datetime(2015, 7, 10, tzinfo=UTC)
    assert as_dc.title == "The Distribution of Star Formation and Metals in the Low Surface Brightness Galaxy UGC 628"

    (utf8,) = parse_fixture("oai_getrecord_oai_dc_utf8_1207.1019.xml")
    assert [author.name for author in utf8.authors] == ["Emilie Morvant", "Amaury Habrard", "Stéphane Ayache"]
    assert utf8.comments == "7 pages, Research report"


def test_deleted_records_are_skipped_and_unreadable_ones_rejected_by_position() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header status="deleted"><identifier>oai:arXiv.org:1501.00001</identifier></header></record>
<record><header><identifier>oai:arXiv.org:1501.00002</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>1501.00002</id><created>2015-01-01</created>
  <title>Kept</title><categories>cs.LG</categories></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:not-an-id</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>not-an-id</id><title>Bad id</title></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:1501.00004</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>1501.00004</id></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:1501.00005</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>1501.00005</id><created>yesterday</created>
  <title>Bad date</title></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:1501.00006</identifier></header></record>
<resumptionToken completeListSize="6" cursor="0"></resumptionToken>
</ListRecords></OAI-PMH>"""

    page = parse_list_records(body)

    assert [record.arxiv_id for record in page.records] == ["1501.00002"]
    assert [rejection.line_no for rejection in page.rejected] == [3, 4, 5, 6]
    assert "'not-an-id' is not an arXiv id" in page.rejected[0].reason
    assert page.rejected[1] == RejectedLine(4, "oai:arXiv.org:1501.00004: the record has no <title>")
    assert "unreadable date 'yesterday'" in page.rejected[2].reason
    assert "no metadata" in page.rejected[3].reason
    # An empty token closes the list.
    assert (page.resumption_token, page.complete_list_size) == (None, 6)


def test_a_body_that_is_not_xml() -> None:
    with pytest.raises(OaiError, match="not XML"):
        parse_list_records(b"Service temporarily unavailable")


def test_a_checkpointed_token_resumes_the_harvest(server: ReplayServer, client: OaiClient) -> None:
    server.route(OAI_PATH, Reply(body=OAI / "oai_error_noRecordsMatch.xml"))

    pages = list(client.list_records(set_spec="cs", from_date=date(2024, 1, 25), resume_token=TOKEN))

    assert [request.params for request in server.requests] == [{"verb": "ListRecords", "resumptionToken": TOKEN}]
    assert [page.records for page in pages] == [[]]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_reject_the_record_not_the_page(day: str) -> None:
    """Midnight UTC on 0001-01-01 is the evening before in New York: outside the calendar, once an OverflowError."""
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header><identifier>oai:arXiv.org:1501.00002</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>1501.00002</id><created>{day}</created>
  <title>Edge</title></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:1501.00003</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>1501.00003</id><created>2015-01-01</created>
  <title>Kept</title></arXiv></metadata></record>
</ListRecords></OAI-PMH>"""

    page = parse_list_records(body.encode())

    assert [record.arxiv_id for record in page.records] == ["1501.00003"]
    assert page.rejected == [RejectedLine(1, f"oai:arXiv.org:1501.00002: unreadable date {day!r}")]


_HOSTILE_RECORD = """<record><header><identifier>oai:arXiv.org:1501.00003</identifier></header><metadata>
  <arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>1501.00003</id><created>2015-01-01</created>
  <title>Kept {title}</title></arXiv></metadata></record>"""
_LAUGHS = "".join(f'<!ENTITY {chr(98 + n)} "{f"&{chr(97 + n)};" * 10}">' for n in range(9))


def _hostile(title: str = "", doctype: str = "", after: str = "") -> bytes:
    record = _HOSTILE_RECORD.format(title=title)
    return (
        f'<?xml version="1.0"?>{doctype}<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        f"{record}{after}</ListRecords></OAI-PMH>"
    ).encode()


def test_hostile_answers_cost_nothing_and_read_no_file() -> None:
    """What the audit could not try: entity expansion, external entities, depth, and a million-digit count."""
    laughs = _hostile("&j;", f'<!DOCTYPE OAI-PMH [<!ENTITY a "aaaaaaaaaa">{_LAUGHS}]>')
    with pytest.raises(OaiError, match="not XML"):
        parse_list_records(laughs)
    with pytest.raises(OaiError, match="not XML"):
        parse_list_records(_hostile(after="<a>" * 5_000 + "</a>" * 5_000))
    outside = parse_list_records(_hostile("&x;", '<!DOCTYPE OAI-PMH [<!ENTITY x SYSTEM "file:///etc/passwd">]>'))
    assert [record.title for record in outside.records] == ["Kept"]
    size = '<resumptionToken completeListSize="' + "9" * 5_000 + '">6960524|1001</resumptionToken>'
    counted = parse_list_records(_hostile(after=size))
    assert (counted.resumption_token, counted.complete_list_size, len(counted.records)) == ("6960524|1001", None, 1)
