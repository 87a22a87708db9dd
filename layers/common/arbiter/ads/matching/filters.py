"""The ads eligibility filters: each is named and says why it drops a campaign.

Context tags (for target_tags): the context's theme_id, its mood_tags, and the words of its narrative, all
normalized (lowercase words; underscores, hyphens and punctuation separate words). A target tag matches when
it equals one of those terms, or, for a multi-word tag, when it occurs as a whole-word phrase in the
narrative ("defense spending" matches "...about defense spending").

Blocklist rules (any match drops the campaign):
- keyword: whole-word (or whole-phrase) match anywhere in the scene's text (narrative, theme_id, category,
  location, mood_tags, actions), case-insensitive: the seed blocks when "the game context contains the
  blocked value". Deliberately not a raw substring: "war" must not block "award" or "software". Word forms
  are not stemmed ("gun" does not block "guns"), so advertisers list each form they mean.
- theme == theme_id, category == category, action == any of actions: normalized equality.
- game_id == the request's game_id: exact (ids are case-sensitive).

An impression billed without a match token is re-checked against IMPRESSION_FILTERS (ImpressionContext).

Filter order puts the cheapest and most selective checks first; serving-state filters (status, schedule,
budget, daily cap, balance, pacing, frequency) are separate so the simulator can run on draft campaigns.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from arbiter import clock
from arbiter.ads.budget import budget_cannot_pay_one_impression, cannot_pay_one_impression
from arbiter.ads.matching.geo import PlayerLocation, geo_rejection
from arbiter.ads.matching.models import ACTIVE, GameContext, MatchRequest, ServingCampaign, ServingPlacement
from arbiter.ads.matching.scoring import ScoringContext
from arbiter.core.pipeline import EligibilityFilter
from arbiter.core.randomness import stable_uniform
from arbiter.core.text import contains_phrase, normalize, padded, words


class ContextTerms:
    """The game context normalized once per request for targeting and blocklist checks."""

    __slots__ = ("actions", "category", "narrative", "scene_text", "tag_terms", "theme")

    def __init__(self, context: GameContext):
        self.category = normalize(context.category)
        self.theme = normalize(context.theme_id)
        self.actions = frozenset(filter(None, (normalize(action) for action in context.actions)))
        narrative_words = words(context.narrative)
        self.narrative = padded(" ".join(narrative_words))
        moods = [normalize(mood) for mood in context.mood_tags]
        self.tag_terms = frozenset(filter(None, (self.theme, *moods, *narrative_words)))
        # Every text of the scene, for keyword rules; " | " keeps a phrase from spanning two fields.
        fields = (self.narrative.strip(), self.theme, self.category, normalize(context.location), *moods)
        self.scene_text = padded(" | ".join(filter(None, (*fields, *sorted(self.actions)))))

    def matches_tag(self, tag: str) -> bool:
        return tag in self.tag_terms or (" " in tag and contains_phrase(self.narrative, tag))


class MatchContext:
    """Everything one match compares against, prepared once per request."""

    __slots__ = (
        "advertiser_balances",
        "blocked_advertisers",
        "blocked_categories",
        "creative_uses",
        "game_id",
        "now",
        "placement_types",
        "player",
        "salt",
        "scoring",
        "terms",
        "throttles",
        "today",
    )

    def __init__(self, request: MatchRequest, salt: int):
        self.game_id = request.game_id
        self.now: datetime = request.now
        self.today = clock.utc_date(request.now).isoformat()  # the ledger's spend_day is a UTC date
        self.placement_types = request.placement.placement_types
        self.blocked_advertisers = request.placement.blocked_advertisers
        self.blocked_categories = frozenset(normalize(c) for c in request.placement.blocked_categories)
        self.terms = ContextTerms(request.context)
        self.scoring = ScoringContext(request.context)
        self.player = PlayerLocation(request.player_geo)
        self.creative_uses: Mapping[str, int] = request.session.creative_uses
        self.advertiser_balances = request.advertiser_balances
        self.throttles = request.throttles
        self.salt = salt


class SimulationContext:
    """The simulator's context: a narrative and a mood, no game, placement, player or session."""

    __slots__ = ("game_id", "scoring", "terms")

    def __init__(self, context: GameContext):
        self.game_id: str | None = None
        self.terms = ContextTerms(context)
        # A narrative is all the simulator has of the scene: it stands for the scene's theme, location, category
        # and action too, so those affinities score by the share of their words it contains ("Oval Office" in
        # "...reviews classified documents in the Oval Office"), as they would against a /match scene naming it.
        scene = context.narrative
        if scene:
            context = replace(context, theme_id=scene, location=scene, category=scene, actions=(scene,))
        self.scoring = ScoringContext(context)


