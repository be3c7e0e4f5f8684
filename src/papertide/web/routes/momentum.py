"""A paper's upvote sparkline, ``/papers/{id}/momentum.svg`` (an image cards and the paper page show; no
JavaScript), built by ``web/viewmodels/momentum.py``. Registered before the paper router, whose paths catch all."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from papertide.web.deps import ReadSession, VisiblePaper
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.templating import templates
from papertide.web.viewmodels.momentum import sparkline

router = APIRouter()


@router.get("/papers/{arxiv_id:path}/momentum.svg", include_in_schema=False)
def momentum_svg(request: Request, paper: VisiblePaper, session: ReadSession) -> Response:
    spark = sparkline(session, paper.id, datetime.now(UTC).date())
    svg = templates.get_template("sparkline.svg").render(spark=spark)
    return mark_public(Response(svg, media_type="image/svg+xml"), request)
