"""Frozen snapshot types the matching engine works on, and adapters from the stored DynamoDB items.

Everything the hot path compares is normalized once here (arbiter.core.text.normalize: lowercase words,
underscores/hyphens/spaces equal), so a match only does set lookups and arithmetic. DynamoDB returns numbers
as Decimal; the adapters turn them into int/float.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from arbiter.clock import parse_iso
from arbiter.core.text import normalize
from arbiter.dynamo.values import as_float, as_int

ACTIVE = "active"

# Affinity types matched against the game context: they make up the affinity score.
SCORED_AFFINITY_TYPES = ("action", "location", "theme", "mood", "category")
# Affinity types that only bias the rendering pipeline: never part of the score.
PIPELINE_AFFINITY_TYPES = ("lighting", "effects", "camera")

DEFAULT_MAX_USES_PER_GAME = 3
DEFAULT_MAX_ADS_PER_SESSION = 10
DEFAULT_PRIORITY = 5


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else None


def _order(child: Mapping[str, Any], child_id: str) -> tuple:
    # Creation order; position breaks ties among children created in the same second.
    return (child.get("created_at") or "", as_int(child.get("position")), child_id)


def _children(item: Mapping[str, Any], attribute: str) -> list[tuple[str, Mapping[str, Any]]]:
    children = item.get(attribute) or {}
    return sorted(((child_id, child) for child_id, child in children.items()), key=lambda kv: _order(kv[1], kv[0]))


def parse_window_bound(value: str | None, *, end: bool) -> datetime | None:
    """An ISO date-time, or a bare date: a bare start date means its first instant, a bare end date its last."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 10:  # YYYY-MM-DD
        day = date.fromisoformat(text)
        moment = datetime.combine(day, time.min, tzinfo=UTC)
        return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
    return parse_iso(text)


@dataclass(frozen=True, slots=True)
class ServingCreative:
    id: str
    creative_type: str
    brand_name: str
    product_name: str | None = None
    tagline: str | None = None
    narrative_hook: str | None = None
    alt_hooks: tuple[str, ...] = ()
    tone: str = "neutral"
    max_uses_per_game: int = DEFAULT_MAX_USES_PER_GAME

    @property
    def hooks(self) -> tuple[str, ...]:
        """The rotation: the primary hook first, then the alternatives (empty texts skipped)."""
        primary = (self.narrative_hook,) if self.narrative_hook else ()
        return primary + tuple(hook for hook in self.alt_hooks if hook)

    @classmethod
    def from_doc(cls, creative_id: str, doc: Mapping[str, Any]) -> "ServingCreative":
        return cls(
            id=creative_id,
            creative_type=str(doc["creative_type"]),
            brand_name=str(doc.get("brand_name") or ""),
            product_name=doc.get("product_name"),
            tagline=doc.get("tagline"),
            narrative_hook=doc.get("narrative_hook"),
            alt_hooks=tuple(doc.get("alt_hooks") or ()),
            tone=str(doc.get("tone") or "neutral"),
            max_uses_per_game=as_int(doc.get("max_uses_per_game"), DEFAULT_MAX_USES_PER_GAME),
        )


@dataclass(frozen=True, slots=True)
class ServingGeoRule:
    id: str
    target_type: str  # country | state | city | radius
    include: bool = True
    country_code: str | None = None  # upper case
    state_code: str | None = None  # upper case
    city_name: str | None = None  # normalized
    lat: float | None = None
    lng: float | None = None
    radius_km: float | None = None

    @classmethod
    def from_doc(cls, rule_id: str, doc: Mapping[str, Any]) -> "ServingGeoRule":
        include = doc.get("include")
        return cls(
            id=rule_id,
            target_type=str(doc["target_type"]),
            include=True if include is None else bool(include),
            country_code=_upper(doc.get("country_code")),
            state_code=_upper(doc.get("state_code")),
            city_name=normalize(doc.get("city_name")) or None,
            lat=as_float(doc.get("lat")),
            lng=as_float(doc.get("lng")),
            radius_km=as_float(doc.get("radius_km")),
        )


@dataclass(frozen=True, slots=True)
class ServingBlockRule:
    id: str
    rule_type: str  # keyword | theme | category | action | game_id
    value: str  # as stored (shown in drop reasons)
    match_value: str  # normalized text; the exact id for game_id rules

    @classmethod
    def from_doc(cls, rule_id: str, doc: Mapping[str, Any]) -> "ServingBlockRule":
        rule_type = str(doc["rule_type"])
        value = str(doc.get("value") or "")
        match_value = value.strip() if rule_type == "game_id" else normalize(value)
        return cls(id=rule_id, rule_type=rule_type, value=value, match_value=match_value)


