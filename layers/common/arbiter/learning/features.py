"""Features of one (player context, offer) pair for the offers learner.

The model is a logistic regression over sparse, named features (docs/decisions.md, "Offers learner"):

- context features come from `session_context`: the seed's well-known keys (level in half-octave bands,
  minutes_played in octave bands, segment hashed) and up to MAX_EXTRA_CONTEXT_KEYS other scalar keys, in
  sorted key order (numbers banded, booleans as values, strings hashed into buckets); they are
  the same for every offer in a request; the other keys' names are hashed into EXTRA_KEY_BUCKETS buckets, so the
  model stays bounded whatever keys a game sends;
- offer descriptors are the offer's id, its price band and the items/categories it grants;
- the pair's features are a bias, ln(price) (a real value), each descriptor, each context feature, the
  crosses of the personalizing keys (level band and segment: PERSONALIZING_PREFIXES) with the offer's id,
  a per-segment ln(price) slope (price sensitivity differs by segment and generalizes across price bands),
  and the inventory-gap match: any match, how many of the offer's grants are gaps (GAP_COUNT_CAP at most), and
  the match per offer. Other context keys get main effects only: crossing every key with every descriptor
  multiplied the weights Thompson sampling must explore, and cost revenue in the benchmark (docs/benchmarks.md).
  The match count separates an offer granting the missing item (item and category both match) from one that
  only shares a category with it.
- the player's own purchase history (history_features, from the recommendation log by
  arbiter.learning.exposure.player_history) joins the context: conversions (1, 2, 3+) and the price band of
  the most expensive offer bought, main effects only like the other extra keys (crossing them with the price
  band, giving them a ln(price) slope, or all descriptors, scored the same or lower in the benchmark).
- the segment the game reports can be replaced by the segment the player behaves like
  (arbiter.learning.player_context, which builds a request's context from these functions).

Names are plain strings (they are the model's keys in DynamoDB), bounded in length so an item stays small.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from hashlib import blake2b

MAX_EXTRA_CONTEXT_KEYS = 8
# Free-form strings are hashed into buckets, so a game sending a high-cardinality value (a session id) cannot grow
# the model without bound: the segment into STRING_BUCKETS, other keys' values into EXTRA_STRING_BUCKETS. Two
# segments of a bucket are learnt as one, so the segment's buckets are many: 10 segments share a bucket with
# probability ~4% at 1,024 (~30% at 128, where "whale" and "lapsed" did). The bound that matters is the model's
# items: 1,024 segments' main effects and price slopes add ~100 KB to the shared `S` item and their crosses ~150 KB
# to an offer's `O#` item at most, within DynamoDB's 400 KB (tests/test_offers_learner.py checks the worst case).
STRING_BUCKETS = 1024
# Other keys' names are hashed too (the hashing trick): a game sending new key names on every request would
# otherwise add features to the model's shared item (store: `S`) until it passed DynamoDB's 400 KB item limit.
# Two keys of a bucket share a feature only when their values also fall in the same bucket or band.
EXTRA_KEY_BUCKETS = 32
EXTRA_STRING_BUCKETS = 16
# Levels past 2^20 share the top half-octave band (bounded like every other feature family).
MAX_LEVEL_BAND = 40
MAX_NAME_PART = 48
MAX_GRANT_DESCRIPTORS = 4

# Feature kinds: each has its own prior (arbiter.learning.model.PRIORS).
BIAS = "bias"
LOG_PRICE = "log_price"
GAP = "gap"
OFFER = "offer"
CONTEXT = "context"
CROSS = "cross"
GAP_OFFER = "gap_offer"
GAP_COUNT = "gap_count"
PRICE_SLOPE = "price_slope"

GAP_COUNT_CAP = 3
# Player-history context features (history_features): conversions so far and the highest price paid.
HISTORY_BUYS_PREFIX = "buys="
HISTORY_PAID_PREFIX = "paid="
HISTORY_BUYS_CAP = 3
SEGMENT_PREFIX = "seg="
# Context features whose crosses with the offer's descriptors personalize the ranking.
PERSONALIZING_PREFIXES = ("lvl=", SEGMENT_PREFIX)
# Context features that get their own ln(price) slope: how price-sensitive a segment is holds across offers.
PRICE_SLOPE_PREFIXES = (SEGMENT_PREFIX,)

_WELL_KNOWN_KEYS = ("level", "minutes_played", "segment")


@dataclass(frozen=True, slots=True)
class OfferFeatures:
    """What the learner needs to know about an offer: its id, price and what it grants."""

    offer_id: str
    price_usd: float
    grants: tuple[str, ...] = ()

    def descriptors(self) -> tuple[str, ...]:
        return (
            offer_descriptor(self.offer_id),
            f"pb={price_band(self.price_usd)}",
            *(f"g={grant}" for grant in self.learnt_grants()),
        )

    def learnt_grants(self) -> tuple[str, ...]:
        """The grants the model has features for (at most MAX_GRANT_DESCRIPTORS, clipped): all a logged exposure
        needs to rebuild its features, so the log keeps these rather than every grant."""
        return tuple(sorted({_clip(grant) for grant in self.grants})[:MAX_GRANT_DESCRIPTORS])

    def gap_matches(self, gaps: frozenset[str]) -> int:
        """How many of the offer's distinct grants are inventory gaps (0 = no match)."""
        return sum(1 for grant in set(self.grants) if grant in gaps)


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    kind: str
    value: float = 1.0


