"""The matching engine: arbitration, creative rotation, simulate parity, index equivalence, the generic core."""

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from arbiter.ads.matching.engine import match, simulate
from arbiter.ads.matching.filters import MATCH_FILTERS
from arbiter.ads.matching.index import CampaignIndex
from arbiter.ads.matching.models import GameContext, PlayerGeo, ServingCampaign, SessionState
from arbiter.ads.matching.scoring import ScoringContext, affinity_score
from arbiter.core.pipeline import EligibilityFilter, Score, run_pipeline
from arbiter.core.text import normalize
from benchmarks.worlds import build_world, random_request
from tests.test_matching_filters import (
    affinity,
    creative,
    make_campaign,
    make_context,
    make_placement,
    make_request,
)

INDEXED_FILTERS = {"status", "target_categories", "creative_type", "geo", "blocked_advertiser", "blocked_category"}


def run(campaigns, request=None, seed=1, **options):
    return match(CampaignIndex(campaigns), request or make_request(), random.Random(seed), **options)


# --- ranking ---------------------------------------------------------------------------------------------


def test_rank_is_bid_times_relevance():
    # A: 400 x relevance(0) = 400 x 0.25 = 100.  B: 200 x relevance(1) = 200.
    unmatched = make_campaign("camp_a", cpm_bid_cents=400, affinities=[affinity("mood", "calm")])
    matched = make_campaign("camp_b", cpm_bid_cents=200, affinities=[affinity("mood", "tense")])
    outcome = run([unmatched, matched])
    assert outcome.winner.campaign_id == "camp_b"
    assert [(r.campaign_id, r.rank_value) for r in outcome.ranking] == [("camp_b", 200.0), ("camp_a", 100.0)]
    assert outcome.rejections["camp_a"][0].filter == "arbitration"
    assert "outranked by camp_b" in outcome.rejections["camp_a"][0].reason
    # A high enough bid still buys the slot: 1000 x 0.25 = 250 > 200.
    rich = make_campaign("camp_a", cpm_bid_cents=1000, affinities=[affinity("mood", "calm")])
    assert run([rich, matched]).winner.campaign_id == "camp_a"


def test_priority_breaks_equal_rank_values():
    low = make_campaign("camp_a", priority=3)
    high = make_campaign("camp_z", priority=7)
    for seed in range(20):
        assert run([low, high], seed=seed).winner.campaign_id == "camp_z"


@pytest.mark.parametrize("affinities", [[], [affinity("mood", "tense")]])
def test_exact_ties_are_deterministic_per_seed_and_fair_across_seeds(affinities):
    # With a perfect match the rank value equals the bid, the pruning bound: a tie must not be pruned.
    twins = [make_campaign(f"camp_{i}", affinities=affinities) for i in range(3)]
    winners = [run(twins, seed=seed).winner.campaign_id for seed in range(300)]
    assert winners == [run(twins, seed=seed).winner.campaign_id for seed in range(300)]
    counts = {cid: winners.count(cid) for cid in ("camp_0", "camp_1", "camp_2")}
    assert all(60 < count < 140 for count in counts.values()), counts


def test_a_fixed_seed_reproduces_a_whole_decision():
    world = build_world(21, 200, serving_noise=True)
    index = CampaignIndex(world.campaigns)
    requests = [random_request(random.Random(i), world, serving_noise=True) for i in range(30)]
    first = [match(index, request, random.Random(99), explain=True) for request in requests]
    second = [match(index, request, random.Random(99), explain=True) for request in requests]
    assert first == second


def test_winner_carries_the_seed_match_fields():
    campaign = make_campaign(
        cpm_bid_cents=Decimal(250),
        affinities=[
            affinity("lighting", "warm golden hour", 1.5),
            affinity("mood", "tense", 1.2),
            affinity("camera", "close-up", 0.8),
            affinity("effects", "film grain, cinematic widescreen", 1.0),
            affinity("location", "situation room", 0.5),
        ],
    )
    winner = run([campaign]).winner
    assert winner.campaign_id == "camp_a"
    assert winner.creative_id == campaign.creatives[0].id
    assert (winner.narrative_hook, winner.creative_type, winner.tone) == ("Primary hook", "narrative_hook", "neutral")
    assert (winner.brand_name, winner.product_name, winner.tagline) == (
        "Acme Corp",
        "Acme Shield",
        "Protection you can trust",
    )
    assert winner.biased_pipeline == {
        "lighting": "warm golden hour",
        "effects": "film grain, cinematic widescreen",
        "camera": "close-up",
        "mood": "tense",
    }
    # mood "tense" matches; location "situation room" shares no word with oval_office -> 1.2 / (1.2 + 0.5)
    assert winner.exact_affinity_score == pytest.approx(1.2 / 1.7)
    assert winner.affinity_score == 0.71
    assert winner.cpm_bid_cents == 250
    assert len(winner.contributions) == 5
    assert winner.advertiser_id == "adv_1" and winner.tenant_id == "tenant_1"