class ImpressionContext:
    """An impression billed without a match token, judged on what it names: the game, its placement and the
    time. It has no scene and no player, so its game context is empty: the blocklist's scene rules (keyword,
    theme, category, action) match nothing and only its game_id rules apply."""

    __slots__ = ("blocked_advertisers", "blocked_categories", "game_id", "now", "placement_types", "terms")

    def __init__(self, game_id: str, placement: ServingPlacement, now: datetime):
        self.game_id = game_id
        self.now = now
        self.placement_types = placement.placement_types
        self.blocked_advertisers = placement.blocked_advertisers
        self.blocked_categories = frozenset(normalize(c) for c in placement.blocked_categories)
        self.terms = ContextTerms(GameContext())


# --- context filters -------------------------------------------------------------------------------------


def _status(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    return None if campaign.status == ACTIVE else f"campaign status is {campaign.status}, not active"


def _schedule(campaign: ServingCampaign, ctx: MatchContext | ImpressionContext) -> str | None:
    if campaign.starts_at is not None and ctx.now < campaign.starts_at:
        return f"campaign starts at {campaign.starts_at.isoformat()}"
    if campaign.ends_at is not None and ctx.now > campaign.ends_at:
        return f"campaign ended at {campaign.ends_at.isoformat()}"
    return None


def _blocked_advertiser(campaign: ServingCampaign, ctx: MatchContext | ImpressionContext) -> str | None:
    if campaign.advertiser_id in ctx.blocked_advertisers:
        return f"advertiser {campaign.advertiser_id} is blocked by this game"
    return None


def _blocked_category(campaign: ServingCampaign, ctx: MatchContext | ImpressionContext) -> str | None:
    if campaign.ad_category is not None and campaign.ad_category in ctx.blocked_categories:
        return f"ad category '{campaign.ad_category}' is blocked by this game"
    return None


def _target_categories(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    if campaign.target_categories and ctx.terms.category not in campaign.target_categories:
        shown = ctx.terms.category or "(none)"
        return f"game category '{shown}' is not in target_categories"
    return None


def _target_tags(campaign: ServingCampaign, ctx: MatchContext | SimulationContext) -> str | None:
    if not campaign.target_tags:
        return None
    terms = ctx.terms
    for tag in campaign.target_tags:
        if terms.matches_tag(tag):
            return None
    return "no target_tags match the context's theme, mood tags or narrative"


def _blocklist(campaign: ServingCampaign, ctx: MatchContext | SimulationContext | ImpressionContext) -> str | None:
    terms = ctx.terms
    for rule in campaign.blocklist:
        kind, value = rule.rule_type, rule.match_value
        if (
            (kind == "keyword" and contains_phrase(terms.scene_text, value))
            or (kind == "theme" and value and value == terms.theme)
            or (kind == "category" and value and value == terms.category)
            or (kind == "action" and value in terms.actions)
            or (kind == "game_id" and value == ctx.game_id)
        ):
            return f"blocklist rule {rule.id}: {kind} '{rule.value}'"
    return None


def _geo(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    if not campaign.geo_rules:
        return None
    return geo_rejection(campaign, ctx.player)


def _creative_type(campaign: ServingCampaign, ctx: MatchContext | ImpressionContext) -> str | None:
    if campaign.creative_types.isdisjoint(ctx.placement_types):
        if not campaign.creatives:
            return "campaign has no creatives"
        return "no creative of a type this placement accepts"
    return None


# --- serving-state filters -------------------------------------------------------------------------------


def _frequency(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    if not ctx.creative_uses:
        return None
    if eligible_creatives(campaign, ctx.placement_types, ctx.creative_uses):
        return None
    return "every accepted creative reached its max_uses_per_game in this session"


def _budget(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    if budget_cannot_pay_one_impression(campaign.budget_millicents, campaign.spent_millicents, campaign.cpm_bid_cents):
        return "remaining budget cannot cover one impression"
    return None


def _daily_cap(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    cap = campaign.daily_cap_millicents
    if cap is not None and cannot_pay_one_impression(cap - campaign.spent_on(ctx.today), campaign.cpm_bid_cents):
        return "today's remaining daily cap cannot cover one impression"
    return None


def _advertiser_balance(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    balance = ctx.advertiser_balances.get(campaign.advertiser_id)
    if balance is None:
        return f"no balance known for advertiser {campaign.advertiser_id}"
    if cannot_pay_one_impression(balance, campaign.cpm_bid_cents):
        return "advertiser balance cannot cover one impression"
    return None


def _pacing(campaign: ServingCampaign, ctx: MatchContext) -> str | None:
    throttle = ctx.throttles.get(campaign.id)
    if throttle is None or throttle >= 1.0:
        return None
    # An order-independent draw keyed by campaign: the same seed gives the same outcome, indexed or not.
    if stable_uniform(ctx.salt, f"pacing:{campaign.id}") < throttle:
        return None
    return f"pacing throttle {throttle:g} skipped this match"


def eligible_creatives(
    campaign: ServingCampaign, placement_types: frozenset[str] | None, creative_uses: Mapping[str, int]
) -> list:
    """Creatives of an accepted type (any type when placement_types is None) still under their session cap."""
    return [
        creative
        for creative in campaign.creatives
        if (placement_types is None or creative.creative_type in placement_types)
        and creative_uses.get(creative.id, 0) < creative.max_uses_per_game
    ]


STATUS = EligibilityFilter("status", _status)
SCHEDULE = EligibilityFilter("schedule", _schedule)
BLOCKED_ADVERTISER = EligibilityFilter("blocked_advertiser", _blocked_advertiser)
BLOCKED_CATEGORY = EligibilityFilter("blocked_category", _blocked_category)
TARGET_CATEGORIES = EligibilityFilter("target_categories", _target_categories)
TARGET_TAGS = EligibilityFilter("target_tags", _target_tags)
BLOCKLIST = EligibilityFilter("blocklist", _blocklist)
GEO = EligibilityFilter("geo", _geo)
CREATIVE_TYPE = EligibilityFilter("creative_type", _creative_type)
FREQUENCY = EligibilityFilter("frequency", _frequency)
BUDGET = EligibilityFilter("budget", _budget)
DAILY_CAP = EligibilityFilter("daily_cap", _daily_cap)
ADVERTISER_BALANCE = EligibilityFilter("advertiser_balance", _advertiser_balance)
PACING = EligibilityFilter("pacing", _pacing)

# Every filter a live /match applies, cheapest and most selective first.
MATCH_FILTERS = (
    STATUS,
    SCHEDULE,
    BLOCKED_ADVERTISER,
    BLOCKED_CATEGORY,
    TARGET_CATEGORIES,
    CREATIVE_TYPE,
    GEO,
    TARGET_TAGS,
    BLOCKLIST,
    BUDGET,
    DAILY_CAP,
    ADVERTISER_BALANCE,
    FREQUENCY,
    PACING,
)
# What an impression without a match token is re-checked against (billing.logic): every rule /match applies that
# needs neither the scene nor the player; CREATIVE_TYPE is run on the impression's own creative.
IMPRESSION_FILTERS = (SCHEDULE, BLOCKED_ADVERTISER, BLOCKED_CATEGORY, CREATIVE_TYPE, BLOCKLIST)
# What the simulator can judge from a narrative and a mood alone (reported as warnings, never blocking).
SIMULATION_FILTERS = (TARGET_TAGS, BLOCKLIST)
