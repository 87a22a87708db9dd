"""A generic decision pipeline: candidates -> named eligibility filters -> scoring -> ranking/arbitration.

Nothing here knows about ads, offers or DynamoDB. A caller supplies:
- candidates (any objects) and a `key` function giving each a unique, stable string id;
- an ordered list of `EligibilityFilter`s, each `check(candidate, context) -> str | None` (None = eligible,
  a string = the reason it is dropped); cheap filters first, since the first drop ends a candidate's run
  unless every reason is being collected for a debug trace;
- a `scorer(candidate, context) -> Score` for the eligible ones.

Ranking: higher `Score.value` first, then higher `Score.priority`; exact ties on both are ordered by a
salted hash of the key (fair across decisions, identical for a fixed salt), then by the key itself.

Pruning (optional): given `upper_bound(candidate) >= Score.value` and candidates in non-increasing
upper-bound order, the run stops as soon as a candidate's bound is strictly below the `limit`-th best value
already found: no later candidate can enter the selection, so the selection equals an exhaustive run's.
"""

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from arbiter.core.randomness import stable_hash


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a candidate is out: the filter's name (stable, machine-readable) and a human-readable reason."""

    filter: str
    reason: str


@dataclass(frozen=True, slots=True)
class EligibilityFilter[C, X]:
    name: str
    check: Callable[[C, X], str | None]


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    priority: int = 0
    details: Any = None  # scorer-specific explanation (e.g. the affinity score behind the value)


@dataclass(frozen=True, slots=True)
class RankedCandidate[C]:
    key: str
    candidate: C
    score: Score


@dataclass(frozen=True, slots=True)
class PipelineResult[C]:
    selected: tuple[RankedCandidate[C], ...]  # best first, at most `limit`
    outranked: tuple[RankedCandidate[C], ...]  # eligible, scored, but ranked below the selection
    rejections: dict[str, tuple[Rejection, ...]]  # key -> every recorded reason it was dropped
    evaluated: int  # candidates that went through the filters
    stopped_early: bool  # pruning ended the run before the candidates were exhausted


def run_pipeline[C, X](
    candidates: Iterable[C],
    context: X,
    *,
    key: Callable[[C], str],
    filters: Sequence[EligibilityFilter[C, X]],
    scorer: Callable[[C, X], Score],
    limit: int = 1,
    tie_salt: int = 0,
    upper_bound: Callable[[C], float] | None = None,
    collect_all_reasons: bool = False,
) -> PipelineResult[C]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rejections: dict[str, tuple[Rejection, ...]] = {}
    eligible: list[RankedCandidate[C]] = []
    best_values: list[float] = []  # min-heap of the `limit` best values seen, for pruning
    evaluated = 0
    stopped_early = False
    previous_bound = float("inf")

    for candidate in candidates:
        if upper_bound is not None:
            bound = upper_bound(candidate)
            if bound > previous_bound:
                raise ValueError("candidates must come in non-increasing upper_bound order when pruning")
            previous_bound = bound
            if len(best_values) >= limit and bound < best_values[0]:
                stopped_early = True
                break
        evaluated += 1
        candidate_key = key(candidate)
        if collect_all_reasons:
            reasons = [
                Rejection(check.name, reason)
                for check in filters
                if (reason := check.check(candidate, context)) is not None
            ]
            if reasons:
                rejections[candidate_key] = tuple(reasons)
                continue
        else:
            dropped = False
            for check in filters:
                reason = check.check(candidate, context)
                if reason is not None:
                    rejections[candidate_key] = (Rejection(check.name, reason),)
                    dropped = True
                    break
            if dropped:
                continue
        score = scorer(candidate, context)
        eligible.append(RankedCandidate(candidate_key, candidate, score))
        if len(best_values) < limit:
            heapq.heappush(best_values, score.value)
        elif score.value > best_values[0]:
            heapq.heapreplace(best_values, score.value)

    ranked = rank(eligible, tie_salt)
    return PipelineResult(
        selected=tuple(ranked[:limit]),
        outranked=tuple(ranked[limit:]),
        rejections=rejections,
        evaluated=evaluated,
        stopped_early=stopped_early,
    )


def rank[C](eligible: list[RankedCandidate[C]], tie_salt: int) -> list[RankedCandidate[C]]:
    """Best first: value desc, priority desc; exact ties by salted hash of the key, then the key."""
    ordered = sorted(eligible, key=lambda item: (-item.score.value, -item.score.priority, item.key))
    # Hash only inside groups of exact ties: usually none, so ranking stays a plain sort.
    result: list[RankedCandidate[C]] = []
    start = 0
    while start < len(ordered):
        head = ordered[start].score
        end = start + 1
        while (
            end < len(ordered)
            and ordered[end].score.value == head.value
            and ordered[end].score.priority == head.priority
        ):
            end += 1
        group = ordered[start:end]
        if len(group) > 1:
            group.sort(key=lambda item: (stable_hash(tie_salt, item.key), item.key))
        result.extend(group)
        start = end
    return result
