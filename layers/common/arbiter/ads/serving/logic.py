"""One /match: placement check, cached candidates, the session's frequency state, the engine, a signed token.

Randomness comes from one module-level `random.Random` (the engine draws one salt per match from it); tests
install a seeded one with `set_rng` so a decision is reproducible.
"""

import random

from arbiter import clock
from arbiter.ads import tokens
from arbiter.ads.matching import engine
from arbiter.ads.matching.engine import AdMatch
from arbiter.ads.matching.models import GameContext, MatchRequest, PlayerGeo, SessionState
from arbiter.ads.placements.logic import PlacementDisabled
from arbiter.ads.serving import cache, repository
from arbiter.ads.serving.models import MatchInput, MatchOutput
from arbiter.auth.models import Principal

_rng: random.Random = random.Random()


def set_rng(rng: random.Random | None) -> None:
    """Install the RNG matches draw from (a seeded one in tests); None restores a fresh unseeded one."""
    global _rng
    _rng = rng or random.Random()


def _game_context(body: MatchInput) -> GameContext:
    context = body.game_context
    return GameContext(
        theme_id=context.theme_id,
        category=context.category,
        narrative=context.narrative,
        mood_tags=tuple(context.mood_tags),
        location=context.location,
        actions=tuple(context.actions),
    )


def _player_geo(body: MatchInput) -> PlayerGeo | None:
    geo = body.player_geo
    if geo is None:
        return None
    country = geo.country_code.upper() if geo.country_code else None
    return PlayerGeo(country, geo.state_code, geo.city_name, geo.lat, geo.lng)


def _token(principal: Principal, body: MatchInput, country: str | None, winner: AdMatch) -> str:
    claims = tokens.ImpressionClaims(
        tenant_id=principal.tenant_id,  # the developer who may redeem it at /impressions
        campaign_id=winner.campaign_id,
        creative_id=winner.creative_id,
        game_id=body.game_id,
        user_id=body.user_id,
        session_id=body.session_id,
        country_code=country,
        cpm_bid_cents=winner.cpm_bid_cents,
        affinity_score=winner.exact_affinity_score,
        # Only affinities that matched: they are what affinity analytics credit, and they keep the token short.
        contributions={c.affinity_id: round(c.contribution, 6) for c in winner.contributions if c.contribution > 0},
        expires_at=tokens.expiry_from_now(),
    )
    return tokens.issue(claims)


def match(principal: Principal, body: MatchInput) -> MatchOutput | None:
    """The best ad for this scene, or None when nothing qualifies (the route answers 204)."""
    try:
        placement = cache.active_placement(principal.tenant_id, body.game_id)  # 404 / 403 before anything else
    except PlacementDisabled:
        # The seed: disabling "stops all ad serving". A game server reads that as no ad (204: "proceed with
        # normal scene generation"), not as an error for a game it registered.
        return None
    snapshot = cache.candidates()
    # Frequency caps are per session (seed: session_id is "for per-session frequency capping"): without one
    # there is nothing to count against, and no read.
    session = SessionState()
    if body.session_id:
        ads_shown, creative_uses = repository.session_counters(body.game_id, body.session_id, body.user_id)
        session = SessionState(ad_count=ads_shown, creative_uses=creative_uses)
    player_geo = _player_geo(body)
    request = MatchRequest(
        game_id=body.game_id,
        placement=placement.serving,
        context=_game_context(body),
        now=clock.now(),
        advertiser_balances=snapshot.advertiser_balances,
        player_geo=player_geo,
        session=session,
        throttles=snapshot.throttles,
    )
    winner = engine.match(snapshot.index, request, _rng).winner
    if winner is None:
        return None
    # Counted when served, not when billed: the seed's /impressions body carries no session, so only /match can
    # count for every integration (an ad served and never shown still counts: caps err on the side of fewer ads).
    # A concurrent match of the same session that took its last slot first makes this one serve nothing.
    if body.session_id and not repository.count_served(
        body.game_id,
        body.session_id,
        body.user_id,
        winner.creative_id,
        max_ads=placement.serving.max_ads_per_session,
        max_uses=winner.max_uses_per_game,
    ):
        return None
    return MatchOutput(
        campaign_id=winner.campaign_id,
        creative_id=winner.creative_id,
        narrative_hook=winner.narrative_hook,
        creative_type=winner.creative_type,
        brand_name=winner.brand_name,
        product_name=winner.product_name,
        tagline=winner.tagline,
        tone=winner.tone,
        biased_pipeline=winner.biased_pipeline,
        affinity_score=winner.affinity_score,
        cpm_bid_cents=winner.cpm_bid_cents,
        impression_token=_token(principal, body, player_geo.country_code if player_geo else None, winner),
    )
