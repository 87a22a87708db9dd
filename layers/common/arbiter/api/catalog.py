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
        analytics,
        campaigns,
        creatives,
        impressions,
        match,
        placements,
        revenue,
        simulator,
        targeting,
    )
    from arbiter.api.decisions import catalog as decisions_catalog
    from arbiter.api.decisions import recommend as decisions_recommend
    from arbiter.api.decisions import respond as decisions_respond
    from arbiter.api.offers import catalog as offers_catalog
    from arbiter.api.offers import feedback as offers_feedback
    from arbiter.api.offers import recommend as offers_recommend

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
        analytics.router,
        revenue.router,
        decisions_catalog.router,
        decisions_recommend.router,
        decisions_respond.router,
        offers_catalog.router,
        offers_recommend.router,
        offers_feedback.router,
    ]
