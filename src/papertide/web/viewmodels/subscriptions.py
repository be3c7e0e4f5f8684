"""The digest preference form's view-model: what the subscribe and preferences pages show and post back, and the
:class:`~papertide.services.subscriptions.Preferences` it means."""

from __future__ import annotations

from dataclasses import dataclass

from papertide.services.subscriptions import Cadence, Preferences, SubscriptionView, parse_list, parse_searches


@dataclass(slots=True)
class PreferenceForm:
    email: str = ""
    cadence: Cadence = "daily"
    trending: bool = True
    categories: str = ""
    organizations: str = ""
    authors: str = ""
    personal: bool = False
    searches: str = ""

    def preferences(self) -> Preferences:
        return Preferences(
            trending=self.trending,
            categories=parse_list(self.categories, "category"),
            organizations=parse_list(self.organizations, "organization"),
            authors=parse_list(self.authors, "author"),
            personal=self.personal,
            searches=parse_searches(self.searches),
        )

    @classmethod
    def of(cls, subscription: SubscriptionView) -> PreferenceForm:
        wanted = subscription.preferences
        return cls(
            email=subscription.email,
            cadence=subscription.cadence,
            trending=wanted.trending,
            categories=", ".join(wanted.categories),
            organizations=", ".join(wanted.organizations),
            authors=", ".join(wanted.authors),
            personal=wanted.personal,
            searches="\n".join(wanted.searches),
        )
