"""Affinity scoring and relevance: the single implementation /match and /simulate both use (in /simulate the
narrative stands for the scene's theme, location, category and action: filters.SimulationContext).

Affinity score (0..1): the weighted match fraction of the campaign's *context* affinities (types action,
location, theme, mood, category):

    score = sum(weight_i * strength_i) / sum(weight_i)

where strength_i in [0, 1] is how well affinity i matches the context values of its type:
    action <-> game_context.actions, location <-> location, theme <-> theme_id, mood <-> mood_tags,
    category <-> category.
strength = 1.0 when the normalized texts are equal (case-insensitive; underscores, hyphens, spaces and
punctuation all separate words, so "Oval Office" == "oval_office"); otherwise the share of the affinity's
words found in the context value (token overlap): "defense" vs action "approve_defense_budget" -> 1.0,
"golden hour" vs "hour" -> 0.5. For list types (actions, mood_tags) the best-matching value counts.

Lighting/effects/camera affinities never enter the score; they feed `biased_pipeline` (the highest-weight
value per type, the earliest-created among equal weights). biased_pipeline["mood"] is the best-matching mood
affinity's value (highest weight x strength) or, with none matched, the context's first mood tag.

A campaign without context affinities has nothing to match: it gets NEUTRAL_AFFINITY_SCORE (0.5), reported
as its affinity score too, so it neither beats well-matched campaigns nor loses to mismatched ones.

Relevance is monotone in the score: relevance = RELEVANCE_FLOOR + (1 - RELEVANCE_FLOOR) * score, i.e. 0.25
for no match, 0.625 neutral, 1.0 for a perfect match. Campaigns rank by cpm_bid_cents * relevance, so a bid
can buy reach but a four-fold cheaper perfectly-matched campaign still ties a mismatched one.
"""

from dataclasses import dataclass

from arbiter.ads.matching.models import (
    PIPELINE_AFFINITY_TYPES,
    SCORED_AFFINITY_TYPES,
    GameContext,
    ServingAffinity,
    ServingCampaign,
)
from arbiter.core.text import normalize

NEUTRAL_AFFINITY_SCORE = 0.5
RELEVANCE_FLOOR = 0.25

_NO_MATCH: tuple[float, str | None] = (0.0, None)


def relevance(affinity_score: float) -> float:
    return RELEVANCE_FLOOR + (1.0 - RELEVANCE_FLOOR) * affinity_score


class ScoringContext:
    """A game context prepared for scoring, with a per-request memo: campaigns share affinity values, so
    each (type, value) is matched against the context once per request."""

    __slots__ = ("_memo", "first_mood", "values")

    def __init__(self, context: GameContext):
        raw: dict[str, tuple[str, ...]] = {
            "action": context.actions,
            "location": (context.location,) if context.location else (),
            "theme": (context.theme_id,) if context.theme_id else (),
            "mood": context.mood_tags,
            "category": (context.category,) if context.category else (),
        }
        self.values: dict[str, tuple[tuple[str, frozenset[str], str], ...]] = {}
        for affinity_type, texts in raw.items():
            prepared = []
            for text in texts:
                normalized = normalize(text)
                if normalized:
                    prepared.append((normalized, frozenset(normalized.split()), text))
            self.values[affinity_type] = tuple(prepared)
        self.first_mood: str | None = next((m for m in context.mood_tags if normalize(m)), None)
        self._memo: dict[tuple[str, str], tuple[float, str | None]] = {}

    def match(self, affinity: ServingAffinity) -> tuple[float, str | None]:
        """(strength in [0, 1], the context value it matched best or None)."""
        memo_key = (affinity.affinity_type, affinity.normalized)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self._best_match(affinity)
        return found

    def _best_match(self, affinity: ServingAffinity) -> tuple[float, str | None]:
        if not affinity.tokens:
            return _NO_MATCH
        best = _NO_MATCH
        for normalized, tokens, original in self.values.get(affinity.affinity_type, ()):
            if normalized == affinity.normalized:
                return (1.0, original)
            strength = len(affinity.tokens & tokens) / len(affinity.tokens)
            if strength > best[0]:
                best = (strength, original)
        return best


