"""HEAD, as link checkers, caches and feed readers probe with it: every GET page, feed and API read answers HEAD
with the GET's status and headers and no body; a missing page is still 404 and a POST-only path still 405."""

from __future__ import annotations

from fastapi.testclient import TestClient

from papertide.db import Database
from papertide.services.papers import feature_papers
from tests.helpers.factories import make_featured_record


def test_head_answers_as_get_without_the_body(db: Database, client: TestClient) -> None:
    record = make_featured_record()
    with db.write_session() as session:
        feature_papers(session, [record])
    for path in ("/", f"/papers/{record.paper.arxiv_id}", "/feeds/daily.rss", "/api/v1/papers?limit=1", "/topics.json"):
        got, head = client.get(path), client.head(path)
        assert got.status_code == head.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert int(head.headers["content-length"]) == len(got.content), path
    assert client.head("/papers/2501.99999").status_code == 404
    assert client.head("/following/search").status_code == 405  # a POST-only path has no GET to stand for
