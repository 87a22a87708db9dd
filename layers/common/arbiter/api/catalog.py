"""Every router of the API, for the OpenAPI document and the route-parity test.

Each Lambda function includes one of these routers (functions/<area>/app.py); template.yaml maps
each endpoint to its own function.
"""

from aws_lambda_powertools.event_handler.api_gateway import Router


def all_routers() -> list[Router]:
    from arbiter.api import docs, health
    from arbiter.api.ads import (
        advertisers,
        affinities,
        campaigns,
        creatives,
        impressions,
        match,
        placements,
        simulator,
        targeting,
    )

    return [
        health.router,
        docs.router,
        advertisers.router,
        campaigns.router,
        targeting.router,
        creatives.router,
        affinities.router,
        placements.router,
        match.router,
        impressions.router,
        simulator.router,
    ]
