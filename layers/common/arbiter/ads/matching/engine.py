"""The ads matching engine: `match` (POST /api/ads/match) and `simulate` (POST /campaigns/{id}/simulate).

Pure: snapshots and request state in, a decision out; randomness only from the injected `random.Random`
(one salt per match, see arbiter.core.randomness), so a fixed seed reproduces a decision exactly.

match: request-level gates (placement disabled, session ad cap) -> candidates from the index -> the
MATCH_FILTERS -> score = cpm_bid_cents * relevance(affinity score), priority breaking ties, then a salted
hash -> winner. Pruning stops once no remaining campaign's bid (its score's upper bound) can beat the
winner, so the indexed run picks exactly what an exhaustive run over every campaign picks.

Creative choice within the winner: among its creatives of an accepted type still under max_uses_per_game,
the one used least in this session (the earliest-created among equals); its hook rotates through
narrative_hook + alt_hooks by the creative's session use count, so consecutive matches in a session show
different creatives and hooks.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from arbiter.ads.matching.filters import (
    MATCH_FILTERS,
    SIMULATION_FILTERS,
    MatchContext,
    SimulationContext,
    eligible_creatives,
)
from arbiter.ads.matching.index import CampaignIndex
from arbiter.ads.matching.models import GameContext, MatchRequest, ServingCampaign, ServingCreative
from arbiter.ads.matching.scoring import AffinityContribution, affinity_score, explain_affinities, relevance
from arbiter.core.pipeline import Rejection, Score, run_pipeline
from arbiter.core.randomness import draw_salt


@dataclass(frozen=True, slots=True)
class AdMatch:
    """The winner: the seed's /match fields first, then what the impression token and analytics need."""

    campaign_id: str
    creative_id: str
    narrative_hook: str | None  # the rotated hook
    creative_type: str
    max_uses_per_game: int  # the creative's per-session cap, for the caller's count of this serving
    brand_name: str
    product_name: str | None
    tagline: str | None
    tone: str
    biased_pipeline: dict[str, str]
    affinity_score: float  # rounded to 2 decimals, as the seed shows
    cpm_bid_cents: int
    exact_affinity_score: float
    relevance: float
    rank_value: float
    priority: int
    hook_index: int | None  # position in narrative_hook + alt_hooks, None when the creative has no hooks
    tenant_id: str
    advertiser_id: str
    contributions: tuple[AffinityContribution, ...]


@dataclass(frozen=True, slots=True)
class RankedCampaign:
    campaign_id: str
    rank_value: float
    priority: int
    affinity_score: float


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    winner: AdMatch | None
    ranking: tuple[RankedCampaign, ...]  # every eligible campaign evaluated, best first
    rejections: dict[str, tuple[Rejection, ...]]  # campaign_id -> why it did not win (filters or arbitration)
    blocked_reason: str | None = None  # a request-level reason nothing was evaluated
    candidates: int = 0  # campaigns considered: the index's answer, or the whole snapshot when exhaustive
    evaluated: int = 0  # campaigns that went through the filters (the rest were pruned by bid)


def _campaign_id(campaign: ServingCampaign) -> str:
    return campaign.id


def _bid_ceiling(campaign: ServingCampaign) -> float:
    return float(campaign.cpm_bid_cents)  # relevance <= 1, so bid * relevance <= bid


def score_campaign(campaign: ServingCampaign, ctx: MatchContext | SimulationContext) -> Score:
    score = affinity_score(campaign, ctx.scoring)
    return Score(value=campaign.cpm_bid_cents * relevance(score), priority=campaign.priority, details=score)


def choose_creative(
    campaign: ServingCampaign, placement_types: frozenset[str] | None, creative_uses: Mapping[str, int]
) -> tuple[ServingCreative, str | None, int | None] | None:
    """(creative, rotated hook, hook index), or None when no creative is eligible."""
    candidates = eligible_creatives(campaign, placement_types, creative_uses)
    if not candidates:
        return None
    creative = min(candidates, key=lambda c: creative_uses.get(c.id, 0))  # min keeps the earliest among equals
    hooks = creative.hooks
    if not hooks:
        return creative, None, None
    index = creative_uses.get(creative.id, 0) % len(hooks)
    return creative, hooks[index], index


