"""The OpenAPI document of every route of every function (committed as docs/openapi.json; a test diffs them)."""

import json
from functools import cache

from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, Server

from arbiter.api.catalog import all_routers
from arbiter.http import create_resolver

TITLE = "Arbiter API"
VERSION = "0.1.0"
DESCRIPTION = (
    "Serverless decision platform for game monetization. Ads (`/api/ads`, `Authorization: Bearer`), "
    "Offers (`/v2/recommend`, `/v1/feedback`, `X-API-Key`) and Decisions (`/api/v1`, `X-Tenant-Id` + Bearer). "
    'Errors are `{"detail": "..."}`.'
)


@cache
def openapi_json() -> str:
    app = create_resolver(*all_routers())
    document = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(url="http://127.0.0.1:3000", description="local stack")],
        security_schemes={
            "bearerAuth": HTTPBearer(description="API key from `arbiter keys create`"),
            "apiKeyHeader": APIKey(name="X-API-Key", **{"in": APIKeyIn.header}),
        },
    )
    # Stable text (sorted keys) so the committed copy diffs cleanly.
    return json.dumps(json.loads(document), indent=2, sort_keys=True) + "\n"
