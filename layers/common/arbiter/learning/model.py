"""The offers learner: Bayesian logistic regression with a diagonal Gaussian posterior and Thompson sampling.

Objective: expected revenue per recommendation, P(convert | context, offer) x price.

- Each feature weight w_i ~ N(mu_i, sigma_i^2), independent (diagonal posterior). The prior mean and variance
  depend on the feature's kind (PRIORS): that is the cold start - a new offer is scored from its price
  (conversion falls with ln price) and its inventory-gap match (a gap match raises the odds ~4.5x) before any
  feedback exists.
- Update (assumed-density filtering, as in AdPredictor but with a logistic link): the score s = sum x_i w_i is
  Gaussian N(m, v); one outcome y moves it to N(m + v*a, v - v^2*b), a = k(y - p), b = k^2 p(1 - p),
  k = 1/sqrt(1 + pi v / 8), p = sigmoid(k m), and each weight takes its share x_i sigma_i^2 / v of the move.
  Every update shrinks every touched variance, so exploration shrinks as evidence grows.
- The update is stored as deltas of natural parameters (precision q = 1/sigma^2 and eta = mu q): those add, so
  concurrent feedback commutes through DynamoDB ADD and none is lost (arbiter.learning.store).
- Recommend: draw each active weight once from its posterior (Thompson sampling), rank offers by
  sigmoid(sampled score) x price, among the offers still in contention (Thompson sampling with elimination):
  an offer whose value one posterior sd above its mean, sigmoid(mean + sd) x price, is below the best
  posterior-mean value sigmoid(mean) x price of the request is almost surely worse, so it is not drawn for the
  top and ranks after the contenders; an offer whose id weight keeps more than half its prior variance (little
  evidence yet, e.g. a new offer or one only now eligible for levels players reach late) always contends, so
  elimination cannot lock the model out of offers it has not learnt. Score returned = the posterior-mean
  expected revenue divided by the highest price among the candidate offers: in 0..1, and score x that price is
  the expected USD revenue of showing the offer (calibrated: the predictive P(convert) integrates the weight
  uncertainty).
"""

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from arbiter.learning.features import (
    BIAS,
    CONTEXT,
    CROSS,
    GAP,
    GAP_COUNT,
    GAP_OFFER,
    LOG_PRICE,
    OFFER,
    PRICE_SLOPE,
    Feature,
    OfferFeatures,
    pair_features,
)


@dataclass(frozen=True, slots=True)
class Prior:
    mean: float
    variance: float


# Cold-start beliefs. Base conversion ~3% at $1, falling with price (revenue still rises slowly with price),
# a gap match multiplies the odds by e^1.5; everything else starts neutral with modest uncertainty so the first
# outcomes cannot swing a score far (many features share each update).
PRIORS: dict[str, Prior] = {
    BIAS: Prior(math.log(0.03 / 0.97), 1.0),
    LOG_PRICE: Prior(-0.6, 0.05),
    GAP: Prior(1.5, 0.5),
    OFFER: Prior(0.0, 0.3),
    CONTEXT: Prior(0.0, 0.2),
    CROSS: Prior(0.0, 0.1),
    GAP_OFFER: Prior(0.0, 0.2),
    GAP_COUNT: Prior(0.0, 0.5),  # item-level vs category-only matches: learnt, no prior direction
    PRICE_SLOPE: Prior(0.0, 0.05),  # a segment's deviation from the shared ln(price) weight
}

OUTCOMES = ("converted", "dismissed", "expired")

# Thompson sampling with elimination (recommend): an offer contends while sigmoid(mean + ELIMINATION_SD x sd) x price
# reaches the best posterior-mean value, or while its id weight keeps more than NEW_OFFER_VARIANCE_SHARE of its
# prior variance. Both measured in the offers benchmark (docs/benchmarks.md): 0.5 sd or 0.75 sd without the new-offer
# rule locked onto early favourites on some seeds; 1 sd with it earned more on 13 of 16 seed x stream pairs.
ELIMINATION_SD = 1.0
NEW_OFFER_VARIANCE_SHARE = 0.5


@dataclass(slots=True)
class FeatureStats:
    """What the store keeps per feature: precision and eta (= mean x precision) added since the prior."""

    precision_delta: float = 0.0
    eta_delta: float = 0.0


@dataclass(slots=True)
class ModelState:
    """A game's model: stats per feature name (absent = prior). Posterior moments are memoised on read."""

    stats: dict[str, FeatureStats] = field(default_factory=dict)
    _moments: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def moments(self, feature: Feature) -> tuple[float, float]:
        """(posterior mean, posterior variance) of the feature's weight."""
        cached = self._moments.get(feature.name)
        if cached is not None:
            return cached
        prior = PRIORS[feature.kind]
        stats = self.stats.get(feature.name)
        if stats is None:
            moments = (prior.mean, prior.variance)
        else:
            precision = 1.0 / prior.variance + stats.precision_delta
            moments = ((prior.mean / prior.variance + stats.eta_delta) / precision, 1.0 / precision)
        self._moments[feature.name] = moments
        return moments

    def apply(self, deltas: Mapping[str, FeatureStats]) -> None:
        """Add an update (what the store does with ADD, done on a local copy)."""
        for name, delta in deltas.items():
            stats = self.stats.setdefault(name, FeatureStats())
            stats.precision_delta += delta.precision_delta
            stats.eta_delta += delta.eta_delta
            self._moments.pop(name, None)


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _probit_scale(variance: float) -> float:
    return 1.0 / math.sqrt(1.0 + math.pi * variance / 8.0)


