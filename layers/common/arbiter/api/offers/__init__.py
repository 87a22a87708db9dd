"""Routes of the game offers API (seed 000): the game offer catalog, /v2/recommend and /v1/feedback."""
