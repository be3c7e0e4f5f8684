"""No dead ends in the listings (issue 33): previous and next skip to the nearest day, week or month with featured
papers and stop at the data's ends; the short forms people type redirect to their pages, query string and all."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from papertide.db import Database
from papertide.services.papers import feature_papers
from papertide.web.routes.shortcuts import SHORT_FORMS
from tests.helpers.factories import make_featured_record

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FIRST, LAST = date(2026, 1, 7), date(2026, 4, 22)  # a Wednesday in week 2, another in week 17


def _neighbours(client: TestClient, path: str) -> tuple[str | None, str | None]:
    page = client.get(f"{path}.json").json()
    return (page["previous"] or {}).get("url"), (page["next"] or {}).get("url")


@sqlite_only
def test_previous_and_next_skip_empty_periods_and_stop_at_the_datas_ends(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        feature_papers(session, [make_featured_record(featured_on=day) for day in (FIRST, LAST)])
    assert _neighbours(client, "/papers/week/2026-W02") == (None, "/papers/week/2026-W17")
    assert _neighbours(client, "/papers/week/2026-W17") == ("/papers/week/2026-W02", None)
    assert _neighbours(client, "/papers/week/2026-W30") == ("/papers/week/2026-W17", None)  # past the end: back only
    assert _neighbours(client, "/papers/month/2026-01") == (None, "/papers/month/2026-04")
    assert _neighbours(client, "/papers/month/2026-04") == ("/papers/month/2026-01", None)
    assert _neighbours(client, "/papers/date/2026-01-07") == (None, "/papers/date/2026-04-22")
    assert _neighbours(client, "/papers/date/2026-04-22") == ("/papers/date/2026-01-07", None)
    page = client.get("/papers/month/2026-04").text
    assert 'href="/papers/month/2026-01"' in page and "2026-05" not in page


@sqlite_only
def test_short_forms_redirect_to_their_pages_with_the_query(client: TestClient) -> None:
    response = client.get("/trending?category=cs.LG", follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"] == "/papers/trending?category=cs.LG"
    for short, target in SHORT_FORMS.items():
        response = client.get(short, follow_redirects=False)
        assert response.headers["location"] == target
        assert client.get(target).status_code == 200, target