def score_moments(state: ModelState, features: Iterable[Feature]) -> tuple[float, float]:
    mean = variance = 0.0
    for feature in features:
        mu, var = state.moments(feature)
        mean += feature.value * mu
        variance += feature.value * feature.value * var
    return mean, variance


def conversion_from_moments(mean: float, variance: float) -> float:
    """P(convert) with the weight uncertainty integrated out (probit approximation of the logistic-normal)."""
    return sigmoid(mean * _probit_scale(variance))


def predictive_conversion(state: ModelState, features: Sequence[Feature]) -> float:
    return conversion_from_moments(*score_moments(state, features))


def posterior_update(state: ModelState, features: Sequence[Feature], converted: bool) -> dict[str, FeatureStats]:
    """The deltas one outcome adds to the model (pure: `state` is not changed)."""
    mean, variance = score_moments(state, features)
    if variance <= 0.0:
        return {}
    k = _probit_scale(variance)
    p = sigmoid(k * mean)
    a = k * ((1.0 if converted else 0.0) - p)
    b = k * k * p * (1.0 - p)
    deltas: dict[str, FeatureStats] = {}
    for feature in features:
        mu, var = state.moments(feature)
        share = feature.value * var
        new_mu = mu + share * a
        new_var = var - share * share * b  # stays > 0: v*b < 2/pi < 1
        delta = deltas.setdefault(feature.name, FeatureStats())
        delta.precision_delta += 1.0 / new_var - 1.0 / var
        delta.eta_delta += new_mu / new_var - mu / var
    return deltas


def outcome_converted(outcome: str) -> bool:
    """converted -> a positive example; dismissed and expired -> a negative one."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    return outcome == "converted"


@dataclass(frozen=True, slots=True)
class RankedOffer:
    offer_id: str
    score: float  # posterior-mean expected revenue / max candidate price, 0..1
    rank: int
    conversion_probability: float
    expected_revenue_usd: float
    gap_match: int  # how many of the offer's grants are inventory gaps (0 = none; truthy = a match)


def recommend(
    state: ModelState,
    context: tuple[str, ...],
    offers: Sequence[OfferFeatures],
    gaps: frozenset[str],
    max_results: int,
    rng: random.Random,
) -> list[RankedOffer]:
    """Rank `offers` (already filtered for eligibility) by a Thompson sample of expected revenue, the offers still
    in contention first (module docstring: Thompson sampling with elimination).

    One weight sample per feature per call, shared by every offer that has the feature. Ties break on offer id
    so a fixed `rng` seed reproduces the ranking exactly.
    """
    if not offers or max_results < 1:
        return []
    sampled: dict[str, float] = {}
    max_price = max(offer.price_usd for offer in offers) or 1.0
    offer_prior_variance = PRIORS[OFFER].variance
    candidates = []
    for offer in offers:
        gap_match = offer.gap_matches(gaps)
        features = pair_features(context, offer, gap_match)
        mean = variance = sampled_score = 0.0
        id_variance = None  # the offer's first OFFER-kind feature is its id (OfferFeatures.descriptors)
        for feature in features:
            mu, var = state.moments(feature)
            weight = sampled.get(feature.name)
            if weight is None:
                weight = sampled[feature.name] = rng.gauss(mu, math.sqrt(var))
            mean += feature.value * mu
            variance += feature.value * feature.value * var
            sampled_score += feature.value * weight
            if id_variance is None and feature.kind == OFFER:
                id_variance = var
        candidates.append(
            _Candidate(
                offer=offer,
                gap_match=gap_match,
                sampled_value=sigmoid(sampled_score) * offer.price_usd,
                mean_value=sigmoid(mean) * offer.price_usd,
                optimistic_value=sigmoid(mean + ELIMINATION_SD * math.sqrt(variance)) * offer.price_usd,
                little_evidence=id_variance is not None
                and id_variance > NEW_OFFER_VARIANCE_SHARE * offer_prior_variance,
                conversion_probability=conversion_from_moments(mean, variance),
            )
        )
    best_mean_value = max(candidate.mean_value for candidate in candidates)
    candidates.sort(key=lambda c: (not c.contends(best_mean_value), -c.sampled_value, c.offer.offer_id))
    return [
        RankedOffer(
            offer_id=c.offer.offer_id,
            score=round(min(1.0, c.conversion_probability * c.offer.price_usd / max_price), 6),
            rank=rank,
            conversion_probability=c.conversion_probability,
            expected_revenue_usd=c.conversion_probability * c.offer.price_usd,
            gap_match=c.gap_match,
        )
        for rank, c in enumerate(candidates[:max_results], start=1)
    ]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One offer of a recommend call: its Thompson-sampled, posterior-mean and optimistic (mean + ELIMINATION_SD
    sd) expected revenue, in USD."""

    offer: OfferFeatures
    gap_match: int
    sampled_value: float
    mean_value: float
    optimistic_value: float
    little_evidence: bool
    conversion_probability: float  # predictive: the weight uncertainty integrated out

    def contends(self, best_mean_value: float) -> bool:
        return self.little_evidence or self.optimistic_value >= best_mean_value
