"""Analytics and revenue endpoints (seed 001, Analytics and Revenue): shapes, owners only, errors, CSV exports."""

import csv
import io
from datetime import timedelta

import pytest

from arbiter import clock
from arbiter.ads.pacing.figures import pacing_figures
from arbiter.auth import keys
from arbiter.auth.models import Scope
from tests.ads_fixtures import campaign_item, ledger_item
from tests.reporting_fixtures import Biller, CapturingFeed, placed_game, served_campaign

STATS_FIELDS = [
    "campaign_id",
    "impressions",
    "unique_users",
    "unique_games",
    "spent_cents",
    "budget_cents",
    "effective_cpm_cents",
    "avg_affinity_score",
    "top_creative_id",
    "top_game_id",
]
PACING_SEED_FIELDS = {
    "campaign_id",
    "budget_cents",
    "spent_cents",
    "remaining_cents",
    "daily_cap_cents",
    "today_spent_cents",
    "today_remaining_cents",
    "avg_daily_spend_cents",
    "projected_exhaustion_date",
    "days_remaining",
    "pacing_status",
    "utilization_pct",
}


pytestmark = pytest.mark.usefixtures("fast_transactions")


@pytest.fixture
def developer_key(dynamodb) -> str:
    return keys.create_key("studio-dev", [Scope.ADS_DEVELOPER]).api_key


@pytest.fixture
def served(api, tenant_key, developer_key):
    """tenant-a's campaign served 8 impressions in studio-dev's my_game_id today (2 without a known country)."""
    feed = CapturingFeed()
    campaign = served_campaign(api, tenant_key, "tenant-a")
    game = placed_game(api, developer_key, "studio-dev", "my_game_id", 70)
    biller = Biller()
    today = clock.now().date().isoformat()
    for index in range(8):
        biller.charge(
            campaign,
            game,
            day=today,
            creative_id=campaign.creative_ids[0 if index < 5 else 1],
            user_id=f"player_{index % 4}",
            country_code=[None, "US", "US", "GB"][index % 4],
            affinity_score=0.8,
            contributions={campaign.affinity_ids[0]: 0.4},
        )
    assert feed.drain() == 8
    return campaign


def _csv(response) -> list[list[str]]:
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.body)))


def test_stats_has_the_seed_fields_and_figures(api, tenant_key, served):
    response = api.get(f"/api/ads/campaigns/{served.id}/stats", key=tenant_key)
    assert response.status == 200, response.body
    assert response.headers["x-ratelimit-limit"] == "60"  # the analytics class
    stats = response.json()
    assert list(stats) == STATS_FIELDS
    assert stats == {
        "campaign_id": served.id,
        "impressions": 8,
        "unique_users": 4,
        "unique_games": 1,
        "spent_cents": 2,  # 8 x 0.25
        "budget_cents": 500000,
        "effective_cpm_cents": 250,
        "avg_affinity_score": 0.8,
        "top_creative_id": served.creative_ids[0],
        "top_game_id": "my_game_id",
    }


def test_players_of_two_games_with_the_same_ids_are_counted_apart(api, tenant_key, dynamodb):
    # Given one campaign placed in two studios' games, each studio numbering its players player_0..player_4
    feed = CapturingFeed()
    campaign = served_campaign(api, tenant_key, "tenant-a")
    studios = {"game_a": keys.create_key("studio-a", [Scope.ADS_DEVELOPER]).api_key}
    studios["game_b"] = keys.create_key("studio-b", [Scope.ADS_DEVELOPER]).api_key
    for game_id, key in studios.items():
        placed_game(api, key, f"studio-{game_id[-1]}", game_id)
    scene = {"category": "simulation", "narrative": "A political briefing turns tense", "mood_tags": ["tense"]}
    # When each game's five players are each shown the ad twice (/match, then /impressions with its token)
    for game_id, key in studios.items():
        for index in range(5):
            for _ in range(2):
                match = {
                    "game_id": game_id,
                    "user_id": f"player_{index}",
                    "session_id": "sess_1",
                    "player_geo": {"country_code": "US"},
                    "game_context": scene,
                }
                served = api.post("/api/ads/match", key=key, json=match)
                assert served.status == 200, served.body
                impression = {
                    "impression_token": served.json()["impression_token"],
                    "game_id": game_id,
                    "campaign_id": campaign.id,
                    "creative_id": served.json()["creative_id"],
                }
                assert api.post("/api/ads/impressions", key=key, json=impression).status == 201
    assert feed.drain() == 20
    # Then the campaign reached ten players, not five, in every unique figure; the same player twice counts once
    stats = api.get(f"/api/ads/campaigns/{campaign.id}/stats", key=tenant_key).json()
    assert (stats["impressions"], stats["unique_users"], stats["unique_games"]) == (20, 10, 2)
    today = api.get(f"/api/ads/campaigns/{campaign.id}/analytics/daily?days=1", key=tenant_key).json()["days"][0]
    assert (today["impressions"], today["unique_users"]) == (20, 10)
    creatives = api.get(f"/api/ads/campaigns/{campaign.id}/analytics/creatives", key=tenant_key).json()["creatives"]
    assert [(row["impressions"], row["unique_users"]) for row in creatives if row["impressions"]] == [(20, 10)]
    countries = api.get(f"/api/ads/campaigns/{campaign.id}/analytics/geo", key=tenant_key).json()["countries"]
    assert [(row["country_code"], row["unique_users"]) for row in countries] == [("US", 10)]


