"""Affinity scoring, relevance and biased_pipeline (seed 001: Affinities, Ad Matching)."""

import itertools
import random

import pytest

from arbiter.ads.matching.scoring import (
    NEUTRAL_AFFINITY_SCORE,
    ScoringContext,
    affinity_score,
    explain_affinities,
    relevance,
)
from benchmarks.worlds import build_campaigns, build_world, random_request
from tests.test_matching_filters import affinity, make_campaign, make_context

# make_context(): actions approve_budget/reject_budget/defer, location oval_office, theme "1",
# moods tense/dramatic, category simulation.


def score_of(*affinities, **context) -> float:
    return affinity_score(make_campaign(affinities=affinities), ScoringContext(make_context(**context)))


def test_weighted_match_fraction_hand_computed():
    # mood tense 1.2 (matches), location "Oval Office" 1.0 (matches oval_office), action "defense" 0.8 (no):
    # (1.2 + 1.0) / (1.2 + 1.0 + 0.8) = 2.2 / 3.0
    score = score_of(
        affinity("mood", "tense", 1.2),
        affinity("location", "Oval Office", 1.0),
        affinity("action", "defense", 0.8),
        affinity("lighting", "warm golden hour", 1.5),  # never scored
    )
    assert score == pytest.approx(2.2 / 3.0)
    assert round(score, 2) == 0.73


def test_token_overlap_gives_partial_strength():
    # "approve budget now" shares 2 of its 3 words with approve_budget: strength 2/3.
    # theme "2" vs theme_id "1": 0.  (2 * 2/3 + 1 * 0) / (2 + 1) = 4/9
    assert score_of(affinity("action", "approve budget now", 2.0), affinity("theme", "2", 1.0)) == pytest.approx(4 / 9)


def test_every_context_type_maps_to_its_context_field():
    assert score_of(affinity("action", "Defer")) == 1.0
    assert score_of(affinity("location", "oval-office")) == 1.0
    assert score_of(affinity("theme", "1")) == 1.0
    assert score_of(affinity("mood", "DRAMATIC")) == 1.0
    assert score_of(affinity("category", "Simulation")) == 1.0
    # A value only matches its own type's field: "tense" is a mood, not a location.
    assert score_of(affinity("location", "tense")) == 0.0


def test_lighting_effects_camera_do_not_change_the_score():
    base = score_of(affinity("mood", "tense", 1.0), affinity("action", "attack", 1.0))
    with_presentation = score_of(
        affinity("mood", "tense", 1.0),
        affinity("action", "attack", 1.0),
        affinity("lighting", "tense", 3.0),
        affinity("effects", "film grain", 3.0),
        affinity("camera", "close-up", 3.0),
    )
    assert base == with_presentation == 0.5


def test_no_context_affinities_is_neutral():
    assert score_of() == NEUTRAL_AFFINITY_SCORE
    assert score_of(affinity("lighting", "candlelight")) == NEUTRAL_AFFINITY_SCORE
    breakdown = explain_affinities(
        make_campaign(affinities=[affinity("camera", "close-up")]), ScoringContext(make_context())
    )
    assert breakdown.neutral and breakdown.score == NEUTRAL_AFFINITY_SCORE
    assert breakdown.per_type == {}


def test_missing_context_fields_match_nothing():
    score = score_of(
        affinity("mood", "tense"),
        affinity("location", "oval office"),
        mood_tags=(),
        location=None,
    )
    assert score == 0.0


def test_scores_stay_within_bounds_on_random_worlds():
    world = build_world(11, 300)
    rng = random.Random(3)
    for _ in range(40):
        scoring = ScoringContext(random_request(rng, world).context)
        for campaign in world.campaigns:
            score = affinity_score(campaign, scoring)
            assert 0.0 <= score <= 1.0
            breakdown = explain_affinities(campaign, scoring)
            assert breakdown.score == score
            if not breakdown.neutral:
                assert sum(c.contribution for c in breakdown.contributions) == pytest.approx(score)
            assert all(0.0 <= value <= 1.0 for value in breakdown.per_type.values())


def test_relevance_is_monotone_from_floor_to_one():
    assert relevance(0.0) == 0.25
    assert relevance(NEUTRAL_AFFINITY_SCORE) == 0.625
    assert relevance(1.0) == 1.0
    points = [i / 100 for i in range(101)]
    assert all(relevance(a) < relevance(b) for a, b in itertools.pairwise(points))


def test_biased_pipeline_takes_highest_weight_per_presentation_type():
    campaign = make_campaign(
        affinities=[
            affinity("lighting", "soft overcast", 1.0),
            affinity("lighting", "warm golden hour", 2.0),
            affinity("effects", "bloom", 1.0),
            affinity("effects", "lens flare", 1.0),  # same weight: the earlier one (bloom) stays
            affinity("camera", "close-up", 0.8),
        ]
    )
    breakdown = explain_affinities(campaign, ScoringContext(make_context()))
    assert breakdown.biased_pipeline == {
        "lighting": "warm golden hour",
        "effects": "bloom",
        "camera": "close-up",
        "mood": "tense",  # no mood affinity: the context's first mood
    }
    in_pipeline = {c.affinity_value for c in breakdown.contributions if c.in_pipeline}
    assert in_pipeline == {"warm golden hour", "bloom", "close-up"}
    assert all(c.contribution == 0.0 and c.match_strength == 0.0 for c in breakdown.contributions)


def test_biased_pipeline_mood_is_the_best_matched_mood_affinity():
    campaign = make_campaign(
        affinities=[
            affinity("mood", "tense", 1.0),
            affinity("mood", "Dramatic", 2.0),
            affinity("mood", "calm", 3.0),  # heaviest, but not in the context
        ]
    )
    breakdown = explain_affinities(campaign, ScoringContext(make_context()))
    assert breakdown.biased_pipeline == {"mood": "Dramatic"}
    assert breakdown.score == pytest.approx(3.0 / 6.0)
    assert breakdown.per_type == {"mood": pytest.approx(0.5)}
    matched = {c.affinity_value: c.matched_value for c in breakdown.contributions}
    assert matched == {"tense": "tense", "Dramatic": "dramatic", "calm": None}


def test_biased_pipeline_has_no_mood_without_mood_context_or_match():
    campaign = make_campaign(affinities=[affinity("mood", "calm")])
    breakdown = explain_affinities(campaign, ScoringContext(make_context(mood_tags=())))
    assert breakdown.biased_pipeline == {}


def test_per_type_scores_and_contributions_hand_computed():
    campaign = make_campaign(
        affinities=[
            affinity("action", "approve budget", 1.0),  # 1.0
            affinity("action", "attack", 1.0),  # 0.0
            affinity("category", "simulation", 2.0),  # 1.0
        ]
    )
    breakdown = explain_affinities(campaign, ScoringContext(make_context()))
    assert breakdown.per_type == {"action": 0.5, "category": 1.0}
    assert breakdown.score == pytest.approx(3.0 / 4.0)
    assert [round(c.contribution, 4) for c in breakdown.contributions] == [0.25, 0.0, 0.5]


def test_generated_campaigns_share_memoized_matches_consistently():
    # The per-request memo must give the same strengths as a fresh context for every campaign.
    campaigns = build_campaigns(5, 100)
    context = make_context()
    shared = ScoringContext(context)
    for campaign in campaigns:
        assert affinity_score(campaign, shared) == affinity_score(campaign, ScoringContext(context))
