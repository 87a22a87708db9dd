"""Geo targeting: great-circle distance and the include/exclude rule semantics.

Semantics (seed: "Multiple rules combine with OR logic", `include: false` excludes):
- any matching exclude rule drops the campaign, whatever its include rules say;
- with include rules, at least one must match (OR);
- a campaign with only exclude rules (or no rules) serves everywhere else;
- a rule needs the player data it compares: unknown player geo (or the missing field) never matches a rule,
  so a campaign with include rules is dropped for an unknown player, while exclude rules cannot drop him.

Rule matching: country = same country code; state = same state code (and same country when the rule has
one); city = same normalized city name (and same country/state when the rule has them); radius = player
lat/lng within radius_km of the centre by great-circle (haversine) distance. Codes compare case-insensitively.
"""

import math

from arbiter.ads.matching.models import PlayerGeo, ServingCampaign, ServingGeoRule
from arbiter.core.text import normalize

EARTH_MEAN_RADIUS_KM = 6371.0088  # IUGG mean Earth radius


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance between two points given in degrees, on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class PlayerLocation:
    """The player's geo, normalized once per request the way rules are normalized."""

    __slots__ = ("city", "country", "lat", "lng", "state")

    def __init__(self, geo: PlayerGeo | None):
        geo = geo or PlayerGeo()
        self.country = geo.country_code.strip().upper() if geo.country_code else None
        self.state = geo.state_code.strip().upper() if geo.state_code else None
        self.city = normalize(geo.city_name) or None
        has_point = geo.lat is not None and geo.lng is not None
        self.lat = float(geo.lat) if has_point else None
        self.lng = float(geo.lng) if has_point else None


def rule_matches(rule: ServingGeoRule, player: PlayerLocation) -> bool:
    kind = rule.target_type
    if kind == "country":
        return player.country is not None and rule.country_code == player.country
    if kind == "state":
        return (
            player.state is not None
            and rule.state_code == player.state
            and (rule.country_code is None or rule.country_code == player.country)
        )
    if kind == "city":
        return (
            player.city is not None
            and rule.city_name == player.city
            and (rule.country_code is None or rule.country_code == player.country)
            and (rule.state_code is None or rule.state_code == player.state)
        )
    if kind == "radius":
        if player.lat is None or rule.lat is None or rule.lng is None or rule.radius_km is None:
            return False
        return haversine_km(rule.lat, rule.lng, player.lat, player.lng) <= rule.radius_km
    return False  # an unknown rule type never matches (fail closed for includes)


def geo_rejection(campaign: ServingCampaign, player: PlayerLocation) -> str | None:
    """None when the campaign may serve to this player, else why not."""
    for rule in campaign.exclude_rules:
        if rule_matches(rule, player):
            return f"player location excluded by geo rule {rule.id} ({rule.target_type})"
    if not campaign.include_rules:
        return None
    for rule in campaign.include_rules:
        if rule_matches(rule, player):
            return None
    if player.country is None and player.lat is None and player.state is None and player.city is None:
        return "campaign has geo include rules and the player's location is unknown"
    return "player location matches none of the campaign's geo include rules"