def test_daily_lists_every_day_newest_first_with_zeros(api, tenant_key, served):
    response = api.get(f"/api/ads/campaigns/{served.id}/analytics/daily?days=7", key=tenant_key)
    assert response.status == 200, response.body
    days = response.json()["days"]
    today = clock.now().date()
    assert [day["date"] for day in days] == [(today - timedelta(days=n)).isoformat() for n in range(7)]
    assert days[0] == {
        "date": today.isoformat(),
        "impressions": 8,
        "unique_users": 4,
        "spent_cents": 2,
        "avg_affinity_score": 0.8,
    }
    assert all(day["impressions"] == 0 and day["spent_cents"] == 0 for day in days[1:])
    assert len(api.get(f"/api/ads/campaigns/{served.id}/analytics/daily", key=tenant_key).json()["days"]) == 30


def test_daily_refuses_days_out_of_range(api, tenant_key, served):
    for days in ("0", "366", "-1"):
        response = api.get(f"/api/ads/campaigns/{served.id}/analytics/daily?days={days}", key=tenant_key)
        assert response.status == 422, days
        assert "days" in response.json()["detail"]


def test_daily_as_csv(api, tenant_key, served):
    rows = _csv(api.get(f"/api/ads/campaigns/{served.id}/analytics/daily?days=2&format=csv", key=tenant_key))
    assert rows[0] == ["date", "impressions", "unique_users", "spent_cents", "avg_affinity_score"]
    assert rows[1] == [clock.now().date().isoformat(), "8", "4", "2", "0.8"]
    assert len(rows) == 3


def test_creatives_breakdown_as_json_and_csv(api, tenant_key, served):
    report = api.get(f"/api/ads/campaigns/{served.id}/analytics/creatives", key=tenant_key).json()
    assert report["campaign_id"] == served.id
    assert [(row["creative_id"], row["creative_type"], row["impressions"]) for row in report["creatives"]] == [
        (served.creative_ids[0], "narrative_hook", 5),
        (served.creative_ids[1], "product_mention", 3),
    ]
    assert report["creatives"][0]["brand_name"] == "Acme Corp"
    assert report["creatives"][0]["spent_cents"] == 1.25
    rows = _csv(api.get(f"/api/ads/campaigns/{served.id}/analytics/creatives?format=csv", key=tenant_key))
    assert rows[0] == [
        "creative_id",
        "creative_type",
        "brand_name",
        "impressions",
        "unique_users",
        "spent_cents",
        "avg_affinity_score",
    ]
    assert rows[1][:4] == [served.creative_ids[0], "narrative_hook", "Acme Corp", "5"]


def test_geo_puts_unknown_countries_under_zz(api, tenant_key, served):
    report = api.get(f"/api/ads/campaigns/{served.id}/analytics/geo", key=tenant_key).json()
    assert report["countries"] == [
        {"country_code": "US", "impressions": 4, "unique_users": 2, "spent_cents": 1},
        {"country_code": "GB", "impressions": 2, "unique_users": 1, "spent_cents": 0.5},
        {"country_code": "ZZ", "impressions": 2, "unique_users": 1, "spent_cents": 0.5},
    ]
    rows = _csv(api.get(f"/api/ads/campaigns/{served.id}/analytics/geo?format=csv", key=tenant_key))
    assert rows == [
        ["country_code", "impressions", "unique_users", "spent_cents"],
        ["US", "4", "2", "1"],
        ["GB", "2", "1", "0.5"],
        ["ZZ", "2", "1", "0.5"],
    ]


def test_affinities_effectiveness(api, tenant_key, served):
    report = api.get(f"/api/ads/campaigns/{served.id}/analytics/affinities", key=tenant_key).json()
    assert report["affinities"] == [
        {
            "affinity_id": served.affinity_ids[0],
            "affinity_type": "lighting",
            "affinity_value": "warm golden hour",
            "weight": 1.5,
            "match_rate": 1.0,
            "avg_score_contribution": 0.4,
            "impressions_influenced": 8,
        },
        {
            "affinity_id": served.affinity_ids[1],
            "affinity_type": "mood",
            "affinity_value": "tense",
            "weight": 1.2,
            "match_rate": 0.0,
            "avg_score_contribution": 0.0,
            "impressions_influenced": 0,
        },
    ]