@dataclass(frozen=True, slots=True)
class ServingAffinity:
    id: str
    affinity_type: str
    affinity_value: str
    weight: float
    normalized: str
    tokens: frozenset[str]

    @classmethod
    def from_doc(cls, affinity_id: str, doc: Mapping[str, Any]) -> "ServingAffinity":
        value = str(doc.get("affinity_value") or "")
        normalized = normalize(value)
        weight = as_float(doc.get("weight"))
        return cls(
            id=affinity_id,
            affinity_type=str(doc["affinity_type"]),
            affinity_value=value,
            weight=1.0 if weight is None else weight,
            normalized=normalized,
            tokens=frozenset(normalized.split()),
        )


@dataclass(frozen=True, slots=True)
class ServingCampaign:
    """One campaign as the engine sees it: configuration, children, and the ledger's money counters."""

    id: str
    tenant_id: str
    advertiser_id: str
    status: str
    cpm_bid_cents: int
    budget_millicents: int
    spent_millicents: int = 0
    daily_cap_millicents: int | None = None
    spend_day: str | None = None  # UTC date the day counter counts
    day_spent_millicents: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = DEFAULT_PRIORITY
    target_categories: frozenset[str] = frozenset()  # normalized
    target_tags: tuple[str, ...] = ()  # normalized, in stored order
    ad_category: str | None = None  # normalized
    creatives: tuple[ServingCreative, ...] = ()  # creation order
    geo_rules: tuple[ServingGeoRule, ...] = ()
    blocklist: tuple[ServingBlockRule, ...] = ()
    affinities: tuple[ServingAffinity, ...] = ()
    created_at: str = ""
    # The pacing job's throttle from the LEDGER item and when it was computed (the cache ignores a stale one).
    pacing_throttle: float | None = None
    pacing_computed_at: datetime | None = None
    # Derived once, in __post_init__, for the hot path.
    creative_types: frozenset[str] = field(init=False)
    include_rules: tuple[ServingGeoRule, ...] = field(init=False)
    exclude_rules: tuple[ServingGeoRule, ...] = field(init=False)
    scored_affinities: tuple[ServingAffinity, ...] = field(init=False)
    scored_weight: float = field(init=False)
    pipeline_bias: tuple[tuple[str, str], ...] = field(init=False)  # (type, value) for lighting/effects/camera

    def __post_init__(self) -> None:
        setter = object.__setattr__  # frozen dataclass: derived fields are set once here
        setter(self, "creative_types", frozenset(creative.creative_type for creative in self.creatives))
        setter(self, "include_rules", tuple(rule for rule in self.geo_rules if rule.include))
        setter(self, "exclude_rules", tuple(rule for rule in self.geo_rules if not rule.include))
        scored = tuple(a for a in self.affinities if a.affinity_type in SCORED_AFFINITY_TYPES and a.weight > 0)
        setter(self, "scored_affinities", scored)
        setter(self, "scored_weight", sum(a.weight for a in scored))
        bias = []
        for affinity_type in PIPELINE_AFFINITY_TYPES:
            # Highest weight wins; among equal weights the earliest-created affinity.
            best: ServingAffinity | None = None
            for affinity in self.affinities:
                if affinity.affinity_type == affinity_type and (best is None or affinity.weight > best.weight):
                    best = affinity
            if best is not None:
                bias.append((affinity_type, best.affinity_value))
        setter(self, "pipeline_bias", tuple(bias))

    def spent_on(self, day: str) -> int:
        """Spend counted against `day` (UTC YYYY-MM-DD): the ledger's day counter only if it is that day's."""
        return self.day_spent_millicents if self.spend_day == day else 0

    @classmethod
    def from_items(cls, campaign_item: Mapping[str, Any], ledger_item: Mapping[str, Any] | None) -> "ServingCampaign":
        """Adapter from the stored campaign item and its LEDGER item (docs/decisions.md D5).

        The ledger's budget copy is authoritative for serving (it moves with spend in one transaction); a
        missing ledger means nothing was spent yet.
        """
        ledger = ledger_item or {}
        return cls(
            id=str(campaign_item["id"]),
            tenant_id=str(campaign_item.get("tenant_id") or ""),
            advertiser_id=str(campaign_item.get("advertiser_id") or ""),
            status=str(campaign_item.get("status") or "draft"),
            cpm_bid_cents=as_int(campaign_item["cpm_bid_cents"]),
            budget_millicents=as_int(ledger.get("budget_millicents", campaign_item.get("budget_millicents"))),
            spent_millicents=as_int(ledger.get("spent_millicents")),
            daily_cap_millicents=(
                None
                if campaign_item.get("daily_cap_millicents") is None
                else as_int(campaign_item["daily_cap_millicents"])
            ),
            spend_day=ledger.get("spend_day"),
            day_spent_millicents=as_int(ledger.get("day_spent_millicents")),
            starts_at=parse_window_bound(campaign_item.get("start_date"), end=False),
            ends_at=parse_window_bound(campaign_item.get("end_date"), end=True),
            priority=as_int(campaign_item.get("priority"), DEFAULT_PRIORITY),
            target_categories=frozenset(
                filter(None, (normalize(c) for c in campaign_item.get("target_categories") or ()))
            ),
            target_tags=tuple(filter(None, (normalize(t) for t in campaign_item.get("target_tags") or ()))),
            ad_category=normalize(campaign_item.get("ad_category")) or None,
            creatives=tuple(ServingCreative.from_doc(i, d) for i, d in _children(campaign_item, "creatives")),
            geo_rules=tuple(ServingGeoRule.from_doc(i, d) for i, d in _children(campaign_item, "geo_targets")),
            blocklist=tuple(ServingBlockRule.from_doc(i, d) for i, d in _children(campaign_item, "blocklist")),
            affinities=tuple(ServingAffinity.from_doc(i, d) for i, d in _children(campaign_item, "affinities")),
            created_at=str(campaign_item.get("created_at") or ""),
            pacing_throttle=as_float(ledger.get("pacing_throttle")),
            pacing_computed_at=parse_iso(ledger["pacing_at"]) if ledger.get("pacing_at") else None,
        )


