"""Per warm instance caches for /match, so a warm match touches only the session item (one GetItem, plus one
UpdateItem when it serves an ad; none without a session_id).

Candidate snapshot: every active campaign (one paginated Query on GSI2 `SERVING`), their LEDGER items and the
balances of their advertisers (BatchGetItem each), built into the engine's CampaignIndex. It is rebuilt when
older than CANDIDATE_CACHE_TTL_SECONDS (settings; default 15, at most 300). Within that window a paused
campaign may still be offered and ledgers/balances may lag; that is safe because /impressions re-checks
status, budget, daily cap and balance inside its billing transaction, so nothing is charged beyond them.

Pacing: each LEDGER item carries the pacing job's throttle (arbiter.ads.pacing); the snapshot keeps the fresh ones
(computed within THROTTLE_STALE_AFTER) for MatchRequest.throttles, so a new throttle reaches /match within the TTL
at no extra read.

Placement cache: the caller's enabled placement per (tenant, game), kept for the same TTL (on arbiter.clock, so
tests drive it), at most MAX_CACHED_PLACEMENTS, least recently used evicted first. Failures (unknown, foreign or
disabled game) are not cached, so a newly enabled placement serves at once; a disabled one stops serving within
the TTL.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arbiter import clock
from arbiter.ads.matching.index import CampaignIndex
from arbiter.ads.matching.models import ServingCampaign, ServingPlacement
from arbiter.ads.pacing.calculations import effective_throttle
from arbiter.ads.placements import logic as placements
from arbiter.ads.placements.models import PlacementItem
from arbiter.ads.serving import invalidation, repository
from arbiter.bounded_cache import BoundedCache
from arbiter.observability import logger
from arbiter.settings import get_settings

MAX_CACHED_PLACEMENTS = 10_000  # bounds memory if one instance sees very many games


def ttl() -> timedelta:
    return timedelta(seconds=get_settings().candidate_cache_ttl_seconds)


@dataclass(frozen=True, slots=True)
class CandidateSnapshot:
    index: CampaignIndex
    advertiser_balances: dict[str, int]  # advertiser id -> millicents
    loaded_at: datetime
    # campaign id -> pacing throttle below 1 (the pacing job's, from the LEDGER item; stale ones dropped)
    throttles: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CachedPlacement:
    item: PlacementItem
    serving: ServingPlacement


_snapshot: CandidateSnapshot | None = None
_placements: BoundedCache[tuple[str, str], CachedPlacement] = BoundedCache(
    MAX_CACHED_PLACEMENTS,
    lambda: get_settings().candidate_cache_ttl_seconds,
    clock=lambda: clock.now().timestamp(),
)


def _fresh(loaded_at: datetime, now: datetime) -> bool:
    return now - loaded_at < ttl()


def load_snapshot(now: datetime) -> CandidateSnapshot:
    campaign_items = repository.active_campaign_items()
    ledgers = repository.ledger_items(str(item["id"]) for item in campaign_items)
    campaigns = []
    for item in campaign_items:
        try:
            campaigns.append(ServingCampaign.from_items(item, ledgers.get(str(item["id"]))))
        except (KeyError, TypeError, ValueError):
            # One malformed item must not stop every other campaign from serving.
            logger.exception("skipping unreadable campaign item", extra={"campaign_id": item.get("id")})
    balances = repository.advertiser_balances(campaign.tenant_id for campaign in campaigns)
    return CandidateSnapshot(CampaignIndex(campaigns), balances, now, pacing_throttles(campaigns, now))


def pacing_throttles(campaigns: list[ServingCampaign], now: datetime) -> dict[str, float]:
    """The throttles /match applies: fresh ones below 1 (a missing campaign competes in every match)."""
    throttles = {}
    for campaign in campaigns:
        throttle = effective_throttle(campaign.pacing_throttle, campaign.pacing_computed_at, now)
        if throttle is not None and throttle < 1.0:
            throttles[campaign.id] = throttle
    return throttles


def candidates() -> CandidateSnapshot:
    """The current snapshot, reloaded when older than the TTL."""
    global _snapshot
    now = clock.now()
    if _snapshot is None or not _fresh(_snapshot.loaded_at, now):
        _snapshot = load_snapshot(now)
    return _snapshot


def active_placement(tenant_id: str, game_id: str) -> CachedPlacement:
    """The tenant's enabled placement (404 unknown or disabled, 403 another tenant's), cached for the TTL."""

    def load() -> CachedPlacement:
        item = placements.get_active_placement(tenant_id, game_id)  # raises: failures are not cached
        return CachedPlacement(item, ServingPlacement.from_item(item.model_dump()))

    return _placements.get_or_load((tenant_id, game_id), load)


def clear() -> None:
    """Forget everything cached: after a write on this instance (invalidation), and in tests."""
    global _snapshot
    _snapshot = None
    _placements.clear()


# A campaign or placement written by this instance is served (or withdrawn) by its next /match.
invalidation.on_change(clear)
