"""Ads eligibility filters and geo targeting (seed 001: Ad Matching, Geo Targeting, Blocklist, Placements).

The builders at the top (make_campaign, make_request, ...) are shared with the scoring and engine tests.
"""

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from arbiter.ads.matching import filters as f
from arbiter.ads.matching.filters import MatchContext
from arbiter.ads.matching.geo import PlayerLocation, geo_rejection, haversine_km
from arbiter.ads.matching.models import (
    GameContext,
    MatchRequest,
    PlayerGeo,
    ServingCampaign,
    ServingPlacement,
    SessionState,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = "2026-06-15"
STAMP = "2026-01-01T00:00:00Z"


def creative(kind="narrative_hook", hook="Primary hook", alt_hooks=(), max_uses=3, position=0, **extra) -> dict:
    return {
        "creative_type": kind,
        "brand_name": "Acme Corp",
        "product_name": "Acme Shield",
        "tagline": "Protection you can trust",
        "narrative_hook": hook,
        "alt_hooks": list(alt_hooks),
        "tone": "neutral",
        "max_uses_per_game": Decimal(max_uses),
        "created_at": STAMP,
        "position": position,
        **extra,
    }


def affinity(kind: str, value: str, weight: float = 1.0) -> dict:
    return {"affinity_type": kind, "affinity_value": value, "weight": Decimal(str(weight))}


def _children(prefix: str, docs) -> dict:
    if isinstance(docs, dict):
        return docs
    return {f"{prefix}_{i:02d}": {"created_at": STAMP, "position": i, **doc} for i, doc in enumerate(docs)}


def make_campaign(
    campaign_id: str = "camp_a",
    *,
    creatives=None,
    geo=(),
    blocklist=(),
    affinities=(),
    ledger: dict | None = None,
    **fields,
) -> ServingCampaign:
    """A campaign through the real adapter, from stored-shape items (Decimals, child maps)."""
    item = {
        "id": campaign_id,
        "tenant_id": "tenant_1",
        "advertiser_id": "adv_1",
        "status": "active",
        "cpm_bid_cents": Decimal(250),
        "budget_millicents": Decimal(1_000_000),
        "priority": Decimal(5),
        "target_categories": [],
        "target_tags": [],
        "created_at": STAMP,
        "creatives": _children(f"crt_{campaign_id}", [creative()] if creatives is None else creatives),
        "geo_targets": _children("geo", geo),
        "blocklist": _children("blk", blocklist),
        "affinities": _children("aff", affinities),
    }
    item.update(fields)
    ledger_item = {
        "campaign_id": campaign_id,
        "budget_millicents": item["budget_millicents"],
        "spent_millicents": Decimal(0),
        "spend_day": TODAY,
        "day_spent_millicents": Decimal(0),
        **(ledger or {}),
    }
    return ServingCampaign.from_items(item, ledger_item)


def make_placement(**fields) -> ServingPlacement:
    values = {"game_id": "game_1", "placement_types": frozenset({"narrative_hook", "product_mention"})}
    values.update(fields)
    return ServingPlacement(**values)


def make_context(**fields) -> GameContext:
    values = {
        "theme_id": "1",
        "category": "simulation",
        "narrative": "The president faces a difficult decision about defense spending",
        "mood_tags": ("tense", "dramatic"),
        "location": "oval_office",
        "actions": ("approve_budget", "reject_budget", "defer"),
    }
    values.update(fields)
    return GameContext(**values)


def make_request(**fields) -> MatchRequest:
    values = {
        "game_id": "game_1",
        "placement": make_placement(),
        "context": make_context(),
        "now": NOW,
        "advertiser_balances": {"adv_1": 10_000_000, "adv_2": 10_000_000},
        "player_geo": PlayerGeo(country_code="US", state_code="CA", city_name="San Francisco"),
    }
    values.update(fields)
    return MatchRequest(**values)


def check(filter_, campaign: ServingCampaign, request: MatchRequest | None = None, salt: int = 0) -> str | None:
    return filter_.check(campaign, MatchContext(request or make_request(), salt))


# --- status and schedule ---------------------------------------------------------------------------------


def test_status_passes_active_and_drops_others_with_reason():
    assert check(f.STATUS, make_campaign()) is None
    for status in ("draft", "paused"):
        assert check(f.STATUS, make_campaign(status=status)) == f"campaign status is {status}, not active"


def test_schedule_window_inclusive_and_date_only_end_covers_the_whole_day():
    assert check(f.SCHEDULE, make_campaign()) is None
    inside = make_campaign(start_date="2026-06-01T00:00:00Z", end_date="2026-06-15T12:00:00Z")
    assert check(f.SCHEDULE, inside) is None
    assert "starts at 2026-06-16" in check(f.SCHEDULE, make_campaign(start_date="2026-06-16T00:00:00Z"))
    assert "ended at 2026-06-15T11:59:59" in check(f.SCHEDULE, make_campaign(end_date="2026-06-15T11:59:59Z"))
    # A bare end date means the end of that day (UTC); a bare start date its beginning.
    assert check(f.SCHEDULE, make_campaign(start_date="2026-06-15", end_date="2026-06-15")) is None
    assert check(f.SCHEDULE, make_campaign(end_date="2026-06-14")) is not None


# --- placement blocks ------------------------------------------------------------------------------------


def test_blocked_advertiser():
    request = make_request(placement=make_placement(blocked_advertisers=frozenset({"adv_1"})))
    assert check(f.BLOCKED_ADVERTISER, make_campaign(), request) == "advertiser adv_1 is blocked by this game"
    assert check(f.BLOCKED_ADVERTISER, make_campaign(advertiser_id="adv_2"), request) is None


def test_blocked_category_is_case_and_separator_insensitive():
    request = make_request(placement=make_placement(blocked_categories=frozenset({"Sports_Betting"})))
    dropped = check(f.BLOCKED_CATEGORY, make_campaign(ad_category="sports betting"), request)
    assert dropped == "ad category 'sports betting' is blocked by this game"
    assert check(f.BLOCKED_CATEGORY, make_campaign(ad_category="finance"), request) is None
    assert check(f.BLOCKED_CATEGORY, make_campaign(), request) is None  # no ad_category: nothing to block


# --- targeting -------------------------------------------------------------------------------------------


def test_target_categories_must_contain_the_game_category_when_set():
    assert check(f.TARGET_CATEGORIES, make_campaign()) is None
    assert check(f.TARGET_CATEGORIES, make_campaign(target_categories=["Strategy", "SIMULATION"])) is None
    dropped = check(f.TARGET_CATEGORIES, make_campaign(target_categories=["strategy"]))
    assert dropped == "game category 'simulation' is not in target_categories"
    no_category = make_request(context=make_context(category=None))
    assert "'(none)'" in check(f.TARGET_CATEGORIES, make_campaign(target_categories=["strategy"]), no_category)


@pytest.mark.parametrize(
    "tags",
    [
        ["1"],  # the theme_id
        ["Dramatic"],  # a mood tag
        ["defense"],  # a narrative word
        ["defense spending"],  # a narrative phrase
        ["sports", "President"],  # any one tag is enough
    ],
)
def test_target_tags_match_theme_moods_or_narrative_words(tags):
    assert check(f.TARGET_TAGS, make_campaign(target_tags=tags)) is None


@pytest.mark.parametrize("tags", [["political"], ["defen"], ["spending defense"], ["oval_office"]])
def test_target_tags_drop_when_nothing_matches(tags):
    # Partial words, reordered phrases and the location are not context tags.
    reason = check(f.TARGET_TAGS, make_campaign(target_tags=tags))
    assert reason == "no target_tags match the context's theme, mood tags or narrative"


def test_no_target_tags_always_passes():
    assert check(f.TARGET_TAGS, make_campaign(), make_request(context=make_context(narrative=None))) is None


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"rule_type": "keyword", "value": "Defense"}, "blocklist rule blk_00: keyword 'Defense'"),
        # A phrase matches as consecutive whole words.
        (
            {"rule_type": "keyword", "value": "difficult decision"},
            "blocklist rule blk_00: keyword 'difficult decision'",
        ),
        ({"rule_type": "theme", "value": "1"}, "blocklist rule blk_00: theme '1'"),
        ({"rule_type": "category", "value": "Simulation"}, "blocklist rule blk_00: category 'Simulation'"),
        ({"rule_type": "action", "value": "approve budget"}, "blocklist rule blk_00: action 'approve budget'"),
        ({"rule_type": "game_id", "value": "game_1"}, "blocklist rule blk_00: game_id 'game_1'"),
    ],
)
def test_blocklist_rules_drop_with_the_rule_named(rule, expected):
    assert check(f.BLOCKLIST, make_campaign(blocklist=[rule])) == expected


