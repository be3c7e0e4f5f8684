"""The arXiv metadata snapshot reader: the recorded sample, the shared file and broken lines (every one of its
75,639 lines is parsed once, by tests/test_ingest_cli.py, which picks from them the lines it writes)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertide.records import AuthorRecord, PaperRecord, RejectedLine, VersionRecord
from papertide.sources.normalize import tex_to_unicode
from papertide.sources.snapshot import SnapshotFileError, SnapshotLineError, iter_snapshot, parse_snapshot_line
from tests.helpers.data import SHARED_DATA

DATA = SHARED_DATA
SAMPLE = DATA / "fixtures" / "snapshot" / "snapshot_sample_head20.jsonl"
SHARED_SNAPSHOT = DATA / "arxiv-snapshot.jsonl.gz"


def sample_lines() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def records(path: Path, start_line: int = 0) -> dict[int, PaperRecord | RejectedLine]:
    return dict(iter_snapshot(path, start_line=start_line))


def test_the_recorded_sample() -> None:
    parsed = records(SAMPLE)

    assert list(parsed) == list(range(1, 21))
    assert all(isinstance(item, PaperRecord) for item in parsed.values())
    first = parsed[1]
    assert isinstance(first, PaperRecord)
    assert first.arxiv_id == "0704.0001"
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.authors == (
        AuthorRecord("C. Balázs"),
        AuthorRecord("E. L. Berger"),
        AuthorRecord("P. M. Nadolsky"),
        AuthorRecord("C. -P. Yuan"),
    )
    assert first.versions == (
        VersionRecord(1, datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        VersionRecord(2, datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)),
    )
    assert first.version == 2
    assert first.submitted_at == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert first.updated_at == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    # Monday 15:18 in New York is after the 14:00 cut-off: listed on Tuesday.
    assert first.announced_on == date(2007, 4, 3)
    assert first.categories == ("hep-ph",)
    assert first.comments == "37 pages, 15 figures; published version"
    assert first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert first.doi == "10.1103/PhysRevD.76.013009"
    assert first.report_no == "ANL-HEP-PR-07-12"
    assert first.license is None
    assert first.abstract is not None and first.abstract.startswith("A fully differential calculation in perturbative")
    assert "\n" not in first.abstract
    second = parsed[2]
    assert isinstance(second, PaperRecord)
    assert second.categories == ("math.CO", "cs.CG")
    assert second.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    ninth = parsed[9]
    assert isinstance(ninth, PaperRecord)
    assert AuthorRecord("Neal J. Evans II") in ninth.authors
    twentieth = parsed[20]
    assert isinstance(twentieth, PaperRecord)
    assert twentieth.authors[0] == AuthorRecord("The BABAR Collaboration")


def test_authors_fall_back_to_the_plain_string_with_tex_accents() -> None:
    line = json.loads(sample_lines()[0])
    del line["authors_parsed"]

    record = parse_snapshot_line(json.dumps(line))

    assert [author.name for author in record.authors] == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]


def test_plain_author_strings_with_and_and_affiliations() -> None:
    line = {"id": "0704.0002", "title": "T", "authors": 'A. Smith (MIT, CSAIL), B. Jones, and C. M\\"uller'}

    record = parse_snapshot_line(json.dumps(line))

    assert [author.name for author in record.authors] == ["A. Smith", "B. Jones", "C. Müller"]
    assert (record.versions, record.submitted_at, record.announced_on) == ((), None, None)


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("Bal\\'azs", "Balázs"),
        ('Schr\\"odinger', "Schrödinger"),
        ('M\\"{u}ller', "Müller"),
        ("Jos\\'{e}", "José"),
        ("Garc{\\'\\i}a", "García"),
        ("\\c{C}elik", "Çelik"),
        ("Erd\\H{o}s", "Erdős"),
        ("\\v{S}koda", "Škoda"),
        ("\\v Skoda", "Škoda"),
        ("Pe\\~na", "Peña"),
        ("Ho\\^ang", "Hoâng"),
        ("Fran\\c cois", "François"),
        ("{\\O}stergaard", "Østergaard"),
        ("S{\\o}rensen", "Sørensen"),
        ('{\\AA}ngstr{\\"o}m', "Ångström"),
        ("\\L{}ukasz", "Łukasz"),
        ("Stra\\ss e", "Straße"),
        ("Plain Name", "Plain Name"),
    ],
)
def test_tex_accents_in_names(tex: str, text: str) -> None:
    assert tex_to_unicode(tex) == text


def test_the_shared_snapshot_stores_listing_dates_at_midnight() -> None:
    first = next(iter_snapshot(SHARED_SNAPSHOT))[1]

    assert isinstance(first, PaperRecord)
    assert first.arxiv_id == "1812.06145"
    assert first.versions == (VersionRecord(1, datetime(2025, 10, 13, tzinfo=UTC)),)
    # A midnight-UTC v1 is the listing date itself, not a submission time to estimate from.
    assert first.announced_on == date(2025, 10, 13)
    assert first.categories == ("cs.CV", "cs.AI", "cs.HC", "cs.LG", "stat.ML")
    assert first.authors[1] == AuthorRecord("Hamid Reza Vaezi Joze")


def test_broken_lines_are_rejected_with_their_numbers(tmp_path: Path) -> None:
    good = sample_lines()
    lines = [
        good[0],  # 1
        good[1][:80],  # 2: truncated
        "",  # 3: blank, skipped
        "{not json}",  # 4
        "[1, 2]",  # 5: not an object
        json.dumps({"id": "quant/ph-0001", "title": "x"}),  # 6: unknown id format
        "   ",  # 7: blank, skipped
        good[2],  # 8
        json.dumps({"id": "0704.0004", "title": "  "}),  # 9: no title
        json.dumps({"title": "no id"}),  # 10
        good[3],  # 11
    ]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    parsed = records(path)

    assert list(parsed) == [1, 2, 4, 5, 6, 8, 9, 10, 11]
    rejected = {number: item.reason for number, item in parsed.items() if isinstance(item, RejectedLine)}
    assert list(rejected) == [2, 4, 5, 6, 9, 10]
    assert rejected[2].startswith("invalid JSON")
    assert rejected[4].startswith("invalid JSON")
    assert rejected[5] == "expected a JSON object, got list"
    assert "'quant/ph-0001' is not an arXiv id" in rejected[6]
    assert rejected[9] == "0704.0004: the line has no title"
    assert rejected[10] == "the line has no id"
    assert [item.arxiv_id for item in parsed.values() if isinstance(item, PaperRecord)] == [
        "0704.0001",
        "0704.0003",
        "0704.0004",
    ]


def test_unreadable_versions_are_reported() -> None:
    line = json.loads(sample_lines()[0])
    line["versions"][1]["created"] = "sometime in July"

    with pytest.raises(SnapshotLineError, match="0704.0001: unreadable version date 'sometime in July'"):
        parse_snapshot_line(json.dumps(line))


@pytest.mark.parametrize("name", ["sample.jsonl.gz", "sample.jsonl"])
def test_gzip_is_recognised_by_its_magic_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))

    assert records(path) == records(SAMPLE)


def test_a_plain_file_named_gz_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "actually-plain.json.gz"
    path.write_bytes(SAMPLE.read_bytes())

    assert len(records(path)) == 20


def test_a_truncated_gzip_file_is_reported(tmp_path: Path) -> None:
    compressed = gzip.compress(SAMPLE.read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(compressed[: len(compressed) // 2])

    with pytest.raises(SnapshotFileError, match="cut.jsonl.gz: the gzip data is damaged or cut short"):
        records(path)


def test_start_line_resumes_without_parsing_earlier_lines(tmp_path: Path) -> None:
    path = tmp_path / "resume.jsonl"
    path.write_text("\n".join(["garbage that would be rejected", *sample_lines()[1:5]]) + "\n", encoding="utf-8")

    parsed = records(path, start_line=3)

    assert list(parsed) == [3, 4, 5]
    assert all(isinstance(item, PaperRecord) for item in parsed.values())
    assert list(records(SAMPLE, start_line=19)) == [19, 20]


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_FIELDS = [
    "id",
    "title",
    "abstract",
    "authors",
    "authors_parsed",
    "versions",
    "categories",
    "comments",
    "doi",
    "journal-ref",
    "license",
    "update_date",
]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_line_is_a_record_or_a_clear_rejection(line: str) -> None:
    try:
        record = parse_snapshot_line(line)
    except SnapshotLineError as error:
        assert str(error)
    else:
        assert record.arxiv_id and record.title


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), _JSON_VALUES, max_size=len(_FIELDS)))
def test_any_json_object_is_a_record_or_a_clear_rejection(fields: dict[str, object]) -> None:
    """Real-looking lines with wrong types anywhere (a list where a string belongs, numbers for dates…)."""
    line = json.dumps({"id": "2503.24322", "title": "A title", **fields})
    try:
        record = parse_snapshot_line(line)
    except SnapshotLineError as error:
        assert str(error)
    else:
        assert record.arxiv_id and record.title


def test_characters_xml_cannot_carry_are_cleaned_where_they_enter() -> None:
    """One title with U+0001 once broke the daily feed for every reader; the snapshot is JSON and can hold it."""
    line = json.dumps(
        {
            "id": "0704.0001",
            "title": "Calc\u0001ulation\ufffe",
            "abstract": "An\u000b abstract \ud800",
            "authors_parsed": [["Bal\u0000\\'azs", "C.\u001f", ""]],
            "categories": "hep-ph\u0001 hep-th",
            "comments": "\u0002",
            "doi": "10.1000/x\u0003y",
        }
    )

    record = parse_snapshot_line(line)

    assert (record.title, record.abstract, record.comments) == ("Calculation", "An abstract", None)
    assert record.authors == (AuthorRecord("C. Balázs"),)
    assert (record.categories, record.doi) == (("hep-ph", "hep-th"), "10.1000/xy")


def test_version_dates_at_the_ends_of_the_calendar_reject_the_line() -> None:
    """23:00 GMT on the last day of 9999 is listed the day after: once an OverflowError that stopped the import."""
    line = json.dumps(
        {
            "id": "0704.0001",
            "title": "Edge",
            "versions": [{"version": "v1", "created": "Fri, 31 Dec 9999 23:00:00 GMT"}],
        }
    )

    with pytest.raises(SnapshotLineError, match="0704.0001: impossible version date"):
        parse_snapshot_line(line)


def test_hostile_lines_are_rejected_and_the_rest_read(tmp_path: Path) -> None:
    """Depth past the JSON reader's, a number too long to read, and a version no row holds cost their line only."""
    good = sample_lines()
    far_version = json.loads(good[1])
    far_version["versions"][0]["version"] = "v" + "9" * 20
    lines = [
        "[" * 100_000 + "]" * 100_000,
        '{"id": "0704.0002", "title": "x", "n": ' + "9" * 5_000 + "}",
        json.dumps(far_version),
        good[0],
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    parsed = records(path)

    assert [type(item).__name__ for item in parsed.values()] == ["RejectedLine"] * 3 + ["PaperRecord"]
    reasons = [item.reason for item in parsed.values() if isinstance(item, RejectedLine)]
    assert reasons[0] == "the line nests lists or objects more deeply than the JSON reader follows"
    assert reasons[1] == "the line holds a number too long to read"
    assert reasons[2].startswith("0704.0002: unreadable version entry")
