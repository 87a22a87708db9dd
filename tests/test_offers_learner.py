"""The offers learner as pure code: features, posterior updates, Thompson sampling, cold start and expiry."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from arbiter import dynamo
from arbiter.learning import model, store
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, Exposure, allowed_transition, overdue, player_history
from arbiter.learning.features import (
    EXTRA_KEY_BUCKETS,
    EXTRA_STRING_BUCKETS,
    GAP_COUNT_CAP,
    MAX_EXTRA_CONTEXT_KEYS,
    MAX_LEVEL_BAND,
    STRING_BUCKETS,
    OfferFeatures,
    context_features,
    history_features,
    key_bucket,
    normalize_gaps,
    pair_features,
)

SWORD = OfferFeatures("summer_blade_bundle", 9.99, ("legendary_sword", "weapons"))
POTIONS = OfferFeatures("health_pack_10x", 9.99, ("health_pack", "potions"))
GOLD = OfferFeatures("gold_starter_500", 4.99, ("gold", "currency"))
CONTEXT = context_features({"level": 34, "minutes_played": 18, "segment": "mid-spender"})
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def features_of(offer: OfferFeatures, gaps: frozenset[str] = frozenset(), context=CONTEXT):
    return pair_features(context, offer, offer.gap_matches(gaps))


def learn(state: model.ModelState, offer: OfferFeatures, converted: bool, times: int = 1, context=CONTEXT) -> None:
    for _ in range(times):
        state.apply(model.posterior_update(state, features_of(offer, context=context), converted))


def test_context_features_band_numbers_hash_strings_and_ignore_nested_values():
    # Given a session context with the seed's keys, extras of every kind and a nested object
    context = {
        "level": 34,
        "minutes_played": 18,
        "segment": "Mid-Spender",
        "platform": "ios",
        "vip": True,
        "gems": 1200,
        "inventory": {"sword": 1},
    }

    # When it becomes features
    names = context_features(context)

    # Then level is in half-octave bands (34 -> round(2 log2 34) = 10), other numbers in log2 bands, strings hash
    # to a bounded bucket (case-insensitive), nested values are skipped
    assert (
        "lvl=10" in names
        and "min=5" in names
        and f"x{key_bucket('gems')}#11" in names
        and f"x{key_bucket('vip')}=true" in names
    )
    assert context_features({"segment": "mid-spender"}) == tuple(n for n in names if n.startswith("seg="))
    assert not any("inventory" in name for name in names)
    assert names == tuple(sorted(names))


def test_the_context_features_stay_bounded_whatever_keys_a_game_sends():
    # Given a game that sends new key names (and values) on every request, and absurd levels
    rng = random.Random(5)
    names: set[str] = set()
    for request in range(5_000):
        values = [True, rng.random() * 10 ** rng.randint(-5, 15), f"v{request}"]
        context = {f"quest_{rng.getrandbits(64):x}": rng.choice(values) for _ in range(8)}
        names.update(context_features({**context, "level": 2.0 ** rng.randint(0, 1000)}))

    # Then their features are drawn from a fixed vocabulary (the model's shared item stays far below 400 KB)
    extra = {name for name in names if name.startswith("x")}
    per_key_bucket = 2 + 43 + EXTRA_STRING_BUCKETS  # booleans, log2 bands -1..41, string buckets
    assert len(extra) <= EXTRA_KEY_BUCKETS * per_key_bucket
    assert len({name.split("=")[0].split("#")[0] for name in extra}) <= EXTRA_KEY_BUCKETS
    assert {name for name in names if name.startswith("lvl=")} <= {f"lvl={band}" for band in range(41)}


def test_level_bands_are_half_octaves():
    bands = [context_features({"level": level})[0] for level in (1, 2, 3, 4, 6, 8, 80)]
    assert bands == ["lvl=0", "lvl=2", "lvl=3", "lvl=4", "lvl=5", "lvl=6", "lvl=13"]
    assert context_features({"level": -3}) == ("lvl=-1",)


def test_only_level_and_segment_are_crossed_and_only_with_the_offer_id():
    # Given a context with the seed's keys and an extra key
    context = context_features({"level": 34, "minutes_played": 18, "segment": "whale", "platform": "ios"})

    # When a pair is featurized
    names = {feature.name for feature in pair_features(context, SWORD, 0)}

    # Then every context feature has a main effect, but only level and segment cross the offer, and only its id:
    # the price band and grants stay main effects shared by every offer carrying them
    crosses = {tuple(name.split("|")) for name in names if "|" in name and not name.startswith("gap|")}
    crossed_context = {c for c in context if c.startswith(("lvl=", "seg="))}
    assert set(context) <= names
    assert crosses - {(c, "lp") for c in crossed_context} == {(c, f"o={SWORD.offer_id}") for c in crossed_context}
    assert {d for d in SWORD.descriptors() if d.startswith(("pb=", "g="))} <= names


def test_each_segment_learns_its_own_price_sensitivity_across_offers():
    # Given big spenders who buy the expensive offer and small spenders who only buy the cheap one
    state = model.ModelState()
    whale = context_features({"level": 34, "segment": "whale"})
    minnow = context_features({"level": 34, "segment": "low-spender"})
    premium = OfferFeatures("premium_chest", 49.99, ("chest",))
    for _ in range(200):
        learn(state, premium, True, context=whale)
        learn(state, GOLD, False, context=whale)
        learn(state, premium, False, context=minnow)
        learn(state, GOLD, True, context=minnow)

    # Then the segments' price slopes part: a new expensive offer is likelier to sell to the big spender
    slopes = {
        name: state.moments(model.Feature(name, "price_slope"))[0] for name in (f"{whale[1]}|lp", f"{minnow[1]}|lp")
    }
    assert slopes[f"{whale[1]}|lp"] > 0 > slopes[f"{minnow[1]}|lp"]
    new_offer = OfferFeatures("new_premium", 99.99, ("crown",))
    assert model.predictive_conversion(state, features_of(new_offer, context=whale)) > model.predictive_conversion(
        state, features_of(new_offer, context=minnow)
    )


def test_gap_match_counts_the_offers_grants_found_in_the_gaps():
    # Given gaps naming a missing item and its category
    gaps = normalize_gaps(["legendary_sword", "weapons", "potions"])

    # Then an offer granting the item and its category matches twice, one sharing only a category once
    assert SWORD.gap_matches(gaps) == 2
    assert POTIONS.gap_matches(gaps) == 1
    assert GOLD.gap_matches(gaps) == 0
    names = {feature.name for feature in features_of(SWORD, gaps)}
    assert {"gap", "gapn=2", f"gap|o={SWORD.offer_id}"} <= names
    assert "gapn=1" in {feature.name for feature in features_of(POTIONS, gaps)}
    assert not any(name.startswith("gap") for name in (feature.name for feature in features_of(GOLD, gaps)))


def test_item_level_gap_matches_can_be_learnt_apart_from_category_matches():
    # Given players who buy offers that grant their missing item and ignore those that only share its category
    state = model.ModelState()
    gaps = normalize_gaps(["legendary_sword", "weapons", "potions"])
    for _ in range(300):
        state.apply(model.posterior_update(state, features_of(SWORD, gaps), True))
        state.apply(model.posterior_update(state, features_of(POTIONS, gaps), False))

    # Then the count feature tells them apart for a new offer it has never seen
    fresh_item = OfferFeatures("new_item_offer", 9.99, ("health_pack", "potions"))
    item_gaps = normalize_gaps(["health_pack", "potions"])
    category_only = normalize_gaps(["potions"])
    assert model.predictive_conversion(state, features_of(fresh_item, item_gaps)) > model.predictive_conversion(
        state, features_of(fresh_item, category_only)
    )


def test_context_features_bound_the_number_of_extra_keys():
    context = {f"key_{index:02d}": index for index in range(40)}
    assert len(context_features(context)) == MAX_EXTRA_CONTEXT_KEYS


def test_a_conversion_raises_the_estimate_and_every_outcome_shrinks_uncertainty():
    # Given a fresh model
    state = model.ModelState()
    features = features_of(SWORD)
    before = model.predictive_conversion(state, features)
    _, variance_before = model.score_moments(state, features)

    # When the offer converts once
    deltas = model.posterior_update(state, features, converted=True)
    state.apply(deltas)

    # Then P(convert) rises, every touched weight gained precision, and the score is less uncertain
    assert model.predictive_conversion(state, features) > before
    assert all(delta.precision_delta > 0 for delta in deltas.values())
    assert {f.name for f in features} == set(deltas)
    _, variance_after = model.score_moments(state, features)
    assert variance_after < variance_before

    # And a dismissal lowers it again while still adding precision
    raised = model.predictive_conversion(state, features)
    deltas = model.posterior_update(state, features, converted=False)
    state.apply(deltas)
    assert model.predictive_conversion(state, features) < raised
    assert all(delta.precision_delta > 0 for delta in deltas.values())


def test_posterior_update_is_pure():
    state = model.ModelState()
    model.posterior_update(state, features_of(SWORD), converted=True)
    assert state.stats == {}


def test_predictions_are_calibrated_after_enough_evidence():
    # Given 4,000 showings of one offer in one context that converts 20% of the time
    rng = random.Random(3)
    state = model.ModelState()
    for _ in range(4000):
        learn(state, GOLD, rng.random() < 0.2)

    # Then the predictive conversion probability is close to the true rate
    assert model.predictive_conversion(state, features_of(GOLD)) == pytest.approx(0.2, abs=0.03)


def test_exploration_shrinks_as_evidence_grows():
    # Given two equally priced offers, one converting at 30% and one at 10%, learned online by Thompson sampling
    rng = random.Random(11)
    state = model.ModelState()
    true_rate = {SWORD.offer_id: 0.30, POTIONS.offer_id: 0.10}
    offers = {SWORD.offer_id: SWORD, POTIONS.offer_id: POTIONS}
    worse_choices = []
    for _ in range(1500):
        top = model.recommend(state, CONTEXT, [SWORD, POTIONS], frozenset(), 1, rng)[0]
        worse_choices.append(top.offer_id == POTIONS.offer_id)
        learn(state, offers[top.offer_id], rng.random() < true_rate[top.offer_id])

    # Then the worse offer is explored less and less, and the better one's weight is ever more certain
    early, late = sum(worse_choices[:300]), sum(worse_choices[-300:])
    assert late < early / 2
    assert late < 30
    sword_weight = next(f for f in features_of(SWORD) if f.name == f"o={SWORD.offer_id}")
    assert state.moments(sword_weight)[1] < model.PRIORS[sword_weight.kind].variance / 4


def test_cold_start_prefers_offers_that_fill_an_inventory_gap():
    # Given no feedback at all and two offers at the same price, one granting what the player is missing
    gaps = normalize_gaps(["legendary_sword"])
    state = model.ModelState()

    # When recommending under many seeds
    tops = [
        model.recommend(state, CONTEXT, [POTIONS, SWORD], gaps, 2, random.Random(seed))[0].offer_id
        for seed in range(300)
    ]

    # Then the gap-filling offer has the higher score and ranks first most of the time
    ranked = model.recommend(state, CONTEXT, [POTIONS, SWORD], gaps, 2, random.Random(0))
    scores = {offer.offer_id: offer.score for offer in ranked}
    assert scores[SWORD.offer_id] > scores[POTIONS.offer_id]
    assert next(o for o in ranked if o.offer_id == SWORD.offer_id).gap_match
    assert tops.count(SWORD.offer_id) > 200


def test_scores_are_expected_revenue_over_the_highest_price_and_ranks_are_dense():
    state = model.ModelState()
    ranked = model.recommend(state, CONTEXT, [SWORD, POTIONS, GOLD], frozenset(), 5, random.Random(1))

    assert [offer.rank for offer in ranked] == [1, 2, 3]
    for offer in ranked:
        assert 0.0 <= offer.score <= 1.0
        assert offer.score == pytest.approx(offer.expected_revenue_usd / 9.99, abs=1e-6)
        assert offer.expected_revenue_usd == pytest.approx(
            offer.conversion_probability
            * {"summer_blade_bundle": 9.99, "health_pack_10x": 9.99}.get(offer.offer_id, 4.99)
        )
    assert len(model.recommend(state, CONTEXT, [SWORD, POTIONS, GOLD], frozenset(), 2, random.Random(1))) == 2
    assert model.recommend(state, CONTEXT, [], frozenset(), 5, random.Random(1)) == []


def test_a_fixed_seed_reproduces_the_ranking():
    state = model.ModelState()
    learn(state, GOLD, True, times=3)
    offers = [SWORD, POTIONS, GOLD, OfferFeatures("pet_egg", 2.99, ("pets",))]
    first = model.recommend(state, CONTEXT, offers, frozenset({"pets"}), 4, random.Random(42))
    again = model.recommend(state, CONTEXT, offers, frozenset({"pets"}), 4, random.Random(42))
    assert first == again
    orders = {
        tuple(o.offer_id for o in model.recommend(state, CONTEXT, offers, frozenset(), 4, random.Random(s)))
        for s in range(50)
    }
    assert len(orders) > 1  # other seeds explore other orders


def test_overdue_exposures_are_those_without_outcome_past_the_window():
    shown = Exposure("int_1", SWORD, CONTEXT, False, T0)
    resolved = Exposure("int_2", POTIONS, CONTEXT, False, T0, outcome="dismissed")
    recent = Exposure("int_3", GOLD, CONTEXT, False, T0 + timedelta(hours=2))
    exposures = [shown, resolved, recent]

    assert overdue(exposures, T0 + DEFAULT_EXPIRY_WINDOW - timedelta(seconds=1)) == []
    assert overdue(exposures, T0 + DEFAULT_EXPIRY_WINDOW) == [shown]
    assert overdue(exposures, T0 + timedelta(days=2)) == [shown, recent]
    assert overdue(exposures, T0 + timedelta(minutes=5), window=timedelta(minutes=5)) == [shown]


def test_only_a_first_outcome_or_a_later_conversion_may_be_recorded():
    assert allowed_transition(None, "dismissed")
    assert allowed_transition("expired", "converted")
    assert allowed_transition("dismissed", "converted")  # closed the offer, then bought it
    assert not allowed_transition("converted", "converted")  # a retry
    assert not allowed_transition("dismissed", "dismissed")
    assert not allowed_transition("converted", "dismissed")
    assert not allowed_transition("expired", "expired")


def test_unknown_outcomes_are_refused():
    with pytest.raises(ValueError):
        model.outcome_converted("clicked")


def test_player_history_counts_recent_conversions_and_the_highest_price_paid():
    # Given a player's log: two conversions (one of them 31 days old), a dismissal and an open exposure
    def shown(offer, days_ago, outcome):
        return Exposure(f"oint_{days_ago}", offer, CONTEXT, 0, T0 - timedelta(days=days_ago), outcome)

    log = [shown(SWORD, 31, "converted"), shown(GOLD, 2, "converted"), shown(POTIONS, 1, "dismissed")]

    # Then only the recent conversion counts: one purchase, price band of $4.99; no purchase -> no features
    assert player_history(log, T0) == ("buys=1", "paid=5")
    assert player_history([*log, shown(SWORD, 0, "converted")], T0) == ("buys=2", "paid=7")
    assert player_history(log[2:], T0) == ()
    assert history_features([0.99] * 10) == ("buys=3", "paid=0")


def test_history_features_are_context_main_effects_without_crosses():
    context = CONTEXT + history_features([9.99])
    names = {feature.name: feature for feature in pair_features(context, SWORD, 0)}
    assert names["buys=1"].kind == names["paid=7"].kind == "context"
    assert not [name for name in names if "|" in name and name.startswith(("buys=", "paid="))]


def test_purchase_history_separates_buyers_from_non_buyers_in_the_same_session_context():
    # Given players who bought before keep buying, and players with no purchase never do
    state = model.ModelState()
    spender = CONTEXT + history_features([99.99])
    for _ in range(40):
        for offer in (SWORD, GOLD):
            learn(state, offer, True, context=spender)
            learn(state, offer, False, context=CONTEXT)

    # Then, for the same session context and offer, the model predicts far more conversions with the history
    for offer in (SWORD, GOLD, POTIONS):
        with_history = model.predictive_conversion(state, pair_features(spender, offer, 0))
        without = model.predictive_conversion(state, pair_features(CONTEXT, offer, 0))
        assert with_history > 3 * without


def trained_on_a_good_and_a_poor_offer(seed: int) -> model.ModelState:
    """A model that has seen SWORD convert ~30% and GOLD ~2% of 400 showings each."""
    rng = random.Random(seed)
    state = model.ModelState()
    for _ in range(400):
        learn(state, SWORD, rng.random() < 0.30)
        learn(state, GOLD, rng.random() < 0.02)
    return state


def test_offers_almost_surely_worse_are_not_drawn_but_offers_without_evidence_still_are():
    # Given an offer learnt to convert well, one learnt to convert poorly, and a new, pricier offer never shown
    state = trained_on_a_good_and_a_poor_offer(seed=5)
    new_offer = OfferFeatures("dragon_mount_bundle", 49.99, ("dragon_mount", "pets"))
    offers = [SWORD, GOLD, new_offer]

    # When recommending under many seeds
    rankings = [model.recommend(state, CONTEXT, offers, frozenset(), 3, random.Random(seed)) for seed in range(300)]

    # Then the poor offer, whose value one posterior sd above its mean is below the good offer's mean, never
    # ranks first and always ranks last; the new offer, with no evidence, is still drawn for the top
    tops = [ranked[0].offer_id for ranked in rankings]
    assert GOLD.offer_id not in tops
    assert all(ranked[-1].offer_id == GOLD.offer_id for ranked in rankings)
    assert 0 < tops.count(new_offer.offer_id) < 300
    assert tops.count(SWORD.offer_id) > 0


def test_an_offer_without_evidence_contends_even_when_its_optimistic_value_is_below_the_best():
    # Given a good offer and a poor one with evidence, and a new cheap offer that could not beat the good one
    state = trained_on_a_good_and_a_poor_offer(seed=8)
    cheap_new = OfferFeatures("sticker_pack", 0.99, ("stickers",))
    mean, _ = model.score_moments(state, features_of(SWORD))
    assert model.sigmoid(mean) * SWORD.price_usd > cheap_new.price_usd  # even p = 1 would not reach it

    # When recommending under many seeds
    rankings = [
        model.recommend(state, CONTEXT, [GOLD, cheap_new, SWORD], frozenset(), 3, random.Random(seed))
        for seed in range(100)
    ]

    # Then the new offer still contends (ranked among the contenders, before the eliminated poor offer)
    assert all(
        [o.offer_id for o in ranked] == [SWORD.offer_id, cheap_new.offer_id, GOLD.offer_id] for ranked in rankings
    )


def test_offers_whose_long_ids_share_a_prefix_learn_apart():
    # Given two offers whose ids (valid up to 64 characters) share their first 48 characters
    prefix = "season_2026_winter_holiday_bundle_legendary_pack"
    assert len(prefix) == 48
    small = OfferFeatures(prefix + "_small", 4.99, ("gold",))
    large = OfferFeatures(prefix + "_large", 4.99, ("gold",))
    state = model.ModelState()
    before = model.predictive_conversion(state, features_of(large))

    # When only the small one is learnt about (it keeps converting)
    learn(state, small, converted=True, times=20)

    # Then the two have their own id weights (names stay within the bound), and the large one moved only through
    # the weights they truly share (bias, price, grant), not as if it were the same offer
    small_names = {f.name for f in features_of(small)}
    large_names = {f.name for f in features_of(large)}
    offer_only = small_names - large_names
    assert offer_only and all(len(name.split("|")[-1]) <= 2 + 48 for name in small_names)
    shared_gain = model.predictive_conversion(state, features_of(large)) - before
    own_gain = model.predictive_conversion(state, features_of(small)) - before
    assert 0 < shared_gain < own_gain


def test_clipped_names_clip_to_themselves():
    # A logged exposure keeps clipped grants; rebuilding its features clips them again and must not change them
    long_grant = "x" * 30 + "legendary_sword_of_the_northern_winter_season"
    offer = OfferFeatures("sword", 9.99, (long_grant,))
    logged = OfferFeatures("sword", 9.99, offer.learnt_grants())
    assert offer.descriptors() == logged.descriptors()
    assert offer.learnt_grants() != (long_grant[:48],)


def test_common_segment_names_are_learnt_apart():
    # Given segments a game may well use together ("whale" and "lapsed" shared a bucket when segments were hashed
    # into 128)
    whales = context_features({"level": 34, "segment": "whale"})
    lapsed = context_features({"level": 34, "segment": "lapsed"})

    # Then each has its own segment weights (main effect, cross with the offer, price slope): whales' purchases
    # move the whale ones and leave the lapsed ones at their prior
    state = model.ModelState()
    learn(state, GOLD, converted=True, times=30, context=whales)
    whale_only = {f.name for f in features_of(GOLD, context=whales)} - {
        f.name for f in features_of(GOLD, context=lapsed)
    }
    lapsed_only = {f.name for f in features_of(GOLD, context=lapsed)} - {
        f.name for f in features_of(GOLD, context=whales)
    }
    assert len(whale_only) == len(lapsed_only) == 3
    assert whale_only <= set(state.stats)
    assert not lapsed_only & set(state.stats)


def test_the_models_items_stay_within_dynamodbs_item_limit_whatever_a_game_sends():
    # Given every feature name a game's requests can produce in the shared item and in one offer's item (every
    # segment bucket, every extra key bucket and value, every level and minutes band, purchase history, a 64-char id)
    offer_id = "o" * 64
    context = {f"seg=h{bucket}" for bucket in range(STRING_BUCKETS)}
    context |= {f"lvl={band}" for band in range(-1, MAX_LEVEL_BAND + 1)}
    context |= {f"min={band}" for band in range(-1, 42)}
    for key in range(EXTRA_KEY_BUCKETS):
        context |= {f"x{key}=true", f"x{key}=false"}
        context |= {f"x{key}#{band}" for band in range(-1, 42)}
        context |= {f"x{key}=h{bucket}" for bucket in range(EXTRA_STRING_BUCKETS)}
    context |= {f"buys={count}" for count in (1, 2, 3)} | {f"paid={band}" for band in range(-14, 41)}
    offer = OfferFeatures(offer_id, 99.99, ())
    names = {f.name for name in sorted(context) for f in pair_features((name,), offer, GAP_COUNT_CAP)}
    by_item: dict[str, set[str]] = {}
    for name in names:
        by_item.setdefault(store.feature_group(name), set()).add(name)

    # Then each model item, with both numbers of every feature at their longest, stays well inside 400 KB
    longest_number = "-1.23456789012e-300"
    for group in ("S", f"O#{offer.descriptors()[0][2:]}"):
        item = {"PK": "OFFERMODEL#" + "g" * 64, "SK": group, "updates": "9" * 12}
        for name in by_item[group]:
            item[f"q:{name}"] = item[f"e:{name}"] = longest_number
        assert dynamo.stored_size(item) < 350_000, group