@pytest.mark.parametrize(
    "rule",
    [
        {"rule_type": "keyword", "value": "fence"},  # whole words only: not a substring of "defense"
        {"rule_type": "keyword", "value": "violence"},
        {"rule_type": "theme", "value": "2"},
        {"rule_type": "category", "value": "strategy"},
        {"rule_type": "action", "value": "approve"},  # actions compare whole, not by word
        {"rule_type": "game_id", "value": "GAME_1"},  # ids are case-sensitive
    ],
)
def test_blocklist_rules_that_do_not_match_pass(rule):
    assert check(f.BLOCKLIST, make_campaign(blocklist=[rule])) is None


@pytest.mark.parametrize(
    ("field", "value", "keyword"),
    [
        ("mood_tags", ("calm", "violence"), "violence"),
        ("theme_id", "violence", "violence"),
        ("location", "war_zone", "war zone"),
        ("actions", ("open_fire", "defer"), "open fire"),
        ("category", "gambling", "gambling"),
    ],
)
def test_a_keyword_rule_blocks_wherever_the_scene_contains_it(field, value, keyword):
    # The seed: blocklist rules prevent matching when the game context contains the blocked value.
    request = make_request(context=make_context(narrative="A calm evening", **{field: value}))
    rule = {"rule_type": "keyword", "value": keyword}
    assert check(f.BLOCKLIST, make_campaign(blocklist=[rule]), request) == f"blocklist rule blk_00: keyword '{keyword}'"