def match(
    index: CampaignIndex,
    request: MatchRequest,
    rng: random.Random,
    *,
    strategy: Literal["indexed", "exhaustive"] = "indexed",
    explain: bool = False,
) -> MatchOutcome:
    """Pick the best ad. explain=True evaluates every campaign in the snapshot with every filter, so each
    loser carries all of its drop reasons (debug traces); it implies the exhaustive strategy."""
    salt = draw_salt(rng)  # drawn first, always: the RNG stream advances the same way for every request
    placement = request.placement
    if not placement.is_active:
        return MatchOutcome(winner=None, ranking=(), rejections={}, blocked_reason="ad placements are disabled")
    if request.session.ad_count >= placement.max_ads_per_session:
        reason = f"session reached max_ads_per_session ({placement.max_ads_per_session})"
        return MatchOutcome(winner=None, ranking=(), rejections={}, blocked_reason=reason)

    ctx = MatchContext(request, salt)
    if explain or strategy == "exhaustive":
        candidates, total, bound = iter(index.campaigns), len(index.campaigns), None
    else:
        mask = index.candidate_mask(
            category=ctx.terms.category,
            placement_types=ctx.placement_types,
            country=ctx.player.country,
            blocked_advertisers=placement.blocked_advertisers,
            blocked_categories=placement.blocked_categories,
        )
        candidates, total, bound = index.iter_mask(mask), mask.bit_count(), _bid_ceiling

    result = run_pipeline(
        candidates,
        ctx,
        key=_campaign_id,
        filters=MATCH_FILTERS,
        scorer=score_campaign,
        limit=1,
        tie_salt=salt,
        upper_bound=bound,
        collect_all_reasons=explain,
    )
    ranked = result.selected + result.outranked
    ranking = tuple(
        RankedCampaign(item.key, item.score.value, item.score.priority, item.score.details) for item in ranked
    )
    rejections = dict(result.rejections)
    if not result.selected:
        return MatchOutcome(None, ranking, rejections, candidates=total, evaluated=result.evaluated)

    top = result.selected[0]
    for loser in result.outranked:
        rejections[loser.key] = (
            Rejection(
                "arbitration",
                f"outranked by {top.key}: rank value {loser.score.value:.2f} vs {top.score.value:.2f}, "
                f"priority {loser.score.priority} vs {top.score.priority}",
            ),
        )
    winner = _build_winner(top.candidate, top.score, ctx)
    return MatchOutcome(winner, ranking, rejections, candidates=total, evaluated=result.evaluated)


def _build_winner(campaign: ServingCampaign, score: Score, ctx: MatchContext) -> AdMatch:
    breakdown = explain_affinities(campaign, ctx.scoring)
    choice = choose_creative(campaign, ctx.placement_types, ctx.creative_uses)
    if choice is None:  # the creative_type and frequency filters guarantee one; reaching here is a bug
        raise RuntimeError(f"winning campaign {campaign.id} has no eligible creative")
    creative, hook, hook_index = choice
    return AdMatch(
        campaign_id=campaign.id,
        creative_id=creative.id,
        narrative_hook=hook,
        creative_type=creative.creative_type,
        max_uses_per_game=creative.max_uses_per_game,
        brand_name=creative.brand_name,
        product_name=creative.product_name,
        tagline=creative.tagline,
        tone=creative.tone,
        biased_pipeline=breakdown.biased_pipeline,
        affinity_score=round(breakdown.score, 2),
        cpm_bid_cents=campaign.cpm_bid_cents,
        exact_affinity_score=breakdown.score,
        relevance=relevance(breakdown.score),
        rank_value=score.value,
        priority=campaign.priority,
        hook_index=hook_index,
        tenant_id=campaign.tenant_id,
        advertiser_id=campaign.advertiser_id,
        contributions=breakdown.contributions,
    )


@dataclass(frozen=True, slots=True)
class SimulatedCreative:
    id: str
    narrative_hook: str | None
    creative_type: str


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """The seed's simulate fields plus the exact score, contributions and context warnings."""

    campaign_id: str
    matched_creative: SimulatedCreative | None  # None when the campaign has no creatives yet
    biased_pipeline: dict[str, str]
    affinity_scores: dict[str, float]  # context affinity type -> weighted match fraction, rounded to 2
    total_score: float  # the affinity score /match would compute, rounded to 2
    exact_total_score: float
    contributions: tuple[AffinityContribution, ...]
    warnings: tuple[Rejection, ...]  # target_tags / blocklist rules this context would trip at /match


def simulate(campaign: ServingCampaign, narrative_function: str | None, mood: str | None) -> SimulationResult:
    """Preview a campaign (any status: serving-state filters are skipped) against a narrative and a mood,
    with the same scoring and creative choice /match uses."""
    ctx = SimulationContext(GameContext(narrative=narrative_function, mood_tags=(mood,) if mood else ()))
    breakdown = explain_affinities(campaign, ctx.scoring)
    warnings = tuple(
        Rejection(check.name, reason)
        for check in SIMULATION_FILTERS
        if (reason := check.check(campaign, ctx)) is not None
    )
    choice = choose_creative(campaign, None, {})
    matched = None
    if choice is not None:
        creative, hook, _ = choice
        matched = SimulatedCreative(creative.id, hook, creative.creative_type)
    return SimulationResult(
        campaign_id=campaign.id,
        matched_creative=matched,
        biased_pipeline=breakdown.biased_pipeline,
        affinity_scores={kind: round(value, 2) for kind, value in breakdown.per_type.items()},
        total_score=round(breakdown.score, 2),
        exact_total_score=breakdown.score,
        contributions=breakdown.contributions,
        warnings=warnings,
    )
