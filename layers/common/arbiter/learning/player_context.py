"""What the learner knows about the player of a request: the session's context features, the player's purchase
history, and the segment the player behaves like (docs/decisions.md, D12).

A game's `segment` is its own label for a player (whale, low-spender, ...). It decides the segment's weights the
model uses (its price slope, its crosses with each offer), and it is often wrong for a given player: a game labels
by rules that a player's spending soon contradicts. So the segment the game reports is a prior, not a fact:

- the hypotheses are the segments the model has learnt (those with a main-effect weight in the model, at most
  MAX_SEGMENT_HYPOTHESES, the most learnt first), plus the one reported;
- prior: REPORTED_SEGMENT_TRUST on the reported segment, the rest shared equally by the others;
- likelihood: the player's last EVIDENCE_OUTCOMES resolved exposures (converted, dismissed, expired; an
  exposure past the expiry window with no outcome counts as expired, as store.expire_overdue is resolving it in
  the same request), each scored by the model's posterior means with the exposure's logged features and the
  hypothesis's segment in place of the logged one;
- the most probable segment replaces the reported one in the request's context (ties keep the reported one; a
  request without a segment is left as it is).
  It ranks the offers and is logged with the exposures, so the player's outcomes teach the weights of the
  segment they behave like: the segments grow apart as players are sorted into them.

The alternatives measured in the offers benchmark (docs/benchmarks.md), all lower: sampling the segment from its
posterior instead of taking the most probable one, and ranking by the posterior mixture of the segments'
expected revenues.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from arbiter.learning.exposure import Exposure, overdue, player_history
from arbiter.learning.features import (
    SEGMENT_PREFIX,
    Feature,
    OfferFeatures,
    context_features,
    context_terms,
    offer_log_price,
    pair_features,
)
from arbiter.learning.model import ModelState, score_moments, sigmoid

REPORTED_SEGMENT_TRUST = 0.85
EVIDENCE_OUTCOMES = 50
MAX_SEGMENT_HYPOTHESES = 8


def player_context(
    state: ModelState, session_context: Mapping[str, object], exposures: Sequence[Exposure], now: datetime
) -> tuple[str, ...]:
    """The context features of a recommend request: the session's, the player's purchase history
    (exposure.player_history), and the segment the player behaves like in place of the one reported."""
    context = context_features(session_context) + player_history(exposures, now)
    reported = next((name for name in context if _is_segment(name)), None)
    if reported is None:
        return context
    behaves_like = inferred_segment(state, reported, exposures, now)
    if behaves_like == reported:
        return context
    return tuple(behaves_like if name == reported else name for name in context)


def inferred_segment(state: ModelState, reported: str, exposures: Sequence[Exposure], now: datetime) -> str:
    """The most probable segment feature of a player the game reports as `reported` (module docstring)."""
    expiring = set(overdue(exposures, now))
    evidence = sorted(
        (e for e in exposures if e.outcome is not None or e in expiring), key=lambda e: e.shown_at, reverse=True
    )
    hypotheses = learnt_segments(state)
    if not evidence or not hypotheses or hypotheses == [reported]:
        return reported
    if reported not in hypotheses:
        hypotheses.append(reported)
    others_prior = math.log((1.0 - REPORTED_SEGMENT_TRUST) / (len(hypotheses) - 1))
    log_posterior = {
        segment: math.log(REPORTED_SEGMENT_TRUST) if segment == reported else others_prior for segment in hypotheses
    }
    scores = _MeanScores(state)
    for exposure in evidence[:EVIDENCE_OUTCOMES]:
        converted = exposure.outcome == "converted"
        offer = exposure.offer
        base = scores.offer_part(offer, exposure.gap_match) + sum(
            scores.context_part(name, offer) for name in exposure.context if not _is_segment(name)
        )
        for segment in hypotheses:
            p = sigmoid(base + scores.context_part(segment, offer))
            log_posterior[segment] += math.log(max(p if converted else 1.0 - p, 1e-12))
    return max(hypotheses, key=lambda segment: (log_posterior[segment], segment == reported))


def learnt_segments(state: ModelState) -> list[str]:
    """The segment features with a learnt main effect, the most learnt first (at most MAX_SEGMENT_HYPOTHESES)."""
    learnt = [(stats.precision_delta, name) for name, stats in state.stats.items() if _is_segment(name)]
    learnt.sort(key=lambda pair: (-pair[0], pair[1]))
    return [name for _, name in learnt[:MAX_SEGMENT_HYPOTHESES]]


def _is_segment(name: str) -> bool:
    return name.startswith(SEGMENT_PREFIX) and "|" not in name


class _MeanScores:
    """Posterior-mean scores of the parts of a pair's features (features.pair_features: the offer's own
    features plus each context feature's terms), memoised for one request: a player's log repeats offers and
    context features."""

    def __init__(self, state: ModelState):
        self.state = state
        self.offer_parts: dict[tuple[OfferFeatures, int], float] = {}
        self.context_parts: dict[tuple[str, OfferFeatures], float] = {}

    def offer_part(self, offer: OfferFeatures, gap_match: int) -> float:
        key = (offer, gap_match)
        if key not in self.offer_parts:
            self.offer_parts[key] = self._score(pair_features((), offer, gap_match))
        return self.offer_parts[key]

    def context_part(self, name: str, offer: OfferFeatures) -> float:
        key = (name, offer)
        if key not in self.context_parts:
            self.context_parts[key] = self._score(context_terms(name, offer.descriptors()[0], offer_log_price(offer)))
        return self.context_parts[key]

    def _score(self, features: Sequence[Feature]) -> float:
        return score_moments(self.state, features)[0]
