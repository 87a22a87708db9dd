"""Writes events/<Function>.json: one API Gateway HTTP API (payload 2.0) event per function of template.yaml.

Usable as `sam local invoke -e events/CreateCampaign.json CreateCampaignFunction`, by the deploy check
(scripts/check_built_handlers.py) and by tests/test_events.py. Request bodies are the seed's examples
(/work/shared/seeds/001, Ads API); paths use fixed demo ids so one seeded demo world answers every event.

    python scripts/generate_events.py           # (re)write events/
    python scripts/generate_events.py --check   # exit 1 when events/ is stale
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from arbiter.devstack.events import http_api_event
from arbiter.devstack.streams import StreamFunction, stream_functions
from arbiter.devstack.template import (
    DEFAULT_ROUTE,
    PROJECT_ROOT,
    ApiFunction,
    ScheduledFunction,
    api_functions,
    default_route_function,
    scheduled_functions,
)

EVENTS_DIR = PROJECT_ROOT / "events"
DEMO_API_KEY = "ak_demo_events_key"

# Fixed ids the demo world is seeded with (tests/test_events.py); one per path parameter meaning.
DEMO_CAMPAIGN_ID = "camp_demo"
DEMO_CREATIVE_ID = "crt_demo"
DEMO_GEO_TARGET_ID = "geo_demo"
DEMO_BLOCKLIST_RULE_ID = "blk_demo"
DEMO_AFFINITY_ID = "aff_demo"
DEMO_GAME_ID = "my_game_id"
# Decisions (seed 002): the demo tenant's catalog ids, flow key and one logged interaction.
DEMO_DECISIONS_TENANT_ID = "demo-tenant"
DEMO_OFFER_ID = "off_demo"
DEMO_DECISION_CREATIVE_ID = "dcr_demo"
DEMO_RULE_ID = "qr_demo"
DEMO_POLICY_ID = "cp_demo"
DEMO_GUARDRAIL_ID = "gr_demo"
DEMO_FLOW_KEY = "default-flow"
DEMO_INTERACTION_ID = "550e8400-e29b-41d4-a716-446655440000"
# Game offers (seed 000): the seed's game, player and offer ids.
DEMO_OFFERS_GAME_ID = "ool-mmo"
DEMO_OFFERS_PLAYER_ID = "player_8a2f"
DEMO_GAME_OFFER_ID = "summer_blade_bundle"

# Path parameter name -> demo value. `{id}` names a campaign except under /creatives/{id}.
PATH_PARAMETER_VALUES = {
    "tid": DEMO_GEO_TARGET_ID,
    "rid": DEMO_BLOCKLIST_RULE_ID,
    "aid": DEMO_AFFINITY_ID,
    "game_id": DEMO_GAME_ID,
    "offerId": DEMO_OFFER_ID,
    "creativeId": DEMO_DECISION_CREATIVE_ID,
    "ruleId": DEMO_RULE_ID,
    "policyId": DEMO_POLICY_ID,
    "guardrailId": DEMO_GUARDRAIL_ID,
    "flowKey": DEMO_FLOW_KEY,
    "offer_id": DEMO_GAME_OFFER_ID,
}

# Fixed request metadata so regenerating gives byte-identical files (2026-03-01T12:00:00Z, the seed's clock).
FIXED_TIME = "01/Mar/2026:12:00:00 +0000"
FIXED_TIME_EPOCH_MS = 1_772_366_400_000
USER_AGENT = "curl/8.5.0"
SOURCE_IP = "203.0.113.10"

ACME_CREATIVE_HOOK = (
    "A familiar logo on the briefing folder catches your eye \u2014 Acme Shield, "
    "the defense contractor everyone in Washington seems to know."
)

# (METHOD, template path) -> JSON request body, from the seed's curl examples.
REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/ads/register"): {
        "company_name": "Acme Corp",
        "contact_email": "ads@acme.com",
        "website": "https://acme.com",
    },
    ("PATCH", "/api/ads/profile"): {"company_name": "Acme Corporation"},
    ("POST", "/api/ads/deposit"): {"amount_cents": 100000},
    # The seed's campaign, moved to 2030 so its flight dates stay in the future whenever the event is replayed.
    ("POST", "/api/ads/campaigns"): {
        "name": "Summer 2030 Launch",
        "budget_cents": 500000,
        "cpm_bid_cents": 250,
        "daily_cap_cents": 25000,
        "start_date": "2030-06-01T00:00:00Z",
        "end_date": "2030-08-31T23:59:59Z",
        "priority": 7,
        "target_categories": ["simulation", "strategy"],
        "target_tags": ["political"],
    },
    ("PATCH", "/api/ads/campaigns/{id}"): {"budget_cents": 750000, "cpm_bid_cents": 300},
    ("POST", "/api/ads/campaigns/{id}/geo-targets"): {"target_type": "country", "country_code": "US", "include": True},
    ("POST", "/api/ads/campaigns/{id}/blocklist"): {"rule_type": "keyword", "value": "violence"},
    ("POST", "/api/ads/campaigns/{id}/creatives"): {
        "creative_type": "narrative_hook",
        "brand_name": "Acme Corp",
        "product_name": "Acme Shield",
        "tagline": "Protection you can trust",
        "narrative_hook": ACME_CREATIVE_HOOK,
        "alt_hooks": [
            "The advisor slides an Acme Shield dossier across the table.",
            "On the news ticker: Acme Shield wins another Pentagon contract.",
        ],
        "tone": "neutral",
        "max_uses_per_game": 5,
    },
    ("PATCH", "/api/ads/creatives/{id}"): {
        "narrative_hook": "An Acme Shield briefcase sits on the Resolute desk, its logo catching the light.",
        "tone": "dramatic",
    },
    ("POST", "/api/ads/campaigns/{id}/affinities"): {
        "affinity_type": "lighting",
        "affinity_value": "warm golden hour",
        "weight": 1.5,
    },
    ("PUT", "/api/ads/campaigns/{id}/affinities/bulk"): {
        "affinities": [
            {"affinity_type": "lighting", "affinity_value": "warm golden hour", "weight": 1.5},
            {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2},
            {"affinity_type": "camera", "affinity_value": "close-up", "weight": 0.8},
            {"affinity_type": "effects", "affinity_value": "film grain, cinematic widescreen", "weight": 1.0},
        ]
    },
    ("POST", "/api/ads/placements/{game_id}"): {
        "creator_id": "dev_user_123",
        "placement_types": ["narrative_hook", "product_mention"],
        "revenue_share_pct": 70,
        "max_ads_per_session": 5,
        "blocked_categories": ["gambling"],
    },
    ("PATCH", "/api/ads/placements/{game_id}"): {
        "max_ads_per_session": 8,
        "blocked_categories": ["gambling", "alcohol"],
    },
    ("POST", "/api/ads/campaigns/{id}/simulate"): {
        "narrative_function": "The president reviews classified documents in the Oval Office",
        "mood": "tense",
    },
    ("POST", "/api/ads/match"): {
        "game_id": DEMO_GAME_ID,
        "user_id": "player_123",
        "player_geo": {"country_code": "US", "state_code": "CA"},
        "game_context": {
            "theme_id": "1",
            "category": "simulation",
            "narrative": "The president faces a difficult decision about defense spending",
            "mood_tags": ["tense", "dramatic"],
            "location": "oval_office",
            "actions": ["approve_budget", "reject_budget", "defer"],
        },
        "session_id": "sess_abc",
    },
    # The seed's body; an `impression_token` from /match is optional (it binds the charge to that match).
    ("POST", "/api/ads/impressions"): {
        "campaign_id": DEMO_CAMPAIGN_ID,
        "creative_id": DEMO_CREATIVE_ID,
        "game_id": DEMO_GAME_ID,
    },
    # Decisions (seed 002): a catalog shaped like the seed's example response, and its cURL body.
    ("POST", "/api/v1/offers"): {
        "name": "Platinum Card",
        "category": "Credit Cards",
        "subCategory": "Premium",
        "priority": 90,
        "expiresAt": "2030-06-30T00:00:00Z",
        "propensityKey": "credit_card",
        "creatives": [
            {
                "name": "Platinum Card - Web Hero",
                "channelType": "web",
                "channelName": "Website",
                "placement": "hero_banner",
                "templateType": "web_banner",
                "content": {"headline": "Exclusive offer for you"},
                "personalization": {"customer_tier": "{{tier}}"},
            }
        ],
    },
    ("PUT", "/api/v1/offers/{offerId}"): {"name": "Platinum Card", "category": "Credit Cards", "priority": 95},
    ("POST", "/api/v1/offers/{offerId}/creatives"): {
        "name": "Platinum Card - Email Hero",
        "channelType": "email",
        "channelName": "Marketing Email",
        "placement": "hero_banner",
        "templateType": "email_html",
        "content": {"subject": "Exclusive offer for you", "body": "<html>...</html>"},
    },
    ("POST", "/api/v1/qualification-rules"): {
        "name": "Premium cards need high value",
        "type": "segment_required",
        "segments": ["high_value"],
        "appliesTo": {"categories": ["Credit Cards"]},
    },
    ("POST", "/api/v1/contact-policies"): {
        "name": "One day off after a dismissal",
        "type": "cooldown",
        "scope": "offer",
        "durationSeconds": 86400,
        "triggerOutcomes": ["dismiss"],
    },
    ("POST", "/api/v1/guardrails"): {"name": "Two per category", "type": "max_per_category", "maxCount": 2},
    ("POST", "/api/v1/decision-flows"): {
        "key": DEMO_FLOW_KEY,
        "name": "Default flow",
        "isDefault": True,
        "champion": {"scoringMethod": "priority_weighted"},
        "experiment": {"challenger": {"scoringMethod": "propensity"}, "challengerShare": 0.2, "holdoutShare": 0.05},
    },
    ("POST", "/api/v1/recommend"): {
        "customerId": "CUST001",
        "channel": "web",
        "placement": "hero_banner",
        "limit": 3,
        "segments": ["high_value"],
        "attributes": {"tier": "gold"},
    },
    ("POST", "/api/v1/respond"): {
        "interactionId": DEMO_INTERACTION_ID,
        "offerId": DEMO_OFFER_ID,
        "outcome": "click",
    },
}

# Game offers (seed 000): the seed's recommend and feedback examples; the catalog's offer is the one the seed
# recommends first.
REQUEST_BODIES.update(
    {
        ("POST", "/v2/games/{game_id}/offers"): {
            "offer_id": DEMO_GAME_OFFER_ID,
            "name": "Summer Blade Bundle",
            "price_usd": 9.99,
            "grants": ["legendary_sword", "weapons"],
            "eligibility": {"segments": ["mid-spender", "whale"], "min_level": 20},
            "limits": {"max_purchases": 1, "max_impressions_per_day": 5},
        },
        ("PUT", "/v2/games/{game_id}/offers/{offer_id}"): {
            "name": "Summer Blade Bundle",
            "price_usd": 7.99,
            "grants": ["legendary_sword", "weapons"],
            "eligibility": {"segments": ["mid-spender", "whale"], "min_level": 20},
            "limits": {"max_purchases": 1, "max_impressions_per_day": 5},
        },
        ("POST", "/v2/recommend"): {
            "game_id": DEMO_OFFERS_GAME_ID,
            "player_id": DEMO_OFFERS_PLAYER_ID,
            "session_context": {"level": 34, "minutes_played": 18, "segment": "mid-spender"},
            "inventory_gaps": ["legendary_sword", "health_pack"],
            "max_results": 3,
        },
        ("POST", "/v1/feedback"): {
            "game_id": DEMO_OFFERS_GAME_ID,
            "player_id": DEMO_OFFERS_PLAYER_ID,
            "offer_id": DEMO_GAME_OFFER_ID,
            "outcome": "converted",
            "revenue_usd": 9.99,
        },
    }
)

METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}
# Body-less POSTs of the API (state transitions).
ACTIONS_WITHOUT_BODY = {
    ("POST", "/api/ads/campaigns/{id}/activate"),
    ("POST", "/api/ads/campaigns/{id}/pause"),
}


def event_name(function: ApiFunction | ScheduledFunction | StreamFunction) -> str:
    """CreateCampaignFunction -> CreateCampaign."""
    return function.logical_id.removesuffix("Function")


def event_path(function: ApiFunction | ScheduledFunction | StreamFunction) -> Path:
    return EVENTS_DIR / f"{event_name(function)}.json"


def _path_parameters(function: ApiFunction) -> dict[str, str]:
    names = [group for group in function.path_regex.groupindex]
    values = {}
    for name in names:
        if name == "id":
            values[name] = DEMO_CREATIVE_ID if "/creatives/{id}" in function.path else DEMO_CAMPAIGN_ID
        elif name == "game_id" and function.path.startswith("/v2/games/"):
            values[name] = DEMO_OFFERS_GAME_ID  # the offers API's game (seed 000), not the ads placement's
        elif name in PATH_PARAMETER_VALUES:
            values[name] = PATH_PARAMETER_VALUES[name]
        else:
            raise SystemExit(f"{function.logical_id}: no demo value for path parameter '{name}'; add one here")
    return values


def build_event(function: ApiFunction) -> dict[str, Any]:
    route = (function.method, function.path)
    body = REQUEST_BODIES.get(route)
    if body is None and function.method in METHODS_WITH_BODY and route not in ACTIONS_WITHOUT_BODY:
        raise SystemExit(f"{function.logical_id}: no sample body for {function.method} {function.path}; add one here")
    parameters = _path_parameters(function)
    path = function.path.format(**parameters)
    headers = {"accept": "application/json", "user-agent": USER_AGENT, "host": "api.example.com"}
    if path.startswith("/api/"):
        headers["authorization"] = f"Bearer {DEMO_API_KEY}"
    if path.startswith("/api/v1/"):
        headers["x-tenant-id"] = DEMO_DECISIONS_TENANT_ID
    if path.startswith(("/v2/", "/v1/")):  # game offers (seed 000): X-API-Key
        headers["x-api-key"] = DEMO_API_KEY
    event = http_api_event(
        function.method,
        path,
        route_path=function.path,
        path_parameters=parameters or None,
        headers=headers,
        body=body,
        source_ip=SOURCE_IP,
    )
    _fix_request_context(event, function)
    if body is not None:
        event["headers"]["content-length"] = str(len(event["body"].encode("utf-8")))
    return event


def build_default_route_event(function: ApiFunction) -> dict[str, Any]:
    """A request no explicit route matches, as API Gateway sends it to the $default route's function."""
    event = http_api_event(
        "GET",
        "/api/ads/no-such-route",
        route_path=DEFAULT_ROUTE,
        headers={"accept": "application/json", "user-agent": USER_AGENT, "host": "api.example.com"},
        source_ip=SOURCE_IP,
    )
    _fix_request_context(event, function)
    return event


