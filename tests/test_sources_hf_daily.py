"""Daily Papers JSON: the two recorded hf.co shapes, the sparse shared archive and broken input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from papertide.records import AccountRecord, AuthorRecord, FeaturedRecord
from papertide.sources.hf_daily import DailyFileError, iter_daily_path, parse_daily
from tests.helpers.data import SHARED_DATA

DATA = SHARED_DATA
HF = DATA / "fixtures" / "hf"
DAYS = DATA / "hf-daily"


def read_one(path: Path) -> list[FeaturedRecord]:
    ((_, featured, rejected),) = list(iter_daily_path(path))
    assert rejected == []
    return featured


def test_the_2026_shape() -> None:
    featured = read_one(HF / "hf_daily_papers_2026-07-09.json")

    assert len(featured) == 7
    assert {item.featured_on for item in featured} == {date(2026, 7, 9)}
    top = featured[0]
    assert top.paper.arxiv_id == "2607.07708"
    assert top.paper.title is not None and top.paper.title.startswith("Accurate, Interdisciplinary and Transparent")
    assert top.paper.abstract is not None and top.paper.abstract.startswith("Structure-property relationships")
    assert len(top.paper.authors) == 29
    assert top.paper.authors[0] == AuthorRecord("Chen Tang")
    assert top.paper.version is None
    assert top.paper.announced_on == date(2026, 7, 8)
    assert top.paper.submitted_at is None  # a bare date says nothing about the submission time
    assert top.paper.code_url == "https://github.com/SpectrAI-Initiative/SciReasoner"
    assert top.paper.project_url == "https://scireasoner.github.io"
    assert (top.upvotes, top.num_comments, top.github_stars) == (60, 1, 1)
    assert top.submitter == AccountRecord(
        "Uanu", "Jianyu Wu", "https://huggingface.co/avatars/9f39725cb42d9276899fd58a91468d6a.svg"
    )
    assert top.organization is not None
    assert (top.organization.name, top.organization.fullname) == ("ShanghaiAiLab", "shanghai ailab")
    assert top.organization.avatar_url is not None and top.organization.avatar_url.startswith("https://www.gravatar")
    assert [item.organization.name if item.organization else None for item in featured] == [
        "ShanghaiAiLab",
        None,
        None,
        None,
        "RoboDojo-Benchmark",
        "nvidia",
        None,
    ]
    assert featured[1].paper.project_url is None
    assert featured[1].github_stars == 0
    assert [item.upvotes for item in featured] == [60, 39, 33, 18, 4, 4, 1]
    # hf.co's machine summary and keywords are kept as its own, apart from the abstract.
    assert top.ai_summary is not None and top.ai_summary != top.paper.abstract
    assert top.ai_keywords is not None and len(top.ai_keywords) > 3 and all(top.ai_keywords)


def test_the_2024_shape() -> None:
    featured = read_one(HF / "hf_daily_papers_2024-05-27_oldshape.json")

    assert len(featured) == 13
    assert {item.featured_on for item in featured} == {date(2024, 5, 27)}
    first = featured[0]
    assert first.paper.arxiv_id == "2405.15738"
    # The item-level title has no hard line break; paper.title does.
    assert first.paper.title == "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    assert (first.upvotes, first.num_comments) == (32, 3)
    assert (first.submitter, first.organization, first.github_stars) == (None, None, None)
    assert first.paper.code_url is None
    # An author hf.co links to an account keeps the user name.
    assert first.paper.authors[1] == AuthorRecord("Sijie Cheng", hf_user="SijieCheng")
    # Here paper.publishedAt is the arXiv submission time: kept, and the listing day estimated from it.
    assert first.paper.submitted_at == datetime(2024, 5, 24, 17, 34, 15, tzinfo=UTC)
    assert first.paper.announced_on == date(2024, 5, 24)
    autocoder = next(item for item in featured if item.paper.arxiv_id == "2405.14906")
    assert autocoder.paper.title is not None and "\n" not in autocoder.paper.title


def test_a_directory_of_shared_days(tmp_path: Path) -> None:
    for name in ["2023-11-22.json", "2023-11-20.json", "2023-11-21.json"]:
        (tmp_path / name).symlink_to(DAYS / name)
    (tmp_path / "notes.txt").write_text("not a day file")

    days = list(iter_daily_path(tmp_path))

    assert [path.name for path, _, _ in days] == ["2023-11-20.json", "2023-11-21.json", "2023-11-22.json"]
    assert [len(featured) for _, featured, _ in days] == [11, 16, 8]
    assert [{item.featured_on for item in featured} for _, featured, _ in days] == [
        {date(2023, 11, 20)},
        {date(2023, 11, 21)},
        {date(2023, 11, 22)},
    ]
    assert all(rejected == [] for _, _, rejected in days)


def test_a_sparse_shared_day() -> None:
    featured = read_one(DAYS / "2023-11-20.json")

    first = featured[0]
    assert first.paper.arxiv_id == "2311.10111"
    assert first.paper.title == "VideoCon: Robust Video-Language Alignment via Contrast Captions"
    assert (first.paper.abstract, first.paper.authors, first.paper.announced_on) == (None, (), None)
    # Counts the list does not carry are unknown, not zero.
    assert (first.upvotes, first.num_comments, first.submitter, first.organization) == (None, None, None, None)


def test_a_shared_day_mixing_complete_and_sparse_items() -> None:
    featured = read_one(DAYS / "2025-04-30.json")

    assert any(item.paper.abstract and item.upvotes is None for item in featured)
    assert all(item.featured_on == date(2025, 4, 30) for item in featured)


def test_invalid_items_are_rejected_by_position() -> None:
    items = [
        {"paper": {"id": "2405.15738", "title": "Kept"}, "publishedAt": "2024-05-27T03:50:58.348Z"},
        "not an object",
        {"title": "no paper"},
        {"paper": {"id": "1234.56789"}},
        {"paper": {"title": "no id"}},
        {"paper": {"id": "2405.15574", "upvotes": True}},
    ]

    featured, rejected = parse_daily(items, date(2024, 5, 27))

    assert [item.paper.arxiv_id for item in featured] == ["2405.15738", "2405.15574"]
    assert featured[1].upvotes is None  # a boolean is not a count
    assert [line.line_no for line in rejected] == [2, 3, 4, 5]
    assert rejected[0].reason == "the item is a JSON string, not an object"
    assert rejected[1].reason == "the item has no paper object"
    assert "month 34 does not exist" in rejected[2].reason
    assert rejected[3].reason == "the paper has no id"


def test_the_featured_date_falls_back_to_the_item_then_the_paper() -> None:
    items = [
        {"paper": {"id": "2405.15738"}, "publishedAt": "2024-05-27T03:50:58.348Z"},
        {"paper": {"id": "2405.15574", "submittedOnDailyAt": "2024-05-28T00:00:00.000Z"}},
        {"paper": {"id": "2405.15071"}},
    ]

    featured, rejected = parse_daily(items, None)

    assert [item.featured_on for item in featured] == [date(2024, 5, 27), date(2024, 5, 28)]
    assert [line.line_no for line in rejected] == [3]
    assert "no featured date" in rejected[0].reason


def test_the_submitter_can_come_from_the_paper() -> None:
    items = [
        {
            "paper": {
                "id": "2607.07708",
                "submittedOnDailyBy": {"user": "Uanu", "fullname": "Jianyu Wu", "avatarUrl": "https://x/a.png"},
            }
        }
    ]

    featured, _ = parse_daily(items, date(2026, 7, 9))

    assert featured[0].submitter == AccountRecord("Uanu", "Jianyu Wu", "https://x/a.png")


def test_broken_files_raise_daily_file_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "2024-05-27.json"
    broken.write_text('[{"paper": {"id": "2405.15738"}', encoding="utf-8")
    with pytest.raises(DailyFileError, match=r"2024-05-27\.json is not valid JSON \(line 1"):
        list(iter_daily_path(broken))

    not_a_list = tmp_path / "2024-05-28.json"
    not_a_list.write_text(json.dumps({"paper": {"id": "2405.15738"}}), encoding="utf-8")
    with pytest.raises(DailyFileError, match=r"2024-05-28\.json: expected a JSON list .* got a JSON object"):
        list(iter_daily_path(not_a_list))

    with pytest.raises(DailyFileError, match="does not exist"):
        list(iter_daily_path(tmp_path / "missing"))


def test_links_that_are_not_http_are_dropped_where_they_enter() -> None:
    """A tampered export must not store a javascript: link that pages would render as the Code button."""
    links = ["javascript:alert(10)", " JaVaScRiPt:alert(1)", "data:text/html,x", "//evil.example", "ftp://x/y"]
    items = [
        {
            "paper": {"id": f"2607.0770{n}", "githubRepo": link, "projectPage": link},
            "submittedBy": {"user": f"u{n}", "avatarUrl": link},
            "organization": {"name": f"o{n}", "avatar": link},
        }
        for n, link in enumerate(links)
    ]
    items.append(
        {"paper": {"id": "2607.07709", "githubRepo": " https://github.com/a/b ", "projectPage": "http://x.org"}}
    )

    featured, rejected = parse_daily(items, date(2026, 7, 9))

    assert rejected == []
    assert [(item.paper.code_url, item.paper.project_url) for item in featured[:-1]] == [(None, None)] * len(links)
    assert {item.submitter.avatar_url for item in featured[:-1] if item.submitter} == {None}
    assert {item.organization.avatar_url for item in featured[:-1] if item.organization} == {None}
    assert (featured[-1].paper.code_url, featured[-1].paper.project_url) == ("https://github.com/a/b", "http://x.org")


def test_characters_xml_cannot_carry_are_cleaned_where_they_enter() -> None:
    items = json.loads(
        r"""[{"title": "A\u0001 title\ufffe", "paper": {"id": "2607.07708", "summary": "Sum\u000bmary \ud800",
        "authors": [{"name": "Ada\u0000 Lovelace"}, {"name": "\u001f"}]},
        "submittedBy": {"user": "eve\u0002", "fullname": "Eve\uffff"}}]"""
    )

    featured, _ = parse_daily(items, date(2026, 7, 9))

    paper = featured[0].paper
    assert (paper.title, paper.abstract) == ("A title", "Summary")
    assert paper.authors == (AuthorRecord("Ada Lovelace"),)
    assert featured[0].submitter == AccountRecord("eve", "Eve")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "9999-12-31T22:00:00Z"])
def test_timestamps_at_the_ends_of_the_calendar_are_unknown_dates(moment: str) -> None:
    """Once an OverflowError that stopped the whole import; now the item keeps the file's date and no arXiv date."""
    items = [{"publishedAt": moment, "paper": {"id": "2607.07708", "publishedAt": moment}}]

    featured, rejected = parse_daily(items, date(2026, 7, 9))

    assert rejected == []
    assert (featured[0].paper.announced_on, featured[0].paper.submitted_at) == (None, None)