# --- creatives and rotation ------------------------------------------------------------------------------


def test_hooks_rotate_by_session_use_and_creatives_alternate():
    campaign = make_campaign(
        creatives=[
            creative(hook="A0", alt_hooks=["A1", "A2"], max_uses=3),
            creative("product_mention", hook=None, alt_hooks=["B0", "B1"], max_uses=2, position=1),
            creative("location_brand", hook="never: type not accepted", position=2),
        ]
    )
    uses: dict[str, int] = {}
    served = []
    for ad_count in range(10):
        outcome = run([campaign], make_request(session=SessionState(ad_count=ad_count, creative_uses=dict(uses))))
        if outcome.winner is None:
            assert outcome.rejections["camp_a"][0].filter == "frequency"
            break
        served.append(outcome.winner.narrative_hook)
        uses[outcome.winner.creative_id] = uses.get(outcome.winner.creative_id, 0) + 1
    # Least-used creative first (earliest among equals); each creative's hook advances with its use count.
    assert served == ["A0", "B0", "A1", "B1", "A2"]


def test_creative_without_hooks_has_none():
    campaign = make_campaign(creatives=[creative("product_mention", hook=None)])
    winner = run([campaign]).winner
    assert winner.narrative_hook is None and winner.hook_index is None


def test_session_ad_cap_and_disabled_placement_stop_the_match():
    campaign = make_campaign()
    capped = run([campaign], make_request(placement=make_placement(max_ads_per_session=2), session=SessionState(2)))
    assert capped.winner is None
    assert capped.blocked_reason == "session reached max_ads_per_session (2)"
    below = run([campaign], make_request(placement=make_placement(max_ads_per_session=2), session=SessionState(1)))
    assert below.winner is not None
    disabled = run([campaign], make_request(placement=make_placement(is_active=False)))
    assert disabled.winner is None and disabled.blocked_reason == "ad placements are disabled"


def test_no_eligible_campaign_gives_no_winner_and_every_reason():
    campaigns = [
        make_campaign("camp_a", status="paused"),
        make_campaign("camp_b", target_categories=["racing"], blocklist=[{"rule_type": "keyword", "value": "defense"}]),
    ]
    outcome = run(campaigns, explain=True)
    assert outcome.winner is None and outcome.ranking == ()
    assert [r.filter for r in outcome.rejections["camp_a"]] == ["status"]
    assert [r.filter for r in outcome.rejections["camp_b"]] == ["target_categories", "blocklist"]


# --- simulate --------------------------------------------------------------------------------------------


def test_simulate_matches_the_seed_shape_on_a_draft_campaign():
    campaign = make_campaign(
        status="draft",
        ledger={"spent_millicents": Decimal(1_000_000)},  # no budget left: irrelevant to a preview
        affinities=[
            affinity("lighting", "warm golden hour", 1.5),
            affinity("mood", "tense", 1.2),
            affinity("camera", "close-up", 0.8),
            affinity("action", "review documents", 1.0),
        ],
    )
    result = simulate(campaign, "The president reviews classified documents in the Oval Office", "tense")
    assert result.campaign_id == "camp_a"
    assert result.matched_creative.id == campaign.creatives[0].id
    assert result.matched_creative.narrative_hook == "Primary hook"
    assert result.biased_pipeline == {"lighting": "warm golden hour", "camera": "close-up", "mood": "tense"}
    # The narrative stands for the scene's action: "review documents" shares "documents" with it (words are not
    # stemmed: "review" is not "reviews") -> 0.5, so (1.2 x 1 + 1.0 x 0.5) / 2.2.
    assert result.affinity_scores == {"action": 0.5, "mood": 1.0}
    assert result.total_score == round((1.2 + 0.5) / 2.2, 2)
    assert result.warnings == ()


def test_simulate_reports_context_rules_it_would_trip():
    campaign = make_campaign(
        target_tags=["sports"], blocklist=[{"rule_type": "keyword", "value": "classified documents"}]
    )
    result = simulate(campaign, "The president reviews classified documents", None)
    assert [w.filter for w in result.warnings] == ["target_tags", "blocklist"]
    assert "mood" not in result.biased_pipeline


def test_simulate_without_creatives_or_affinities():
    result = simulate(make_campaign(creatives=[]), None, None)
    assert result.matched_creative is None
    assert result.total_score == 0.5 and result.affinity_scores == {} and result.biased_pipeline == {}


