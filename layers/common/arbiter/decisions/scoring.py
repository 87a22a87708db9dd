"""Scoring methods of a decision flow: priority_weighted, scorecard and the learned propensity model.

Every method returns arbiter.core's Score: value (ranked on), the offer's priority (first tie-break) and an
explanation that becomes the decision's scoreExplanation and the debug trace's featureContributions.
"""

from typing import Any

from arbiter.core import Score
from arbiter.decisions.models import CreativeOutput, OfferOutput, ScoringMethod, Strategy
from arbiter.decisions.rules import condition_reason, in_scope


def fit_multiplier(offer: OfferOutput, attributes: dict[str, Any]) -> float:
    """attributes.propensityScores[<propensityKey or offer id>] when the caller sent one (0..1), else 1.0."""
    scores = attributes.get("propensityScores")
    if not isinstance(scores, dict):
        return 1.0
    value = scores.get(offer.propensity_key or offer.id)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return 1.0
    return float(value)


def learned_propensity(
    offer: OfferOutput, stats: dict[str, dict[str, int]], strategy: Strategy
) -> tuple[float, int, int]:
    """Posterior mean of P(positive outcome | shown) under a Beta(priorPositives, priorNegatives) prior. A showing
    counts one positive however many of click, accept and convert it got (respond's `positives` counter)."""
    counts = stats.get(offer.id, {})
    positives = counts.get("positives", 0)
    trials = max(counts.get("impression", 0), positives + counts.get("dismiss", 0))
    mean = (positives + strategy.prior_positives) / (trials + strategy.prior_positives + strategy.prior_negatives)
    return mean, positives, trials


def score(
    strategy: Strategy,
    offer: OfferOutput,
    creative: CreativeOutput,
    attributes: dict[str, Any],
    context: dict[str, Any],
    stats: dict[str, dict[str, int]],
) -> Score:
    creative_factor = creative.weight / 100
    match strategy.scoring_method:
        case ScoringMethod.SCORECARD:
            base = offer.priority / 100
            contributions = [{"feature": "priority", "value": round(base, 6)}]
            total = base
            for entry in strategy.scorecard:
                if (
                    in_scope(entry.applies_to, offer)
                    and condition_reason(entry.condition, _features(attributes, context)) is None
                ):
                    total += entry.points
                    contributions.append({"feature": entry.condition.field, "rule": entry.name, "value": entry.points})
            value = total * creative_factor
            explanation = {
                "method": "scorecard",
                "modelType": "scorecard",
                "totalScore": round(value, 6),
                "creativeWeight": creative.weight,
                "contributions": contributions,
                "finalScore": round(value, 6),
            }
        case ScoringMethod.PROPENSITY:
            mean, positives, trials = learned_propensity(offer, stats, strategy)
            value = mean * creative_factor
            explanation = {
                "method": "propensity",
                "modelType": "propensity",
                "positives": positives,
                "trials": trials,
                "priorPositives": strategy.prior_positives,
                "priorNegatives": strategy.prior_negatives,
                "creativeWeight": creative.weight,
                "totalScore": round(value, 6),
                "finalScore": round(value, 6),
                "contributions": [
                    {"feature": "learnedPropensity", "value": round(mean, 6)},
                    {"feature": "creativeWeight", "value": creative_factor},
                ],
            }
        case _:
            fit = fit_multiplier(offer, attributes)
            value = (offer.priority / 100) * (offer.weight / 100) * creative_factor * fit
            explanation = {
                "method": "priority_weighted",
                "modelType": "priority_weighted",
                "priority": offer.priority,
                "weight": offer.weight,
                "creativeWeight": creative.weight,
                "fitMultiplier": fit,
                "finalScore": round(value, 6),
                "totalScore": round(value, 6),
                "contributions": [
                    {"feature": "priority", "value": offer.priority / 100},
                    {"feature": "weight", "value": offer.weight / 100},
                    {"feature": "creativeWeight", "value": creative_factor},
                    {"feature": "fitMultiplier", "value": fit},
                ],
            }
    return Score(value=value, priority=offer.priority, details=explanation)


def _features(attributes: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Scorecard fields address attributes directly ("tier") or the request context ("context.device")."""
    return {**attributes, "context": context}