def test_a_count_no_row_can_hold_costs_its_item_not_the_day() -> None:
    """Audit 2, finding 4: one out-of-range count is reported and skipped; the rest of the day is kept."""
    items = [
        {"paper": {"id": "2405.15738", "upvotes": 10**20}},
        {"paper": {"id": "2405.15739", "githubStars": 2**31}},
        {"paper": {"id": "2405.15740"}, "numComments": -1},
        {"paper": {"id": "2405.15741", "upvotes": 2**31 - 1}},
    ]

    featured, rejected = parse_daily(items, date(2024, 5, 27))

    assert [(item.paper.arxiv_id, item.upvotes) for item in featured] == [("2405.15741", 2**31 - 1)]
    assert [(line.line_no, line.reason) for line in rejected] == [
        (1, "upvotes a 21-digit number is no count (0 to 2,147,483,647)"),
        (2, "githubStars 2147483648 is no count (0 to 2,147,483,647)"),
        (3, "numComments -1 is no count (0 to 2,147,483,647)"),
    ]


def test_account_names_a_local_account_could_not_have_name_nobody() -> None:
    """Audit 2, finding 10: ``../../admin`` would become a submitter link a browser resolves to /admin."""
    user = {"user": "../../admin", "fullname": "Admin"}
    item = {
        "paper": {"id": "2405.15738", "authors": [{"name": "Ada", "user": {"user": "a/../../b"}}]},
        "submittedBy": user,
        "organization": {"name": "../orgs"},
    }
    fine = {"paper": {"id": "2405.15739"}, "submittedBy": {"user": "ada_l"}, "organization": {"name": "Big-Lab"}}
    sneaky = {"paper": {"id": "2405.15740"}, "submittedBy": {"user": "alice.json"}}

    (first, second, third), rejected = parse_daily([item, fine, sneaky], date(2024, 5, 27))

    assert rejected == []
    assert (first.submitter, first.organization, first.paper.authors) == (None, None, (AuthorRecord("Ada"),))
    assert second.submitter is not None and second.submitter.name == "ada_l"
    assert second.organization is not None and second.organization.name == "Big-Lab"
    assert third.submitter is None  # /users/alice.json is the JSON twin of alice's page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects more deeply than the JSON reader follows"),
        (b'[{"paper": {"id": "2405.15738", "upvotes": ' + b"9" * 5_000 + b"}}]", "holds a number too long to read"),
    ],
)
def test_a_file_no_json_reader_can_follow_is_refused_with_what_is_wrong(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "2024-05-27.json"
    path.write_bytes(content)
    with pytest.raises(DailyFileError, match=f"2024-05-27.json {message}"):
        list(iter_daily_path(path))