def test_simulate_uses_the_match_scoring():
    world = build_world(8, 120)
    rng = random.Random(4)
    for campaign in world.campaigns:
        narrative = " ".join(rng.sample(["tense", "oval", "office", "defense", "approve", "budget", "calm"], 3))
        mood = rng.choice(["tense", "calm", None])
        simulated = simulate(campaign, narrative, mood)
        # The scene a simulated narrative stands for: it names the theme, location, category and action too
        context = GameContext(
            narrative=narrative,
            mood_tags=(mood,) if mood else (),
            theme_id=narrative,
            location=narrative,
            category=narrative,
            actions=(narrative,),
        )
        assert simulated.exact_total_score == affinity_score(campaign, ScoringContext(context))
        # The same campaign winning a live match in that context reports the same numbers and bias.
        serving = ServingCampaign.from_items(
            {
                "id": campaign.id,
                "advertiser_id": "adv_1",
                "status": "active",
                "cpm_bid_cents": campaign.cpm_bid_cents,
                "budget_millicents": 10**9,
                "creatives": {c.id: {"creative_type": "narrative_hook", "brand_name": "b"} for c in campaign.creatives},
                "affinities": {
                    a.id: {"affinity_type": a.affinity_type, "affinity_value": a.affinity_value, "weight": a.weight}
                    for a in campaign.affinities
                },
            },
            None,
        )
        request = make_request(context=context, player_geo=None)
        winner = match(CampaignIndex([serving]), request, random.Random(0)).winner
        assert winner.exact_affinity_score == simulated.exact_total_score
        assert winner.affinity_score == simulated.total_score
        assert winner.biased_pipeline == simulated.biased_pipeline


# --- index equivalence -----------------------------------------------------------------------------------


@pytest.mark.parametrize("world_seed", [1, 2, 3, 4, 5])
def test_indexed_match_equals_brute_force_on_random_worlds(world_seed):
    world = build_world(world_seed, 150, serving_noise=True)
    index = CampaignIndex(world.campaigns)
    request_rng = random.Random(world_seed * 31)
    winners = 0
    for match_seed in range(60):
        request = random_request(request_rng, world, serving_noise=True)
        indexed = match(index, request, random.Random(match_seed))
        exhaustive = match(index, request, random.Random(match_seed), strategy="exhaustive")
        explained = match(index, request, random.Random(match_seed), explain=True)
        assert indexed.winner == exhaustive.winner == explained.winner
        assert exhaustive.ranking == explained.ranking
        winners += indexed.winner is not None
        # Every campaign the index evaluated and dropped is dropped for the same first reason exhaustively.
        for campaign_id, reasons in indexed.rejections.items():
            if reasons[0].filter != "arbitration":
                assert exhaustive.rejections[campaign_id] == reasons
        # Every campaign the index leaves out fails a filter the index covers.
        mask = index.candidate_mask(
            category=normalize(request.context.category),
            placement_types=request.placement.placement_types,
            country=request.player_geo.country_code if request.player_geo else None,
            blocked_advertisers=request.placement.blocked_advertisers,
            blocked_categories=request.placement.blocked_categories,
        )
        assert mask.bit_count() == indexed.candidates
        returned = {c.id for c in index.iter_mask(mask)}
        for campaign in world.campaigns:
            if campaign.id not in returned:
                reasons = explained.rejections[campaign.id]
                assert {r.filter for r in reasons} & INDEXED_FILTERS, (campaign.id, reasons)
        # Explain accounts for every campaign in the snapshot.
        assert set(explained.rejections) | {r.campaign_id for r in explained.ranking} == {c.id for c in world.campaigns}
    assert winners > 10  # the worlds are not so hostile that nothing ever serves


def test_index_returns_only_active_campaigns_of_the_right_category_type_and_country():
    campaigns = [
        make_campaign(
            "camp_ok", target_categories=["simulation"], geo=[{"target_type": "country", "country_code": "US"}]
        ),
        make_campaign("camp_paused", status="paused"),
        make_campaign("camp_racing", target_categories=["racing"]),
        make_campaign("camp_location", creatives=[creative("location_brand")]),
        make_campaign("camp_gb", geo=[{"target_type": "country", "country_code": "GB"}]),
        make_campaign("camp_radius", geo=[{"target_type": "radius", "lat": 51.5, "lng": 0, "radius_km": 10}]),
        make_campaign("camp_blocked", advertiser_id="adv_9"),
    ]
    index = CampaignIndex(campaigns)
    mask = index.candidate_mask(
        category="simulation",
        placement_types={"narrative_hook"},
        country="US",
        blocked_advertisers={"adv_9"},
    )
    assert {c.id for c in index.iter_mask(mask)} == {"camp_ok", "camp_radius"}