def _fix_request_context(event: dict[str, Any], function: ApiFunction) -> None:
    """A stable request id and time (the committed files do not change on every run) and the public domain."""
    event["requestContext"].update(
        requestId=f"demo-{event_name(function)}",
        time=FIXED_TIME,
        timeEpoch=FIXED_TIME_EPOCH_MS,
        domainName="api.example.com",
        domainPrefix="api",
    )


def build_scheduled_event(function: ScheduledFunction) -> dict[str, Any]:
    """What EventBridge Scheduler/rules send a function on its schedule."""
    return {
        "version": "0",
        "id": f"demo-{event_name(function)}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-03-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{function.logical_id}"],
        "detail": {},
    }


# The seed's "Record Impression" response, as billing stores it (arbiter/ads/billing/repository.py _impression_item).
DEMO_IMPRESSION_IMAGE = {
    "PK": {"S": "IMP#imp_uvw123"},
    "SK": {"S": "IMP"},
    "impression_id": {"S": "imp_uvw123"},
    "developer_tenant_id": {"S": "demo-tenant"},
    "advertiser_tenant_id": {"S": "demo-tenant"},
    "advertiser_id": {"S": "adv_demo"},
    "campaign_id": {"S": DEMO_CAMPAIGN_ID},
    "creative_id": {"S": DEMO_CREATIVE_ID},
    "game_id": {"S": DEMO_GAME_ID},
    "creator_id": {"S": "dev_user_123"},
    "user_id": {"S": "player_123"},
    "session_id": {"S": "sess_abc"},
    "country_code": {"S": "US"},
    "charged_millicents": {"N": "250"},
    "developer_share_millicents": {"N": "175"},
    "platform_take_millicents": {"N": "75"},
    "affinity_score": {"N": "0.73"},
    "contributions": {"M": {DEMO_AFFINITY_ID: {"N": "0.31"}}},
    "day": {"S": "2026-03-01"},
    "recorded_at": {"S": "2026-03-01T12:05:00Z"},
    "idempotency_source": {"S": "none"},
}


