"""POST /v2/recommend: a game's eligible offers for a player, ranked by the offers learner.

1. The game's catalog (cached per instance, arbiter.offers.catalog): unknown game 404, another tenant's 403.
2. The player's recommendation log (one Query of the newest store.LOG_READ_LIMIT recommendations,
   arbiter.learning.store.player_log): impressions in the last 24 h per offer, the player's purchase history
   and outcomes for the learner (player_context); exposures past the expiry window with no outcome are resolved
   as `expired` (store.expire_overdue, given the log already read, so the log is read once).
3. Purchases so far (one GetItem), only when a candidate offer has a purchase limit.
4. Eligibility through arbiter.core.run_pipeline, each filter naming why it dropped an offer: status,
   active window, segment, level range, purchase limit, daily impression limit.
5. Ranking by the learner (store.load_model -> model.recommend: Thompson-sampled expected revenue), then the
   shown offers are logged (store.record_recommendation, one PutItem) under a new interaction id.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arbiter import clock, ids
from arbiter.auth.models import Principal
from arbiter.core import EligibilityFilter, Score, run_pipeline
from arbiter.core.text import label_key
from arbiter.errors import ForbiddenError, NotFoundError
from arbiter.learning import model, store
from arbiter.learning.exposure import Exposure, overdue
from arbiter.learning.features import OfferFeatures, normalize_gaps
from arbiter.learning.player_context import player_context
from arbiter.observability import logger
from arbiter.offers import repository
from arbiter.offers.catalog import cached_catalog
from arbiter.offers.models import GameOfferItem, GameOfferStatus, RecommendedOffer, RecommendInput
from arbiter.offers.repository import GameCatalog

IMPRESSION_WINDOW = timedelta(hours=24)
_rng = random.Random()  # Thompson sampling draws; seeded from the OS per instance


@dataclass(frozen=True, slots=True)
class RecommendResult:
    offers: list[RecommendedOffer]
    interaction_id: str | None  # None when nothing was shown (nothing logged)


@dataclass(frozen=True, slots=True)
class PlayerView:
    """What the filters know about the request: its context and the player's recent history."""

    now: datetime
    segment: str | None
    level: float | None
    impressions_today: Mapping[str, int]
    # False when the player had more recommendations in the window than one read returns (store.LOG_READ_LIMIT):
    # the counts may miss older showings, so offers with a daily impression limit are withheld (never over-shown).
    impressions_complete: bool = True
    purchases: Mapping[str, int] = field(default_factory=dict)
    exposures: tuple[Exposure, ...] = ()  # the player's recommendation log, for the learner (player_context)


def owned_game(principal: Principal, game_id: str) -> GameCatalog:
    catalog = cached_catalog(game_id)
    if catalog is None:
        raise NotFoundError(f"Game '{game_id}' not found")
    if catalog.tenant_id != principal.tenant_id:
        raise ForbiddenError(f"Game '{game_id}' belongs to another tenant")
    return catalog


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --- Eligibility filters (cheap first; each returns None or the reason the offer is out) ----------------


def _status(offer: GameOfferItem, _: PlayerView) -> str | None:
    return None if offer.status is GameOfferStatus.ACTIVE else f"offer is {offer.status.value}"


def _window(offer: GameOfferItem, view: PlayerView) -> str | None:
    if offer.starts_at and view.now < clock.parse_iso(offer.starts_at):
        return f"starts at {offer.starts_at}"
    if offer.ends_at and view.now >= clock.parse_iso(offer.ends_at):
        return f"ended at {offer.ends_at}"
    return None


def _segment(offer: GameOfferItem, view: PlayerView) -> str | None:
    if not offer.segments:
        return None
    if view.segment is None:
        return "session_context.segment is missing and the offer targets segments"
    allowed = {label_key(segment) for segment in offer.segments}
    return None if label_key(view.segment) in allowed else f"segment '{view.segment}' is not targeted"


def _level(offer: GameOfferItem, view: PlayerView) -> str | None:
    if offer.min_level is None and offer.max_level is None:
        return None
    if view.level is None:
        return "session_context.level is missing and the offer has a level range"
    if offer.min_level is not None and view.level < offer.min_level:
        return f"level {view.level:g} is below {offer.min_level}"
    if offer.max_level is not None and view.level > offer.max_level:
        return f"level {view.level:g} is above {offer.max_level}"
    return None


def _purchase_limit(offer: GameOfferItem, view: PlayerView) -> str | None:
    bought = view.purchases.get(offer.offer_id, 0)
    if offer.max_purchases is not None and bought >= offer.max_purchases:
        return f"purchased {bought} time(s), limit {offer.max_purchases}"
    return None


