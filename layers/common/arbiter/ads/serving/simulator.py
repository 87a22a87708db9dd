"""The campaign simulator: the engine's `simulate` (the same scoring /match uses) on any campaign the caller
owns, draft included, read fresh from the table (not the serving cache, which holds active campaigns only)."""

from arbiter.ads.campaigns.logic import owned_campaign
from arbiter.ads.matching import engine
from arbiter.ads.matching.models import ServingCampaign
from arbiter.ads.serving.simulator_models import (
    MOODS,
    NARRATIVE_EXAMPLES,
    CurrentAffinityOutput,
    MatchedCreativeOutput,
    SimulateInput,
    SimulationOptionsOutput,
    SimulationOutput,
    SimulationWarningOutput,
)
from arbiter.auth.models import Principal


def _serving_campaign(principal: Principal, campaign_id: str) -> ServingCampaign:
    campaign, ledger = owned_campaign(principal, campaign_id)  # 404 unknown, 403 another tenant's
    return ServingCampaign.from_items(campaign.model_dump(), ledger.model_dump())


def simulate(principal: Principal, campaign_id: str, body: SimulateInput) -> SimulationOutput:
    campaign = _serving_campaign(principal, campaign_id)
    result = engine.simulate(campaign, body.narrative_function or None, body.mood or None)
    creative = result.matched_creative
    matched = None
    if creative is not None:
        matched = MatchedCreativeOutput(
            id=creative.id, narrative_hook=creative.narrative_hook, creative_type=creative.creative_type
        )
    return SimulationOutput(
        campaign_id=result.campaign_id,
        matched_creative=matched,
        biased_pipeline=result.biased_pipeline,
        affinity_scores=result.affinity_scores,
        total_score=result.total_score,
        warnings=[SimulationWarningOutput(filter=w.filter, reason=w.reason) for w in result.warnings],
    )


def options(principal: Principal, campaign_id: str) -> SimulationOptionsOutput:
    campaign = _serving_campaign(principal, campaign_id)
    return SimulationOptionsOutput(
        moods=list(MOODS),
        narrative_examples=list(NARRATIVE_EXAMPLES),
        current_affinities=[  # creation order, as the snapshot holds them
            CurrentAffinityOutput(affinity_type=a.affinity_type, affinity_value=a.affinity_value, weight=a.weight)
            for a in campaign.affinities
        ],
    )