@dataclass(frozen=True, slots=True)
class ServingPlacement:
    """A game's placement configuration (seed: Placements). blocked_categories are compared normalized."""

    game_id: str
    placement_types: frozenset[str]
    blocked_advertisers: frozenset[str] = frozenset()
    blocked_categories: frozenset[str] = frozenset()
    max_ads_per_session: int = DEFAULT_MAX_ADS_PER_SESSION
    is_active: bool = True

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "ServingPlacement":
        return cls(
            game_id=str(item["game_id"]),
            placement_types=frozenset(item.get("placement_types") or ()),
            blocked_advertisers=frozenset(item.get("blocked_advertisers") or ()),
            blocked_categories=frozenset(item.get("blocked_categories") or ()),
            max_ads_per_session=as_int(item.get("max_ads_per_session"), DEFAULT_MAX_ADS_PER_SESSION),
            is_active=bool(item.get("is_active", True)),
        )


@dataclass(frozen=True, slots=True)
class PlayerGeo:
    country_code: str | None = None
    state_code: str | None = None
    city_name: str | None = None
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True, slots=True)
class GameContext:
    theme_id: str | None = None
    category: str | None = None
    narrative: str | None = None
    mood_tags: tuple[str, ...] = ()
    location: str | None = None
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionState:
    """Per-session frequency state the caller keeps: ads already served in this session (for this placement)
    and how many times each creative was used. No session id -> an empty state (no frequency capping)."""

    ad_count: int = 0
    creative_uses: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """One /match call, with every piece of serving state the pure engine needs.

    advertiser_balances: advertiser_id -> balance in millicents; an advertiser missing here is treated as
    having no balance (dropped), so the caller must supply the balance of every advertiser it serves.
    throttles: campaign_id -> pacing throttle in [0, 1], the probability the campaign takes part in this
    match; a campaign missing here always takes part.
    """

    game_id: str
    placement: ServingPlacement
    context: GameContext
    now: datetime
    advertiser_balances: Mapping[str, int] = field(default_factory=dict)
    player_geo: PlayerGeo | None = None
    session: SessionState = field(default_factory=SessionState)
    throttles: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        for campaign_id, throttle in self.throttles.items():
            if not 0.0 <= throttle <= 1.0:
                raise ValueError(f"throttle for {campaign_id} must be within [0, 1], got {throttle}")