def test_a_keyword_phrase_does_not_span_two_fields_of_the_scene():
    # "spending" ends the narrative and "tense" is a mood tag: they are not the phrase "spending tense"
    assert check(f.BLOCKLIST, make_campaign(blocklist=[{"rule_type": "keyword", "value": "spending tense"}])) is None


def test_creative_type_drops_campaign_without_an_accepted_creative():
    only_location = make_campaign(creatives=[creative("location_brand")])
    assert check(f.CREATIVE_TYPE, only_location) == "no creative of a type this placement accepts"
    assert check(f.CREATIVE_TYPE, make_campaign(creatives=[])) == "campaign has no creatives"
    mixed = make_campaign(creatives=[creative("location_brand"), creative("product_mention", position=1)])
    assert check(f.CREATIVE_TYPE, mixed) is None


# --- money and pacing ------------------------------------------------------------------------------------


def test_budget_must_cover_one_impression():
    # 250-cent CPM -> one impression costs 250 millicents.
    assert check(f.BUDGET, make_campaign(ledger={"spent_millicents": Decimal(1_000_000 - 250)})) is None
    dropped = check(f.BUDGET, make_campaign(ledger={"spent_millicents": Decimal(1_000_000 - 249)}))
    assert dropped == "remaining budget cannot cover one impression"


def test_daily_cap_counts_only_todays_spend():
    cap = {"daily_cap_millicents": Decimal(10_000)}
    assert check(f.DAILY_CAP, make_campaign()) is None  # no cap
    assert check(f.DAILY_CAP, make_campaign(**cap, ledger={"day_spent_millicents": Decimal(9_750)})) is None
    today_spent = make_campaign(**cap, ledger={"day_spent_millicents": Decimal(9_751)})
    assert check(f.DAILY_CAP, today_spent) == "today's remaining daily cap cannot cover one impression"
    # The counter is yesterday's: today nothing has been spent yet.
    yesterday = make_campaign(**cap, ledger={"day_spent_millicents": Decimal(10_000), "spend_day": "2026-06-14"})
    assert check(f.DAILY_CAP, yesterday) is None


def test_advertiser_balance_must_cover_one_impression():
    assert check(f.ADVERTISER_BALANCE, make_campaign(), make_request(advertiser_balances={"adv_1": 250})) is None
    low = make_request(advertiser_balances={"adv_1": 249})
    assert check(f.ADVERTISER_BALANCE, make_campaign(), low) == "advertiser balance cannot cover one impression"
    unknown = make_request(advertiser_balances={})
    assert check(f.ADVERTISER_BALANCE, make_campaign(), unknown) == "no balance known for advertiser adv_1"


def test_pacing_throttle_is_a_participation_probability():
    campaign = make_campaign()
    assert check(f.PACING, campaign) is None  # no throttle
    always = make_request(throttles={"camp_a": 1.0})
    never = make_request(throttles={"camp_a": 0.0})
    assert all(check(f.PACING, campaign, always, salt) is None for salt in range(200))
    assert all(check(f.PACING, campaign, never, salt) == "pacing throttle 0 skipped this match" for salt in range(200))
    # 0.3 -> roughly 30% of salts (i.e. of matches) let the campaign take part; a salt decides repeatably.
    third = make_request(throttles={"camp_a": 0.3})
    taking_part = [check(f.PACING, campaign, third, salt) is None for salt in range(2000)]
    assert 0.25 < sum(taking_part) / len(taking_part) < 0.35
    assert taking_part == [check(f.PACING, campaign, third, salt) is None for salt in range(2000)]