def _impression_limit(offer: GameOfferItem, view: PlayerView) -> str | None:
    if offer.max_impressions_per_day is not None and not view.impressions_complete:
        return f"more than {store.LOG_READ_LIMIT} recommendations in 24 h: impressions cannot be counted"
    shown = view.impressions_today.get(offer.offer_id, 0)
    if offer.max_impressions_per_day is not None and shown >= offer.max_impressions_per_day:
        return f"shown {shown} time(s) in 24 h, limit {offer.max_impressions_per_day}"
    return None


FILTERS: list[EligibilityFilter[GameOfferItem, PlayerView]] = [
    EligibilityFilter("status", _status),
    EligibilityFilter("active_window", _window),
    EligibilityFilter("segment", _segment),
    EligibilityFilter("level_range", _level),
    EligibilityFilter("purchase_limit", _purchase_limit),
    EligibilityFilter("impression_limit", _impression_limit),
]


def _price_score(offer: GameOfferItem, _: PlayerView) -> Score:
    # The pipeline only decides eligibility here; the learner ranks the eligible offers jointly (one Thompson
    # sample shared by every offer), which a per-candidate scorer cannot express.
    return Score(offer.price_usd)


def eligible_offers(offers: list[GameOfferItem], view: PlayerView) -> tuple[list[GameOfferItem], dict[str, str]]:
    """The offers that pass every filter, and offer_id -> why each other one is out."""
    if not offers:
        return [], {}
    result = run_pipeline(
        offers, view, key=lambda offer: offer.offer_id, filters=FILTERS, scorer=_price_score, limit=len(offers)
    )
    reasons = {key: f"{rejections[0].filter}: {rejections[0].reason}" for key, rejections in result.rejections.items()}
    return [ranked.candidate for ranked in result.selected], reasons


def _player_view(game_id: str, player_id: str, request: RecommendInput, offers: list[GameOfferItem]) -> PlayerView:
    now = clock.now()
    log = store.player_log(game_id, player_id)
    exposures = log.exposures()
    if overdue(exposures, now):
        store.expire_overdue(game_id, player_id, now, logged=log.entries)
    impressions: dict[str, int] = {}
    for exposure in exposures:
        if exposure.shown_at > now - IMPRESSION_WINDOW:
            impressions[exposure.offer.offer_id] = impressions.get(exposure.offer.offer_id, 0) + 1
    limited = any(offer.max_purchases is not None and offer.status is GameOfferStatus.ACTIVE for offer in offers)
    segment = request.session_context.get("segment")
    return PlayerView(
        now=now,
        segment=segment if isinstance(segment, str) else None,
        level=_number(request.session_context.get("level")),
        impressions_today=impressions,
        impressions_complete=log.covers(now - IMPRESSION_WINDOW),
        purchases=repository.player_purchases(game_id, player_id) if limited else {},
        exposures=tuple(exposures),
    )


def recommend(principal: Principal, request: RecommendInput) -> RecommendResult:
    catalog = owned_game(principal, request.game_id)
    offers = list(catalog.offers)
    if not any(offer.status is GameOfferStatus.ACTIVE for offer in offers):
        return RecommendResult([], None)
    view = _player_view(request.game_id, request.player_id, request, offers)
    eligible, reasons = eligible_offers(offers, view)
    if reasons:
        logger.debug("offers not eligible", extra={"game_id": request.game_id, "reasons": reasons})
    if not eligible:
        return RecommendResult([], None)
    features = {
        offer.offer_id: OfferFeatures(offer.offer_id, offer.price_usd, tuple(offer.grants)) for offer in eligible
    }
    state = store.load_model(request.game_id)
    context = player_context(state, request.session_context, view.exposures, view.now)
    ranked = model.recommend(
        state,
        context,
        list(features.values()),
        normalize_gaps(request.inventory_gaps),
        request.max_results,
        _rng,
    )
    interaction_id = ids.new_id("oint")
    store.record_recommendation(
        request.game_id,
        request.player_id,
        [
            Exposure(
                interaction_id=interaction_id,
                offer=features[choice.offer_id],
                context=context,
                gap_match=choice.gap_match,
                shown_at=view.now,
            )
            for choice in ranked
        ],
    )
    return RecommendResult(
        [RecommendedOffer(offer_id=choice.offer_id, score=choice.score, rank=choice.rank) for choice in ranked],
        interaction_id,
    )
