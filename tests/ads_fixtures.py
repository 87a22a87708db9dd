"""Shared helpers for the campaign aggregate tests: a registered, funded advertiser; the seed's requests."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from arbiter import aws, clock
from arbiter.ads.campaigns.repository import campaign_key, ledger_key

ACME = {"company_name": "Acme Corp", "contact_email": "ads@acme.com", "website": "https://acme.com"}

# The seed's "Create Campaign" request.
SUMMER_LAUNCH = {
    "name": "Summer 2026 Launch",
    "budget_cents": 500000,
    "cpm_bid_cents": 250,
    "daily_cap_cents": 25000,
    "start_date": "2026-06-01T00:00:00Z",
    "end_date": "2026-08-31T23:59:59Z",
    "priority": 7,
    "target_categories": ["simulation", "strategy"],
    "target_tags": ["political"],
}
# A moment inside SUMMER_LAUNCH's schedule (tests/conftest.py: seed_campaign_running).
IN_SEED_SCHEDULE = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)

# The seed's "Create Creative" request.
ACME_SHIELD_HOOK = {
    "creative_type": "narrative_hook",
    "brand_name": "Acme Corp",
    "product_name": "Acme Shield",
    "tagline": "Protection you can trust",
    "narrative_hook": (
        "A familiar logo on the briefing folder catches your eye — Acme Shield, the defense contractor "
        "everyone in Washington seems to know."
    ),
    "alt_hooks": [
        "The advisor slides an Acme Shield dossier across the table.",
        "On the news ticker: Acme Shield wins another Pentagon contract.",
    ],
    "tone": "neutral",
    "max_uses_per_game": 5,
}

PRODUCT_MENTION = {"creative_type": "product_mention", "brand_name": "Acme Corp"}


def register_advertiser(api, key: str, deposit_cents: int = 100000) -> dict[str, Any]:
    registered = api.post("/api/ads/register", key=key, json=ACME)
    assert registered.status == 201, registered.body
    if deposit_cents:
        deposited = api.post("/api/ads/deposit", key=key, json={"amount_cents": deposit_cents})
        assert deposited.status == 200, deposited.body
    return registered.json()


def create_campaign(api, key: str, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/ads/campaigns", key=key, json={**SUMMER_LAUNCH, **overrides})
    assert response.status == 201, response.body
    return response.json()


def funded_campaign(api, key: str, **overrides: Any) -> dict[str, Any]:
    """Register + deposit + create a draft campaign."""
    register_advertiser(api, key)
    return create_campaign(api, key, **overrides)


def add_creative(api, key: str, campaign_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(f"/api/ads/campaigns/{campaign_id}/creatives", key=key, json=body or ACME_SHIELD_HOOK)
    assert response.status == 201, response.body
    return response.json()


def active_campaign(api, key: str) -> dict[str, Any]:
    """A funded campaign with one creative, activated."""
    campaign = funded_campaign(api, key)
    add_creative(api, key, campaign["id"])
    activated = api.post(f"/api/ads/campaigns/{campaign['id']}/activate", key=key)
    assert activated.status == 200, activated.body
    return activated.json()


def campaign_item(campaign_id: str) -> dict[str, Any]:
    return aws.campaigns_table().get_item(Key=campaign_key(campaign_id))["Item"]


def ledger_item(campaign_id: str) -> dict[str, Any]:
    return aws.campaigns_table().get_item(Key=ledger_key(campaign_id))["Item"]


def set_ledger(campaign_id: str, **attributes: Any) -> None:
    """Write ledger counters directly, as the impression path would."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": value for i, value in enumerate(attributes.values())}
    aws.campaigns_table().update_item(
        Key=ledger_key(campaign_id),
        UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


@contextmanager
def ticking_clock(start: datetime | None = None, step: timedelta = timedelta(seconds=1)) -> Iterator[None]:
    """Each read of the clock is one step later than the previous: creation order becomes timestamp order."""
    moment = [start or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]

    def tick() -> datetime:
        moment[0] += step
        return moment[0]

    clock.set_clock(tick)
    try:
        yield
    finally:
        clock.set_clock(None)


class ManualClock:
    """A clock for arbiter.clock.set_clock that stays where a test puts it (`manual.moment = ...`)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment
