"""The learner's request context (arbiter.learning.player_context): the segment a player behaves like replaces
the one the game reports once the player's outcomes say so."""

from datetime import UTC, datetime, timedelta

from arbiter.learning import model
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, Exposure
from arbiter.learning.features import (
    OfferFeatures,
    context_features,
    context_terms,
    offer_log_price,
    pair_features,
    segment_feature,
)
from arbiter.learning.player_context import REPORTED_SEGMENT_TRUST, inferred_segment, player_context

CROWN = OfferFeatures("royal_crown_pack", 99.99, ("crown", "skins"))
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SESSION = {"level": 30, "minutes_played": 20}
WHALE = segment_feature("whale")
LOW_SPENDER = segment_feature("low-spender")


def trained_on_two_segments() -> model.ModelState:
    """Whales buy the crown pack half of the time; low spenders never do."""
    state = model.ModelState()
    whale = context_features({**SESSION, "segment": "whale"})
    low_spender = context_features({**SESSION, "segment": "low-spender"})
    for index in range(300):
        for context, converted in ((whale, index % 2 == 0), (low_spender, False)):
            state.apply(model.posterior_update(state, pair_features(context, CROWN, 0), converted))
    return state


def log_of(reported: str, outcomes: list[str | None]) -> list[Exposure]:
    context = context_features({**SESSION, "segment": reported})
    return [
        Exposure(f"oint_{index}", CROWN, context, 0, T0 - timedelta(hours=len(outcomes) - index), outcome)
        for index, outcome in enumerate(outcomes)
    ]


def test_a_player_whose_purchases_contradict_the_reported_segment_is_ranked_as_the_segment_they_behave_like():
    # Given a model that learnt whales buy the crown pack and low spenders do not
    state = trained_on_two_segments()

    # When a player the game reports as a low spender has bought it in three of their last four sessions
    log = log_of("low-spender", ["converted", "dismissed", "converted", "converted"])
    context = player_context(state, {**SESSION, "segment": "low-spender"}, log, T0)

    # Then the request's context carries the whale segment in place of the reported one, the rest unchanged
    reported_context = context_features({**SESSION, "segment": "low-spender"})
    assert WHALE in context and LOW_SPENDER not in context
    assert [name for name in context if name != WHALE][: len(reported_context) - 1] == [
        name for name in reported_context if name != LOW_SPENDER
    ]
    # and the offer is scored with the whale segment's weights
    whale_view = model.predictive_conversion(state, pair_features(context, CROWN, 0))
    reported_view = model.predictive_conversion(state, pair_features(reported_context, CROWN, 0))
    assert whale_view > 10 * reported_view


def test_the_reported_segment_holds_until_the_evidence_outweighs_its_prior():
    # Given the same model
    state = trained_on_two_segments()

    # Then a whale who dismissed the crown pack once is still a whale (REPORTED_SEGMENT_TRUST outweighs it),
    # one who dismissed it six times in a row behaves like a low spender
    assert REPORTED_SEGMENT_TRUST > 0.5
    assert inferred_segment(state, WHALE, log_of("whale", ["dismissed"]), T0) == WHALE
    assert inferred_segment(state, WHALE, log_of("whale", ["dismissed"] * 6), T0) == LOW_SPENDER


def test_only_resolved_outcomes_are_evidence_and_a_context_without_segment_is_left_alone():
    state = trained_on_two_segments()

    # Given a low spender's log of exposures still waiting for an outcome: no evidence, the report stands
    assert inferred_segment(state, LOW_SPENDER, log_of("low-spender", [None] * 5), T0) == LOW_SPENDER

    # Given a model that has learnt no segment yet: the report stands whatever the log says
    buyer = log_of("low-spender", ["converted"] * 5)
    assert inferred_segment(model.ModelState(), LOW_SPENDER, buyer, T0) == LOW_SPENDER

    # Given a request with no segment: its context is the session's and the purchase history, nothing added
    log = log_of("low-spender", ["converted"] * 3)
    context = player_context(state, SESSION, log, T0)
    assert not [name for name in context if name.startswith("seg=")]
    assert set(context_features(SESSION)) < set(context)


def test_an_exposure_past_the_expiry_window_with_no_outcome_counts_as_a_non_purchase():
    # Given the same model and a whale's log of six crown-pack showings that got no report
    state = trained_on_two_segments()
    unreported = log_of("whale", [None] * 6)

    # When the player returns within the expiry window: no evidence yet, the report stands
    assert inferred_segment(state, WHALE, unreported, T0) == WHALE

    # When the player returns after it (the request that expires them): six non-purchases, as six dismissals
    later = T0 + DEFAULT_EXPIRY_WINDOW
    assert inferred_segment(state, WHALE, unreported, later) == LOW_SPENDER


def test_a_pairs_features_are_the_offers_own_plus_each_context_features_terms():
    # The segment inference scores a pair in parts (the offer's own features, then each context feature's
    # terms); this is the same set of features pair_features builds
    context = context_features({**SESSION, "segment": "whale", "platform": "ios"})
    for gap_match in (0, 2):
        parts = pair_features((), CROWN, gap_match)
        for name in context:
            parts += context_terms(name, CROWN.descriptors()[0], offer_log_price(CROWN))
        assert sorted(parts, key=lambda f: f.name) == sorted(
            pair_features(context, CROWN, gap_match), key=lambda f: f.name
        )