def test_pacing_shows_the_pacing_jobs_own_figures(api, tenant_key, served):
    response = api.get(f"/api/ads/campaigns/{served.id}/analytics/pacing", key=tenant_key)
    assert response.status == 200, response.body
    pacing = response.json()
    assert set(pacing) >= PACING_SEED_FIELDS
    expected = pacing_figures(campaign_item(served.id), ledger_item(served.id), clock.now()).to_output()
    assert pacing["spent_cents"] == 2 and pacing["budget_cents"] == 500000 and pacing["remaining_cents"] == 499998
    assert {name: pacing[name] for name in ("spent_cents", "remaining_cents", "pacing_status")} == {
        name: expected.model_dump(mode="json")[name] for name in ("spent_cents", "remaining_cents", "pacing_status")
    }


ANALYTICS_PATHS = [
    "stats",
    "analytics/daily",
    "analytics/creatives",
    "analytics/geo",
    "analytics/affinities",
    "analytics/pacing",
]


def test_campaign_analytics_are_for_the_owner_only(api, tenant_key, other_tenant_key, developer_key, served):
    for path in ANALYTICS_PATHS:
        assert api.get(f"/api/ads/campaigns/{served.id}/{path}", key=other_tenant_key).status == 403, path
        assert api.get(f"/api/ads/campaigns/camp_doesnotexist/{path}", key=tenant_key).status == 404, path
        assert api.get(f"/api/ads/campaigns/{served.id}/{path}").status == 401, path
        assert api.get(f"/api/ads/campaigns/{served.id}/{path}", key="ak_wrong").status == 401, path
        refused = api.get(f"/api/ads/campaigns/{served.id}/{path}", key=developer_key)  # no advertiser scope
        assert refused.status == 403, path
        assert set(refused.json()) == {"detail"}


def test_advertiser_revenue_as_json_and_csv(api, tenant_key, served):
    report = api.get("/api/ads/revenue", key=tenant_key).json()
    assert report == {
        "total_spent_cents": 2,
        "total_impressions": 8,
        "active_campaigns": 1,
        "balance_cents": 99998,
        "campaigns": [
            {
                "campaign_id": served.id,
                "name": "Summer 2026 Launch",
                "spent_cents": 2,
                "impressions": 8,
                "status": "active",
            }
        ],
    }
    rows = _csv(api.get("/api/ads/revenue?format=csv", key=tenant_key))
    assert rows == [
        ["campaign_id", "name", "spent_cents", "impressions", "status"],
        [served.id, "Summer 2026 Launch", "2", "8", "active"],
    ]
    assert api.get("/api/ads/revenue?format=xml", key=tenant_key).status == 422


def test_revenue_needs_a_registered_advertiser_and_a_key(api, other_tenant_key, developer_key):
    assert api.get("/api/ads/revenue", key=other_tenant_key).status == 404
    assert api.get("/api/ads/revenue").status == 401
    assert api.get("/api/ads/revenue", key=developer_key).status == 403


def test_creator_revenue_totals_and_per_game(api, developer_key, served):
    total = api.get("/api/ads/creator-revenue", key=developer_key)
    assert total.status == 200, total.body
    assert total.headers["x-ratelimit-limit"] == "60"
    assert total.json() == {
        "total_earned_cents": 1.4,  # 8 x 0.175
        "total_impressions": 8,
        "games_count": 1,
        "games": [{"game_id": "my_game_id", "earned_cents": 1.4, "impressions": 8, "revenue_share_pct": 70}],
    }
    game = api.get("/api/ads/creator-revenue/my_game_id?days=2", key=developer_key).json()
    assert game == {
        "game_id": "my_game_id",
        "earned_cents": 1.4,
        "impressions": 8,
        "revenue_share_pct": 70,
        "top_advertisers": [{"advertiser_id": served.advertiser_id, "impressions": 8, "earned_cents": 1.4}],
        "daily": [
            {"date": clock.now().date().isoformat(), "impressions": 8, "earned_cents": 1.4},
            {"date": (clock.now().date() - timedelta(days=1)).isoformat(), "impressions": 0, "earned_cents": 0},
        ],
    }
    assert len(api.get("/api/ads/creator-revenue/my_game_id", key=developer_key).json()["daily"]) == 30


def test_creator_revenue_is_for_the_games_developer_only(api, developer_key, tenant_key, served):
    other_developer = keys.create_key("studio-other", [Scope.ADS_DEVELOPER]).api_key
    assert api.get("/api/ads/creator-revenue/my_game_id", key=other_developer).status == 403
    assert api.get("/api/ads/creator-revenue/no_such_game", key=developer_key).status == 404
    assert api.get("/api/ads/creator-revenue/my_game_id").status == 401
    assert api.get("/api/ads/creator-revenue").status == 401
    assert api.get("/api/ads/creator-revenue/my_game_id?days=0", key=developer_key).status == 422
    advertiser_only = keys.create_key("tenant-a", [Scope.ADS_ADVERTISER]).api_key
    assert api.get("/api/ads/creator-revenue", key=advertiser_only).status == 403
    empty = api.get("/api/ads/creator-revenue", key=other_developer).json()
    assert empty == {"total_earned_cents": 0, "total_impressions": 0, "games_count": 0, "games": []}