def _clip(text: str) -> str:
    """A name part of at most MAX_NAME_PART characters that stays distinct: a longer text keeps its start and ends
    in a digest of the whole, so two offer ids (up to 64 characters) or grants sharing their first 48 characters
    do not share a weight. Idempotent (a clipped name clips to itself), as logged grants are clipped again."""
    text = str(text)
    if len(text) <= MAX_NAME_PART:
        return text
    digest = blake2b(text.encode(), digest_size=4).hexdigest()
    return f"{text[: MAX_NAME_PART - len(digest) - 1]}~{digest}"


def offer_descriptor(offer_id: str) -> str:
    """An offer's id descriptor (`o=<id>`, clipped): its own weights are named after it (store: its `O#` item)."""
    return f"o={_clip(offer_id)}"


def band(value: float) -> int:
    """log2 band of a non-negative number: 0 -> 0, 1 -> 1, 2-3 -> 2, 4-7 -> 3, ...; negatives -> -1."""
    if value != value or value < 0:  # NaN or negative
        return -1
    return min(int(value), 2**40).bit_length()


def half_octave(value: float) -> int:
    """Bands of half an octave for values >= 1 (1, 1.4, 2, 2.8, 4, ...): 0 -> 0, 2 -> 2, 34 -> 10."""
    return round(2 * math.log2(max(value, 1.0)))


def price_band(price_usd: float) -> int:
    """Prices in half-octaves: 0.99 and 1.99 differ, 9.99 and 10.99 do not."""
    return round(2 * math.log2(max(price_usd, 0.01)))


def context_features(session_context: Mapping[str, object]) -> tuple[str, ...]:
    """The request's context features, sorted and deduplicated (deterministic for a given context)."""
    names: set[str] = set()
    level = session_context.get("level")
    if _is_number(level):
        # Half octaves: what suits a player changes faster with level than an octave band resolves.
        names.add(f"lvl={min(half_octave(float(level)), MAX_LEVEL_BAND) if level >= 0 else -1}")
    minutes = session_context.get("minutes_played")
    if _is_number(minutes):
        names.add(f"min={band(float(minutes))}")
    segment = session_context.get("segment")
    if isinstance(segment, str):
        names.add(segment_feature(segment))
    extra_keys = sorted(key for key in session_context if key not in _WELL_KNOWN_KEYS)[:MAX_EXTRA_CONTEXT_KEYS]
    for key in extra_keys:
        value = session_context[key]
        name = f"x{key_bucket(key)}"
        if isinstance(value, bool):
            names.add(f"{name}={str(value).lower()}")
        elif _is_number(value):
            names.add(f"{name}#{band(float(value))}")
        elif isinstance(value, str):
            names.add(f"{name}={string_bucket(value, EXTRA_STRING_BUCKETS)}")
        # Nested objects and lists carry no feature: their meaning is game-specific.
    return tuple(sorted(names))


