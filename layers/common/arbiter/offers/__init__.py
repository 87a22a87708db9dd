"""Game offers (seed 000): a game's offer catalog, /v2/recommend and /v1/feedback over the offers learner."""