def test_pruning_stops_once_no_bid_can_win():
    campaigns = [make_campaign(f"camp_{bid}", cpm_bid_cents=bid) for bid in (100, 150, 900, 1000)]
    # No affinities: every relevance is 0.625. camp_1000 scores 625; camp_900 could (bid 900 >= 625) so it is
    # evaluated (562.5); a bid of 150 can never reach 625, so the run stops there.
    outcome = run(campaigns)
    assert outcome.winner.campaign_id == "camp_1000"
    assert outcome.candidates == 4 and outcome.evaluated == 2


# --- adapter ---------------------------------------------------------------------------------------------


def test_from_items_reads_stored_items():
    campaign = make_campaign(
        geo=[{"target_type": "radius", "lat": Decimal("37.5"), "lng": Decimal("-122.25"), "radius_km": Decimal(50)}],
        affinities=[affinity("mood", "tense", 1.5)],
        daily_cap_millicents=Decimal(5000),
        target_categories=["Simulation_Games"],
        ledger={"budget_millicents": Decimal(2_000_000), "spent_millicents": Decimal(300)},
    )
    assert campaign.budget_millicents == 2_000_000  # the ledger's copy
    assert campaign.spent_millicents == 300
    assert campaign.daily_cap_millicents == 5000 and isinstance(campaign.cpm_bid_cents, int)
    assert campaign.geo_rules[0].lat == 37.5 and isinstance(campaign.geo_rules[0].radius_km, float)
    assert campaign.affinities[0].weight == 1.5
    assert campaign.target_categories == frozenset({"simulation games"})
    without_ledger = ServingCampaign.from_items({"id": "c", "cpm_bid_cents": 100, "budget_millicents": 5}, None)
    assert (without_ledger.spent_millicents, without_ledger.status, without_ledger.creatives) == (0, "draft", ())


def test_children_keep_creation_order():
    campaign = make_campaign(
        creatives={
            "crt_b": {**creative(hook="second"), "created_at": "2026-01-02T00:00:00Z", "position": 0},
            "crt_a": {**creative(hook="third"), "created_at": "2026-01-02T00:00:00Z", "position": 1},
            "crt_c": {**creative(hook="first"), "created_at": "2026-01-01T00:00:00Z", "position": 5},
        }
    )
    assert [c.id for c in campaign.creatives] == ["crt_c", "crt_b", "crt_a"]


def test_request_requires_an_aware_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        make_request(now=datetime(2026, 6, 15))
    assert make_request(now=datetime(2026, 6, 15, tzinfo=UTC)).now.tzinfo is UTC


def test_player_geo_codes_compare_case_insensitively():
    campaign = make_campaign(geo=[{"target_type": "country", "country_code": "us"}])
    assert run([campaign], make_request(player_geo=PlayerGeo(country_code="Us"))).winner is not None


# --- the generic core ------------------------------------------------------------------------------------


def _numbers_pipeline(numbers, **options):
    odd = EligibilityFilter("odd", lambda n, ctx: None if n % 2 else "even")
    small = EligibilityFilter("small", lambda n, ctx: None if n < ctx else "too big")
    return run_pipeline(
        numbers, 50, key=str, filters=[odd, small], scorer=lambda n, ctx: Score(float(n), priority=0), **options
    )


def test_core_collects_every_reason_only_when_asked():
    fast = _numbers_pipeline([52, 7], limit=1)
    assert [(r.filter, r.reason) for r in fast.rejections["52"]] == [("odd", "even")]
    full = _numbers_pipeline([52, 7], collect_all_reasons=True)
    assert [r.filter for r in full.rejections["52"]] == ["odd", "small"]
    assert [item.key for item in full.selected] == ["7"]


def test_core_top_k_with_pruning_equals_without():
    numbers = list(range(199, -1, -1))
    pruned = _numbers_pipeline(numbers, limit=3, upper_bound=float)
    plain = _numbers_pipeline(numbers, limit=3)
    assert [i.key for i in pruned.selected] == [i.key for i in plain.selected] == ["49", "47", "45"]
    assert pruned.stopped_early and pruned.evaluated < plain.evaluated


def test_core_refuses_unordered_candidates_when_pruning():
    with pytest.raises(ValueError, match="non-increasing"):
        _numbers_pipeline([1, 3], upper_bound=float)
    with pytest.raises(ValueError, match="limit"):
        _numbers_pipeline([1], limit=0)


def test_match_filters_have_unique_names():
    names = [f.name for f in MATCH_FILTERS]
    assert len(names) == len(set(names)) == 14


def test_contexts_without_optional_fields_still_match():
    request = make_request(context=GameContext(), player_geo=None)
    assert run([make_campaign()], request).winner.biased_pipeline == {}
    assert run([make_campaign(target_categories=["simulation"])], request).winner is None
    assert make_context().mood_tags == ("tense", "dramatic")