def history_features(conversion_prices: Iterable[float]) -> tuple[str, ...]:
    """The player's own purchase history as context features: how many conversions (1, 2, 3+) and the price
    band of the most expensive offer bought; none for a player who has bought nothing. What a player paid before
    says more about what they will pay than the segment the game sends (exposure.player_history feeds it)."""
    prices = [float(price) for price in conversion_prices]
    if not prices:
        # No feature for "no purchase yet": every new player has it; it scored lower in the benchmark.
        return ()
    return (
        f"{HISTORY_BUYS_PREFIX}{min(len(prices), HISTORY_BUYS_CAP)}",
        f"{HISTORY_PAID_PREFIX}{price_band(max(prices))}",
    )


def segment_feature(segment: str) -> str:
    """The context feature of a segment the game reports."""
    return f"{SEGMENT_PREFIX}{string_bucket(segment)}"


def string_bucket(value: str, buckets: int = STRING_BUCKETS) -> str:
    return f"h{_hash(value.strip().lower(), buckets)}"


def key_bucket(key: str) -> int:
    """The bucket of an extra context key's name (exact: names are the game's own identifiers)."""
    return _hash(key, EXTRA_KEY_BUCKETS)


def _hash(text: str, buckets: int) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=4).digest(), "little") % buckets


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def normalize_gaps(inventory_gaps: Iterable[str]) -> frozenset[str]:
    return frozenset(str(gap) for gap in inventory_gaps)


def pair_features(context: tuple[str, ...], offer: OfferFeatures, gap_match: int) -> list[Feature]:
    """Every feature of showing `offer` in `context`; `gap_match` is the offer's gap match count
    (OfferFeatures.gap_matches; a bool reads as 0 or 1, as exposures logged before counts were kept)."""
    descriptors = offer.descriptors()
    log_price = offer_log_price(offer)
    features = [Feature("bias", BIAS), Feature("lp", LOG_PRICE, log_price)]
    features += [Feature(d, OFFER) for d in descriptors]
    for name in context:
        features += context_terms(name, descriptors[0], log_price)
    if gap_match:
        features += [
            Feature("gap", GAP),
            Feature(f"gapn={min(int(gap_match), GAP_COUNT_CAP)}", GAP_COUNT),
            Feature(f"gap|{descriptors[0]}", GAP_OFFER),
        ]
    return features


def offer_log_price(offer: OfferFeatures) -> float:
    return math.log(max(offer.price_usd, 0.01))


def context_terms(name: str, offer_id: str, log_price: float) -> list[Feature]:
    """The features one context feature adds to a pair: its main effect, its cross with the offer's id if it
    personalizes, its ln(price) slope if it has one. `offer_id` is the offer's id descriptor (`o=...`)."""
    terms = [Feature(name, CONTEXT)]
    # Crossed with the offer's id only: the shared descriptors (price band, grants) stay main effects, which
    # learn from every offer carrying them; crossing them too multiplied the weights Thompson sampling explores.
    if name.startswith(PERSONALIZING_PREFIXES):
        terms.append(Feature(f"{name}|{offer_id}", CROSS))
    if name.startswith(PRICE_SLOPE_PREFIXES):
        terms.append(Feature(f"{name}|lp", PRICE_SLOPE, log_price))
    return terms
