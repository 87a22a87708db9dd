"""The generic decision core: pure functions, no I/O. Ads matching, offers and decisions all build on it.

candidates -> named eligibility filters (each drop carries its reason) -> scoring -> ranking/arbitration.
"""

from arbiter.core.pipeline import (
    EligibilityFilter,
    PipelineResult,
    RankedCandidate,
    Rejection,
    Score,
    run_pipeline,
)
from arbiter.core.randomness import draw_salt, stable_hash, stable_uniform

__all__ = [
    "EligibilityFilter",
    "PipelineResult",
    "RankedCandidate",
    "Rejection",
    "Score",
    "draw_salt",
    "run_pipeline",
    "stable_hash",
    "stable_uniform",
]