def test_throttle_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="within"):
        make_request(throttles={"camp_a": 1.5})


def test_frequency_counts_accepted_creatives_under_their_session_cap():
    campaign = make_campaign(
        creatives=[creative(max_uses=2), creative("location_brand", position=1, max_uses=5)],
    )
    first_id = campaign.creatives[0].id
    fresh = make_request(session=SessionState(ad_count=1, creative_uses={first_id: 1}))
    assert check(f.FREQUENCY, campaign, fresh) is None
    # The narrative_hook creative is used up; the location_brand one is not accepted by this placement.
    used_up = make_request(session=SessionState(ad_count=2, creative_uses={first_id: 2}))
    reason = check(f.FREQUENCY, campaign, used_up)
    assert reason == "every accepted creative reached its max_uses_per_game in this session"


# --- geo -------------------------------------------------------------------------------------------------


def test_haversine_known_distances():
    # One degree along a meridian is R * pi / 180 on the sphere.
    assert haversine_km(0, 0, 1, 0) == pytest.approx(6371.0088 * math.pi / 180, rel=1e-12)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088, rel=1e-12)  # antipodes
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.6, abs=1.0)  # London-Paris
    assert haversine_km(37.7749, -122.4194, 34.0522, -118.2437) == pytest.approx(559.1, abs=1.0)  # SF-LA
    assert haversine_km(40.0, 10.0, 40.0, 10.0) == 0.0
    assert haversine_km(10, 179.5, 10, -179.5) == pytest.approx(haversine_km(10, 0, 10, 1), rel=1e-9)  # dateline


def _geo(campaign: ServingCampaign, **player) -> str | None:
    return geo_rejection(campaign, PlayerLocation(PlayerGeo(**player) if player else None))


def test_include_rules_are_ored():
    campaign = make_campaign(
        geo=[
            {"target_type": "country", "country_code": "GB", "include": True},
            {"target_type": "state", "country_code": "US", "state_code": "CA", "include": True},
        ]
    )
    assert _geo(campaign, country_code="gb") is None
    assert _geo(campaign, country_code="US", state_code="ca") is None
    assert _geo(campaign, country_code="US", state_code="NY") == (
        "player location matches none of the campaign's geo include rules"
    )
    assert _geo(campaign, country_code="CA", state_code="CA") is not None  # state needs its country too


def test_city_rule_compares_normalized_names():
    campaign = make_campaign(geo=[{"target_type": "city", "country_code": "US", "city_name": "San Francisco"}])
    assert _geo(campaign, country_code="US", city_name="san_francisco") is None
    assert _geo(campaign, country_code="US", city_name="Oakland") is not None


def test_radius_rule_uses_great_circle_distance():
    campaign = make_campaign(
        geo=[{"target_type": "radius", "lat": Decimal("37.7749"), "lng": Decimal("-122.4194"), "radius_km": 50}]
    )
    assert _geo(campaign, lat=37.8044, lng=-122.2712) is None  # Oakland, ~13 km
    assert _geo(campaign, lat=34.0522, lng=-118.2437) is not None  # Los Angeles, ~559 km
    assert _geo(campaign, country_code="US") is not None  # no coordinates: the radius cannot match


def test_any_matching_exclude_wins_over_includes():
    campaign = make_campaign(
        geo=[
            {"target_type": "country", "country_code": "US", "include": True},
            {"target_type": "state", "country_code": "US", "state_code": "TX", "include": False},
        ]
    )
    assert _geo(campaign, country_code="US", state_code="CA") is None
    assert _geo(campaign, country_code="US", state_code="TX") == "player location excluded by geo rule geo_01 (state)"


def test_exclude_only_campaign_serves_everywhere_else_including_unknown_geo():
    campaign = make_campaign(geo=[{"target_type": "country", "country_code": "DE", "include": False}])
    assert _geo(campaign, country_code="DE") is not None
    assert _geo(campaign, country_code="FR") is None
    assert _geo(campaign) is None


def test_include_rules_with_unknown_player_geo_drop():
    campaign = make_campaign(geo=[{"target_type": "country", "country_code": "US"}])
    assert _geo(campaign) == "campaign has geo include rules and the player's location is unknown"
    assert check(f.GEO, campaign, make_request(player_geo=None)) is not None
    assert check(f.GEO, make_campaign(), make_request(player_geo=None)) is None  # no rules: serves anywhere
