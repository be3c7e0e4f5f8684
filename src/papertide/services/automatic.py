"""The automatic sources, each declared once: the harvest of followed arXiv categories, the hf.co Daily Papers
mirror and the enrichment of thin papers.

A source's ``name`` is the one name it has everywhere: its row in ``source_states``, its job's task, the dedupe
key of a day's run (``hf_mirror:2026-07-06``), its label in ``papertide sources status``, ``/metrics`` and the
admin page. Beside it: the lease of the host it asks (arXiv wants one client at a time, whatever asks), the URL
whose host must resolve before a run is queued, whether the settings turn it on, and when a run is due (each
announcement day, each day, or whenever it has work). The schedule (``jobs/scheduler.py``), the worker's tasks
(``jobs/tasks.py``) and the services that run a source read these; nothing else spells a source's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from papertide.config import Settings

ARXIV_LEASE = "source:arxiv"  # every job that asks export.arxiv.org: one at a time, as arXiv asks
HF_LEASE = "source:hf"


def harvest_due(settings: Settings, day: date) -> bool:
    """arXiv announces new listings Monday to Friday (its Sunday-Thursday evenings, US Eastern): a harvest is due
    on those days only, when categories are followed."""
    return bool(settings.follow_categories.split()) and day.weekday() < 5


@dataclass(frozen=True, slots=True)
class AutomaticSource:
    name: str
    lease: str
    url: Callable[[Settings], str]  # the endpoint whose host must resolve
    on: Callable[[Settings], bool]
    # Daily sources: whether a run is due on a day (once per day, from the harvest hour). None: a source that runs
    # whenever it has work (enrichment, while thin papers wait).
    due_on: Callable[[Settings, date], bool] | None

    def day_key(self, day: date) -> str:
        """The dedupe key of the run due on ``day``: enqueued once however many schedulers see it."""
        return f"{self.name}:{day}"


HARVEST = AutomaticSource(
    "harvest", ARXIV_LEASE, lambda s: s.arxiv_oai_url, lambda s: bool(s.follow_categories.split()), harvest_due
)
HF_MIRROR = AutomaticSource(
    "hf_mirror", HF_LEASE, lambda s: s.hf_url, lambda s: s.hf_mirror, lambda s, _day: s.hf_mirror
)
ENRICHMENT = AutomaticSource("enrichment", ARXIV_LEASE, lambda s: s.arxiv_api_url, lambda _s: True, None)
AUTOMATIC_SOURCES = (HARVEST, HF_MIRROR, ENRICHMENT)
DAILY_SOURCES = tuple(source for source in AUTOMATIC_SOURCES if source.due_on is not None)
