"""Simulator models (seed 001, Simulator): the preview request, its response, and the options response."""

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from arbiter.core.inputs import InputModel

NARRATIVE_FUNCTION_MAX = 4000
MOOD_MAX = 64

NarrativeFunction = Annotated[str, StringConstraints(strip_whitespace=True, max_length=NARRATIVE_FUNCTION_MAX)]
Mood = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MOOD_MAX)]

# The seed's mood vocabulary and narrative examples, offered by GET .../simulate/options.
MOODS = ("tense", "hopeful", "dramatic", "calm", "chaotic", "mysterious", "humorous", "melancholic")
NARRATIVE_EXAMPLES = (
    "The president addresses the nation from the Oval Office",
    "A secret meeting in the Pentagon basement",
    "Campaign rally in a small Midwestern town",
    "Trade negotiations with foreign diplomats",
)


class SimulateInput(InputModel):
    # Any mood text is accepted (the game's mood_tags are free text too); MOODS are suggestions.
    narrative_function: NarrativeFunction | None = None
    mood: Mood | None = None


class MatchedCreativeOutput(BaseModel):
    id: str
    narrative_hook: str | None
    creative_type: str


class SimulationWarningOutput(BaseModel):
    filter: str  # the /match filter this scene would trip: target_tags or blocklist
    reason: str


class SimulationOutput(BaseModel):
    campaign_id: str
    matched_creative: MatchedCreativeOutput | None  # None until the campaign has a creative
    biased_pipeline: dict[str, str]
    affinity_scores: dict[str, float]
    total_score: float
    warnings: list[SimulationWarningOutput] = Field(
        description="Additive to the seed: the rules that would keep /match from serving the campaign in this scene"
        " (none of its target_tags in it, a blocklist rule it trips), judged on the narrative and mood as given (a"
        " keyword in the narrative; theme, category and action rules need a /match scene naming them); a preview"
        " that scores well may still never serve"
    )


class CurrentAffinityOutput(BaseModel):
    affinity_type: str
    affinity_value: str
    weight: float


class SimulationOptionsOutput(BaseModel):
    moods: list[str]
    narrative_examples: list[str]
    current_affinities: list[CurrentAffinityOutput]
