"""Seeded random ad worlds: stored-shape campaign/ledger items, placements and match requests.

Used by the match-engine benchmark and by the index-equivalence tests. Items have the DynamoDB shape of
docs/decisions.md D5 (numbers as Decimal, children as maps keyed by id), so every campaign goes through
ServingCampaign.from_items exactly as served campaigns will.
"""

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from arbiter.ads.matching.models import (
    GameContext,
    MatchRequest,
    PlayerGeo,
    ServingCampaign,
    ServingPlacement,
    SessionState,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date().isoformat()

CATEGORIES = [
    "simulation", "strategy", "rpg", "adventure", "puzzle", "racing",
    "sports", "horror", "shooter", "casual", "survival", "sandbox",
]  # fmt: skip
CREATIVE_TYPES = ["narrative_hook", "product_mention", "location_brand", "character_reference"]
MOODS = ["tense", "hopeful", "dramatic", "calm", "chaotic", "mysterious", "humorous", "melancholic"]
THEMES = [f"theme_{i}" for i in range(20)]
LOCATIONS = [
    "oval_office", "pentagon", "war room", "small town", "city hall", "harbor", "space station",
    "forest camp", "desert outpost", "castle keep", "night market", "race track", "stadium", "lab",
]  # fmt: skip
ACTIONS = [
    "approve_budget", "reject_budget", "defer", "negotiate", "attack", "retreat", "trade", "explore",
    "build", "repair", "hire_advisor", "give_speech", "investigate", "bribe", "sprint", "craft",
]  # fmt: skip
TAGS = [
    "political", "military", "defense", "economy", "election", "space", "magic", "crime", "sports",
    "racing", "food", "travel", "technology", "family", "history", "science", "music", "ocean",
]  # fmt: skip
KEYWORDS = ["violence", "gambling", "alcohol", "blood", "war", "drugs", "scandal", "explosion"]
LIGHTING = ["warm golden hour", "cold neon", "soft overcast", "harsh noon", "candlelight"]
EFFECTS = ["film grain, cinematic widescreen", "lens flare", "bloom", "vignette"]
CAMERA = ["close-up", "wide establishing", "over the shoulder", "dutch angle"]
AD_CATEGORIES = ["gambling", "alcohol", "finance", "food", "tech", "auto", "fashion", None, None, None]
FILLER = ["the", "president", "faces", "a", "difficult", "decision", "about", "spending", "tonight", "crowd"]

# (country, weight, states, cities, (lat, lng))
COUNTRIES = [
    ("US", 30, ["CA", "NY", "TX", "FL", "WA"], ["San Francisco", "New York", "Austin"], (39.8, -98.6)),
    ("GB", 8, ["ENG", "SCT"], ["London", "Manchester"], (53.0, -1.5)),
    ("DE", 7, ["BY", "BE"], ["Berlin", "Munich"], (51.2, 10.4)),
    ("FR", 6, ["IDF"], ["Paris", "Lyon"], (46.6, 2.2)),
    ("CA", 5, ["ON", "QC", "BC"], ["Toronto", "Montreal"], (56.1, -106.3)),
    ("JP", 6, ["13"], ["Tokyo", "Osaka"], (36.2, 138.3)),
    ("BR", 5, ["SP", "RJ"], ["Sao Paulo"], (-14.2, -51.9)),
    ("IN", 5, ["MH", "KA"], ["Mumbai", "Bangalore"], (20.6, 79.0)),
    ("AU", 3, ["NSW", "VIC"], ["Sydney"], (-25.3, 133.8)),
    ("MX", 3, ["CMX"], ["Mexico City"], (23.6, -102.6)),
] + [(code, 1, [], [], (0.0, 0.0)) for code in ("ES", "IT", "NL", "SE", "PL", "KR", "AR", "ZA", "NG", "EG")]


def _weighted_country(rng: random.Random) -> tuple:
    return rng.choices(COUNTRIES, weights=[c[1] for c in COUNTRIES])[0]


def _bid(rng: random.Random) -> int:
    # CPM bids cluster around a few dollars with a long tail, inside the seed's 100..10000 range.
    return max(100, min(10_000, round(rng.lognormvariate(math.log(300), 0.8))))


def _geo_targets(rng: random.Random) -> dict:
    targets: dict[str, dict] = {}
    roll = rng.random()
    position = 0

    def add(doc: dict) -> None:
        nonlocal position
        targets[f"geo_{position:03d}"] = {**doc, "created_at": "2026-01-01T00:00:00Z", "position": position}
        position += 1

    if roll < 0.45:
        for country in rng.sample(COUNTRIES, rng.randint(1, 3)):
            add({"target_type": "country", "country_code": country[0], "include": True})
    elif roll < 0.55:
        country = _weighted_country(rng)
        if country[2]:
            add(
                {
                    "target_type": "state",
                    "country_code": country[0],
                    "state_code": rng.choice(country[2]),
                    "include": True,
                }
            )
        if country[3]:
            add(
                {
                    "target_type": "city",
                    "country_code": country[0],
                    "city_name": rng.choice(country[3]),
                    "include": True,
                }
            )
        if not targets:
            add({"target_type": "country", "country_code": country[0], "include": True})
    elif roll < 0.65:
        lat, lng = _weighted_country(rng)[4]
        add(
            {
                "target_type": "radius",
                "lat": Decimal(str(round(lat + rng.uniform(-5, 5), 4))),
                "lng": Decimal(str(round(lng + rng.uniform(-5, 5), 4))),
                "radius_km": Decimal(rng.choice([50, 200, 800, 2000])),
                "include": True,
            }
        )
    if rng.random() < 0.15:  # some campaigns exclude a country, with or without includes
        add({"target_type": "country", "country_code": _weighted_country(rng)[0], "include": False})
    return targets


def _affinities(rng: random.Random) -> dict:
    pools = {
        "action": ACTIONS,
        "location": LOCATIONS,
        "theme": THEMES,
        "mood": MOODS,
        "category": CATEGORIES,
        "lighting": LIGHTING,
        "effects": EFFECTS,
        "camera": CAMERA,
    }
    affinities = {}
    for position in range(rng.randint(0, 8)):
        affinity_type = rng.choice(list(pools))
        value = rng.choice(pools[affinity_type])
        if affinity_type == "action" and rng.random() < 0.3:
            value = value.split("_")[-1]  # a partial word to exercise token overlap
        affinities[f"aff_{position:03d}"] = {
            "affinity_type": affinity_type,
            "affinity_value": value,
            "weight": Decimal(str(rng.choice([0.1, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0]))),
            "created_at": "2026-01-01T00:00:00Z",
            "position": position,
        }
    return affinities


def _creatives(rng: random.Random, campaign_number: int) -> dict:
    creatives = {}
    for position in range(rng.choice([1, 1, 2, 3])):
        creatives[f"crt_{campaign_number:05d}_{position}"] = {
            "creative_type": rng.choices(CREATIVE_TYPES, weights=[5, 3, 1, 1])[0],
            "brand_name": f"Brand {campaign_number}",
            "product_name": f"Product {position}",
            "tagline": "Tagline",
            "narrative_hook": f"Hook {campaign_number}.{position}",
            "alt_hooks": [f"Alt {campaign_number}.{position}.{i}" for i in range(rng.randint(0, 2))],
            "tone": rng.choice(["positive", "neutral", "humorous", "dramatic"]),
            "max_uses_per_game": Decimal(rng.randint(1, 5)),
            "created_at": "2026-01-01T00:00:00Z",
            "position": position,
        }
    return creatives


def _blocklist(rng: random.Random) -> dict:
    rules = {}
    for position in range(rng.choice([0, 0, 0, 1, 2, 3])):
        rule_type = rng.choices(["keyword", "theme", "category", "action", "game_id"], weights=[5, 1, 1, 1, 1])[0]
        value = {
            "keyword": lambda: rng.choice(KEYWORDS),
            "theme": lambda: rng.choice(THEMES),
            "category": lambda: rng.choice(CATEGORIES),
            "action": lambda: rng.choice(ACTIONS),
            "game_id": lambda: f"game_{rng.randint(0, 9)}",
        }[rule_type]()
        rules[f"blk_{position:03d}"] = {
            "rule_type": rule_type,
            "value": value,
            "created_at": "2026-01-01T00:00:00Z",
            "position": position,
        }
    return rules


def campaign_items(rng: random.Random, number: int, *, serving_noise: bool) -> tuple[dict, dict]:
    """One campaign item and its ledger item. serving_noise mixes in paused campaigns, exhausted budgets and
    daily caps, and date windows (tests); without it every campaign is active and funded (benchmark)."""
    budget = rng.choice([50_000, 500_000, 5_000_000]) * 1000
    bid = _bid(rng)
    status, spent, start, end, cap, day_spent, spend_day = "active", 0, None, None, None, 0, TODAY
    if serving_noise:
        status = rng.choices(["active", "paused", "draft"], weights=[8, 1, 1])[0]
        spent = rng.choice([0, 0, budget // 2, budget - bid + 1, budget])
        if rng.random() < 0.3:
            cap = rng.choice([bid * 3, 100_000, 10_000_000])
            day_spent = rng.choice([0, cap - bid, cap - bid + 1, cap])
            spend_day = rng.choice([TODAY, "2026-06-14"])
        if rng.random() < 0.2:
            start = (NOW + timedelta(days=rng.choice([-30, 2]))).strftime("%Y-%m-%dT%H:%M:%SZ")
        if rng.random() < 0.2:
            end = (NOW + timedelta(days=rng.choice([-1, 30]))).strftime("%Y-%m-%dT%H:%M:%SZ")
    campaign_id = f"camp_{number:05d}"
    item = {
        "PK": f"CAMPAIGN#{campaign_id}",
        "SK": "CAMPAIGN",
        "tenant_id": f"tenant_{number % 50}",
        "id": campaign_id,
        "advertiser_id": f"adv_{number % 50:03d}",
        "name": f"Campaign {number}",
        "status": status,
        "budget_millicents": Decimal(budget),
        "cpm_bid_cents": Decimal(bid),
        "daily_cap_millicents": None if cap is None else Decimal(cap),
        "start_date": start,
        "end_date": end,
        "priority": Decimal(rng.randint(0, 10)),
        "target_categories": rng.sample(CATEGORIES, rng.choice([0, 0, 0, 1, 2, 3])),
        "target_tags": rng.sample(TAGS, rng.choice([0, 0, 0, 0, 1, 2])),
        "ad_category": rng.choice(AD_CATEGORIES),
        "created_at": "2026-01-01T00:00:00Z",
        "creatives": _creatives(rng, number),
        "geo_targets": _geo_targets(rng),
        "blocklist": _blocklist(rng),
        "affinities": _affinities(rng),
    }
    ledger = {
        "PK": f"CAMPAIGN#{campaign_id}",
        "SK": "LEDGER",
        "tenant_id": item["tenant_id"],
        "campaign_id": campaign_id,
        "budget_millicents": Decimal(budget),
        "spent_millicents": Decimal(spent),
        "spend_day": spend_day,
        "day_spent_millicents": Decimal(day_spent),
    }
    return item, ledger


def build_campaigns(seed: int, count: int, *, serving_noise: bool = False) -> list[ServingCampaign]:
    rng = random.Random(seed)
    return [
        ServingCampaign.from_items(*campaign_items(rng, number, serving_noise=serving_noise)) for number in range(count)
    ]


@dataclass(frozen=True)
class World:
    campaigns: list[ServingCampaign]
    balances: dict[str, int]


def build_world(seed: int, count: int, *, serving_noise: bool = False) -> World:
    campaigns = build_campaigns(seed, count, serving_noise=serving_noise)
    rng = random.Random(seed + 1)
    advertisers = sorted({campaign.advertiser_id for campaign in campaigns})
    balances = {advertiser: (rng.choice([0, 50, 10**9]) if serving_noise else 10**9) for advertiser in advertisers}
    if serving_noise and advertisers:
        balances.pop(advertisers[0])  # one advertiser with no known balance
    return World(campaigns, balances)


def random_request(rng: random.Random, world: World, *, serving_noise: bool = False) -> MatchRequest:
    country = _weighted_country(rng)
    geo_roll = rng.random()
    if geo_roll < 0.1:
        player_geo = None
    else:
        lat, lng = country[4]
        player_geo = PlayerGeo(
            country_code=country[0],
            state_code=rng.choice(country[2]) if country[2] and rng.random() < 0.7 else None,
            city_name=rng.choice(country[3]) if country[3] and rng.random() < 0.5 else None,
            lat=lat + rng.uniform(-5, 5) if rng.random() < 0.6 else None,
            lng=lng + rng.uniform(-5, 5),
        )
        if player_geo.lat is None:
            player_geo = PlayerGeo(player_geo.country_code, player_geo.state_code, player_geo.city_name)
    narrative_words = rng.sample(FILLER, 6) + rng.sample(TAGS, 2)
    if rng.random() < 0.3:
        narrative_words.append(rng.choice(KEYWORDS))
    rng.shuffle(narrative_words)
    context = GameContext(
        theme_id=rng.choice(THEMES),
        category=rng.choice(CATEGORIES),
        narrative=" ".join(narrative_words).capitalize() + ".",
        mood_tags=tuple(rng.sample(MOODS, rng.randint(0, 3))),
        location=rng.choice(LOCATIONS),
        actions=tuple(rng.sample(ACTIONS, rng.randint(1, 4))),
    )
    game_id = f"game_{rng.randint(0, 9)}"
    placement = ServingPlacement(
        game_id=game_id,
        placement_types=frozenset(rng.sample(CREATIVE_TYPES, rng.randint(1, 3))),
        blocked_advertisers=frozenset(rng.sample(sorted(world.balances), min(2, len(world.balances)))),
        blocked_categories=frozenset(rng.sample(["gambling", "alcohol", "Finance"], rng.randint(0, 2))),
        max_ads_per_session=10,
    )
    session = SessionState()
    throttles: dict[str, float] = {}
    if serving_noise:
        uses = {}
        for campaign in rng.sample(world.campaigns, min(10, len(world.campaigns))):
            for creative in campaign.creatives:
                uses[creative.id] = rng.randint(0, 5)
        session = SessionState(ad_count=rng.randint(0, 9), creative_uses=uses)
        throttles = {
            c.id: rng.choice([0.0, 0.3, 0.7, 1.0]) for c in rng.sample(world.campaigns, len(world.campaigns) // 4)
        }
    return MatchRequest(
        game_id=game_id,
        placement=placement,
        context=context,
        now=NOW,
        advertiser_balances=world.balances,
        player_geo=player_geo,
        session=session,
        throttles=throttles,
    )