def affinity_score(campaign: ServingCampaign, scoring: ScoringContext) -> float:
    """The campaign's affinity score in [0, 1] (NEUTRAL_AFFINITY_SCORE without context affinities)."""
    if not campaign.scored_affinities:
        return NEUTRAL_AFFINITY_SCORE
    matched = 0.0
    for affinity in campaign.scored_affinities:
        matched += affinity.weight * scoring.match(affinity)[0]
    return min(1.0, matched / campaign.scored_weight)


@dataclass(frozen=True, slots=True)
class AffinityContribution:
    """One affinity's part in a decision (for the impression token and affinity analytics)."""

    affinity_id: str
    affinity_type: str
    affinity_value: str
    weight: float
    match_strength: float  # 0..1; always 0 for lighting/effects/camera (never scored)
    contribution: float  # weight * strength / total context weight; the contributions sum to the score
    matched_value: str | None  # the context value it matched
    in_pipeline: bool  # its value was put into biased_pipeline


@dataclass(frozen=True, slots=True)
class AffinityBreakdown:
    score: float
    neutral: bool  # no context affinities: score is NEUTRAL_AFFINITY_SCORE
    per_type: dict[str, float]  # context type -> weighted match fraction within that type
    contributions: tuple[AffinityContribution, ...]
    biased_pipeline: dict[str, str]  # lighting / effects / camera / mood, only those with a value


def explain_affinities(campaign: ServingCampaign, scoring: ScoringContext) -> AffinityBreakdown:
    score = affinity_score(campaign, scoring)
    matches = {a.id: scoring.match(a) for a in campaign.scored_affinities}

    # biased_pipeline: presentation types from the campaign, mood from the best matched mood affinity.
    pipeline = dict(campaign.pipeline_bias)
    mood_affinity: ServingAffinity | None = None
    best_mood_value = 0.0
    for affinity in campaign.scored_affinities:
        if affinity.affinity_type == "mood":
            weighted = affinity.weight * matches[affinity.id][0]
            if weighted > best_mood_value:
                mood_affinity, best_mood_value = affinity, weighted
    if mood_affinity is not None:
        pipeline["mood"] = mood_affinity.affinity_value
    elif scoring.first_mood is not None:
        pipeline["mood"] = scoring.first_mood
    biased_pipeline = {key: pipeline[key] for key in (*PIPELINE_AFFINITY_TYPES, "mood") if key in pipeline}

    contributions = []
    for affinity in campaign.affinities:
        strength, matched_value = matches.get(affinity.id, _NO_MATCH)
        in_pipeline = affinity is mood_affinity or (
            affinity.affinity_type in PIPELINE_AFFINITY_TYPES
            and (affinity.affinity_type, affinity.affinity_value) in campaign.pipeline_bias
        )
        contribution = affinity.weight * strength / campaign.scored_weight if affinity.id in matches else 0.0
        contributions.append(
            AffinityContribution(
                affinity_id=affinity.id,
                affinity_type=affinity.affinity_type,
                affinity_value=affinity.affinity_value,
                weight=affinity.weight,
                match_strength=strength,
                contribution=contribution,
                matched_value=matched_value,
                in_pipeline=in_pipeline,
            )
        )

    per_type: dict[str, float] = {}
    for affinity_type in SCORED_AFFINITY_TYPES:
        of_type = [a for a in campaign.scored_affinities if a.affinity_type == affinity_type]
        if of_type:
            weight = sum(a.weight for a in of_type)
            per_type[affinity_type] = sum(a.weight * matches[a.id][0] for a in of_type) / weight

    return AffinityBreakdown(
        score=score,
        neutral=not campaign.scored_affinities,
        per_type=per_type,
        contributions=tuple(contributions),
        biased_pipeline=biased_pipeline,
    )