def build_stream_event(function: StreamFunction) -> dict[str, Any]:
    """What Lambda's event source mapping sends a stream function: one inserted impression (DynamoDB stream)."""
    stream_arn = (
        f"arn:aws:dynamodb:us-east-1:000000000000:table/{function.table_logical_id}/stream/2026-03-01T00:00:00.000"
    )
    return {
        "Records": [
            {
                "eventID": "demo-1",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1772366700,
                    "Keys": {"PK": DEMO_IMPRESSION_IMAGE["PK"], "SK": DEMO_IMPRESSION_IMAGE["SK"]},
                    "NewImage": DEMO_IMPRESSION_IMAGE,
                    "SequenceNumber": "100000000000000000001",
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": stream_arn,
            }
        ]
    }


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    files = {event_path(function): render(build_event(function)) for function in api_functions()}
    if (default := default_route_function()) is not None:
        files[event_path(default)] = render(build_default_route_event(default))
    files.update({event_path(fn): render(build_scheduled_event(fn)) for fn in scheduled_functions()})
    files.update({event_path(fn): render(build_stream_event(fn)) for fn in stream_functions()})
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale or missing files instead of writing")
    args = parser.parse_args(argv)
    expected = expected_files()
    stale = [path for path, text in expected.items() if not path.exists() or path.read_text() != text]
    # Files no function claims are reported, never deleted (they may be hand-written extras).
    for path in sorted(set(EVENTS_DIR.glob("*.json")) - set(expected)):
        print(f"note: no function of template.yaml uses {path.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    if args.check:
        for path in stale:
            print(f"stale or missing: {path.relative_to(PROJECT_ROOT)}", file=sys.stderr)
        if stale:
            print("run: make events", file=sys.stderr)
        return 1 if stale else 0
    EVENTS_DIR.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(expected[path])
    print(f"{len(expected)} events in {EVENTS_DIR.relative_to(PROJECT_ROOT)}/ ({len(stale)} written)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
